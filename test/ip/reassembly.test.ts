import test from 'ava';
import { SeededRandom } from '../../stack/random.ts';
import { FRAGMENT_OVERHEAD } from '../../stack/ip/reassembly.ts';
import { decodeIpv4Header } from '../../stack/wire/ipv4.ts';
import { echoRequest, fragment, fragmentAt } from '../helpers/packets.ts';
import { testStack } from '../helpers/stack.ts';

const payloadOf = (p: Uint8Array): Uint8Array => p.subarray(28);

/** Reassembles the stack's (possibly fragmented) reply payload for comparison. */
function replyData(packets: Uint8Array[]): Uint8Array {
  const total = packets.reduce((n, p) => Math.max(n, decodeIpv4Header(p).fragmentOffset + p.length - 20), 0);
  const out = new Uint8Array(total);
  for (const p of packets) out.set(p.subarray(20), decodeIpv4Header(p).fragmentOffset);
  return out.subarray(8);
}

test('in-order fragments reassemble and the echo is answered with the same data', (t) => {
  const s = testStack();
  const request = echoRequest(5, 1, 4000);
  const frags = fragment(request, 1480);
  t.is(frags.length, 3);
  t.deepEqual(s.send(frags[0]!), []);
  t.deepEqual(s.send(frags[1]!), []);
  const reply = s.send(frags[2]!);
  t.deepEqual(replyData(reply), payloadOf(request));
  const c = s.stack.counters;
  t.is(c.IpReasmReqds, 3);
  t.is(c.IpReasmOKs, 1);
  t.is(c.IpReasmFails, 0);
  t.is(c.IpInDelivers, 1);
  t.is(c.IpInReceives, 3);
  t.is(s.stack.reassembler.queueCount, 0);
  t.is(s.stack.reassembler.memory, 0);
});

test('out-of-order fragments (every permutation of four) reassemble', (t) => {
  const request = echoRequest(6, 2, 3000);
  const frags = fragment(request, 800);
  t.is(frags.length, 4);
  const permutations = (xs: number[]): number[][] =>
    xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  for (const order of permutations([0, 1, 2, 3])) {
    const s = testStack();
    const out = order.flatMap((i) => s.send(frags[i]!));
    t.deepEqual(replyData(out), payloadOf(request), `order ${order.join(',')}`);
    t.is(s.stack.counters.IpReasmOKs, 1);
  }
});

test('a duplicate fragment is dropped and the datagram still completes', (t) => {
  const s = testStack();
  const request = echoRequest(7, 3, 2000);
  const frags = fragment(request, 1008);
  t.is(frags.length, 2);
  s.send(frags[0]!);
  t.is(s.stack.input(frags[0]!), 'DUP_FRAG');
  // A fragment inside data already held is a duplicate too.
  t.is(s.stack.input(fragmentAt(request, 8, 16, true)), 'DUP_FRAG');
  const reply = s.send(frags[1]!);
  t.deepEqual(replyData(reply), payloadOf(request));
  t.is(s.stack.counters.IpReasmOKs, 1);
  t.is(s.stack.counters.IpReasmFails, 0);
});

test('a partially overlapping fragment discards the whole datagram (RFC 5722 as Linux applies it)', (t) => {
  const s = testStack();
  const request = echoRequest(8, 4, 2000);
  s.send(fragmentAt(request, 0, 1000, true));
  t.is(s.stack.input(fragmentAt(request, 992, 200, true)), 'IP_FRAG_OVERLAP');
  t.is(s.stack.counters.IpReasmFails, 1);
  t.is(s.stack.counters.IpExtReasmOverlaps, 1);
  t.is(s.stack.reassembler.queueCount, 0);
  t.is(s.stack.reassembler.memory, 0);
  // The rest arriving later starts a new queue that can never complete without offset 0.
  t.deepEqual(s.send(fragmentAt(request, 1000, request.length - 20 - 1000, false)), []);
});

test('a missing fragment times out after ipfrag_time with ICMP time exceeded (code 1)', (t) => {
  const s = testStack();
  const request = echoRequest(9, 5, 3000);
  const frags = fragment(request, 1000);
  s.send(frags[0]!);
  s.send(frags[2]!);
  t.deepEqual(s.advanceTo(29_999), []);
  const [exceeded, ...rest] = s.advanceTo(30_000);
  t.is(rest.length, 0);
  t.is(exceeded![20], 11);
  t.is(exceeded![21], 1);
  t.deepEqual(exceeded!.subarray(28, 28 + 28), frags[0]!.subarray(0, 28), 'quotes the first fragment');
  const c = s.stack.counters;
  t.is(c.IpReasmTimeout, 1);
  t.is(c.IpReasmFails, 1);
  t.is(s.stack.reassembler.memory, 0);
  t.is(s.trace.filter((e) => e.kind === 'reasm-timeout').length, 1);
});

test('no time exceeded when the first fragment never came', (t) => {
  const s = testStack({ sysctl: { ipfrag_time: 5 } });
  const frags = fragment(echoRequest(10, 6, 3000), 1000);
  s.send(frags[1]!);
  t.deepEqual(s.advanceTo(5_000), []);
  t.is(s.stack.counters.IpReasmTimeout, 1);
});

test('inconsistent last fragments and oversize datagrams are refused', (t) => {
  const s = testStack();
  const request = echoRequest(11, 7, 2000);
  s.send(fragmentAt(request, 0, 1000, true));
  t.is(s.stack.input(fragmentAt(request, 1504, 8, false)), undefined, 'a last fragment fixes the length at 1512');
  // A second "last" fragment ending elsewhere contradicts the known length.
  t.is(s.stack.input(fragmentAt(request, 1000, 8, false)), 'IP_FRAG_INVALID');
  t.is(s.stack.reassembler.queueCount, 0, 'the queue is discarded');
  const big = new Uint8Array(20 + 1000);
  big.set(request.subarray(0, 20));
  const tooFar = fragmentAt(big, 0, 1000, true);
  tooFar[6] = 0x20 | 0x1f; // offset 65528 * ... beyond 64 KiB
  tooFar[7] = 0xff;
  tooFar[10] = 0;
  tooFar[11] = 0;
  t.not(s.stack.input(tooFar), undefined);
});

test('reassembly memory stays under ipfrag_high_thresh during a flood of incomplete datagrams', (t) => {
  const limit = 256 * 1024;
  const s = testStack({ sysctl: { ipfrag_high_thresh: limit } });
  const rng = new SeededRandom(99);
  let peak = 0;
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    const request = echoRequest(12, i, 2000, { id: rng.below(65536) });
    const verdict = s.stack.input(fragmentAt(request, 8 * (1 + rng.below(100)), 512, true));
    if (verdict === 'FRAG_MEM_LIMIT') refused++;
    peak = Math.max(peak, s.stack.reassembler.memory);
  }
  t.true(peak <= limit + 512 + FRAGMENT_OVERHEAD, `peak ${peak}`);
  t.true(refused > 0, 'the limit was reached');
  // A complete datagram is refused while memory is above the threshold...
  const request = echoRequest(13, 1, 1000, { id: 7 });
  t.is(s.stack.input(fragment(request, 512)[0]!), 'FRAG_MEM_LIMIT');
  // ...and reassembly works again once the queues have timed out.
  s.advanceTo(30_000);
  t.is(s.stack.reassembler.memory, 0);
  t.is(s.stack.reassembler.queueCount, 0);
  const out = fragment(request, 512).flatMap((f) => s.send(f));
  t.deepEqual(replyData(out), payloadOf(request));
});
