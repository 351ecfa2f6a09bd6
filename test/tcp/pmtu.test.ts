/**
 * Path MTU discovery (RFC 1191; docs/linux-behaviour.md, IP and ICMP): an
 * ICMP "fragmentation needed" about one of our segments lowers the route's
 * path MTU for that destination (__ip_rt_update_pmtu: never up, locked at
 * route.min_pmtu below it, forgotten after route.mtu_expires), the
 * connection's MSS follows (tcp_v4_mtu_reduced, tcp_sync_mss) and what no
 * longer fits is resent at once, cut to the new MSS (tcp_simple_retransmit);
 * new connections to that destination start from the lowered MSS; a pending
 * request follows tcp_req_err.
 */
import test from 'ava';
import { setSysctl } from '../../stack/sysctl.ts';
import { icmpErrorAbout, KERNEL } from '../helpers/packets.ts';
import { moved, snap } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, activeOpen, passiveOpen, pattern } from '../helpers/tcp-peer.ts';

/** "Fragmentation needed" (type 3 code 4) from a router with next-hop MTU `mtu`, quoting a segment we sent (a full one: total length 40 + len). */
function fragNeeded(mtu: number, sport: number, dport: number, seq: number, len = 0, code = 4, type = 3): Uint8Array {
  return icmpErrorAbout({ type, code, sport, dport, seq, rest: mtu, quotedTotalLength: 40 + len });
}

/** An established active open with timestamps (MSS 1448) and three full segments out. */
function threeOut() {
  const o = activeOpen({ rtt: 50, win: 1000 });
  const { peer: p, ep } = o;
  p.quietUntil(100);
  ep.write(pattern(3 * 1448));
  const sent = p.flush();
  return { ...o, sent, p };
}

test('ESTABLISHED: frag-needed 1200 resends every segment at once, cut to MSS 1148 (1200 - 40 - 12), the rest with PSH; cwnd untouched', (t) => {
  const { s, p, ep, sent } = threeOut();
  t.deepEqual(
    sent.map((x) => [x.flags, x.seq - p.our(0), x.len]),
    [
      ['.', 1, 1448],
      // PSH ends the first 2-segment TSO packet (write-queue.ts, __tcp_transmit_skb).
      ['P.', 1449, 1448],
      ['P.', 2897, 1448],
    ],
  );
  const before = snap(s);
  s.stack.input(fragNeeded(1200, ep.localPort, p.port, p.our(1), 1448));
  const out = p.flush();
  t.deepEqual(
    out.map((x) => [x.flags, x.seq - p.our(0), x.len]),
    [
      ['.', 1, 1148],
      ['.', 1149, 300],
      ['.', 1449, 1148],
      ['.', 2597, 300],
      ['.', 2897, 1148],
      ['P.', 4045, 300],
    ],
  );
  t.true(p.log.slice(-6).every((c) => c.df), 'DF stays on');
  const c = s.stack.counters;
  t.is(c.IcmpInDestUnreachs - before.IcmpInDestUnreachs, 1);
  t.is(c.TcpRetransSegs - before.TcpRetransSegs, 6);
  t.is(c.TcpOutSegs - before.TcpOutSegs, 0, 'retransmissions only');
  t.deepEqual(moved(s, before), { TcpRetransSegs: 6, TcpExtTCPSlowStartRetrans: 6 });
  const info = s.stack.tcp.connections()[0]!;
  t.like(info, { mss: 1148, pmtu: 1200, cwnd: 10, retransmits: 6 });
  t.is(s.stack.routes.mtu(KERNEL, s.clock.now()), 1200);
  t.is(ep.getError(), undefined, 'no soft error: the route took the MTU');
  // The ACK of everything ends Loss; new data leaves in 1148-byte segments.
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1 + 3 * 1448) }), []);
  ep.write(pattern(2000));
  t.deepEqual(
    p.flush().map((x) => [x.flags, x.seq - p.our(0), x.len]),
    [
      ['.', 4345, 1148],
      ['P.', 5493, 852],
    ],
  );
});

test('the learnt path MTU expires after route.mtu_expires (600 s): the MSS goes back to 1448 for the next segments', (t) => {
  const { s, p, ep } = threeOut();
  s.stack.input(fragNeeded(1200, ep.localPort, p.port, p.our(1), 1448));
  p.flush();
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1 + 3 * 1448) });
  p.quietUntil(100 + 599_999);
  ep.write(pattern(1448));
  t.deepEqual(p.flush().map((x) => x.len), [1148, 300], 'still learnt just before 600 s');
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1 + 4 * 1448) });
  p.quietUntil(100 + 600_001);
  ep.write(pattern(1448));
  t.deepEqual(p.flush().map((x) => x.len), [1448]);
  t.like(s.stack.tcp.connections()[0]!, { mss: 1448, pmtu: 1500 });
});

test('a frag-needed MTU above the path MTU changes nothing; one below route.min_pmtu (552) locks the route at 552 and segments lose DF', (t) => {
  const { s, p, ep } = threeOut();
  s.stack.input(fragNeeded(1600, ep.localPort, p.port, p.our(1), 1448));
  t.deepEqual(p.flush(), []);
  t.is(s.stack.routes.size, 0);
  s.stack.input(fragNeeded(400, ep.localPort, p.port, p.our(1), 1448));
  const out = p.flush();
  // 552 - 40 - 12 = 500: each 1448 becomes 500 + 500 + 448.
  t.deepEqual(out.slice(0, 3).map((x) => x.len), [500, 500, 448]);
  t.is(out.length, 9);
  t.true(p.log.slice(-9).every((c) => !c.df), 'DF off: the route MTU is locked (ip_dont_fragment)');
  t.is(s.stack.routes.mtu(KERNEL, s.clock.now()), 552);
  t.is(ep.getError(), undefined);
});

test('net.ipv4.route.min_pmtu and mtu_expires are Linux\'s tunables with its ranges', (t) => {
  const s = testStack();
  setSysctl(s.stack.sysctl, 'net.ipv4.route.min_pmtu', '68');
  t.is(s.stack.sysctl.route_min_pmtu, 68);
  t.throws(() => setSysctl(s.stack.sysctl, 'net.ipv4.route.min_pmtu', '67'), { message: /out of range/ });
  setSysctl(s.stack.sysctl, '/proc/sys/net/ipv4/route/mtu_expires', '5');
  t.is(s.stack.sysctl.route_mtu_expires, 5);
});

test('a frag-needed quoting a sequence number outside SND.UNA..SND.NXT is ignored (TcpExtOutOfWindowIcmps)', (t) => {
  const { s, p, ep } = threeOut();
  const before = snap(s);
  s.stack.input(fragNeeded(1200, ep.localPort, p.port, p.our(100_000), 1448));
  t.deepEqual(p.flush(), []);
  t.is(moved(s, before).TcpExtOutOfWindowIcmps, 1);
  t.is(s.stack.routes.size, 0);
});

test('SYN_SENT: frag-needed keeps the connect going; the SYN retransmission offers MSS 1160 and data then uses 1148', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  t.is(p.flush()[0]!.opts.mss, 1460);
  s.stack.input(fragNeeded(1200, ep.localPort, 80, p.our(0)));
  t.deepEqual(p.flush(), []);
  t.is(ep.state, 'SYN_SENT');
  const again = p.runUntil(1000);
  t.is(again.length, 1);
  t.like(again[0]!, { flags: 'S', opts: { mss: 1160 } });
  p.send({ flags: 'S.', seq: p.iss, ack: p.our(1), opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), p.lastStackTs], ws: 7 } });
  p.ts = true;
  t.is(ep.state, 'ESTABLISHED');
  ep.write(pattern(1448));
  t.deepEqual(p.flush().map((x) => x.len), [1148, 300]);
});

test('a new connection to a destination with a learnt path MTU starts from it: SYN and SYN-ACK offer MSS 1160', (t) => {
  const { s, peer: p, ep, listener } = passiveOpen({ rtt: 50 });
  ep.write(pattern(1448));
  p.flush();
  s.stack.input(fragNeeded(1200, 80, p.port, p.our(1), 1448));
  t.deepEqual(p.flush().map((x) => x.len), [1148, 300]);
  // Passive: a second client from the same address.
  const p2 = new TcpPeer(s, { port: 40001, stackPort: 80, iss: 9000 });
  const synAck = p2.send({ flags: 'S', seq: p2.iss, opts: { mss: 1460, sackOk: true, ts: [p2.tsVal(), 0], ws: 7 } });
  t.like(synAck[0]!, { flags: 'S.', opts: { mss: 1160 } });
  t.truthy(listener);
  // Active: a connect to the same address.
  const c = s.stack.tcp.socket();
  c.connect(PEER_IP, 443);
  const p3 = new TcpPeer(s, { port: 443, stackPort: c.localPort, iss: 7000 });
  t.like(p3.flush()[0]!, { flags: 'S', opts: { mss: 1160 } });
});

test('a pending request: frag-needed about its SYN-ACK changes nothing; host unreachable drops it silently (tcp_req_err, ListenDrops); another sequence number is out of window', (t) => {
  const s = testStack();
  const listener = s.stack.tcp.socket();
  listener.bind(0, 80);
  listener.listen(8);
  const p = new TcpPeer(s, { port: 40000, stackPort: 80, iss: 1000 });
  p.send({ flags: 'S', seq: p.iss, opts: { mss: 1460 } });
  const before = snap(s);
  s.stack.input(fragNeeded(1200, 80, p.port, p.our(0)));
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 1);
  t.is(s.stack.routes.size, 0, 'tcp_req_err does not touch the route');
  s.stack.input(fragNeeded(0, 80, p.port, p.our(5), 0, 1));
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 1);
  s.stack.input(fragNeeded(0, 80, p.port, p.our(0), 0, 1));
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 0);
  t.deepEqual(p.flush(), []);
  const m = moved(s, before);
  t.is(m.TcpExtOutOfWindowIcmps, 1);
  t.is(m.TcpExtListenDrops, 1);
  t.is(s.stack.counters.IcmpInErrors - before.IcmpInErrors, 0);
});
