/**
 * Closing a listener (docs/linux-behaviour.md, Listener close). __tcp_close
 * of a listener → inet_csk_listen_stop: every child still in the accept queue
 * is disconnected (tcp_disconnect) with the active reset
 * (tcp_send_active_reset) RST,ACK seq SND.NXT ack RCV.NXT with timestamps,
 * reason TCP_STATE, TcpEstabResets; pending request socks vanish silently
 * and the client's later ACK finds no socket and gets the reply reset
 * (tcp_v4_send_reset). The children's peers read ECONNRESET. Measured on
 * Linux 6.18 by the differential scenarios listener-close and
 * accept-overflow, and by test/scripts/listener-close.pkt.
 *
 * tables.test.ts has a first version without timestamps ("closing a listener
 * resets every child not yet accepted"); this one is exact.
 */
import test from 'ava';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { TcpPeer, pattern, PASSIVE_WIN } from '../helpers/tcp-peer.ts';
import { ADDR_B, World } from '../helpers/world.ts';

function handshake(p: TcpPeer, at: number): void {
  p.quietUntil(at);
  p.send({ flags: 'S', seq: p.iss, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } });
  p.ts = true;
  p.quietUntil(at + 50);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1) });
}

test('Listener close: closing a listener sends RST,ACK seq SND.NXT ack RCV.NXT with TS to each queued child (TCP_STATE), drops the pending request silently', (t) => {
  const s = testStack();
  const l = s.stack.tcp.socket();
  l.bind(0, 80);
  l.listen(8);
  const p1 = new TcpPeer(s, { port: 41001 });
  const p2 = new TcpPeer(s, { port: 41002 });
  const p3 = new TcpPeer(s, { port: 41003 });
  handshake(p1, 0);
  p1.quietUntil(100);
  t.is(p1.send({ flags: 'P.', seq: p1.their(1), ack: p1.our(1), data: pattern(100) }).length, 1, 'the child ACKs data nobody reads yet');
  handshake(p2, 100);
  p3.quietUntil(180);
  t.is(p3.send({ flags: 'S', seq: p3.iss, opts: { mss: 1460 } })[0]!.flags, 'S.');
  t.deepEqual(s.stack.tcp.listeners().map((x) => [x.synQueue, x.acceptQueue]), [[1, 2]]);

  const before = snap(s);
  p1.quietUntil(200);
  l.close();
  s.stack.flush();
  // One take() reads every packet on the wire; each is for the peer its destination port names.
  const sent = p1.take().map((c) => [c.dport, c.seen]);
  t.deepEqual(sent, [
    [41001, { flags: 'R.', seq: p1.our(1), ack: p1.their(101), win: PASSIVE_WIN, len: 0, opts: { ts: [p1.stackTs(200), p1.tsVal(100)] } }],
    [41002, { flags: 'R.', seq: p2.our(1), ack: p2.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p2.stackTs(200), p2.tsVal(150)] } }],
  ]);
  t.deepEqual(moved(s, before), { TcpEstabResets: 2, TcpOutRsts: 2 });
  t.deepEqual(rsts(s.trace), [
    { t: 200, path: 'listenerClose', reason: 'TCP_STATE', generator: 'active', flags: 'R.', seq: p1.our(1), ack: p1.their(101), local: 80, remote: 41001 },
    { t: 200, path: 'listenerClose', reason: 'TCP_STATE', generator: 'active', flags: 'R.', seq: p2.our(1), ack: p2.their(1), local: 80, remote: 41002 },
  ]);
  t.deepEqual([s.stack.tcp.connections(), s.stack.tcp.listeners()], [[], []]);
  t.deepEqual(p1.runUntil(100_000), [], 'the request\'s SYN-ACK is never retransmitted');

  // Later segments meet no socket: the request's third ACK, a child's peer's data.
  t.deepEqual(p3.send({ flags: '.', seq: p3.their(1), ack: p3.our(1) }), [{ flags: 'R', seq: p3.our(1), ack: 0, win: 0, len: 0, opts: {} }]);
  t.deepEqual(p2.send({ flags: 'P.', seq: p2.their(1), ack: p2.our(1), data: pattern(5) }), [{ flags: 'R', seq: p2.our(1), ack: 0, win: 0, len: 0, opts: {} }]);
  t.deepEqual(rsts(s.trace).slice(2).map((e) => [e.path, e.reason, e.remote]), [['noSocket', 'NO_SOCKET', 41003], ['noSocket', 'NO_SOCKET', 41002]]);
  t.is(s.stack.counters.TcpAttemptFails, 0, 'the request vanished without counting');
});

test('Listener close, both ends ours: the clients of never-accepted connections get ECONNRESET when the listener closes', (t) => {
  const traceB: TraceEvent[] = [];
  const w = new World({ b: { trace: (e) => traceB.push(e) } });
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(8);
  const clients = [0, 1].map(() => {
    const c = w.a.tcp.socket();
    c.connect(formatIpv4(ADDR_B), 7);
    return c;
  });
  w.run(1000, () => clients.every((c) => c.state === 'ESTABLISHED'));
  t.is(clients[0]!.write(pattern(10)), 10);
  w.run(2000);
  const beforeA = snap(w.a);
  const beforeB = snap(w.b);
  server.close();
  w.run(3000);
  t.deepEqual(clients.map((c) => c.state), ['CLOSED', 'CLOSED']);
  t.deepEqual(clients.map((c) => [rd(c), rd(c), wr(c)]), [
    ['ECONNRESET', 'EOF', 'EPIPE'],
    ['ECONNRESET', 'EOF', 'EPIPE'],
  ]);
  t.deepEqual(moved(w.a, beforeA), { TcpEstabResets: 2 });
  t.deepEqual(moved(w.b, beforeB), { TcpEstabResets: 2, TcpOutRsts: 2 });
  t.deepEqual(rsts(traceB).map((e) => [e.path, e.reason, e.generator, e.flags]), [
    ['listenerClose', 'TCP_STATE', 'active', 'R.'],
    ['listenerClose', 'TCP_STATE', 'active', 'R.'],
  ]);
});
