/**
 * `tcp_rto_min_us` and `tcp_rto_max_ms` (Linux 6.11+/6.15+ namespace
 * sysctls read by tcp_rto_min() and tcp_rto_max()): the floor of the
 * variance term in the RTO and the cap of its exponential backoff, taken
 * when the socket is created.
 */
import test from 'ava';
import type { Sysctls } from '../../stack/sysctl.ts';
import { passiveOpen, pattern } from '../helpers/tcp-peer.ts';

/**
 * Sends 100 bytes at t=100 that are never acknowledged; returns the
 * retransmission times. The tail loss probe is off (tcp_early_retrans=0) so
 * that every retransmission is an RTO; with it, the first is a probe at the
 * same time and the RTOs restart from there (test/tcp/loss-probe.test.ts).
 */
function retransmissionTimes(sysctl: Partial<Sysctls>, until: number): number[] {
  const { peer: p, ep } = passiveOpen({ rtt: 10, sysctl: { tcp_early_retrans: 0, ...sysctl } });
  p.quietUntil(100);
  ep.write(pattern(100));
  p.flush();
  return p.runUntil(until).filter((seg) => seg.len === 100).map((seg) => seg.t);
}

test('tcp_rto_min_us=50000: a 10 ms handshake RTT gives RTO = 10 + max(4·5, 50) = 60 ms (15 jiffies), then doubling', (t) => {
  t.deepEqual(retransmissionTimes({ tcp_rto_min_us: 50_000 }, 1000), [160, 280, 520, 1000]);
});

test('default tcp_rto_min_us (200 ms): the same RTT gives RTO 210 ms, 52.5 jiffies rounded up to 53 (212 ms)', (t) => {
  t.deepEqual(retransmissionTimes({}, 1000), [312, 736]);
});

test('tcp_rto_max_ms=1000: the backoff stops doubling at 1 s', (t) => {
  const times = retransmissionTimes({ tcp_rto_min_us: 50_000, tcp_rto_max_ms: 1000 }, 5000);
  const gaps = times.map((at, i) => at - (i === 0 ? 100 : times[i - 1]!));
  t.deepEqual(gaps, [60, 120, 240, 480, 960, 1000, 1000, 1000, 1000].slice(0, gaps.length));
  t.is(gaps.length, 8);
});
