/**
 * A connection's series as a Vega-Lite chart: the time-sequence graph on
 * top (tcptrace's and Stevens's: data segments as vertical bars, the ACK
 * and receive-window lines as steps, SACK blocks, RSTs and a capture's
 * notes), and under it, on the same time axis, the sender's congestion
 * window and ssthresh, its RTT samples with SRTT and RTO, and what it had
 * in flight, the Recovery and Loss periods shaded. Every mark carries a
 * description, which the SVG keeps as an aria-label: what the status
 * page's test and the plot tests read back.
 */
import { m4, mergeBars } from './decimate.ts';
import type { ConnectionSeries } from './model.ts';

export interface ChartOptions {
  /** Time range shown, s (default: the connection's). */
  from?: number;
  to?: number;
  width?: number;
  /** Height of the time-sequence graph; each pane below is a third of it. */
  height?: number;
  /** Most marks of one series (bars, ACKs, a pane's line) drawn as they are; beyond, one slot per pixel column (decimate.ts). Default 4 × width. */
  maxMarks?: number;
  /** Which graphs, top to bottom (default: all there is data for). */
  panes?: readonly Pane[];
}

export const PANES = ['tsg', 'cwnd', 'rtt', 'inflight'] as const;
export type Pane = (typeof PANES)[number];

/**
 * The bar kinds (the legend's order): a colour each, and a shape, drawn at
 * the top of each retransmission's bar so that mechanisms differ by more
 * than colour (new data's "shape" is a vertical stroke: its legend symbol
 * is the bar itself).
 */
export const BAR_KINDS: ReadonlyArray<[kind: string, label: string, colour: string, shape: string]> = [
  ['new', 'new data', '#1f77b4', 'M0,-1L0,1'],
  ['fast', 'retransmission (fast)', '#d62728', 'triangle-up'],
  ['rto', 'retransmission (rto)', '#9467bd', 'square'],
  ['slow-start', 'retransmission (slow-start)', '#e377c2', 'diamond'],
  ['tlp', 'retransmission (tlp)', '#ff7f0e', 'circle'],
  ['syn', 'retransmission (syn)', '#8c564b', 'triangle-right'],
  ['synack', 'retransmission (synack)', '#17becf', 'triangle-left'],
];

type Row = Record<string, number | string | undefined>;

const within = (t: number, from: number, to: number): boolean => t >= from && t <= to;

export function chartSpec(s: ConnectionSeries, o: ChartOptions = {}): Record<string, unknown> {
  const from = o.from ?? s.start;
  const to = o.to ?? Math.max(s.end, from + 0.001);
  const width = o.width ?? 900;
  const height = o.height ?? 420;
  const x = { field: 't', type: 'quantitative', title: 'time (s)', scale: { domain: [from, to], nice: false } };
  const kinds = BAR_KINDS.filter(([k]) => k === 'new' || s.bars.some((b) => b.kind === k));
  const colour = { field: 'kind', type: 'nominal', title: 'segments', scale: { domain: kinds.map(([, l]) => l), range: kinds.map(([, , c]) => c) }, legend: { orient: 'top', labelLimit: 400, columns: 4 } };
  const shape = { field: 'kind', type: 'nominal', title: 'segments', scale: { domain: kinds.map(([, l]) => l), range: kinds.map(([, , , p]) => p) }, legend: { orient: 'top', labelLimit: 400, columns: 4, symbolStrokeWidth: 2 } };
  const budget = o.maxMarks ?? 4 * width;
  const label = (k: string): string => BAR_KINDS.find(([kind]) => kind === k)?.[1] ?? k;

  const bars: Row[] = mergeBars(
    s.bars.filter((b) => within(b.t, from, to)),
    from,
    to,
    width,
    budget,
  ).map((b) => ({ t: b.t, start: b.start, end: b.end, kind: label(b.kind), rtx: b.kind === 'new' ? 0 : 1, d: `${label(b.kind)} ${b.start}:${b.end} at ${b.t.toFixed(6)} s${b.count > 1 ? ` (${b.count} segments)` : ''}` }));
  const acks: Row[] = m4(
    s.acks.filter((a) => within(a.t, from, to)),
    ['ack', 'window'],
    from,
    to,
    width,
    budget,
  ).map((a) => ({ t: a.t, ack: a.ack, window: a.window, d: `ack ${a.ack} window ${a.window} at ${a.t.toFixed(6)} s` }));
  // SACK blocks: successive ACKs repeat a block as it grows; past the budget, one per slot and left edge (the widest).
  const sacks: Row[] = mergeBars(
    s.sacks.filter((b) => within(b.t, from, to)).map((b) => ({ t: b.t, start: b.left, end: b.right, kind: String(b.left) })),
    from,
    to,
    width,
    budget,
  ).map((b) => ({ t: b.t, start: b.start, end: b.end, d: `sack ${b.start}:${b.end} at ${b.t.toFixed(6)} s` }));
  const resets: Row[] = s.resets.filter((r) => within(r.t, from, to)).map((r) => ({ t: r.t, seq: r.seq, label: r.reason === '' ? 'RST' : `RST ${r.reason}`, d: `RST by the ${r.by} at ${r.t.toFixed(6)} s${r.reason ? `: ${r.reason}` : ''}` }));
  const notes: Row[] = s.notes.filter((n) => within(n.t, from, to)).map((n) => ({ t: n.t, seq: n.seq, label: n.note, d: `${n.note} at ${n.t.toFixed(6)} s` }));

  // The sequence axis spans what was sent and acknowledged, and a quarter more above: the window's edge is drawn
  // where it is near (the sender up against it), clipped where it is far above (zoomed in, it would flatten the rest).
  const seqs = [...bars.flatMap((b) => [b.start, b.end]), ...acks.map((a) => a.ack), ...sacks.flatMap((b) => [b.start, b.end]), ...resets.map((r) => r.seq), ...notes.map((n) => n.seq)] as number[];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of seqs) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  const seqScale = seqs.length === 0 ? { zero: false } : { zero: false, domain: [lo, hi + Math.max(1, (hi - lo) * 0.25)] };
  const tsg: Record<string, unknown>[] = [
    { data: { values: sacks }, mark: { type: 'rule', strokeWidth: 3, opacity: 0.35, color: '#2ca02c' }, encoding: { x, y: { field: 'start', type: 'quantitative' }, y2: { field: 'end' }, description: { field: 'd' } } },
    { data: { values: acks }, mark: { type: 'line', interpolate: 'step-after', color: '#2ca02c', strokeWidth: 1 }, encoding: { x, y: { field: 'ack', type: 'quantitative' } } },
    { data: { values: acks }, mark: { type: 'line', interpolate: 'step-after', color: '#bcbd22', strokeWidth: 1, strokeDash: [4, 2], clip: true }, encoding: { x, y: { field: 'window', type: 'quantitative' } } },
    { data: { values: bars }, mark: { type: 'rule', strokeWidth: 2 }, encoding: { x, y: { field: 'start', type: 'quantitative', title: `sequence number (relative), ${s.sending === 'out' ? 'our' : "the peer's"} data`, scale: seqScale }, y2: { field: 'end' }, color: { ...colour, legend: null }, description: { field: 'd' } } },
    { data: { values: acks }, mark: { type: 'tick', opacity: 0 }, encoding: { x, y: { field: 'ack', type: 'quantitative' }, description: { field: 'd' } } },
    // The mechanism's shape at the top of each retransmission (described by its bar: no label of its own).
    { data: { values: bars.filter((b) => b.rtx === 1) }, mark: { type: 'point', size: 40, filled: false, strokeWidth: 2, aria: false }, encoding: { x, y: { field: 'end', type: 'quantitative' }, stroke: colour, shape } },
  ];
  if (resets.length > 0) {
    tsg.push(
      { data: { values: resets }, mark: { type: 'point', shape: 'cross', size: 120, color: 'black', filled: true }, encoding: { x, y: { field: 'seq', type: 'quantitative' }, description: { field: 'd' } } },
      { data: { values: resets }, mark: { type: 'text', align: 'left', dx: 6, fontSize: 10 }, encoding: { x, y: { field: 'seq', type: 'quantitative' }, text: { field: 'label' } } },
    );
  }
  if (notes.length > 0) {
    tsg.push(
      { data: { values: notes }, mark: { type: 'point', shape: 'triangle-down', size: 60, color: '#7f7f7f', filled: true }, encoding: { x, y: { field: 'seq', type: 'quantitative' }, description: { field: 'd' } } },
    );
  }
  const want = new Set<Pane>(o.panes ?? PANES);
  const panes: Record<string, unknown>[] = [];
  if (want.has('tsg'))
    panes.push({
      title: {
        text: `${s.name}: ${s.sending === 'out' ? 'our' : "the peer's"} data`,
        subtitle: ['bars: data segments by kind; solid green step: the cumulative ACK; dashed: ACK + receive window;', 'pale green: SACK blocks; ×: RST, with its reason; ▼: a note from the capture'],
      },
      width,
      height,
      layer: tsg,
    });
  if (s.samples.length > 0) {
    const samples = s.samples.filter((r) => within(r.t, from, to));
    const shade = s.caSpans
      .filter((c) => c.to >= from && c.from <= to)
      .map((c) => ({ t: Math.max(c.from, from), t2: Math.min(c.to, to), ca: c.ca, d: `${c.ca} from ${c.from.toFixed(6)} to ${c.to.toFixed(6)} s` }));
    const paneHeight = Math.round(height / 3);
    const shading = { data: { values: shade }, mark: { type: 'rect', opacity: 0.15 }, encoding: { x: { ...x, field: 't' }, x2: { field: 't2' }, color: { field: 'ca', type: 'nominal', title: 'CA state', scale: { domain: ['cwr', 'recovery', 'loss'], range: ['#bcbd22', '#ff7f0e', '#d62728'] } }, description: { field: 'd' } } };
    const thin = <T extends { t: number }>(rows: T[], field: keyof T): T[] => m4(rows, [field], from, to, width, budget);
    const line = (field: keyof (typeof samples)[number], colour: string, d: (r: Row) => string, extra: Record<string, unknown> = {}) => ({
      data: { values: thin(samples.filter((r) => r[field] !== undefined), field).map((r) => ({ ...(r as unknown as Row), d: d(r as unknown as Row) })) },
      mark: { type: 'line', interpolate: 'step-after', color: colour, ...extra },
      encoding: { x, y: { field, type: 'quantitative' }, description: { field: 'd' } },
    });
    const sampled: Array<[Pane, Record<string, unknown>]> = [
      [
        'cwnd',
        {
        title: 'congestion window and ssthresh (segments)',
        width,
        height: paneHeight,
        layer: [shading, line('cwnd', '#1f77b4', (r) => `cwnd ${r.cwnd} at ${Number(r.t).toFixed(6)} s`, { point: { size: 8 } }), line('ssthresh', '#d62728', (r) => `ssthresh ${r.ssthresh} at ${Number(r.t).toFixed(6)} s`, { strokeDash: [4, 2] })],
        },
      ],
      [
        'rtt',
        {
        title: 'RTT samples (points), SRTT and RTO (ms)',
        width,
        height: paneHeight,
        layer: [
          shading,
          { data: { values: thin(samples.filter((r) => r.rtt !== undefined), 'rtt').map((r) => ({ t: r.t, rtt: r.rtt, d: `rtt sample ${r.rtt} ms at ${r.t.toFixed(6)} s` })) }, mark: { type: 'point', size: 10, color: '#7f7f7f' }, encoding: { x, y: { field: 'rtt', type: 'quantitative', title: 'ms' }, description: { field: 'd' } } },
          line('srtt', '#1f77b4', (r) => `srtt ${r.srtt} ms`),
          line('rto', '#9467bd', (r) => `rto ${r.rto} ms`, { strokeDash: [4, 2] }),
        ],
        },
      ],
      ['inflight', { title: 'in flight (segments)', width, height: paneHeight, layer: [shading, line('inflight', '#17becf', (r) => `inflight ${r.inflight} at ${Number(r.t).toFixed(6)} s`)] }],
    ];
    for (const [pane, spec] of sampled) if (want.has(pane)) panes.push(spec);
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    config: { font: 'DejaVu Sans', axis: { labelFontSize: 10, titleFontSize: 11 } },
    resolve: { scale: { color: 'independent' } },
    vconcat: panes,
  };
}
