/**
 * The random and scheduled faults of tun/impair/ on a known packet stream in
 * virtual time: exact counts for a fixed seed, statistical bounds for the
 * rates, what each fault does to the packets, and determinism.
 */
import test from 'ava';
import { VirtualClock } from '../../stack/clock.ts';
import { SeededRandom } from '../../stack/random.ts';
import { tcpChecksumOk } from '../../stack/wire/tcp.ts';
import { Impairment } from '../../tun/impair/impairment.ts';
import { flipOneBit, viewPacket } from '../../tun/impair/packet.ts';
import { KERNEL, STACK, echoRequest, udpDatagram } from '../helpers/packets.ts';
import { testStack } from '../helpers/stack.ts';
import { runStream, segment, seqOf, stream, type Timed } from './impair-stream.ts';

const N = 10_000;
const STREAM = stream(N);
const seqs = (out: Timed[]): number[] => out.map((e) => seqOf(e.packet));
/** Binomial bounds: the expected count ± 5 standard deviations. */
function within(t: { true: (v: boolean, m?: string) => void }, count: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  t.true(Math.abs(count - n * p) <= 5 * sd, `${count} of ${n} is not near ${p}`);
}
const bitsDiffering = (a: Uint8Array, b: Uint8Array): number => {
  let n = 0;
  for (let i = 0; i < a.length; i++) for (let x = a[i]! ^ b[i]!; x; x &= x - 1) n++;
  return n;
};

test('loss: seed 42 drops exactly 506 of 10,000 (5%), the rest pass in order and unchanged', (t) => {
  const { out, imp } = runStream({ seed: 42, both: { loss: 0.05 } }, STREAM);
  t.is(imp.counters.total('ImpairLossDrops'), 506);
  t.is(out.length, N - 506);
  const s = seqs(out);
  t.deepEqual(s, [...s].sort((a, b) => a - b));
  t.true(out.every((e) => e.t === seqOf(e.packet)), 'no delay without --delay');
  for (let seed = 1; seed <= 5; seed++) within(t, runStream({ seed, both: { loss: 0.05 } }, STREAM).imp.counters.total('ImpairLossDrops'), N, 0.05);
});

test('duplication: seed 42 sends 94 extra copies (1%), each right behind its original', (t) => {
  const { out, imp } = runStream({ seed: 42, both: { dup: 0.01 } }, STREAM);
  t.is(imp.counters.total('ImpairDuplicated'), 94);
  t.is(out.length, N + 94);
  let pairs = 0;
  for (let i = 1; i < out.length; i++) if (seqOf(out[i]!.packet) === seqOf(out[i - 1]!.packet)) pairs++;
  t.is(pairs, 94);
  t.deepEqual([...new Set(seqs(out))].length, N);
  for (let seed = 1; seed <= 5; seed++) within(t, runStream({ seed, both: { dup: 0.01 } }, STREAM).imp.counters.total('ImpairDuplicated'), N, 0.01);
});

test('corruption: seed 42 flips one bit in 46 packets (0.5%), always in the checksummed transport part', (t) => {
  const { out, imp } = runStream({ seed: 42, both: { corrupt: 0.005 } }, STREAM);
  t.is(imp.counters.total('ImpairCorrupted'), 46);
  t.is(out.length, N);
  let corrupted = 0;
  out.forEach((e, i) => {
    // Nothing but corruption: the i-th packet out is the i-th packet in, maybe with one bit flipped.
    const original = STREAM[i]!.packet;
    const diff = bitsDiffering(e.packet, original);
    t.true(diff <= 1);
    if (diff === 0) {
      t.is(e.packet, original, 'an untouched packet is passed on as is, not copied');
      return;
    }
    corrupted++;
    t.not(e.packet, original, 'the flip is made on a copy');
    t.deepEqual(e.packet.subarray(0, 20), original.subarray(0, 20), 'never in the IP header');
    t.false(tcpChecksumOk(e.packet.subarray(20), STACK, KERNEL), 'the TCP checksum catches it');
  });
  t.is(corrupted, 46);
  within(t, runStream({ seed: 7, both: { corrupt: 0.05 } }, STREAM).imp.counters.total('ImpairCorrupted'), N, 0.05);
});

test('corruption reaching our stack is counted by its checksum counters (TCP, UDP, ICMP), never as a header error', (t) => {
  const rng = new SeededRandom(3);
  const s = testStack();
  const kinds = [
    { make: (i: number) => segment(i, 'in'), counter: 'TcpInCsumErrors' as const },
    { make: (i: number) => udpDatagram(5000, 6000 + (i % 100), new Uint8Array(100 + (i % 50)).fill(i)), counter: 'UdpInCsumErrors' as const },
    { make: (i: number) => echoRequest(1, i, 56 + (i % 200)), counter: 'IcmpInCsumErrors' as const },
  ];
  for (const { make, counter } of kinds) {
    for (let i = 0; i < 2000; i++) s.send(flipOneBit(make(i), rng)!);
    t.is(s.stack.counters[counter], 2000, counter);
  }
  t.is(s.stack.counters.IpInHdrErrors, 0);
  t.is(s.stack.counters.TcpInErrs, 2000, 'TcpInErrs counts exactly the checksum failures');
  t.is(s.stack.counters.UdpInErrors, 2000);
  t.is(s.stack.counters.IcmpInErrors, 2000);
});

test('reordering: seed 42 holds back 187 packets (2%) 1-10 ms; later packets overtake them, the others keep their order', (t) => {
  const { out, imp } = runStream({ seed: 42, both: { reorder: { probability: 0.02 } } }, STREAM);
  t.is(imp.counters.total('ImpairReordered'), 187);
  t.is(out.length, N);
  const held = out.filter((e) => e.t > seqOf(e.packet));
  t.is(held.length, 187);
  for (const e of held) {
    const wait = e.t - seqOf(e.packet);
    t.true(wait >= 1 && wait <= 10, `held ${wait} ms`);
  }
  // Each held packet is overtaken by a packet sent after it.
  const position = new Map(out.map((e, i) => [seqOf(e.packet), i]));
  for (const e of held) {
    const i = seqOf(e.packet);
    t.true(out.slice(0, position.get(i)).some((o) => seqOf(o.packet) > i), `packet ${i} overtaken`);
  }
  const kept = out.filter((e) => e.t === seqOf(e.packet)).map((e) => seqOf(e.packet));
  t.deepEqual(kept, [...kept].sort((a, b) => a - b));
  const wide = runStream({ seed: 42, both: { reorder: { probability: 0.02, holdMs: 50 } } }, STREAM).out.filter((e) => e.t > seqOf(e.packet));
  t.true(Math.max(...wide.map((e) => e.t - seqOf(e.packet))) > 10, 'hold=50ms holds longer');
});

test('delay with jitter keeps the order by default: every delay within 50±10 ms, releases in send order', (t) => {
  const { out, imp } = runStream({ seed: 42, both: { delay: { ms: 50, jitterMs: 10 } } }, stream(2000));
  t.is(out.length, 2000);
  t.is(imp.counters.total('ImpairDelayed'), 2000);
  t.deepEqual(seqs(out), Array.from({ length: 2000 }, (_, i) => i));
  for (const e of out) {
    const d = e.t - seqOf(e.packet);
    t.true(d >= 40 && d <= 60, `delay ${d}`);
  }
  // Packets 25 ms apart: ordering rarely binds, so the delays spread over the whole ±10 ms.
  const spaced = runStream({ seed: 42, both: { delay: { ms: 50, jitterMs: 10 } } }, stream(2000, 'out', 25)).out;
  t.deepEqual(seqs(spaced), Array.from({ length: 2000 }, (_, i) => i));
  const delays = spaced.map((e) => e.t - seqOf(e.packet) * 25);
  t.true(delays.every((d) => d >= 40 && d <= 60));
  t.true(Math.min(...delays) < 41 && Math.max(...delays) > 59, 'the jitter is used');
});

test('delay with jitter, unordered: each packet keeps its own delay, so packets 1 ms apart are reordered', (t) => {
  const { out } = runStream({ seed: 42, both: { delay: { ms: 50, jitterMs: 10, ordered: false } } }, stream(2000));
  t.is(out.length, 2000);
  let inversions = 0;
  for (let i = 1; i < out.length; i++) if (seqOf(out[i]!.packet) < seqOf(out[i - 1]!.packet)) inversions++;
  t.true(inversions > 500, `${inversions} inversions`);
  const delays = out.map((e) => e.t - seqOf(e.packet));
  t.true(delays.every((d) => d >= 40 && d <= 60));
  // Uniform jitter: about a tenth of the delays in each 2 ms band.
  const band = delays.filter((d) => d >= 40 && d < 42).length;
  within(t, band, 2000, 0.1);
});

test('delay without jitter: exactly 50 ms each, in order', (t) => {
  const { out } = runStream({ seed: 1, out: { delay: { ms: 50 } } }, stream(100));
  t.deepEqual(
    out.map((e) => e.t - seqOf(e.packet)),
    new Array(100).fill(50),
  );
});

test('rate limit: 1250-byte packets at 1 Mbit/s leave every 10 ms; beyond a queue of 5 the tail is dropped', (t) => {
  const burst = stream(10, 'out', 0, 1250);
  const { out, imp } = runStream({ seed: 1, out: { rate: { bitsPerSecond: 1e6 } } }, burst);
  t.deepEqual(
    out.map((e) => e.t),
    [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
  );
  t.is(imp.counters.total('ImpairRateDrops'), 0, 'the default queue of 1000 holds them all');
  const bounded = runStream({ seed: 1, out: { rate: { bitsPerSecond: 1e6, queuePackets: 5 } } }, burst);
  t.deepEqual(
    bounded.out.map((e) => [seqOf(e.packet), e.t]),
    [
      [0, 10],
      [1, 20],
      [2, 30],
      [3, 40],
      [4, 50],
    ],
  );
  t.is(bounded.imp.counters.total('ImpairRateDrops'), 5);
  // A byte bound: 3 × 1250 fit in 4000 bytes, the fourth does not.
  const bytes = runStream({ seed: 1, out: { rate: { bitsPerSecond: 1e6, queueBytes: 4000 } } }, burst);
  t.is(bytes.out.length, 3);
  // Once the queue drains, packets are admitted again; spaced wider than their serialisation, none waits.
  const paced = runStream({ seed: 1, out: { rate: { bitsPerSecond: 1e6, queuePackets: 1 } } }, stream(10, 'out', 20, 1250));
  t.deepEqual(
    paced.out.map((e) => e.t - seqOf(e.packet) * 20),
    new Array(10).fill(10),
  );
});

test('rate limit with delay: serialisation first, then the propagation delay', (t) => {
  const { out } = runStream({ seed: 1, out: { rate: { bitsPerSecond: 8e6 }, delay: { ms: 30 } } }, stream(4, 'out', 0, 1000));
  t.deepEqual(
    out.map((e) => e.t),
    [31, 32, 33, 34],
  );
});

test('blackout: everything entering from 100 ms to 200 ms is dropped, in the direction asked only', (t) => {
  const both = [...stream(300, 'out'), ...stream(300, 'in')];
  const { out, imp } = runStream({ seed: 1, in: { blackouts: [{ from: 100, until: 200 }] } }, both);
  t.is(imp.counters.in.ImpairBlackoutDrops, 100);
  t.is(imp.counters.out.ImpairBlackoutDrops, 0);
  t.deepEqual(
    out.filter((e) => e.dir === 'in').map((e) => seqOf(e.packet)),
    [...Array.from({ length: 100 }, (_, i) => i), ...Array.from({ length: 100 }, (_, i) => 200 + i)],
  );
  t.is(out.filter((e) => e.dir === 'out').length, 300);
  // Windows count from the impairment's start, not from clock zero.
  const later = runStream({ seed: 1, out: { blackouts: [{ from: 0, until: 10 }] } }, stream(20), 5000);
  t.is(later.imp.counters.total('ImpairBlackoutDrops'), 10);
});

test('MTU clamp: packets longer than the clamp are dropped, the others pass', (t) => {
  const sizes = [576, 1399, 1400, 1401, 1500, 9000];
  const input = sizes.map((size, i) => ({ t: i, dir: 'out' as const, packet: segment(i, 'out', size) }));
  const { out, imp } = runStream({ seed: 1, out: { mtu: 1400 } }, input);
  t.deepEqual(
    out.map((e) => e.packet.length),
    [576, 1399, 1400],
  );
  t.is(imp.counters.total('ImpairMtuDrops'), 3);
});

test('directions are independent: faults on "in" leave "out" alone, and each direction has its own streams', (t) => {
  const both = [...stream(2000, 'out'), ...stream(2000, 'in')];
  const { out, imp } = runStream({ seed: 9, in: { loss: 0.1 } }, both);
  t.is(out.filter((e) => e.dir === 'out').length, 2000);
  t.is(imp.counters.out.ImpairLossDrops, 0);
  t.is(imp.counters.in.ImpairLossDrops, 2000 - out.filter((e) => e.dir === 'in').length);
  const sym = runStream({ seed: 9, both: { loss: 0.1 } }, both).out;
  const lostIn = new Set(seqs(sym.filter((e) => e.dir === 'in')));
  const lostOut = new Set(seqs(sym.filter((e) => e.dir === 'out')));
  t.notDeepEqual([...lostIn], [...lostOut], 'not the same packets in both directions');
});

test('determinism: the same seed gives the same output, bit for bit and to the millisecond; another seed does not', (t) => {
  const config = (seed: number) => ({
    seed,
    both: { loss: 0.05, dup: 0.02, corrupt: 0.01, reorder: { probability: 0.03 }, delay: { ms: 20, jitterMs: 5 }, rate: { bitsPerSecond: 50e6 } },
  });
  const input = [...stream(3000, 'out'), ...stream(3000, 'in')];
  const fingerprint = (out: Timed[]): string => out.map((e) => `${e.t.toFixed(6)}/${e.dir}/${Buffer.from(e.packet).toString('base64')}`).join('\n');
  const a = runStream(config(1234), input);
  const b = runStream(config(1234), input);
  t.is(fingerprint(a.out), fingerprint(b.out));
  t.deepEqual(a.imp.counters.rows(true), b.imp.counters.rows(true));
  t.not(fingerprint(runStream(config(1235), input).out), fingerprint(a.out));
});

test('each fault draws from its own stream: adding duplication and corruption does not change which packets are lost', (t) => {
  const lostWith = (extra: object): number[] => {
    const { out } = runStream({ seed: 5, both: { loss: 0.05, ...extra } }, STREAM);
    const arrived = new Set(out.map((e) => viewPacket(e.packet).seq));
    return STREAM.map((_, i) => i).filter((i) => !arrived.has(i));
  };
  const base = lostWith({});
  t.deepEqual(lostWith({ dup: 0.05 }), base);
  t.deepEqual(lostWith({ delay: { ms: 5, jitterMs: 3 } }), base);
});

test('the core is sans-I/O: nothing moves until the clock does, and nextDeadline says when', (t) => {
  const clock = new VirtualClock(100);
  const imp = new Impairment({ seed: 1, out: { delay: { ms: 25 } } }, clock);
  imp.push('out', segment(1));
  t.is(imp.nextDeadline(), 125);
  t.deepEqual(imp.takeDue('out'), []);
  clock.set(124.9);
  t.deepEqual(imp.takeDue('out'), []);
  clock.set(125);
  t.is(imp.takeDue('out').length, 1);
  t.is(imp.nextDeadline(), Infinity);
});
