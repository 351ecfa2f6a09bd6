/**
 * Flow control both ways: the peer's scaled window limits what we send;
 * a zero window is probed (tcp_probe_timer); our own receive window
 * closes when the application does not read and reopens when it does.
 */
import test from 'ava';
import { passiveOpen, activeOpen, pattern, PASSIVE_WIN } from '../helpers/tcp-peer.ts';

test('the peer\'s window is scaled by its wscale: field 100 with wscale 7 lets exactly 12800 bytes out', (t) => {
  const { peer: p, ep } = passiveOpen({ ws: 7, win: 100 });
  t.is(ep.info().sndWnd, 12800, '100 × 2^7');
  t.is(ep.info().sndWscale, 7);

  // One write per segment, so every segment carries PSH as a Linux sender's would.
  p.quietUntil(100);
  const sent = [];
  for (let i = 0; i < 8; i++) {
    t.is(ep.write(pattern(1448, 1448 * i)), 1448);
    sent.push(...p.flush());
  }
  t.is(ep.write(pattern(1216, 11584)), 1216);
  sent.push(...p.flush());
  t.deepEqual(
    sent.map((x) => [x.flags, x.seq, x.len]),
    [...Array.from({ length: 8 }, (_, i) => ['P.', p.our(1 + 1448 * i), 1448]), ['P.', p.our(11585), 1216]],
  );
  // The window is full: one more byte waits.
  t.is(ep.write(pattern(1, 12800)), 1);
  t.deepEqual(p.flush(), []);
  p.quietUntil(150);

  // The ACK of everything, window still 100 × 128: the byte goes at once.
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(12801), win: 100 }), [
    { flags: 'P.', seq: p.our(12801), ack: p.their(1), win: PASSIVE_WIN, len: 1, opts: { ts: [p.stackTs(150), p.tsVal(150)] } },
  ]);
});

test('zero window: nothing is sent, probes (seq SND.UNA−1, no data) at RTO then doubling; the opened window lets the data out', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.write(pattern(100));
  t.deepEqual(p.flush().map((x) => [x.flags, x.seq, x.len]), [['P.', p.our(1), 100]]);
  // The peer acknowledges it and closes its window (SRTT stays 50 ms: RTO 252 ms, 63 jiffies).
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(101), win: 0 }), []);
  t.is(ep.info().sndWnd, 0);

  p.quietUntil(200);
  t.is(ep.write(pattern(100, 100)), 100);
  t.deepEqual(p.flush(), [], 'the window is closed: nothing is sent');

  // Probes at 200 + 252, then 504, 1008, 2016 later; the peer answers each at once, window still 0.
  let ecrFrom = 150;
  for (const at of [452, 956, 1964, 3980]) {
    t.deepEqual(p.runUntil(at), [{ t: at, flags: '.', seq: p.our(100), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(at), p.tsVal(ecrFrom)] } }], `probe at ${at}`);
    t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(101), win: 0 }), []);
    ecrFrom = at;
  }
  t.is(s.stack.counters.TcpExtTCPWinProbe, 4);
  t.is(ep.state, 'ESTABLISHED');

  // The window opens: the queued bytes flow at once, and the probes stop.
  p.quietUntil(4000);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(101), win: 100 }), [
    { flags: 'P.', seq: p.our(101), ack: p.their(1), win: PASSIVE_WIN, len: 100, opts: { ts: [p.stackTs(4000), p.tsVal(4000)] } },
  ]);
  t.deepEqual(p.lastPayload(), pattern(100, 100));
  p.quietUntil(4100);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(201), win: 100 }), []);
  t.deepEqual(p.runUntil(20_000), []);
  t.is(s.stack.counters.TcpExtTCPWinProbe, 4);
});

/**
 * tcp_may_update_window(): a segment with SEG.SEQ == SND.WL1 updates the
 * window if it grows it *or is zero* (`nwin > snd_wnd || !nwin`); RFC 9293
 * §3.10.7.4 likewise accepts it (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK).
 * A pure window update to 0 must therefore close the window.
 */
test('a pure window update to 0 (same SEQ and ACK) closes the send window', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1), win: 0 }), []);
  t.is(ep.info().sndWnd, 0);
  p.quietUntil(150);
  ep.write(pattern(100));
  t.deepEqual(p.flush(), [], 'held by the zero window');
  t.deepEqual(p.runUntil(402).map((x) => [x.t, x.flags, x.seq, x.len]), [[402, '.', p.our(0), 0]], 'a zero-window probe after the RTO (252 ms)');
});

test('our receive window shrinks as unread data accumulates, is 0 when the buffer is full, and a read announces it reopened', (t) => {
  // SO_RCVBUF 2920 → 5840 bytes of receive memory (doubled, as Linux), fixed;
  // no window scaling, no timestamps: fields are bytes. The window is what
  // that memory holds at the payload/truesize ratio (rcvbuf.ts): half of it
  // before any data, and a 1460-byte segment costs 2304 bytes of it. Every
  // window below is what Linux 6.18 sends in this exchange under packetdrill.
  const { s, peer: p, ep, handshake } = activeOpen({ ws: false, ts: false, sack: false }, (e) => e.setReceiveBuffer(2920));
  t.is(handshake[0]!.win, 2920, 'the SYN offers half the buffer, in whole segments (tcp_select_initial_window)');
  t.deepEqual(handshake[1], { flags: '.', seq: p.our(1), ack: p.their(1), win: 2920, len: 0, opts: {} });

  // The first segment is ACKed at once (quick-ack mode) with what is left:
  // (5840 − 2304) bytes at the ratio 1460/2304 is 2240, at most
  // rcv_ssthresh, in whole segments: 1460. The second leaves 1232 bytes of
  // memory, too little for a segment: the window is 0, and the ACK waits
  // for the delayed-ACK timer (the window we could offer shrank).
  p.quietUntil(100);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(1460) }), [
    { flags: '.', seq: p.our(1), ack: p.their(1461), win: 1460, len: 0, opts: {} },
  ]);
  p.quietUntil(110);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1461), ack: p.our(1), data: pattern(1460, 1460) }), [], 'the second is not ACKed at once');
  t.deepEqual(p.runUntil(190).map((x) => [x.t, x.flags, x.ack, x.win]), [[150, '.', p.their(2921), 0]], 'the delayed ACK, 40 ms later, closes the window');
  t.is(ep.readableBytes, 2920);

  // Data into the closed window, with unread data queued, is out of window as a whole
  // (tcp_sequence: it ends beyond the window): dropped, answered with a duplicate ACK.
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(2921), ack: p.our(1), data: pattern(100, 2920) }), [
    { flags: '.', seq: p.our(1), ack: p.their(2921), win: 0, len: 0, opts: {} },
  ]);
  t.is(ep.readableBytes, 2920);

  // A read that frees one segment's memory announces the window at once (tcp_cleanup_rbuf).
  p.quietUntil(300);
  t.deepEqual(ep.read(1460), pattern(1460));
  t.deepEqual(p.flush(), [{ flags: '.', seq: p.our(1), ack: p.their(2921), win: 1460, len: 0, opts: {} }]);
  t.deepEqual(ep.read(), pattern(1460, 1460));
  t.deepEqual(p.flush(), [{ flags: '.', seq: p.our(1), ack: p.their(2921), win: 2920, len: 0, opts: {} }]);
  t.is(s.stack.drops.INTERNAL_ERROR, 0);

  // That drop did not enter quick-ack mode: the next segment waits for the delayed ACK.
  p.quietUntil(310);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(2921), ack: p.our(1), data: pattern(100, 2920) }), []);
  t.is(s.stack.counters.TcpExtTCPZeroWindowDrop, 0);
});

/**
 * Linux counts the zero-window transitions it advertises (tcp_select_window:
 * TcpExtTCPToZeroWindowAdv, TcpExtTCPFromZeroWindowAdv). Data sent into the
 * zero window while unread data is queued ends beyond the window, so
 * tcp_sequence rejects it whole: TcpExtBeyondWindow, not tcp_data_queue's
 * TcpExtTCPZeroWindowDrop (nstat on Linux 6.18.44 after this exchange under
 * packetdrill: BeyondWindow 1, TCPZeroWindowDrop 0, TCPToZeroWindowAdv 1).
 */
test('zero-window advertisements and drops are counted', (t) => {
  const { s, peer: p, ep } = activeOpen({ ws: false, ts: false, sack: false }, (e) => e.setReceiveBuffer(2920));
  for (let i = 0; i < 2; i++) p.send({ flags: 'P.', seq: p.their(1 + 1460 * i), ack: p.our(1), data: pattern(1460, 1460 * i) });
  p.runUntil(p.now() + 40); // the delayed ACK of the second
  t.is(p.log[p.log.length - 1]!.seen.win, 0);
  t.is(s.stack.counters.TcpExtTCPToZeroWindowAdv, 1);
  p.send({ flags: 'P.', seq: p.their(2921), ack: p.our(1), data: pattern(100) });
  t.deepEqual([s.stack.counters.TcpExtBeyondWindow, s.stack.counters.TcpExtTCPZeroWindowDrop], [1, 0]);
  ep.read();
  t.is(p.flush()[0]!.win, 2920);
  t.is(s.stack.counters.TcpExtTCPFromZeroWindowAdv, 1);
});

test('a 5288-byte window, largest offered: skbs of one segment (half the window), so 3 × 1448 go and the 944 left waits (tcp_snd_wnd_test); PSH every 2644 bytes written (forced_push)', (t) => {
  const { peer: p, ep } = passiveOpen({ ws: false, win: 5288 });
  p.quietUntil(100);
  // The 46080-byte send buffer takes one-segment skbs while its charge
  // (payload plus 832 per skb) is below it: 21 (test/scripts/sndbuf-small-window.pkt).
  t.is(ep.write(pattern(100_000)), 21 * 1448);
  t.deepEqual(p.flush().map((x) => [x.seq - p.our(0), x.len, x.flags]), [[1, 1448, '.'], [1449, 1448, 'P.'], [2897, 1448, '.']]);
  t.deepEqual(p.runUntil(150), [], 'the window is full');
});

test('Nagle also holds a window-limited cut while a sub-MSS segment is unacknowledged (Minshall, tcp_nagle_check)', (t) => {
  // A window of 3000: half of it still holds a full 1448-byte segment (tcp_bound_to_half_wnd leaves the MSS alone).
  const { peer: p, ep } = passiveOpen({ ws: false, win: 3000 });
  p.quietUntil(100);
  t.is(ep.write(pattern(100)), 100);
  t.deepEqual(p.flush().map((x) => x.len), [100], 'a small segment alone goes at once');
  t.is(ep.write(pattern(10_000, 100)), 10_000);
  t.deepEqual(p.flush().map((x) => x.len), [1448, 1448], 'the full segments go; the 4-byte cut at the window edge waits');
  p.quietUntil(150);
  // Once the small one is acknowledged 104 bytes of window are free, less than
  // a segment with 2896 in flight: sender-side SWS avoidance (tcp_snd_wnd_test)
  // holds them until an ACK frees a full segment's worth.
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(101), win: 3000 }), [], 'a window less than a segment starts no burst');
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1549), win: 3000 }).map((x) => x.len), [1448, 104], 'the whole window, up to its edge');
});

test('a tiny peer window halves the MSS (tcp_bound_to_half_wnd in tcp_sync_mss), and a larger one than ever restores it', (t) => {
  const { peer: p, ep } = passiveOpen({ ws: false, win: 2000 });
  p.quietUntil(100);
  t.is(ep.write(pattern(3000)), 3000);
  t.deepEqual(p.flush().map((x) => x.len), [1000, 1000], 'segments of half the 2000-byte window');
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(2001), win: 10_000 }).map((x) => x.len), [1000], 'the rest, as cut at write time');
  t.is(ep.write(pattern(3000, 3000)), 3000);
  t.deepEqual(p.flush().map((x) => x.len), [1448, 1448], 'full segments once the window grew past twice the MSS (the 104-byte tail waits for the sub-MSS segment in flight: Nagle)');
});
