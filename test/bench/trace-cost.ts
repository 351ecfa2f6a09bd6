/**
 * Trace cost benchmark (not a test): `node --import tsx test/bench/trace-cost.ts [MiB]`.
 *
 * Two of our stacks joined in memory, in virtual time, move MiB bytes (default
 * 64) one way over one connection; we time the whole transfer (every segment
 * in and out of both stacks) with
 *   - no trace sink (the production default: one branch per segment),
 *   - a sink that discards every event (the cost of building the events),
 *   - the live timeline printer writing into a string sink (the cost of `up --trace`).
 * Variants run interleaved, ROUNDS each after a warm-up; we print the median
 * and min–max in MiB/s and ns per segment.
 */
import type { TraceSink } from '../../stack/trace.ts';
import { memoryTransfer } from './memory-transfer.ts';

const MIB = Number(process.argv[2] ?? 64);
const ROUNDS = Number(process.argv[3] ?? 5);

type SinkFactory = () => TraceSink | undefined;

/** Optional: the timeline formatter, when it exists (loaded lazily so the baseline runs without it). */
async function timelineSink(): Promise<SinkFactory | undefined> {
  try {
    const mod = (await import('../../cli/timeline/format.ts')) as typeof import('../../cli/timeline/format.ts');
    return () => {
      const printer = new mod.TimelinePrinter({ start: 0 });
      let bytes = 0;
      return (e) => {
        const line = printer.format(e);
        if (line !== undefined) bytes += line.length;
      };
    };
  } catch {
    return undefined;
  }
}

function run(sink: SinkFactory): { ms: number; segments: number } {
  return memoryTransfer(MIB, (a, b) => {
    a.trace = sink();
    b.trace = sink();
  });
}

const variants: Array<[string, SinkFactory]> = [
  ['no trace sink', () => undefined],
  ['sink discarding events', () => () => {}],
];
const printer = await timelineSink();
if (printer) variants.push(['timeline printer', printer]);

for (const [, f] of variants) run(f); // warm-up
const results = new Map<string, Array<{ ms: number; segments: number }>>();
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, f] of variants) {
    const list = results.get(name) ?? [];
    list.push(run(f));
    results.set(name, list);
  }
}
console.log(`${MIB} MiB one way between two stacks in memory, ${ROUNDS} rounds, median (min–max)`);
for (const [name, list] of results) {
  const mibs = list.map((x) => MIB / (x.ms / 1000)).sort((p, q) => p - q);
  const ns = list.map((x) => (x.ms * 1e6) / x.segments).sort((p, q) => p - q);
  const med = (v: number[]): number => v[Math.floor(v.length / 2)]!;
  console.log(
    `${name.padEnd(24)} ${med(mibs).toFixed(0).padStart(5)} MiB/s (${mibs[0]!.toFixed(0)}–${mibs.at(-1)!.toFixed(0)})  ${med(ns).toFixed(0).padStart(6)} ns/segment (${ns[0]!.toFixed(0)}–${ns.at(-1)!.toFixed(0)})  segments ${list[0]!.segments}`,
  );
}
