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

/** A request from a SYN with TSval 1000 (timestamps negotiated). */
function pendingWithTs() {
  const s = testStack();
  const l = s.stack.tcp.socket();
  l.bind(0, 80);
  l.listen(16);
  const p = new TcpPeer(s);
  const [synAck] = p.send({ flags: 'S', seq: 1000, opts: { mss: 1460, ts: [1000, 0] } });
  if (synAck?.flags !== 'S.') throw new Error('no SYN-ACK');
  p.quietUntil(50);
  return { s, l, p, win: synAck.win };
}

test('request PAWS: an ACK, a RST at RCV.NXT and the original SYN with a TSval older than the SYN\'s are old duplicates (TcpExtPAWSEstab); the request lives (test/scripts/request-paws.pkt)', (t) => {
  const { s, l, p, win } = pendingWithTs();
  const before = snap(s);
  const ack = (t0: number) => ({ flags: '.', seq: p.our(1), ack: 1001, win, len: 0, opts: { ts: [p.stackTs(t0), 1000] as [number, number] } });
  t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(1), opts: { ts: [999, p.stackTs(0)] } }), [ack(50)], 'ACK, no child');
  t.is(l.accept(), null);
  p.quietUntil(100);
  t.deepEqual(p.send({ flags: 'R', seq: 1001, opts: { ts: [998, 0] } }), [], 'RST dropped');
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 1);
  p.quietUntil(600);
  t.deepEqual(p.send({ flags: 'S', seq: 1000, opts: { mss: 1460, ts: [997, 0] } }), [ack(600)], 'not a retransmitted SYN: an ACK, not the SYN-ACK');
  t.deepEqual(moved(s, before), { TcpExtPAWSEstab: 3 });
  p.quietUntil(700);
  t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(1), opts: { ts: [1001, p.stackTs(0)] } }), []);
  const ep = l.accept();
  t.is(ep?.state, 'ESTABLISHED');
  // The child echoes the third ACK's TSval.
  t.is(ep!.write(new Uint8Array(1)), 1);
  t.deepEqual(p.flush().map((a) => a.opts.ts?.[1]), [1001]);
});

test('request PAWS: an equal TSval passes; a RST escapes PAWS only once 1 s << expiries reaches TCP_PAWS_MSL (60 s)', (t) => {
  const { s, l, p } = pendingWithTs();
  // With the default tcp_synack_retries (5) a request never gets there: an old RST is always rejected.
  t.deepEqual(p.send({ flags: 'R', seq: 1001, opts: { ts: [999, 0] } }), []);
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 1);
  t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(1), opts: { ts: [1000, p.stackTs(0)] } }), []);
  t.is(l.accept()?.state, 'ESTABLISHED');

  const s2 = testStack({ sysctl: { tcp_synack_retries: 7 } });
  const l2 = s2.stack.tcp.socket();
  l2.bind(0, 80);
  l2.listen(16);
  const p2 = new TcpPeer(s2);
  p2.send({ flags: 'S', seq: 1000, opts: { mss: 1460, ts: [1000, 0] } });
  // Expiries at 1, 3, 7, 15, 31, 63 s: after the sixth, 1 s << 6 = 64 s ≥ 60 s.
  p2.runUntil(31_500);
  t.deepEqual(p2.send({ flags: 'R', seq: 1001, opts: { ts: [999, 0] } }), [], 'five expiries: still rejected');
  t.is(s2.stack.tcp.listeners()[0]!.synQueue, 1);
  p2.runUntil(63_500);
  const before = snap(s2);
  t.deepEqual(p2.send({ flags: 'R', seq: 1001, opts: { ts: [999, 0] } }), []);
  t.is(s2.stack.tcp.listeners()[0]!.synQueue, 0, 'six expiries: the RST resets the request');
  t.deepEqual(moved(s2, before), { TcpAttemptFails: 1, TcpExtEmbryonicRsts: 1 });
});
