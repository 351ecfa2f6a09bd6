/**
 * The sequence test a request sock (SYN_RECV before accept) applies to every
 * segment, at each edge of its window: Linux's tcp_check_req with
 * tcp_in_window (net/ipv4/tcp_minisocks.c; docs/linux-behaviour.md, Bad ACKs
 * in SYN_SENT, LISTEN and SYN_RECV). With RCV.NXT = peer ISN + 1 and
 * RCV.WND the window of our SYN-ACK, a segment is acceptable when it starts
 * at RCV.NXT, or ends (SYN and FIN counted, RST not) after RCV.NXT and
 * starts before RCV.NXT + RCV.WND, or is empty and sits exactly at
 * RCV.NXT + RCV.WND.
 * - A RST exactly at RCV.NXT ends the request silently: TcpAttemptFails,
 *   TcpExtEmbryonicRsts.
 * - A RST elsewhere in the window draws a challenge ACK <SEQ=ISS+1>
 *   <ACK=RCV.NXT> (RFC 5961 §3.2; TcpExtTCPChallengeACK), at most one per
 *   tcp_invalid_ratelimit on the request's out-of-window clock
 *   (TcpExtTCPACKSkippedChallenge); the request lives
 *   (test/scripts/request-rst-in-window.pkt).
 * - A RST outside the window, including one ending exactly at RCV.NXT, is
 *   dropped silently (test/scripts/request-rst-window.pkt).
 * - Any other segment outside the window gets <SEQ=ISS+1><ACK=RCV.NXT> and
 *   creates no child: one carrying data or FIN always, any other once per
 *   tcp_invalid_ratelimit (tcp_oow_rate_limited; TcpExtTCPACKSkippedSynRecv).
 * The right-edge cases were run on Linux 6.18.44 with packetdrill too.
 */
import test from 'ava';
import { moved, snap } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { TcpPeer, type Out } from '../helpers/tcp-peer.ts';

/** A listener with one request from the peer's SYN (ISN 1000, so RCV.NXT 1001); RCV.WND read from the SYN-ACK. */
function pending() {
  const s = testStack();
  const l = s.stack.tcp.socket();
  l.bind(0, 80);
  l.listen(16);
  const p = new TcpPeer(s);
  const [synAck] = p.send({ flags: 'S', seq: 1000, opts: { mss: 1460 } });
  if (synAck?.flags !== 'S.') throw new Error('no SYN-ACK');
  // No window scaling on the SYN: the SYN-ACK's window field is RCV.WND itself.
  const right = 1001 + synAck.win;
  p.quietUntil(50);
  return { s, l, p, right };
}

type Verdict = 'reset' | 'challenged' | 'kept' | 'acked';

interface Edge {
  name: string;
  seg: (p: TcpPeer, right: number) => Out;
  verdict: Verdict;
}

const EDGES: Edge[] = [
  { name: 'RST seq = RCV.NXT', seg: () => ({ flags: 'R', seq: 1001 }), verdict: 'reset' },
  { name: 'RST seq = RCV.NXT − 1, empty', seg: () => ({ flags: 'R', seq: 1000 }), verdict: 'kept' },
  { name: 'RST seq = RCV.NXT − 1 with 1 byte (ends exactly at RCV.NXT)', seg: () => ({ flags: 'R', seq: 1000, data: 1 }), verdict: 'kept' },
  { name: 'RST seq = RCV.NXT − 1 with 2 bytes (ends after RCV.NXT)', seg: () => ({ flags: 'R', seq: 1000, data: 2 }), verdict: 'challenged' },
  { name: 'RST,ACK seq = RCV.NXT − 1 with 1 byte', seg: (p) => ({ flags: 'R.', seq: 1000, ack: p.our(1), data: 1 }), verdict: 'kept' },
  { name: 'RST in the window, not at RCV.NXT', seg: () => ({ flags: 'R', seq: 6001 }), verdict: 'challenged' },
  { name: 'RST seq = RCV.NXT + RCV.WND − 1', seg: (_p, right) => ({ flags: 'R', seq: right - 1 }), verdict: 'challenged' },
  { name: 'RST seq = RCV.NXT + RCV.WND, empty', seg: (_p, right) => ({ flags: 'R', seq: right }), verdict: 'challenged' },
  { name: 'RST seq = RCV.NXT + RCV.WND with 1 byte', seg: (_p, right) => ({ flags: 'R', seq: right, data: 1 }), verdict: 'kept' },
  { name: 'RST seq = RCV.NXT + RCV.WND + 1', seg: (_p, right) => ({ flags: 'R', seq: right + 1 }), verdict: 'kept' },
  { name: 'ACK seq = RCV.NXT − 1, empty', seg: (p) => ({ flags: '.', seq: 1000, ack: p.our(1) }), verdict: 'acked' },
  { name: 'ACK seq = RCV.NXT − 1 with 1 byte (ends exactly at RCV.NXT)', seg: (p) => ({ flags: 'P.', seq: 1000, ack: p.our(1), data: 1 }), verdict: 'acked' },
  { name: 'FIN,ACK seq = RCV.NXT − 1, empty (the FIN ends at RCV.NXT)', seg: (p) => ({ flags: 'F.', seq: 1000, ack: p.our(1) }), verdict: 'acked' },
  { name: 'ACK seq = RCV.NXT + RCV.WND with 1 byte', seg: (p, right) => ({ flags: 'P.', seq: right, ack: p.our(1), data: 1 }), verdict: 'acked' },
  { name: 'ACK seq = RCV.NXT + RCV.WND + 1, empty', seg: (p, right) => ({ flags: '.', seq: right + 1, ack: p.our(1) }), verdict: 'acked' },
];

for (const e of EDGES) {
  const outcome = {
    reset: 'the request is reset silently',
    challenged: 'challenge ACK <SEQ=ISS+1><ACK=RCV.NXT>, the request lives',
    kept: 'dropped silently, the request lives',
    acked: 'ACK <SEQ=ISS+1><ACK=RCV.NXT>, no child',
  }[e.verdict];
  test(`request window: ${e.name} → ${outcome}`, (t) => {
    const { s, l, p, right } = pending();
    const before = snap(s);
    const sent = p.send(e.seg(p, right));
    const queued = s.stack.tcp.listeners()[0]!.synQueue;
    if (e.verdict === 'reset') {
      t.deepEqual(sent, []);
      t.is(queued, 0, 'the request is gone');
      t.deepEqual(moved(s, before), { TcpAttemptFails: 1, TcpExtEmbryonicRsts: 1 });
      t.deepEqual(p.runUntil(100_000), [], 'no SYN-ACK retransmission');
      return;
    }
    if (e.verdict === 'kept') t.deepEqual(sent, []);
    else t.deepEqual(sent, [{ flags: '.', seq: p.our(1), ack: 1001, win: right - 1001, len: 0, opts: {} }], 'tcp_v4_reqsk_send_ack: our SYN-ACK\'s window');
    t.is(queued, 1, 'the request survives');
    t.is(l.accept(), null, 'no child');
    t.deepEqual(moved(s, before), e.verdict === 'challenged' ? { TcpExtTCPChallengeACK: 1 } : {});
    // The third ACK still completes the handshake.
    p.quietUntil(60);
    t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(1) }), []);
    t.is(l.accept()?.state, 'ESTABLISHED');
  });
}

test('request window: an empty ACK at RCV.NXT + RCV.WND is acceptable (tcp_in_window\'s right-edge case) and completes the handshake', (t) => {
  const { s, l, p, right } = pending();
  const before = snap(s);
  t.deepEqual(p.send({ flags: '.', seq: right, ack: p.our(1) }), []);
  t.is(l.accept()?.state, 'ESTABLISHED');
  t.deepEqual(moved(s, before), { TcpPassiveOpens: 1 });
});

test('request window: challenge ACKs and out-of-window ACKs share the request\'s 500 ms clock; data outside the window is always answered and leaves the clock alone', (t) => {
  const { s, p } = pending();
  const before = snap(s);
  const ack = { flags: '.', seq: p.our(1), ack: 1001, win: 64240, len: 0, opts: {} };
  // Data outside the window, twice in 100 ms: both answered (tcp_oow_rate_limited lets data through).
  t.deepEqual(p.send({ flags: 'P.', seq: 200_000, ack: p.our(1), data: 1 }), [ack]);
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: 'P.', seq: 200_000, ack: p.our(1), data: 1 }), [ack]);
  // A pure ACK outside the window: answered; it starts the clock.
  p.quietUntil(250);
  t.deepEqual(p.send({ flags: '.', seq: 200_000, ack: p.our(1) }), [ack]);
  // 100 ms later a RST in the window: its challenge ACK is skipped.
  p.quietUntil(350);
  t.deepEqual(p.send({ flags: 'R', seq: 5001 }), []);
  // ... and so is another pure ACK outside the window.
  p.quietUntil(450);
  t.deepEqual(p.send({ flags: '.', seq: 200_000, ack: p.our(1) }), []);
  t.deepEqual(moved(s, before), { TcpExtTCPACKSkippedChallenge: 1, TcpExtTCPACKSkippedSynRecv: 1 });
  // 500 ms after the last answer: a challenge ACK again.
  p.quietUntil(750);
  t.deepEqual(p.send({ flags: 'R', seq: 5001 }), [ack]);
  t.deepEqual(moved(s, before), { TcpExtTCPACKSkippedChallenge: 1, TcpExtTCPACKSkippedSynRecv: 1, TcpExtTCPChallengeACK: 1 });
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 1);
  t.true(s.trace.some((e) => e.kind === 'tcp-challenge-ack' && e.why === 'rst'), 'traced as a challenge ACK');
});
