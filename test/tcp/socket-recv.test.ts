/**
 * The receive side of the socket API (docs/linux-behaviour.md, The receive
 * side of the socket API): MSG_PEEK, SIOCINQ and the TCP_INQ hint,
 * SO_RCVLOWAT's readiness, TCP_QUICKACK, TCP_DEFER_ACCEPT (listener and
 * connecting socket) and connect(AF_UNSPEC), driven by a scripted peer in
 * virtual time.
 */
import test from 'ava';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, SocketError, type Endpoint } from '../../stack/socket/types.ts';
import { moved, rsts, snap } from '../helpers/reset-paths.ts';
import { activeOpen, passiveOpen, pattern, PEER_IP, TcpPeer } from '../helpers/tcp-peer.ts';
import { testStack } from '../helpers/stack.ts';

const tcp = (ep: Endpoint): TcpEndpoint => {
  if (!(ep instanceof TcpEndpoint)) throw new Error('not a TCP endpoint');
  return ep;
};

test('MSG_PEEK copies without consuming; SIOCINQ and the TCP_INQ hint count what is left, the FIN as one byte in the hint', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  e.setsockopt('TCP_INQ', true);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(1000) });
  t.deepEqual(e.peek(300), pattern(300));
  t.deepEqual(e.peek(5000), pattern(1000), 'a peek past the end returns what is there');
  t.is(e.inq(), 1000, 'peeking consumed nothing');
  t.deepEqual(e.read(400), pattern(400));
  t.is(e.inqHint(), 600);
  p.send({ flags: 'F.', seq: p.their(1001), ack: p.our(1) });
  t.is(e.inq(), 600, 'SIOCINQ does not count the FIN');
  t.is(e.inqHint(), 601, 'tcp_inq_hint does: rcv_nxt - copied_seq');
  t.deepEqual(e.read(), pattern(600, 400));
  t.is(e.inqHint(), 1, 'after the FIN, 1 rather than 0 (SOCK_DONE)');
  t.is(e.inq(), 0);
  t.deepEqual(e.peek(), new Uint8Array(0), 'end of stream');
  e.setsockopt('TCP_INQ', false);
  t.is(e.inqHint(), undefined, 'no hint without TCP_INQ');
});

test('SIOCINQ on a listener is EINVAL', (t) => {
  const s = testStack({}, 1);
  const l = tcp(s.stack.tcp.socket());
  l.bind(0, 80);
  l.listen(4);
  const e = t.throws(() => l.inq(), { instanceOf: SocketError });
  t.is(e?.code, 'EINVAL');
});

test('SO_RCVLOWAT: POLLIN once the mark is queued (or the FIN came); 0 reads back as 1, a negative value as half of tcp_rmem[2]', (t) => {
  const { peer: p, ep, s } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  e.setsockopt('SO_RCVLOWAT', 0);
  t.is(e.getsockopt('SO_RCVLOWAT'), 1);
  e.setsockopt('SO_RCVLOWAT', 1500);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(1000) });
  t.is(ep.poll() & POLLIN, 0, '1000 of 1500: not readable');
  p.send({ flags: 'P.', seq: p.their(1001), ack: p.our(1), data: pattern(500, 1000) });
  t.is(ep.poll() & POLLIN, POLLIN, '1500: readable');
  t.is(ep.read(1000)!.length, 1000);
  t.is(ep.poll() & POLLIN, 0, '500 left: not readable again');
  p.send({ flags: 'F.', seq: p.their(1501), ack: p.our(1) });
  t.is(ep.poll() & POLLIN, POLLIN, 'the FIN makes it readable');
  e.setsockopt('SO_RCVLOWAT', -1);
  t.is(e.getsockopt('SO_RCVLOWAT'), s.stack.sysctl.tcp_rmem[2] >> 1);
});

test('TCP_QUICKACK: 0 delays the ACK of data (ping-pong); 1 with an ACK owed and the data read sends it now', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  t.is(e.getsockopt('TCP_QUICKACK'), 1);
  e.setsockopt('TCP_QUICKACK', 0);
  t.is(e.getsockopt('TCP_QUICKACK'), 0);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(10) }), [], 'interactive: no quick ACK');
  t.is(ep.read()!.length, 10);
  t.deepEqual(p.flush(), [], 'reading does not send it either (pushed once, interactive)');
  p.quietUntil(55);
  e.setsockopt('TCP_QUICKACK', 1);
  const acks = p.flush();
  t.is(acks.length, 1);
  t.is(acks[0]!.ack, p.their(11));
  t.is(e.getsockopt('TCP_QUICKACK'), 1);
});

test('TCP_DEFER_ACCEPT: seconds as SYN-ACK timeouts (secs_to_retrans), read back as the seconds those span', (t) => {
  const s = testStack({}, 1);
  const l = tcp(s.stack.tcp.socket());
  for (const [set, get] of [
    [0, 0],
    [-5, 0],
    [1, 1],
    [2, 3],
    [5, 7],
    [100, 127],
    [1000, 1087],
  ] as const) {
    l.setsockopt('TCP_DEFER_ACCEPT', set);
    t.is(l.getsockopt('TCP_DEFER_ACCEPT'), get, `${set} s`);
  }
});

/** A listener with TCP_DEFER_ACCEPT 5 s (three SYN-ACK timeouts) and its peer. */
function deferringListener(): { s: ReturnType<typeof testStack>; p: TcpPeer; l: ReturnType<typeof tcp> } {
  const s = testStack({}, 1);
  const p = new TcpPeer(s, {});
  const l = tcp(s.stack.tcp.socket());
  l.bind(0, p.stackPort);
  l.setsockopt('TCP_DEFER_ACCEPT', 5);
  l.listen(4);
  return { s, p, l };
}

test('TCP_DEFER_ACCEPT on a listener: the bare third ACK is dropped (TCPDeferAcceptDrop), no SYN-ACK until the last timeout of the deferral; data completes the handshake', (t) => {
  const { s, p, l } = deferringListener();
  t.is(p.send({ flags: 'S', seq: p.iss, opts: { mss: 1000 } })[0]!.flags, 'S.');
  p.quietUntil(100);
  const before = snap(s);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1) }), []);
  t.deepEqual(moved(s, before), { TcpExtTCPDeferAcceptDrop: 1 }, 'dropped, counted');
  t.is(l.accept(), null);
  const synacks = p.runUntil(7_500);
  t.deepEqual(
    synacks.map((x) => [x.t, x.flags]),
    [[7000, 'S.']],
    'the request waits for data silently at 1 s and 3 s; a last SYN-ACK at 7 s',
  );
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(10) });
  const child = l.accept();
  t.truthy(child);
  t.deepEqual(child!.read(), pattern(10));
  t.is(tcp(child!).getsockopt('TCP_DEFER_ACCEPT'), 0, 'not inherited');
});

test('TCP_DEFER_ACCEPT on a listener: an acked request that never sends data is dropped when both the retries and the deferral are over (63 s)', (t) => {
  const { p } = deferringListener();
  p.send({ flags: 'S', seq: p.iss, opts: { mss: 1000 } });
  p.quietUntil(100);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1) });
  t.deepEqual(
    p.runUntil(100_000).map((x) => x.t),
    [7000, 15000, 31000],
    'SYN-ACKs from the deferral\'s last timeout on, none at 63 s: the request is gone',
  );
  const answer = p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(10) });
  t.is(answer[0]?.flags, 'R', 'the listener resets an ACK for no request');
});

test('TCP_DEFER_ACCEPT before connect(): the handshake ACK waits 200 ms for data, and the first write carries it', (t) => {
  const { peer: p, handshake } = activeOpen({ rtt: 50 }, (ep) => tcp(ep).setsockopt('TCP_DEFER_ACCEPT', 1));
  t.deepEqual(handshake.slice(1), [], 'no ACK with the SYN-ACK');
  const late = p.runUntil(300);
  t.deepEqual(
    late.map((x) => [x.t, x.flags]),
    [[250, '.']],
  );
  const second = activeOpen({ rtt: 50 }, (ep) => tcp(ep).setsockopt('TCP_QUICKACK', 0));
  t.deepEqual(second.handshake.slice(1), []);
  second.peer.quietUntil(100);
  second.ep.write(pattern(100));
  const out = second.peer.flush();
  t.is(out.length, 1);
  t.is(out[0]!.len, 100, 'the data carries the ACK');
});

test('connect(AF_UNSPEC) from ESTABLISHED: RST (path disconnect), ECONNRESET left for SO_ERROR and POLLERR, the queue purged, the socket reusable', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(100) });
  p.quietUntil(100);
  const port = ep.localPort;
  tcp(ep).disconnect();
  const out = p.flush();
  t.is(out.length, 1);
  t.is(out[0]!.flags, 'R.');
  t.is(rsts(s.trace).at(-1)?.path, 'disconnect');
  t.is(ep.state, 'CLOSED');
  t.is(ep.poll(), POLLOUT | POLLHUP | POLLERR);
  t.is(ep.getError(), 'ECONNRESET');
  t.is(ep.poll(), POLLOUT | POLLHUP);
  t.is(tcp(ep).inq(), 0);
  const e = t.throws(() => ep.read(), { instanceOf: SocketError });
  t.is(e?.code, 'ENOTCONN');
  t.is(ep.localPort, 0, 'the port connect() picked is let go');
  t.not(port, 0);
  ep.connect(PEER_IP, 81);
  t.is(ep.state, 'SYN_SENT', 'connect() works again');
});

test('connect(AF_UNSPEC): a bound port stays bound; from SYN_SENT nothing is sent but ECONNRESET is left', (t) => {
  const s = testStack({}, 1);
  const ep = s.stack.tcp.socket();
  ep.bind(0, 5555);
  ep.connect(PEER_IP, 80);
  s.stack.flush();
  tcp(ep).disconnect();
  t.is(ep.getError(), 'ECONNRESET');
  t.is(ep.localPort, 5555);
  const other = s.stack.tcp.socket();
  const e = t.throws(() => other.bind(0, 5555), { instanceOf: SocketError });
  t.is(e?.code, 'EADDRINUSE', 'the port is still ours');
  tcp(ep).disconnect();
  t.is(ep.getError(), undefined, 'from CLOSE: nothing');
});
