/**
 * The status page's tables as data: each row's cells as the page shows
 * them (ss's spelling: states, [address]:port, rtt/rttvar, timer:(...)),
 * built once here for the static page and for the /events snapshots alike,
 * and the HTML of a table. A connection is named as the trace names it,
 * LOCALPORT-REMOTEPORT: the id of its history and of its graph.
 */
import type { ListenerInfo, TcpInfo } from '../../../stack/socket/types.ts';
import { ssEndpoint, ssTimer } from '../../ss.ts';
import { linuxStateName } from '../../state-names.ts';

/** Linux's TCP_INFINITE_SSTHRESH: ss omits ssthresh while it has this value. */
const INFINITE_SSTHRESH = 0x7fffffff;

export const LISTENER_HEAD = ['Local Address:Port', 'Backlog', 'Accept queue', 'SYN queue'];
export const CONNECTION_HEAD = ['State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port', 'rtt/rttvar', 'rto', 'cwnd', 'ssthresh', 'retrans', 'timer', 'bytes sent/acked/received'];
/** The columns after CONNECTION_HEAD's, drawn from the trace while a page is open. */
export const HISTORY_HEAD = ['cwnd history', 'srtt history (ms)', 'graph'];
export const COUNTER_HEAD = ['Name', 'Value', 'per second'];

/** The id the trace gives the connection (its tcp-seg and tcp-cc records' `conn`). */
export const connectionId = (c: Pick<TcpInfo, 'localPort' | 'remotePort'>): string => `${c.localPort}-${c.remotePort}`;

/** A listener's local address as ss prints it: `0.0.0.0:80`, `[::]:80` (v6-only), `*:80` (an IPv6 wildcard taking IPv4 too). */
function listenerEndpoint(l: ListenerInfo): string {
  return l.family === 6 && !l.v6only && l.localAddress === '::' ? `*:${l.localPort}` : ssEndpoint(l.localAddress, l.localPort);
}

/** ms with at most 3 decimals, as ss prints rtt. */
const ms3 = (ms: number): string => String(Number(ms.toFixed(3)));

export function listenerCells(l: ListenerInfo): string[] {
  return [listenerEndpoint(l), String(l.backlog), String(l.acceptQueue), String(l.synQueue)];
}

export function connectionCells(c: TcpInfo): string[] {
  return [
    linuxStateName(c.state), // as ss prints it (ESTAB, TIME-WAIT); /connections keeps the API's names
    String(c.recvQ),
    String(c.sendQ),
    ssEndpoint(c.localAddress, c.localPort),
    ssEndpoint(c.remoteAddress, c.remotePort),
    `${ms3(c.rtt)}/${ms3(c.rttvar)}`,
    String(Math.round(c.rto)),
    String(c.cwnd),
    c.ssthresh < INFINITE_SSTHRESH ? String(c.ssthresh) : '-',
    `${c.backoff}/${c.retransmits}`,
    ssTimer(c) || '-',
    `${c.bytesSent}/${c.bytesAcked}/${c.bytesReceived}`,
  ];
}

/** A rate for the page: per second, up to 3 significant decimals; '-' before there is a previous value. */
export function formatRate(rate: number | null): string {
  if (rate === null) return '-';
  return Math.abs(rate) >= 100 ? String(Math.round(rate)) : String(Number(rate.toFixed(2)));
}

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A cell given as HTML (a sparkline, a link) rather than as text. */
export interface RawCell {
  html: string;
}

export interface Row {
  cells: Array<string | number | RawCell>;
  /** Attributes of the <tr> (data-conn="7-40312"). */
  attrs?: string;
}

const cellHtml = (c: string | number | RawCell): string => (typeof c === 'object' ? c.html : escapeHtml(String(c)));

export function table(head: string[], body: Array<Array<string | number | RawCell> | Row>, attrs = ''): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const tr = body
    .map((row) => {
      const r: Row = Array.isArray(row) ? { cells: row } : row;
      return `<tr${r.attrs ? ` ${r.attrs}` : ''}>${r.cells.map((c) => `<td>${cellHtml(c)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<table${attrs ? ` ${attrs}` : ''}>\n<tr>${th}</tr>\n${tr}\n</table>`;
}

/**
 * A sparkline: the values as one SVG polyline, oldest on the left, the
 * scale from the least to the greatest; its label says the last value and
 * the range (what a screen reader, and a test, reads). Empty without values.
 */
export function sparkline(values: readonly number[], what: string, width = 90, height = 18): string {
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const step = values.length > 1 ? (width - 2) / (values.length - 1) : 0;
  const points = values.map((v, i) => `${(1 + i * step).toFixed(1)},${(height - 1 - ((v - min) / span) * (height - 2)).toFixed(1)}`).join(' ');
  const label = `${what} ${values.at(-1)} (${values.length} points, ${min} to ${max})`;
  return `<svg class="spark" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(label)}"><polyline fill="none" stroke="currentColor" stroke-width="1.2" points="${points}"/></svg>`;
}
