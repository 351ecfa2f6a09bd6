/**
 * One snapshot of the status page, the JSON an /events message carries:
 * the counters that are not zero with their rates (per second since the
 * previous snapshot of the same builder), the listeners, and the
 * connections with their cells, cwnd and srtt histories (numbers and
 * sparklines) and their graph's version (records the recording took: the
 * page draws the graph again when it moves).
 */
import type { TcpProvider } from '../../../tun/node/provider.ts';
import type { Recorder } from './recorder.ts';
import { connectionCells, connectionId, listenerCells, sparkline } from './tables.ts';

export interface ConnectionSnapshot {
  id: string;
  cells: string[];
  cwnd: number[];
  srtt: number[];
  /** The histories as sparklines (SVG). */
  sparks: [cwnd: string, srtt: string];
  /** The graph's version; 0 while nothing was recorded. */
  graph: number;
}

export interface Snapshot {
  /** Numbered from 1 per builder. */
  seq: number;
  /** Date.now() when taken. */
  t: number;
  /** Seconds since the previous snapshot, null for the first. */
  interval: number | null;
  /** True while the trace is recorded (histories and graphs move). */
  recording: boolean;
  /** [name, value, per second since the previous snapshot or null]. */
  counters: Array<[string, number, number | null]>;
  listeners: string[][];
  connections: ConnectionSnapshot[];
}

/** Builds snapshots; rates are between this builder's consecutive snapshots. */
export class SnapshotBuilder {
  private seq = 0;
  private previous: { t: number; values: Map<string, number> } | undefined;

  constructor(
    private readonly provider: TcpProvider,
    private readonly counters: () => Array<[string, number]>,
    private readonly recorder: Recorder,
  ) {}

  build(now = Date.now()): Snapshot {
    const rows = this.counters();
    const prev = this.previous;
    const dt = prev === undefined ? 0 : (now - prev.t) / 1000;
    // A counter absent before was zero (the rows leave zeros out).
    const counters = rows.map(([name, value]): [string, number, number | null] => [name, value, dt > 0 ? Math.round(((value - (prev!.values.get(name) ?? 0)) / dt) * 1000) / 1000 : null]);
    this.previous = { t: now, values: new Map(rows) };
    const { histories, graphs } = this.recorder;
    return {
      seq: ++this.seq,
      t: now,
      interval: prev === undefined ? null : dt,
      recording: this.recorder.on,
      counters,
      listeners: this.provider.listeners().map(listenerCells),
      connections: this.provider.connections().map((c) => {
        const id = connectionId(c);
        const h = histories.get(id);
        const cwnd = h?.cwnd ?? [];
        const srtt = h?.srtt ?? [];
        return { id, cells: connectionCells(c), cwnd, srtt, sparks: [sparkline(cwnd, 'cwnd'), sparkline(srtt, 'srtt ms')], graph: graphs.version(id) };
      }),
    };
  }
}
