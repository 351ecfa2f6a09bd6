/**
 * `tcpstack ss` and `tcpstack nstat`: ask a running `tcpstack up`, through its
 * control socket, for its connections (`ss -ti` style) or its counters
 * (`nstat` style, deltas since the previous call).
 */
import { existsSync, statSync } from 'node:fs';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';
import { parseCommandLine, type ValuesOf } from '../args.ts';
import { fileKind } from '../output-file.ts';
import { invokedAs } from '../program.ts';
import { MAX_SOCKET_PATH } from './socket-path.ts';
import { formatSs } from '../ss.ts';
import { SS_ALL, SS_CONN, SS_LISTENING, parseSsFilter, singleState, ssMatches, type SsFilter, type SsSocket } from '../ss-filter.ts';
import type { ListenerInfo } from '../../stack/socket/types.ts';
import { FatalError, UsageError, parseInteger } from '../usage.ts';
import { ctlRequest } from './client.ts';
import { pidAlive, runDir, runningPids, socketPathFor } from './paths.ts';
import type { ControlRequest, ControlResponse } from './protocol.ts';

const WHICH_HELP = `which process (a running tcpstack up or connect):
  --ctl PATH      the control socket (the ctl=PATH of up's ready line)
  --pid PID       the process with that PID (its socket is RUN_DIR/PID.sock)
                  with neither: the only one running (RUN_DIR is ${runDir()},
                  or $TCPSTACK_RUN_DIR)`;

export const SS_HELP = `usage: tcpstack ss [--ctl PATH | --pid PID] [-a | -l] [-K] [--json] [FILTER]

Lists the listeners and connections of a running 'tcpstack up' or 'tcpstack
connect', like 'ss -tioa': state, Recv-Q/Send-Q, addresses, the pending
timer as timer:(NAME,EXPIRES,COUNT), then ts, sack, the congestion control
(cubic, reno), wscale, rto, rtt/rttvar, mss, cwnd, ssthresh, bytes,
lastsnd/lastrcv, unacked, retrans:IN_FLIGHT/TOTAL, lost, sacked,
reordering, reord_seen, minrtt and windows.

FILTER is iproute2 ss's (ss(8)): state words first, then an expression.
  state NAME      sockets in this state (repeatable): established, syn-sent,
                  syn-recv, fin-wait-1, fin-wait-2, time-wait, closed,
                  close-wait, last-ack, listening, closing; or a group: all,
                  connected (all but listening and closed), synchronized
                  (connected but syn-sent), bucket (syn-recv and time-wait),
                  big (all but bucket). One state alone leaves the State
                  column out, as ss does
  exclude NAME    every state but this one (and those excluded before)
  sport = :PORT   our port; also != < <= > >= (ne lt le gt ge), or no
                  operator: sport :PORT
  dport = :PORT   the peer's port, the same way
  src ADDR        our address: 198.18.0.2, 198.18.0.0/24, [2001:2::2],
                  with :PORT after it (198.18.0.2:7, [2001:2::2]:7)
  dst ADDR        the peer's, the same way
  and, or, not, ( and )
                  combine them, left to right: ( sport = :80 or dport = :80 )
                  (each a word of its own; quote the parentheses in a shell)

${WHICH_HELP}
  -a, --all       every state, the listing's default (with -K: listeners
                  and TIME-WAIT too)
  -l, --listening only the listeners
  -K, --kill      destroy what FILTER selects instead, as 'ss -K' does
                  (tcp_abort: an active reset where the peer must hear of
                  it, ECONNABORTED for the application; a TIME-WAIT goes
                  silently; a listener closes under its owner) and list what
                  was destroyed. Without a state word, -a or -l, -K takes
                  ss's default, the connections: not listeners, TIME-WAIT
                  or SYN-RECV
  --sport PORT    the same as: sport = :PORT
  --dst ADDR      the same as: dst ADDR
  --dport PORT    the same as: dport = :PORT
  --json          the raw listing (every field, every armed timer) as JSON
  -h, --help      show this help

Exit status: 0; 1 when none is running (or it does not answer); 2 on misuse.`;

export const NSTAT_HELP = `usage: tcpstack nstat [--ctl PATH | --pid PID] [-a] [-r] [-s] [-z] [--json] [PATTERN...]

Prints the counters of a running 'tcpstack up' or 'tcpstack connect' that
moved since the previous 'tcpstack nstat' (the first time: since it
started), as Linux's nstat does: the Linux counters (/proc/net/snmp and
netstat names), the drop reasons ('drop REASON'), with impairments the
Impair* counters, and the Io* counters. Three columns, as nstat's: the
name, the value, and the rate per second of its increase since the
previous call (the history this process keeps; nstat shows its daemon's
average, 0.0 without one).

${WHICH_HELP}
  -a, --absolute  values since it started instead of increments (the rate
                  is still that since the previous call)
  -r, --reset     forget the history first (prints values since start)
  -s, --no-update do not move the history (the next call sees these again)
  -z, --zeros     the counters that did not move too
  --json          the rows as JSON: [name, value, rate]
  PATTERN         only counters whose name matches (shell-style * and ?)
  -h, --help      show this help

Exit status: 0; 1 when none is running (or it does not answer); 2 on misuse.`;

const WHICH_OPTIONS = { ctl: { type: 'string' }, pid: { type: 'string' }, json: { type: 'boolean' } } as const;

/** The control socket the options name, or the only up running. */
export function resolveSocket(values: { ctl?: string; pid?: string }): string {
  if (values.ctl !== undefined && values.pid !== undefined) throw new UsageError('--ctl and --pid exclude each other');
  if (values.ctl !== undefined) {
    if (values.ctl === '') throw new UsageError('--ctl needs a path');
    const bytes = Buffer.byteLength(values.ctl);
    if (bytes > MAX_SOCKET_PATH) throw new UsageError(`--ctl ${values.ctl}: ${bytes} bytes long; a unix socket path holds at most ${MAX_SOCKET_PATH}`);
    const stats = statSync(values.ctl, { throwIfNoEntry: false });
    if (stats !== undefined && !stats.isSocket()) throw new UsageError(`--ctl ${values.ctl}: ${fileKind(stats)}, not a socket (the ctl=PATH of up's ready line is)`);
    return values.ctl;
  }
  const dir = runDir();
  if (values.pid !== undefined) {
    const pid = parseInteger('--pid', values.pid, 1, 4194304);
    if (!pidAlive(pid)) throw new FatalError(`no process ${pid} (is tcpstack up running?)`);
    const path = socketPathFor(pid, dir);
    if (!existsSync(path)) throw new FatalError(`process ${pid} has no control socket ${path} (not a tcpstack up or connect, or one started with --ctl)`);
    return path;
  }
  const pids = runningPids(dir);
  if (pids.length === 0) throw new FatalError(`no running tcpstack up or connect (no live control socket in ${dir}; start one with: ${invokedAs()} up)`);
  if (pids.length > 1) throw new UsageError(`${pids.length} tcpstack up or connect processes are running (PIDs ${pids.join(', ')}): pick one with --pid`);
  return socketPathFor(pids[0]!, dir);
}

async function ask(path: string, request: ControlRequest): Promise<ControlResponse & { ok: true }> {
  const [response] = await ctlRequest(path, [request]);
  if (response === undefined || !response.ok) throw new FatalError(`control socket ${path}: ${response && !response.ok ? response.error : 'no answer'}`);
  return response;
}

/** FatalErrors of a client command start with its name: "tcpstack: ss: no running tcpstack up ...". */
async function named(command: string, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof FatalError) throw new FatalError(`${command}: ${error.message}`);
    throw error;
  }
}

export function runSsCommand(argv: string[]): Promise<number> {
  return named('ss', () => ss(argv));
}

export function runNstatCommand(argv: string[]): Promise<number> {
  return named('nstat', () => nstat(argv));
}

const SS_OPTIONS = {
  ...WHICH_OPTIONS,
  all: { type: 'boolean', short: 'a' },
  listening: { type: 'boolean', short: 'l' },
  kill: { type: 'boolean', short: 'K' },
  sport: { type: 'string' },
  dst: { type: 'string' },
  dport: { type: 'string' },
} as const;

type SsValues = ValuesOf<typeof SS_OPTIONS>;

/** FILTER and the options that stand for parts of it (--sport, --dst, --dport; -a, -l). */
function ssSelection(values: SsValues, positionals: string[]): { filter: SsFilter; states: number } {
  if (values.all && values.listening) throw new UsageError('-a and -l exclude each other');
  const parsed = parseSsFilter(positionals);
  // The older options are expressions ANDed to FILTER's.
  const extra: string[][] = [];
  if (values.sport !== undefined) extra.push(['sport', '=', `:${parseInteger('--sport', values.sport, 1, 65535)}`]);
  if (values.dst !== undefined) {
    if (parseIpv4(values.dst) === undefined && parseIpv6(values.dst) === undefined) throw new UsageError(`--dst: not an IPv4 or IPv6 address: ${values.dst}`);
    extra.push(['dst', values.dst.includes(':') ? `[${values.dst}]` : values.dst]);
  }
  if (values.dport !== undefined) extra.push(['dport', '=', `:${parseInteger('--dport', values.dport, 1, 65535)}`]);
  let expr = parsed.expr;
  for (const e of extra) {
    const more = parseSsFilter(e).expr!;
    expr = expr === undefined ? more : { kind: 'and', left: expr, right: more };
  }
  // ss: state words override -a and -l; -K alone takes ss's own default (SS_CONN).
  const states = parsed.states ?? (values.listening ? SS_LISTENING : values.all ? SS_ALL : values.kill ? SS_CONN : SS_ALL);
  return { filter: { states: parsed.states, expr }, states };
}

/** A listener as ss matches it: in LISTEN, its peer the wildcard of its family, port 0. */
function listenerSocket(l: ListenerInfo): SsSocket {
  return { state: 'LISTEN', localAddress: l.localAddress, localPort: l.localPort, remoteAddress: l.family === 6 ? '::' : '0.0.0.0', remotePort: 0 };
}

async function ss(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({ command: 'ss', options: SS_OPTIONS, positionals: true, help: SS_HELP }, argv);
  const { filter, states } = ssSelection(values, positionals);
  const path = resolveSocket(values);
  const r = await ask(path, { cmd: 'ss' });
  if (!('connections' in r)) throw new FatalError(`control socket ${path}: unexpected answer to ss`);
  let listeners = r.listeners.filter((l) => ssMatches(filter, states, listenerSocket(l)));
  let connections = r.connections.filter((c) => ssMatches(filter, states, c));
  let killed: number | undefined;
  if (values.kill) {
    // As ss -K: each socket the filter selected is destroyed by its own address (kill_inet_sock), and listed if it went.
    const requests: ControlRequest[] = [
      ...listeners.map((l): ControlRequest => ({ cmd: 'kill', localPort: l.localPort, listener: true, localAddress: l.localAddress, family: l.family })),
      ...connections.map((c): ControlRequest => ({ cmd: 'kill', localPort: c.localPort, remoteAddress: c.remoteAddress, remotePort: c.remotePort })),
    ];
    const answers = requests.length === 0 ? [] : await ctlRequest(path, requests);
    const went = answers.map((a) => a.ok && 'killed' in a && a.killed > 0);
    const failed = answers.find((a) => !a.ok);
    if (failed !== undefined && !failed.ok) throw new FatalError(`control socket ${path}: ${failed.error}`);
    const asked = listeners.length;
    listeners = listeners.filter((_, i) => went[i]);
    connections = connections.filter((_, i) => went[asked + i]);
    killed = listeners.length + connections.length;
  }
  if (values.json) console.log(JSON.stringify({ ...(killed === undefined ? {} : { killed }), listeners, connections }, null, 2));
  else console.log(formatSs(connections, listeners, { stateColumn: !singleState(states) }));
  return 0;
}

/** Shell-style pattern (* and ?) to a RegExp over the whole name. */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

const NSTAT_OPTIONS = {
  ...WHICH_OPTIONS,
  absolute: { type: 'boolean', short: 'a' },
  reset: { type: 'boolean', short: 'r' },
  'no-update': { type: 'boolean', short: 's' },
  zeros: { type: 'boolean', short: 'z' },
} as const;

/** nstat's rows as dump_kern_db / dump_incr_db print them: "%-32s%-16llu%6.1f", name, value, rate per second. */
export function formatNstatRows(rows: ReadonlyArray<readonly [string, number, number]>): string {
  return rows.map(([name, value, rate]) => `${name.padEnd(32)}${String(value).padEnd(16)}${rate.toFixed(1).padStart(6)}`).join('\n');
}

async function nstat(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({ command: 'nstat', options: NSTAT_OPTIONS, positionals: true, help: NSTAT_HELP }, argv);
  const patterns = positionals.map(globToRegExp);
  const path = resolveSocket(values);
  const r = await ask(path, { cmd: 'nstat', absolute: Boolean(values.absolute), reset: Boolean(values.reset), noUpdate: Boolean(values['no-update']), zeros: Boolean(values.zeros) });
  if (!('rows' in r)) throw new FatalError(`control socket ${path}: unexpected answer to nstat`);
  const rows = patterns.length === 0 ? r.rows : r.rows.filter(([name]) => patterns.some((p) => p.test(name)));
  if (values.json) console.log(JSON.stringify({ interval: r.interval, rows }));
  else console.log(rows.length > 0 ? `#kernel\n${formatNstatRows(rows)}` : '#kernel');
  return 0;
}
