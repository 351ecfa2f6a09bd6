/**
 * Draws graphs on a worker thread (graph-worker.ts) so that Vega's
 * rendering never stalls the stack, which runs on the main thread: started
 * at the first drawing, ended by close() (the recording stopped: its
 * memory, Vega's included, goes with it). The worker registers tsx itself
 * (a worker inherits no module hooks) and gets no V8 flags of ours.
 */
import { Worker } from 'node:worker_threads';
import type { ChartOptions, ConnectionSeries } from '../../plot/index.ts';
import type { DrawAnswer, DrawRequest } from './graph-worker.ts';

/** The worker's heap limit: a drawing of a few thousand records needs well under it. */
const WORKER_HEAP_MB = 512;

export class GraphRenderer {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (svg: string) => void; reject: (error: Error) => void }>();

  render(series: ConnectionSeries, options: ChartOptions): Promise<string> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, series, options } satisfies DrawRequest);
    });
  }

  /** Ends the worker; drawings under way are rejected. */
  close(): void {
    const worker = this.worker;
    this.worker = undefined;
    if (worker === undefined) return;
    void worker.terminate();
    this.failAll(new Error('the drawing thread was stopped'));
  }

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const tsx = import.meta.resolve('tsx/esm/api');
    const script = new URL('./graph-worker.ts', import.meta.url).href;
    const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); })`;
    const worker = new Worker(code, { eval: true, execArgv: [], resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    worker.unref();
    worker.on('message', (m: DrawAnswer) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if ('svg' in m) p.resolve(m.svg);
      else p.reject(new Error(m.error));
    });
    worker.on('error', (error) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(error);
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error('the drawing thread exited'));
    });
    this.worker = worker;
    return worker;
  }

  private failAll(error: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(error);
    }
  }
}
