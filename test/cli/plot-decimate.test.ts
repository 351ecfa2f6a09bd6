/**
 * Decimation of long traces (cli/plot/decimate.ts): M4 keeps, per pixel
 * column, the first, last, lowest and highest sample, so the line drawn is
 * the same; bars merge per column and kind, a retransmission never into new
 * data, and each merged bar says how many segments it stands for.
 */
import test from 'ava';
import { m4, mergeBars } from '../../cli/plot/decimate.ts';
import { chartSpec, renderSvg, type ConnectionSeries, type SegmentBar } from '../../cli/plot/index.ts';

test('m4: per slot the first, last, lowest and highest sample; nothing dropped under the budget', (t) => {
  // A sawtooth with a spike: 10,000 samples over 10 s, 100 slots (times off the slots' edges: no rounding question).
  const rows = Array.from({ length: 10_000 }, (_, i) => ({ t: (i + 0.5) / 1000, v: i === 4321 ? 999 : i % 37 }));
  t.is(m4(rows, ['v'], 0, 10, 100, 10_000).length, 10_000, 'at the budget: all');
  const kept = m4(rows, ['v'], 0, 10, 100, 400);
  t.true(kept.length <= 400, `${kept.length} kept`);
  t.deepEqual(
    kept.map((r) => r.t),
    [...kept.map((r) => r.t)].sort((a, b) => a - b),
    'in time order',
  );
  for (let slot = 0; slot < 100; slot++) {
    const inSlot = rows.filter((r) => Math.floor(r.t * 10) === slot);
    const keptInSlot = kept.filter((r) => Math.floor(r.t * 10) === slot);
    const values = (list: typeof rows) => list.map((r) => r.v);
    t.is(keptInSlot[0], inSlot[0], `slot ${slot}: first`);
    t.is(keptInSlot.at(-1), inSlot.at(-1), `slot ${slot}: last`);
    t.is(Math.min(...values(keptInSlot)), Math.min(...values(inSlot)), `slot ${slot}: lowest`);
    t.is(Math.max(...values(keptInSlot)), Math.max(...values(inSlot)), `slot ${slot}: highest`);
  }
  t.true(
    kept.some((r) => r.v === 999),
    'the spike stays',
  );
});

test('mergeBars: one bar per slot and kind past the budget, covering the span, counting the segments', (t) => {
  const bars = Array.from({ length: 5000 }, (_, i) => ({ t: (i + 0.5) / 500, start: i * 1000, end: (i + 1) * 1000, kind: i % 250 === 7 ? 'fast' : 'new' }));
  t.is(mergeBars(bars, 0, 10, 50, 5000).length, 5000, 'at the budget: all, as they are');
  const merged = mergeBars(bars, 0, 10, 50, 1000);
  t.is(merged.filter((b) => b.kind === 'new').length, 50);
  t.is(merged.filter((b) => b.kind === 'fast').length, 20, 'the retransmissions, never merged into new data');
  for (const kind of ['new', 'fast'])
    t.is(
      merged.filter((b) => b.kind === kind).reduce((n, b) => n + b.count, 0),
      bars.filter((b) => b.kind === kind).length,
      `${kind}: every segment counted`,
    );
  t.deepEqual(
    merged.filter((b) => b.kind === 'new').map((b) => [b.start, b.end]),
    Array.from({ length: 50 }, (_, i) => [i * 100_000, (i + 1) * 100_000]),
  );
});

test('a long series drawn: the bars per pixel column, every retransmission labelled, the merged bars say how many', async (t) => {
  const bars: SegmentBar[] = [];
  for (let i = 0; i < 20_000; i++) bars.push({ t: i / 2000, start: i * 1448, end: (i + 1) * 1448, kind: 'new' });
  const rtx: SegmentBar[] = [
    { t: 3.5, start: 10 * 1448, end: 11 * 1448, kind: 'fast' },
    { t: 7.25, start: 99 * 1448, end: 100 * 1448, kind: 'rto' },
  ];
  const series: ConnectionSeries = {
    id: '7-40000',
    name: 'test',
    sending: 'out',
    bars: [...bars, ...rtx].sort((a, b) => a.t - b.t),
    acks: bars.map((b) => ({ t: b.t, ack: b.end, window: b.end + 65535 })),
    sacks: [],
    resets: [],
    notes: [],
    samples: [],
    caSpans: [],
    start: 0,
    end: 10,
  };
  const svg = await renderSvg(series, { width: 500 });
  const marks = [...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]!);
  const newBars = marks.filter((m) => m.startsWith('new data'));
  t.true(newBars.length <= 500, `${newBars.length} bars for 500 pixel columns`);
  const counted = newBars.reduce((n, m) => n + Number(/\((\d+) segments\)$/.exec(m)?.[1] ?? 1), 0);
  t.is(counted, 20_000, 'every segment in some bar');
  t.true(marks.includes(`retransmission (fast) ${10 * 1448}:${11 * 1448} at 3.500000 s`));
  t.true(marks.includes(`retransmission (rto) ${99 * 1448}:${100 * 1448} at 7.250000 s`));
  const ackTicks = marks.filter((m) => m.startsWith('ack '));
  t.true(ackTicks.length <= 4 * 500, `${ackTicks.length} ACKs drawn`);
  t.true(marks.includes(`ack 1448 window ${1448 + 65535} at 0.000000 s`), 'the first ACK');
  t.true(marks.includes(`ack ${20_000 * 1448} window ${20_000 * 1448 + 65535} at 9.999500 s`), 'the last ACK');
  t.true(svg.length < 1_500_000, `${svg.length} bytes of SVG`);
  // Each retransmission also has its mechanism's shape at its bar's top.
  type Layer = { data: { values: Array<Record<string, unknown>> }; encoding: { shape?: { scale: { domain: string[]; range: string[] } } } };
  const tsg = (chartSpec(series, { width: 500 }).vconcat as Array<{ layer: Layer[] }>)[0]!.layer;
  const shapes = tsg.find((l) => l.encoding.shape !== undefined)!;
  t.deepEqual(
    shapes.data.values.map((v) => [v.kind, v.t, v.end]),
    [
      ['retransmission (fast)', 3.5, 11 * 1448],
      ['retransmission (rto)', 7.25, 100 * 1448],
    ],
  );
  const { domain, range } = shapes.encoding.shape!.scale;
  t.deepEqual(
    domain.map((k, i) => [k, range[i]]),
    [
      ['new data', 'M0,-1L0,1'],
      ['retransmission (fast)', 'triangle-up'],
      ['retransmission (rto)', 'square'],
    ],
  );
});
