/**
 * Connecting to a host that does not answer, and the application giving up
 * (docs/linux-behaviour.md, SYN timeout): SYN retransmission and give-up
 * (tcp_retransmit_timer, tcp_write_timeout); a close in SYN_SENT sends
 * nothing, and the late SYN-ACK finds no socket and gets the reply reset
 * (tcp_v4_send_reset); the server's request sock receiving that RST is
 * dropped (tcp_check_req). The differential scenario connect-timeout checks
 * the same against the kernel.
 *
 * Already covered exactly elsewhere: the default timeline (tcp_syn_retries 6 +
 * tcp_syn_linear_timeouts 4: SYNs at 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s,
 * ETIMEDOUT at 131 s with no segment, TCPSynRetrans ×10, TCPTimeouts 11,
 * TcpAttemptFails, TCPAbortOnTimeout): loss.test.ts ("SYN never answered:
 * ..."). The SYN-ACK timeline of a request nobody acknowledges: loss.test.ts
 * ("SYN-ACK never acknowledged: ...").
 */
import test from 'ava';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { call, moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, type Opts } from '../helpers/tcp-peer.ts';
import { ADDR_B, World } from '../helpers/world.ts';

const SYN_OPTS = (p: TcpPeer, t: number): Opts => ({ mss: 1460, sackOk: true, ts: [p.stackTs(t), 0], ws: 10 });

test('SYN timeout: tcp_syn_linear_timeouts=0 → SYNs at 0, 1, 3, 7, 15, 31, 63 s, ETIMEDOUT at 127 s with no segment', (t) => {
  const s = testStack({ sysctl: { tcp_syn_linear_timeouts: 0 } });
  const ep = s.stack.tcp.socket();
  const before = snap(s);
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort });
  t.deepEqual(p.flush(), [{ flags: 'S', seq: p.our(0), ack: 0, win: 64240, len: 0, opts: SYN_OPTS(p, 0) }]);
  const times = [1000, 3000, 7000, 15000, 31000, 63000];
  t.deepEqual(
    p.runUntil(126_999),
    times.map((at) => ({ t: at, flags: 'S', seq: p.our(0), ack: 0, win: 64240, len: 0, opts: SYN_OPTS(p, at) })),
  );
  t.is(ep.state, 'SYN_SENT');
  t.deepEqual(p.runUntil(127_000), [], 'give-up sends nothing (tcp_write_err)');
  t.is(ep.state, 'CLOSED');
  t.deepEqual([rd(ep), rd(ep), wr(ep)], ['ETIMEDOUT', 'EOF', 'EPIPE']);
  t.deepEqual(moved(s, before), {
    TcpActiveOpens: 1,
    TcpAttemptFails: 1,
    TcpRetransSegs: 6,
    TcpExtTCPTimeouts: 7,
    TcpExtTcpTimeoutRehash: 6,
    TcpExtTCPSynRetrans: 6,
    TcpExtTCPAbortOnTimeout: 1,
  });
  t.deepEqual(rsts(s.trace), []);
  t.deepEqual(p.runUntil(1_000_000), []);
});

test('SYN timeout: the default timeline moves exactly TCPSynRetrans ×10, TCPTimeouts ×11, TcpTimeoutRehash ×10 (measured on 6.18: one per RTO that retransmits), TcpAttemptFails, TCPAbortOnTimeout, and no RST is traced', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  const before = snap(s);
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort });
  p.flush();
  t.is(p.runUntil(131_000).length, 10);
  t.is(ep.getError(), 'ETIMEDOUT');
  t.deepEqual(moved(s, before), {
    TcpActiveOpens: 1,
    TcpAttemptFails: 1,
    TcpRetransSegs: 10,
    TcpExtTCPTimeouts: 11,
    TcpExtTcpTimeoutRehash: 10,
    TcpExtTCPSynRetrans: 10,
    TcpExtTCPAbortOnTimeout: 1,
  });
  t.deepEqual(rsts(s.trace), []);
});

test('SYN timeout: the application gives up (close in SYN_SENT after 100 ms): nothing sent; the late SYN-ACK gets the reply reset RST seq = SEG.ACK (NO_SOCKET)', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  const before = snap(s);
  p.quietUntil(100);
  ep.close();
  t.deepEqual(p.flush(), [], 'close in SYN_SENT sends nothing (tcp_close_state: SYN_SENT → CLOSE)');
  t.deepEqual(s.stack.tcp.connections(), []);
  p.quietUntil(1000);
  t.deepEqual(moved(s, before), {}, 'no TcpAttemptFails: __tcp_close does not go through tcp_done');

  // The server's SYN-ACK retransmission arrives at 1 s: no socket any more.
  t.deepEqual(p.send({ flags: 'S.', seq: 5000, ack: p.our(1), win: 65160, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), p.stackTs(0)], ws: 7 } }), [
    { flags: 'R', seq: p.our(1), ack: 0, win: 0, len: 0, opts: {} },
  ]);
  t.deepEqual([p.log.at(-1)!.ipId, p.log.at(-1)!.optionKinds], [0, []]);
  t.deepEqual(rsts(s.trace), [{ t: 1000, path: 'noSocket', reason: 'NO_SOCKET', generator: 'reply', flags: 'R', seq: p.our(1), ack: 0, local: p.stackPort, remote: 80 }]);
  t.deepEqual(moved(s, before), { TcpOutRsts: 1 });
});

/**
 * inet_shutdown() in SYN_SENT calls tcp_disconnect() whatever `how` says:
 * nothing is sent (no SYN was answered), sk_err = ECONNRESET, state CLOSE.
 */
test('SYN timeout: shutdown(SHUT_WR) in SYN_SENT disconnects (inet_shutdown → tcp_disconnect): no error from shutdown, nothing sent, ECONNRESET', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  const before = snap(s);
  p.quietUntil(100);
  t.is(call(() => ep.shutdown('write')), 'ok');
  t.deepEqual(p.flush(), []);
  t.is(ep.state, 'CLOSED');
  t.is(ep.getError(), 'ECONNRESET');
  t.deepEqual(p.runUntil(200_000), [], 'no SYN retransmission');
  t.deepEqual(moved(s, before), {});
  t.deepEqual(p.send({ flags: 'S.', seq: 5000, ack: p.our(1), win: 65160, opts: { mss: 1460 } }), [{ flags: 'R', seq: p.our(1), ack: 0, win: 0, len: 0, opts: {} }]);
});

test('SYN timeout, server side: our SYN-ACK answered by the reply reset of a client that gave up → request dropped silently (TcpAttemptFails, EmbryonicRsts), never accepted', (t) => {
  const s = testStack();
  const listener = s.stack.tcp.socket();
  listener.bind(0, 80);
  listener.listen(16);
  const p = new TcpPeer(s);
  const before = snap(s);
  const [synAck] = p.send({ flags: 'S', seq: 1000, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } });
  t.is(synAck!.flags, 'S.');
  // The client closed meanwhile; the SYN-ACK retransmission at 1 s reaches no socket there.
  const [again] = p.runUntil(1000);
  t.deepEqual([again!.t, again!.flags, again!.seq, again!.ack], [1000, 'S.', p.our(0), 1001]);
  t.deepEqual(p.send({ flags: 'R', seq: 1001 }), [], 'a RST is never answered');
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 0, 'the request is gone');
  t.is(listener.accept(), null);
  t.deepEqual(moved(s, before), {
    TcpAttemptFails: 1,
    TcpRetransSegs: 1,
    TcpExtEmbryonicRsts: 1,
    TcpExtTCPTimeouts: 1,
    TcpExtTCPSynRetrans: 1,
  });
  t.deepEqual(p.runUntil(100_000), [], 'no more SYN-ACKs');
  t.is(listener.accept(), null, 'accept never returns it');
  t.deepEqual(rsts(s.trace), []);
});

test('SYN timeout, both ends ours: the client closes in SYN_SENT, the server\'s SYN-ACK retransmission is reset, the request dies', (t) => {
  const traceA: TraceEvent[] = [];
  const w = new World({ a: { trace: (e) => traceA.push(e) } });
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(16);
  const beforeA = snap(w.a);
  const beforeB = snap(w.b);
  // The first SYN-ACK is lost on the wire.
  let dropped = 0;
  w.filter = (packet, from) => (from === 'b' && dropped++ === 0 ? [] : [packet]);
  const client = w.a.tcp.socket();
  client.connect(formatIpv4(ADDR_B), 7);
  w.run(100);
  t.is(client.state, 'SYN_SENT');
  client.close();
  w.run(70_000);
  t.deepEqual(
    w.log.map((e) => e.t),
    [0, 0, 1000, 1000],
    'SYN, (lost) SYN-ACK, SYN-ACK retransmission at 1 s, the RST; nothing else: no SYN retransmission after close',
  );
  t.is(server.accept(), null);
  t.deepEqual(w.b.tcp.listeners()[0]!.synQueue, 0);
  t.deepEqual(moved(w.a, beforeA), { TcpActiveOpens: 1, TcpOutRsts: 1 });
  t.deepEqual(moved(w.b, beforeB), {
    TcpAttemptFails: 1,
    TcpRetransSegs: 1,
    TcpExtEmbryonicRsts: 1,
    TcpExtTCPTimeouts: 1,
    TcpExtTCPSynRetrans: 1,
  });
  t.deepEqual(rsts(traceA).map((e) => [e.t, e.path, e.reason, e.flags]), [[1000, 'noSocket', 'NO_SOCKET', 'R']]);
});
