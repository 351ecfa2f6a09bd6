/**
 * Delayed ACKs (stack/tcp/ack-schedule.ts: tcp_event_data_recv,
 * __tcp_ack_snd_check, tcp_send_delayed_ack, tcp_delack_timer_handler;
 * RFC 5681 §4.2, RFC 9293 §3.8.6.3): quick-ack mode for the first 16
 * segments and after idle, then an ACK per two full-sized segments when the
 * window allows, or after the adaptive ACK timeout (ATO, from 40 ms), an
 * ACK that rides on the application's reply, and ping-pong mode. The exact
 * times are Linux 6.18's (test/scripts/delayed-ack.pkt, quick-ack.pkt).
 *
 * The peer's segments here are small (10 bytes, PSH) and 10 ms apart, so
 * Linux's adaptive ATO stays at 40 ms (gaps <= TCP_ATO_MIN/2) and its
 * receive window does not grow (tcp_grow_window needs >= 128 bytes).
 */
import test from 'ava';
import { passiveOpen, pattern, PASSIVE_WIN, stream } from '../helpers/tcp-peer.ts';

/** A connection whose 16 quick ACKs are used up: 160 bytes received by t = 210. */
function afterQuickAcks(rtt = 50) {
  const opened = passiveOpen({ rtt });
  const answers = stream(opened.peer, 0, 16, 10, 10);
  return { ...opened, answers };
}

test('the first 16 data segments are ACKed at once; then a single segment is ACKed after exactly 40 ms', (t) => {
  const { s, peer: p, answers } = afterQuickAcks();
  t.deepEqual(
    answers,
    answers.map((_, i) => [
      { flags: '.', seq: p.our(1), ack: p.their(11 + 10 * i), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(60 + 10 * i), p.tsVal(60 + 10 * i)] } },
    ]),
  );
  t.is(p.now(), 210);
  t.is(s.stack.counters.TcpExtDelayedACKs, 0);

  p.quietUntil(310);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) }), [], 'the 17th is not ACKed at once');
  t.deepEqual(p.runUntil(400), [
    { t: 350, flags: '.', seq: p.our(1), ack: p.their(171), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(350), p.tsVal(310)] } },
  ]);
  t.is(s.stack.counters.TcpExtDelayedACKs, 1);
});

/**
 * Two full-sized segments (more than one rcv_mss) are ACKed at once only if
 * the window we could offer is no smaller than the one we offered
 * (__tcp_ack_snd_check): unread, they shrink it, so the ACK waits for the
 * timer or for the reader (tcp_cleanup_rbuf), as test/scripts/quick-ack.pkt
 * shows on Linux. The segments are 1000 bytes: their payload/truesize ratio
 * (1000/2304) lowers the window clamp below rcv_ssthresh, so tcp_grow_window
 * has no room and asks for no quick ACK; 1448-byte segments would raise the
 * clamp, and on a young connection each would be ACKed at once as the window
 * grows (rcvbuf.test.ts). Confirmed with packetdrill on Linux 6.18.44.
 */
test('two full-sized segments the application has not read wait for the delayed ACK; read, they are ACKed at once', (t) => {
  const { s, peer: p, ep } = afterQuickAcks();
  ep.read();
  p.quietUntil(310);
  p.input({ flags: '.', seq: p.their(161), ack: p.our(1), data: pattern(1000, 160) });
  p.input({ flags: 'P.', seq: p.their(1161), ack: p.our(1), data: pattern(1000, 1160) });
  t.deepEqual(p.flush(), [], 'not at once');
  t.deepEqual(p.runUntil(400).map((x) => [x.t, x.ack - p.their(1)]), [[350, 2160]]);
  t.is(s.stack.counters.TcpExtDelayedACKs, 1);

  p.quietUntil(500);
  p.input({ flags: '.', seq: p.their(2161), ack: p.our(1), data: pattern(1000, 2160) });
  p.input({ flags: 'P.', seq: p.their(3161), ack: p.our(1), data: pattern(1000, 3160) });
  t.deepEqual(p.flush(), []);
  t.is(ep.read()?.length, 4 * 1000);
  t.deepEqual(p.flush().map((x) => [x.flags, x.ack - p.their(1)]), [['.', 4160]], 'the read sends the ACK');
  t.deepEqual(p.runUntil(1000), [], 'no delayed ACK follows');
});

test('a reply written within the delayed-ACK time carries the ACK; no separate ACK is sent', (t) => {
  const { s, peer: p, ep } = afterQuickAcks();
  p.quietUntil(310);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) }), []);
  p.quietUntil(320);
  t.is(ep.write(pattern(20)), 20);
  t.deepEqual(p.flush(), [
    { flags: 'P.', seq: p.our(1), ack: p.their(171), win: PASSIVE_WIN, len: 20, opts: { ts: [p.stackTs(320), p.tsVal(310)] } },
  ]);
  p.quietUntil(330);
  t.deepEqual(p.send({ flags: '.', seq: p.their(171), ack: p.our(21) }), []);
  t.deepEqual(p.runUntil(1000), [], 'the delayed-ACK timer was cancelled');
  t.is(s.stack.counters.TcpExtDelayedACKs, 0);
  t.deepEqual(ep.read(), pattern(170));
});

/**
 * tcp_delack_timer_handler: on expiry an ACK goes out (TcpExtDelayedACKs+1)
 * and the ATO doubles, up to the RTO, unless in ping-pong mode. With SRTT
 * 100 ms the ATO of 80 ms is below Linux's caps (min(200 ms for pushed data, SRTT)), and the
 * next gap (140 ms) neither shrinks it nor re-enters quick-ack mode (RTO 300 ms).
 */
test('after a delayed-ACK timeout the ATO doubles: the next single segment is ACKed after 80 ms', (t) => {
  const { s, peer: p } = afterQuickAcks(100);
  p.quietUntil(400);
  p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) });
  t.deepEqual(p.runUntil(440).map((x) => [x.t, x.ack]), [[440, p.their(171)]]);
  p.quietUntil(540);
  p.send({ flags: 'P.', seq: p.their(171), ack: p.our(1), data: pattern(10, 170) });
  t.deepEqual(p.runUntil(700).map((x) => [x.t, x.ack]), [[620, p.their(181)]]);
  t.is(s.stack.counters.TcpExtDelayedACKs, 2);
});

/**
 * Quick-ack mode also applies after an idle gap longer than the RTO
 * (tcp_event_data_recv: a gap longer than the RTO calls tcp_incr_quickack: "the sender failed to
 * restart window, so we send ACKs quickly").
 */
test('after an idle period longer than the RTO, quick-ack mode is re-entered', (t) => {
  const { peer: p } = afterQuickAcks();
  p.quietUntil(1210);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) }).map((x) => [x.flags, x.ack]), [['.', p.their(171)]]);
});

/**
 * The adaptive ATO (tcp_event_data_recv) with SRTT 300 ms (RTO 900 ms), so
 * the cap of tcp_send_delayed_ack is TCP_DELACK_MAX (200 ms: the 10-byte
 * segments are "pushed", ICSK_ACK_PUSHED) rather than the SRTT. m is the
 * gap since the previous data segment; every timeout doubles the ATO
 * (tcp_delack_timer_handler).
 */
test('the ATO follows the gaps between single segments: grows on each timeout, shrinks to ato/2 + m, capped at 200 ms', (t) => {
  const { s, peer: p } = afterQuickAcks(300); // the 16th segment at t = 460, ATO 40
  const ackAt = (at: number, offset: number, until: number) => {
    p.quietUntil(at);
    t.deepEqual(p.send({ flags: 'P.', seq: p.their(1 + offset), ack: p.our(1), data: pattern(10, offset) }), [], `data at ${at} is not ACKed at once`);
    return p.runUntil(until).map((x) => [x.t, x.ack - p.their(1)]);
  };
  t.deepEqual(ackAt(600, 160, 690), [[640, 170]], 'm = 140 >= ato: ATO 40 ms, then doubled to 80');
  t.deepEqual(ackAt(700, 170, 790), [[780, 180]], 'm = 100 >= ato: ATO 80 ms, then 160');
  t.deepEqual(ackAt(800, 180, 1090), [[980, 190]], 'm = 100 < ato: ato/2 + m = 180 ms, then 360');
  t.deepEqual(ackAt(1100, 190, 1405), [[1300, 200]], 'm = 300 < ato: ato/2 + m = 480, capped at 200 ms; then min(960, RTO) = 900');
  // Two segments 5 ms apart: the second (m = 5 <= TCP_ATO_MIN/2) brings the ATO to ato/2 + 20 = 400, capped
  // at 200: a running timer keeps its earlier expiry (tcp_send_delayed_ack), and 20 bytes are less than one rcv_mss.
  p.quietUntil(1410);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(201), ack: p.our(1), data: pattern(10, 200) }), []);
  t.deepEqual(ackAt(1415, 210, 1700), [[1610, 220]], 'one ACK for both, at 1410 + 200');
  t.is(s.stack.counters.TcpExtDelayedACKs, 5);
});

test('after the quick ACKs, data 5 ms apart shrinks the ATO back towards 40 ms and a running timer fires earlier', (t) => {
  const { peer: p } = afterQuickAcks(300);
  p.quietUntil(600);
  p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) });
  t.deepEqual(p.runUntil(690).map((x) => x.t), [640]); // ATO now 80
  p.quietUntil(700);
  p.send({ flags: 'P.', seq: p.their(171), ack: p.our(1), data: pattern(10, 170) });
  t.deepEqual(p.runUntil(890).map((x) => x.t), [780]); // ATO now 160
  // m = 170 >= ato: the timer is set for 1060 + 160 = 1220.
  p.quietUntil(1060);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(181), ack: p.our(1), data: pattern(10, 180) }), []);
  // m = 5: ato = 80 + 20 = 100 → a new expiry at 1165, earlier than 1220, replaces it.
  p.quietUntil(1065);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(191), ack: p.our(1), data: pattern(10, 190) }), []);
  t.deepEqual(p.runUntil(1300).map((x) => [x.t, x.ack - p.their(1)]), [[1165, 200]]);
});

/**
 * tcp_event_data_recv and tcp_send_delayed_ack count in jiffies (4 ms at
 * HZ 250), and the virtual clock's 0 is a jiffy boundary (stack/tcp/jiffies.ts).
 * Data at 302 ms (jiffy 75) arms the timer for 342 ms (jiffy 85). More at
 * 328 ms (jiffy 82): m = 7 jiffies, so ato = 10/2 + 7 = 12 jiffies, and the
 * running timer is within ato/4 = 3 jiffies of now: the ACK goes at once.
 * Counted in milliseconds instead (m = 26, ato = 46, a quarter 11 ms), the
 * timer would be 14 ms away and the ACK would wait for it.
 */
test('the delayed-ACK arithmetic is in jiffies: a timer due within ato/4 jiffies sends the ACK at once', (t) => {
  const { s, peer: p } = afterQuickAcks();
  p.quietUntil(302);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) }), []);
  p.quietUntil(328);
  t.deepEqual(
    p.send({ flags: 'P.', seq: p.their(171), ack: p.our(1), data: pattern(10, 170) }).map((x) => [x.flags, x.ack - p.their(1)]),
    [['.', 180]],
  );
  t.deepEqual(p.runUntil(500), [], 'the timer was cancelled by that ACK');
  t.is(s.stack.counters.TcpExtDelayedACKs, 0);
});

test('with a short SRTT the delayed ACK waits no longer than the SRTT, in whole jiffies', (t) => {
  // SRTT 50 ms: after one timeout the ATO is 80 ms, but tcp_send_delayed_ack
  // caps it at the SRTT, 12.5 jiffies rounded up to 13 (usecs_to_jiffies): 52 ms.
  const { peer: p } = afterQuickAcks(50);
  p.quietUntil(300);
  p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) });
  t.deepEqual(p.runUntil(390).map((x) => x.t), [340]);
  p.quietUntil(400);
  p.send({ flags: 'P.', seq: p.their(171), ack: p.our(1), data: pattern(10, 170) });
  t.deepEqual(p.runUntil(500).map((x) => x.t), [452]);
});

test('after an idle period longer than the RTO the next 16 segments are ACKed at once; after a gap just under the RTO, none', (t) => {
  const { peer: p } = afterQuickAcks(); // RTO 250 ms, last data at 210
  p.quietUntil(459); // m = 249 <= RTO: no quick ACKs
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) }), []);
  t.deepEqual(p.runUntil(600).map((x) => x.t), [499]);
  p.quietUntil(1000); // m = 541 > RTO: tcp_incr_quickack
  const answers = stream(p, 170, 17, 10, 10);
  t.deepEqual(answers.slice(0, 16).map((a) => a.length), Array(16).fill(1));
  t.deepEqual(answers[16], [], 'the 17th waits');
  t.deepEqual(p.runUntil(1300).map((x) => [x.t, x.ack - p.their(1)]), [[1210, 340]]);
});

test('out-of-order data is ACKed at once with SACK, and so is the segment that fills the hole', (t) => {
  const { peer: p } = afterQuickAcks();
  p.quietUntil(300);
  const ofo = p.send({ flags: 'P.', seq: p.their(171), ack: p.our(1), data: pattern(10, 170) });
  t.deepEqual(ofo.map((x) => [x.ack - p.their(1), x.opts.sack?.length]), [[160, 1]], 'at once, with one SACK block');
  p.quietUntil(310);
  const fill = p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) });
  t.deepEqual(fill.map((x) => [x.ack - p.their(1), x.opts.sack]), [[180, undefined]], 'at once, without SACK');
  t.deepEqual(p.runUntil(1000), [], 'nothing is left owed');
});

/**
 * Ping-pong mode: data we send within the ATO of the peer's last data is a
 * reply (tcp_event_data_sent, TCP_PINGPONG_THRESH = 1); an interactive
 * connection gets no quick ACKs, even after an idle gap longer than the RTO;
 * a delayed-ACK timeout ends ping-pong mode (tcp_delack_timer_handler).
 */
test('a reply within the ATO makes the connection interactive: no quick ACK after idle until a delayed ACK times out', (t) => {
  const { s, peer: p, ep } = afterQuickAcks();
  p.quietUntil(300);
  p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) });
  p.quietUntil(320);
  ep.write(pattern(20));
  t.deepEqual(p.flush().map((x) => [x.flags, x.len, x.ack - p.their(1)]), [['P.', 20, 170]]);
  p.quietUntil(330);
  t.deepEqual(p.send({ flags: '.', seq: p.their(171), ack: p.our(21) }), []);

  p.quietUntil(1000); // idle longer than the RTO, but interactive: delayed
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(171), ack: p.our(21), data: pattern(10, 170) }), []);
  t.deepEqual(p.runUntil(1100).map((x) => [x.t, x.ack - p.their(1)]), [[1040, 180]]);
  t.is(s.stack.counters.TcpExtDelayedACKs, 1);
  // The timeout ended ping-pong mode: the quick ACKs granted at 1000 now apply.
  p.quietUntil(1200);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(181), ack: p.our(21), data: pattern(10, 180) }).map((x) => x.ack - p.their(1)), [190], 'ACKed at once');
});

/**
 * The ACKs of out-of-order data answer data too (tcp_data_queue_ofo:
 * inet_csk_schedule_ack), so each uses up a quick ACK (tcp_dec_quickack_mode).
 */
test('an ACK of out-of-order data uses up a quick ACK', (t) => {
  const { peer: p } = passiveOpen({ rtt: 50 });
  stream(p, 0, 10, 10, 10); // 10 of the 16 quick ACKs
  p.quietUntil(p.now() + 10);
  t.is(p.send({ flags: 'P.', seq: p.their(111), ack: p.our(1), data: pattern(10, 110) }).length, 1, 'out of order: ACKed at once');
  p.quietUntil(p.now() + 10);
  t.is(p.send({ flags: 'P.', seq: p.their(101), ack: p.our(1), data: pattern(10, 100) }).length, 1, 'the hole filled: ACKed at once');
  const answers = stream(p, 120, 5, 10, 10);
  t.deepEqual(answers.map((a) => a.length), [1, 1, 1, 1, 0], 'four quick ACKs were left');
});
