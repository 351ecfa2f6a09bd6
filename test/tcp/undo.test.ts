/**
 * Undo of a window reduction that proves spurious, as Linux 6.18 does it
 * (stack/tcp/undo.ts; docs/linux-behaviour.md, TCP basics): by D-SACKs of
 * every retransmission (tcp_try_undo_dsack, tcp_try_undo_recovery), by an
 * echoed timestamp older than the retransmission (Eifel, tcp_packet_delayed:
 * full, partial and loss undo). The exchanges are those of
 * test/scripts/undo-*.pkt, confirmed with packetdrill on the kernel; here
 * the window and the counters are checked as well.
 */
import test from 'ava';
import { INFINITE_SSTHRESH } from '../../stack/tcp/congestion/newreno.ts';
import { seqDiff } from '../../stack/tcp/seq.ts';
import { segmentExchange } from '../helpers/segment-exchange.ts';
import { passiveOpen, type Opts } from '../helpers/tcp-peer.ts';

const SEG = 1000;

/**
 * A listener's child with CUBIC, the handshake's third ACK at t = 100 ms
 * (SRTT 100 ms, RTO 300 ms), a 65535-byte window, segments of 1000 bytes
 * (MSS 1000, 1012 with timestamps), the tail loss probe off; ten segments
 * written and sent at t = 100.
 */
function tenSegments(o: { ts?: boolean } = {}) {
  const ts = o.ts ?? false;
  const opened = passiveOpen({ mss: ts ? 1012 : 1000, ts, ws: false, win: 65535, rtt: 100, sysctl: { tcp_early_retrans: 0 } });
  const x = segmentExchange(opened, SEG);
  const initial = x.writes(10);
  return { ...opened, ...x, initial };
}

/** Three SACKs above the first segment at t = 200 (with timestamps, echoing the originals' TSval): the fast retransmission. */
function fastRetransmit(x: ReturnType<typeof tenSegments>, ts?: [number, number]) {
  const sack = (n: number): Opts => ({ sack: [[x.edge(1), x.edge(1 + n)]], ...(ts ? { ts } : {}) });
  return [...x.ack(200, 0, sack(1)), ...x.ack(200, 0, sack(2)), ...x.ack(200, 0, sack(3))];
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => [from + i, SEG]);

test('a late D-SACK of the only retransmission undoes fast recovery: TcpExtTCPDSACKUndo, cwnd 8 → 10, ssthresh infinite again (undo-dsack.pkt)', (t) => {
  const x = tenSegments();
  const mib = x.s.stack.counters;
  t.deepEqual(x.initial, range(0, 10));
  t.deepEqual(fastRetransmit(x), [[0, SEG]]);
  // The full ACK ends recovery: ssthresh 7 (CUBIC), cwnd 7 + 1.
  t.deepEqual(x.ack(300, 10), []);
  t.like(x.ep.info(), { cwnd: 8, ssthresh: 7 });
  t.is(mib.TcpExtTCPFullUndo, 0, 'no timestamps, one retransmission not yet D-SACKed: no undo at the full ACK');
  // The original was only late: its duplicate is D-SACKed.
  t.deepEqual(x.ack(300, 10, { sack: [[x.edge(0), x.edge(1)]] }), []);
  t.is(mib.TcpExtTCPDSACKRecv, 1);
  t.is(mib.TcpExtTCPDSACKUndo, 1);
  t.is(mib.TcpExtTCPFullUndo, 0);
  t.like(x.ep.info(), { cwnd: 10, ssthresh: INFINITE_SSTHRESH }, 'tcp_reno_undo_cwnd: max(8, prior_cwnd 10); prior_ssthresh');
  t.deepEqual(x.writes(11), range(10, 10), 'ten at once, the 11th waits');
  // A second D-SACK of the same data finds nothing left to undo.
  t.deepEqual(x.ack(300, 10, { sack: [[x.edge(0), x.edge(1)]] }), []);
  t.is(mib.TcpExtTCPDSACKUndo, 1);
});

test('a D-SACK of the only retransmission during recovery undoes and reopens: TcpExtTCPDSACKUndo, cwnd 10 (undo-dsack-recovery.pkt)', (t) => {
  const x = tenSegments();
  const mib = x.s.stack.counters;
  t.deepEqual(fastRetransmit(x), [[0, SEG]]);
  // The late original fills the hole; the retransmission then arrives too.
  t.deepEqual(x.ack(250, 4), []);
  t.is(mib.TcpExtTCPDSACKUndo, 0);
  t.deepEqual(x.ack(300, 4, { sack: [[x.edge(0), x.edge(1)]] }), []);
  t.is(mib.TcpExtTCPDSACKUndo, 1);
  t.is(mib.TcpExtTCPFullUndo, 0);
  t.like(x.ep.info(), { cwnd: 10, ssthresh: INFINITE_SSTHRESH });
  t.deepEqual(x.writes(5), range(10, 4), 'six in flight: four at once');
  t.deepEqual(x.ack(400, 5), [[14, SEG]]);
  t.is(mib.TcpExtTCPSackRecovery, 1, 'nothing left presumed lost: no new recovery');
  t.is(mib.TcpRetransSegs, 1);
});

test('the ACK that ends recovery D-SACKs the retransmission: TcpExtTCPFullUndo, and slow start by 7 + the duplicate: 18 at once (undo-dsack-full-ack.pkt)', (t) => {
  const x = tenSegments();
  const mib = x.s.stack.counters;
  t.deepEqual(fastRetransmit(x), [[0, SEG]]);
  t.deepEqual(x.ack(300, 10, { sack: [[x.edge(0), x.edge(1)]] }), []);
  t.is(mib.TcpExtTCPFullUndo, 1);
  t.is(mib.TcpExtTCPDSACKUndo, 0, 'undone by tcp_try_undo_recovery, before tcp_try_undo_dsack could');
  t.like(x.ep.info(), { cwnd: 18, ssthresh: INFINITE_SSTHRESH });
  t.deepEqual(x.writes(19), range(10, 18));
});

test('Eifel: the full ACK echoes the original TSval, older than the retransmission: TcpExtTCPFullUndo, cwnd 17; echoing the retransmission undoes nothing (undo-eifel.pkt)', (t) => {
  // Echoing the retransmission's TSval: the hole was filled by the retransmission.
  const y = tenSegments({ ts: true });
  t.deepEqual(fastRetransmit(y, [y.peer.tsVal(200), y.peer.stackTs(100)]), [[0, SEG]]);
  t.deepEqual(y.ack(300, 10, { ts: [y.peer.tsVal(300), y.peer.stackTs(200)] }), []);
  t.is(y.s.stack.counters.TcpExtTCPFullUndo, 0);
  t.like(y.ep.info(), { cwnd: 8, ssthresh: 7 });

  // Echoing the original's: it arrived, the retransmission was spurious.
  const x = tenSegments({ ts: true });
  const mib = x.s.stack.counters;
  t.deepEqual(fastRetransmit(x, [x.peer.tsVal(200), x.peer.stackTs(100)]), [[0, SEG]]);
  t.deepEqual(x.ack(300, 10, { ts: [x.peer.tsVal(300), x.peer.stackTs(100)] }), []);
  t.is(mib.TcpExtTCPFullUndo, 1);
  t.is(mib.TcpExtTCPPartialUndo, 0);
  t.like(x.ep.info(), { cwnd: 17, ssthresh: INFINITE_SSTHRESH }, 'max(7, 10), then slow start by the 7 newly delivered');
  t.deepEqual(x.writes(18), range(10, 17));
});

test('Eifel partial undo: a partial ACK echoing the original TSval reopens the connection: TcpExtTCPPartialUndo, nothing presumed lost, cwnd 12 (undo-partial.pkt)', (t) => {
  const x = tenSegments({ ts: true });
  const mib = x.s.stack.counters;
  t.deepEqual(fastRetransmit(x, [x.peer.tsVal(200), x.peer.stackTs(100)]), [[0, SEG]]);
  // Up to segment 5, below high_seq; the retransmission is acknowledged, so none is in flight.
  t.deepEqual(x.ack(300, 5, { ts: [x.peer.tsVal(300), x.peer.stackTs(100)] }), []);
  t.is(mib.TcpExtTCPPartialUndo, 1);
  t.is(mib.TcpExtTCPFullUndo, 0);
  t.like(x.ep.info(), { cwnd: 12, ssthresh: INFINITE_SSTHRESH }, 'max(7, 10), then slow start by the 2 newly delivered');
  t.deepEqual(x.writes(8), range(10, 7), 'five in flight, seven more');
  // The rest is acknowledged normally: no retransmission, no second recovery.
  t.deepEqual(x.ack(400, 10, { ts: [x.peer.tsVal(400), x.peer.stackTs(100)] }), [[17, SEG]]);
  t.is(mib.TcpRetransSegs, 1);
  t.is(mib.TcpExtTCPSackRecovery, 1);
});

test('loss undo by timestamps: the ACK after an RTO echoes the original TSval: TcpExtTCPLossUndo, not TcpExtTCPSpuriousRTOs; cwnd 11 (undo-loss-eifel.pkt)', (t) => {
  const x = tenSegments({ ts: true });
  const mib = x.s.stack.counters;
  const rto = x.peer.runUntil(400);
  t.deepEqual(rto.map((r) => [r.t, seqDiff(r.seq, x.edge(0)) / SEG, r.len]), [[400, 0, SEG]], 'the RTO, 300 ms after the burst');
  t.like(x.ep.info(), { cwnd: 1, ssthresh: 7 });
  // Only the first is acknowledged, echoing the original's TSval.
  t.deepEqual(x.ack(450, 1, { ts: [x.peer.tsVal(450), x.peer.stackTs(100)] }), []);
  t.is(mib.TcpExtTCPLossUndo, 1);
  t.is(mib.TcpExtTCPSpuriousRTOs, 0);
  t.like(x.ep.info(), { cwnd: 11, ssthresh: INFINITE_SSTHRESH });
  t.deepEqual(x.writes(3), range(10, 2), 'nine in flight, nothing presumed lost: two new segments, no retransmission');
  t.is(mib.TcpRetransSegs, 1);
});
