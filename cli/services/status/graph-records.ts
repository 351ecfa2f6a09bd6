/**
 * The live time-sequence graphs. The trace's records are kept per
 * connection as they come (the records themselves, no copy), the latest
 * MAX_RECORDS of them; a graph is drawn on request by feeding a
 * connection's records to `tcpstack plot`'s model (cli/plot/index.ts:
 * TraceModel, series) and its renderer (renderSvg, Vega-Lite) on a thread
 * of its own (graph-renderer.ts).
 *
 * Why not the model itself as the store: its bound trims the head of a
 * full list at every record (keep() splices), 3.3 us per segment at 1000
 * records and 10 us at 4000, on the thread the stack runs on; here a
 * record costs an array push, the trimming is amortised (at twice the
 * bound, back to the bound), and the model is built only for a drawing
 * (at most one a second per open graph, some 1.3 us per record).
 *
 * Bounded: MAX_RECORDS per connection, MAX_CONNECTIONS connections; each
 * connection has a version (records taken) so that a graph is drawn again
 * only when it has something new, and one drawing at a time per graph.
 */
import type { TraceEvent } from '../../../stack/trace.ts';
// The model alone: plot's renderer (Vega) is loaded by the drawing thread.
import { TraceModel } from '../../plot/model.ts';
import { GraphRenderer } from './graph-renderer.ts';

/**
 * Records (segments, state samples, RSTs, CA changes) kept per connection
 * for its graph: the latest ones. A graph of 1000 records draws in about
 * 0.3 s and weighs some 700 KB of SVG (every mark labelled); of 4000,
 * 0.6-0.9 s and 2.6 MB.
 */
export const MAX_RECORDS = 1000;
/** Connections kept at once; records of further ones are ignored until some are forgotten. */
export const MAX_CONNECTIONS = 128;

export type GraphDir = 'out' | 'in';

export interface GraphOptions {
  dir?: GraphDir;
  width?: number;
  height?: number;
}

/** The connection a record belongs to, as the trace names it (LOCALPORT-REMOTEPORT), or undefined. */
function connOf(e: TraceEvent): string | undefined {
  switch (e.kind) {
    case 'tcp-seg':
    case 'tcp-cc':
    case 'tcp-ca':
      return e.conn;
    case 'tcp-rst':
      return `${e.local}-${e.remote}`;
    default:
      return undefined;
  }
}

interface Records {
  list: TraceEvent[];
  /** Records taken so far. */
  version: number;
}

interface Drawing {
  version: number;
  svg: Promise<string>;
  done: boolean;
}

export class GraphRecords {
  private readonly conns = new Map<string, Records>();
  private readonly renderer = new GraphRenderer();
  private readonly drawn = new Map<string, Drawing>();
  /** The first record's time: the graphs' time 0 (ms of the stack's clock). */
  private origin: number | undefined;

  push(e: TraceEvent): void {
    const id = connOf(e);
    if (id === undefined) return;
    let c = this.conns.get(id);
    if (c === undefined) {
      if (this.conns.size >= MAX_CONNECTIONS) return;
      this.conns.set(id, (c = { list: [], version: 0 }));
    }
    this.origin ??= e.t;
    c.version++;
    c.list.push(e);
    if (c.list.length >= 2 * MAX_RECORDS) c.list.splice(0, c.list.length - MAX_RECORDS);
  }

  /** Records taken for `id` so far (0: none): changes whenever its graph would. */
  version(id: string): number {
    return this.conns.get(id)?.version ?? 0;
  }

  ids(): IterableIterator<string> {
    return this.conns.keys();
  }

  /**
   * The graph of `id` as an SVG document, the version it shows and whose
   * data it shows, or undefined while it has no segment. A drawing still
   * under way is answered as it is (its version says what it shows): the
   * asker comes back when the version it sees in the snapshots is newer.
   */
  async svg(id: string, options: GraphOptions = {}): Promise<{ svg: string; version: number; dir: GraphDir } | undefined> {
    const c = this.conns.get(id);
    if (c === undefined) return undefined;
    const model = new TraceModel();
    model.setOrigin(this.origin ?? 0);
    for (const e of c.list.length > MAX_RECORDS ? c.list.slice(-MAX_RECORDS) : c.list) model.push(e);
    const series = model.series(id, options.dir);
    if (series === undefined) return undefined;
    const key = `${id} ${series.sending} ${options.width ?? ''}x${options.height ?? ''}`;
    const version = c.version;
    const cached = this.drawn.get(key);
    if (cached !== undefined && (cached.version === version || !cached.done)) return { svg: await cached.svg, version: cached.version, dir: series.sending };
    const drawing: Drawing = { version, done: false, svg: this.renderer.render(series, { width: options.width ?? 760, height: options.height ?? 300 }) };
    this.drawn.set(key, drawing);
    try {
      return { svg: await drawing.svg, version, dir: series.sending };
    } catch (error) {
      // A failed drawing is not kept: the next request tries again.
      if (this.drawn.get(key) === drawing) this.drawn.delete(key);
      throw error;
    } finally {
      drawing.done = true;
    }
  }

  forget(id: string): void {
    this.conns.delete(id);
    for (const key of [...this.drawn.keys()]) if (key.startsWith(`${id} `)) this.drawn.delete(key);
  }

  /** Forgets everything and ends the drawing thread. */
  clear(): void {
    this.renderer.close();
    this.conns.clear();
    this.drawn.clear();
    this.origin = undefined;
  }
}
