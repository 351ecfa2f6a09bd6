/**
 * The tail loss probe (RFC 8985 §7) as Linux 6.18 with tcp_early_retrans=3:
 * when the PTO fires (tcp_schedule_loss_probe), new data or the last
 * segment goes out (tcp_send_loss_probe), the RTO then runs in full from
 * it, and the ACKs that follow end the episode (tcp_process_tlp_ack). Exact
 * virtual times; docs/linux-behaviour.md, Tail loss probe, and
 * test/scripts/tlp-*.pkt for the same exchanges confirmed on Linux.
 */
import test from 'ava';
import { SocketError } from '../../stack/socket/types.ts';
import { passiveOpen, pattern, type Opened, type TcpPeer } from '../helpers/tcp-peer.ts';

const MSS = 1448;

/** [time, flags, relative sequence number, length] of what the stack sends until `until`. */
function sent(p: TcpPeer, until: number): Array<[number, string, number, number]> {
  return p.runUntil(until).map((x) => [x.t, x.flags, (x.seq - p.our(0)) >>> 0, x.len]);
}

function conn(o: Opened) {
  return o.s.stack.tcp.connections()[0]!;
}

test('PTO with new data queued: the probe is the next new segment, sent although the cwnd is full; the RTO follows in full from it', (t) => {
  // SRTT 50 ms, RTO 252 ms (63 jiffies). Ten segments fill the initial
  // cwnd; the eleventh waits. PTO = 2·SRTT + 8 ms (TCP_TIMEOUT_MIN, 2
  // jiffies: more than one packet in flight) = 108 ms.
  const o = passiveOpen({ rtt: 50 });
  const { s, peer: p, ep } = o;
  p.quietUntil(100);
  ep.write(pattern(11 * MSS));
  t.is(p.flush().length, 10);
  t.deepEqual(sent(p, 1000), [
    [208, 'P.', 1 + 10 * MSS, MSS],
    [460, '.', 1, MSS],
    [964, '.', 1, MSS],
  ]);
  t.is(s.stack.counters.TcpExtTCPLossProbes, 1);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 2);
  t.is(s.stack.counters.TcpRetransSegs, 2, 'the probe was new data, no retransmission');
});

test('PTO with nothing new to send: the probe retransmits the last segment; the RTO then retransmits the head', (t) => {
  const o = passiveOpen({ rtt: 50 });
  const { s, peer: p, ep } = o;
  p.quietUntil(100);
  ep.write(pattern(2 * MSS));
  t.deepEqual(
    p.flush().map((x) => [x.flags, x.len]),
    [
      ['.', MSS],
      ['P.', MSS],
    ],
  );
  t.deepEqual(sent(p, 1000), [
    [208, 'P.', 1 + MSS, MSS],
    [460, '.', 1, MSS],
    [964, '.', 1, MSS],
  ]);
  t.is(s.stack.counters.TcpExtTCPLossProbes, 1);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 2);
  t.is(s.stack.counters.TcpRetransSegs, 3);
});

test('tcp_early_retrans=0: no loss probe, the first retransmission is the RTO', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50, sysctl: { tcp_early_retrans: 0 } });
  p.quietUntil(100);
  ep.write(pattern(2 * MSS));
  p.flush();
  t.deepEqual(sent(p, 1000), [
    [352, '.', 1, MSS],
    [856, '.', 1, MSS],
  ]);
  t.is(s.stack.counters.TcpExtTCPLossProbes, 0);
});

test('no loss probe without SACK (tcp_is_sack)', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50, sack: false });
  p.quietUntil(100);
  ep.write(pattern(100));
  p.flush();
  t.deepEqual(sent(p, 400), [[352, 'P.', 1, 100]]);
  t.is(s.stack.counters.TcpExtTCPLossProbes, 0);
});

test('one segment in flight: PTO = 2·SRTT + rto_min (the peer may delay its ACK) when that is before the RTO', (t) => {
  // A handshake RTT of 50 ms, then a sample of 400 ms (tcp_rtt_estimator):
  // SRTT 93.75 ms, mdev 4·106.25 = 425 ms, which RTTVAR follows at once;
  // RTO = 93.75 + 425 = 518.75 ms → 130 jiffies, 520 ms; the PTO for one
  // packet 2·93.75 = 187.5 ms → 47 jiffies, + 200 ms = 388 ms.
  const o = passiveOpen({ rtt: 50 });
  const { s, peer: p, ep } = o;
  p.quietUntil(100);
  ep.write(pattern(10));
  p.flush();
  // The first PTO is capped by the RTO (min(300, 252)): the probe at 352.
  t.deepEqual(sent(p, 499), [[352, 'P.', 1, 10]]);
  p.quietUntil(500);
  // Both copies arrived: the ACK D-SACKs the probe, which ends the episode (no loss).
  p.send({ flags: '.', seq: p.their(1), ack: p.our(11), opts: { ts: [p.tsVal(), p.stackTs(100)], sack: [[p.our(1), p.our(11)]] } });
  t.is(conn(o).rto, 520);
  p.quietUntil(600);
  ep.write(pattern(100, 10));
  t.is(p.flush().length, 1);
  t.deepEqual(sent(p, 1600), [
    [988, 'P.', 11, 100],
    [1508, 'P.', 11, 100],
  ]);
  t.is(s.stack.counters.TcpExtTCPLossProbes, 2);
  t.is(s.stack.counters.TcpExtTCPLossProbeRecovery, 0);
});

test('PTO capped by what is left of the RTO: new data sent late in the RTO probes at the RTO\'s time', (t) => {
  // SRTT 100 ms, RTO 300 ms. The first segment at 100 arms the RTO for 400;
  // the second at 250 gives PTO = min(2·100 + 8, 400 − 250) = 150 ms, which
  // is 37.5 jiffies, rounded up to 38: 152 ms (tcp_rto_delta_us then
  // usecs_to_jiffies, in tcp_rearm_rto and tcp_schedule_loss_probe alike).
  const { s, peer: p, ep } = passiveOpen({ rtt: 100 });
  p.quietUntil(100);
  ep.write(pattern(MSS));
  p.flush();
  p.quietUntil(250);
  ep.write(pattern(100, MSS));
  t.is(p.flush().length, 1);
  t.deepEqual(sent(p, 1000), [
    [402, 'P.', 1 + MSS, 100],
    [702, 'P.', 1, MSS],
  ]);
  t.is(s.stack.counters.TcpExtTCPLossProbes, 1);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 1);
});

/**
 * The same exchange on Linux 6.18 with reno (MSS 1000, RTT 100 ms): after
 * the ACK of the probe's SND.NXT TCPLossProbeRecovery is still 0 and cwnd
 * 10; after the ACK beyond it, 1, with cwnd and ssthresh 5.
 */
test('the probe repaired a loss: an ACK beyond the probe\'s SND.NXT reduces the cwnd once (TcpExtTCPLossProbeRecovery)', (t) => {
  // Reno, as in the kernel run above: its ssthresh halves the cwnd.
  const o = passiveOpen({ rtt: 50, sysctl: { tcp_congestion_control: 'reno' } });
  const { s, peer: p, ep } = o;
  p.quietUntil(100);
  ep.write(pattern(2 * MSS));
  p.flush(); // the second segment is lost
  p.quietUntil(150);
  // The first is acknowledged: one packet in flight, PTO min(2·50 + 200, RTO 252).
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1 + MSS), opts: { ts: [p.tsVal(), p.stackTs(100)] } });
  t.deepEqual(sent(p, 449), [[402, 'P.', 1 + MSS, MSS]]);
  // The ACK of the probe reaches its SND.NXT but not beyond: still ambiguous.
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1 + 2 * MSS), opts: { ts: [p.tsVal(), p.stackTs(402)] } });
  t.is(s.stack.counters.TcpExtTCPLossProbeRecovery, 0);
  const cwnd = conn(o).cwnd;
  p.quietUntil(500);
  ep.write(pattern(100));
  t.is(p.flush().length, 1);
  p.quietUntil(550);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(101 + 2 * MSS), opts: { ts: [p.tsVal(), p.stackTs(500)] } });
  t.is(s.stack.counters.TcpExtTCPLossProbeRecovery, 1);
  t.is(conn(o).cwnd, Math.max(Math.floor(cwnd / 2), 2));
  t.is(s.stack.counters.TcpExtTCPLossProbes, 1);
});

test('one probe per tail: while the probe is unanswered the next PTO sends nothing and the RTO keeps its time', (t) => {
  const o = passiveOpen({ rtt: 50 });
  const { s, peer: p, ep } = o;
  p.quietUntil(100);
  ep.write(pattern(10));
  p.flush();
  t.deepEqual(sent(p, 449), [[352, 'P.', 1, 10]]);
  // The ACK reaches the probe's SND.NXT, neither beyond nor a duplicate: the episode goes on.
  p.send({ flags: '.', seq: p.their(1), ack: p.our(11), opts: { ts: [p.tsVal(), p.stackTs(352)] } });
  p.quietUntil(500);
  ep.write(pattern(2 * MSS, 10));
  t.is(p.flush().length, 2);
  // Samples of 50 and 97 ms: SRTT 55.875 ms, RTO 255.875 ms → 64 jiffies,
  // 256 ms. The PTO at 500 + 112 (2·SRTT, 28 jiffies) + 8 = 620 sends
  // nothing; the RTO at 756 retransmits the head.
  t.deepEqual(sent(p, 1000), [[756, '.', 11, MSS]]);
  t.is(s.stack.counters.TcpExtTCPLossProbes, 1);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 1);
});

test('TCP_USER_TIMEOUT after a probe: the budget runs from the first RTO, not from the probe', (t) => {
  // Probe at 352, RTOs at 604 (retrans_stamp) and 1108; the next, at 2116,
  // is clamped to 604 + 1000 (496 ms left: 124 jiffies) and gives up there.
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  ep.setUserTimeout(1000);
  p.quietUntil(100);
  ep.write(pattern(100));
  p.flush();
  t.deepEqual(sent(p, 1603), [
    [352, 'P.', 1, 100],
    [604, 'P.', 1, 100],
    [1108, 'P.', 1, 100],
  ]);
  t.is(ep.state, 'ESTABLISHED');
  t.deepEqual(sent(p, 1604), []);
  t.is(ep.state, 'CLOSED');
  const error = t.throws(() => ep.read(), { instanceOf: SocketError });
  t.is(error?.code, 'ETIMEDOUT');
  t.is(s.stack.counters.TcpExtTCPLossProbes, 1);
});
