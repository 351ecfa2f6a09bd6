/**
 * Closing (docs/linux-behaviour.md, TIME_WAIT and FIN_WAIT2 timeout): active,
 * passive and simultaneous close, TIME_WAIT's 60 s, and what TIME_WAIT does
 * with a new SYN and with data.
 */
import test from 'ava';
import { POLLIN, POLLRDHUP } from '../../stack/socket/types.ts';
import { TcpPeer, passiveOpen, pattern, PASSIVE_WIN } from '../helpers/tcp-peer.ts';

const state = (s: { stack: { tcp: { connections(): Array<{ state: string }> } } }) => s.stack.tcp.connections().map((c) => c.state);

/** Active close from an established connection: our FIN at 100, its ACK at 150, the peer's FIN at 200. */
function activeCloseToTimeWait() {
  const opened = passiveOpen({ rtt: 50 });
  const { s, peer: p, ep } = opened;
  p.quietUntil(100);
  ep.close();
  const fin = p.flush();
  const finWait1 = state(s);
  p.quietUntil(150);
  const afterAck = p.send({ flags: '.', seq: p.their(1), ack: p.our(2) });
  const finWait2 = state(s);
  p.quietUntil(200);
  const lastAck = p.send({ flags: 'F.', seq: p.their(1), ack: p.our(2) });
  return { ...opened, fin, finWait1, afterAck, finWait2, lastAck };
}

/**
 * TcpExtTW counts a TIME_WAIT when it is scheduled (__inet_twsk_schedule on
 * 6.18, timeout > 4 s), not when it expires: measured on Linux 6.18,
 * TcpExtTW moved for minisocks that data killed long before any expiry
 * (docs/linux-behaviour.md, Data after close).
 */
test('active close: FIN_WAIT1 → FIN_WAIT2 → TIME_WAIT on the peer\'s FIN; TIME_WAIT ends silently after exactly 60 s (TcpExtTW)', (t) => {
  const { s, peer: p, fin, finWait1, afterAck, finWait2, lastAck } = activeCloseToTimeWait();
  t.deepEqual(fin, [{ flags: 'F.', seq: p.our(1), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(100), p.tsVal(50)] } }]);
  t.deepEqual(finWait1, ['FIN_WAIT1']);
  t.deepEqual(afterAck, [], 'the ACK of our FIN is not answered');
  t.deepEqual(finWait2, ['FIN_WAIT2']);
  t.deepEqual(lastAck, [{ flags: '.', seq: p.our(2), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(200), p.tsVal(200)] } }]);
  t.deepEqual([p.log[p.log.length - 1]!.ipId, p.log[p.log.length - 1]!.ttl], [0, 64], 'sent by the TIME_WAIT sock: IP ID 0');
  t.deepEqual(state(s), ['TIME_WAIT']);
  t.deepEqual(s.stack.tcp.connections()[0]!.timer, { on: 'timewait', expiresIn: 60_000 });

  t.deepEqual(p.runUntil(60_199), []);
  t.deepEqual(state(s), ['TIME_WAIT']);
  t.is(s.stack.counters.TcpExtTW, 1, 'counted when the TIME_WAIT was scheduled');
  t.deepEqual(p.runUntil(60_200), [], 'expiry sends nothing');
  t.deepEqual(state(s), []);
  t.is(s.stack.counters.TcpExtTW, 1);
  t.is(s.stack.counters.TcpOutRsts, 0);
  // The 4-tuple is free: a late segment now meets the listener (an ACK: RST seq = SEG.ACK).
  t.deepEqual(p.send({ flags: '.', seq: p.their(2), ack: p.our(2) }), [{ flags: 'R', seq: p.our(2), ack: 0, win: 0, len: 0, opts: {} }]);
});

test('passive close: CLOSE_WAIT, read() gives EOF, close() sends FIN (LAST_ACK), its ACK ends the connection', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  // The peer's FIN on a connection that never received data: ACKed at once,
  // as the segment is processed (tcp_ack_snd_check), before the application runs.
  p.input({ flags: 'F.', seq: p.their(1), ack: p.our(1) });
  t.is(ep.state, 'CLOSE_WAIT');
  t.is(ep.poll() & (POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
  t.deepEqual(ep.read(), new Uint8Array(0), 'EOF');
  t.deepEqual(ep.read(), new Uint8Array(0), 'EOF again');
  ep.close();
  t.deepEqual(
    p.flush(),
    [
      { flags: '.', seq: p.our(1), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(100), p.tsVal(100)] } },
      { flags: 'F.', seq: p.our(1), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(100), p.tsVal(100)] } },
    ],
    'the ACK of their FIN, then our FIN',
  );
  t.deepEqual(state(s), ['LAST_ACK']);

  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(2), ack: p.our(2) }), []);
  t.deepEqual(state(s), [], 'CLOSED, no TIME_WAIT on the passive side');
  t.is(ep.state, 'CLOSED');
  t.is(s.stack.counters.TcpExtTW, 0);
  t.is(s.stack.counters.TcpCurrEstab, 0);
  t.is(s.stack.counters.TcpEstabResets, 0);
  t.deepEqual(p.runUntil(100_000), []);
});

test('passive close: in LAST_ACK the FIN is retransmitted until acknowledged', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50, sack: false });
  p.quietUntil(100);
  p.input({ flags: 'F.', seq: p.their(1), ack: p.our(1) });
  ep.close();
  const fin = (at: number) => ({ flags: 'F.', seq: p.our(1), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(at), p.tsVal(100)] as [number, number] } });
  t.deepEqual(p.flush(), [{ ...fin(100), flags: '.' }, fin(100)], 'the ACK of their FIN, then our FIN');
  t.deepEqual(p.runUntil(900), [{ t: 352, ...fin(352) }, { t: 856, ...fin(856) }]);
  t.deepEqual(p.send({ flags: '.', seq: p.their(2), ack: p.our(2) }), []);
  t.deepEqual(state(s), []);
});

/**
 * tcp_fin() in ESTABLISHED moves to CLOSE_WAIT, enters ping-pong mode and
 * only schedules an ACK: after data (ATO 40 ms) the ACK of a FIN is a
 * delayed ACK, even with quick ACKs left, as the real packetdrill shows on
 * this kernel (test/scripts/fin-after-data.pkt). On a connection that never
 * received data the ATO is 0 and the ACK goes at once
 * (test/scripts/rst-close-wait.pkt).
 */
test('passive close: after data, the ACK of the peer\'s FIN is a delayed ACK (ping-pong mode)', (t) => {
  const { s, peer: p } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  t.is(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(10) }).length, 1, 'data: quick ACK');
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'F.', seq: p.their(11), ack: p.our(1) }), [], 'not at once');
  t.deepEqual(p.runUntil(300), [{ t: 240, flags: '.', seq: p.our(1), ack: p.their(12), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(240), p.tsVal(200)] } }]);
  t.is(s.stack.counters.TcpExtDelayedACKs, 1);
});

test('passive close: on a connection that never received data the FIN is ACKed at once', (t) => {
  const { s, peer: p } = passiveOpen({ rtt: 50 });
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'F.', seq: p.their(1), ack: p.our(1) }), [{ flags: '.', seq: p.our(1), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(200), p.tsVal(200)] } }]);
  t.deepEqual(p.runUntil(300), []);
  t.is(s.stack.counters.TcpExtDelayedACKs, 0);
});

test('simultaneous close: the FINs cross → CLOSING → TIME_WAIT when our FIN is acknowledged', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.close();
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq, x.ack]), [['F.', p.our(1), p.their(1)]]);
  p.quietUntil(110);
  // The peer's FIN was sent before ours arrived: it does not acknowledge our FIN.
  t.deepEqual(p.send({ flags: 'F.', seq: p.their(1), ack: p.our(1) }), [
    { flags: '.', seq: p.our(2), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(110), p.tsVal(110)] } },
  ]);
  t.deepEqual(state(s), ['CLOSING']);
  p.quietUntil(120);
  t.deepEqual(p.send({ flags: '.', seq: p.their(2), ack: p.our(2) }), []);
  t.deepEqual(state(s), ['TIME_WAIT']);
  t.deepEqual(p.runUntil(60_119), []);
  t.deepEqual(state(s), ['TIME_WAIT']);
  t.deepEqual(p.runUntil(60_120), []);
  t.deepEqual(state(s), []);
  t.is(s.stack.counters.TcpExtTW, 1);
});

test('TIME_WAIT: a SYN with a higher sequence number and a listener opens a new connection with ISN = old SND.NXT + 65537', (t) => {
  const { s, peer: p, listener } = activeCloseToTimeWait();
  t.deepEqual(state(s), ['TIME_WAIT']);
  const oldSndNxt = p.our(2);

  p.quietUntil(1000);
  // A new incarnation from the same port: sequence number far above the old RCV.NXT.
  const q = new TcpPeer(s, { iss: p.their(100_000) });
  const synAck = q.send({ flags: 'S', seq: q.iss, win: 64240, opts: { mss: 1460, sackOk: true, ts: [q.tsVal(), 0], ws: 7 } });
  t.is(q.stackIss, (oldSndNxt + 65537) >>> 0);
  t.deepEqual(synAck, [
    { flags: 'S.', seq: (oldSndNxt + 65537) >>> 0, ack: q.their(1), win: 65160, len: 0, opts: { mss: 1460, sackOk: true, ts: [q.stackTs(1000), q.tsVal(1000)], ws: 10 } },
  ]);
  t.deepEqual(state(s), [], 'the TIME_WAIT is gone; the request waits in the SYN queue');
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 1);

  q.ts = true;
  q.quietUntil(1050);
  t.deepEqual(q.send({ flags: '.', seq: q.their(1), ack: q.our(1) }), []);
  const again = listener!.accept();
  t.is(again?.state, 'ESTABLISHED');
  t.deepEqual(state(s), ['ESTABLISHED']);
  t.is(s.stack.counters.TcpPassiveOpens, 2);
  again!.write(pattern(5));
  t.deepEqual(q.flush(), [{ flags: 'P.', seq: q.our(1), ack: q.their(1), win: PASSIVE_WIN, len: 5, opts: { ts: [q.stackTs(1050), q.tsVal(1050)] } }]);
});

test('TIME_WAIT: a data segment is answered with ACK seq = SND.NXT, ack = RCV.NXT; it and a bare ACK restart the 60 s', (t) => {
  const { s, peer: p } = activeCloseToTimeWait();
  p.quietUntil(300);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(2), ack: p.our(2), data: pattern(10) }), [
    { flags: '.', seq: p.our(2), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(300), p.tsVal(200)] } },
  ]);
  t.is(p.log[p.log.length - 1]!.ipId, 0);
  t.deepEqual(state(s), ['TIME_WAIT']);
  t.deepEqual(s.stack.tcp.connections()[0]!.timer, { on: 'timewait', expiresIn: 60_000 });

  // A bare ACK at RCV.NXT: no reply, timer restarted.
  p.quietUntil(400);
  t.deepEqual(p.send({ flags: '.', seq: p.their(2), ack: p.our(2) }), []);
  t.deepEqual(p.runUntil(60_399), []);
  t.deepEqual(state(s), ['TIME_WAIT']);
  t.deepEqual(p.runUntil(60_400), []);
  t.deepEqual(state(s), []);
  t.is(s.stack.counters.TcpExtTW, 1);
});

/**
 * The peer's FIN sent before it saw ours, overtaken by its ACK of our FIN:
 * it arrives in FIN_WAIT2 acknowledging one below SND.UNA. tcp_ack bounds old
 * ACKs by min(max window, bytes_acked), and bytes_acked counts our FIN
 * (tcp_snd_una_update adds every sequence number SND.UNA moves over), so an
 * ACK just below SND.UNA is an old ACK, not a too-old one: the FIN is taken,
 * acknowledged, and the connection goes to TIME_WAIT, no challenge ACK
 * (test/scripts/fin-after-ack-of-our-fin.pkt, confirmed on Linux 6.18).
 */
test('a FIN overtaken by the ACK of our FIN (SEG.ACK one below SND.UNA) is taken in FIN_WAIT2 after shutdown(SHUT_WR): ACK, TIME_WAIT', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.shutdown('write');
  p.flush();
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(2) }), []);
  t.deepEqual(state(s), ['FIN_WAIT2']);
  p.quietUntil(160);
  const answer = p.send({ flags: 'F.', seq: p.their(1), ack: p.our(1) });
  t.deepEqual(answer, [{ flags: '.', seq: p.our(2), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(160), p.tsVal(150)] } }], 'an old ACK leaves TS.Recent as it was');
  t.deepEqual(state(s), ['TIME_WAIT']);
  t.is(s.stack.counters.TcpExtTCPChallengeACK ?? 0, 0);
});
