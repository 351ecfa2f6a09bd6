/**
 * F-RTO (RFC 5682 §3.1, SACK-enhanced, as Linux 6.18 with net.ipv4.tcp_frto
 * 2; stack/tcp/frto.ts): after an RTO, the ACK of its retransmission lets
 * new data out instead of more retransmissions; an ACK of data never
 * retransmitted then shows the RTO spurious (undo, TcpExtTCPSpuriousRTOs),
 * SACKs or duplicate ACKs show the loss real (conventional recovery). The
 * exchanges are those of test/scripts/frto-*.pkt, confirmed with
 * packetdrill on the kernel; the tcp_frto=0 one was run there too.
 */
import test from 'ava';
import type { Sysctls } from '../../stack/sysctl.ts';
import { INFINITE_SSTHRESH } from '../../stack/tcp/congestion/newreno.ts';
import { seqDiff } from '../../stack/tcp/seq.ts';
import { segmentExchange } from '../helpers/segment-exchange.ts';
import { passiveOpen } from '../helpers/tcp-peer.ts';

const SEG = 1000;

/**
 * A listener's child with CUBIC, no timestamps (so only F-RTO can tell a
 * spurious RTO), the third ACK at t = 100 (RTO 300 ms), MSS 1000, the tail
 * loss probe off; eleven one-segment writes at t = 100, ten sent, and the
 * RTO at t = 400 retransmitting the first.
 */
function afterRto(o: { sack?: boolean; sysctl?: Partial<Sysctls> } = {}) {
  const opened = passiveOpen({ mss: 1000, ts: false, sack: o.sack ?? true, ws: false, win: 65535, rtt: 100, sysctl: { tcp_early_retrans: 0, ...o.sysctl } });
  const { peer: p } = opened;
  const { edge, writes, ack } = segmentExchange(opened, SEG);
  const initial = writes(11);
  const rto = p.runUntil(400).map((r) => [r.t, seqDiff(r.seq, edge(0)) / SEG, r.len]);
  return { ...opened, edge, writes, ack, initial, rto };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => [from + i, SEG]);

test('spurious RTO: the ACK of the retransmission sends new data, the ACK of never-retransmitted data undoes: TcpExtTCPSpuriousRTOs, cwnd 12 (frto-spurious-rto.pkt)', (t) => {
  const x = afterRto();
  const mib = x.s.stack.counters;
  t.deepEqual(x.initial, range(0, 10), 'the 11th waits for cwnd');
  t.deepEqual(x.rto, [[400, 0, SEG]]);
  t.like(x.ep.info(), { cwnd: 1, ssthresh: 7 });
  // Step 2.b: new data, not 1001:2001 and 2001:3001.
  t.deepEqual(x.ack(450, 1), [[10, SEG]]);
  t.like(x.ep.info(), { cwnd: 2 });
  t.is(mib.TcpExtTCPLossUndo, 0);
  // Step 3.b: segments 1 and 2, sent once before the RTO, are acknowledged.
  t.deepEqual(x.ack(460, 3), []);
  t.is(mib.TcpExtTCPSpuriousRTOs, 1);
  t.is(mib.TcpExtTCPLossUndo, 1);
  t.like(x.ep.info(), { cwnd: 12, ssthresh: INFINITE_SSTHRESH }, 'max(2, prior_cwnd 10), then +2 in slow start');
  t.deepEqual(x.writes(5), range(11, 4), 'eight in flight, none presumed lost: four more');
  t.deepEqual(x.ack(470, 4), [[15, SEG]]);
  t.is(mib.TcpRetransSegs, 1, 'only the RTO retransmitted');
});

test('real loss: SACKs of only the new data end F-RTO, conventional recovery retransmits; nothing undone (frto-real-loss.pkt)', (t) => {
  const x = afterRto();
  const mib = x.s.stack.counters;
  t.deepEqual(x.ack(450, 1), [[10, SEG]]);
  t.deepEqual(x.ack(460, 1, { sack: [[x.edge(10), x.edge(11)]] }), [
    [1, SEG],
    [2, SEG],
  ]);
  t.deepEqual(x.ack(510, 3, { sack: [[x.edge(10), x.edge(11)]] }), range(3, 4));
  t.is(mib.TcpExtTCPSpuriousRTOs, 0);
  t.is(mib.TcpExtTCPLossUndo, 0);
  t.like(x.ep.info(), { cwnd: 4, ssthresh: 7 });
});

test('real loss without SACK: a duplicate ACK after the new data ends F-RTO; it counts as delivered (frto-reno-real-loss.pkt)', (t) => {
  const x = afterRto({ sack: false });
  const mib = x.s.stack.counters;
  t.deepEqual(x.ack(450, 1), [[10, SEG]]);
  t.deepEqual(x.ack(460, 1), [
    [1, SEG],
    [2, SEG],
  ]);
  // The duplicate already counted one of the two this ACK covers: cwnd 3, one in flight.
  t.deepEqual(x.ack(510, 3), [
    [3, SEG],
    [4, SEG],
  ]);
  t.deepEqual(x.ack(520, 5), range(5, 4));
  t.is(mib.TcpExtTCPSpuriousRTOs, 0);
  t.is(mib.TcpExtTCPLossUndo, 0);
});

test('tcp_frto=0: the ACK of the retransmission retransmits the next two and nothing is undone; any non-zero value is on', (t) => {
  const off = afterRto({ sysctl: { tcp_frto: 0 } });
  t.deepEqual(off.ack(450, 1), [
    [1, SEG],
    [2, SEG],
  ]);
  t.deepEqual(off.ack(460, 3), range(3, 4));
  t.is(off.s.stack.counters.TcpExtTCPSpuriousRTOs, 0);
  t.is(off.s.stack.counters.TcpExtTCPLossUndo, 0);
  t.like(off.ep.info(), { cwnd: 4, ssthresh: 7 });

  const on = afterRto({ sysctl: { tcp_frto: 255 } });
  t.deepEqual(on.ack(450, 1), [[10, SEG]]);
  t.deepEqual(on.ack(460, 3), []);
  t.is(on.s.stack.counters.TcpExtTCPSpuriousRTOs, 1);
});
