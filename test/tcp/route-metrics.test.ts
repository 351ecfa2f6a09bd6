/**
 * A route's metrics (stack/ip/route-metrics.ts, `ip route ... advmss N mtu
 * [lock] N initcwnd N initrwnd N`), segment in and segment out: the MSS and
 * window our SYN and SYN-ACK offer (dst_metric_advmss, RTAX_INITRWND), the
 * first cwnd (tcp_init_cwnd), the path MTU (ipv4_mtu) and its lock (no DF,
 * no learnt MTU: ip_mtu_locked), and a route changed mid-connection, which
 * the connection sees only once its next transmission looked the route up
 * again (__sk_dst_check; test/scripts/route-metrics.pkt and the gtests'
 * mtu_probe/basic-v4.pkt on the kernel).
 */
import test from 'ava';
import { NO_METRICS, type RouteMetrics } from '../../stack/ip/route-metrics.ts';
import { icmpErrorAbout, KERNEL } from '../helpers/packets.ts';
import { TcpPeer, activeOpen, pattern, type Seen } from '../helpers/tcp-peer.ts';
import { testStack, type TestStack } from '../helpers/stack.ts';
import type { Endpoint } from '../../stack/socket/types.ts';

/** The route to the peer (198.18.0.1/32) with these metrics. */
function route(s: TestStack, m: Partial<RouteMetrics>, length = 32): void {
  s.stack.routes.setRoute(new Uint8Array([198, 18, 0, 1]), length, { ...NO_METRICS, ...m });
}

const listeners = new WeakMap<TestStack, Endpoint>();

/** A listener, the peer's SYN (MSS 1460, SACK, no timestamps) and our SYN-ACK, the route set first. */
function synAck(m: Partial<RouteMetrics>): { s: TestStack; p: TcpPeer; reply: Seen[] } {
  const s = testStack();
  route(s, m);
  const p = new TcpPeer(s);
  const l = s.stack.tcp.socket();
  l.bind(0, p.stackPort);
  l.listen(4);
  listeners.set(s, l);
  const reply = p.send({ flags: 'S', seq: p.iss, opts: { mss: 1460, sackOk: true } });
  return { s, p, reply };
}

/** The connection synAck's listener has ready. */
function acceptOne(s: TestStack): Endpoint {
  const ep = listeners.get(s)!.accept();
  if (ep === null) throw new Error('nothing to accept');
  return ep;
}

test('the SYN-ACK offers the route\'s advmss, with a window of initrwnd segments of it; the child starts at initcwnd', (t) => {
  const { s, p, reply } = synAck({ advMss: 1000, initRwnd: 8, initCwnd: 4 });
  t.like(reply[0], { flags: 'S.', win: 8000, opts: { mss: 1000 } });
  p.quietUntil(100);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1), win: 65535 });
  const c = s.stack.tcp.connections()[0]!;
  // advmss is only what we offer: we send segments of the peer's MSS.
  t.like(c, { cwnd: 4, mss: 1460 });
});

test('without metrics: the device\'s MSS and the buffer\'s window (the defaults the metrics replace)', (t) => {
  const { reply } = synAck({});
  t.like(reply[0], { flags: 'S.', win: 64240, opts: { mss: 1460 } });
});

test('an active open: the SYN offers advmss and initrwnd; a shorter prefix covers the peer too', (t) => {
  const s = testStack();
  route(s, { advMss: 900, initRwnd: 4 }, 24);
  const p = new TcpPeer(s, { port: 80 });
  const ep = s.stack.tcp.socket();
  ep.connect('198.18.0.1', 80);
  const syn = p.flush();
  t.like(syn[0], { flags: 'S', win: 3600, opts: { mss: 900 } });
});

test('mtu: the route\'s MTU is the path MTU; locked, segments go without DF and "fragmentation needed" is ignored', (t) => {
  const { s, peer: p, ep } = activeOpen({ ts: false, win: 65535, ws: false });
  t.like(s.stack.tcp.connections()[0], { mss: 1460 });
  route(s, { mtu: 1200, mtuLocked: true });
  // The connection's cached route is obsolete; the first flush still cuts at the old MSS and looks the route up again.
  ep.write(pattern(2920));
  t.deepEqual(p.flush().map((x) => x.len), [1460, 1460]);
  t.false(p.log[p.log.length - 1]!.df, 'the route\'s MTU is locked: no DF (ip_dont_fragment)');
  p.quietUntil(100);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(2921), win: 65535 });
  ep.write(pattern(2400));
  t.deepEqual(p.flush().map((x) => x.len), [1160, 1160, 80]);
  // __ip_rt_update_pmtu returns at once on a locked route.
  s.stack.input(icmpErrorAbout({ type: 3, code: 4, sport: ep.localPort, dport: p.port, seq: p.our(2921), rest: 800, quotedTotalLength: 1200 }));
  t.deepEqual(p.flush(), [], 'nothing resent');
  t.is(s.stack.routes.mtu(KERNEL, s.clock.now()), 1200);
  t.like(s.stack.tcp.connections()[0], { mss: 1160 });
});

test('a route changed mid-connection: the MSS follows from the write after the next transmission (tcp_current_mss reads the cached dst)', (t) => {
  const { s, peer: p, ep } = activeOpen({ ts: false, win: 65535, ws: false });
  route(s, { mtu: 1200 });
  // Still the route of connect(): 1460.
  ep.write(pattern(1460));
  t.deepEqual(p.flush().map((x) => x.len), [1460]);
  p.quietUntil(100);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1461), win: 65535 });
  ep.write(pattern(1460));
  t.deepEqual(p.flush().map((x) => x.len), [1160, 300]);
  // The route back without metrics: the device's MTU again after one more transmission.
  route(s, {});
  p.quietUntil(200);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(2921), win: 65535 });
  ep.write(pattern(1460));
  t.deepEqual(p.flush().map((x) => x.len), [1160, 300]);
  p.quietUntil(300);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(4381), win: 65535 });
  ep.write(pattern(1460));
  t.deepEqual(p.flush().map((x) => x.len), [1460]);
});

test('rto_min: the route\'s, in whole jiffies (50 ms: 52), is the RTO\'s variance floor (tcp_rto_min)', (t) => {
  const { s, p } = synAck({ rtoMin: 50 });
  p.quietUntil(10);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1), win: 65535 });
  // tcp_rtt_estimator: 10 ms + max(2 × 10, 52) = 62 ms, 16 jiffies.
  t.like(s.stack.tcp.connections()[0], { rto: 64 });
  const ep = acceptOne(s);
  ep.write(pattern(1000));
  p.flush();
  t.deepEqual(p.runUntil(10 + 64).map((x) => [x.t, x.len]), [[74, 1000]]);
  // Without the metric, the socket's 200 ms floor: 10 + 200 ms, 53 jiffies.
  const plain = synAck({});
  plain.p.quietUntil(10);
  plain.p.send({ flags: '.', seq: plain.p.their(1), ack: plain.p.our(1), win: 65535 });
  t.like(plain.s.stack.tcp.connections()[0], { rto: 212 });
});
