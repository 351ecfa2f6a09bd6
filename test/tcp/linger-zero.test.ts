/**
 * SO_LINGER {on, 0} and close() (docs/linux-behaviour.md, SO_LINGER 0).
 * __tcp_close → tcp_disconnect: the active reset (tcp_send_active_reset)
 * RST,ACK seq SND.NXT when tcp_need_reset() or CLOSING/LAST_ACK with unsent
 * data; nothing in SYN_SENT; TcpExtTCPAbortOnData, not TCPAbortOnLinger,
 * counted by __tcp_close after the disconnect; reason TCP_STATE. The peer
 * reads its queued data, then ECONNRESET, then 0. The differential scenario
 * linger0 checks the same against the kernel.
 */
import test from 'ava';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, activeOpen, passiveOpen, pattern, PASSIVE_WIN } from '../helpers/tcp-peer.ts';
import { ADDR_B, World } from '../helpers/world.ts';

test('SO_LINGER 0: linger 0 close with unsent data queued → RST,ACK seq = SND.NXT (the unsent bytes are dropped, not covered), TcpExtTCPAbortOnData, TCP_STATE', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  t.is(ep.write(pattern(20000)), 20000);
  const flight = p.flush();
  t.is(flight.length, 10, 'initial window: 10 segments, 5520 bytes stay unsent');
  const sndNxt = p.our(1 + 10 * 1448);
  ep.setLinger(true, 0);
  const before = snap(s);
  p.quietUntil(120);
  ep.close();
  t.deepEqual(p.flush(), [{ flags: 'R.', seq: sndNxt, ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(120), p.tsVal(50)] } }]);
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpOutRsts: 1, TcpExtTCPAbortOnData: 1 });
  t.is(s.stack.counters.TcpExtTCPAbortOnLinger, 0);
  t.deepEqual(rsts(s.trace), [{ t: 120, path: 'lingerZero', reason: 'TCP_STATE', generator: 'active', flags: 'R.', seq: sndNxt, ack: p.their(1), local: 80, remote: 40000 }]);
  t.deepEqual(s.stack.tcp.connections(), [], 'no TIME_WAIT');
  t.deepEqual(p.runUntil(300_000), [], 'no retransmission of the flight, no FIN');
});

test('SO_LINGER 0: linger 0 close of an idle connection → RST,ACK seq SND.NXT ack RCV.NXT', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(10) });
  t.deepEqual(ep.read(), pattern(10));
  ep.setLinger(true, 0);
  const before = snap(s);
  p.quietUntil(200);
  ep.close();
  t.deepEqual(p.flush(), [{ flags: 'R.', seq: p.our(1), ack: p.their(11), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(200), p.tsVal(100)] } }]);
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpOutRsts: 1, TcpExtTCPAbortOnData: 1 });
});

test('SO_LINGER 0: linger 0 close in SYN_SENT sends nothing (TcpExtTCPAbortOnData all the same); the late SYN-ACK meets no socket', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.setLinger(true, 0);
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  const before = snap(s);
  p.quietUntil(100);
  ep.close();
  t.deepEqual(p.flush(), []);
  t.deepEqual(moved(s, before), { TcpExtTCPAbortOnData: 1 }, '__tcp_close counts it after tcp_disconnect whatever the state');
  t.deepEqual(rsts(s.trace), []);
  p.quietUntil(500);
  t.deepEqual(p.send({ flags: 'S.', seq: 5000, ack: p.our(1), win: 65160, opts: { mss: 1460 } }), [{ flags: 'R', seq: p.our(1), ack: 0, win: 0, len: 0, opts: {} }]);
  t.deepEqual(rsts(s.trace).map((e) => [e.path, e.reason]), [['noSocket', 'NO_SOCKET']]);
});

test('SO_LINGER 0: linger 0 close in FIN_WAIT2 (after shutdown(SHUT_WR)) → RST,ACK seq = SND.NXT past our FIN; no TcpEstabResets', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.shutdown('write');
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq]), [['F.', p.our(1)]]);
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(2) });
  t.is(ep.state, 'FIN_WAIT2');
  ep.setLinger(true, 0);
  const before = snap(s);
  p.quietUntil(200);
  ep.close();
  t.deepEqual(p.flush(), [{ flags: 'R.', seq: p.our(2), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(200), p.tsVal(150)] } }]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpExtTCPAbortOnData: 1 });
  t.deepEqual(rsts(s.trace).map((e) => [e.path, e.reason, e.generator]), [['lingerZero', 'TCP_STATE', 'active']]);
});

test('SO_LINGER 0: linger 0 close in LAST_ACK with the FIN already sent: no RST (tcp_need_reset false), TcpExtTCPAbortOnData counted', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  p.input({ flags: 'F.', seq: p.their(1), ack: p.our(1) });
  ep.shutdown('write');
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq, x.ack]), [
    ['.', p.our(1), p.their(2)],
    ['F.', p.our(1), p.their(2)],
  ]);
  t.is(ep.state, 'LAST_ACK');
  ep.setLinger(true, 0);
  const before = snap(s);
  ep.close();
  t.deepEqual(p.flush(), []);
  t.deepEqual(s.stack.tcp.connections(), []);
  t.deepEqual(moved(s, before), { TcpExtTCPAbortOnData: 1 });
  t.deepEqual(rsts(s.trace), []);
});

test('SO_LINGER 0: linger 0 close in LAST_ACK with data still unsent (SND.NXT ≠ write_seq) → RST,ACK seq SND.NXT', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  p.input({ flags: 'F.', seq: p.their(1), ack: p.our(1) });
  t.is(ep.write(pattern(20000)), 20000);
  ep.shutdown('write');
  t.deepEqual(
    p.flush().map((x) => [x.flags, x.len]),
    [['.', 0], ...Array.from({ length: 10 }, (_, i) => [i % 2 === 1 ? 'P.' : '.', 1448])],
    'the ACK of their FIN; ten segments, the rest and the FIN wait for the window',
  );
  t.is(ep.state, 'LAST_ACK');
  ep.setLinger(true, 0);
  const before = snap(s);
  ep.close();
  t.deepEqual(p.flush(), [{ flags: 'R.', seq: p.our(1 + 14480), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(100), p.tsVal(100)] } }]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpExtTCPAbortOnData: 1 });
});

test('SO_LINGER 0, receiving side: the peer\'s RST after data we have not read → read returns the queued data first, then ECONNRESET, then 0; write EPIPE', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  p.quietUntil(100);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(1448) });
  p.send({ flags: 'P.', seq: p.their(1449), ack: p.our(1), data: pattern(1448, 1448) });
  const before = snap(s);
  p.quietUntil(120);
  t.deepEqual(p.send({ flags: 'R.', seq: p.their(2897), ack: p.our(1), win: 1019 }), []);
  t.is(ep.state, 'CLOSED');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1 });
  t.deepEqual([rd(ep), rd(ep), rd(ep), wr(ep)], ['data:2896', 'ECONNRESET', 'EOF', 'EPIPE']);
});

test('SO_LINGER 0, both ends ours: linger 0 close with data in flight and unsent; the peer reads what arrived, then ECONNRESET, then 0', (t) => {
  const traceA: TraceEvent[] = [];
  const w = new World({ a: { trace: (e) => traceA.push(e) } });
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(16);
  const client = w.a.tcp.socket();
  client.connect(formatIpv4(ADDR_B), 7);
  w.run(1000, () => client.state === 'ESTABLISHED');
  const child = server.accept()!;
  const beforeA = snap(w.a);
  const beforeB = snap(w.b);
  const taken = client.write(pattern(100_000));
  t.true(taken > 14_480 && taken < 100_000, `the send buffer took ${taken} bytes, more than the initial window`);
  w.a.flush(); // the initial window (10 segments) leaves; the rest is queued
  client.setLinger(true, 0);
  client.close();
  w.run(200_000);
  // b takes the ten segments and the RST in one batch, acknowledging each
  // segment as it is processed (quick-ack mode) before it meets the RST; the
  // ten ACKs find no socket at a, which answers each with a RST.
  t.deepEqual(moved(w.a, beforeA), { TcpEstabResets: 1, TcpOutRsts: 11, TcpExtTCPAbortOnData: 1 });
  t.deepEqual(moved(w.b, beforeB), { TcpEstabResets: 1 });
  t.deepEqual([rd(child), rd(child), rd(child), wr(child), wr(child)], ['data:14480', 'ECONNRESET', 'EOF', 'EPIPE', 'EPIPE']);
  t.deepEqual(rsts(traceA).map((e) => [e.path, e.reason, e.flags]), [
    ['lingerZero', 'TCP_STATE', 'R.'],
    ...Array.from({ length: 10 }, () => ['noSocket', 'NO_SOCKET', 'R']),
  ]);
  t.deepEqual([w.a.tcp.connections(), w.b.tcp.connections()], [[], []]);
});
