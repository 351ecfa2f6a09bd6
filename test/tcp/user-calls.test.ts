/**
 * TCP's user-call API beyond the open/close paths the other files cover:
 * abort (tcp_abort, what `ss -K` / SOCK_DESTROY calls), setsockopt and
 * getsockopt with Linux's ranges and defaults, options a child inherits from
 * its listener, and every state change traced (the minisock ones included).
 */
import test from 'ava';
import type { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { SocketError } from '../../stack/socket/types.ts';
import { moved, rd, rsts, snap } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, passiveOpen, pattern, PASSIVE_WIN } from '../helpers/tcp-peer.ts';

const stateChanges = (trace: readonly TraceEvent[]): string[] => trace.flatMap((e) => (e.kind === 'tcp-state' ? [`${e.from}→${e.to}`] : []));

test('ss -K (stack.tcp.destroy) on an established connection: active reset seq SND.NXT ack RCV.NXT, traced userAbort / tcp_abort / TCP_STATE; the owner reads ECONNABORTED once, then EOF', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(10) });
  t.deepEqual(ep.read(), pattern(10));
  const before = snap(s);
  p.quietUntil(200);
  t.is(s.stack.tcp.destroy({ localPort: ep.localPort, remotePort: ep.remotePort }), 1);
  t.deepEqual(p.flush(), [{ flags: 'R.', seq: p.our(1), ack: p.their(11), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(200), p.tsVal(100)] } }]);
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpOutRsts: 1 });
  t.deepEqual(rsts(s.trace).map((r) => [r.path, r.reason, r.generator]), [['userAbort', 'TCP_STATE', 'active']]);
  t.is(ep.state, 'CLOSED');
  t.is(rd(ep), 'ECONNABORTED');
  t.is(rd(ep), 'EOF');
  t.deepEqual(s.stack.tcp.connections(), []);
  t.is(s.stack.tcp.destroy({ localPort: ep.localPort }), 0, 'nothing left to destroy');
});

test('ss -K on a TIME_WAIT minisock: gone at once without a segment (tcp_abort: inet_twsk_deschedule_put), traced TIME_WAIT → CLOSED; the 4-tuple is free', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.close();
  p.flush();
  p.quietUntil(150);
  p.send({ flags: 'F.', seq: p.their(1), ack: p.our(2) });
  t.deepEqual(s.stack.tcp.connections().map((c) => c.state), ['TIME_WAIT']);
  const before = snap(s);
  p.quietUntil(200);
  t.is(s.stack.tcp.destroy({ localPort: ep.localPort, remoteAddress: '198.18.0.1', remotePort: p.port }), 1);
  t.deepEqual(p.flush(), [], 'nothing on the wire');
  t.deepEqual(moved(s, before), {});
  t.deepEqual(s.stack.tcp.connections(), []);
  t.deepEqual(stateChanges(s.trace).slice(-1), ['TIME_WAIT→CLOSED']);
  // A late ACK now meets the listener: RST seq = SEG.ACK, as after TIME_WAIT's 60 s.
  t.deepEqual(p.send({ flags: '.', seq: p.their(2), ack: p.our(2) }).map((r) => [r.flags, r.seq]), [['R', p.our(2)]]);
});

test('ss -K on a listener: closed under its owner as close() would (inet_csk_listen_stop: the queued child is reset), accept() then EINVAL; connections are not touched', (t) => {
  const { s, peer: p, ep, listener } = passiveOpen({ rtt: 50 });
  // A second connection, established and left in the accept queue.
  const q = new TcpPeer(s, { port: p.port + 1, stackPort: p.stackPort, iss: 7000 });
  q.send({ flags: 'S', seq: q.iss, opts: { mss: 1460 } });
  q.quietUntil(100);
  q.send({ flags: '.', seq: q.their(1), ack: q.our(1) });
  t.is(s.stack.tcp.listeners()[0]!.acceptQueue, 1);
  t.is(s.stack.tcp.destroy({ listener: true, localPort: p.stackPort + 1 }), 0, 'another port: nothing');
  t.is(s.stack.tcp.destroy({ listener: true, localPort: p.stackPort, localAddress: '::' }), 0, "the IPv6 wildcard is not this IPv4 listener's");
  t.is(s.stack.tcp.destroy({ listener: true, localPort: p.stackPort, localAddress: '0.0.0.0', family: 4 }), 1);
  t.deepEqual(s.stack.tcp.listeners(), []);
  t.deepEqual(q.flush().map((r) => [r.flags, r.seq]), [['R.', q.our(1)]], 'the queued child is reset');
  t.deepEqual(p.flush(), [], 'the accepted connection is not the listener');
  t.is(ep.state, 'ESTABLISHED');
  t.throws(() => listener!.accept(), { instanceOf: SocketError, message: /EINVAL/ });
});

test('abort() in SYN_SENT: nothing on the wire (tcp_need_reset is false), ECONNABORTED, TcpAttemptFails; the late SYN-ACK meets no socket', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket() as TcpEndpoint;
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  const before = snap(s);
  p.quietUntil(100);
  ep.abort();
  t.deepEqual(p.flush(), []);
  t.deepEqual(moved(s, before), { TcpAttemptFails: 1 });
  t.is(ep.getError(), 'ECONNABORTED');
  p.quietUntil(200);
  const reply = p.send({ flags: 'S.', seq: p.iss, ack: p.our(1) });
  t.deepEqual(reply.map((r) => [r.flags, r.seq]), [['R', p.our(1)]]);
  t.deepEqual(rsts(s.trace).map((r) => r.path), ['noSocket']);
});

test('getsockopt gives the sysctl defaults until set; SO_RCVBUF/SO_SNDBUF read back doubled; out-of-range values are EINVAL and change nothing', (t) => {
  const s = testStack({ sysctl: { tcp_keepalive_time: 7200, tcp_keepalive_intvl: 75, tcp_keepalive_probes: 9, tcp_syn_retries: 6, tcp_fin_timeout: 60 } });
  const ep = s.stack.tcp.socket() as TcpEndpoint;
  t.deepEqual(
    [ep.getsockopt('TCP_KEEPIDLE'), ep.getsockopt('TCP_KEEPINTVL'), ep.getsockopt('TCP_KEEPCNT'), ep.getsockopt('TCP_SYNCNT'), ep.getsockopt('TCP_LINGER2')],
    [7200, 75, 9, 6, 60],
  );
  t.deepEqual([ep.getsockopt('TCP_NODELAY'), ep.getsockopt('SO_KEEPALIVE'), ep.getsockopt('TCP_USER_TIMEOUT')], [false, false, 0]);
  ep.setsockopt('SO_RCVBUF', 100_000);
  ep.setsockopt('SO_SNDBUF', 1000);
  t.deepEqual([ep.getsockopt('SO_RCVBUF'), ep.getsockopt('SO_SNDBUF')], [200_000, 4608], 'doubled; the send buffer floored at SOCK_MIN_SNDBUF');
  ep.setKeepAlive(true, 30, 5, 3);
  t.deepEqual([ep.getsockopt('SO_KEEPALIVE'), ep.getsockopt('TCP_KEEPIDLE'), ep.getsockopt('TCP_KEEPINTVL'), ep.getsockopt('TCP_KEEPCNT')], [true, 30, 5, 3]);
  for (const [name, value] of [
    ['TCP_KEEPIDLE', 0],
    ['TCP_KEEPINTVL', 32768],
    ['TCP_KEEPCNT', 128],
    ['TCP_SYNCNT', 0],
    ['TCP_USER_TIMEOUT', -1],
  ] as const) {
    const error = t.throws(() => ep.setsockopt(name, value), { instanceOf: SocketError });
    t.deepEqual([error?.code, error?.syscall], ['EINVAL', 'setsockopt'], name);
  }
  t.deepEqual([ep.getsockopt('TCP_KEEPIDLE'), ep.getsockopt('TCP_SYNCNT')], [30, 6], 'a refused value leaves the old one');
  ep.close();
  t.is(t.throws(() => ep.getsockopt('TCP_NODELAY'), { instanceOf: SocketError })?.code, 'EBADF');
});

test('a child carries its listener\'s options (sk_clone_lock): TCP_NODELAY, keepalive, TCP_LINGER2', (t) => {
  const s = testStack();
  const listener = s.stack.tcp.socket() as TcpEndpoint;
  listener.setNoDelay(true);
  listener.setKeepAlive(true, 100);
  listener.setLinger2(-1);
  listener.bind(0, 80);
  listener.listen(4);
  const p = new TcpPeer(s, { port: 40000, stackPort: 80, iss: 9000 });
  t.is(p.send({ flags: 'S', seq: p.iss })[0]?.flags, 'S.');
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1) });
  const child = listener.accept() as TcpEndpoint | null;
  t.truthy(child);
  t.deepEqual([child!.getsockopt('TCP_NODELAY'), child!.getsockopt('SO_KEEPALIVE'), child!.getsockopt('TCP_KEEPIDLE'), child!.getsockopt('TCP_LINGER2')], [true, true, 100, -1]);
  t.deepEqual(child!.info().timers?.find((x) => x.on === 'keepalive'), { on: 'keepalive', expiresIn: 100_000 }, 'keepalive armed at birth from the listener\'s idle time');
});

test('every state change is traced, the minisock\'s too: FIN_WAIT2 → TIME_WAIT on the peer\'s FIN and TIME_WAIT → CLOSED at expiry', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.close();
  p.flush();
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(2) });
  t.deepEqual(stateChanges(s.trace).slice(-2), ['ESTABLISHED→FIN_WAIT1', 'FIN_WAIT1→FIN_WAIT2']);
  p.quietUntil(200);
  p.send({ flags: 'F.', seq: p.their(1), ack: p.our(2) });
  t.deepEqual(stateChanges(s.trace).slice(-1), ['FIN_WAIT2→TIME_WAIT'], 'the FIN_WAIT2 minisock became a TIME_WAIT one');
  p.runUntil(60_200);
  t.deepEqual(stateChanges(s.trace).slice(-1), ['TIME_WAIT→CLOSED']);
  t.deepEqual(s.stack.tcp.connections(), []);
});
