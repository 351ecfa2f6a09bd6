/**
 * close() with unread data (docs/linux-behaviour.md, Close with unread
 * data): __tcp_close (data_was_unread; RFC 2525 §2.17) purges the receive
 * queue, counts TCPAbortOnClose and sends the active reset
 * (tcp_send_active_reset) RST,ACK seq SND.NXT ack RCV.NXT, no FIN; the peer
 * reads ECONNRESET once, then 0, then writes get EPIPE. The steps are those of
 * the differential scenario close-unread: the server does recv(4096) of 5000
 * bytes, then close().
 */
import test from 'ava';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { activeOpen, passiveOpen, pattern, PASSIVE_WIN, type TcpPeer } from '../helpers/tcp-peer.ts';
import { ADDR_B, World } from '../helpers/world.ts';

/**
 * The window field after send5000: each full-sized segment let rcv_ssthresh
 * grow (tcp_grow_window), so the ACKs offered 67, 70, 73, 75 units of 1024,
 * and a RST after __tcp_close's purge still offers 75 (rcv_ssthresh caps the
 * free space); as Linux 6.18 sends it under packetdrill.
 */
const WIN_AFTER_5000 = 75;

/** The peer sends 5000 bytes at t=100 in four segments (1448 × 3 + 656); the stack ACKs them. */
function send5000(p: TcpPeer): void {
  p.quietUntil(100);
  let off = 0;
  for (const n of [1448, 1448, 1448, 656]) {
    p.send({ flags: 'P.', seq: p.their(1 + off), ack: p.our(1), data: pattern(n, off) });
    off += n;
  }
}

test('Close with unread data: recv(4096) of 5000 bytes, then close() → RST,ACK seq SND.NXT ack RCV.NXT with TS and the window, no FIN (TCPAbortOnClose, TCP_ABORT_ON_CLOSE)', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  send5000(p);
  t.is(ep.readableBytes, 5000);
  p.quietUntil(200);
  t.deepEqual(ep.read(4096), pattern(4096));
  t.deepEqual(p.flush(), [], 'reading 4096 bytes announces no window update');
  const before = snap(s);
  ep.close();
  // tcp_send_active_reset → tcp_transmit_skb → tcp_select_window, after __tcp_close purged the
  // receive queue: the window of an empty buffer.
  t.deepEqual(p.flush(), [{ flags: 'R.', seq: p.our(1), ack: p.their(5001), win: WIN_AFTER_5000, len: 0, opts: { ts: [p.stackTs(200), p.tsVal(100)] } }]);
  t.deepEqual(p.log.at(-1)!.optionKinds, [1, 1, 8], 'NOP NOP TS, as every segment of the connection');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpOutRsts: 1, TcpExtTCPAbortOnClose: 1 });
  t.deepEqual(rsts(s.trace), [
    { t: 200, path: 'closeWithUnread', reason: 'TCP_ABORT_ON_CLOSE', generator: 'active', flags: 'R.', seq: p.our(1), ack: p.their(5001), local: 80, remote: 40000 },
  ]);
  t.deepEqual(s.stack.tcp.connections(), [], 'CLOSE at once: no FIN_WAIT, no TIME_WAIT');
  t.deepEqual(p.runUntil(200_000), [], 'never retransmitted, no FIN');
});

test('Close with unread data: unread data after shutdown(SHUT_RD), then close() → the same RST', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  send5000(p);
  p.quietUntil(200);
  ep.shutdown('read');
  t.deepEqual(p.flush(), [], 'shutdown(SHUT_RD) alone sends nothing');
  const before = snap(s);
  ep.close();
  t.deepEqual(p.flush(), [{ flags: 'R.', seq: p.our(1), ack: p.their(5001), win: WIN_AFTER_5000, len: 0, opts: { ts: [p.stackTs(200), p.tsVal(100)] } }]);
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpOutRsts: 1, TcpExtTCPAbortOnClose: 1 });
  t.deepEqual(rsts(s.trace).map((e) => [e.path, e.reason, e.generator]), [['closeWithUnread', 'TCP_ABORT_ON_CLOSE', 'active']]);
});

test('Close with unread data: in CLOSE_WAIT with data unread the RST acknowledges the FIN too (ack = RCV.NXT); TcpEstabResets', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  const answer = p.send({ flags: 'FP.', seq: p.their(1), ack: p.our(1), data: pattern(10) });
  t.is(ep.state, 'CLOSE_WAIT');
  // tcp_fin enters ping-pong mode, so the first data gets no quick ACK: one delayed ACK
  // for data and FIN, 40 ms later (as Linux 6.18 does under packetdrill).
  t.deepEqual(answer, [], 'not at once');
  t.deepEqual(p.runUntil(300).map((x) => [x.t, x.flags, x.ack]), [[140, '.', p.their(12)]]);
  const before = snap(s);
  ep.close();
  t.deepEqual(p.flush(), [{ flags: 'R.', seq: p.our(1), ack: p.their(12), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(300), p.tsVal(100)] } }]);
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpOutRsts: 1, TcpExtTCPAbortOnClose: 1 });
});

test('Close with unread data: only a FIN unread is not unread data: close() sends a FIN, no RST', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  p.input({ flags: 'F.', seq: p.their(1), ack: p.our(1) });
  ep.close();
  const ts: [number, number] = [p.stackTs(100), p.tsVal(100)];
  t.deepEqual(p.flush(), [
    { flags: '.', seq: p.our(1), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts } },
    { flags: 'F.', seq: p.our(1), ack: p.their(2), win: PASSIVE_WIN, len: 0, opts: { ts } },
  ]);
  t.is(s.stack.counters.TcpExtTCPAbortOnClose, 0);
  t.deepEqual(rsts(s.trace), []);
});

test('Close with unread data, receiving side: RST,ACK seq = RCV.NXT in ESTABLISHED → read ECONNRESET once, then 0 (EOF); write EPIPE; TcpEstabResets; nothing sent', (t) => {
  const { s, peer: p, ep } = activeOpen({ rtt: 50 });
  p.quietUntil(100);
  t.is(ep.write(pattern(5000)), 5000);
  t.is(p.flush().length, 4);
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(5001) });
  const before = snap(s);
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'R.', seq: p.their(1), ack: p.our(5001), win: 1019 }), []);
  t.is(ep.state, 'CLOSED');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1 });
  t.deepEqual([rd(ep), rd(ep), wr(ep), wr(ep), rd(ep)], ['ECONNRESET', 'EOF', 'EPIPE', 'EPIPE', 'EOF']);
  t.is(ep.getError(), undefined);
  t.deepEqual(p.runUntil(100_000), []);
  t.deepEqual(rsts(s.trace), []);
});

test('Close with unread data, receiving side: when write() comes first it reports ECONNRESET, then reads return 0 and writes EPIPE (sk_err reported once)', (t) => {
  const { peer: p, ep } = activeOpen({ rtt: 50 });
  p.quietUntil(200);
  p.send({ flags: 'R.', seq: p.their(1), ack: p.our(1), win: 1019 });
  t.deepEqual([wr(ep), rd(ep), wr(ep)], ['ECONNRESET', 'EOF', 'EPIPE']);
});

test('Close with unread data, both ends ours: the client sees ECONNRESET, 0, EPIPE, EPIPE; counters on both sides', (t) => {
  const traceB: TraceEvent[] = [];
  const w = new World({ b: { trace: (e) => traceB.push(e) } });
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(16);
  const client = w.a.tcp.socket();
  client.connect(formatIpv4(ADDR_B), 7);
  w.run(1000, () => client.state === 'ESTABLISHED');
  const child = server.accept()!;
  const beforeA = snap(w.a);
  const beforeB = snap(w.b);
  t.is(client.write(pattern(5000)), 5000);
  w.run(2000, () => child.readableBytes === 5000);
  t.is(child.read(4096)!.length, 4096);
  child.close();
  w.run(3000);
  t.deepEqual(moved(w.a, beforeA), { TcpEstabResets: 1 });
  t.deepEqual(moved(w.b, beforeB), { TcpEstabResets: 1, TcpOutRsts: 1, TcpExtTCPAbortOnClose: 1 });
  t.deepEqual([rd(client), rd(client), wr(client), wr(client)], ['ECONNRESET', 'EOF', 'EPIPE', 'EPIPE']);
  t.deepEqual(rsts(traceB).map((e) => [e.path, e.reason, e.flags]), [['closeWithUnread', 'TCP_ABORT_ON_CLOSE', 'R.']]);
  t.deepEqual([w.a.tcp.connections(), w.b.tcp.connections()], [[], []]);
});
