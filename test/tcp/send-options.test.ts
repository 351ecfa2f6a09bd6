/**
 * The send side's socket options and flags (stack/tcp/nagle.ts,
 * send-sizing.ts, sndbuf.ts, sock.ts): TCP_CORK and MSG_MORE holding
 * sub-MSS data, the probe timer sending a corked tail, MSG_EOR keeping
 * records in skbs of their own, TCP_MAXSEG, TCP_NOTSENT_LOWAT, IP_TOS and
 * IP_MTU_DISCOVER. The same exchanges run on the kernel as
 * test/scripts/tcp-cork.pkt, msg-more.pkt, msg-eor.pkt, tcp-maxseg.pkt,
 * notsent-lowat.pkt and ip-tos-pmtudisc-v4.pkt.
 */
import test from 'ava';
import { activeOpen, passiveOpen, pattern, TcpPeer, type Opened } from '../helpers/tcp-peer.ts';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { POLLOUT } from '../../stack/socket/types.ts';

function tcp(o: Opened): TcpEndpoint {
  if (!(o.ep instanceof TcpEndpoint)) throw new Error('not a TcpEndpoint');
  return o.ep;
}

/** The flags and payload length of every segment the stack sends now. */
function sent(o: Opened): [string, number][] {
  return o.peer.flush().map((x) => [x.flags, x.len]);
}

function ack(o: Opened, n: number): [string, number][] {
  const p = o.peer;
  return p.send({ flags: '.', seq: p.their(1), ack: p.our(n) }).map((x) => [x.flags, x.len]);
}

test('TCP_CORK: full segments go, the sub-MSS rest waits until the cork is pulled', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 100 });
  const ep = tcp(o);
  t.false(ep.getsockopt('TCP_CORK'));
  ep.setsockopt('TCP_CORK', true);
  t.true(ep.getsockopt('TCP_CORK'));
  t.is(ep.write(pattern(2500)), 2500);
  t.deepEqual(sent(o), [['.', 1000], ['P.', 1000]]);
  o.peer.quietUntil(200);
  t.deepEqual(ack(o, 2001), []);
  ep.setsockopt('TCP_CORK', false);
  t.deepEqual(sent(o), [['P.', 500]]);
});

test('TCP_CORK with nothing in flight: the probe timer sends the tail with PSH after max(RTO, 200 ms)', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 100 });
  const ep = tcp(o);
  ep.setsockopt('TCP_CORK', true);
  ep.write(pattern(100));
  t.deepEqual(sent(o), []);
  const start = o.peer.now();
  const out = o.peer.runUntil(start + 400);
  t.is(out.length, 1);
  t.is(out[0]!.flags, 'P.');
  t.is(out[0]!.len, 100);
  t.is(out[0]!.t - start, 300); // srtt 100 + rttvar 200
});

test('TCP_NODELAY while corked pushes once; the next write is corked again', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 100 });
  const ep = tcp(o);
  ep.setsockopt('TCP_CORK', true);
  ep.write(pattern(100));
  t.deepEqual(sent(o), []);
  ep.setNoDelay(true);
  t.deepEqual(sent(o), [['P.', 100]]);
  o.peer.quietUntil(200);
  ack(o, 101);
  ep.write(pattern(100));
  t.deepEqual(sent(o), []);
});

test('MSG_MORE: sub-MSS writes wait, a write without it pushes all; a MSG_MORE tail carries no PSH', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 100 });
  const ep = tcp(o);
  t.is(ep.sendmsg(pattern(300), { more: true }), 300);
  t.is(ep.sendmsg(pattern(400), { more: true }), 400);
  t.deepEqual(sent(o), []);
  ep.write(pattern(300));
  t.deepEqual(sent(o), [['P.', 1000]]);
  o.peer.quietUntil(200);
  ack(o, 1001);
  ep.sendmsg(pattern(2500), { more: true });
  t.deepEqual(sent(o), [['.', 1000], ['P.', 1000]]);
  o.peer.quietUntil(300);
  // The ACK pushes with the socket's own Nagle setting: the rest goes, unmarked.
  t.deepEqual(ack(o, 3001), [['.', 500]]);
});

test('MSG_EOR: later bytes never join the record, and tcp_write_xmit does not grow across it', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 100 });
  const ep = tcp(o);
  ep.write(pattern(10_300));
  t.is(sent(o).reduce((n, [, len]) => n + len, 0), 10_000);
  ep.sendmsg(pattern(300), { eor: true });
  ep.write(pattern(300));
  ep.sendmsg(pattern(300), { eor: true });
  ep.write(pattern(300));
  o.peer.quietUntil(200);
  t.deepEqual(ack(o, 10_001), [['P.', 600], ['P.', 600]]);
  o.peer.quietUntil(300);
  t.deepEqual(ack(o, 11_201), [['P.', 300]]);
});

test('without MSG_EOR the same writes share one skb', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 100 });
  const ep = tcp(o);
  ep.write(pattern(10_300));
  sent(o);
  for (let i = 0; i < 4; i++) ep.write(pattern(300));
  o.peer.quietUntil(200);
  t.deepEqual(ack(o, 10_001), [['.', 1000], ['P.', 500]]);
});

test('TCP_MAXSEG: range checks, the SYN announces it, it caps the peer MSS, getsockopt reads mss_cache once connected', (t) => {
  let before: TcpEndpoint | undefined;
  const o = activeOpen({ mss: 1460, ts: false }, (ep) => {
    before = ep as TcpEndpoint;
    t.is(before.getsockopt('TCP_MAXSEG'), 536);
    t.throws(() => before!.setsockopt('TCP_MAXSEG', 87), { code: 'EINVAL' });
    t.throws(() => before!.setsockopt('TCP_MAXSEG', 32768), { code: 'EINVAL' });
    before.setsockopt('TCP_MAXSEG', 1200);
    t.is(before.getsockopt('TCP_MAXSEG'), 1200);
  });
  t.is(o.handshake[0]!.opts.mss, 1200);
  t.is(tcp(o).getsockopt('TCP_MAXSEG'), 1200);
  tcp(o).write(pattern(3000));
  t.deepEqual(sent(o).map(([, len]) => len), [1200, 1200, 600]);
});

test('TCP_MAXSEG on a listener: its SYN-ACKs announce it and its children use it', (t) => {
  const o = passiveOpen({ mss: 1460, ts: false });
  const l = o.listener as TcpEndpoint;
  l.setsockopt('TCP_MAXSEG', 1000);
  t.is(l.getsockopt('TCP_MAXSEG'), 1000);
  const p = new TcpPeer(o.s, { port: 40001, stackPort: o.peer.stackPort });
  const synAck = p.send({ flags: 'S', seq: p.iss, opts: { mss: 1460 } });
  t.is(synAck[0]!.opts.mss, 1000);
});

test('TCP_NOTSENT_LOWAT: no new skb at or above it, POLLOUT only below half of it', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10, win: 1000 });
  const ep = tcp(o);
  t.is(ep.getsockopt('TCP_NOTSENT_LOWAT'), 0);
  ep.setsockopt('TCP_NOTSENT_LOWAT', 2000);
  t.is(ep.getsockopt('TCP_NOTSENT_LOWAT'), 2000);
  t.is(ep.write(pattern(15_000)), 15_000); // one skb: the tail is filled without a check
  sent(o);
  t.is(ep.unsentBytes, 5000);
  t.is(ep.poll() & POLLOUT, 0);
  t.is(ep.write(pattern(65_000)), 59_000); // the skb filled up to the 64000-byte size goal
  t.is(ep.write(pattern(1000)), 0);
});

test('net.ipv4.tcp_notsent_lowat applies when the option is unset', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10, win: 1000, sysctl: { tcp_notsent_lowat: 4000 } });
  const ep = tcp(o);
  t.is(ep.getsockopt('TCP_NOTSENT_LOWAT'), 0);
  ep.write(pattern(15_000));
  t.is(ep.poll() & POLLOUT, 0);
  sent(o);
  o.peer.quietUntil(20);
  ack(o, 10_001);
  t.is(ep.unsentBytes, 0);
  t.is(ep.poll() & POLLOUT, POLLOUT);
});

test('IP_TOS keeps the ECN bits the stack owns; IPV6_TCLASS is ENOPROTOOPT on an IPv4 socket; IP_MTU_DISCOVER takes 0 to 5', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false });
  const ep = tcp(o);
  ep.setsockopt('IP_TOS', 0x13);
  t.is(ep.getsockopt('IP_TOS'), 0x10);
  t.throws(() => ep.setsockopt('IPV6_TCLASS', 0x20), { code: 'ENOPROTOOPT' });
  t.is(ep.getsockopt('IP_MTU_DISCOVER'), 1);
  t.throws(() => ep.setsockopt('IP_MTU_DISCOVER', 6), { code: 'EINVAL' });
  ep.setsockopt('IP_MTU_DISCOVER', 0);
  t.is(ep.getsockopt('IP_MTU_DISCOVER'), 0);
  t.is(ep.pathMtu, 1500);
});
