/**
 * Unacceptable ACKs before the connection is synchronized
 * (docs/linux-behaviour.md, Bad ACKs). All answers are reply resets
 * (tcp_v4_send_reset):
 * - an ACK to a listener (tcp_rcv_state_process, TCP_LISTEN) → RST seq
 *   SEG.ACK, TCP_FLAGS;
 * - in SYN_SENT (tcp_rcv_synsent_state_process), SEG.ACK ≤ ISS or > SND.NXT
 *   → RST seq SEG.ACK, reason TCP_TOO_OLD_ACK / TCP_ACK_UNSENT_DATA; if no
 *   SYN was retransmitted yet the SYN timer is cut to TCP_TIMEOUT_MIN, so the
 *   SYN follows almost at once (test/scripts/bad-ack-syn-sent.pkt); this is
 *   how a client reconnecting to a half-open peer (RFC 9293 §3.5.1) gets
 *   through quickly;
 * - to a request sock (tcp_check_req), ACK ≠ ISS+1 → RST from the listener,
 *   TCP_FLAGS, the request survives; an in-window SYN → RST,ACK,
 *   INVALID_SYN, the request dropped.
 *
 * The table of every kind of segment to a listener is in resets.test.ts;
 * this file adds the trace events and the request/SYN_SENT cases.
 */
import test from 'ava';
import { moved, rsts, snap } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, type Opts } from '../helpers/tcp-peer.ts';

const rst = (seq: number) => ({ flags: 'R', seq, ack: 0, win: 0, len: 0, opts: {} });
const SYN_OPTS = (p: TcpPeer, t: number): Opts => ({ mss: 1460, sackOk: true, ts: [p.stackTs(t), 0], ws: 10 });

function listening() {
  const s = testStack();
  const l = s.stack.tcp.socket();
  l.bind(0, 80);
  l.listen(16);
  return { s, l };
}

test('Bad ACKs: an ACK to a listener → reply reset RST seq SEG.ACK, traced listenerAck / TCP_FLAGS; the listener is unchanged', (t) => {
  const { s, l } = listening();
  const p = new TcpPeer(s);
  const before = snap(s);
  p.quietUntil(5);
  t.deepEqual(p.send({ flags: '.', seq: 1000, ack: 424242 }), [rst(424242)]);
  t.deepEqual(rsts(s.trace), [{ t: 5, path: 'listenerAck', reason: 'TCP_FLAGS', generator: 'reply', flags: 'R', seq: 424242, ack: 0, local: 80, remote: 40000 }]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1 });
  t.deepEqual(s.stack.tcp.listeners().map((x) => [x.synQueue, x.acceptQueue]), [[0, 0]]);
  t.is(l.state, 'LISTEN');
});

for (const [what, ackOffset, path, reason] of [
  ['SEG.ACK > SND.NXT', 100, 'synSentBadAck', 'TCP_ACK_UNSENT_DATA'],
  ['SEG.ACK = ISS', 0, 'synSentOldAck', 'TCP_TOO_OLD_ACK'],
] as const) {
  test(`Bad ACKs: SYN_SENT gets a SYN-ACK with ${what} → reply reset RST seq SEG.ACK (${reason}); the SYN is resent 8 ms later (TCP_TIMEOUT_MIN, 2 jiffies), then 1 s after that`, (t) => {
    const s = testStack();
    const ep = s.stack.tcp.socket();
    ep.connect(PEER_IP, 80);
    const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
    t.is(p.flush()[0]!.flags, 'S');
    const before = snap(s);
    p.quietUntil(50);
    const badAck = p.our(ackOffset);
    t.deepEqual(p.send({ flags: 'S.', seq: 5000, ack: badAck, win: 65160, opts: { mss: 1460, ts: [p.tsVal(), p.stackTs(0)] } }), [rst(badAck)]);
    t.is(ep.state, 'SYN_SENT');
    t.deepEqual(rsts(s.trace), [{ t: 50, path, reason, generator: 'reply', flags: 'R', seq: badAck, ack: 0, local: p.stackPort, remote: 80 }]);
    // TCP_TIMEOUT_MIN (2 jiffies, 8 ms; ~10 ms measured on the reference VM,
    // the kernel's tick phase added), then the linear 1 s.
    t.deepEqual(p.runUntil(1058), [
      { t: 58, flags: 'S', seq: p.our(0), ack: 0, win: 64240, len: 0, opts: SYN_OPTS(p, 58) },
      { t: 1058, flags: 'S', seq: p.our(0), ack: 0, win: 64240, len: 0, opts: SYN_OPTS(p, 1058) },
    ]);
    t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpRetransSegs: 2, TcpExtTCPTimeouts: 2, TcpExtTcpTimeoutRehash: 2, TcpExtTCPSynRetrans: 2 });
    // A correct SYN-ACK still completes the handshake.
    p.quietUntil(1100);
    t.deepEqual(p.send({ flags: 'S.', seq: 5000, ack: p.our(1), win: 65535, opts: { mss: 1460 } }).map((x) => [x.flags, x.seq, x.ack]), [['.', p.our(1), 5001]]);
    t.is(ep.state, 'ESTABLISHED');
  });
}

test('Bad ACKs: a bad ACK in SYN_SENT after a SYN retransmission gets the RST but leaves the SYN timer alone (icsk_retransmits ≠ 0)', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  t.deepEqual(p.runUntil(1000).map((x) => [x.t, x.flags]), [[1000, 'S']]);
  p.quietUntil(1500);
  // A half-open reconnect: the peer still holds the old connection and answers our SYN with its challenge ACK.
  t.deepEqual(p.send({ flags: '.', seq: 777, ack: 999_999 }), [rst(999_999)]);
  t.deepEqual(p.runUntil(2000).map((x) => [x.t, x.flags]), [[2000, 'S']], 'the next SYN at its usual time');
});

test('Bad ACKs: a bad ACK to a request sock → reply reset RST seq SEG.ACK from the listener (TCP_FLAGS); the request survives and a correct ACK completes it', (t) => {
  const { s, l } = listening();
  const p = new TcpPeer(s);
  const [synAck] = p.send({ flags: 'S', seq: 1000, opts: { mss: 1460 } });
  t.is(synAck!.flags, 'S.');
  const before = snap(s);
  p.quietUntil(50);
  t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(7) }), [rst(p.our(7))]);
  t.deepEqual(rsts(s.trace), [{ t: 50, path: 'requestBadAck', reason: 'TCP_FLAGS', generator: 'reply', flags: 'R', seq: p.our(7), ack: 0, local: 80, remote: 40000 }]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1 });
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 1, 'the request survives');
  p.quietUntil(60);
  t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(1) }), []);
  t.is(l.accept()?.state, 'ESTABLISHED');
  t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpPassiveOpens: 1 });
});

test('Bad ACKs: an in-window SYN to a request sock → RST,ACK seq 0 ack SEG.SEQ+1 (INVALID_SYN); the request is dropped (TcpAttemptFails, EmbryonicRsts)', (t) => {
  const { s, l } = listening();
  const p = new TcpPeer(s);
  p.send({ flags: 'S', seq: 1000, opts: { mss: 1460 } });
  const before = snap(s);
  p.quietUntil(50);
  t.deepEqual(p.send({ flags: 'S', seq: 1010, opts: { mss: 1460 } }), [{ flags: 'R.', seq: 0, ack: 1011, win: 0, len: 0, opts: {} }]);
  t.deepEqual(rsts(s.trace).map((e) => [e.path, e.reason, e.generator, e.flags, e.ack]), [['requestSyn', 'INVALID_SYN', 'reply', 'R.', 1011]]);
  t.deepEqual(moved(s, before), { TcpAttemptFails: 1, TcpOutRsts: 1, TcpExtEmbryonicRsts: 1 });
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 0);
  t.deepEqual(p.runUntil(100_000), [], 'no SYN-ACK retransmission');
  t.is(l.accept(), null);
});
