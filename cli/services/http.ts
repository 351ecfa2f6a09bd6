/**
 * HTTP status server (port 80): Node's own `http` module running over
 * TcpSocket. `/` is an HTML page with the stack's addresses, the live
 * counters and the connection table in the spirit of `ss -ti` (IPv6
 * addresses in brackets, `[2001:2::2]:80`, as ss prints them), `/counters`
 * the counters as `nstat` prints them, `/connections` the same tables as
 * JSON; anything else is a 404.
 */
import http from 'node:http';
import { COUNTER_NAMES, formatCounters } from '../../stack/counters.ts';
import { DROP_REASONS } from '../../stack/drop.ts';
import type { TcpProvider } from '../../tun/node/provider.ts';
import type { ListenerInfo, TcpInfo } from '../../stack/socket/types.ts';
import { ssEndpoint, ssTimer } from '../ss.ts';
import { linuxStateName } from '../state-names.ts';
import { listenService, type RunningService, type StackView } from './service.ts';

/** Linux's TCP_INFINITE_SSTHRESH: ss omits ssthresh while it has this value. */
const INFINITE_SSTHRESH = 0x7fffffff;

/** A StackView that also has counters from outside the stack (the impairments of `up --loss ...`), and the stack's addresses. */
export interface CountersView extends StackView {
  /** Further nonzero rows, printed after the stack's own. */
  readonly extraCounters?: () => Array<[string, number]>;
  /** The stack's own addresses in text, IPv4 then IPv6 (`198.18.0.2`, `2001:2::2`), for the status page. */
  readonly ownAddresses?: readonly string[];
}

/** The counters that are not zero, then the drop reasons that are not, in nstat's layout, then any extra rows. */
export function nonzeroCounters(stack: CountersView): Array<[string, number]> {
  const rows: Array<[string, number]> = COUNTER_NAMES.filter((n) => stack.counters[n] !== 0).map((n) => [n, stack.counters[n]]);
  if (stack.drops) for (const r of DROP_REASONS) if (stack.drops[r] > 0) rows.push([`drop ${r}`, stack.drops[r]]);
  if (stack.extraCounters) rows.push(...stack.extraCounters());
  return rows;
}

/** ss -o's timer field, as `tcpstack ss` prints it: timer:(on,200ms,0). */
export function formatTimer(info: TcpInfo): string {
  return ssTimer(info);
}

/** A listener's local address as ss prints it: `0.0.0.0:80`, `[::]:80` (v6-only), `*:80` (an IPv6 wildcard taking IPv4 too). */
function listenerEndpoint(l: ListenerInfo): string {
  return l.family === 6 && !l.v6only && l.localAddress === '::' ? `*:${l.localPort}` : ssEndpoint(l.localAddress, l.localPort);
}

/** ms with at most 3 decimals, as ss prints rtt. */
const ms3 = (ms: number): string => String(Number(ms.toFixed(3)));

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function table(head: string[], body: Array<Array<string | number>>): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const tr = body.map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<tr>${th}</tr>\n${tr}\n</table>`;
}

export function statusPage(provider: TcpProvider, stack: CountersView): string {
  const counters = nonzeroCounters(stack);
  const listeners = provider.listeners();
  const connections = provider.connections();
  const addresses = stack.ownAddresses === undefined ? '' : `<h2>Addresses</h2>\n${table(['Address'], stack.ownAddresses.map((a) => [a]))}\n`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>tcpstack status</title>
<style>body{font-family:monospace;margin:1em 2em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}td:nth-child(n+2){white-space:pre}</style>
</head><body>
<h1>tcpstack</h1>
<p>Refreshes every 2 s. Plain text: <a href="/counters">/counters</a>, JSON: <a href="/connections">/connections</a>.</p>
${addresses}<h2>Listening (${listeners.length})</h2>
${table(
  ['Local Address:Port', 'Backlog', 'Accept queue', 'SYN queue'],
  listeners.map((l) => [listenerEndpoint(l), l.backlog, l.acceptQueue, l.synQueue]),
)}
<h2>Connections (${connections.length})</h2>
${table(
  ['State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port', 'rtt/rttvar', 'rto', 'cwnd', 'ssthresh', 'retrans', 'timer', 'bytes sent/acked/received'],
  connections.map((c) => [
    linuxStateName(c.state), // as ss prints it (ESTAB, TIME-WAIT); /connections keeps the API's names
    c.recvQ,
    c.sendQ,
    ssEndpoint(c.localAddress, c.localPort),
    ssEndpoint(c.remoteAddress, c.remotePort),
    `${ms3(c.rtt)}/${ms3(c.rttvar)}`,
    Math.round(c.rto),
    c.cwnd,
    c.ssthresh < INFINITE_SSTHRESH ? c.ssthresh : '-',
    `${c.backoff}/${c.retransmits}`,
    formatTimer(c) || '-',
    `${c.bytesSent}/${c.bytesAcked}/${c.bytesReceived}`,
  ]),
)}
<h2>Counters (${counters.length} nonzero)</h2>
${table(['Name', 'Value'], counters)}
</body></html>
`;
}

export function start(provider: TcpProvider, stack: CountersView, port = 80): RunningService & { httpServer: http.Server } {
  const httpServer = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://tcpstack').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    let type: string;
    let body: string;
    switch (path) {
      case '/':
        type = 'text/html; charset=utf-8';
        body = statusPage(provider, stack);
        break;
      case '/counters':
        type = 'text/plain; charset=utf-8';
        body = `#kernel\n${formatCounters(nonzeroCounters(stack))}\n`;
        break;
      case '/connections':
        type = 'application/json';
        body = `${JSON.stringify({ addresses: stack.ownAddresses, listeners: provider.listeners(), connections: provider.connections() }, null, 2)}\n`;
        break;
      default:
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`${path}: not found (try /, /counters, /connections)\n`);
        return;
    }
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  });
  const service = listenService('http', provider, port, {}, (socket) => httpServer.emit('connection', socket));
  return Object.assign(service, { httpServer });
}
