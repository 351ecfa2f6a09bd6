/**
 * Chart spec → SVG (Vega's own SVG renderer, headless: no DOM, no browser)
 * → PNG (resvg, a Rust SVG rasteriser with prebuilt binaries, fonts from
 * the system: DejaVu Sans on Debian).
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import type { ConnectionSeries } from './model.ts';
import { chartSpec, type ChartOptions } from './spec.ts';

export async function specToSvg(spec: Record<string, unknown>): Promise<string> {
  const compiled = vegaLite.compile(spec as unknown as vegaLite.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The connection's graphs as one SVG document. */
export function renderSvg(series: ConnectionSeries, options: ChartOptions = {}): Promise<string> {
  return specToSvg(chartSpec(series, options));
}

/** An SVG document as a PNG image, at `scale` times its size. */
export function svgToPng(svg: string, scale = 1): Buffer {
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  return Buffer.from(png);
}
