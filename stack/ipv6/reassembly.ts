/**
 * IPv6 fragment reassembly (RFC 8200 §4.5) as net/ipv6/reassembly.c does it:
 * - a fragment header with neither offset nor M flag is an atomic fragment
 *   (RFC 6946): taken as it is, Ip6ReasmOKs;
 * - a first fragment that does not hold every header up to the upper-layer
 *   one is refused with a parameter problem, code 3 (RFC 7112,
 *   ipv6frag_thdr_truncated);
 * - queues keyed by (source, destination, identification); a fragment
 *   ending past 65535 bytes, or a non-final one whose length is not a
 *   multiple of 8, gets a parameter problem (code 0) pointing at the field,
 *   and the queue stays; contradicting ends and zero-length fragments
 *   discard the queue; a fragment wholly inside held data is a duplicate,
 *   any other overlap discards the whole datagram (RFC 5722,
 *   Ip6ReasmOverlaps);
 * - memory above ip6frag_high_thresh refuses new fragments; each queue is
 *   charged its own size from its creation (inet_frag_alloc), so queues a
 *   fragment made and left empty (a misaligned or oversized one) are
 *   bounded too; a queue lives ip6frag_time seconds, and on expiry ICMPv6
 *   time exceeded (code 1) goes back only if its first fragment had
 *   arrived.
 * The whole datagram keeps the first fragment's headers before the
 * fragment header, loses the fragment header, and goes on from there.
 */
import type { Clock } from '../clock.ts';
import type { Counters } from '../counters.ts';
import type { DropReason } from '../drop.ts';
import { FRAGMENT_OVERHEAD, highestEnd, placeFragment, type Fragment } from '../ip/reassembly.ts';
import type { Ipv6AddressTable } from '../ip/ipv6-addresses.ts';
import type { Sysctls } from '../sysctl.ts';
import { Timer, type TimerQueue } from '../timers.ts';
import type { TraceSink } from '../trace.ts';
import * as bytes from '../wire/bytes.ts';
import { ICMPV6_EXC_FRAGTIME, ICMPV6_HDR_FIELD, ICMPV6_HDR_INCOMP, ICMPV6_TIME_EXCEED } from '../wire/icmpv6.ts';
import {
  FRAG_HEADER,
  IPV6_DST_OFFSET,
  IPV6_HEADER,
  IPV6_MAX_PAYLOAD,
  IPV6_SRC_OFFSET,
  NEXTHDR_ICMPV6,
  NEXTHDR_TCP,
  NEXTHDR_UDP,
  ip6NextHeader,
  ip6PayloadLength,
  skipIpv6ExtensionHeaders,
} from '../wire/ipv6.ts';
import type { Icmpv6 } from './icmp.ts';

const { readU16, readU32, writeU16 } = bytes;

/**
 * Bytes charged per queue (inet_frag_alloc adds the queue's size,
 * sizeof(struct frag_queue)): measured on 6.18, with ip6frag_high_thresh
 * 100000 the kernel made 544 queues of misaligned fragments, each left
 * empty, before refusing (100000 / 184 = 543.5).
 */
export const FRAG_QUEUE_MEMORY6 = 184;

/** Offset of the Payload Length field: what a misaligned fragment's parameter problem points at. */
const PAYLOAD_LENGTH_FIELD = 4;

class FragmentQueue6 {
  readonly fragments: Fragment[] = [];
  /** The highest end seen; final once the last fragment (M clear) arrived. */
  length = 0;
  lastIn = false;
  received = 0;
  memory = 0;
  /** The offset-0 fragment, whole: its headers head the datagram, and a time exceeded quotes it. */
  first: Uint8Array | undefined;
  /** Where the first fragment's fragment header is, and the Next Header field that names it. */
  firstAt = 0;
  firstNhoff = 0;
  readonly timer: Timer;

  constructor(
    readonly key: string,
    readonly source: number,
    readonly destination: number,
    readonly id: number,
    onExpire: (q: FragmentQueue6) => void,
  ) {
    this.timer = new Timer('reasm6', () => onExpire(this));
  }
}

export type Reassembly6Result =
  | { kind: 'whole'; datagram: Uint8Array; transport: number; nhoff: number }
  | { kind: 'atomic' }
  | { kind: 'queued' }
  | { kind: 'drop'; reason: DropReason };

const ATOMIC: Reassembly6Result = { kind: 'atomic' };
const QUEUED: Reassembly6Result = { kind: 'queued' };

export class Ipv6Reassembler {
  private readonly queues = new Map<string, FragmentQueue6>();
  /** Bytes charged to all queues. */
  memory = 0;
  icmp: Icmpv6 | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly timers: TimerQueue,
    private readonly counters: Counters,
    private readonly sysctl: Sysctls,
    private readonly addresses: Ipv6AddressTable,
    private readonly trace: () => TraceSink | undefined = () => undefined,
  ) {}

  get queueCount(): number {
    return this.queues.size;
  }

  /**
   * ipv6_frag_rcv for the fragment header at `at` of `packet` (trimmed to
   * its payload length), named by the Next Header field at `nhoff`.
   */
  add(packet: Uint8Array, at: number, nhoff: number): Reassembly6Result {
    const c = this.counters;
    c.Ip6ReasmReqds++;
    // A jumbogram cannot be fragmented; and the fragment header must be there.
    if (ip6PayloadLength(packet) === 0 || at + FRAG_HEADER > packet.length) return this.headerProblem(packet, at, 'IP_INHDR');
    const fragWord = readU16(packet, at + 2);
    if ((fragWord & 0xfff9) === 0) {
      c.Ip6ReasmOKs++;
      return ATOMIC;
    }
    if (headerChainTruncated(packet)) {
      c.Ip6InHdrErrors++;
      this.icmp?.paramProblem(packet, ICMPV6_HDR_INCOMP, 0);
      return { kind: 'drop', reason: 'IPV6_BAD_EXTHDR' };
    }
    // inet_frag_find refuses while memory is above the high threshold.
    if (this.memory > this.sysctl.ip6frag_high_thresh) {
      c.Ip6ReasmFails++;
      return { kind: 'drop', reason: 'FRAG_MEM_LIMIT' };
    }
    const q = this.queueFor(packet, readU32(packet, at + 4));

    // ip6_frag_queue
    const offset = fragWord & 0xfff8;
    const more = (fragWord & 1) !== 0;
    const end = offset + (packet.length - at - FRAG_HEADER);
    if (end > IPV6_MAX_PAYLOAD) return this.headerProblem(packet, at + 2, 'IP_FRAG_INVALID');
    if (!more) {
      if (end < q.length || (q.lastIn && end !== q.length)) return this.fail(q, 'IP_FRAG_INVALID');
      q.lastIn = true;
      q.length = end;
    } else {
      // RFC 8200 §4.5: every fragment but the last is a multiple of 8 bytes long.
      if ((end & 7) !== 0) return this.headerProblem(packet, PAYLOAD_LENGTH_FIELD, 'IP_FRAG_INVALID');
      if (end > q.length) {
        if (q.lastIn) return this.fail(q, 'IP_FRAG_INVALID');
        q.length = end;
      }
    }
    if (end === offset) return this.fail(q, 'IP_FRAG_INVALID');
    const placement = placeFragment(q.fragments, offset, end);
    if (placement === 'dup') return { kind: 'drop', reason: 'DUP_FRAG' };
    if (placement === 'overlap') {
      c.Ip6ReasmOverlaps++;
      return this.fail(q, 'IP_FRAG_OVERLAP');
    }
    const data = packet.slice(at + FRAG_HEADER);
    q.fragments.splice(placement, 0, { offset, end, data });
    q.received += end - offset;
    const charge = data.length + FRAGMENT_OVERHEAD;
    q.memory += charge;
    this.memory += charge;
    if (offset === 0) {
      q.first = packet.slice();
      q.firstAt = at;
      q.firstNhoff = nhoff;
    }
    if (q.first !== undefined && q.lastIn && q.received === q.length && highestEnd(q.fragments) === q.length) return this.assemble(q);
    return QUEUED;
  }

  private queueFor(packet: Uint8Array, id: number): FragmentQueue6 {
    const addresses = this.addresses;
    const source = addresses.intern(packet, IPV6_SRC_OFFSET);
    const destination = addresses.intern(packet, IPV6_DST_OFFSET);
    const key = `${source} ${destination} ${id}`;
    let q = this.queues.get(key);
    if (q === undefined) {
      q = new FragmentQueue6(key, source, destination, id, (expired) => this.expire(expired));
      addresses.hold(source);
      addresses.hold(destination);
      q.memory = FRAG_QUEUE_MEMORY6;
      this.memory += FRAG_QUEUE_MEMORY6;
      this.queues.set(key, q);
      this.timers.arm(q.timer, this.clock.now() + this.sysctl.ip6frag_time * 1000);
    }
    return q;
  }

  /** ip6_frag_reasm: the first fragment's headers, no fragment header, every fragment's data. */
  private assemble(q: FragmentQueue6): Reassembly6Result {
    const first = q.first!;
    const at = q.firstAt;
    // Headers before the fragment header count toward the 65535 bytes too.
    if (at - IPV6_HEADER + q.length > IPV6_MAX_PAYLOAD) return this.fail(q, 'IP_FRAG_INVALID');
    const datagram = new Uint8Array(at + q.length);
    datagram.set(first.subarray(0, at), 0);
    for (const f of q.fragments) datagram.set(f.data, at + f.offset);
    datagram[q.firstNhoff] = first[at]!;
    writeU16(datagram, PAYLOAD_LENGTH_FIELD, datagram.length - IPV6_HEADER);
    this.release(q);
    this.counters.Ip6ReasmOKs++;
    return { kind: 'whole', datagram, transport: at, nhoff: q.firstNhoff };
  }

  /** A parameter problem (code 0) about the field at `pointer`; the queue, if any, stays. */
  private headerProblem(packet: Uint8Array, pointer: number, reason: DropReason): Reassembly6Result {
    this.counters.Ip6InHdrErrors++;
    this.icmp?.paramProblem(packet, ICMPV6_HDR_FIELD, pointer);
    return { kind: 'drop', reason };
  }

  private fail(q: FragmentQueue6, reason: DropReason): Reassembly6Result {
    this.release(q);
    this.counters.Ip6ReasmFails++;
    return { kind: 'drop', reason };
  }

  private release(q: FragmentQueue6): void {
    this.timers.cancel(q.timer);
    this.queues.delete(q.key);
    this.memory -= q.memory;
    this.addresses.release(q.source);
    this.addresses.release(q.destination);
  }

  /** ip6_frag_expire. */
  private expire(q: FragmentQueue6): void {
    // The text before release: the handle may go with the queue's hold.
    this.trace()?.({ kind: 'reasm-timeout', t: this.clock.now(), source: 0, source6: this.addresses.format(q.source), id: q.id });
    this.release(q);
    this.counters.Ip6ReasmFails++;
    this.counters.Ip6ReasmTimeout++;
    if (q.first !== undefined) this.icmp?.send(q.first, ICMPV6_TIME_EXCEED, ICMPV6_EXC_FRAGTIME, 0);
  }
}

/**
 * ipv6frag_thdr_truncated: the headers of a first fragment, from the fixed
 * header on, must reach through the upper-layer header (TCP 20 bytes, UDP
 * and ICMPv6 8, anything else its first byte). A later fragment, or a chain
 * that cannot be walked, is not judged here.
 */
function headerChainTruncated(packet: Uint8Array): boolean {
  const walked = skipIpv6ExtensionHeaders(packet, IPV6_HEADER, ip6NextHeader(packet), packet.length);
  if (walked === undefined || walked.fragmentOffset !== 0) return false;
  const upper = walked.nextHeader === NEXTHDR_TCP ? 20 : walked.nextHeader === NEXTHDR_UDP || walked.nextHeader === NEXTHDR_ICMPV6 ? 8 : 1;
  return walked.offset + upper > packet.length;
}
