/**
 * The real-time driver stamps each packet of a batch read from the device
 * with the time the batch was read, one microsecond apart in arrival
 * order, as the kernel stamps each packet it processes
 * (tcp_mstamp_refresh), instead of letting the stack read the wall clock
 * while it works through the batch: otherwise the milliseconds Node takes
 * over a batch of ACKs would leak into RTT samples, transmit times, RACK's
 * order of transmissions and the 1 ms tests of tcp_tso_should_defer. A
 * batch read at once after the previous one (backlogged: it came while the
 * previous was handled) goes on from the previous batch's stamps.
 */
import test, { type ExecutionContext } from 'ava';
import type { BatchHandler, Link } from '../../stack/link.ts';
import { SeededRandom } from '../../stack/random.ts';
import { Stack } from '../../stack/stack.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { TCP_SYN } from '../../stack/wire/tcp.ts';
import { MonotonicClock, RealtimeDriver } from '../../tun/driver.ts';
import { memoryLinkPair } from '../../tun/memory-link.ts';
import { KERNEL, STACK, tcpPacket } from '../helpers/packets.ts';

const syn = (sport: number) => tcpPacket({ src: KERNEL, dst: STACK, sport, dport: 9, seq: 1000, ack: 0, flags: TCP_SYN, window: 65535, ipId: sport, ttl: 64 });

test('a batch is processed at the time it was read, one microsecond per packet, whatever the processing takes', (t) => {
  const clock = new MonotonicClock();
  const [stackSide, kernelSide] = memoryLinkPair();
  const resets: number[] = [];
  const trace = (e: TraceEvent): void => {
    if (e.kind !== 'tcp-rst') return;
    resets.push(e.t);
    // Slow processing: 3 ms of work per packet.
    const until = performance.now() + 3;
    while (performance.now() < until);
  };
  const stack = new Stack({ address: STACK, clock, random: new SeededRandom(1), link: stackSide, trace });
  const driver = new RealtimeDriver(stack, stackSide, clock);
  t.teardown(() => driver.stop());
  const before = performance.now();
  kernelSide.send([syn(40001), syn(40002), syn(40003)]);
  stackSide.deliver(); // one batch of three SYNs to a closed port: three RSTs
  const after = performance.now();
  t.is(resets.length, 3);
  // Read before the 9 ms of processing, so stamped at least 9 ms before it ended.
  t.true(resets[0]! >= before && resets[0]! <= after - 9, `stamped when read (${(after - resets[0]!).toFixed(3)} ms before the end)`);
  t.deepEqual(
    resets.map((r) => Math.round((r - resets[0]!) * 1000)),
    [0, 1, 2],
    'one microsecond apart, not 3 ms',
  );
  t.true(after - before >= 9, 'the processing did take its 9 ms');
  t.true(clock.now() >= after, 'after the batch, the wall clock again');
});

/** A link whose test hands batches to the driver, saying whether each came backlogged. */
function handLink(): { link: Link; deliver(batch: Uint8Array[], backlogged: boolean): void } {
  let handler: BatchHandler | undefined;
  return {
    link: { mtu: 1500, send: () => undefined, onReceive: (h) => (handler = h), close: () => undefined },
    deliver: (batch, backlogged) => handler!(batch, backlogged),
  };
}

/** The stack behind a hand link, recording the stamp of each RST (one per SYN to a closed port); `workMs` of processing each. */
function stampedStack(t: ExecutionContext, workMs: number): { clock: MonotonicClock; stamps: number[]; deliver(batch: Uint8Array[], backlogged: boolean): void } {
  const clock = new MonotonicClock();
  const { link, deliver } = handLink();
  const stamps: number[] = [];
  const trace = (e: TraceEvent): void => {
    if (e.kind !== 'tcp-rst') return;
    stamps.push(e.t);
    const until = performance.now() + workMs;
    while (performance.now() < until);
  };
  const stack = new Stack({ address: STACK, clock, random: new SeededRandom(1), link, trace });
  const driver = new RealtimeDriver(stack, link, clock);
  t.teardown(() => driver.stop());
  return { clock, stamps, deliver };
}

test('a backlogged batch goes on from the previous batch\'s stamps, not from its read after the previous batch\'s 6 ms of work', (t) => {
  const s = stampedStack(t, 3);
  s.deliver([syn(40001), syn(40002)], false);
  const secondRead = performance.now();
  s.deliver([syn(40003), syn(40004)], true);
  t.is(s.stamps.length, 4);
  t.deepEqual(
    s.stamps.map((r) => Math.round((r - s.stamps[0]!) * 1000)),
    [0, 1, 3, 4],
    'microseconds apart across both batches (the flush of the first took one)',
  );
  t.true(secondRead - s.stamps[2]! >= 6, `the second batch stamped ${(secondRead - s.stamps[2]!).toFixed(3)} ms before it was read`);
});

test('backlogged batches in a row lag the wall clock by one batch\'s work at most: each starts no earlier than the previous batch\'s read', (t) => {
  const s = stampedStack(t, 4);
  const reads: number[] = [];
  for (let i = 0; i < 4; i++) {
    reads.push(performance.now());
    s.deliver([syn(41000 + i)], i > 0);
  }
  t.is(s.stamps.length, 4);
  for (let i = 1; i < 4; i++) {
    t.true(s.stamps[i]! >= reads[i - 1]!, `batch ${i} stamped at or after batch ${i - 1}'s read`);
    t.true(reads[i]! - s.stamps[i]! >= 4, `batch ${i} stamped before its own read, by the 4 ms of work before it`);
  }
});

test('a time the stack was given between batches is a floor: a backlogged batch is not stamped before it', (t) => {
  const s = stampedStack(t, 3);
  s.deliver([syn(42001)], false);
  // An application's call between the batches reads the clock (unheld: the wall clock).
  const told = s.clock.now();
  s.deliver([syn(42002)], true);
  t.true(s.stamps[1]! > told, 'after the time answered in between');
  t.true(s.stamps[1]! - told < 0.01, 'and right after it');
});
