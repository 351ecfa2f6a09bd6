/**
 * The status page's HTML. Without JavaScript it is a static page that
 * reloads itself every 2 s (a <noscript> refresh) and links each
 * connection to its graph page; with JavaScript, live.js takes the
 * /events snapshots and rewrites the tables, and a click on a connection
 * opens its time-sequence graph under the table, drawn again as it grows.
 */
import type { RunInfo } from './run-info.ts';
import type { Snapshot } from './snapshot.ts';
import { CONNECTION_HEAD, COUNTER_HEAD, HISTORY_HEAD, LISTENER_HEAD, escapeHtml, formatRate, table, type Row } from './tables.ts';

const STYLE = `body{font-family:monospace;margin:1em 2em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:middle}td:nth-child(n+2){white-space:pre}
tr[data-conn]{cursor:pointer}tr[data-conn]:hover{background:#f4f4ff}tr.selected{background:#e4e8ff}
.spark{color:#1f77b4;display:block}#graph-svg svg{max-width:100%;height:auto}#status{color:#666}
dl.run{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dl.run dt{font-weight:bold}dl.run dd{margin:0}`;

/** The run's configuration: the command line, its fields, the sysctls applied, the impairments and their seed. */
function runSection(run: RunInfo | undefined): string {
  if (run === undefined) return '';
  const rows: Array<[string, string]> = [['command', run.command], ['run', run.fields.join(' ')]];
  rows.push(['sysctls', run.sysctls.length === 0 ? 'defaults' : run.sysctls.map(([n, v]) => `${n}=${v}`).join(' ')]);
  rows.push(['impairments', run.impairments ?? 'none']);
  if (run.seed !== undefined) rows.push(['seed', String(run.seed)]);
  return `<h2>Run</h2>\n<dl class="run" id="run">\n${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('\n')}\n</dl>\n`;
}

/** A connection's row: its cells, its histories and its graph link (the row's data-conn opens the graph in place). */
function connectionRow(c: Snapshot['connections'][number]): Row {
  return {
    attrs: `data-conn="${escapeHtml(c.id)}"`,
    cells: [...c.cells, { html: c.sparks[0] }, { html: c.sparks[1] }, { html: `<a href="/conn/${encodeURIComponent(c.id)}">graph</a>` }],
  };
}

export function statusHtml(s: Snapshot, addresses: readonly string[] | undefined, run: RunInfo | undefined): string {
  const addressSection = addresses === undefined ? '' : `<h2>Addresses</h2>\n${table(['Address'], addresses.map((a) => [a]))}\n`;
  return `<!doctype html>
<html><head><meta charset="utf-8">
<noscript><meta http-equiv="refresh" content="2"></noscript>
<title>tcpstack status</title>
<style>${STYLE}</style>
</head><body>
<h1>tcpstack</h1>
<p id="status">Static as of the page's load; without JavaScript it reloads every 2 s. Plain text: <a href="/counters">/counters</a>, JSON: <a href="/connections">/connections</a>, live: <a href="/events">/events</a>.</p>
${runSection(run)}${addressSection}<h2>Listening (<span id="n-listeners">${s.listeners.length}</span>)</h2>
<div id="listeners">${table(LISTENER_HEAD, s.listeners)}</div>
<h2>Connections (<span id="n-connections">${s.connections.length}</span>)</h2>
<div id="connections">${table([...CONNECTION_HEAD, ...HISTORY_HEAD], s.connections.map(connectionRow))}</div>
<section id="graph" hidden>
<h2>Graph of <span id="graph-conn"></span> <small><a href="#" id="graph-dir"></a> · <a href="#" id="graph-close">close</a></small></h2>
<div id="graph-svg"></div>
</section>
<h2>Counters (<span id="n-counters">${s.counters.length}</span> nonzero)</h2>
<div id="counters">${table(COUNTER_HEAD, s.counters.map(([name, value, rate]) => [name, value, formatRate(rate)]))}</div>
<script src="/live.js"></script>
</body></html>
`;
}

/** /conn/ID without JavaScript: the graph inline, reloaded every 2 s, and the other direction's link. */
export function graphHtml(id: string, dir: 'out' | 'in', svg: string | undefined): string {
  const other = dir === 'out' ? 'in' : 'out';
  const whose = (d: 'out' | 'in'): string => (d === 'out' ? 'our data' : "the peer's data");
  const path = `/conn/${encodeURIComponent(id)}`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>tcpstack ${escapeHtml(id)}</title>
<style>${STYLE}</style>
</head><body>
<h1>Connection ${escapeHtml(id)}: ${whose(dir)}</h1>
<p><a href="/">status</a> · <a href="${path}?dir=${other}">${whose(other)}</a> · <a href="${path}/graph.svg?dir=${dir}">SVG</a> · reloads every 2 s</p>
<div id="graph-svg">${svg ?? `<p>No segment of ${escapeHtml(id)} recorded yet: the recording starts when a status page is opened.</p>`}</div>
</body></html>
`;
}
