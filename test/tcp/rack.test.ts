/**
 * RACK loss detection (RFC 8985; net/ipv4/tcp_recovery.c) as Linux 6.18
 * runs it for every SACK connection: a segment is lost once a segment sent
 * after it was delivered and the latest RTT plus the reordering window
 * (min_rtt/4, zero in recovery or with `reordering` segments SACKed while
 * no reordering was seen) has passed; the reordering timer covers the wait;
 * a hole filled by its original is reordering (TcpExtTCPSACKReorder) and
 * keeps the window open from then on. Exact virtual times; the same
 * exchanges against the kernel: test/scripts/rack-*.pkt.
 */
import test from 'ava';
import { SYSCTL_RANGES } from '../../stack/sysctl-ranges.ts';
import { SYSCTL_DEFAULTS } from '../../stack/sysctl.ts';
import { passiveOpen, pattern, type Opened, type TcpPeer } from '../helpers/tcp-peer.ts';

const MSS = 1448;

/** [time, flags, relative sequence number, length] of what the stack sends until `until`. */
function sent(p: TcpPeer, until: number): Array<[number, string, number, number]> {
  return p.runUntil(until).map((x) => [x.t, x.flags, (x.seq - p.our(0)) >>> 0, x.len]);
}

function conn(o: Opened) {
  return o.s.stack.tcp.connections()[0]!;
}

/** RTT 50 ms (so min_rtt 50 ms, reordering window 12.5 ms); `n` one-segment writes at t = 100. */
function segments(n: number, sysctl = {}) {
  const o = passiveOpen({ rtt: 50, sysctl });
  o.peer.quietUntil(100);
  writeSegments(o, 0, n);
  return o;
}

/** One-segment writes of segments `from` up to `to` (excluded), each flushed. */
function writeSegments(o: Opened, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    o.ep.write(pattern(MSS, MSS * i));
    o.peer.flush();
  }
}

const edge = (p: TcpPeer, i: number) => p.our(1 + MSS * i);
const sack = (p: TcpPeer, ack: number, ...blocks: Array<[number, number]>) =>
  p.send({ flags: '.', seq: p.their(1), ack: edge(p, ack), opts: { sack: blocks.map(([a, b]) => [edge(p, a), edge(p, b)] as [number, number]) } });

test('one SACK above a hole: the reordering timer retransmits it at RTT + min_rtt/4 + 2 ms, in jiffies (tcp_rack_reo_timeout)', (t) => {
  const o = segments(5);
  const { s, peer: p } = o;
  p.quietUntil(150);
  // Segment 1 SACKed 50 ms after it was sent; segment 0 may still be reordered.
  t.deepEqual(sack(p, 0, [1, 2]), []);
  t.is(conn(o).timer?.on, 'on');
  t.is(conn(o).timer?.expiresIn, 16, 'usecs_to_jiffies(12.5 ms + 2 ms) = 4 jiffies of 4 ms');
  t.deepEqual(sent(p, 165), []);
  t.deepEqual(sent(p, 166), [[166, 'P.', 1, MSS]]);
  t.is(s.stack.counters.TcpExtTCPSackRecovery, 1);
  t.is(s.stack.counters.TcpExtTCPFastRetrans, 1);
  t.is(conn(o).lost, 1);
  t.is(conn(o).sacked, 1);
  t.is(conn(o).retransOut, 1);
});

test('the hole filled by the original before the timer: reordering (TcpExtTCPSACKReorder, reord_seen), nothing retransmitted', (t) => {
  const o = segments(5);
  const { s, peer: p } = o;
  p.quietUntil(150);
  t.deepEqual(sack(p, 0, [1, 2]), []);
  p.quietUntil(155);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: edge(p, 2) }), []);
  t.is(s.stack.counters.TcpExtTCPSACKReorder, 1);
  t.is(conn(o).reordSeen, 1);
  t.is(conn(o).reordering, 3, 'a distance of two segments does not raise the degree above 3');
  t.is(s.stack.counters.TcpRetransSegs, 0);
  t.is(s.stack.counters.TcpExtTCPSackRecovery, 0);
});

test('once reordering was seen, three SACKs no longer suffice: RACK waits min_rtt/4', (t) => {
  const o = segments(10);
  const { s, peer: p } = o;
  p.quietUntil(150);
  // Reordering: segment 0 arrives after segment 1.
  t.deepEqual(sack(p, 0, [1, 2]), []);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: edge(p, 2) }), []);
  t.is(conn(o).reordSeen, 1);
  // Segment 2 is missing; three segments above it SACKed at 150 ms.
  t.deepEqual(sack(p, 2, [3, 4]), []);
  t.deepEqual(sack(p, 2, [3, 5]), []);
  t.deepEqual(sack(p, 2, [3, 6]), []);
  t.is(s.stack.counters.TcpRetransSegs, 0, 'the window is min_rtt/4 now');
  t.deepEqual(sent(p, 170), [[166, 'P.', 1 + 2 * MSS, MSS]]);
});

test('a D-SACK after reordering was seen widens the window by a step (tcp_rack_update_reo_wnd): 2 · min_rtt/4', (t) => {
  const o = segments(10);
  const { s, peer: p } = o;
  p.quietUntil(150);
  // Reordering: segment 0 arrives after segment 1.
  t.deepEqual(sack(p, 0, [1, 2]), []);
  p.quietUntil(155);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: edge(p, 2) }), []);
  // Segment 2 missing, segment 3 SACKed: the timer resends it, spuriously.
  t.deepEqual(sack(p, 2, [3, 4]), []);
  t.deepEqual(sent(p, 200), [[171, 'P.', 1 + 2 * MSS, MSS]]);
  // Both copies arrived: the ACK D-SACKs the second.
  t.deepEqual(
    p.send({ flags: '.', seq: p.their(1), ack: edge(p, 4), opts: { sack: [[edge(p, 2), edge(p, 3)]] } }),
    [],
  );
  t.is(s.stack.counters.TcpExtTCPDSACKRecv, 1);
  p.quietUntil(210);
  p.send({ flags: '.', seq: p.their(1), ack: edge(p, 10) });
  // The D-SACK's ACK echoed the retransmission's timestamp: min_rtt 29 ms.
  t.is(conn(o).minRtt, 29);
  // A new flight; one SACK above a hole waits 2 · 7.25 ms instead of 7.25 ms.
  p.quietUntil(250);
  writeSegments(o, 10, 13);
  p.quietUntil(300);
  t.deepEqual(sack(p, 10, [11, 12]), []);
  t.deepEqual(sent(p, 319), []);
  t.deepEqual(sent(p, 340), [[320, 'P.', 1 + 10 * MSS, MSS]], 'usecs_to_jiffies(14.5 ms + 2 ms) = 5 jiffies; unwidened it would be 3 (312)');
});

test('tcp_recovery bit 0x2 (TCP_RACK_STATIC_REO_WND): D-SACKs leave the window at min_rtt/4', (t) => {
  const o = segments(10, { tcp_recovery: 3 });
  const { peer: p } = o;
  p.quietUntil(150);
  t.deepEqual(sack(p, 0, [1, 2]), []);
  p.quietUntil(155);
  p.send({ flags: '.', seq: p.their(1), ack: edge(p, 2) });
  sack(p, 2, [3, 4]);
  t.deepEqual(sent(p, 200), [[171, 'P.', 1 + 2 * MSS, MSS]]);
  p.send({ flags: '.', seq: p.their(1), ack: edge(p, 4), opts: { sack: [[edge(p, 2), edge(p, 3)]] } });
  p.quietUntil(210);
  p.send({ flags: '.', seq: p.their(1), ack: edge(p, 10) });
  p.quietUntil(250);
  writeSegments(o, 10, 13);
  p.quietUntil(300);
  t.deepEqual(sack(p, 10, [11, 12]), []);
  t.deepEqual(sent(p, 340), [[312, 'P.', 1 + 10 * MSS, MSS]], 'usecs_to_jiffies(7.25 ms + 2 ms) = 3 jiffies');
});

test('a lost retransmission: a segment sent after it is SACKed a round later, RACK marks it lost again (TcpExtTCPLostRetransmit)', (t) => {
  const o = segments(10);
  const { s, peer: p, ep } = o;
  p.quietUntil(150);
  t.deepEqual(sack(p, 0, [1, 2]), []);
  t.deepEqual(sack(p, 0, [1, 3]), []);
  t.is(sack(p, 0, [1, 4]).length, 1, 'the fast retransmission');
  t.deepEqual(sack(p, 0, [1, 5]), []);
  ep.write(pattern(MSS, 10 * MSS));
  t.deepEqual(
    p.flush().map((x) => [x.flags, (x.seq - p.our(0)) >>> 0]),
    [['P.', 1 + 10 * MSS]],
  );
  for (let i = 6; i <= 10; i++) sack(p, 0, [1, i]);
  p.quietUntil(200);
  t.deepEqual(
    sack(p, 0, [1, 11]).map((x) => [x.flags, (x.seq - p.our(0)) >>> 0, x.len]),
    [['P.', 1, MSS]],
    'again at 200 ms, not at the RTO',
  );
  t.is(s.stack.counters.TcpExtTCPLostRetransmit, 1);
  t.is(s.stack.counters.TcpRetransSegs, 2);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 0);
});

test('an RTO marks lost only what RACK would not still wait for (tcp_timeout_mark_lost); cwnd = in flight + 1', (t) => {
  // No loss probe (tcp_early_retrans 0). Segment 0 is ACKed 50 ms after it
  // left (RACK's RTT 50 ms); segment 1 goes at 200 ms and is lost; segment 2
  // goes at 440 ms, 12 ms before the RTO (252 ms, 63 jiffies).
  const o = passiveOpen({ rtt: 50, sysctl: { tcp_early_retrans: 0 } });
  const { s, peer: p, ep } = o;
  p.quietUntil(100);
  ep.write(pattern(MSS));
  p.flush();
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: edge(p, 1) });
  p.quietUntil(200);
  ep.write(pattern(MSS, MSS));
  p.flush();
  p.quietUntil(440);
  ep.write(pattern(MSS, 2 * MSS));
  t.is(p.flush().length, 1);
  t.deepEqual(sent(p, 452), [[452, 'P.', 1 + MSS, MSS]], 'the RTO, 252 ms after segment 1');
  // Segment 2 is within RACK's RTT of its send time: still in flight.
  t.is(conn(o).lost, 1);
  t.is(conn(o).cwnd, 2, 'tcp_enter_loss: in flight (segment 2) + 1, now filled by the retransmission');
  t.is(s.stack.counters.TcpExtTCPSackFailures, 0, 'the RTO found the connection Open');
});

test('an RTO in fast recovery: TcpExtTCPSackRecoveryFail, the fast retransmission lost again', (t) => {
  const o = segments(4, { tcp_early_retrans: 0 });
  const { s, peer: p } = o;
  p.quietUntil(150);
  sack(p, 0, [1, 2]);
  sack(p, 0, [1, 3]);
  t.is(sack(p, 0, [1, 4]).length, 1);
  t.deepEqual(sent(p, 1000), [[402, 'P.', 1, MSS], [906, 'P.', 1, MSS]]);
  t.is(s.stack.counters.TcpExtTCPSackRecoveryFail, 1);
  t.is(s.stack.counters.TcpExtTCPLossFailures, 0, 'counted at the first RTO of a head only');
  t.is(s.stack.counters.TcpExtTCPLostRetransmit, 2);
});

test('net.ipv4.tcp_recovery: a u8 as Linux accepts, 1 by default; 0 leaves RACK on (Linux 6.17+)', (t) => {
  t.is(SYSCTL_DEFAULTS.tcp_recovery, 1);
  t.deepEqual(SYSCTL_RANGES.tcp_recovery, [0, 255]);
  const o = segments(5, { tcp_recovery: 0 });
  o.peer.quietUntil(150);
  t.deepEqual(sack(o.peer, 0, [1, 2]), []);
  t.deepEqual(sent(o.peer, 166), [[166, 'P.', 1, MSS]]);
});

test('tcp_recovery bit 0x4 (TCP_RACK_NO_DUPTHRESH): three SACKs still wait for the reordering window', (t) => {
  const o = segments(5, { tcp_recovery: 5 });
  const { s, peer: p } = o;
  p.quietUntil(150);
  t.deepEqual(sack(p, 0, [1, 2]), []);
  t.deepEqual(sack(p, 0, [1, 3]), []);
  t.deepEqual(sack(p, 0, [1, 4]), []);
  t.is(s.stack.counters.TcpRetransSegs, 0);
  t.deepEqual(sent(p, 170), [[166, 'P.', 1, MSS]]);
});

test('ss -ti fields: minrtt from the handshake, reordering 3 until reordering is seen', (t) => {
  const o = segments(1);
  t.is(conn(o).minRtt, 50);
  t.is(conn(o).reordering, 3);
  t.is(conn(o).reordSeen, 0);
});
