/**
 * stack/tcp/rtt.ts (and jiffies.ts) against tcp_rtt_estimator and __tcp_set_rto worked by
 * hand in the kernel's units (srtt_us = 8·SRTT, mdev_us = 4·deviation, both
 * in µs; the RTO in whole jiffies of 4 ms). The same per-round behaviour is
 * confirmed on Linux by test/scripts/rtt-variance-per-round.pkt.
 */
import test from 'ava';
import { msecsToJiffies, usecsToJiffies } from '../../stack/tcp/jiffies.ts';
import { RttEstimator, timestampRtt } from '../../stack/tcp/rtt.ts';

test('the first sample sets SRTT to it and the deviation to half of it: RTO = 3·RTT (300 ms → 900 ms, 225 jiffies)', (t) => {
  const rtt = new RttEstimator();
  rtt.sample(300, 1, 1);
  t.is(rtt.srtt, 300);
  t.is(rtt.rttvar, 150);
  t.is(rtt.rto, 900);
});

test('RTTVAR decays only when a round trip ends, by a quarter of its excess over the round\'s largest deviation', (t) => {
  const rtt = new RttEstimator();
  rtt.sample(300, 1, 1); // handshake: rtt_seq = 1
  // Round 1 (data 1..2001): the first ACK ends the handshake's round; the
  // round's largest deviation was the handshake's 600 ms, so no decay.
  rtt.sample(300, 1001, 2001); // mdev 600 → 450 ms (×4 units), rtt_seq = 2001
  t.is(rtt.rto, 900);
  rtt.sample(300, 2001, 2001); // mdev 337.5; snd_una has not passed rtt_seq
  t.is(rtt.rto, 900);
  t.is(rtt.rttvar, 337.5 / 4);
  // Round 2 ends: RTTVAR 600 − (600 − 337.5)/4 = 534.375 ms; RTO 834.375 ms → 209 jiffies.
  rtt.sample(300, 3001, 3001);
  t.is(rtt.rto, 836);
});

test('a sample below SRTT moves the deviation with gain 1/32, not 1/4 (tcp_rtt_estimator)', (t) => {
  const rtt = new RttEstimator();
  rtt.sample(300, 1, 1);
  rtt.sample(100, 1001, 1001);
  t.is(rtt.srtt, 275);
  // |error| 200 ms exceeds the deviation (150) by 50: mdev grows by 50/8 in ×4 units.
  t.is(rtt.rttvar, 151.562, 'tcpi_rttvar, whole µs; RFC 6298 would give 162.5');
  // RTO = 275 + 606.25 = 881.25 ms → 221 jiffies.
  t.is(rtt.rto, 884);
});

test('rto_min floors the variance term, not the RTO; the RTO is rounded up to whole jiffies', (t) => {
  const rtt = new RttEstimator(50);
  rtt.sample(10, 1, 1);
  t.is(rtt.rto, 60, '10 + max(20, 50), 15 jiffies');
  const dflt = new RttEstimator();
  dflt.sample(10, 1, 1);
  t.is(dflt.rto, 212, '10 + 200 = 210 ms, 52.5 jiffies → 53');
});

test('timestampRtt: a zero echo or one from the future gives no sample; the same tick counts as 1 ms', (t) => {
  t.is(timestampRtt(1000, 0), -1);
  t.is(timestampRtt(1000, 1001), -1);
  t.is(timestampRtt(1000, 1000), 1);
  t.is(timestampRtt(1000, 950), 50);
  t.is(timestampRtt(5, 0xfffffffe), 7, 'across the 32-bit wrap');
});

test('usecs_to_jiffies rounds up whole microseconds: a float error above a tick is not a tick more', (t) => {
  t.is(usecsToJiffies(8000), 2);
  t.is(usecsToJiffies(8001), 3);
  const armed = 8.199999999999987; // a fractional virtual time, as the real-time driver's per-packet stamps are
  t.is(usecsToJiffies((armed + 8 - armed) * 1000), 2, '8000.000000000002 µs');
  t.is(msecsToJiffies(200), 50);
});
