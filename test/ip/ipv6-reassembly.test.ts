/**
 * IPv6 fragments both ways in virtual time: reassembly of what arrives
 * (RFC 8200 §4.5 with Linux's rules, net/ipv6/reassembly.c) and our own
 * fragmentation of an echo reply larger than the link MTU.
 */
import test from 'ava';
import { FRAG_QUEUE_MEMORY6 } from '../../stack/ipv6/reassembly.ts';
import { decodeIpv6Header, frag6Id, frag6More, frag6Offset, pseudoHeaderSum6 } from '../../stack/wire/ipv6.ts';
import { ipv6WordSum } from '../../stack/wire/addr6.ts';
import { verifies } from '../../stack/wire/checksum.ts';
import { echoRequest6, fragment6, fragments6, STACK6 } from '../helpers/packets6.ts';
import { testStack } from '../helpers/stack.ts';

const v6 = { address6: STACK6 };
const word = (p: Uint8Array, at: number): number => new DataView(p.buffer, p.byteOffset).getUint32(at);

test('an echo request in two fragments is reassembled and answered whole', (t) => {
  const s = testStack(v6);
  const request = echoRequest6(7, 1, 1200);
  const [first, second] = fragments6(request, [800], 0xabcd);
  t.deepEqual(s.send(second!), [], 'the last fragment first: queued');
  const [reply] = s.send(first!);
  t.is(reply![40], 129);
  t.deepEqual(reply!.subarray(44), request.subarray(44));
  const c = s.stack.counters;
  t.deepEqual([c.Ip6ReasmReqds, c.Ip6ReasmOKs, c.Ip6ReasmFails], [2, 1, 0]);
  t.is(s.stack.reassembler6!.queueCount, 0);
  t.is(s.stack.addresses.heldCount, 1, 'the queue let go of its addresses');
});

test('an atomic fragment is taken as it is', (t) => {
  const s = testStack(v6);
  const request = echoRequest6(7, 1, 16);
  const atomic = fragment6(request, 58, 0, request.subarray(40), false, 5);
  t.is(s.send(atomic).length, 1);
  t.is(s.stack.counters.Ip6ReasmOKs, 1);
  t.is(s.stack.reassembler6!.queueCount, 0);
});

test('overlapping fragments discard the whole datagram (RFC 5722); a duplicate is ignored', (t) => {
  const s = testStack(v6);
  const request = echoRequest6(7, 1, 1200);
  const payload = request.subarray(40);
  const a = fragment6(request, 58, 0, payload.subarray(0, 800), true, 9);
  t.deepEqual(s.send(a), []);
  t.deepEqual(s.send(a), [], 'the same fragment again');
  t.is(s.stack.drops.DUP_FRAG, 1);
  t.deepEqual(s.send(fragment6(request, 58, 792, payload.subarray(792), false, 9)), []);
  const c = s.stack.counters;
  t.deepEqual([c.Ip6ReasmOverlaps, c.Ip6ReasmFails, c.Ip6ReasmOKs], [1, 1, 0]);
  t.is(s.stack.reassembler6!.queueCount, 0);
});

test('a non-final fragment whose length is not a multiple of 8: a parameter problem at the payload length, the queue kept', (t) => {
  const s = testStack(v6);
  const request = echoRequest6(7, 1, 1200);
  const [problem] = s.send(fragment6(request, 58, 0, request.subarray(40, 40 + 801), true, 3));
  t.deepEqual([problem![40], problem![41]], [4, 0]);
  t.is(word(problem!, 44), 4);
  t.is(s.stack.counters.Ip6InHdrErrors, 1);
  t.is(s.stack.counters.Ip6ReasmFails, 0);
});

test('a first fragment without the whole upper-layer header: parameter problem code 3 (RFC 7112)', (t) => {
  const s = testStack(v6);
  const request = echoRequest6(7, 1, 64);
  const [problem] = s.send(fragment6(request, 58, 0, request.subarray(40, 44), true, 4));
  // 4 bytes of ICMPv6 with M set would also be misaligned; the chain check comes first.
  t.deepEqual([problem![40], problem![41]], [4, 3]);
  t.is(word(problem!, 44), 0);
});

test('a queue times out after ip6frag_time: time exceeded (code 1) only if the first fragment came', (t) => {
  const s = testStack(v6);
  const request = echoRequest6(7, 1, 1200);
  const [first, second] = fragments6(request, [800], 21);
  t.deepEqual(s.send(first!), []);
  t.deepEqual(s.advanceTo(59_999), []);
  const [exceeded, ...rest] = s.advanceTo(60_000);
  t.is(rest.length, 0);
  t.deepEqual([exceeded![40], exceeded![41]], [3, 1]);
  t.deepEqual(exceeded!.subarray(48), first, 'the first fragment quoted whole');
  // Only the last fragment: nothing to quote, no error.
  t.deepEqual(s.send(second!), []);
  t.deepEqual(s.advanceTo(200_000), []);
  const c = s.stack.counters;
  t.deepEqual([c.Ip6ReasmTimeout, c.Ip6ReasmFails, c.Icmp6OutTimeExcds], [2, 2, 1]);
  t.is(s.stack.addresses.heldCount, 1);
  t.deepEqual(
    s.trace.filter((e) => e.kind === 'reasm-timeout'),
    [
      { kind: 'reasm-timeout', t: 60_000, source: 0, source6: '2001:2::1', id: 21 },
      { kind: 'reasm-timeout', t: 120_000, source: 0, source6: '2001:2::1', id: 21 },
    ],
    'each expiry traced with the source as text',
  );
});

test('queues left empty by misaligned fragments are charged too: past ip6frag_high_thresh new ones are refused', (t) => {
  // Measured on 6.18 with ip6frag_high_thresh 100000: of 1000 such fragments
  // with new identifications, 544 made a queue (a parameter problem each,
  // Ip6InHdrErrors) and 456 were refused (Ip6ReasmFails): 184 bytes a queue.
  const s = testStack({ ...v6, sysctl: { ip6frag_high_thresh: 100_000 } });
  const datagram = echoRequest6(7, 1, 64);
  for (let id = 0; id < 1000; id++) s.stack.input(fragment6(datagram, 59, 8, new Uint8Array(9), true, 0x10000 + id));
  s.stack.flush();
  const c = s.stack.counters;
  const r = s.stack.reassembler6!;
  t.deepEqual([c.Ip6InHdrErrors, c.Ip6ReasmFails, s.stack.drops.FRAG_MEM_LIMIT], [544, 456, 456]);
  t.is(r.queueCount, 544);
  t.is(r.memory, 544 * FRAG_QUEUE_MEMORY6);
  s.advanceTo(60_000);
  t.deepEqual([r.queueCount, r.memory, c.Ip6ReasmTimeout], [0, 0, 544]);
  t.is(s.stack.addresses.heldCount, 1);
});

test('an echo reply larger than the MTU leaves in fragments of 1448 bytes that rebuild the reply', (t) => {
  const s = testStack({ ...v6, mtu: 1500 });
  const request = echoRequest6(1, 1, 4000);
  const [a, b] = fragments6(request, [1448], 77);
  t.deepEqual(s.send(a!), []);
  const frags = s.send(b!);
  t.is(frags.length, 3);
  const id = frag6Id(frags[0]!, 40);
  const rebuilt = new Uint8Array(request.length - 40);
  let covered = 0;
  for (const [i, f] of frags.entries()) {
    t.true(f.length <= 1500);
    const h = decodeIpv6Header(f);
    t.is(h.nextHeader, 44);
    t.is(h.payloadLength, f.length - 40);
    t.is(f[40], 58, 'the fragment header names ICMPv6');
    t.is(frag6Id(f, 40), id);
    t.is(frag6More(f, 40), i < 2);
    t.is(frag6Offset(f, 40), covered);
    rebuilt.set(f.subarray(48), covered);
    covered += f.length - 48;
  }
  t.is(frags[0]!.length, 1496);
  t.is(covered, request.length - 40);
  t.is(rebuilt[0], 129);
  const sums = ipv6WordSum(frags[0]!, 8) + ipv6WordSum(frags[0]!, 24);
  t.true(verifies(rebuilt, 0, rebuilt.length, pseudoHeaderSum6(sums, 58, rebuilt.length)), 'the reply checksum covers the whole');
  const c = s.stack.counters;
  t.deepEqual([c.Ip6FragOKs, c.Ip6FragCreates, c.Ip6OutRequests], [1, 3, 1]);
});
