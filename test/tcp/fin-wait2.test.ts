/**
 * The FIN_WAIT2 timer of orphans, and TCP_LINGER2 (docs/linux-behaviour.md,
 * FIN_WAIT2 timeout). tmo = max(TCP_LINGER2 or tcp_fin_timeout, 3.5·RTO)
 * (tcp_fin_time); ≤ 60 s → a FIN_WAIT2 minisock for tmo (tcp_time_wait),
 * whose expiry is silent, later segments finding no socket and getting the
 * reply reset (tcp_v4_send_reset). TCP_LINGER2 < 0 and close() in FIN_WAIT2
 * (__tcp_close) → the active reset (tcp_send_active_reset) RST,ACK,
 * TCPAbortOnLinger, TCP_ABORT_ON_LINGER; TCP_LINGER2 < 0 with close() in
 * FIN_WAIT1: the ACK of our FIN gets the reply reset, TCPAbortOnData,
 * TCP_ABORT_ON_DATA (tcp_rcv_state_process). The differential scenario
 * fin-wait2 checks the silent expiry against the kernel. The minisock's
 * answer before expiry (the reply reset, TCP_TIMEWAIT_SOCKET) is in
 * data-after-close.test.ts.
 */
import test from 'ava';
import type { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { activeOpen, pattern, ACTIVE_WIN, type Opened } from '../helpers/tcp-peer.ts';
import { ADDR_B, World } from '../helpers/world.ts';

const rst = (seq: number) => ({ flags: 'R', seq, ack: 0, win: 0, len: 0, opts: {} });

/** Our stack (client, no listener anywhere) closes at 100 ms; the peer acknowledges the FIN at 150 ms. */
function orphanInFinWait2(o: Opened): void {
  const { peer: p, ep } = o;
  p.quietUntil(100);
  ep.close();
  p.flush();
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(2) });
}

for (const [finTimeout, counter] of [
  [60, 'TcpExtTW'],
  [3, 'TcpExtTWKilled'],
] as const) {
  test(`FIN_WAIT2 timeout: tcp_fin_timeout=${finTimeout}: the orphan's FIN_WAIT2 minisock expires ${finTimeout} s after the ACK of our FIN, silently; later data gets the reply reset, NO_SOCKET`, (t) => {
    const o = activeOpen({ rtt: 50, sysctl: { tcp_fin_timeout: finTimeout } });
    const { s, peer: p } = o;
    const before = snap(s);
    orphanInFinWait2(o);
    const end = 150 + finTimeout * 1000;
    t.deepEqual(s.stack.tcp.connections().map((c) => [c.state, c.timer]), [['FIN_WAIT2', { on: 'fin_wait2', expiresIn: finTimeout * 1000 }]]);
    t.deepEqual(moved(s, before), { [counter]: 1 }, `__inet_twsk_schedule counts ${counter} (timeout ${finTimeout <= 4 ? '≤' : '>'} 4 s)`);
    t.deepEqual(p.runUntil(end - 1), []);
    t.deepEqual(s.stack.tcp.connections().map((c) => c.state), ['FIN_WAIT2']);
    t.deepEqual(p.runUntil(end), [], 'expiry sends nothing');
    t.deepEqual(s.stack.tcp.connections(), []);
    t.deepEqual(moved(s, before), { [counter]: 1 }, 'and counts nothing');

    p.quietUntil(end + 1000);
    t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(2), data: pattern(100) }), [rst(p.our(2))]);
    t.deepEqual(rsts(s.trace), [{ t: end + 1000, path: 'noSocket', reason: 'NO_SOCKET', generator: 'reply', flags: 'R', seq: p.our(2), ack: 0, local: p.stackPort, remote: 80 }]);
    t.deepEqual(moved(s, before), { [counter]: 1, TcpOutRsts: 1 });
  });
}

test('FIN_WAIT2 timeout: tcp_fin_timeout=3: just before expiry the minisock still answers data with the reply reset, TCP_TIMEWAIT_SOCKET (as for data after close)', (t) => {
  const o = activeOpen({ rtt: 50, sysctl: { tcp_fin_timeout: 3 } });
  const { s, peer: p } = o;
  orphanInFinWait2(o);
  p.quietUntil(3149);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(2), data: pattern(100) }), [rst(p.our(2))]);
  t.deepEqual(rsts(s.trace).map((e) => [e.t, e.path, e.reason]), [[3149, 'timewaitSocket', 'TCP_TIMEWAIT_SOCKET']]);
});

test('FIN_WAIT2 timeout: TCP_LINGER2 < 0 and close() in FIN_WAIT2 → RST,ACK seq SND.NXT at once (TCPAbortOnLinger, TCP_ABORT_ON_LINGER)', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.shutdown('write');
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq]), [['F.', p.our(1)]]);
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(2) });
  t.is(ep.state, 'FIN_WAIT2');
  t.deepEqual(p.runUntil(10_000), [], 'not an orphan: no FIN_WAIT2 timer');
  (ep as TcpEndpoint).setLinger2(-1);
  const before = snap(s);
  ep.close();
  t.deepEqual(p.flush(), [{ flags: 'R.', seq: p.our(2), ack: p.their(1), win: ACTIVE_WIN, len: 0, opts: { ts: [p.stackTs(10_000), p.tsVal(150)] } }]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpExtTCPAbortOnLinger: 1 });
  t.deepEqual(rsts(s.trace), [{ t: 10_000, path: 'linger2', reason: 'TCP_ABORT_ON_LINGER', generator: 'active', flags: 'R.', seq: p.our(2), ack: p.their(1), local: p.stackPort, remote: 80 }]);
  t.deepEqual(s.stack.tcp.connections(), []);
});

test('FIN_WAIT2 timeout: TCP_LINGER2 < 0 and close() in FIN_WAIT1 → the ACK of our FIN is answered with the reply reset RST seq SEG.ACK (TCPAbortOnData, TCP_ABORT_ON_DATA)', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  (ep as TcpEndpoint).setLinger2(-1);
  p.quietUntil(100);
  ep.close();
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq]), [['F.', p.our(1)]]);
  const before = snap(s);
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(2) }), [rst(p.our(2))]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpExtTCPAbortOnData: 1 }, 'tcp_done from FIN_WAIT2: no minisock, no TcpExtTW');
  t.deepEqual(rsts(s.trace), [{ t: 150, path: 'abortOnData', reason: 'TCP_ABORT_ON_DATA', generator: 'reply', flags: 'R', seq: p.our(2), ack: 0, local: p.stackPort, remote: 80 }]);
  t.deepEqual(s.stack.tcp.connections(), []);
});

test('FIN_WAIT2 timeout, both ends ours: TCP_LINGER2 = −1 close in FIN_WAIT2; the peer in CLOSE_WAIT reads 0 and its write gets EPIPE', (t) => {
  const traceA: TraceEvent[] = [];
  const w = new World({ a: { trace: (e) => traceA.push(e) } });
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(16);
  const client = w.a.tcp.socket();
  client.connect(formatIpv4(ADDR_B), 7);
  w.run(1000, () => client.state === 'ESTABLISHED');
  const child = server.accept()!;
  client.shutdown('write');
  w.run(2000);
  t.deepEqual([client.state, child.state], ['FIN_WAIT2', 'CLOSE_WAIT']);
  const beforeA = snap(w.a);
  const beforeB = snap(w.b);
  (client as TcpEndpoint).setLinger2(-1);
  client.close();
  w.run(3000);
  t.deepEqual(moved(w.a, beforeA), { TcpOutRsts: 1, TcpExtTCPAbortOnLinger: 1 });
  t.deepEqual(moved(w.b, beforeB), { TcpEstabResets: 1 });
  t.deepEqual([rd(child), wr(child), wr(child), rd(child)], ['EOF', 'EPIPE', 'EPIPE', 'EOF']);
  t.deepEqual(rsts(traceA).map((e) => [e.path, e.reason, e.flags]), [['linger2', 'TCP_ABORT_ON_LINGER', 'R.']]);
});
