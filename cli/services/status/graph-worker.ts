/**
 * The status page's drawing thread: Vega (plot's renderSvg) runs here, so
 * a drawing (0.3-0.9 s for a graph of a few thousand records) never holds
 * up the thread the stack runs on. Messages: { id, series, options } in,
 * { id, svg } or { id, error } out (graph-renderer.ts).
 */
import { parentPort } from 'node:worker_threads';
import { renderSvg, type ChartOptions, type ConnectionSeries } from '../../plot/index.ts';

export interface DrawRequest {
  id: number;
  series: ConnectionSeries;
  options: ChartOptions;
}

export type DrawAnswer = { id: number; svg: string } | { id: number; error: string };

parentPort?.on('message', (m: DrawRequest) => {
  renderSvg(m.series, m.options).then(
    (svg) => parentPort!.postMessage({ id: m.id, svg } satisfies DrawAnswer),
    (error: unknown) => parentPort!.postMessage({ id: m.id, error: (error as Error).message ?? String(error) } satisfies DrawAnswer),
  );
});
