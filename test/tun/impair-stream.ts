/** A known packet stream through an Impairment in virtual time, for the impairment tests. */
import { VirtualClock } from '../../stack/clock.ts';
import { Impairment, type Direction, type ImpairConfig } from '../../tun/impair/impairment.ts';
import { craftTcp, craftTcp6, viewPacket } from '../../tun/impair/packet.ts';
import { TCP_ACK, TCP_PSH } from '../../stack/wire/tcp.ts';
import { KERNEL, STACK } from '../helpers/packets.ts';
import { KERNEL6, STACK6 } from '../helpers/packets6.ts';

export interface Timed {
  t: number;
  dir: Direction;
  packet: Uint8Array;
}

/** The fields of a data segment whose seq is `i`, from `us` (out) or to it (in), `size` bytes long with an IP header of `ipHeader`. */
function dataSegment<A>(us: A, them: A, ipHeader: number, i: number, dir: Direction, size: number, flags: number, ports: [number, number]) {
  const out = dir === 'out';
  return {
    source: out ? us : them,
    destination: out ? them : us,
    sourcePort: out ? ports[0] : ports[1],
    destinationPort: out ? ports[1] : ports[0],
    seq: i,
    ack: 1,
    flags,
    window: 1000,
    data: new Uint8Array(Math.max(0, size - ipHeader - 20)).fill(i & 255),
  };
}

/** A data segment from the stack (out) or to it (in) whose seq is `i`, `size` bytes long in all. */
export function segment(i: number, dir: Direction = 'out', size = 1040, flags = TCP_ACK | TCP_PSH, ports: [number, number] = [40000, 7]): Uint8Array {
  return craftTcp(dataSegment(STACK, KERNEL, 20, i, dir, size, flags, ports));
}

/** The same over IPv6 (2001:2::2 the stack, 2001:2::1 the kernel), `size` bytes long in all (40 of them the IPv6 header). */
export function segment6(i: number, dir: Direction = 'out', size = 1040, flags = TCP_ACK | TCP_PSH, ports: [number, number] = [40000, 7]): Uint8Array {
  return craftTcp6(dataSegment(STACK6, KERNEL6, 40, i, dir, size, flags, ports));
}

/** `n` segments, one every `gapMs`, seq 0..n-1; IPv4 unless `make` says otherwise. */
export function stream(n: number, dir: Direction = 'out', gapMs = 1, size = 1040, make: typeof segment = segment): Timed[] {
  return Array.from({ length: n }, (_, i) => ({ t: i * gapMs, dir, packet: make(i, dir, size) }));
}

export const seqOf = (p: Uint8Array): number => viewPacket(p).seq;

/**
 * Pushes each packet at its time and releases at every deadline; returns
 * what came out, with times, and the impairment (for its counters).
 */
export function runStream(config: ImpairConfig, input: readonly Timed[], start = 0): { out: Timed[]; imp: Impairment } {
  const clock = new VirtualClock(start);
  const imp = new Impairment(config, clock);
  const out: Timed[] = [];
  const release = (): void => {
    for (const dir of ['in', 'out'] as const) for (const packet of imp.takeDue(dir)) out.push({ t: clock.now(), dir, packet });
  };
  const advance = (to: number): void => {
    for (let next = imp.nextDeadline(); next <= to; next = imp.nextDeadline()) {
      clock.set(Math.max(clock.now(), next));
      release();
    }
    clock.set(Math.max(clock.now(), to));
  };
  for (const e of [...input].sort((a, b) => a.t - b.t)) {
    advance(start + e.t);
    imp.push(e.dir, e.packet);
    release();
  }
  for (let next = imp.nextDeadline(); next !== Infinity; next = imp.nextDeadline()) {
    clock.set(Math.max(clock.now(), next));
    release();
  }
  return { out, imp };
}
