/** Bind conflicts, ephemeral ports, SYN and accept queues (inet_csk_bind_conflict, tcp_conn_request; docs/linux-behaviour.md, TCP basics and Accept-queue overflow). */
import test from 'ava';
import { SocketError } from '../../stack/socket/types.ts';
import { TcpPeer, PEER_IP } from '../helpers/tcp-peer.ts';
import { testStack } from '../helpers/stack.ts';
import { World } from '../helpers/world.ts';

const code = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof SocketError ? e.code : String(e);
  }
};

test('bind conflicts follow inet_csk_bind_conflict (the measured table)', (t) => {
  const s = testStack();
  const sock = (reuse = false) => {
    const ep = s.stack.tcp.socket();
    ep.setReuseAddress(reuse);
    return ep;
  };
  // 0.0.0.0:P LISTEN, then our address:P with REUSEADDR → EADDRINUSE.
  const a = sock(true);
  a.bind(0, 1000);
  a.listen(5);
  t.is(code(() => sock(true).bind('198.18.0.2', 1000)), 'EADDRINUSE');
  // Bound but not listening, both REUSEADDR: the second may bind and listen.
  const b = sock(true);
  b.bind(0, 1001);
  const c = sock(true);
  t.is(code(() => c.bind('198.18.0.2', 1001)), undefined);
  t.is(code(() => c.listen(5)), undefined);
  // ...and now the first cannot listen (listen re-checks the port).
  t.is(code(() => b.listen(5)), 'EADDRINUSE');
  // LISTEN with REUSEADDR, same address with REUSEADDR → EADDRINUSE.
  const d = sock(true);
  d.bind(0, 1002);
  d.listen(1);
  t.is(code(() => sock(true).bind(0, 1002)), 'EADDRINUSE');
  // Without REUSEADDR any overlap conflicts.
  const e = sock();
  e.bind(0, 1003);
  t.is(code(() => sock().bind(0, 1003)), 'EADDRINUSE');
  // Closing frees the port.
  e.close();
  t.is(code(() => sock().bind(0, 1003)), undefined);
  // An address that is not ours.
  t.is(code(() => sock().bind('10.1.2.3', 1004)), 'EADDRNOTAVAIL');
});

test('ephemeral ports: connect() picks even ports in 32768-60999 first, bind(0) odd ones', (t) => {
  const s = testStack();
  const ports: number[] = [];
  for (let i = 0; i < 50; i++) {
    const ep = s.stack.tcp.socket();
    ep.connect(PEER_IP, 80);
    ports.push(ep.localPort);
  }
  t.true(ports.every((p) => p >= 32768 && p <= 60999 && p % 2 === 0), ports.join(','));
  t.is(new Set(ports).size, ports.length, 'all distinct for the same destination');
  const bound = s.stack.tcp.socket();
  bound.bind(0, 0);
  t.true(bound.localPort >= 32768 && bound.localPort <= 60999 && bound.localPort % 2 === 1);
});

test('a small port range runs out: EADDRNOTAVAIL for connect', (t) => {
  const s = testStack({ sysctl: { ip_local_port_range: [40000, 40003] } });
  const got: Array<string | number> = [];
  for (let i = 0; i < 5; i++) {
    const ep = s.stack.tcp.socket();
    got.push(code(() => ep.connect(PEER_IP, 80)) ?? ep.localPort);
  }
  t.deepEqual(got.slice().sort(), [40000, 40001, 40002, 40003, 'EADDRNOTAVAIL'].sort());
});

/** Completes `n` handshakes from distinct peer ports against a listener; returns the peers. */
function handshakes(s: ReturnType<typeof testStack>, n: number, firstPort = 41000): TcpPeer[] {
  const peers: TcpPeer[] = [];
  for (let i = 0; i < n; i++) {
    const peer = new TcpPeer(s, { port: firstPort + i, stackPort: 80 });
    const synAck = peer.send({ flags: 'S', seq: peer.iss, opts: { mss: 1460 } });
    if (synAck.length === 1) peer.send({ flags: '.', seq: peer.their(1), ack: peer.our(1) });
    peers.push(peer);
  }
  return peers;
}

test('the accept queue holds backlog + 1; further SYNs are dropped silently (ListenOverflows/ListenDrops)', (t) => {
  for (const backlog of [0, 1, 3]) {
    const s = testStack();
    const l = s.stack.tcp.socket();
    l.bind(0, 80);
    l.listen(backlog);
    handshakes(s, backlog + 1);
    t.is(s.stack.tcp.listeners()[0]!.acceptQueue, backlog + 1, `listen(${backlog})`);
    const extra = new TcpPeer(s, { port: 42000, stackPort: 80 });
    t.deepEqual(extra.send({ flags: 'S', seq: 1, opts: { mss: 1460 } }), [], 'no SYN-ACK, no RST');
    t.is(s.stack.counters.TcpExtListenOverflows, 1);
    t.is(s.stack.counters.TcpExtListenDrops, 1);
  }
});

test('third ACK with the accept queue full: dropped and retried (default) or reset (tcp_abort_on_overflow=1)', (t) => {
  for (const abort of [0, 1]) {
    const s = testStack({ sysctl: { tcp_abort_on_overflow: abort } });
    const l = s.stack.tcp.socket();
    l.bind(0, 80);
    l.listen(1);
    handshakes(s, 1, 43000); // one child queued
    // Two more SYNs become requests (the accept queue is not full yet), then both third ACKs:
    // the first fills the queue to backlog + 1 = 2, the second overflows.
    const p1 = new TcpPeer(s, { port: 43001, stackPort: 80 });
    const p2 = new TcpPeer(s, { port: 43002, stackPort: 80 });
    t.is(p1.send({ flags: 'S', seq: p1.iss, opts: { mss: 1460 } }).length, 1);
    t.is(p2.send({ flags: 'S', seq: p2.iss, opts: { mss: 1460 } }).length, 1);
    t.deepEqual(p1.send({ flags: '.', seq: p1.their(1), ack: p1.our(1) }), []);
    const answer = p2.send({ flags: '.', seq: p2.their(1), ack: p2.our(1) });
    t.is(s.stack.counters.TcpExtListenOverflows, 1);
    t.is(s.stack.counters.TcpExtListenDrops, 1);
    if (abort) {
      t.deepEqual(answer, [{ flags: 'R', seq: p2.our(1), ack: 0, win: 0, len: 0, opts: {} }]);
      t.is(s.stack.counters.TcpExtEmbryonicRsts, 1);
      t.is(s.stack.tcp.listeners()[0]!.synQueue, 0);
    } else {
      t.deepEqual(answer, [], 'dropped: the request stays, marked acked');
      // Its SYN-ACK is retransmitted at 1 s; once accept() made room, the next ACK promotes it.
      const resent = p2.runUntil(1000);
      t.is(resent.filter((x) => x.flags === 'S.').length, 1);
      t.truthy(l.accept());
      p2.send({ flags: '.', seq: p2.their(1), ack: p2.our(1) });
      t.is(s.stack.tcp.listeners()[0]!.acceptQueue, 2, 'the retried third ACK completed the connection');
    }
  }
});

test('a SYN flood from many ports: the SYN queue stays at backlog + 1, the rest get SYN cookies (or are dropped with tcp_syncookies=0)', (t) => {
  for (const cookies of [1, 0]) {
    const s = testStack({ sysctl: { tcp_syncookies: cookies } });
    const l = s.stack.tcp.socket();
    l.bind(0, 80);
    l.listen(128);
    let synAcks = 0;
    for (let i = 0; i < 5000; i++) {
      const peer = new TcpPeer(s, { port: 1024 + i, stackPort: 80 });
      synAcks += peer.send({ flags: 'S', seq: i * 7, opts: { mss: 1460 } }).length;
    }
    t.is(s.stack.tcp.listeners()[0]!.synQueue, 129, 'state kept for backlog + 1 requests only');
    if (cookies) {
      t.is(synAcks, 5000);
      t.is(s.stack.counters.TcpExtSyncookiesSent, 5000 - 129);
      t.is(s.stack.counters.TcpExtTCPReqQFullDoCookies, 5000 - 129);
    } else {
      t.is(synAcks, 129);
      t.is(s.stack.counters.TcpExtTCPReqQFullDrop, 5000 - 129);
    }
    // Requests die after the SYN-ACK retries (63 s), and the queue empties.
    new TcpPeer(s).runUntil(64_000);
    t.is(s.stack.tcp.listeners()[0]!.synQueue, 0);
  }
});

test('a cookie handshake completes into an accepted connection; a forged cookie gets a RST', (t) => {
  const s = testStack({ sysctl: { tcp_syncookies: 2 } });
  const l = s.stack.tcp.socket();
  l.bind(0, 80);
  l.listen(8);
  const p = new TcpPeer(s, { port: 44000, stackPort: 80 });
  const [synAck] = p.send({ flags: 'S', seq: p.iss, opts: { mss: 1400, sackOk: true, ws: 7 } });
  t.deepEqual(synAck!.opts, { mss: 1460 }, 'a cookie SYN-ACK carries the MSS only');
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 0, 'no state kept');
  // A window of more than twice the MSS: tcp_bound_to_half_wnd leaves it alone.
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1), win: 65535 });
  const child = l.accept();
  t.is(child?.state, 'ESTABLISHED');
  t.is(child?.info().mss, 1300, 'the MSS class encoded in the cookie');
  t.is(s.stack.counters.TcpExtSyncookiesRecv, 1);
  const forger = new TcpPeer(s, { port: 44001, stackPort: 80 });
  const answer = forger.send({ flags: '.', seq: 5, ack: 123456 });
  t.deepEqual(answer, [{ flags: 'R', seq: 123456, ack: 0, win: 0, len: 0, opts: {} }]);
  t.is(s.stack.counters.TcpExtSyncookiesFailed, 1);
});

test('closing a listener resets every child not yet accepted (RST,ACK seq SND.NXT)', (t) => {
  const s = testStack();
  const l = s.stack.tcp.socket();
  l.bind(0, 80);
  l.listen(8);
  const [p] = handshakes(s, 1);
  l.close();
  const sent = p!.flush();
  t.deepEqual(sent, [{ flags: 'R.', seq: p!.our(1), ack: p!.their(1), win: sent[0]!.win, len: 0, opts: {} }]);
  t.is(s.stack.counters.TcpEstabResets, 1);
  t.is(s.stack.counters.TcpOutRsts, 1);
});

test("accepted connections hold their listener's port after it closes, each until it is done (inet_inherit_port)", (t) => {
  const w = new World();
  const listener = w.b.tcp.socket();
  listener.bind(0, 5001);
  listener.listen(8);
  const clients = [0, 1].map(() => {
    const c = w.a.tcp.socket();
    c.connect('198.18.0.2', 5001);
    return c;
  });
  w.settle();
  const children = [listener.accept()!, listener.accept()!];
  t.truthy(children[0] && children[1]);
  listener.close();
  const bindAgain = (): string | undefined =>
    code(() => {
      const s = w.b.tcp.socket();
      try {
        s.bind(0, 5001);
      } finally {
        s.close();
      }
    });
  t.is(bindAgain(), 'EADDRINUSE', 'both children hold the port');
  // The client's FIN first: the child answers with its own and is gone after LAST_ACK (no TIME_WAIT on this side).
  clients[0]!.close();
  w.settle();
  children[0]!.close();
  w.settle();
  t.is(children[0]!.state, 'CLOSED');
  t.is(bindAgain(), 'EADDRINUSE', 'the other child still holds it (the two share one owner, counted twice)');
  clients[1]!.close();
  w.settle();
  children[1]!.close();
  w.settle();
  t.is(bindAgain(), undefined, 'free once both are done');
});
