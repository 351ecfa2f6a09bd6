/**
 * HTTP status server (port 80): Node's own `http` module running over
 * TcpSocket. `/` is an HTML page with how the run was started, the stack's
 * addresses, the listeners, the connection table in the spirit of `ss -ti`
 * (IPv6 addresses in brackets, `[2001:2::2]:80`, as ss prints them) and the
 * counters; with JavaScript it is live: `/events` streams a snapshot a
 * second (server-sent events: counters with their rates, the connections
 * with cwnd and srtt histories), and a click on a connection shows its
 * time-sequence graph (`/conn/ID/graph.svg`, ID being LOCALPORT-REMOTEPORT
 * as the trace names it; `/conn/ID` is the same graph as a page). The
 * histories and graphs come from the stack's trace, recorded only while a
 * page is open (cli/services/status/recorder.ts). `/counters` is the
 * counters as `nstat` prints them, `/connections` the tables as JSON;
 * anything else is a 404.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { COUNTER_NAMES, formatCounters } from '../../stack/counters.ts';
import { DROP_REASONS } from '../../stack/drop.ts';
import type { TcpProvider } from '../../tun/node/provider.ts';
import type { TraceHost } from '../../tun/trace-hub.ts';
import type { TcpInfo } from '../../stack/socket/types.ts';
import { ssTimer } from '../ss.ts';
import { listenService, type RunningService, type StackView } from './service.ts';
import { EventStreams, type EventStreamsOptions } from './status/events.ts';
import type { GraphDir } from './status/graph-records.ts';
import { graphHtml, statusHtml } from './status/page.ts';
import { Recorder, type RecorderOptions } from './status/recorder.ts';
import type { RunInfo } from './status/run-info.ts';
import { SnapshotBuilder } from './status/snapshot.ts';
import { connectionId } from './status/tables.ts';

/** A StackView that also has counters from outside the stack (the impairments of `up --loss ...`), the stack's addresses, its trace and the run's configuration. */
export interface CountersView extends StackView {
  /** Further nonzero rows, printed after the stack's own. */
  readonly extraCounters?: () => Array<[string, number]>;
  /** The stack's own addresses in text, IPv4 then IPv6 (`198.18.0.2`, `2001:2::2`), for the status page. */
  readonly ownAddresses?: readonly string[];
  /** The stack whose trace the status page records while open (a Stack); without it, no histories or graphs. */
  readonly traceHost?: TraceHost;
  /** How the run was started, shown at the top of the status page. */
  readonly run?: RunInfo;
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

/** The open connections' ids, as the trace names them. */
const openIds = (provider: TcpProvider) => (): Set<string> => new Set(provider.connections().map(connectionId));

/** The static page, as it is now (no history: nothing recorded). */
export function statusPage(provider: TcpProvider, stack: CountersView): string {
  const snapshot = new SnapshotBuilder(provider, () => nonzeroCounters(stack), new Recorder(undefined, openIds(provider))).build();
  return statusHtml(snapshot, stack.ownAddresses, stack.run);
}

/** The browser side of the live page, read once. */
const LIVE_JS = readFileSync(new URL('./status/live.js', import.meta.url), 'utf8');

export type HttpOptions = RecorderOptions & EventStreamsOptions;

type Answer = { status: number; type: string; body: string; headers?: Record<string, string> };

const text = (status: number, body: string): Answer => ({ status, type: 'text/plain; charset=utf-8', body });

export function start(provider: TcpProvider, stack: CountersView, port = 80, options: HttpOptions = {}): RunningService & { httpServer: http.Server; recorder: Recorder; events: EventStreams } {
  const counters = (): Array<[string, number]> => nonzeroCounters(stack);
  const recorder = new Recorder(stack.traceHost, openIds(provider), options);
  const events = new EventStreams(recorder, new SnapshotBuilder(provider, counters, recorder), options);
  // The static page's rates are since the previous load of it.
  const pages = new SnapshotBuilder(provider, counters, recorder);

  const graph = async (id: string, dir: GraphDir | undefined, page: boolean): Promise<Answer> => {
    recorder.touch();
    const drawn = await recorder.graphs.svg(id, { dir });
    if (page) return { status: 200, type: 'text/html; charset=utf-8', body: graphHtml(id, drawn?.dir ?? dir ?? 'out', drawn?.svg) };
    if (drawn === undefined) return text(404, `${id}: no segment recorded (the recording runs while a status page is open)\n`);
    return { status: 200, type: 'image/svg+xml', body: drawn.svg, headers: { 'x-graph-version': String(drawn.version), 'x-graph-dir': drawn.dir } };
  };

  const answer = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<Answer | undefined> => {
    const path = url.pathname;
    const conn = /^\/conn\/(\d+-\d+)(\/graph\.svg)?$/.exec(path);
    if (conn !== null) {
      const dirText = url.searchParams.get('dir');
      if (dirText !== null && dirText !== 'out' && dirText !== 'in') return text(400, `dir=${dirText}: expected out (our data) or in (the peer's)\n`);
      return graph(conn[1]!, dirText ?? undefined, conn[2] === undefined);
    }
    switch (path) {
      case '/':
        recorder.touch();
        return { status: 200, type: 'text/html; charset=utf-8', body: statusHtml(pages.build(), stack.ownAddresses, stack.run) };
      case '/live.js':
        return { status: 200, type: 'text/javascript; charset=utf-8', body: LIVE_JS };
      case '/events':
        events.open(req, res);
        return undefined;
      case '/counters':
        return text(200, `#kernel\n${formatCounters(counters())}\n`);
      case '/connections':
        return { status: 200, type: 'application/json', body: `${JSON.stringify({ addresses: stack.ownAddresses, listeners: provider.listeners(), connections: provider.connections() }, null, 2)}\n` };
      default:
        return text(404, `${path}: not found (try /, /counters, /connections, /events, /conn/LOCALPORT-REMOTEPORT)\n`);
    }
  };

  const httpServer = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://tcpstack');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    answer(req, res, url).then(
      (a) => {
        if (a === undefined || res.headersSent) return;
        res.writeHead(a.status, { 'content-type': a.type, 'cache-control': 'no-store', ...a.headers }).end(a.body);
      },
      (error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`${(error as Error).message}\n`);
      },
    );
  });
  const service = listenService('http', provider, port, {}, (socket) => httpServer.emit('connection', socket));
  const closeListener = service.close;
  return Object.assign(service, {
    httpServer,
    recorder,
    events,
    close() {
      events.close();
      recorder.close();
      closeListener();
    },
  });
}
