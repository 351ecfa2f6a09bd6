/**
 * The retransmission timer gives up (docs/linux-behaviour.md, Retransmission
 * give-up). tcp_retransmit_timer / tcp_write_timeout / retransmits_timed_out
 * with tcp_model_timeout: tcp_retries2 = 15 → 924.6 s with the 200 ms RTO
 * floor; TCP_USER_TIMEOUT replaces the budget and clamps the RTO; the
 * give-up is tcp_write_err: ETIMEDOUT, TCPAbortOnTimeout, TcpEstabResets, no
 * segment; TCPTimeouts per expiry. Zero-window probes (tcp_probe_timer): 15
 * unanswered → ETIMEDOUT, no RST; any acceptable ACK resets the count, so an
 * answering peer is probed forever. The peer's next segment finds no socket
 * and gets the reply reset (tcp_v4_send_reset). The differential scenario
 * retrans-giveup checks the same against the kernel.
 *
 * Every RTO after the first finds the previous retransmission lost again
 * (tcp_timeout_mark_lost → tcp_mark_skb_lost): TcpExtTCPLostRetransmit, one
 * per retransmission but the last (on Linux 6.18 three RTOs of one segment
 * count 2).
 *
 * Where the budget starts: retrans_stamp is saved by tcp_retransmit_skb()
 * after the retransmission, from the skb's timestamp that the transmission
 * just refreshed, so it is the time of the first retransmission (measured on
 * Linux 6.18 with packetdrill: test/scripts/user-timeout-giveup.pkt, where
 * TCP_USER_TIMEOUT 2000 ms with the first retransmission at 0.4 s gives up
 * at 2.4 s).
 *
 * Without SACK, so that no tail loss probe comes first (tcp_schedule_loss_probe
 * needs SACK; loss-probe.test.ts has the budget counted after a probe).
 */
import test from 'ava';
import type { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { activeOpen, pattern, ACTIVE_WIN, type TcpPeer } from '../helpers/tcp-peer.ts';

const data100 = (p: TcpPeer, at: number) => ({ t: at, flags: 'P.', seq: p.our(1), ack: p.their(1), win: ACTIVE_WIN, len: 100, opts: { ts: [p.stackTs(at), p.tsVal(50)] as [number, number] } });

/** activeOpen (RTO 252 ms, 63 jiffies, after the 50 ms handshake), then 100 bytes at t=100 that the peer never acknowledges. */
function sendLost(sysctl = {}) {
  const o = activeOpen({ rtt: 50, sack: false, sysctl });
  const { peer: p, ep } = o;
  p.quietUntil(100);
  const before = snap(o.s);
  ep.write(pattern(100));
  if (p.flush().length !== 1) throw new Error('no data segment');
  return { ...o, before };
}

test('Retransmission give-up: tcp_retries2=15 → 15 retransmissions (RTO 252 ms doubling to 120 s), ETIMEDOUT at the first expiry 924.6 s after the first retransmission, no segment', (t) => {
  const { s, peer: p, ep, before } = sendLost();
  // The RTO doubles in jiffies (63, 126, ... 32256 jiffies: 129 s) and is then
  // capped at TCP_RTO_MAX; the budget of tcp_model_timeout runs from 352.
  const times = [352, 856, 1864, 3880, 7912, 15976, 32104, 64360, 128872, 248872, 368872, 488872, 608872, 728872, 848872];
  t.deepEqual(p.runUntil(968_871), times.map((at) => data100(p, at)));
  t.is(ep.state, 'ESTABLISHED');
  t.deepEqual(p.runUntil(968_872), [], 'tcp_write_err sends nothing');
  t.is(ep.state, 'CLOSED');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpRetransSegs: 15, TcpExtTCPTimeouts: 16, TcpExtTcpTimeoutRehash: 15, TcpExtTCPAbortOnTimeout: 1, TcpExtTCPLostRetransmit: 14 });
  t.deepEqual([rd(ep), rd(ep), wr(ep)], ['ETIMEDOUT', 'EOF', 'EPIPE']);
  t.deepEqual(rsts(s.trace), []);
  // The peer learns of it only when it sends something: the no-socket reply reset, RST seq = SEG.ACK.
  p.quietUntil(1_000_000);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(101), data: pattern(10) }), [{ flags: 'R', seq: p.our(101), ack: 0, win: 0, len: 0, opts: {} }]);
  t.deepEqual(rsts(s.trace).map((e) => [e.path, e.reason]), [['noSocket', 'NO_SOCKET']]);
});

test('Retransmission give-up: tcp_retries2=3 → budget 3 s (15 × 200 ms) from the first retransmission, checked at the next RTO: ETIMEDOUT at 3.88 s', (t) => {
  const { s, peer: p, ep, before } = sendLost({ tcp_retries2: 3 });
  t.deepEqual(p.runUntil(3879), [352, 856, 1864].map((at) => data100(p, at)));
  t.deepEqual(p.runUntil(3880), []);
  t.is(ep.getError(), 'ETIMEDOUT');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpRetransSegs: 3, TcpExtTCPTimeouts: 4, TcpExtTcpTimeoutRehash: 3, TcpExtTCPAbortOnTimeout: 1, TcpExtTCPLostRetransmit: 2 });
  t.deepEqual(rsts(s.trace), []);
});

test('Retransmission give-up: TCP_USER_TIMEOUT=3000 → the last RTO is clamped, ETIMEDOUT exactly 3 s after the first retransmission, no segment', (t) => {
  const o = activeOpen({ rtt: 50, sack: false });
  const { s, peer: p, ep } = o;
  ep.setUserTimeout(3000);
  p.quietUntil(100);
  const before = snap(s);
  ep.write(pattern(100));
  t.is(p.flush().length, 1);
  t.deepEqual(p.runUntil(3351), [352, 856, 1864].map((at) => data100(p, at)));
  t.is(ep.state, 'ESTABLISHED');
  t.deepEqual(p.runUntil(3352), []);
  t.is(ep.state, 'CLOSED');
  t.is(rd(ep), 'ETIMEDOUT');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpRetransSegs: 3, TcpExtTCPTimeouts: 4, TcpExtTcpTimeoutRehash: 3, TcpExtTCPAbortOnTimeout: 1, TcpExtTCPLostRetransmit: 2 });
  t.deepEqual(rsts(s.trace), []);
});

/** The peer acknowledges 100 bytes and closes its window at 150; 100 more bytes wait from 200. */
function zeroWindow() {
  const o = activeOpen({ rtt: 50, sack: false });
  const { peer: p, ep } = o;
  p.quietUntil(100);
  ep.write(pattern(100));
  p.flush();
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(101), win: 0 });
  p.quietUntil(200);
  ep.write(pattern(100, 100));
  if (p.flush().length !== 0) throw new Error('sent into a zero window');
  return o;
}

const probeAt = (p: TcpPeer, at: number, ecrAt: number) => ({ t: at, flags: '.', seq: p.our(100), ack: p.their(1), win: ACTIVE_WIN, len: 0, opts: { ts: [p.stackTs(at), p.tsVal(ecrAt)] as [number, number] } });
/** tcp_probe0_base (the RTO, 252 ms) from the write at 200, doubling in jiffies to TCP_RTO_MAX. */
const PROBE_TIMES = [452, 956, 1964, 3980, 8012, 16076, 32204, 64460, 128972, 248972, 368972, 488972, 608972, 728972, 848972];

test('Retransmission give-up: zero-window probes unanswered ×15 (tcp_retries2) → ETIMEDOUT at the 16th expiry, no RST', (t) => {
  const { s, peer: p, ep } = zeroWindow();
  const before = snap(s);
  t.deepEqual(p.runUntil(968_971), PROBE_TIMES.map((at) => probeAt(p, at, 150)));
  t.is(ep.state, 'ESTABLISHED');
  t.deepEqual(p.runUntil(968_972), [], 'give-up sends nothing');
  t.is(ep.state, 'CLOSED');
  t.is(rd(ep), 'ETIMEDOUT');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpExtTCPWinProbe: 15, TcpExtTCPAbortOnTimeout: 1 });
  t.deepEqual(rsts(s.trace), []);
});

test('Retransmission give-up: zero-window probes answered with window 0 → probed forever (RFC 1122 §4.2.2.17): 30 probes, no give-up', (t) => {
  const { s, peer: p, ep } = zeroWindow();
  const before = snap(s);
  let ecr = 150;
  let last = 0;
  for (let i = 0; i < 30; i++) {
    const next = s.stack.nextDeadline();
    const [probe, ...rest] = p.runUntil(next);
    t.deepEqual(rest, []);
    t.deepEqual(probe, probeAt(p, next, ecr));
    t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(101), win: 0 }), []);
    ecr = probe!.t;
    last = probe!.t;
  }
  t.is(last, 848_972 + 15 * 120_000, 'the interval stays at 120 s');
  t.is(ep.state, 'ESTABLISHED');
  t.deepEqual(moved(s, before), { TcpExtTCPWinProbe: 30 });
  // The window opens: the data goes out at once.
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(101), win: 100 }).map((x) => [x.flags, x.seq, x.len]), [['P.', p.our(101), 100]]);
});

test('Retransmission give-up: TCP_USER_TIMEOUT also bounds zero-window probing from the first probe (tcp_probe_timer)', (t) => {
  const { s, peer: p, ep } = zeroWindow();
  (ep as TcpEndpoint).setUserTimeout(3000);
  const before = snap(s);
  t.deepEqual(p.runUntil(3451), [452, 956, 1964].map((at) => probeAt(p, at, 150)));
  // Linux: the probe timer is clamped to what remains of the user timeout (tcp_clamp_probe0_to_user_timeout): 452 + 3000.
  t.deepEqual(p.runUntil(3452), []);
  t.is(ep.getError(), 'ETIMEDOUT');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpExtTCPWinProbe: 3, TcpExtTCPAbortOnTimeout: 1 });
});
