/**
 * Data arriving after the application closed or shut down its receive side
 * (docs/linux-behaviour.md, Data after close). Every answer is a reply reset
 * (tcp_v4_send_reset) RST seq SEG.ACK:
 * - an orphan minisock in substate FIN_WAIT2 (tcp_timewait_state_process →
 *   TCP_TW_RST): new data → the RST, TCP_TIMEWAIT_SOCKET, only TcpOutRsts;
 * - a full socket in FIN_WAIT1/2 with the receive side shut
 *   (tcp_rcv_state_process, step 7): TCPAbortOnData, TCP_ABORT_ON_DATA, an
 *   owner reads ECONNRESET; the same for the ACK of our FIN carrying data
 *   beyond RCV.NXT to an orphan;
 * - the writing peer in CLOSE_WAIT: write ok, then the RST gives EPIPE
 *   (tcp_reset), reads 0; shutdown(SHUT_RD) alone: no RST.
 * The differential scenario data-after-close checks the same against the
 * kernel.
 */
import test from 'ava';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { activeOpen, pattern, ACTIVE_WIN } from '../helpers/tcp-peer.ts';
import { ADDR_B, World } from '../helpers/world.ts';

const rst = (seq: number) => ({ flags: 'R', seq, ack: 0, win: 0, len: 0, opts: {} });

test('Data after close, orphan minisock: data to an orphan in FIN_WAIT2 (minisock) → reply reset RST seq SEG.ACK, TCP_TIMEWAIT_SOCKET, only TcpOutRsts; later data meets no socket', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  const before = snap(s);
  p.quietUntil(100);
  ep.close();
  t.deepEqual(p.flush(), [{ flags: 'F.', seq: p.our(1), ack: p.their(1), win: ACTIVE_WIN, len: 0, opts: { ts: [p.stackTs(100), p.tsVal(50)] } }]);
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(2) }), []);
  t.deepEqual(s.stack.tcp.connections().map((c) => [c.state, c.timer]), [['FIN_WAIT2', { on: 'fin_wait2', expiresIn: 60_000 }]], 'the orphan became a FIN_WAIT2 minisock for tcp_fin_timeout');
  t.deepEqual(moved(s, before), { TcpExtTW: 1 }, 'the minisock is counted when scheduled (60 s > 4 s)');

  const beforeData = snap(s);
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(2), data: pattern(100) }), [rst(p.our(2))]);
  t.deepEqual([p.log.at(-1)!.ipId, p.log.at(-1)!.optionKinds], [0, []]);
  t.deepEqual(moved(s, beforeData), { TcpOutRsts: 1 }, 'no TCPAbortOnData for a minisock');
  t.deepEqual(rsts(s.trace), [{ t: 200, path: 'timewaitSocket', reason: 'TCP_TIMEWAIT_SOCKET', generator: 'reply', flags: 'R', seq: p.our(2), ack: 0, local: p.stackPort, remote: 80 }]);
  t.deepEqual(s.stack.tcp.connections(), [], 'the minisock is gone');

  p.quietUntil(300);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(2), data: pattern(100) }), [rst(p.our(2))]);
  t.deepEqual(rsts(s.trace).slice(1).map((e) => [e.path, e.reason]), [['noSocket', 'NO_SOCKET']]);
});

test('Data after close, full socket: data after shutdown(SHUT_RDWR) in FIN_WAIT1 (full socket) → reply reset RST seq SEG.ACK, TCPAbortOnData, TCP_ABORT_ON_DATA; the owner reads ECONNRESET', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.shutdown('both');
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq]), [['F.', p.our(1)]]);
  t.is(ep.state, 'FIN_WAIT1');
  const before = snap(s);
  p.quietUntil(120);
  // The peer's data crossed our FIN (it does not acknowledge it).
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) }), [rst(p.our(1))]);
  t.is(ep.state, 'CLOSED');
  t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpExtTCPAbortOnData: 1 }, 'FIN_WAIT1 → CLOSE is no TcpEstabResets');
  t.deepEqual(rsts(s.trace), [{ t: 120, path: 'abortOnData', reason: 'TCP_ABORT_ON_DATA', generator: 'reply', flags: 'R', seq: p.our(1), ack: 0, local: p.stackPort, remote: 80 }]);
  t.deepEqual([rd(ep), rd(ep), wr(ep)], ['ECONNRESET', 'EOF', 'EPIPE']);
  t.deepEqual(p.runUntil(100_000), [], 'no FIN retransmission');
});

test('Data after close, full socket: data after shutdown(SHUT_RDWR) in FIN_WAIT2 → the same reply reset with seq = SEG.ACK past our FIN', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.shutdown('both');
  p.flush();
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(2) });
  t.is(ep.state, 'FIN_WAIT2');
  const before = snap(s);
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(2), data: pattern(100) }), [rst(p.our(2))]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpExtTCPAbortOnData: 1 });
  t.deepEqual(rsts(s.trace).map((e) => [e.path, e.reason, e.seq]), [['abortOnData', 'TCP_ABORT_ON_DATA', p.our(2)]]);
  t.is(rd(ep), 'ECONNRESET');
});

test('Data after close, full socket: data to an orphan still in FIN_WAIT1 (close(), FIN not yet acknowledged) → reply reset, TCPAbortOnData', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.close();
  p.flush();
  const before = snap(s);
  p.quietUntil(120);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) }), [rst(p.our(1))]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpExtTCPAbortOnData: 1 });
  t.deepEqual(s.stack.tcp.connections(), []);
});

test('Data after close, full socket: the ACK of our FIN carrying new data, to an orphan in FIN_WAIT1 → reply reset seq SEG.ACK, TCPAbortOnData, and no FIN_WAIT2 minisock is left', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.close();
  p.flush();
  const before = snap(s);
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(2), data: pattern(100) }), [rst(p.our(2))]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpExtTCPAbortOnData: 1 });
  t.deepEqual(rsts(s.trace).map((e) => [e.path, e.reason]), [['abortOnData', 'TCP_ABORT_ON_DATA']]);
  t.deepEqual(s.stack.tcp.connections(), []);
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(2), data: pattern(100) }), [rst(p.our(2))], 'the peer\'s retransmission meets no socket');
  t.deepEqual(rsts(s.trace).slice(1).map((e) => [e.path, e.reason]), [['noSocket', 'NO_SOCKET']]);
});

test('Data after close: shutdown(SHUT_RD) alone sends nothing, and later data is queued, acknowledged and delivered: no RST', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.shutdown('read');
  t.deepEqual(p.flush(), []);
  const before = snap(s);
  p.quietUntil(120);
  // The window: the right edge advertised after the handshake never moves back (RFC 9293 §3.8.6.2.2).
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) }), [
    { flags: '.', seq: p.our(1), ack: p.their(101), win: ACTIVE_WIN, len: 0, opts: { ts: [p.stackTs(120), p.tsVal(120)] } },
  ]);
  t.is(ep.state, 'ESTABLISHED');
  t.is(rd(ep), 'data:100');
  t.deepEqual(moved(s, before), {});
  t.deepEqual(rsts(s.trace), []);
});

test('Data after close, the writing peer (our stack in CLOSE_WAIT): write succeeds, the RST seq = RCV.NXT gives EPIPE (not ECONNRESET), reads return 0', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  p.quietUntil(100);
  const answer = p.send({ flags: 'F.', seq: p.their(1), ack: p.our(1) });
  t.is(ep.state, 'CLOSE_WAIT');
  t.is(rd(ep), 'EOF');
  t.deepEqual(answer.map((x) => [x.flags, x.ack]), [['.', p.their(2)]], 'the FIN is ACKed at once');
  t.deepEqual(p.runUntil(200), []);
  t.is(wr(ep, pattern(100)), 'wrote:100');
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq, x.ack, x.len]), [['P.', p.our(1), p.their(2), 100]]);
  const before = snap(s);
  p.quietUntil(210);
  // The peer's minisock answers with the reply reset: seq = our segment's ACK = our RCV.NXT.
  t.deepEqual(p.send({ flags: 'R', seq: p.their(2) }), []);
  t.is(ep.state, 'CLOSED');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1 });
  t.deepEqual([rd(ep), wr(ep), wr(ep), rd(ep)], ['EOF', 'EPIPE', 'EPIPE', 'EOF']);
  t.deepEqual(p.runUntil(100_000), [], 'the unacknowledged data is not retransmitted');
});

test('Data after close, both ends ours: the server closes, the client keeps writing → RST from the minisock, client EPIPE, reads 0', (t) => {
  const traceB: TraceEvent[] = [];
  const w = new World({ b: { trace: (e) => traceB.push(e) } });
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(16);
  const client = w.a.tcp.socket();
  client.connect(formatIpv4(ADDR_B), 7);
  w.run(1000, () => client.state === 'ESTABLISHED');
  const child = server.accept()!;
  const beforeA = snap(w.a);
  const beforeB = snap(w.b);
  child.close();
  w.run(2000);
  t.is(client.state, 'CLOSE_WAIT');
  t.deepEqual(w.b.tcp.connections().map((c) => c.state), ['FIN_WAIT2']);
  t.is(rd(client), 'EOF');
  t.is(wr(client, 100), 'wrote:100', 'the first write succeeds');
  w.run(3000);
  t.deepEqual([wr(client), rd(client), wr(client), rd(client)], ['EPIPE', 'EOF', 'EPIPE', 'EOF']);
  t.deepEqual(moved(w.a, beforeA), { TcpEstabResets: 1 }, 'the ACK of the FIN went at once, not on the delayed-ACK timer');
  t.deepEqual(moved(w.b, beforeB), { TcpOutRsts: 1, TcpExtTW: 1 });
  t.deepEqual(rsts(traceB).map((e) => [e.path, e.reason, e.flags]), [['timewaitSocket', 'TCP_TIMEWAIT_SOCKET', 'R']]);
  t.deepEqual([w.a.tcp.connections(), w.b.tcp.connections()], [[], []]);
});
