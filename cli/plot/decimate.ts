/**
 * Fewer marks for a long trace, without changing what the graph looks
 * like. A graph `width` pixels wide cannot show more than a few marks per
 * pixel column: a 10 MB transfer has ~7,000 data segments, ~4,500 ACKs and
 * as many state samples, each an SVG element with its description (6 MB of
 * SVG, 3.5 s to draw). Past a budget of marks per series, the time range is
 * cut into one slot per pixel column and:
 *
 * - lines and points keep, per slot, the first, last, lowest and highest
 *   sample (M4, Jugel et al., "M4: A Visualization-Oriented Time Series Data
 *   Aggregation", VLDB 2014): drawn at that width, the line is the same
 *   pixels as with every sample;
 * - bars of one kind in a slot merge into one bar over their sequence span,
 *   its description saying how many segments it stands for. A
 *   retransmission is never merged with new data (the key is the kind), so
 *   every retransmission stays visible in its colour.
 *
 * `--from`/`--to` (a narrower range) bring the full detail back.
 */

/** The slot of time `t` when [from, to] is cut into `slots`. */
function slotOf(t: number, from: number, to: number, slots: number): number {
  const span = to - from || 1;
  return Math.min(slots - 1, Math.max(0, Math.floor(((t - from) * slots) / span)));
}

/**
 * M4 on `rows` (in time order) by the numeric `fields`: per slot the first,
 * last, lowest and highest row of each field, in time order. Rows whose
 * field is undefined do not count for that field. Unchanged when there are
 * at most `max` rows.
 */
export function m4<T extends { t: number }>(rows: readonly T[], fields: ReadonlyArray<keyof T>, from: number, to: number, slots: number, max: number): T[] {
  if (rows.length <= max) return [...rows];
  const keep = new Set<number>();
  let slot = -1;
  const first: number[] = [];
  const last: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  const flush = (): void => {
    for (const list of [first, last, lo, hi]) for (const i of list) if (i >= 0) keep.add(i);
  };
  rows.forEach((r, i) => {
    const s = slotOf(r.t, from, to, slots);
    if (s !== slot) {
      flush();
      slot = s;
      first.length = last.length = lo.length = hi.length = 0;
      for (let f = 0; f < fields.length; f++) first.push(-1), last.push(-1), lo.push(-1), hi.push(-1);
    }
    fields.forEach((field, f) => {
      const v = r[field];
      if (typeof v !== 'number') return;
      if (first[f]! < 0) first[f] = i;
      last[f] = i;
      if (lo[f]! < 0 || v < (rows[lo[f]!]![field] as number)) lo[f] = i;
      if (hi[f]! < 0 || v > (rows[hi[f]!]![field] as number)) hi[f] = i;
    });
  });
  flush();
  return [...keep].sort((a, b) => a - b).map((i) => rows[i]!);
}

export interface MergedBar {
  t: number;
  start: number;
  end: number;
  kind: string;
  /** How many segments this bar stands for (1: a segment as sent). */
  count: number;
}

/**
 * At most `max` bars as they are; past that, bars of one kind in the same
 * slot merge into one from the lowest start to the highest end, at the
 * first one's time.
 */
export function mergeBars(bars: ReadonlyArray<{ t: number; start: number; end: number; kind: string }>, from: number, to: number, slots: number, max: number): MergedBar[] {
  if (bars.length <= max) return bars.map((b) => ({ t: b.t, start: b.start, end: b.end, kind: b.kind, count: 1 }));
  const merged = new Map<string, MergedBar>();
  for (const b of bars) {
    const key = `${slotOf(b.t, from, to, slots)}:${b.kind}`;
    const m = merged.get(key);
    if (m === undefined) merged.set(key, { t: b.t, start: b.start, end: b.end, kind: b.kind, count: 1 });
    else {
      m.start = Math.min(m.start, b.start);
      m.end = Math.max(m.end, b.end);
      m.count++;
    }
  }
  return [...merged.values()].sort((a, b) => a.t - b.t);
}
