/**
 * Accept-queue overflow (docs/linux-behaviour.md, Accept-queue overflow). A
 * SYN while the queue is full (tcp_conn_request): dropped silently,
 * ListenOverflows + ListenDrops, whatever tcp_abort_on_overflow says.
 * listen(1) holds 2 children (sk_acceptq_is_full). The third ACK while full
 * (tcp_check_req → listen_overflow): with tcp_abort_on_overflow=0 dropped,
 * the request kept and its SYN-ACK retransmitted at 1, 3, 7, 15, 31 s
 * (reqsk_timer_handler); with =1 the reply reset (tcp_v4_send_reset) RST seq
 * SEG.ACK, reason INVALID_SYN, EmbryonicRsts, and the client, already
 * ESTABLISHED, gets ECONNRESET. The differential scenario accept-overflow
 * checks the same against the kernel.
 *
 * Also covered (not repeated): backlog + 1 for listen(0), listen(1), listen(3)
 * with the SYN dropped, and the default-mode retry completing after accept():
 * tables.test.ts ("the accept queue holds backlog + 1; ...", "third ACK with
 * the accept queue full: ...").
 */
import test from 'ava';
import { moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer } from '../helpers/tcp-peer.ts';

/** listen(1); `n` clients complete their handshakes at t=0 (ports 41000...). */
function fullListener(abortOnOverflow: number, n = 2) {
  const s = testStack({ sysctl: { tcp_abort_on_overflow: abortOnOverflow } });
  const l = s.stack.tcp.socket();
  l.bind(0, 80);
  l.listen(1);
  for (let i = 0; i < n; i++) {
    const c = new TcpPeer(s, { port: 41000 + i });
    c.send({ flags: 'S', seq: c.iss, opts: { mss: 1460 } });
    c.send({ flags: '.', seq: c.their(1), ack: c.our(1) });
  }
  return { s, l };
}

for (const abort of [0, 1]) {
  test(`Accept-queue overflow: listen(1) holds 2 children; a further SYN is dropped silently (ListenOverflows, ListenDrops) with tcp_abort_on_overflow=${abort}, also when retried`, (t) => {
    const { s, l } = fullListener(abort);
    t.deepEqual(s.stack.tcp.listeners().map((x) => x.acceptQueue), [2]);
    const p = new TcpPeer(s, { port: 42000 });
    const before = snap(s);
    t.deepEqual(p.send({ flags: 'S', seq: 1, opts: { mss: 1460 } }), []);
    p.quietUntil(1000);
    t.deepEqual(p.send({ flags: 'S', seq: 1, opts: { mss: 1460 } }), [], 'the client\'s SYN retransmission too');
    t.deepEqual(moved(s, before), { TcpExtListenOverflows: 2, TcpExtListenDrops: 2 });
    t.deepEqual(rsts(s.trace), []);
    t.deepEqual(s.stack.tcp.listeners().map((x) => [x.synQueue, x.acceptQueue]), [[0, 2]]);
    t.is(l.state, 'LISTEN');
  });
}

/** listen(1) with one child; two more SYNs become requests; the first third ACK fills the queue, the second overflows. */
function ackTimeOverflow(abortOnOverflow: number) {
  const { s, l } = fullListener(abortOnOverflow, 1);
  const p1 = new TcpPeer(s, { port: 43001 });
  const p2 = new TcpPeer(s, { port: 43002 });
  p1.send({ flags: 'S', seq: p1.iss, opts: { mss: 1460 } });
  p2.send({ flags: 'S', seq: p2.iss, opts: { mss: 1460 } });
  p1.send({ flags: '.', seq: p1.their(1), ack: p1.our(1) });
  const before = snap(s);
  const answer = p2.send({ flags: '.', seq: p2.their(1), ack: p2.our(1) });
  return { s, l, p2, before, answer };
}

test('Accept-queue overflow: third ACK with the queue full, tcp_abort_on_overflow=0 → dropped; the request stays and its SYN-ACK is retransmitted at 1, 3, 7, 15, 31 s, dropped silently at 63 s', (t) => {
  const { s, l, p2, before, answer } = ackTimeOverflow(0);
  t.deepEqual(answer, []);
  t.deepEqual(moved(s, before), { TcpExtListenOverflows: 1, TcpExtListenDrops: 1 });
  t.deepEqual(s.stack.tcp.listeners().map((x) => [x.synQueue, x.acceptQueue]), [[1, 2]]);
  const synAck = { flags: 'S.', seq: p2.our(0), ack: p2.their(1), win: 64240, len: 0, opts: { mss: 1460 } };
  t.deepEqual(p2.runUntil(62_999), [1000, 3000, 7000, 15000, 31000].map((at) => ({ t: at, ...synAck })));
  t.deepEqual(p2.runUntil(63_000), [], 'dropped without a segment');
  t.deepEqual(s.stack.tcp.listeners().map((x) => [x.synQueue, x.acceptQueue]), [[0, 2]]);
  t.deepEqual(moved(s, before), { TcpRetransSegs: 5, TcpExtListenOverflows: 1, TcpExtListenDrops: 1, TcpExtTCPTimeouts: 6, TcpExtTCPSynRetrans: 5 });
  t.deepEqual(rsts(s.trace), []);
  t.is(l.accept()?.remotePort, 41000);
  t.is(l.accept()?.remotePort, 43001);
  t.is(l.accept(), null);
});

test('Accept-queue overflow: tcp_abort_on_overflow=0: each ACK the client sends retries the promotion (ListenOverflows per ACK) until accept() makes room', (t) => {
  const { s, l, p2, before } = ackTimeOverflow(0);
  p2.runUntil(1000); // SYN-ACK retransmission; the client answers it
  t.deepEqual(p2.send({ flags: '.', seq: p2.their(1), ack: p2.our(1) }), []);
  t.deepEqual(moved(s, before), { TcpRetransSegs: 1, TcpExtListenOverflows: 2, TcpExtListenDrops: 2, TcpExtTCPTimeouts: 1, TcpExtTCPSynRetrans: 1 });
  l.accept();
  p2.quietUntil(1500);
  t.deepEqual(p2.send({ flags: '.', seq: p2.their(1), ack: p2.our(1) }), []);
  t.deepEqual(s.stack.tcp.listeners().map((x) => [x.synQueue, x.acceptQueue]), [[0, 2]]);
  t.is(s.stack.counters.TcpPassiveOpens, 3);
  t.deepEqual(p2.runUntil(100_000), [], 'no more SYN-ACKs');
});

test('Accept-queue overflow: third ACK with the queue full, tcp_abort_on_overflow=1 → reply reset RST seq SEG.ACK (acceptOverflow, INVALID_SYN), EmbryonicRsts; the request is gone', (t) => {
  const { s, p2, before, answer } = ackTimeOverflow(1);
  t.deepEqual(answer, [{ flags: 'R', seq: p2.our(1), ack: 0, win: 0, len: 0, opts: {} }]);
  t.deepEqual(rsts(s.trace), [{ t: 0, path: 'acceptOverflow', reason: 'INVALID_SYN', generator: 'reply', flags: 'R', seq: p2.our(1), ack: 0, local: 80, remote: 43002 }]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1, TcpExtEmbryonicRsts: 1, TcpExtListenOverflows: 1, TcpExtListenDrops: 1 });
  t.deepEqual(s.stack.tcp.listeners().map((x) => [x.synQueue, x.acceptQueue]), [[0, 2]]);
  t.deepEqual(p2.runUntil(100_000), [], 'no SYN-ACK retransmission');
});

test('Accept-queue overflow, client side: our stack ESTABLISHED after the handshake, its third ACK answered with RST seq = SEG.ACK → ECONNRESET on the next read/write', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  p.quietUntil(50);
  const [ack] = p.send({ flags: 'S.', seq: 5000, ack: p.our(1), win: 65535, opts: { mss: 1460 } });
  t.deepEqual([ack!.flags, ack!.seq, ack!.ack], ['.', p.our(1), 5001]);
  t.is(ep.state, 'ESTABLISHED');
  const before = snap(s);
  // The overflowing listener's reply reset: seq = our ACK's ack field = our RCV.NXT.
  t.deepEqual(p.send({ flags: 'R', seq: 5001 }), []);
  t.deepEqual(moved(s, before), { TcpEstabResets: 1 });
  t.deepEqual([wr(ep), rd(ep), wr(ep)], ['ECONNRESET', 'EOF', 'EPIPE']);
});
