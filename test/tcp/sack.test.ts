/**
 * Fast retransmit (RFC 5681 §3.2, RFC 6675; docs/linux-behaviour.md, TCP
 * basics): with SACK, a hole with three SACKed segments above it is
 * retransmitted at once (for Linux's RACK too: with sacked_out >= reordering
 * its reordering window is 0); without SACK, the third duplicate ACK does the
 * same (NewReno).
 */
import test from 'ava';
import { passiveOpen, pattern, PASSIVE_WIN } from '../helpers/tcp-peer.ts';

/** Five full segments, one write each (so each carries PSH), sent at t = 100. */
function fiveSegments(sack: boolean) {
  const opened = passiveOpen({ sack, rtt: 50 });
  const { peer: p, ep } = opened;
  p.quietUntil(100);
  const sent = [];
  for (let i = 0; i < 5; i++) {
    ep.write(pattern(1448, 1448 * i));
    sent.push(...p.flush());
  }
  return { ...opened, sent };
}

test('SACK: three segments SACKed above a hole → the hole is retransmitted at once (TcpExtTCPSackRecovery, TcpExtTCPFastRetrans)', (t) => {
  const { s, peer: p, sent } = fiveSegments(true);
  t.deepEqual(sent.map((x) => [x.flags, x.seq, x.len]), [0, 1, 2, 3, 4].map((i) => ['P.', p.our(1 + 1448 * i), 1448]));

  // Segment 0 is lost; the peer's duplicate ACKs SACK segments 1, 1–2, 1–3.
  p.quietUntil(150);
  const edge = (i: number) => p.our(1 + 1448 * i);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(1), edge(2)]] } }), []);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(1), edge(3)]] } }), []);
  t.is(s.stack.counters.TcpExtTCPSackRecovery, 0);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(1), edge(4)]] } }), [
    { flags: 'P.', seq: p.our(1), ack: p.their(1), win: PASSIVE_WIN, len: 1448, opts: { ts: [p.stackTs(150), p.tsVal(150)] } },
  ], 'fast retransmit at 150 ms, long before the RTO (350 ms)');
  t.deepEqual(p.lastPayload(), pattern(1448));
  t.is(s.stack.counters.TcpExtTCPSackRecovery, 1);
  t.is(s.stack.counters.TcpExtTCPFastRetrans, 1);
  t.is(s.stack.counters.TcpRetransSegs, 1);
  t.is(s.stack.counters.TcpExtTCPRenoRecovery, 0);

  // The retransmission fills the hole: everything is acknowledged, nothing else is resent.
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1 + 1448 * 5) }), []);
  t.deepEqual(p.runUntil(5000), []);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 0);
  t.is(s.stack.counters.TcpRetransSegs, 1);
});

test('no SACK: the third duplicate ACK retransmits the first unacknowledged segment at once (TcpExtTCPRenoRecovery)', (t) => {
  const { s, peer: p, sent } = fiveSegments(false);
  t.is(sent.length, 5);
  p.quietUntil(150);
  const dup = { flags: '.', seq: p.their(1), ack: p.our(1) };
  t.deepEqual(p.send(dup), []);
  t.deepEqual(p.send(dup), []);
  t.is(s.stack.counters.TcpExtTCPRenoRecovery, 0);
  t.deepEqual(p.send(dup), [
    { flags: 'P.', seq: p.our(1), ack: p.their(1), win: PASSIVE_WIN, len: 1448, opts: { ts: [p.stackTs(150), p.tsVal(150)] } },
  ]);
  t.deepEqual(p.lastPayload(), pattern(1448));
  t.is(s.stack.counters.TcpExtTCPRenoRecovery, 1);
  t.is(s.stack.counters.TcpExtTCPFastRetrans, 1);
  t.is(s.stack.counters.TcpExtTCPSackRecovery, 0);
  t.is(s.stack.counters.TcpRetransSegs, 1);

  p.quietUntil(200);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1 + 1448 * 5) }), []);
  t.deepEqual(p.runUntil(5000), []);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 0);
});

test('no SACK: two duplicate ACKs are not enough; the RTO then retransmits', (t) => {
  const { s, peer: p } = fiveSegments(false);
  p.quietUntil(150);
  const dup = { flags: '.', seq: p.their(1), ack: p.our(1) };
  t.deepEqual(p.send(dup), []);
  t.deepEqual(p.send(dup), []);
  t.deepEqual(p.runUntil(352).map((x) => [x.t, x.seq, x.len]), [[352, p.our(1), 1448]]);
  t.is(s.stack.counters.TcpExtTCPFastRetrans, 0);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 1);
});

test('while out-of-order data is held, new data segments are cut to carry the SACK blocks (tcp_current_mss): 1448 − 12 = 1436 bytes with one block', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  // The peer's first 100 bytes are lost; bytes 100–199 arrive out of order and are SACKed at once.
  const dupAck = p.send({ flags: 'P.', seq: p.their(101), ack: p.our(1), data: pattern(100, 100) });
  t.deepEqual(dupAck.map((x) => [x.flags, x.ack, x.opts.sack]), [['.', p.their(1), [[p.their(101), p.their(201)]]]]);
  ep.write(pattern(3000));
  const sent = p.flush();
  t.deepEqual(sent.map((x) => [x.len, x.opts.sack]), [
    [1436, [[p.their(101), p.their(201)]]],
    [1436, [[p.their(101), p.their(201)]]],
    [128, [[p.their(101), p.their(201)]]],
  ]);
  // Once the hole is filled, segments are full-sized again and carry no blocks.
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) });
  ep.write(pattern(1448));
  t.deepEqual(p.flush().filter((x) => x.len > 0).map((x) => [x.len, x.opts.sack]), [[1448, undefined]]);
});

test('SACK with a full window in flight: the fast retransmit goes out at once although the halved cwnd is below what is in flight (PRR sends at least one, RFC 6937)', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50, win: 2000 });
  p.quietUntil(100);
  ep.write(pattern(1448 * 10));
  t.is(p.flush().length, 10, 'the initial window: ten segments in flight');
  p.quietUntil(150);
  const edge = (i: number) => p.our(1 + 1448 * i);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(1), edge(2)]] } }), []);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(1), edge(3)]] } }), []);
  const outSegs = s.stack.counters.TcpOutSegs;
  const answer = p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(1), edge(4)]] } });
  t.deepEqual(answer.map((x) => [x.seq, x.len]), [[p.our(1), 1448]], 'segment 0 again at 150 ms, not at the RTO');
  t.is(s.stack.counters.TcpOutSegs, outSegs, 'a retransmission is not a TcpOutSegs (RFC 1213)');
  t.is(s.stack.counters.TcpRetransSegs, 1);
  t.deepEqual([s.stack.counters.TcpExtTCPSackRecovery, s.stack.counters.TcpExtTCPFastRetrans, s.stack.counters.TcpExtTCPTimeouts], [1, 1, 0]);
});
