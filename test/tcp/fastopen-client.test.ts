/**
 * TCP Fast Open, the active side (RFC 7413; docs/linux-behaviour.md, "Fast
 * Open: the client"), segment by segment: the cookie request and the
 * cache, SYN data sized by the cached MSS, the SYN-ACK acknowledging all
 * or none of it, SYN timeouts, TCP_FASTOPEN_CONNECT's deferred SYN, the
 * errnos, `ip tcp_metrics flush`, and the blackhole pause.
 */
import test from 'ava';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { POLLOUT, SocketError } from '../../stack/socket/types.ts';
import type { Sysctls } from '../../stack/sysctl.ts';
import { testStack, type TestStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, type Seen } from '../helpers/tcp-peer.ts';

const COOKIE = 'abcd1234';

function setup(sysctl: Partial<Sysctls> = {}): { s: TestStack; peer: TcpPeer } {
  const s = testStack({ sysctl: { tcp_timestamps: 0, ...sysctl } });
  return { s, peer: new TcpPeer(s, { port: 80, iss: 5000 }) };
}

function socket(s: TestStack): TcpEndpoint {
  return s.stack.tcp.socket() as TcpEndpoint;
}

/** sendto(MSG_FASTOPEN) of `len` bytes without waiting: the bytes the SYN took; the peer learns our port and ISN from the SYN. */
function fastOpen(_s: TestStack, peer: TcpPeer, ep: TcpEndpoint, len: number): { copied: number; syn: Seen[] } {
  const r = ep.sendFastOpen(new Uint8Array(len), PEER_IP, 80, false);
  if (r === 'connected') throw new Error('already connected');
  peer.stackPort = ep.localPort;
  peer.stackIss = undefined;
  return { copied: r.copied, syn: peer.flush() };
}

/** close(), and the peer's FIN acknowledging ours: the connection rests in TIME_WAIT, with no timer that sends. */
function closeBoth(peer: TcpPeer, ep: TcpEndpoint): void {
  ep.close();
  const [fin] = peer.flush();
  if (fin === undefined || !fin.flags.includes('F')) throw new Error(`no FIN: ${JSON.stringify(fin)}`);
  peer.send({ flags: 'F.', seq: fin.ack, ack: fin.seq + fin.len + 1 });
}

/** A first connection asks for a cookie; the SYN-ACK gives `cookie` and MSS `mss`; then it closes. */
function warmUp(s: TestStack, peer: TcpPeer, cookie = COOKIE, mss = 1460): void {
  const ep = socket(s);
  fastOpen(s, peer, ep, 0);
  peer.quietUntil(s.clock.now() + 10);
  peer.send({ flags: 'S.', seq: 5000, ack: peer.our(1), opts: { mss, sackOk: true, ws: 6, fo: { cookie } } });
  closeBoth(peer, ep);
}

const SYN_OPTS = { mss: 1460, sackOk: true as const, ws: 10 };

test('a cookie request: an empty Fast Open option and no data, even with data offered; the SYN-ACK\'s cookie and MSS are cached', (t) => {
  const { s, peer } = setup();
  const ep = socket(s);
  const { copied, syn } = fastOpen(s, peer, ep, 1000);
  t.is(copied, 0, 'nothing went: EINPROGRESS for a caller that does not wait');
  t.deepEqual(syn, [{ flags: 'S', seq: peer.our(0), ack: 0, win: 64240, len: 0, opts: { ...SYN_OPTS, fo: { cookie: '' } } }]);
  t.deepEqual(peer.log[0]!.optionKinds, [2, 1, 1, 4, 1, 3, 34, 1, 1], 'MSS, NOP NOP SACK_PERM, NOP WS, FO, NOP NOP');
  peer.quietUntil(10);
  t.deepEqual(peer.send({ flags: 'S.', seq: 5000, ack: peer.our(1), opts: { mss: 940, sackOk: true, ws: 6, fo: { cookie: COOKIE } } }).map((p) => p.flags), ['.']);
  t.is(ep.state, 'ESTABLISHED');
  t.is(s.stack.counters.TcpExtTCPFastOpenActive, 0, 'no data went in the SYN');
  closeBoth(peer, ep);

  // The next connection: the cookie, and data for one segment of the cached MSS less 40 bytes of option room.
  const ep2 = socket(s);
  const second = fastOpen(s, peer, ep2, 2000);
  t.is(second.copied, 900);
  t.deepEqual(second.syn, [{ flags: 'S', seq: peer.our(0), ack: 0, win: 64240, len: 900, opts: { ...SYN_OPTS, fo: { cookie: COOKIE } } }]);
  peer.quietUntil(s.clock.now() + 20);
  t.deepEqual(peer.send({ flags: 'S.', seq: 9000, ack: peer.our(901), opts: { mss: 1460, sackOk: true, ws: 6 } }), [
    { flags: '.', seq: peer.our(901), ack: 9001, win: 63, len: 0, opts: {} },
  ]);
  t.is(s.stack.counters.TcpExtTCPFastOpenActive, 1, 'all of the SYN data acknowledged');
  t.is(ep2.info().synData, true, 'TCPI_OPT_SYN_DATA');
  t.is(ep2.info().sendQ, 0);
});

test('a SYN-ACK that acknowledges only the SYN: the SYN data goes again at once (it carries the ACK); TCPFastOpenActiveFail', (t) => {
  const { s, peer } = setup();
  warmUp(s, peer);
  const ep = socket(s);
  t.is(fastOpen(s, peer, ep, 700).copied, 700);
  peer.quietUntil(s.clock.now() + 20);
  t.deepEqual(peer.send({ flags: 'S.', seq: 7000, ack: peer.our(1), opts: { mss: 1040, sackOk: true, ws: 6 } }), [
    { flags: 'P.', seq: peer.our(1), ack: 7001, win: 63, len: 700, opts: {} },
  ]);
  t.is(s.stack.counters.TcpExtTCPFastOpenActiveFail, 1);
  t.is(s.stack.counters.TcpExtTCPFastOpenActive, 0);
  t.is(ep.info().synData, false);
  peer.quietUntil(s.clock.now() + 20);
  peer.send({ flags: '.', seq: 7001, ack: peer.our(701) });
  t.is(ep.info().sendQ, 0);
});

test('a SYN-ACK that acknowledges part of the SYN data: the rest goes again at once', (t) => {
  const { s, peer } = setup();
  warmUp(s, peer);
  const ep = socket(s);
  t.is(fastOpen(s, peer, ep, 18).copied, 18);
  peer.quietUntil(s.clock.now() + 5);
  t.deepEqual(peer.send({ flags: 'S.', seq: 7000, ack: peer.our(10), opts: { mss: 1460, sackOk: true, ws: 6 } }), [
    { flags: 'P.', seq: peer.our(10), ack: 7001, win: 63, len: 9, opts: {} },
  ]);
});

test('SYN data times out: the SYN goes again without data or Fast Open option; the data follows the SYN-ACK; the cookie stays cached', (t) => {
  const { s, peer } = setup();
  warmUp(s, peer);
  const ep = socket(s);
  const start = s.clock.now();
  t.is(fastOpen(s, peer, ep, 1000).copied, 1000);
  peer.quietUntil(start + 999);
  t.deepEqual(peer.runUntil(start + 1000), [{ t: start + 1000, flags: 'S', seq: peer.our(0), ack: 0, win: 64240, len: 0, opts: SYN_OPTS }]);
  peer.quietUntil(start + 1020);
  t.deepEqual(peer.send({ flags: 'S.', seq: 0, ack: peer.our(1), opts: { mss: 1460, sackOk: true, ws: 6 } }), [
    { flags: 'P.', seq: peer.our(1), ack: 1, win: 63, len: 1000, opts: {} },
  ]);
  peer.send({ flags: '.', seq: 1, ack: peer.our(1001) });
  closeBoth(peer, ep);
  const again = fastOpen(s, peer, socket(s), 10);
  t.deepEqual(again.syn[0]!.opts.fo, { cookie: COOKIE }, 'a cookieless SYN-ACK after a SYN timeout is no reason to forget the cookie');
});

test('TCP_FASTOPEN_CONNECT: with a cookie, connect() sends nothing and is writable; the first write sends the SYN with data', (t) => {
  const { s, peer } = setup();
  warmUp(s, peer);
  const ep = socket(s);
  ep.setsockopt('TCP_FASTOPEN_CONNECT', 1);
  ep.connect(PEER_IP, 80);
  t.true(ep.connectDeferred);
  t.is(ep.state, 'SYN_SENT');
  t.throws(() => ep.connect(PEER_IP, 80), { message: 'connect EISCONN' });
  t.is(ep.poll() & POLLOUT, POLLOUT);
  peer.stackPort = ep.localPort;
  peer.stackIss = undefined;
  t.deepEqual(peer.flush(), []);
  t.is(ep.write(new Uint8Array(1000)), 1000);
  t.false(ep.connectDeferred);
  const [syn] = peer.flush();
  t.deepEqual([syn!.flags, syn!.len, syn!.opts.fo], ['S', 1000, { cookie: COOKIE }]);
  t.is(ep.poll() & POLLOUT, 0, 'then the handshake is under way');
});

test('TCP_FASTOPEN_CONNECT without a cookie: connect() sends a cookie request at once', (t) => {
  const { s, peer } = setup();
  const ep = socket(s);
  ep.setsockopt('TCP_FASTOPEN_CONNECT', 1);
  ep.connect(PEER_IP, 80);
  t.false(ep.connectDeferred);
  peer.stackPort = ep.localPort;
  const [syn] = peer.flush();
  t.deepEqual([syn!.flags, syn!.len, syn!.opts.fo], ['S', 0, { cookie: '' }]);
  t.throws(() => ep.sendFastOpen(new Uint8Array(10), PEER_IP, 80, false), { instanceOf: SocketError, message: 'sendmsg EALREADY' }, 'its request is still pending');
});

test('errnos: EOPNOTSUPP with the client bit off (sendto and TCP_FASTOPEN_CONNECT), EALREADY while the handshake is under way', (t) => {
  const { s, peer } = setup({ tcp_fastopen: 0 });
  const ep = socket(s);
  t.throws(() => ep.sendFastOpen(new Uint8Array(10), PEER_IP, 80, false), { message: 'sendmsg EOPNOTSUPP' });
  t.throws(() => ep.setsockopt('TCP_FASTOPEN_CONNECT', 1), { message: 'setsockopt EOPNOTSUPP' });
  s.stack.sysctl.tcp_fastopen = 1;
  t.throws(() => ep.setsockopt('TCP_FASTOPEN_CONNECT', 2), { message: 'setsockopt EINVAL' });
  fastOpen(s, peer, ep, 0);
  t.throws(() => ep.sendFastOpen(new Uint8Array(10), PEER_IP, 80, false), { message: 'sendmsg EALREADY' });
  t.throws(() => ep.setsockopt('TCP_FASTOPEN_CONNECT', 1), { message: 'setsockopt EINVAL' }, 'only before connect()');
});

test('net.ipv4.tcp_fastopen 0x4: SYN data without a cookie; an unsolicited cookie is not cached', (t) => {
  const { s, peer } = setup({ tcp_fastopen: 5 });
  const ep = socket(s);
  const { copied, syn } = fastOpen(s, peer, ep, 1000);
  t.is(copied, 1000);
  t.deepEqual(syn[0]!.opts, SYN_OPTS, 'no Fast Open option');
  peer.quietUntil(10);
  peer.send({ flags: 'S.', seq: 5000, ack: peer.our(1001), opts: { mss: 1460, sackOk: true, ws: 6, fo: { cookie: COOKIE } } });
  t.is(s.stack.counters.TcpExtTCPFastOpenActive, 1);
  closeBoth(peer, ep);
  s.stack.sysctl.tcp_fastopen = 1;
  t.deepEqual(fastOpen(s, peer, socket(s), 10).syn[0]!.opts.fo, { cookie: '' }, 'a request again');
});

test('no cookie in answer to a request: the next request uses the experimental option once, then RFC 7413\'s for good', (t) => {
  const { s, peer } = setup();
  const forms: Array<Seen['opts']['fo']> = [];
  for (let i = 0; i < 3; i++) {
    const ep = socket(s);
    const { syn } = fastOpen(s, peer, ep, 0);
    forms.push(syn[0]!.opts.fo);
    peer.quietUntil(s.clock.now() + 10);
    peer.send({ flags: 'S.', seq: 5000, ack: peer.our(1), opts: { mss: 1460, sackOk: true, ws: 6 } });
    closeBoth(peer, ep);
  }
  t.deepEqual(forms, [{ cookie: '' }, { cookie: '', exp: true }, { cookie: '' }]);
});

test('ip tcp_metrics flush forgets the cookie: the next SYN asks again', (t) => {
  const { s, peer } = setup();
  warmUp(s, peer);
  s.stack.tcp.flushMetrics();
  const { copied, syn } = fastOpen(s, peer, socket(s), 100);
  t.is(copied, 0);
  t.deepEqual(syn[0]!.opts.fo, { cookie: '' });
});

test('blackhole detection: SYN data timing out a third time pauses active Fast Open (TCPFastOpenBlackhole): SYNs go without option or data', (t) => {
  const { s, peer } = setup({ tcp_fastopen_blackhole_timeout_sec: 60 });
  warmUp(s, peer);
  const ep = socket(s);
  const start = s.clock.now();
  fastOpen(s, peer, ep, 100);
  t.is(peer.runUntil(start + 3500).length, 3, 'SYNs again at 1, 2 and 3 s (tcp_syn_linear_timeouts)');
  t.is(s.stack.counters.TcpExtTCPFastOpenBlackhole, 1);
  t.is(s.stack.counters.TcpExtTCPFastOpenActiveFail, 1);
  ep.close();
  const { copied, syn } = fastOpen(s, peer, socket(s), 100);
  t.is(copied, 0);
  t.deepEqual(syn[0]!.opts, SYN_OPTS);
});

test('with tcp_fastopen_blackhole_timeout_sec 0 (the default) the same timeouts pause nothing, but count TCPFastOpenActiveFail', (t) => {
  const { s, peer } = setup();
  warmUp(s, peer);
  const ep = socket(s);
  const start = s.clock.now();
  fastOpen(s, peer, ep, 100);
  t.is(peer.runUntil(start + 3500).length, 3);
  t.is(s.stack.counters.TcpExtTCPFastOpenBlackhole, 0);
  t.is(s.stack.counters.TcpExtTCPFastOpenActiveFail, 1);
  ep.close();
  t.is(fastOpen(s, peer, socket(s), 100).copied, 100);
});

test('the SYN data is no sub-MSS packet for Nagle (snd_sml stays at the ISS): with its retransmission in flight, a write\'s sub-MSS tail still goes', (t) => {
  const { s, peer } = setup();
  warmUp(s, peer);
  const ep = socket(s);
  t.is(fastOpen(s, peer, ep, 700).copied, 700);
  peer.quietUntil(s.clock.now() + 20);
  t.deepEqual(peer.send({ flags: 'S.', seq: 7000, ack: peer.our(1), opts: { mss: 1460, sackOk: true, ws: 6 } }).map((p) => [p.flags, p.len]), [['P.', 700]]);
  t.is(ep.write(new Uint8Array(1500)), 1500);
  t.deepEqual(peer.flush().map((p) => [p.seq, p.len]), [
    [peer.our(701), 1460],
    [peer.our(2161), 40],
  ]);
});

test('an unreadable buffer (EFAULT) with a cookie cached: the SYN falls back to a cookie request without data', (t) => {
  const { s, peer } = setup();
  warmUp(s, peer);
  const ep = socket(s);
  const r = ep.sendFastOpen(new Uint8Array(1), PEER_IP, 80, false, true);
  t.deepEqual(r, { copied: 0 });
  peer.stackPort = ep.localPort;
  peer.stackIss = undefined;
  const [syn] = peer.flush();
  t.deepEqual([syn!.flags, syn!.len, syn!.opts.fo], ['S', 0, { cookie: '' }]);
});

test('TCP_MAXSEG bounds the SYN data as it bounds the cached MSS (tcp_send_syn_data: tcp_mss_clamp), less the 40 bytes of option room', (t) => {
  const { s, peer } = setup();
  warmUp(s, peer);
  const ep = socket(s);
  t.is(ep.setsockopt('TCP_MAXSEG', 1040), undefined);
  t.is(fastOpen(s, peer, ep, 5000).copied, 1000);
});

test('MSG_ZEROCOPY on Fast Open: a SYN without data gives its id back; SYN data gets id 0, completed when the SYN-ACK acknowledges it', (t) => {
  const { s, peer } = setup();
  warmUp(s, peer);
  const ep = socket(s);
  ep.setsockopt('SO_ZEROCOPY', 1);
  const r = ep.sendFastOpen(new Uint8Array(500), PEER_IP, 80, false, false, true);
  if (r === 'connected') throw new Error('already connected');
  t.is(r.copied, 500);
  peer.stackPort = ep.localPort;
  peer.stackIss = undefined;
  t.is(peer.flush()[0]?.len, 500, 'the data went in the SYN');
  t.is(ep.recvErrorQueue(), null, 'nothing before the SYN-ACK');
  peer.quietUntil(s.clock.now() + 50);
  peer.send({ flags: 'S.', seq: 5000, ack: peer.our(501), opts: { mss: 1460, sackOk: true, ws: 6 } });
  const m = ep.recvErrorQueue();
  t.deepEqual(m?.ee, { errno: 0, origin: 5, type: 0, code: 1, info: 0, data: 0 }, 'SO_EE_ORIGIN_ZEROCOPY, SO_EE_CODE_ZEROCOPY_COPIED, ids 0..0');
  t.is(ep.recvErrorQueue(), null);

  // A cookie request (no cookie for this destination): the SYN takes nothing and the id is not spent.
  s.stack.tcp.flushMetrics();
  const ep2 = socket(s);
  ep2.setsockopt('SO_ZEROCOPY', 1);
  const r2 = ep2.sendFastOpen(new Uint8Array(500), PEER_IP, 80, false, false, true);
  t.deepEqual(r2, { copied: 0 });
  peer.stackPort = ep2.localPort;
  peer.stackIss = undefined;
  t.deepEqual(peer.flush()[0]?.opts.fo, { cookie: '' }, 'a cookie request');
  peer.quietUntil(s.clock.now() + 50);
  peer.send({ flags: 'S.', seq: 7000, ack: peer.our(1), opts: { mss: 1460, sackOk: true, ws: 6 } });
  t.is(ep2.recvErrorQueue(), null, 'no completion for a SYN without data');
  ep2.sendmsg(new Uint8Array(10), { zerocopy: true });
  peer.quietUntil(s.clock.now() + 50);
  const [d] = peer.flush();
  peer.send({ flags: '.', seq: 7001, ack: d!.seq + d!.len });
  t.deepEqual(ep2.recvErrorQueue()?.ee.info, 0, 'the first write after it has id 0');
});
