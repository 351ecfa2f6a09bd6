/**
 * D-SACK (RFC 2883) with tcp_sack and tcp_dsack on, as Linux: the receiver
 * reports each duplicate once in the first SACK block (tcp_dsack_set,
 * tcp_dsack_extend, tcp_options_write; test/scripts/dsack-old.pkt and
 * dsack-ofo.pkt), and the sender counts a received D-SACK without taking it
 * for SACK information (tcp_check_dsack, tcp_dsack_seen).
 */
import test from 'ava';
import { passiveOpen, pattern } from '../helpers/tcp-peer.ts';

/** What the stack answered: flags, ACK and SACK blocks of each segment. */
type Answer = Array<[string, number, Array<[number, number]> | undefined]>;

function noTs() {
  const opened = passiveOpen({ ts: false });
  const { peer: p } = opened;
  const data = (from: number, to: number, at: number) => {
    p.quietUntil(at);
    const sent = p.send({ flags: 'P.', seq: p.their(1 + from), ack: p.our(1), data: pattern(to - from, from) });
    return sent.map((x) => [x.flags, x.ack, x.opts.sack]) as Answer;
  };
  const edge = (n: number) => p.their(1 + n);
  return { ...opened, data, edge };
}

test('a duplicate wholly below RCV.NXT and RCV.WUP (tcp_send_dupack) is D-SACKed up to RCV.NXT: TcpExtTCPDSACKOldSent', (t) => {
  const { s, data, edge, ep } = noTs();
  data(0, 100, 100);
  data(100, 200, 200);
  // [0, 100) ends before RCV.WUP (200): tcp_sequence rejects it, tcp_send_dupack D-SACKs it.
  t.deepEqual(data(0, 100, 300), [['.', edge(200), [[edge(0), edge(100)]]]]);
  // [150, 200) ends at RCV.WUP: acceptable, and tcp_data_queue finds it old.
  t.deepEqual(data(150, 200, 400), [['.', edge(200), [[edge(150), edge(200)]]]]);
  t.is(s.stack.counters.TcpExtTCPDSACKOldSent, 2);
  t.is(s.stack.counters.TcpExtTCPDSACKOfoSent, 0);
  t.is(s.stack.counters.TcpExtDelayedACKLost, 2, 'tcp_send_dupack and tcp_data_queue both count it');
  t.deepEqual(ep.read(), pattern(200), 'every byte once');
});

test('a segment overlapping RCV.NXT: its old part is D-SACKed, its new part delivered and ACKed', (t) => {
  const { s, data, edge, ep } = noTs();
  data(0, 1000, 100);
  t.deepEqual(data(500, 1500, 200), [['.', edge(1500), [[edge(500), edge(1000)]]]]);
  t.is(s.stack.counters.TcpExtTCPDSACKOldSent, 1);
  t.is(s.stack.counters.TcpExtDelayedACKLost, 0, 'only wholly old segments count (test/scripts/dsack-old.pkt)');
  t.deepEqual(ep.read(), pattern(1500));
});

test('a duplicate of out-of-order data: D-SACK first, then the SACK block holding it (TcpExtTCPDSACKOfoSent); overlaps D-SACK only the overlap', (t) => {
  const { s, data, edge, ep } = noTs();
  t.deepEqual(data(1000, 2000, 100), [['.', edge(0), [[edge(1000), edge(2000)]]]]);
  t.deepEqual(data(1000, 2000, 200), [['.', edge(0), [[edge(1000), edge(2000)], [edge(1000), edge(2000)]]]]);
  t.is(s.stack.counters.TcpExtTCPDSACKOfoSent, 1);
  t.is(s.stack.counters.TcpExtTCPOFOMerge, 1, 'all the bits were present (tcp_data_queue_ofo)');
  t.is(s.stack.drops.TCP_OFOMERGE, 1);
  // Partial overlap with the held data.
  t.deepEqual(data(1500, 2500, 300), [['.', edge(0), [[edge(1500), edge(2000)], [edge(1000), edge(2500)]]]]);
  t.is(s.stack.counters.TcpExtTCPDSACKOfoSent, 2);
  t.is(s.stack.counters.TcpExtTCPOFOMerge, 1, 'a partial overlap is queued, not merged');
  // The hole filled by a segment reaching into the held data (tcp_ofo_queue): an old-data D-SACK.
  t.deepEqual(data(0, 1200, 400), [['.', edge(2500), [[edge(1000), edge(1200)]]]]);
  t.is(s.stack.counters.TcpExtTCPDSACKOldSent, 1);
  t.is(s.stack.counters.TcpExtTCPOFOQueue, 3, 'counted for each out-of-order segment, duplicate or not (tcp_data_queue_ofo)');
  t.deepEqual(ep.read(), pattern(2500));
});

test('the D-SACK is sent once: the next ACK carries only the SACK blocks', (t) => {
  const { data, edge } = noTs();
  data(1000, 2000, 100);
  t.deepEqual(data(1000, 2000, 200), [['.', edge(0), [[edge(1000), edge(2000)], [edge(1000), edge(2000)]]]]);
  t.deepEqual(data(3000, 4000, 300), [['.', edge(0), [[edge(3000), edge(4000)], [edge(1000), edge(2000)]]]]);
  t.deepEqual(data(0, 1000, 400), [['.', edge(2000), [[edge(3000), edge(4000)]]]]);
});

test('with tcp_dsack=0 a duplicate gets a plain ACK and no counter moves', (t) => {
  const opened = passiveOpen({ ts: false, sysctl: { tcp_dsack: 0 } });
  const { s, peer: p } = opened;
  p.quietUntil(100);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) });
  p.quietUntil(200);
  const sent = p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) });
  t.deepEqual(sent.map((x) => [x.ack, x.opts.sack]), [[p.their(101), undefined]]);
  t.is(s.stack.counters.TcpExtTCPDSACKOldSent, 0);
});

test('with timestamps at most 3 blocks: the D-SACK takes the first, the two most recent SACK blocks follow', (t) => {
  const { s, peer: p } = passiveOpen();
  const seg = (k: number) => ({ flags: 'P.', seq: p.their(1 + 100 * k), ack: p.our(1), data: pattern(100, 100 * k) });
  const block = (k: number): [number, number] => [p.their(1 + 100 * k), p.their(1 + 100 * (k + 1))];
  const sacks = (at: number, k: number) => {
    p.quietUntil(at);
    return p.send(seg(k)).map((x) => x.opts.sack);
  };
  t.deepEqual(sacks(100, 1), [[block(1)]]);
  t.deepEqual(sacks(110, 3), [[block(3), block(1)]]);
  t.deepEqual(sacks(120, 5), [[block(5), block(3), block(1)]]);
  t.deepEqual(sacks(130, 7), [[block(7), block(5), block(3)]], 'three blocks fit beside the timestamps');
  // A duplicate of the oldest block: D-SACK, then that block (now the most recent, tcp_sack_new_ofo_skb), then the next.
  t.deepEqual(sacks(140, 1), [[block(1), block(1), block(7)]]);
  t.is(s.stack.counters.TcpExtTCPDSACKOfoSent, 1);
  t.deepEqual(sacks(150, 9), [[block(9), block(1), block(7)]], 'sent once');
});

/**
 * Five full segments at t = 100, one write each. The tail loss probe is off
 * (tcp_early_retrans = 0), so the first retransmission is the RTO's of the
 * first segment: these tests are about the D-SACKs that answer it.
 */
function fiveSegments() {
  const opened = passiveOpen({ rtt: 50, sysctl: { tcp_early_retrans: 0 } });
  const { peer: p, ep } = opened;
  p.quietUntil(100);
  for (let i = 0; i < 5; i++) {
    ep.write(pattern(1448, 1448 * i));
    p.flush();
  }
  const edge = (i: number) => p.our(1 + 1448 * i);
  return { ...opened, edge };
}

test('sender: a D-SACK below the ACK for a segment we retransmitted is counted (TcpExtTCPDSACKRecv) and is no SACK of new data', (t) => {
  const { s, peer: p, edge } = fiveSegments();
  // Nothing comes back: the RTO retransmits the first segment.
  const rtx = p.runUntil(400);
  t.true(rtx.length >= 1 && rtx[0]!.seq === edge(0), 'the RTO retransmission');
  t.is(s.stack.counters.TcpExtTCPDSACKRecv, 0);
  // The original arrived after all: the peer ACKs the first two and D-SACKs the retransmission.
  p.send({ flags: '.', seq: p.their(1), ack: edge(2), opts: { sack: [[edge(0), edge(1)]] } });
  t.is(s.stack.counters.TcpExtTCPDSACKRecv, 1);
  t.is(s.stack.counters.TcpExtTCPDSACKOfoRecv, 0);
  t.is(s.stack.counters.TcpExtTCPDSACKRecvSegs, 1);
  t.is(s.stack.counters.TcpExtTCPDSACKIgnoredDubious, 0);
  t.is(s.stack.counters.TcpExtTCPDSACKIgnoredOld, 0);
  t.is(s.stack.counters.TcpExtTCPSACKDiscard, 0, 'an accepted D-SACK is not a discarded SACK block');
});

test('sender: a late D-SACK for a retransmission from before the last loss episode is ignored as old (TcpExtTCPDSACKIgnoredOld)', (t) => {
  const { s, peer: p, ep, edge } = fiveSegments();
  p.runUntil(400); // the RTO retransmits the first segment; the loss episode starts at SND.UNA = edge(0)
  p.quietUntil(410);
  p.send({ flags: '.', seq: p.their(1), ack: edge(5) });
  ep.write(pattern(1448, 1448 * 5));
  p.flush();
  const second = p.runUntil(2000); // a second RTO episode, starting at edge(5)
  t.true(second.length >= 1 && second[0]!.seq === edge(5), 'the second RTO retransmission');
  p.send({ flags: '.', seq: p.their(1), ack: edge(6), opts: { sack: [[edge(0), edge(1)]] } });
  t.is(s.stack.counters.TcpExtTCPDSACKRecv, 1);
  t.is(s.stack.counters.TcpExtTCPDSACKIgnoredDubious, 0, 'two retransmissions, one duplicate: not dubious');
  t.is(s.stack.counters.TcpExtTCPDSACKIgnoredOld, 1, 'it ends at or below undo_marker (tcp_is_sackblock_valid)');
  t.is(s.stack.counters.TcpExtTCPSACKDiscard, 0);
});

test('sender: a D-SACK for data never retransmitted is counted, then ignored as dubious and its block discarded (tcp_dsack_seen)', (t) => {
  const { s, peer: p, edge } = fiveSegments();
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: edge(2), opts: { sack: [[edge(0), edge(1)]] } }), []);
  t.is(s.stack.counters.TcpExtTCPDSACKRecv, 1);
  t.is(s.stack.counters.TcpExtTCPDSACKIgnoredDubious, 1);
  t.is(s.stack.counters.TcpExtTCPSACKDiscard, 1);
});

test('sender: a first block inside the second is an out-of-order D-SACK (TcpExtTCPDSACKOfoRecv); the second block still counts', (t) => {
  const { s, peer: p, edge } = fiveSegments();
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: edge(0), opts: { sack: [[edge(1), edge(3)]] } }), []);
  // The first block D-SACKs part of the second: only the second's three segments make the hole lost.
  const sent = p.send({ flags: '.', seq: p.their(1), ack: edge(0), opts: { sack: [[edge(2), edge(3)], [edge(1), edge(4)]] } });
  t.is(s.stack.counters.TcpExtTCPDSACKOfoRecv, 1);
  t.is(s.stack.counters.TcpExtTCPDSACKRecv, 0);
  t.is(s.stack.counters.TcpExtTCPDSACKIgnoredDubious, 1, 'nothing was retransmitted: dubious, then read as an ordinary SACK block');
  t.deepEqual(sent.map((x) => [x.seq, x.len]), [[edge(0), 1448]], 'fast retransmit of the hole');
  t.is(s.stack.counters.TcpExtTCPSackRecovery, 1);
});

test('a retransmitted FIN in CLOSE_WAIT is D-SACKed like data (test/scripts/dsack-fin.pkt)', (t) => {
  const { s, peer: p, ep } = passiveOpen({ ts: false });
  p.quietUntil(100);
  t.deepEqual(p.send({ flags: 'F.', seq: p.their(1), ack: p.our(1) }).map((x) => [x.ack, x.opts.sack]), [[p.their(2), undefined]]);
  t.is(ep.state, 'CLOSE_WAIT');
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'F.', seq: p.their(1), ack: p.our(1) }).map((x) => [x.ack, x.opts.sack]), [[p.their(2), [[p.their(1), p.their(2)]]]]);
  t.is(s.stack.counters.TcpExtTCPDSACKOldSent, 1);
  t.is(s.stack.counters.TcpExtDelayedACKLost, 1);
  t.is(s.stack.drops.TCP_OLD_DATA, 1, 'dropped by tcp_data_queue as old data');
});
