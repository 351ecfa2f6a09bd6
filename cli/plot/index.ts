/**
 * `tcpstack plot` for reuse (the live status page draws a connection's
 * time-sequence graph from trace records as they happen):
 *
 *   const model = new TraceModel(4000);        // records kept per connection
 *   hub.attach((e) => model.push(e));          // any TraceEvent; others ignored
 *   const s = model.series('7-40000', 'out');  // one direction of one connection
 *   const svg = await renderSvg(s, { width: 760, height: 300 });
 *
 * model.ts gathers records per connection incrementally (push) and builds
 * a direction's series on demand; spec.ts turns a series into a Vega-Lite
 * spec; render.ts draws it (SVG, then PNG through resvg); capture.ts feeds
 * a pcap/pcapng capture to the same model (comments.ts: what up --pcap's
 * packet comments say); decimate.ts keeps a long series to a few marks per
 * pixel column (renderSvg applies it). Importing this module loads
 * Vega: a command that does not draw imports model.ts alone.
 */
export { TraceModel } from './model.ts';
export type { AckStep, CaSpan, ConnectionSeries, ConnectionSummary, NoteMark, ResetMark, SackBlock, SampleRow, SegmentBar, SegmentRecord } from './model.ts';
export { BAR_KINDS, PANES, chartSpec } from './spec.ts';
export type { ChartOptions, Pane } from './spec.ts';
export { renderSvg, specToSvg, svgToPng } from './render.ts';
export { loadCapture, readPcapngBuffer } from './capture.ts';
export { readComments } from './comments.ts';
export { m4, mergeBars } from './decimate.ts';
