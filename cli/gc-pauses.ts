/**
 * Garbage-collection pauses of this process (V8's `gc` performance entries),
 * for `up`'s exit report and `make bench`: how long the stack stood still
 * while its heap was collected. Observed from `ready` on, so that start-up
 * (module loading, compilation) does not count.
 */
import { PerformanceObserver } from 'node:perf_hooks';

/** At most this many pauses are kept (a long run's figures come from the first ones). */
const MAX_KEPT = 1_000_000;

export interface PauseSummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  total: number;
}

/** Count, median, 99th percentile (nearest rank), largest and sum of `ms`. */
export function summarisePauses(ms: readonly number[]): PauseSummary {
  if (ms.length === 0) return { count: 0, p50: 0, p99: 0, max: 0, total: 0 };
  const sorted = [...ms].sort((a, b) => a - b);
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { count: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted[sorted.length - 1]!, total: sorted.reduce((a, b) => a + b, 0) };
}

/** The exit report's line: `gc pauses since ready: N, p50 X ms, p99 Y ms, max Z ms, total T ms`. */
export function formatPauses(s: PauseSummary): string {
  const ms = (v: number): string => `${v.toFixed(3)} ms`;
  return s.count === 0 ? 'gc pauses since ready: 0' : `gc pauses since ready: ${s.count}, p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, max ${ms(s.max)}, total ${ms(s.total)}`;
}

/** Records every GC pause from now until stop(). */
export function observeGcPauses(): { stop(): PauseSummary } {
  const pauses: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (pauses.length < MAX_KEPT) pauses.push(entry.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop(): PauseSummary {
      observer.disconnect();
      return summarisePauses(pauses);
    },
  };
}
