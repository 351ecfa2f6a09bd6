/**
 * IPv4 fragment reassembly (RFC 791 §3.2, RFC 815), with Linux's policies
 * (net/ipv4/ip_fragment.c, net/ipv4/inet_fragment.c):
 * - queues keyed by (source, destination, identification, protocol);
 * - a fragment entirely inside data already held is a duplicate: dropped, the
 *   queue kept; any other overlap discards the whole datagram (Linux applies
 *   RFC 5722's rule to IPv4 since the FragmentSmack fixes, 2018);
 * - memory is charged per fragment (payload plus a fixed overhead standing in
 *   for the kernel's skb truesize, so a flood of tiny fragments is bounded
 *   too); while the total is above `ipfrag_high_thresh` every fragment is
 *   refused (inet_frag_find fails), and memory comes back as queues complete
 *   or time out;
 * - a queue lives `ipfrag_time` seconds from its first fragment; on expiry,
 *   if the first fragment had arrived, ICMP time exceeded (code 1) goes back
 *   (ip_expire).
 */
import type { Clock } from '../clock.ts';
import type { Counters } from '../counters.ts';
import type { DropReason } from '../drop.ts';
import type { Sysctls } from '../sysctl.ts';
import { Timer, type TimerQueue } from '../timers.ts';
import type { TraceSink } from '../trace.ts';
import { ICMP_EXC_FRAGTIME, ICMP_TIME_EXCEEDED } from '../wire/icmp.ts';
import {
  IPV4_MAX_PACKET,
  ipDestination,
  ipFragOffset,
  ipId,
  ipMoreFragments,
  ipProtocol,
  ipSource,
  IP_FLAG_DF,
  ipFragWord,
  rewriteIpv4Fragment,
} from '../wire/ipv4.ts';

/** Bytes charged per fragment on top of its payload (stands in for skb truesize). */
export const FRAGMENT_OVERHEAD = 256;

/** A fragment's payload and where it goes in the datagram. */
export interface Fragment {
  offset: number;
  end: number;
  data: Uint8Array;
}

/**
 * Where [offset, end) goes among `fragments` (sorted, never overlapping):
 * the index to insert it at, 'dup' when data already held covers it
 * without a gap (IPFRAG_DUP: ignored, the queue kept), or 'overlap' for
 * any other overlap (IPFRAG_OVERLAP: RFC 5722, the whole datagram goes).
 * inet_frag_queue_insert, shared by IPv4 and IPv6.
 */
export function placeFragment(fragments: readonly Fragment[], offset: number, end: number): number | 'dup' | 'overlap' {
  const f = fragments;
  let i = 0;
  while (i < f.length && f[i]!.end <= offset) i++;
  if (i === f.length || f[i]!.offset >= end) return i; // fits in a gap
  // It touches held data: a duplicate only if held data covers it without a gap.
  let covered = f[i]!.offset <= offset ? f[i]!.end : -1;
  for (let j = i + 1; covered >= 0 && covered < end && j < f.length && f[j]!.offset === covered; j++) {
    covered = f[j]!.end;
  }
  return covered >= end ? 'dup' : 'overlap';
}

/** The end of the highest fragment held (0 for none). */
export function highestEnd(fragments: readonly Fragment[]): number {
  return fragments.length > 0 ? fragments[fragments.length - 1]!.end : 0;
}

class FragmentQueue {
  /** Sorted by offset, never overlapping. */
  readonly fragments: Fragment[] = [];
  /** Total payload length, known once the last fragment (MF clear) arrived; -1 before. */
  length = -1;
  received = 0;
  memory = 0;
  /** The IP header of the offset-0 fragment (options included), once it arrived. */
  firstHeader: Uint8Array | undefined;
  readonly timer: Timer;

  constructor(
    readonly key: string,
    readonly source: number,
    readonly id: number,
    onExpire: (q: FragmentQueue) => void,
  ) {
    this.timer = new Timer('reasm', () => onExpire(this));
  }
}

export type ReassemblyResult = { datagram: Uint8Array } | { queued: true } | { drop: DropReason };

export class Reassembler {
  private readonly queues = new Map<string, FragmentQueue>();
  /** Bytes charged to all queues. */
  memory = 0;

  constructor(
    private readonly clock: Clock,
    private readonly timers: TimerQueue,
    private readonly counters: Counters,
    private readonly sysctl: Sysctls,
    private readonly sendTimeExceeded: (firstFragment: Uint8Array, type: number, code: number) => void,
    private readonly trace: () => TraceSink | undefined,
  ) {}

  get queueCount(): number {
    return this.queues.size;
  }

  /**
   * Takes a validated fragment (header checked, trimmed to its total length).
   * Returns the whole datagram when this fragment completed it.
   */
  add(packet: Uint8Array, hl: number): ReassemblyResult {
    const c = this.counters;
    c.IpReasmReqds++;
    if (this.memory > this.sysctl.ipfrag_high_thresh) {
      c.IpReasmFails++;
      return { drop: 'FRAG_MEM_LIMIT' };
    }
    const source = ipSource(packet);
    const id = ipId(packet);
    const key = `${source}/${ipDestination(packet)}/${id}/${ipProtocol(packet)}`;
    let q = this.queues.get(key);
    if (q === undefined) {
      q = new FragmentQueue(key, source, id, (expired) => this.expire(expired));
      this.queues.set(key, q);
      this.timers.arm(q.timer, this.clock.now() + this.sysctl.ipfrag_time * 1000);
    }

    const offset = ipFragOffset(packet);
    const more = ipMoreFragments(packet);
    let end = offset + (packet.length - hl);
    // ip_frag_queue: a non-final fragment's length is rounded down to 8 bytes.
    if (more) end &= ~7;

    if (end > IPV4_MAX_PACKET - hl || end <= offset) return this.fail(q, 'IP_FRAG_INVALID');
    if (!more) {
      // The last fragment fixes the length; it must not contradict what we hold.
      if ((q.length >= 0 && end !== q.length) || end < highestEnd(q.fragments)) return this.fail(q, 'IP_FRAG_INVALID');
      q.length = end;
    } else if (q.length >= 0 && end > q.length) {
      return this.fail(q, 'IP_FRAG_INVALID');
    }

    const placement = placeFragment(q.fragments, offset, end);
    if (placement === 'dup') return { drop: 'DUP_FRAG' };
    if (placement === 'overlap') {
      c.IpExtReasmOverlaps++;
      return this.fail(q, 'IP_FRAG_OVERLAP');
    }

    const data = packet.slice(hl, hl + (end - offset));
    q.fragments.splice(placement, 0, { offset, end, data });
    q.received += end - offset;
    const charge = data.length + FRAGMENT_OVERHEAD;
    q.memory += charge;
    this.memory += charge;
    if (offset === 0) q.firstHeader = packet.slice(0, hl);

    if (q.length >= 0 && q.received === q.length && q.firstHeader !== undefined) {
      return { datagram: this.assemble(q) };
    }
    return { queued: true };
  }

  private assemble(q: FragmentQueue): Uint8Array {
    const header = q.firstHeader!;
    const hl = header.length;
    const datagram = new Uint8Array(hl + q.length);
    datagram.set(header, 0);
    for (const frag of q.fragments) datagram.set(frag.data, hl + frag.offset);
    // Keep DF, clear MF and the offset (ip_frag_reasm).
    rewriteIpv4Fragment(datagram, datagram.length, ipFragWord(datagram) & IP_FLAG_DF);
    this.release(q);
    this.counters.IpReasmOKs++;
    return datagram;
  }

  private fail(q: FragmentQueue, reason: DropReason): ReassemblyResult {
    this.release(q);
    this.counters.IpReasmFails++;
    return { drop: reason };
  }

  private release(q: FragmentQueue): void {
    this.timers.cancel(q.timer);
    this.queues.delete(q.key);
    this.memory -= q.memory;
  }

  /** ip_expire. */
  private expire(q: FragmentQueue): void {
    this.queues.delete(q.key);
    this.memory -= q.memory;
    this.counters.IpReasmFails++;
    this.counters.IpReasmTimeout++;
    this.trace()?.({ kind: 'reasm-timeout', t: this.clock.now(), source: q.source, id: q.id });
    const first = q.fragments[0];
    if (q.firstHeader !== undefined && first !== undefined && first.offset === 0) {
      const quoted = new Uint8Array(q.firstHeader.length + first.data.length);
      quoted.set(q.firstHeader, 0);
      quoted.set(first.data, q.firstHeader.length);
      this.sendTimeExceeded(quoted, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME);
    }
  }
}
