/**
 * Opening a connection, segment by segment (docs/linux-behaviour.md, TCP
 * basics): passive open with and without options, active open, simultaneous
 * open.
 */
import test from 'ava';
import { POLLIN, POLLOUT } from '../../stack/socket/types.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, STACK_IP, TcpPeer, ACTIVE_WIN, PASSIVE_WIN, UNSCALED_WIN } from '../helpers/tcp-peer.ts';

test('passive open: SYN with MSS, SACK_PERM, TS, WS 7 gets a SYN-ACK echoing them (window 65160, wscale 10)', (t) => {
  const s = testStack();
  const listener = s.stack.tcp.socket();
  listener.bind(0, 80);
  listener.listen(16);
  const p = new TcpPeer(s);

  const synAck = p.send({ flags: 'S', seq: 1000, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } });
  t.deepEqual(synAck, [
    { flags: 'S.', seq: p.our(0), ack: 1001, win: 65160, len: 0, opts: { mss: 1460, sackOk: true, ts: [p.stackTs(0), p.tsVal(0)], ws: 10 } },
  ]);
  const c = p.log[0]!;
  t.deepEqual(c.optionKinds, [2, 4, 8, 1, 3], 'MSS, SACK_PERM, TS, NOP, WS (tcp_options_write)');
  t.deepEqual([c.ipId, c.ttl, c.df], [0, 64, true], 'IP ID 0 without a full socket, TTL 64, DF');
  t.deepEqual([c.sport, c.dport], [80, 40000]);
  t.is(listener.accept(), null, 'nothing to accept before the third ACK');
  t.is(listener.poll() & POLLIN, 0);

  p.quietUntil(50);
  t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(1), win: 502, opts: { ts: [p.tsVal(), p.stackTs(0)] } }), [], 'the third ACK is not answered');
  t.is(listener.poll() & POLLIN, POLLIN);
  const ep = listener.accept();
  t.truthy(ep);
  t.is(ep!.state, 'ESTABLISHED');
  t.deepEqual([ep!.localAddress, ep!.localPort, ep!.remoteAddress, ep!.remotePort], [STACK_IP, 80, PEER_IP, 40000]);
  t.is(s.stack.counters.TcpPassiveOpens, 1);
  t.is(s.stack.counters.TcpCurrEstab, 1);
  t.is(s.stack.counters.TcpActiveOpens, 0);
  const info = ep!.info();
  t.deepEqual([info.sndWscale, info.rcvWscale, info.mss, info.timestamps, info.sack, info.sndWnd], [7, 10, 1448, true, true, 502 * 128]);

  // Its first data segment: NOP NOP TS, ack = peer ISN + 1, the idle window.
  t.is(ep!.write(new Uint8Array(10)), 10);
  t.deepEqual(p.flush(), [{ flags: 'P.', seq: p.our(1), ack: 1001, win: PASSIVE_WIN, len: 10, opts: { ts: [p.stackTs(50), p.tsVal(50)] } }]);
  t.is(s.stack.drops.INTERNAL_ERROR, 0);
});

test('passive open: a SYN without options gets only MSS and window 64240; later segments assume MSS 536', (t) => {
  const s = testStack();
  const listener = s.stack.tcp.socket();
  listener.bind(0, 80);
  listener.listen(16);
  const p = new TcpPeer(s);

  t.deepEqual(p.send({ flags: 'S', seq: 1000, win: 65535 }), [{ flags: 'S.', seq: p.our(0), ack: 1001, win: 64240, len: 0, opts: { mss: 1460 } }]);
  t.deepEqual(p.log[0]!.optionKinds, [2]);
  p.quietUntil(50);
  t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(1), win: 65535 }), []);
  const ep = listener.accept()!;
  t.is(ep.state, 'ESTABLISHED');
  t.is(ep.info().mss, 536, 'TCP_MSS_DEFAULT (RFC 9293 §3.7.1)');

  t.is(ep.write(new Uint8Array(2000)), 2000);
  // No window scaling: the window field is the byte count, capped at 65535.
  // Two packets of 2 segments (tcp_tso_segs at a 50 ms RTT), each ending in PSH.
  const win = UNSCALED_WIN;
  t.deepEqual(p.flush(), [
    { flags: '.', seq: p.our(1), ack: 1001, win, len: 536, opts: {} },
    { flags: 'P.', seq: p.our(537), ack: 1001, win, len: 536, opts: {} },
    { flags: '.', seq: p.our(1073), ack: 1001, win, len: 536, opts: {} },
    { flags: 'P.', seq: p.our(1609), ack: 1001, win, len: 392, opts: {} },
  ]);
});

test('active open: SYN in Linux option order with window 64240; the SYN-ACK is ACKed and connect completes', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  t.is(ep.localPort % 2, 0, 'connect() tries even ports first');
  t.true(ep.localPort >= 32768 && ep.localPort <= 60999);

  t.deepEqual(p.flush(), [{ flags: 'S', seq: p.our(0), ack: 0, win: 64240, len: 0, opts: { mss: 1460, sackOk: true, ts: [p.stackTs(0), 0], ws: 10 } }]);
  const syn = p.log[0]!;
  t.deepEqual(syn.optionKinds, [2, 4, 8, 1, 3], 'MSS, SACK_PERM, TS(ecr 0), NOP, WS: 20 bytes');
  t.deepEqual([syn.ttl, syn.df], [64, true]);
  t.is(ep.state, 'SYN_SENT');
  t.is(ep.poll() & POLLOUT, 0, 'not writable before the handshake completes');
  t.is(s.stack.counters.TcpActiveOpens, 1);

  p.quietUntil(50);
  const ack = p.send({ flags: 'S.', seq: 5000, ack: p.our(1), win: 65535, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), p.stackTs(0)], ws: 7 } });
  t.deepEqual(ack, [{ flags: '.', seq: p.our(1), ack: 5001, win: ACTIVE_WIN, len: 0, opts: { ts: [p.stackTs(50), p.tsVal(50)] } }]);
  t.is(ep.state, 'ESTABLISHED');
  t.is(ep.poll() & POLLOUT, POLLOUT);
  t.is(ep.getError(), undefined);
  const info = ep.info();
  t.deepEqual([info.sndWnd, info.sndWscale, info.rcvWscale, info.mss], [65535, 7, 10, 1448], 'the SYN-ACK window is not scaled (RFC 7323 §2.2)');
  t.is(info.bytesAcked, 1, 'tcpi_bytes_acked counts the SYN (tcp_snd_una_update; ss on Linux 6.18 shows bytes_acked:1)');
  t.is(s.stack.counters.TcpActiveOpens, 1);
  t.is(s.stack.counters.TcpCurrEstab, 1);
  t.is(s.stack.counters.TcpPassiveOpens, 0);
});

test('active open: a SYN-ACK without options leaves MSS 536, no timestamps, no scaling', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  p.quietUntil(20);
  t.deepEqual(p.send({ flags: 'S.', seq: 5000, ack: p.our(1), win: 8192 }), [
    { flags: '.', seq: p.our(1), ack: 5001, win: UNSCALED_WIN, len: 0, opts: {} },
  ]);
  t.is(ep.state, 'ESTABLISHED');
  t.is(ep.write(new Uint8Array(600)), 600);
  t.deepEqual(p.flush(), [
    { flags: '.', seq: p.our(1), ack: 5001, win: UNSCALED_WIN, len: 536, opts: {} },
    { flags: 'P.', seq: p.our(537), ack: 5001, win: UNSCALED_WIN, len: 64, opts: {} },
  ]);
});

/**
 * Simultaneous open (tcp_rcv_synsent_state_process): the peer's SYN crosses
 * ours. Linux answers with tcp_send_synack(), which resends the SYN skb of
 * tcp_connect() with ACK set: same ISN, options from tcp_syn_options() (TSecr
 * = the peer's TSval), and the window min(rcv_wnd, 65535) chosen at connect()
 * time, 64240.
 */
test('simultaneous open: the crossing SYN gets a SYN-ACK with the same ISN, options and window 64240', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  const [syn] = p.flush();
  t.is(syn!.flags, 'S');

  p.quietUntil(10);
  const synAck = p.send({ flags: 'S', seq: 5000, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } });
  t.deepEqual(synAck, [
    { flags: 'S.', seq: p.our(0), ack: 5001, win: 64240, len: 0, opts: { mss: 1460, sackOk: true, ts: [p.stackTs(10), p.tsVal(10)], ws: 10 } },
  ]);
  t.deepEqual(p.log[1]!.optionKinds, [2, 4, 8, 1, 3]);
  t.is(ep.state, 'SYN_RECV');
});

test('simultaneous open: the crossing SYN gets a SYN-ACK with the same ISN and options; the peer\'s SYN-ACK establishes', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();

  p.quietUntil(10);
  const [synAck] = p.send({ flags: 'S', seq: 5000, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } });
  // Every field but the window (see the failing test above).
  t.deepEqual({ ...synAck!, win: 0 }, { flags: 'S.', seq: p.our(0), ack: 5001, win: 0, len: 0, opts: { mss: 1460, sackOk: true, ts: [p.stackTs(10), p.tsVal(10)], ws: 10 } });
  t.is(ep.state, 'SYN_RECV');
  t.is(ep.poll() & POLLOUT, 0);
  t.is(s.stack.counters.TcpActiveOpens, 1);

  p.quietUntil(20);
  // Linux 6.11+ accepts this SYN-ACK in SYN_RECV ("tcp: Don't drop SYN+ACK for simultaneous
  // connect()": no challenge ACK); since "tcp: process the 3rd ACK with sk_socket for TFO/MPTCP"
  // it goes on to tcp_data_queue, where its SYN is a duplicate: an ACK at once with a D-SACK
  // of it (packetdrill on Linux 6.18).
  const [dupAck] = p.send({ flags: 'S.', seq: 5000, ack: p.our(1), win: 502, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), p.stackTs(10)], ws: 7 } });
  t.deepEqual([dupAck!.flags, dupAck!.seq, dupAck!.ack, dupAck!.len, dupAck!.opts.sack], ['.', p.our(1), 5001, 0, [[5000, 5001]]]);
  t.is(ep.state, 'ESTABLISHED');
  t.is(ep.poll() & POLLOUT, POLLOUT);
  t.is(s.stack.counters.TcpCurrEstab, 1);
  t.is(s.stack.counters.TcpExtTCPSYNChallenge, 0, 'the SYN-ACK is accepted, not challenged');
  t.is(s.stack.counters.TcpExtTCPChallengeACK, 0);
  t.is(ep.info().sndWnd, 502 * 128);

  // Data flows from the new sequence space.
  t.is(ep.write(new Uint8Array(5)), 5);
  const [data] = p.flush();
  t.deepEqual([data!.flags, data!.seq, data!.ack, data!.len], ['P.', p.our(1), 5001, 5]);
});

/**
 * The simultaneous-open SYN-ACK carries "the same options" as our SYN:
 * tcp_send_synack() resends the SYN skb, whose options tcp_syn_options()
 * builds from our sysctls, not from what the peer offered (the kernel's own
 * packetdrill for this case: peer SYN <mss 1000>, our SYN-ACK
 * <mss 1460,sackOK,TS val … ecr 0,nop,wscale 8>).
 */
test('simultaneous open: a crossing SYN with only MSS still gets a SYN-ACK with all of our SYN\'s options', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  p.quietUntil(10);
  const [synAck] = p.send({ flags: 'S', seq: 5000, win: 1000, opts: { mss: 1000 } });
  // The window is the subject of the test above; everything else here.
  t.deepEqual({ ...synAck!, win: 0 }, { flags: 'S.', seq: p.our(0), ack: 5001, win: 0, len: 0, opts: { mss: 1460, sackOk: true, ts: [p.stackTs(10), 0], ws: 10 } });
  t.deepEqual(p.log[1]!.optionKinds, [2, 4, 8, 1, 3]);
});
