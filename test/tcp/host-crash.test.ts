/**
 * Host crash and restart (stack.tcp.crash(); docs/linux-behaviour.md, Host
 * crash). What the peer then meets is no socket (tcp_v4_rcv →
 * no_tcp_socket): the reply reset (tcp_v4_send_reset) RST seq SEG.ACK for a
 * segment with ACK, including the peer's keepalive probe seq SND.UNA−1; on
 * the peer's side a keepalive probe answered by that RST gives ECONNRESET
 * (docs/linux-behaviour.md, Keepalive). The differential scenarios crash
 * (the kernel forgets an established connection, `ss -K` with its RST
 * dropped) and keepalive (part c, a forgotten peer) check the same against
 * Linux. Nothing is sent at crash time (a dead host sends nothing);
 * endpoints of the old incarnation see ECONNABORTED (what Linux gives a
 * socket destroyed under its owner, `ss -K`).
 */
import test from 'ava';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { call, moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { TcpPeer, passiveOpen, pattern } from '../helpers/tcp-peer.ts';
import { ADDR_B, World } from '../helpers/world.ts';

const rst = (seq: number) => ({ flags: 'R', seq, ack: 0, win: 0, len: 0, opts: {} });

test('Host crash: crash forgets connections, requests, TIME_WAITs and listeners without a segment; afterwards every segment meets no socket (reply reset)', (t) => {
  const { s, peer: p, ep, listener } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) });
  ep.write(pattern(50));
  p.flush();
  p.send({ flags: '.', seq: p.their(101), ack: p.our(51) });
  // A second peer half way through its handshake (a request sock)...
  const q = new TcpPeer(s, { port: 40001 });
  t.is(q.send({ flags: 'S', seq: q.iss, opts: { mss: 1460 } })[0]!.flags, 'S.');
  // ...and a third whose connection sits in TIME_WAIT.
  const r = new TcpPeer(s, { port: 40002 });
  r.send({ flags: 'S', seq: r.iss, opts: { mss: 1460 } });
  r.send({ flags: '.', seq: r.their(1), ack: r.our(1) });
  const rEp = listener!.accept()!;
  rEp.close();
  r.flush();
  r.send({ flags: 'F.', seq: r.their(1), ack: r.our(2) });
  t.deepEqual(s.stack.tcp.connections().map((c) => c.state).sort(), ['ESTABLISHED', 'TIME_WAIT']);

  const before = snap(s);
  p.quietUntil(1000);
  t.deepEqual(s.stack.tcp.crash(), { connections: 1, timeWait: 1, requests: 1 }, 'what was forgotten, as the trace says');
  t.deepEqual(p.flush(), [], 'a dead host sends nothing');
  t.deepEqual(s.stack.tcp.connections(), []);
  t.deepEqual(s.stack.tcp.listeners(), []);
  t.deepEqual(moved(s, before), {}, 'no counter moves (no TcpEstabResets, no TcpOutRsts)');
  t.is(s.stack.counters.TcpCurrEstab, 0);
  t.deepEqual(s.trace.filter((e) => e.kind === 'host-crash'), [{ kind: 'host-crash', t: 1000, connections: 1, timeWait: 1, requests: 1 }]);
  t.deepEqual(p.runUntil(200_000), [], 'no timer of the old incarnation fires: no retransmission, no SYN-ACK');
  t.deepEqual([rd(ep), rd(ep), rd(ep), wr(ep)], ['data:100', 'ECONNABORTED', 'EOF', 'EPIPE'], 'the old endpoint: queued data, then the error, then EOF');

  // The peer's data (with ACK): the reply reset RST seq = SEG.ACK.
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(101), ack: p.our(51), data: pattern(10) }), [rst(p.our(51))]);
  // The peer's keepalive probe: seq = its SND.UNA − 1, no data → RST seq = its ACK.
  t.deepEqual(p.send({ flags: '.', seq: p.their(100), ack: p.our(51) }), [rst(p.our(51))]);
  // The request's third ACK and the TIME_WAIT pair's segment: no socket either.
  t.deepEqual(q.send({ flags: '.', seq: q.their(1), ack: q.our(1) }), [rst(q.our(1))]);
  t.deepEqual(r.send({ flags: 'F.', seq: r.their(1), ack: r.our(2) }), [rst(r.our(2))]);
  t.deepEqual(
    rsts(s.trace).map((e) => [e.path, e.reason, e.generator, e.flags, e.remote]),
    [
      ['noSocket', 'NO_SOCKET', 'reply', 'R', 40000],
      ['noSocket', 'NO_SOCKET', 'reply', 'R', 40000],
      ['noSocket', 'NO_SOCKET', 'reply', 'R', 40001],
      ['noSocket', 'NO_SOCKET', 'reply', 'R', 40002],
    ],
  );
  t.deepEqual(moved(s, before), { TcpOutRsts: 4 });
  t.is(s.stack.drops.NO_SOCKET, 4);
});

test('Host crash: after the crash the port can be bound again and a re-created listener accepts new connections', (t) => {
  const { s, peer: p } = passiveOpen({ rtt: 50 });
  p.quietUntil(1000);
  s.stack.tcp.crash();
  const l = s.stack.tcp.socket();
  t.is(call(() => l.bind(0, 80)), 'ok', 'the port is free');
  t.is(call(() => l.listen(16)), 'ok');
  const q = new TcpPeer(s, { port: 40000, iss: 90_000 });
  p.quietUntil(2000);
  const [synAck] = q.send({ flags: 'S', seq: q.iss, win: 64240, opts: { mss: 1460, sackOk: true, ts: [q.tsVal(), 0], ws: 7 } });
  t.deepEqual({ ...synAck!, seq: 0, opts: { ...synAck!.opts, ts: undefined } }, { flags: 'S.', seq: 0, ack: q.their(1), win: 65160, len: 0, opts: { mss: 1460, sackOk: true, ts: undefined, ws: 10 } });
  q.ts = true;
  q.send({ flags: '.', seq: q.their(1), ack: q.our(1) });
  const child = l.accept();
  t.is(child?.state, 'ESTABLISHED');
  t.is(s.stack.counters.TcpPassiveOpens, 2);
});

test('Host crash, both ends ours: the server crashes, the client\'s keepalive probe gets the RST seq = probe.ack → ECONNRESET', (t) => {
  const traceB: TraceEvent[] = [];
  const w = new World({ b: { trace: (e) => traceB.push(e) } });
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(16);
  const client = w.a.tcp.socket();
  client.setKeepAlive(true, 1, 1, 2);
  client.connect(formatIpv4(ADDR_B), 7);
  w.run(1000, () => client.state === 'ESTABLISHED');
  const child = server.accept()!;
  const beforeA = snap(w.a);
  const beforeB = snap(w.b);
  w.run(500);
  w.b.tcp.crash();
  w.run(10_000);
  t.is(client.state, 'CLOSED');
  t.deepEqual([rd(client), rd(client), wr(client)], ['ECONNRESET', 'EOF', 'EPIPE']);
  t.is(rd(child), 'ECONNABORTED');
  t.deepEqual(moved(w.a, beforeA), { TcpEstabResets: 1, TcpExtTCPKeepAlive: 1 });
  t.deepEqual(moved(w.b, beforeB), { TcpOutRsts: 1 });
  // Keepalive idle counts from the last segment received: the handshake at t=0, so the probe at 1 s.
  t.deepEqual(w.log.filter((e) => e.t > 0).map((e) => [e.t, e.from]), [[1000, 'a'], [1000, 'b']], 'the probe and the RST, nothing else');
  t.deepEqual(rsts(traceB).map((e) => [e.t, e.path, e.reason, e.flags]), [[1000, 'noSocket', 'NO_SOCKET', 'R']]);
});
