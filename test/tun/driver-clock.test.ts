/**
 * The real-time driver stamps each packet of a batch read from the device
 * with the time the batch was read, one microsecond apart in arrival
 * order, as the kernel stamps each packet it processes
 * (tcp_mstamp_refresh), instead of letting the stack read the wall clock
 * while it works through the batch: otherwise the milliseconds Node takes
 * over a batch of ACKs would leak into RTT samples, transmit times, RACK's
 * order of transmissions and the 1 ms tests of tcp_tso_should_defer.
 */
import test from 'ava';
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
