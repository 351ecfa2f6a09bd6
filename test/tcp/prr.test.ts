/**
 * Proportional Rate Reduction (RFC 6937) as Linux's tcp_cwnd_reduction:
 * entering recovery sets ssthresh from the congestion control but leaves
 * cwnd; each ACK then sets cwnd = in flight + sndcnt, proportional to what
 * was delivered while more than ssthresh is in flight, packet conservation
 * below it; the ACK that ends recovery sets cwnd = ssthresh
 * (tcp_end_cwnd_reduction). Reno and CUBIC. The same reductions against the
 * kernel: test/scripts/prr-reno.pkt, test/scripts/prr-two-losses.pkt.
 */
import test from 'ava';
import { segmentExchange } from '../helpers/segment-exchange.ts';
import { passiveOpen, pattern, type Opened, type TcpPeer } from '../helpers/tcp-peer.ts';

const MSS = 1448;

function conn(o: Opened) {
  return o.s.stack.tcp.connections()[0]!;
}

const edge = (p: TcpPeer, i: number) => p.our(1 + MSS * i);

/**
 * The initial window of ten segments at 100 ms, the first lost; the peer
 * SACKs 1, 1-2, ... 1-6 at 150 ms, then ACKs everything. Returns cwnd and
 * ssthresh after each SACK from the third (recovery), and after the full ACK.
 */
function oneLoss(cc: 'reno' | 'cubic') {
  const o = passiveOpen({ rtt: 50, sysctl: { tcp_congestion_control: cc } });
  const { peer: p } = o;
  p.quietUntil(100);
  segmentExchange(o, MSS).writes(10);
  p.quietUntil(150);
  const cwnds: number[] = [];
  const out: number[] = [];
  for (let i = 2; i <= 7; i++) {
    out.push(p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(p, 1), edge(p, i)]] } }).length);
    if (i >= 4) cwnds.push(conn(o).cwnd);
  }
  const ssthresh = conn(o).ssthresh;
  p.quietUntil(200);
  p.send({ flags: '.', seq: p.their(1), ack: edge(p, 10) });
  return { cwnds, out, ssthresh, end: conn(o).cwnd, o };
}

test('Reno: prior_cwnd 10, ssthresh 5; cwnd 7, 6, 5, 5 as SACKs arrive (not 5 at once), 5 when recovery ends', (t) => {
  const r = oneLoss('reno');
  t.is(r.ssthresh, 5);
  // In flight 6 > ssthresh: sndcnt = ceil(5 · prr_delivered / 10) − prr_out.
  t.deepEqual(r.cwnds, [7, 6, 5, 5]);
  t.deepEqual(r.out, [0, 0, 1, 0, 0, 0], 'only the fast retransmission: no new data was queued');
  t.is(r.o.s.stack.counters.TcpExtTCPSackRecovery, 1);
});

test('CUBIC, two holes found at once: in flight 5 < ssthresh 7, cwnd 6 = in flight + 1: one retransmission per delivered segment', (t) => {
  const o = passiveOpen({ rtt: 50 });
  const { peer: p } = o;
  p.quietUntil(100);
  segmentExchange(o, MSS).writes(10);
  p.quietUntil(150);
  const sackOut = (...blocks: Array<[number, number]>) =>
    p
      .send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: blocks.map(([a, b]) => [edge(p, a), edge(p, b)] as [number, number]) } })
      .map((x) => (x.seq - p.our(0)) >>> 0);
  t.deepEqual(sackOut([1, 2]), []);
  t.deepEqual(sackOut([1, 2], [3, 4]), []);
  // Segments 1, 3, 4 SACKed: RACK takes 0 and 2 as lost together.
  t.deepEqual(sackOut([1, 2], [3, 5]), [1]);
  t.is(conn(o).ssthresh, 7);
  t.is(conn(o).cwnd, 6);
  t.is(conn(o).lost, 2);
  t.deepEqual(sackOut([1, 2], [3, 6]), [1 + 2 * MSS], 'the second hole on the next delivery');
  t.is(conn(o).cwnd, 6);
});

test('new data during recovery counts in prr_out: with data queued, Reno sends one new segment per two delivered while above ssthresh', (t) => {
  const o = passiveOpen({ rtt: 50, sysctl: { tcp_congestion_control: 'reno' } });
  const { peer: p, ep } = o;
  p.quietUntil(100);
  ep.write(pattern(16 * MSS));
  t.is(p.flush().length, 10);
  // The SACKs come 2 ms apart: within 1 ms of the last transmission
  // tcp_tso_should_defer would hold a one-segment send in Disorder for the
  // next ACK (output.ts), which is not what this test is about.
  let at = 148;
  const sentAt = (i: number) => {
    p.quietUntil((at += 2));
    return p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(p, 1), edge(p, i)]] } }).map((x) => (x.seq - p.our(0)) >>> 0);
  };
  // Before recovery each SACKed segment makes room in cwnd 10.
  t.deepEqual(sentAt(2), [1 + 10 * MSS]);
  t.deepEqual(sentAt(3), [1 + 11 * MSS]);
  // Recovery: prior_cwnd 10, ssthresh 5, in flight 8 > 5.
  t.deepEqual(sentAt(4), [1], 'sndcnt ceil(5·1/10) − 0 = 1: the retransmission');
  t.deepEqual(sentAt(5), [], 'ceil(5·2/10) − 1 = 0');
  t.deepEqual(sentAt(6), [1 + 12 * MSS], 'ceil(5·3/10) − 1 = 1');
  t.deepEqual(sentAt(7), [], 'ceil(5·4/10) − 2 = 0');
  t.deepEqual(sentAt(8), [1 + 13 * MSS], 'ceil(5·5/10) − 2 = 1');
  t.is(conn(o).ssthresh, 5);
});
