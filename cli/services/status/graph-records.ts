/**
 * The live time-sequence graphs: the trace's records fed to `tcpstack
 * plot`'s incremental model (cli/plot/index.ts: TraceModel), drawn by its
 * renderer (renderSvg, Vega-Lite) as SVG on request, on a thread of its
 * own (graph-renderer.ts). Bounded: at most MAX_RECORDS of each kind per connection (the
 * oldest go first) and MAX_CONNECTIONS connections; each connection has a
 * version (records taken) so that a graph is drawn again only when it has
 * something new, and one drawing at a time per graph.
 */
import type { TraceEvent } from '../../../stack/trace.ts';
// The model alone: plot's renderer (Vega) is loaded by the drawing thread.
import { TraceModel } from '../../plot/model.ts';
import { GraphRenderer } from './graph-renderer.ts';

/**
 * Segments (and samples, RSTs, CA changes) kept per connection for its
 * graph: the latest ones. A graph of 1000 records draws in about 0.3 s and
 * weighs some 700 KB of SVG (every mark labelled); of 4000, 0.6-0.9 s and
 * 2.6 MB.
 */
export const MAX_RECORDS = 1000;
/** Connections drawn at once; records of further ones are ignored until some are forgotten. */
export const MAX_CONNECTIONS = 256;

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

interface Drawing {
  version: number;
  svg: Promise<string>;
  done: boolean;
}

export class GraphRecords {
  private model = new TraceModel(MAX_RECORDS);
  private readonly renderer = new GraphRenderer();
  private readonly versions = new Map<string, number>();
  private readonly drawn = new Map<string, Drawing>();

  push(e: TraceEvent): void {
    const id = connOf(e);
    if (id === undefined) return;
    const version = this.versions.get(id);
    if (version === undefined && this.versions.size >= MAX_CONNECTIONS) return;
    this.versions.set(id, (version ?? 0) + 1);
    this.model.push(e);
  }

  /** Records taken for `id` so far (0: none): changes whenever its graph would. */
  version(id: string): number {
    return this.versions.get(id) ?? 0;
  }

  ids(): IterableIterator<string> {
    return this.versions.keys();
  }

  /**
   * The graph of `id` as an SVG document and the version it shows, or
   * undefined while it has no segment; `dir`: whose data it shows. A drawing still under way is
   * answered as it is (its version says what it shows): the asker comes
   * back when the version it sees in the snapshots is newer.
   */
  async svg(id: string, options: GraphOptions = {}): Promise<{ svg: string; version: number; dir: GraphDir } | undefined> {
    const series = this.model.series(id, options.dir);
    if (series === undefined) return undefined;
    const key = `${id} ${series.sending} ${options.width ?? ''}x${options.height ?? ''}`;
    const version = this.version(id);
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
    this.model.forget(id);
    this.versions.delete(id);
    for (const key of [...this.drawn.keys()]) if (key.startsWith(`${id} `)) this.drawn.delete(key);
  }

  /** Forgets everything and ends the drawing thread. */
  clear(): void {
    this.renderer.close();
    this.model = new TraceModel(MAX_RECORDS);
    this.versions.clear();
    this.drawn.clear();
  }
}
