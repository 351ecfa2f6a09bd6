/**
 * Out-of-order, hole-filling and duplicate segments on the receive side
 * (tcp_data_queue: an immediate ACK for out-of-order data or a hole fill;
 * tcp_sack and tcp_dsack on; RFC 2018 §4 block order; RFC 7323 §4.3
 * TS.Recent only from segments at or below the last window edge).
 */
import test from 'ava';
import { passiveOpen, pattern, PASSIVE_WIN, stream } from '../helpers/tcp-peer.ts';

test('out-of-order segments get immediate duplicate ACKs with SACK blocks, newest first; hole fills get immediate cumulative ACKs', (t) => {
  const { s, peer: p, ep } = passiveOpen();
  // Leave the quick-ack phase first: every ACK below is owed to the ordering rules, not to quick-ack mode.
  const quick = stream(p, 0, 16, 10, 10);
  quick.forEach((answer, i) => t.deepEqual(answer.map((x) => [x.flags, x.ack]), [['.', p.their(11 + 10 * i)]], `quick ACK ${i + 1}`));
  const o = 160; // peer stream offset after the quick phase
  const lastInOrderTs = p.tsVal(p.now());

  const seg = (k: number) => ({ flags: 'P.', seq: p.their(1 + o + 100 * k), ack: p.our(1), data: pattern(100, o + 100 * k) });
  const block = (from: number, to: number): [number, number] => [p.their(1 + o + 100 * from), p.their(1 + o + 100 * to)];

  // Segments 0..4 of 100 bytes; they arrive as 2, 4, 0, 1, 3.
  p.quietUntil(300);
  t.deepEqual(p.send(seg(2)), [
    { flags: '.', seq: p.our(1), ack: p.their(1 + o), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(300), lastInOrderTs], sack: [block(2, 3)] } },
  ]);
  p.quietUntil(310);
  t.deepEqual(p.send(seg(4)), [
    { flags: '.', seq: p.our(1), ack: p.their(1 + o), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(310), lastInOrderTs], sack: [block(4, 5), block(2, 3)] } },
  ]);
  t.is(ep.readableBytes, o, 'out-of-order data is not readable');

  p.quietUntil(320);
  t.deepEqual(p.send(seg(0)), [
    { flags: '.', seq: p.our(1), ack: p.their(1 + o + 100), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(320), p.tsVal(320)], sack: [block(4, 5), block(2, 3)] } },
  ], 'in order but holes remain: ACK at once, SACK blocks kept');
  p.quietUntil(330);
  t.deepEqual(p.send(seg(1)), [
    { flags: '.', seq: p.our(1), ack: p.their(1 + o + 300), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(330), p.tsVal(330)], sack: [block(4, 5)] } },
  ], 'the first hole filled: the cumulative ACK covers segment 2');
  p.quietUntil(340);
  t.deepEqual(p.send(seg(3)), [
    { flags: '.', seq: p.our(1), ack: p.their(1 + o + 500), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(340), p.tsVal(340)] } },
  ], 'the last hole filled: no SACK option any more');

  t.is(ep.readableBytes, o + 500);
  t.deepEqual(ep.read(), pattern(o + 500), 'every byte once, in order');
  t.is(s.stack.counters.TcpExtTCPOFOQueue, 2);
  t.deepEqual(p.runUntil(1000), [], 'nothing else owed');
});

test('without SACK: out-of-order data gets a plain duplicate ACK; a duplicated segment an immediate ACK and no second delivery', (t) => {
  const { peer: p, ep } = passiveOpen({ sack: false });
  p.quietUntil(100);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(101), ack: p.our(1), data: pattern(100, 100) }), [
    { flags: '.', seq: p.our(1), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(100), p.tsVal(50)] } },
  ]);
  p.quietUntil(110);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) }), [
    { flags: '.', seq: p.our(1), ack: p.their(201), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(110), p.tsVal(110)] } },
  ]);
  t.is(ep.readableBytes, 200);

  p.quietUntil(120);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) }), [
    { flags: '.', seq: p.our(1), ack: p.their(201), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(120), p.tsVal(110)] } },
  ], 'a duplicate: ACK at once, its timestamp not taken (RFC 7323 §4.3)');
  t.is(ep.readableBytes, 200, 'no duplicate delivery');
  t.deepEqual(ep.read(), pattern(200));
  // A duplicate that overlaps new data delivers only the new part.
  p.quietUntil(130);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(151), ack: p.our(1), data: pattern(100, 150) }).map((x) => x.ack), [p.their(251)]);
  t.deepEqual(ep.read(), pattern(50, 200));
});

/**
 * With SACK negotiated, Linux reports a duplicate with a D-SACK block (RFC
 * 2883; tcp_dsack=1, the Linux default). Here the duplicate ends exactly
 * at RCV.WUP, so it passes tcp_sequence() (its TSval becomes TS.Recent) and
 * tcp_data_queue() finds it old: tcp_dsack_set(seq, end_seq),
 * TcpExtTCPDSACKOldSent, immediate ACK. (Older duplicates take
 * tcp_send_dupack(), which sets the same D-SACK.)
 */
test('with SACK: a duplicated segment is ACKed with a D-SACK block for it', (t) => {
  const { s, peer: p, ep } = passiveOpen();
  p.quietUntil(100);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) });
  p.quietUntil(120);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) }), [
    { flags: '.', seq: p.our(1), ack: p.their(101), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(120), p.tsVal(120)], sack: [[p.their(1), p.their(101)]] } },
  ]);
  t.is(ep.readableBytes, 100);
  t.is(s.stack.counters.TcpExtTCPDSACKOldSent, 1);
});
