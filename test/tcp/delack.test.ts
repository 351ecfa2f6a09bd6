/**
 * Delayed ACKs (tcp_send_delayed_ack, tcp_delack_timer_handler; RFC 5681
 * §4.2, RFC 9293 §3.8.6.3):
 * quick-ack mode for the first 16 segments, then one ACK per two full-sized
 * segments or 40 ms (TCP_DELACK_MIN / TCP_ATO_MIN), and an ACK that rides
 * on the application's reply.
 *
 * The peer's segments here are small (10 bytes, PSH) and 10 ms apart, so
 * Linux's adaptive ATO stays at 40 ms (gaps <= TCP_ATO_MIN/2) and its
 * receive window does not grow (tcp_grow_window needs >= 128 bytes).
 */
import test from 'ava';
import { passiveOpen, pattern, stackWindow, stream } from '../helpers/tcp-peer.ts';

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
      { flags: '.', seq: p.our(1), ack: p.their(11 + 10 * i), win: stackWindow(10 * (i + 1)), len: 0, opts: { ts: [p.stackTs(60 + 10 * i), p.tsVal(60 + 10 * i)] } },
    ]),
  );
  t.is(p.now(), 210);
  t.is(s.stack.counters.TcpExtDelayedACKs, 0);

  p.quietUntil(310);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) }), [], 'the 17th is not ACKed at once');
  t.deepEqual(p.runUntil(400), [
    { t: 350, flags: '.', seq: p.our(1), ack: p.their(171), win: stackWindow(170), len: 0, opts: { ts: [p.stackTs(350), p.tsVal(310)] } },
  ]);
  t.is(s.stack.counters.TcpExtDelayedACKs, 1);
});

test('two full-sized segments arriving together are ACKed at once, with one ACK', (t) => {
  const { s, peer: p } = afterQuickAcks();
  p.quietUntil(310);
  p.input({ flags: '.', seq: p.their(161), ack: p.our(1), data: pattern(1448, 160) });
  p.input({ flags: 'P.', seq: p.their(1609), ack: p.our(1), data: pattern(1448, 1608) });
  t.deepEqual(p.flush(), [
    { flags: '.', seq: p.our(1), ack: p.their(3057), win: stackWindow(3056), len: 0, opts: { ts: [p.stackTs(310), p.tsVal(310)] } },
  ]);
  t.deepEqual(p.runUntil(1000), [], 'no delayed ACK follows');
  t.is(s.stack.counters.TcpExtDelayedACKs, 0);
});

test('a reply written within the delayed-ACK time carries the ACK; no separate ACK is sent', (t) => {
  const { s, peer: p, ep } = afterQuickAcks();
  p.quietUntil(310);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(161), ack: p.our(1), data: pattern(10, 160) }), []);
  p.quietUntil(320);
  t.is(ep.write(pattern(20)), 20);
  t.deepEqual(p.flush(), [
    { flags: 'P.', seq: p.our(1), ack: p.their(171), win: stackWindow(170), len: 20, opts: { ts: [p.stackTs(320), p.tsVal(310)] } },
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
test.failing('after a delayed-ACK timeout the ATO doubles: the next single segment is ACKed after 80 ms', (t) => {
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
