/**
 * Each kind of segment lost once (or for good) and what our stack does
 * about it, at the exact virtual time (docs/linux-behaviour.md, SYN timeout
 * and Retransmission give-up).
 */
import test from 'ava';
import { POLLERR } from '../../stack/socket/types.ts';
import { SocketError } from '../../stack/socket/types.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, passiveOpen, pattern, ACTIVE_WIN, PASSIVE_WIN, UNSCALED_WIN, type Opts } from '../helpers/tcp-peer.ts';

const SYN_OPTS = (p: TcpPeer, t: number): Opts => ({ mss: 1460, sackOk: true, ts: [p.stackTs(t), 0], ws: 10 });

test('SYN never answered: retransmitted at 1, 2, 3, 4, 5 s (linear), then 7, 11, 19, 35, 67 s; ETIMEDOUT at 131 s with nothing sent', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort });
  t.deepEqual(p.flush(), [{ flags: 'S', seq: p.our(0), ack: 0, win: 64240, len: 0, opts: SYN_OPTS(p, 0) }]);

  const times = [1000, 2000, 3000, 4000, 5000, 7000, 11000, 19000, 35000, 67000];
  t.deepEqual(
    p.runUntil(130_999),
    times.map((at) => ({ t: at, flags: 'S', seq: p.our(0), ack: 0, win: 64240, len: 0, opts: SYN_OPTS(p, at) })),
  );
  t.is(ep.state, 'SYN_SENT');
  t.is(s.stack.counters.TcpExtTCPSynRetrans, 10);
  t.is(s.stack.counters.TcpRetransSegs, 10);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 10);
  t.is(s.stack.counters.TcpAttemptFails, 0);

  t.deepEqual(p.runUntil(131_000), [], 'give-up sends no segment (tcp_write_err)');
  t.is(ep.state, 'CLOSED');
  t.is(ep.poll() & POLLERR, POLLERR);
  const error = t.throws(() => ep.read(), { instanceOf: SocketError });
  t.is(error?.code, 'ETIMEDOUT');
  t.is(s.stack.counters.TcpExtTCPSynRetrans, 10);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 11);
  t.is(s.stack.counters.TcpAttemptFails, 1);
  t.is(s.stack.counters.TcpExtTCPAbortOnTimeout, 1);
  t.is(s.stack.counters.TcpOutRsts, 0);
  t.is(s.stack.counters.TcpActiveOpens, 1);
  t.deepEqual(p.runUntil(1_000_000), []);
  t.is(s.stack.tcp.connections().length, 0);
});

test('SYN lost once: the retransmission at 1 s completes the handshake; the TS echo gives an RTT sample (RTO 252 ms)', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush(); // lost
  t.deepEqual(p.runUntil(1000), [{ t: 1000, flags: 'S', seq: p.our(0), ack: 0, win: 64240, len: 0, opts: SYN_OPTS(p, 1000) }]);
  p.quietUntil(1050);
  const ack = p.send({ flags: 'S.', seq: 5000, ack: p.our(1), win: 65535, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), p.stackTs(1000)], ws: 7 } });
  t.deepEqual(ack, [{ flags: '.', seq: p.our(1), ack: 5001, win: ACTIVE_WIN, len: 0, opts: { ts: [p.stackTs(1050), p.tsVal(1050)] } }]);
  t.is(ep.state, 'ESTABLISHED');
  t.is(s.stack.counters.TcpExtTCPSynRetrans, 1);

  // SRTT 50 ms from the timestamp echo: RTO = 50 + max(4·RTTVAR, 200) = 250 ms,
  // 62.5 jiffies rounded up to 63 (252 ms), not 3 s.
  p.ts = true;
  p.quietUntil(1100);
  ep.write(pattern(100));
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq, x.len]), [['P.', p.our(1), 100]]);
  t.deepEqual(p.runUntil(1352).map((x) => [x.t, x.flags, x.seq, x.len]), [[1352, 'P.', p.our(1), 100]]);
});

test('SYN lost once and no timestamps: without an RTT sample the RTO after the handshake is 3 s (TCP_TIMEOUT_FALLBACK)', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  t.is(p.runUntil(1000).length, 1);
  p.quietUntil(1050);
  t.deepEqual(p.send({ flags: 'S.', seq: 5000, ack: p.our(1), win: 65535, opts: { mss: 1460 } }), [
    { flags: '.', seq: p.our(1), ack: 5001, win: UNSCALED_WIN, len: 0, opts: {} },
  ]);
  p.quietUntil(1100);
  ep.write(pattern(100));
  t.deepEqual(p.flush(), [{ flags: 'P.', seq: p.our(1), ack: 5001, win: UNSCALED_WIN, len: 100, opts: {} }]);
  p.quietUntil(4099);
  t.deepEqual(p.runUntil(4100), [{ t: 4100, flags: 'P.', seq: p.our(1), ack: 5001, win: UNSCALED_WIN, len: 100, opts: {} }]);
});

test('SYN-ACK never acknowledged: retransmitted at 1, 3, 7, 15, 31 s, the request dropped silently at 63 s', (t) => {
  const s = testStack();
  const listener = s.stack.tcp.socket();
  listener.bind(0, 80);
  listener.listen(16);
  const p = new TcpPeer(s);
  const synTs = p.tsVal(0);
  const synAck = (at: number) => ({ flags: 'S.', seq: p.our(0), ack: 1001, win: 65160, len: 0, opts: { mss: 1460, sackOk: true, ts: [p.stackTs(at), synTs] as [number, number], ws: 10 } });
  t.deepEqual(p.send({ flags: 'S', seq: 1000, win: 64240, opts: { mss: 1460, sackOk: true, ts: [synTs, 0], ws: 7 } }), [synAck(0)]);

  t.deepEqual(p.runUntil(62_999), [1000, 3000, 7000, 15000, 31000].map((at) => ({ t: at, ...synAck(at) })));
  t.true(p.log.every((c) => c.ipId === 0));
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 1);
  t.deepEqual(p.runUntil(63_000), [], 'dropped without a segment');
  t.is(s.stack.tcp.listeners()[0]!.synQueue, 0);
  t.is(s.stack.counters.TcpExtTCPSynRetrans, 5);
  t.is(s.stack.counters.TcpRetransSegs, 5);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 6);
  t.is(s.stack.counters.TcpPassiveOpens, 0);
  t.is(listener.accept(), null);

  // The peer's late third ACK now meets the listener: RST seq = SEG.ACK (tcp_rcv_state_process, TCP_LISTEN).
  t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(1), win: 502, opts: { ts: [p.tsVal(), p.stackTs(31000)] } }), [
    { flags: 'R', seq: p.our(1), ack: 0, win: 0, len: 0, opts: {} },
  ]);
});

test('SYN-ACK lost once: the retransmission at 1 s is acknowledged and the connection is accepted', (t) => {
  const s = testStack();
  const listener = s.stack.tcp.socket();
  listener.bind(0, 80);
  listener.listen(16);
  const p = new TcpPeer(s);
  p.send({ flags: 'S', seq: 1000, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } }); // lost
  const [again] = p.runUntil(1000);
  t.deepEqual([again!.t, again!.flags, again!.seq, again!.ack], [1000, 'S.', p.our(0), 1001]);
  p.quietUntil(1050);
  t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(1), win: 502, opts: { ts: [p.tsVal(), p.stackTs(1000)] } }), []);
  const ep = listener.accept();
  t.is(ep?.state, 'ESTABLISHED');
  t.is(s.stack.counters.TcpPassiveOpens, 1);
  t.is(s.stack.counters.TcpExtTCPSynRetrans, 1);
  t.deepEqual(p.runUntil(100_000), [], 'no SYN-ACK after the handshake');
});

/**
 * A pure retransmitted SYN is answered with the SYN-ACK at once
 * (inet_rtx_syn_ack: TcpExtTCPSynRetrans, TcpRetransSegs) and the request's
 * timer is re-armed ("Reset timer after retransmitting SYNACK", tcp_check_req:
 * mod_timer_pending(now + reqsk_timeout)), so the next timer SYN-ACK comes
 * 1 s after it, then 2 s later.
 */
test('SYN-ACK lost: the peer\'s retransmitted SYN gets it again at once and re-arms the SYN-ACK timer', (t) => {
  const s = testStack();
  const listener = s.stack.tcp.socket();
  listener.bind(0, 80);
  listener.listen(16);
  const p = new TcpPeer(s);
  const synTs = p.tsVal(0);
  p.send({ flags: 'S', seq: 1000, win: 64240, opts: { mss: 1460, sackOk: true, ts: [synTs, 0], ws: 7 } }); // lost
  p.quietUntil(900);
  const synAck = (at: number) => ({ flags: 'S.', seq: p.our(0), ack: 1001, win: 65160, len: 0, opts: { mss: 1460, sackOk: true, ts: [p.stackTs(at), synTs] as [number, number], ws: 10 } });
  t.deepEqual(p.send({ flags: 'S', seq: 1000, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } }), [synAck(900)]);
  t.is(s.stack.counters.TcpExtTCPSynRetrans, 1);
  t.is(s.stack.counters.TcpRetransSegs, 1);
  t.deepEqual(p.runUntil(4000), [{ t: 1900, ...synAck(1900) }, { t: 3900, ...synAck(3900) }]);
});

test('data lost: RTO retransmission of the same bytes at SRTT + 200 ms, doubling, then recovery after the ACK', (t) => {
  // Without SACK Linux sends no tail loss probe (tcp_schedule_loss_probe needs SACK): pure RTO timeline.
  const { s, peer: p, ep } = passiveOpen({ sack: false, rtt: 50 });
  p.quietUntil(100);
  const data = pattern(100);
  t.is(ep.write(data), 100);
  const sent = (at: number) => ({ flags: 'P.', seq: p.our(1), ack: p.their(1), win: PASSIVE_WIN, len: 100, opts: { ts: [p.stackTs(at), p.tsVal(50)] as [number, number] } });
  t.deepEqual(p.flush(), [sent(100)]);

  // RTO = SRTT 50 (from the handshake) + 200 = 250 ms, 63 whole jiffies
  // (252 ms), then doubled in jiffies: 504, 1008.
  t.deepEqual(p.runUntil(1899), [352, 856, 1864].map((at) => ({ t: at, ...sent(at) })));
  t.true(p.log.slice(-4).every((c) => Buffer.from(c.payload).equals(Buffer.from(data))), 'the same bytes each time');
  t.is(s.stack.counters.TcpExtTCPTimeouts, 3);
  t.is(s.stack.counters.TcpRetransSegs, 3);
  t.is(ep.info().backoff, 3);

  // The ACK, 50 ms after the last retransmission, ends it: nothing more is sent and the backoff is gone.
  p.quietUntil(1914);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(101), opts: { ts: [p.tsVal(), p.stackTs(1864)] } }), []);
  t.is(ep.info().backoff, 0);
  t.deepEqual(p.runUntil(2000), []);

  // New data uses the fresh RTO (252 ms again: SRTT 50 from the TS echo), not the backed-off 2 s.
  ep.write(pattern(50, 100));
  const [next] = p.flush();
  t.deepEqual(next, { flags: 'P.', seq: p.our(101), ack: p.their(1), win: PASSIVE_WIN, len: 50, opts: { ts: [p.stackTs(2000), p.tsVal(1914)] } });
  t.deepEqual(p.runUntil(2252).map((x) => [x.t, x.seq, x.len]), [[2252, p.our(101), 50]]);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 4);
});

/**
 * Linux's RTO is a whole number of jiffies: __tcp_set_rto() converts
 * SRTT + RTTVAR with usecs_to_jiffies(), which rounds up. After samples of
 * 50 and 49 ms SRTT is 49.875 ms, RTTVAR stays at rto_min (200 ms), and
 * 249.875 ms is 62.47 jiffies → 63, an RTO of 252 ms (backed off: 504).
 */
test('RTO: a fractional SRTT gives an RTO rounded up to whole jiffies', (t) => {
  const { peer: p, ep } = passiveOpen({ sack: false, rtt: 50 });
  p.quietUntil(100);
  ep.write(pattern(10));
  p.flush();
  p.quietUntil(149);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(11), opts: { ts: [p.tsVal(), p.stackTs(100)] } });
  p.quietUntil(200);
  ep.write(pattern(10, 10));
  t.deepEqual(p.flush().map((x) => x.seq), [p.our(11)]);
  t.deepEqual(p.runUntil(1000).map((x) => x.t), [452, 956]);
});

/**
 * Linux retransmits the head of the queue as it was queued: when a write was
 * cut into several segments, only the last carried PSH, and tcp_fragment()
 * strips PSH from the front part it retransmits (tcp_retransmit_timer
 * retransmits the head of the write queue).
 */
test('data lost: an RTO retransmission keeps the original segment\'s flags (no PSH added)', (t) => {
  const { peer: p, ep } = passiveOpen({ sack: false, rtt: 50 });
  p.quietUntil(100);
  ep.write(pattern(2896));
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq, x.len]), [
    ['.', p.our(1), 1448],
    ['P.', p.our(1449), 1448],
  ]);
  t.deepEqual(p.runUntil(352), [{ t: 352, flags: '.', seq: p.our(1), ack: p.their(1), win: PASSIVE_WIN, len: 1448, opts: { ts: [p.stackTs(352), p.tsVal(50)] } }]);
});

/**
 * With SACK, Linux's first retransmission of a lost tail is a tail loss probe
 * (tcp_early_retrans=3): PTO = min(2·SRTT + rto_min for one packet in flight
 * = 300 ms, the RTO) = 252 ms here (63 jiffies), counted in TcpExtTCPLossProbes;
 * the RTO is re-armed from the probe, then doubles (measured on Linux 6.18:
 * "+0.207 (TLP), +0.208, +0.43, +0.83 s"; docs/linux-behaviour.md, path 9,
 * Tail loss probe; more cases in test/tcp/loss-probe.test.ts).
 */
test('data lost with SACK: the first retransmission is a tail loss probe, then RTOs from it', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.write(pattern(100));
  p.flush();
  t.deepEqual(p.runUntil(1108).map((x) => [x.t, x.flags, x.seq, x.len]), [
    [352, 'P.', p.our(1), 100],
    [604, 'P.', p.our(1), 100],
    [1108, 'P.', p.our(1), 100],
  ]);
  t.is(s.stack.counters.TcpExtTCPLossProbes, 1);
  t.is(s.stack.counters.TcpExtTCPTimeouts, 2);
});

test('third ACK lost: the peer\'s first data segment carries the ACK and completes the handshake', (t) => {
  const s = testStack();
  const listener = s.stack.tcp.socket();
  listener.bind(0, 80);
  listener.listen(16);
  const p = new TcpPeer(s);
  p.send({ flags: 'S', seq: 1000, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } });
  p.ts = true;
  // The third ACK is lost; 50 ms later the peer sends data (with the same ACK).
  p.quietUntil(50);
  const reply = p.send({ flags: 'P.', seq: 1001, ack: p.our(1), win: 502, data: pattern(10) });
  t.deepEqual(reply, [{ flags: '.', seq: p.our(1), ack: 1011, win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(50), p.tsVal(50)] } }]);
  const ep = listener.accept();
  t.is(ep?.state, 'ESTABLISHED');
  t.deepEqual(ep!.read(), pattern(10));
  t.is(s.stack.counters.TcpPassiveOpens, 1);
  t.is(s.stack.counters.TcpExtTCPSynRetrans, 0);
  t.deepEqual(p.runUntil(10_000), [], 'no SYN-ACK retransmission after the request completed');
});

test('FIN lost: retransmitted at each RTO until acknowledged, then FIN_WAIT2', (t) => {
  const { s, peer: p, ep } = passiveOpen({ sack: false, rtt: 50 });
  p.quietUntil(100);
  ep.close();
  const fin = (at: number) => ({ flags: 'F.', seq: p.our(1), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(at), p.tsVal(50)] as [number, number] } });
  t.deepEqual(p.flush(), [fin(100)]);
  t.is(s.stack.tcp.connections()[0]!.state, 'FIN_WAIT1');
  t.deepEqual(p.runUntil(1899), [352, 856, 1864].map((at) => ({ t: at, ...fin(at) })));
  t.is(s.stack.counters.TcpExtTCPTimeouts, 3);
  t.is(s.stack.counters.TcpRetransSegs, 3);

  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(2) }), []);
  t.is(s.stack.tcp.connections()[0]!.state, 'FIN_WAIT2');
  t.deepEqual(p.runUntil(10_000), [], 'no more FINs');
});
