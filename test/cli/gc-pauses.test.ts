/**
 * The GC-pause summary of `up`'s exit report (cli/gc-pauses.ts): nearest-rank
 * percentiles over the pauses seen, and the line it prints.
 */
import test from 'ava';
import { formatPauses, summarisePauses } from '../../cli/gc-pauses.ts';

test('summarisePauses: count, nearest-rank p50 and p99, largest and total', (t) => {
  const ms = Array.from({ length: 200 }, (_, i) => (i + 1) / 4); // 0.25 … 50, in reverse order
  ms.reverse();
  t.deepEqual(summarisePauses(ms), { count: 200, p50: 25, p99: 49.5, max: 50, total: 5025 });
  t.deepEqual(summarisePauses([3]), { count: 1, p50: 3, p99: 3, max: 3, total: 3 });
  t.deepEqual(summarisePauses([]), { count: 0, p50: 0, p99: 0, max: 0, total: 0 });
});

test('formatPauses: one line, milliseconds to the microsecond; none seen is 0', (t) => {
  t.is(formatPauses({ count: 3, p50: 0.4123, p99: 1.9, max: 1.9, total: 2.7 }), 'gc pauses since ready: 3, p50 0.412 ms, p99 1.900 ms, max 1.900 ms, total 2.700 ms');
  t.is(formatPauses(summarisePauses([])), 'gc pauses since ready: 0');
});
