/**
 * In-window segments from someone who knows the sequence numbers, and what
 * they do to the send window and to loss recovery (tcp_ack,
 * tcp_may_update_window, tcp_ack_update_window, tcp_validate_incoming,
 * tcp_oow_rate_limited). Each case as Linux 6.18 does it, measured with the
 * differential scenarios window-injection and injected-acks
 * (docs/linux-behaviour.md, In-window injection and the send window).
 */
import test from 'ava';
import { passiveOpen, pattern } from '../helpers/tcp-peer.ts';

test('(a) a pure ACK far ahead in the window with window 0 shuts the send side; probes answered below SND.WL1 do not reopen it; the peer\'s data past the injected SEG.SEQ does', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.write(pattern(100));
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq, x.len]), [['P.', p.our(1), 100]]);
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(101) }), []);

  // SEG.SEQ = RCV.NXT + 5000 > SND.WL1, SEG.ACK = SND.UNA, window 0: taken (tcp_may_update_window).
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: '.', seq: p.their(5001), ack: p.our(101), win: 0 }), []);
  t.is(ep.info().sndWnd, 0);
  t.is(ep.write(pattern(100, 100)), 100);
  t.deepEqual(p.flush(), [], 'the window is shut');

  // Zero-window probes (RTO 252 ms, then doubling), each answered by the real
  // peer: SEG.SEQ = RCV.NXT < SND.WL1, nothing new acknowledged, window open.
  for (const at of [452, 956, 1964]) {
    const probes = p.runUntil(at);
    t.deepEqual(probes.map((x) => [x.t, x.flags, x.seq, x.len]), [[at, '.', p.our(100), 0]], `probe at ${at}`);
    t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(101) }), [], 'the answer does not reopen the window');
    t.is(ep.info().sndWnd, 0);
  }
  // The peer's data below the injected SEG.SEQ: ACKed, the window stays shut.
  p.quietUntil(2000);
  const below = p.send({ flags: 'P.', seq: p.their(1), ack: p.our(101), data: pattern(1000) });
  t.true(below.every((x) => x.len === 0), 'only ACKs');
  t.is(ep.info().sndWnd, 0);
  // Past it (SEG.SEQ > SND.WL1): the real window is taken and the data goes at once.
  p.quietUntil(2100);
  const past = p.send({ flags: 'P.', seq: p.their(5101), ack: p.our(101), data: pattern(10) });
  t.true(past.some((x) => x.flags === 'P.' && x.seq === p.our(101) && x.len === 100), JSON.stringify(past));
  t.is(ep.state, 'ESTABLISHED');
  t.is(s.stack.counters.TcpExtTCPWinProbe, 3);
});

test('(b) in-window data far ahead with window 0: queued out of order, answered with a SACK, and the send window is shut the same way', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  const answer = p.send({ flags: 'P.', seq: p.their(5001), ack: p.our(1), win: 0, data: pattern(100) });
  t.deepEqual(
    answer.map((x) => [x.flags, x.seq, x.ack, x.opts.sack]),
    [['.', p.our(1), p.their(1), [[p.their(5001), p.their(5101)]]]],
  );
  t.is(ep.info().sndWnd, 0);
  t.is(ep.write(pattern(100)), 100);
  t.deepEqual(p.flush(), [], 'the window is shut');
  // The real peer's ACK (SEG.SEQ = RCV.NXT < SND.WL1) does not reopen it.
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1) }), []);
  t.is(ep.info().sndWnd, 0);
});

test('(e) a smaller window at SEG.SEQ = SND.WL1 is ignored; with SEG.SEQ past SND.WL1 it is taken (tcp_may_update_window); less than a segment waits for the probe timer', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50, win: 1000 });
  t.is(ep.info().sndWnd, 1000 << 7);
  p.quietUntil(100);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1), win: 10 }), []);
  t.is(ep.info().sndWnd, 1000 << 7, 'same SEG.SEQ, smaller and non-zero: not an update');
  t.deepEqual(p.send({ flags: '.', seq: p.their(2001), ack: p.our(1), win: 10 }), []);
  t.is(ep.info().sndWnd, 10 << 7, 'SEG.SEQ > SND.WL1: the window shrinks');
  // Less than a segment: sender-side SWS avoidance holds the data until the
  // probe timer (RTO 252 ms) sends what fits, with PSH (tcp_write_wakeup;
  // test/scripts/window-shrink.pkt).
  ep.write(pattern(3000));
  t.deepEqual(p.flush(), []);
  t.deepEqual(p.runUntil(400).map((x) => [x.t, x.flags, x.seq, x.len]), [[352, 'P.', p.our(1), 1280]]);
});

test('pure ACKs of SND.UNA with SEG.SEQ further ahead each time are window updates, not duplicate ACKs: no fast retransmit, the loss is repaired at the RTO', (t) => {
  // Without SACK, duplicate ACKs alone count (tcp_add_reno_sack); FLAG_WIN_UPDATE keeps these out.
  const { s, peer: p, ep } = passiveOpen({ rtt: 50, sack: false });
  p.quietUntil(100);
  ep.write(pattern(3000));
  t.deepEqual(p.flush().map((x) => [x.seq, x.len]), [[p.our(1), 1448], [p.our(1449), 1448], [p.our(2897), 104]]);
  for (const [i, at] of [110, 111, 112, 113].entries()) {
    p.quietUntil(at);
    t.deepEqual(p.send({ flags: '.', seq: p.their(1 + 1000 * (i + 1)), ack: p.our(1) }), [], `injected ACK ${i + 1}`);
  }
  t.is(s.stack.counters.TcpExtTCPRenoRecovery, 0);
  const rto = p.runUntil(400);
  t.true(rto.length > 0 && rto[0]!.seq === p.our(1) && rto[0]!.t >= 300, JSON.stringify(rto.map((x) => [x.t, x.seq])));
});

test('the peer\'s real duplicate ACKs (same SEG.SEQ, same window) still trigger fast retransmit', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50, sack: false });
  p.quietUntil(100);
  ep.write(pattern(1448 * 5));
  t.is(p.flush().length, 5);
  p.quietUntil(110);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1449) }), []);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1449) }), []);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1449) }), []);
  const fast = p.send({ flags: '.', seq: p.their(1), ack: p.our(1449) });
  t.deepEqual(fast.map((x) => [x.seq, x.len]), [[p.our(1449), 1448]]);
  t.is(s.stack.counters.TcpExtTCPRenoRecovery, 1);
});

test('out-of-window FINs are each answered at once: only segments that occupy no sequence space (or carry SYN) share the 500 ms limit (tcp_oow_rate_limited)', (t) => {
  const { s, peer: p } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  const ackOf = [['.', p.our(1), p.their(1)]];
  const beyond = p.their(1 + 10_000_000);
  for (const at of [100, 101, 102]) {
    p.quietUntil(at);
    t.deepEqual(p.send({ flags: 'F.', seq: beyond, ack: p.our(1) }).map((x) => [x.flags, x.seq, x.ack]), ackOf, `FIN at ${at}`);
  }
  // Pure ACKs out of the window: the first answered, the next within 500 ms not.
  p.quietUntil(700);
  t.deepEqual(p.send({ flags: '.', seq: beyond, ack: p.our(1) }).map((x) => [x.flags, x.seq, x.ack]), ackOf);
  t.deepEqual(p.send({ flags: '.', seq: beyond, ack: p.our(1) }), []);
  t.is(s.stack.counters.TcpExtTCPACKSkippedSeq, 1);
});

test('(f) a storm of in-window RSTs and SYNs not at RCV.NXT: one challenge ACK per 500 ms, the rest counted; the connection carries data afterwards', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  const sent = [];
  for (let i = 0; i < 60; i++) {
    p.quietUntil(100 + 10 * i);
    sent.push(...p.send({ flags: i % 2 ? 'S' : 'R', seq: p.their(2 + i), ack: 0 }));
  }
  t.deepEqual(
    sent.map((x) => [x.flags, x.seq, x.ack]),
    [['.', p.our(1), p.their(1)], ['.', p.our(1), p.their(1)]],
    'at 100 ms and 600 ms',
  );
  t.is(s.stack.counters.TcpExtTCPChallengeACK, 2);
  t.is(s.stack.counters.TcpExtTCPACKSkippedChallenge, 58);
  t.is(ep.state, 'ESTABLISHED');
  p.quietUntil(1000);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(10) }).map((x) => [x.flags, x.ack]), [['.', p.their(11)]]);
  t.deepEqual(ep.read(100), pattern(10));
  ep.write(pattern(10));
  t.deepEqual(p.flush().map((x) => [x.flags, x.len]), [['P.', 10]]);
});
