/**
 * TCP Fast Open, the server side, segment by segment in virtual time
 * (docs/linux-behaviour.md, TCP Fast Open, server side; RFC 7413): cookie
 * requests and invalid cookies answered with the cookie, a valid cookie
 * or cookie-less data making a child at the SYN, the backup key, the
 * queue's limit and the 60 s hold of a reset child, the SYN-ACK timer, and
 * what the child does before its final ACK.
 */
import test from 'ava';
import { fastOpenCookie, parseFastOpenKeys } from '../../stack/tcp/fastopen-cookie.ts';
import type { Sysctls } from '../../stack/sysctl.ts';
import type { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { POLLIN } from '../../stack/socket/types.ts';
import { icmpErrorAbout } from '../helpers/packets.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_ADDR, STACK_ADDR, TcpPeer, UNSCALED_WIN, pattern } from '../helpers/tcp-peer.ts';

const KEY = 'a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4';
const OTHER_KEY = '01020304-05060708-090a0b0c-0d0e0f10';
const v4 = (a: number): Uint8Array => Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255);
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
/** The cookie Linux gives the peer's SYNs under `key` (SipHash over source, destination; fastopen-cookie.test.ts checks it against the kernel). */
const cookieUnder = (key: string): string => hex(fastOpenCookie(parseFastOpenKeys(key)![0]!, v4(PEER_ADDR), v4(STACK_ADDR)));
const keyBytes = (...keys: string[]): Uint8Array => {
  const out = new Uint8Array(16 * keys.length);
  keys.forEach((k, i) => out.set(parseFastOpenKeys(k)![0]!, 16 * i));
  return out;
};

/** A listener on 80 with a Fast Open queue of `qlen` (TCP_FASTOPEN), the peer on 40000 with ISN 1000. */
function setup(sysctl: Partial<Sysctls> = {}, qlen = 4, port = 40000) {
  const s = testStack({ sysctl: { tcp_fastopen: 0x3, tcp_fastopen_key: KEY, ...sysctl } });
  const l = s.stack.tcp.socket() as TcpEndpoint;
  l.bind(0, 80);
  l.listen(8);
  if (qlen > 0) l.setFastOpen(qlen);
  const p = new TcpPeer(s, { port, stackPort: 80, iss: 1000, win: 65535 });
  return { s, l, p };
}

test('a cookie request (empty FO) gets a normal handshake whose SYN-ACK carries the cookie, last; FOEXP is answered as FOEXP', (t) => {
  const { s, p } = setup();
  const cookie = cookieUnder(KEY);
  t.is(cookie, hex(fastOpenCookie(parseFastOpenKeys(KEY)![0]!, v4(PEER_ADDR), v4(STACK_ADDR))));
  t.deepEqual(p.send({ flags: 'S', seq: 1000, opts: { mss: 1000, sackOk: true, fo: { cookie: '' } } }), [
    { flags: 'S.', seq: p.our(0), ack: 1001, win: UNSCALED_WIN, len: 0, opts: { mss: 1460, sackOk: true, fo: { cookie } } },
  ]);
  t.deepEqual(p.log[0]!.optionKinds, [2, 1, 1, 4, 34, 1, 1], 'MSS, SACK_PERM, then the cookie padded with NOPs');
  t.is(s.stack.counters.TcpExtTCPFastOpenCookieReqd, 1);
  t.is(s.stack.counters.TcpExtTCPFastOpenPassive, 0);

  const q = setup({}, 4, 40001);
  t.deepEqual(q.p.send({ flags: 'S', seq: 1000, opts: { mss: 1000, fo: { cookie: '', exp: true } } })[0]!.opts.fo, { cookie, exp: true });
});

test('a valid cookie with data: a child at the SYN, in SYN_RECV, the data readable, the SYN-ACK acking it without a cookie; the final ACK establishes it', (t) => {
  const { s, l, p } = setup();
  const synAck = p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, sackOk: true, fo: { cookie: cookieUnder(KEY) } } });
  t.deepEqual(synAck, [{ flags: 'S.', seq: p.our(0), ack: 1011, win: UNSCALED_WIN, len: 0, opts: { mss: 1460, sackOk: true } }]);
  const c = s.stack.counters;
  t.deepEqual([c.TcpExtTCPFastOpenPassive, c.TcpExtTCPFastOpenPassiveFail, c.TcpPassiveOpens], [1, 0, 1]);
  t.is(l.poll() & POLLIN, POLLIN, 'accept() need not wait for the handshake');
  const ep = l.accept()!;
  t.is(ep.state, 'SYN_RECV');
  t.is(ep.poll() & POLLIN, POLLIN, "tcp_poll: the child's SYN data is readable in SYN_RECV");
  t.deepEqual(ep.read(100), pattern(10), "the SYN's data, before the handshake completes");
  p.quietUntil(50);
  t.deepEqual(p.send({ flags: '.', seq: 1011, ack: p.our(1) }), []);
  t.is(ep.state, 'ESTABLISHED');
  t.is(c.TcpCurrEstab, 1);
  // Nothing more: the SYN-ACK timer stopped with the handshake.
  p.quietUntil(5000);
});

test('an invalid cookie: TCPFastOpenPassiveFail, a normal request acking only the SYN, and the valid cookie in the SYN-ACK', (t) => {
  const { s, l, p } = setup();
  const synAck = p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, fo: { cookie: 'aaaaaaaaaaaaaaaa', exp: true } } });
  t.deepEqual(synAck, [{ flags: 'S.', seq: p.our(0), ack: 1001, win: UNSCALED_WIN, len: 0, opts: { mss: 1460, fo: { cookie: cookieUnder(KEY), exp: true } } }]);
  t.is(s.stack.counters.TcpExtTCPFastOpenPassiveFail, 1);
  t.is(l.accept(), null, 'no child before the third ACK');
});

test('the backup key of TCP_FASTOPEN_KEY: its cookie makes a child (TCPFastOpenPassiveAltKey) and the SYN-ACK hands out the primary key\'s', (t) => {
  const { s, l, p } = setup();
  l.setFastOpenKey(keyBytes(OTHER_KEY, KEY));
  t.deepEqual(Array.from(l.fastOpenKey), Array.from(keyBytes(OTHER_KEY, KEY)), 'getsockopt returns both keys');
  const synAck = p.send({ flags: 'S', seq: 1000, data: 5, opts: { mss: 1000, fo: { cookie: cookieUnder(KEY) } } });
  t.deepEqual(synAck, [{ flags: 'S.', seq: p.our(0), ack: 1006, win: UNSCALED_WIN, len: 0, opts: { mss: 1460, fo: { cookie: cookieUnder(OTHER_KEY) } } }]);
  t.deepEqual([s.stack.counters.TcpExtTCPFastOpenPassive, s.stack.counters.TcpExtTCPFastOpenPassiveAltKey], [1, 1]);
  t.throws(() => l.setFastOpenKey(new Uint8Array(3)), { message: /EINVAL/ });
});

test('TFO_SERVER_COOKIE_NOT_REQD: data without any option makes a child; without data and cookie, a normal request', (t) => {
  const { s, p } = setup({ tcp_fastopen: 0x202 });
  t.is(p.send({ flags: 'S', seq: 1000, data: 7, opts: { mss: 1000 } })[0]!.ack, 1008);
  const q = setup({ tcp_fastopen: 0x202 }, 4, 40001);
  t.is(q.p.send({ flags: 'S', seq: 1000, opts: { mss: 1000 } })[0]!.ack, 1001);
  t.is(s.stack.counters.TcpExtTCPFastOpenPassive, 1);
});

test('no Fast Open without TFO_SERVER_ENABLE or a queue: a cookie request gets no cookie; TFO_SERVER_WO_SOCKOPT1 gives every listener its backlog', (t) => {
  const off = setup({ tcp_fastopen: 0x1 });
  t.deepEqual(off.p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, fo: { cookie: '' } } })[0]!.opts, { mss: 1460 });
  t.is(off.s.stack.counters.TcpExtTCPFastOpenCookieReqd, 1, 'counted even so');
  const noQueue = setup({}, 0);
  t.is(noQueue.l.fastOpenQueueLength, 0);
  t.deepEqual(noQueue.p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, fo: { cookie: cookieUnder(KEY) } } })[0]!.ack, 1001);
  const wo = setup({ tcp_fastopen: 0x403 }, 0);
  t.is(wo.l.fastOpenQueueLength, 8, 'the listen() backlog');
  t.is(wo.p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, fo: { cookie: cookieUnder(KEY) } } })[0]!.ack, 1011);
});

test('the queue: a child counts until its handshake completes (TCPFastOpenListenOverflow); one reset after accept() keeps counting for 60 s', (t) => {
  const { s, l, p } = setup({}, 1);
  const cookie = cookieUnder(KEY);
  const syn = (peer: TcpPeer) => peer.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, fo: { cookie } } })[0]!.ack;
  t.is(syn(p), 1011);
  const p2 = new TcpPeer(s, { port: 40001, stackPort: 80, iss: 1000, win: 65535 });
  t.is(syn(p2), 1001, 'the queue is full: a normal handshake');
  t.is(s.stack.counters.TcpExtTCPFastOpenListenOverflow, 1);
  // The first child accepted, then reset by its peer: ECONNRESET after the data.
  const ep = l.accept()!;
  t.deepEqual(p.send({ flags: 'R.', seq: 1011, ack: p.our(1) }), []);
  t.is(ep.state, 'CLOSED');
  t.is(ep.read(100)?.length, 10);
  t.throws(() => ep.read(100), { message: /ECONNRESET/ });
  const p3 = new TcpPeer(s, { port: 40002, stackPort: 80, iss: 1000, win: 65535 });
  t.is(syn(p3), 1001, 'still counted');
  p3.runUntil(60_000);
  const p4 = new TcpPeer(s, { port: 40003, stackPort: 80, iss: 1000, win: 65535 });
  t.is(syn(p4), 1011, 'after 60 s the held request makes room');
});

test('before the final ACK: data written leaves at once; the timer resends only the SYN-ACK (1, 3 s); an ACK of it and the data establishes', (t) => {
  const { s, l, p } = setup();
  p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, fo: { cookie: cookieUnder(KEY) } } });
  const ep = l.accept()!;
  t.is(ep.write(new Uint8Array(500)), 500);
  t.deepEqual(p.flush(), [{ flags: 'P.', seq: p.our(1), ack: 1011, win: UNSCALED_WIN, len: 500, opts: {} }]);
  const sent = p.runUntil(3500);
  t.deepEqual(
    sent.map((x) => [x.t, x.flags, x.seq, x.ack, x.len]),
    [
      [1000, 'S.', p.our(0), 1011, 0],
      [3000, 'S.', p.our(0), 1011, 0],
    ],
  );
  t.is(s.stack.counters.TcpExtTCPSynRetrans, 2);
  t.deepEqual(p.send({ flags: '.', seq: 1011, ack: p.our(501) }), []);
  t.is(ep.state, 'ESTABLISHED');
  p.quietUntil(20_000);
});

test('closed before the final ACK: the child sends its FIN from SYN_RECV (FIN_WAIT1); the ACK of the FIN completes the handshake too', (t) => {
  const { l, p } = setup();
  p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, fo: { cookie: cookieUnder(KEY) } } });
  const ep = l.accept()!;
  t.is(ep.read(100)?.length, 10);
  ep.close();
  t.deepEqual(p.flush(), [{ flags: 'F.', seq: p.our(1), ack: 1011, win: UNSCALED_WIN, len: 0, opts: {} }]);
  t.deepEqual(p.send({ flags: '.', seq: 1011, ack: p.our(2) }), []);
  // FIN_WAIT2 now, the request gone: no more SYN-ACKs.
  p.quietUntil(10_000);
});

test('tcp_check_req for the child: an in-window SYN is reset but leaves the child; a RST at RCV.NXT before accept() resets it (TcpAttemptFails twice, as Linux counts)', (t) => {
  const { s, l, p } = setup();
  p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, fo: { cookie: cookieUnder(KEY) } } });
  t.deepEqual(
    p.send({ flags: 'S', seq: 1020, opts: { mss: 1000 } }).map((x) => [x.flags, x.seq, x.ack]),
    [['R.', 0, 1021]],
    'tcp_v4_send_reset for the SYN, from the listener',
  );
  t.is(s.stack.counters.TcpAttemptFails, 1);
  t.deepEqual(p.send({ flags: 'R', seq: 1011 }), []);
  t.is(s.stack.counters.TcpAttemptFails, 3);
  t.is(s.stack.counters.TcpExtEmbryonicRsts, 0, 'not a request sock reset');
  const ep = l.accept()!;
  t.is(ep.state, 'CLOSED');
  t.deepEqual(ep.read(100), pattern(10), 'the data stays readable');
  t.throws(() => ep.read(100), { message: /ECONNRESET/ });
  p.quietUntil(10_000);
});

test('ICMP: host unreachable quoting the ISN ends a child not yet accepted (data, then EHOSTUNREACH); once accepted it is only the soft error', (t) => {
  const before = setup();
  before.p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, fo: { cookie: cookieUnder(KEY) } } });
  // Outside ISN..SND.NXT: TcpExtOutOfWindowIcmps, nothing else.
  before.s.stack.input(icmpErrorAbout({ type: 3, code: 1, sport: 80, dport: 40000, seq: before.p.our(1000) }));
  t.is(before.s.stack.counters.TcpExtOutOfWindowIcmps, 1);
  before.s.stack.input(icmpErrorAbout({ type: 3, code: 1, sport: 80, dport: 40000, seq: before.p.our(0) }));
  const ep = before.l.accept()!;
  t.is(ep.state, 'CLOSED');
  t.deepEqual(ep.read(100), pattern(10));
  t.throws(() => ep.read(100), { message: /EHOSTUNREACH/ });

  const after = setup();
  after.p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000, fo: { cookie: cookieUnder(KEY) } } });
  const accepted = after.l.accept()!;
  after.s.stack.input(icmpErrorAbout({ type: 3, code: 1, sport: 80, dport: 40000, seq: after.p.our(0) }));
  t.is(accepted.state, 'SYN_RECV', 'an accepted child keeps going');
  t.deepEqual(after.p.send({ flags: '.', seq: 1011, ack: after.p.our(1) }), []);
  t.is(accepted.state, 'ESTABLISHED');
});

test('TCP_FASTOPEN_NO_COOKIE on a listener (tcp_fastopen_no_cookie): SYN data without any option makes a child; set while listening it applies at once; not after', (t) => {
  const { s, l, p } = setup();
  t.deepEqual(p.send({ flags: 'S', seq: 1000, data: 10, opts: { mss: 1000 } })[0]!.ack, 1001, 'without it: only the SYN acknowledged');
  l.setsockopt('TCP_FASTOPEN_NO_COOKIE', 1);
  t.is(l.getsockopt('TCP_FASTOPEN_NO_COOKIE'), 1);
  const q = new TcpPeer(s, { port: 40001, stackPort: 80, iss: 5000, win: 65535 });
  t.deepEqual(q.send({ flags: 'S', seq: 5000, data: 10, opts: { mss: 1000 } }), [
    { flags: 'S.', seq: q.our(0), ack: 5011, win: UNSCALED_WIN, len: 0, opts: { mss: 1460 } },
  ]);
  t.is(s.stack.counters.TcpExtTCPFastOpenPassive, 1);
  const child = l.accept() as TcpEndpoint;
  t.is(child.state, 'SYN_RECV');
  t.is(child.read()?.length, 10, 'the SYN data readable before the handshake completes');
  t.throws(() => child.setsockopt('TCP_FASTOPEN_NO_COOKIE', 0), { message: 'setsockopt EINVAL' }, 'only while closed or listening');
});
