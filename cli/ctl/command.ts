/**
 * `tcpstack ss` and `tcpstack nstat`: ask a running `tcpstack up`, through its
 * control socket, for its connections (`ss -ti` style) or its counters
 * (`nstat` style, deltas since the previous call).
 */
import { existsSync, statSync } from 'node:fs';
import { formatCounters } from '../../stack/counters.ts';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';
import { parseCommandLine } from '../args.ts';
import { fileKind } from '../output-file.ts';
import { invokedAs } from '../program.ts';
import { MAX_SOCKET_PATH } from './socket-path.ts';
import { formatSs } from '../ss.ts';
import { FatalError, UsageError, parseInteger } from '../usage.ts';
import { ctlRequest } from './client.ts';
import { pidAlive, runDir, runningPids, socketPathFor } from './paths.ts';
import type { ControlRequest, ControlResponse, KillFilter } from './protocol.ts';

const WHICH_HELP = `which up:
  --ctl PATH      the control socket (the ctl=PATH of up's ready line)
  --pid PID       the up process with that PID (its socket is RUN_DIR/PID.sock)
                  with neither: the only up running (RUN_DIR is ${runDir()},
                  or $TCPSTACK_RUN_DIR)`;

export const SS_HELP = `usage: tcpstack ss [--ctl PATH | --pid PID] [--json]
       tcpstack ss [--ctl PATH | --pid PID] -K --sport PORT [--dst ADDR] [--dport PORT]

Lists the listeners and connections of a running 'tcpstack up', like
'ss -tio': state, Recv-Q/Send-Q, addresses, the pending timer as
timer:(NAME,EXPIRES,COUNT), then ts, sack, the congestion control (cubic,
reno), wscale, rto, rtt/rttvar, mss, cwnd, ssthresh, bytes, lastsnd/lastrcv, unacked, retrans:IN_FLIGHT/TOTAL,
lost, sacked, reordering, reord_seen, minrtt and windows.
With -K, like 'ss -K', it destroys the matching connections instead
(tcp_abort: an active reset where the peer must hear of it, ECONNABORTED for
their applications) and prints how many.

${WHICH_HELP}
  --json          the raw listing (every field, every armed timer) as JSON
  -K, --kill      destroy connections: --sport is our port (required), --dst
                  and --dport the peer's address and port (optional)
  -h, --help      show this help

Exit status: 0; 1 when no up is running (or it does not answer); 2 on misuse.`;

export const NSTAT_HELP = `usage: tcpstack nstat [--ctl PATH | --pid PID] [-a] [-r] [-s] [--json] [PATTERN...]

Prints the counters of a running 'tcpstack up' that moved since the previous
'tcpstack nstat' (the first time: since up started), as Linux's nstat does:
the Linux counters (/proc/net/snmp and netstat names), the drop reasons
('drop REASON') and, with impairments, the Impair* counters.

${WHICH_HELP}
  -a, --absolute  values since up started instead of increments
  -r, --reset     forget the history first (prints values since start)
  -s, --no-update do not move the history (the next call sees these again)
  --json          the rows as JSON
  PATTERN         only counters whose name matches (shell-style * and ?)
  -h, --help      show this help

Exit status: 0; 1 when no up is running (or it does not answer); 2 on misuse.`;

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

const SS_OPTIONS = { ...WHICH_OPTIONS, kill: { type: 'boolean', short: 'K' }, sport: { type: 'string' }, dst: { type: 'string' }, dport: { type: 'string' } } as const;

async function ss(argv: string[]): Promise<number> {
  const { values } = parseCommandLine({ command: 'ss', options: SS_OPTIONS, positionals: false, help: SS_HELP }, argv);
  if (values.kill) return kill(values);
  for (const name of ['sport', 'dst', 'dport'] as const) if (values[name] !== undefined) throw new UsageError(`--${name} needs -K`);
  const path = resolveSocket(values);
  const r = await ask(path, { cmd: 'ss' });
  if (!('connections' in r)) throw new FatalError(`control socket ${path}: unexpected answer to ss`);
  console.log(values.json ? JSON.stringify({ listeners: r.listeners, connections: r.connections }, null, 2) : formatSs(r.connections, r.listeners));
  return 0;
}

async function kill(values: { ctl?: string; pid?: string; json?: boolean; sport?: string; dst?: string; dport?: string }): Promise<number> {
  if (values.sport === undefined) throw new UsageError('-K needs --sport PORT (our port of the connections to destroy)');
  const filter: KillFilter = { localPort: parseInteger('--sport', values.sport, 1, 65535) };
  if (values.dst !== undefined) {
    if (parseIpv4(values.dst) === undefined && parseIpv6(values.dst) === undefined) throw new UsageError(`--dst: not an IPv4 or IPv6 address: ${values.dst}`);
    filter.remoteAddress = values.dst;
  }
  if (values.dport !== undefined) filter.remotePort = parseInteger('--dport', values.dport, 1, 65535);
  const path = resolveSocket(values);
  const r = await ask(path, { cmd: 'kill', ...filter });
  if (!('killed' in r)) throw new FatalError(`control socket ${path}: unexpected answer to kill`);
  console.log(values.json ? JSON.stringify({ killed: r.killed }) : `killed ${r.killed}`);
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
} as const;

async function nstat(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({ command: 'nstat', options: NSTAT_OPTIONS, positionals: true, help: NSTAT_HELP }, argv);
  const patterns = positionals.map(globToRegExp);
  const path = resolveSocket(values);
  const r = await ask(path, { cmd: 'nstat', absolute: Boolean(values.absolute), reset: Boolean(values.reset), noUpdate: Boolean(values['no-update']) });
  if (!('rows' in r)) throw new FatalError(`control socket ${path}: unexpected answer to nstat`);
  const rows = patterns.length === 0 ? r.rows : r.rows.filter(([name]) => patterns.some((p) => p.test(name)));
  if (values.json) console.log(JSON.stringify({ interval: r.interval, rows }));
  else console.log(rows.length > 0 ? `#kernel\n${formatCounters(rows)}` : '#kernel');
  return 0;
}
