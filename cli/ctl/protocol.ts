/**
 * The control protocol of a running `tcpstack up`, spoken over its unix
 * socket (cli/ctl/server.ts): newline-delimited JSON, one request object a
 * line, answered by one response object a line, in order; a client may send
 * several requests on one connection.
 *
 *   → {"cmd":"info"}
 *   ← {"ok":true,"pid":4242,"fields":{"tun":"tcp0",...},"uptime":12.5}
 *   → {"cmd":"ss"}
 *   ← {"ok":true,"connections":[TcpInfo...],"listeners":[ListenerInfo...]}
 *   → {"cmd":"kill","localPort":7,"remoteAddress":"198.18.0.1","remotePort":40000}
 *   ← {"ok":true,"killed":1}
 *   → {"cmd":"kill","localPort":7,"listener":true,"localAddress":"0.0.0.0","family":4}
 *   ← {"ok":true,"killed":1}
 *   → {"cmd":"nstat","absolute":false,"reset":false,"noUpdate":false,"zeros":false}
 *   ← {"ok":true,"rows":[["TcpInSegs",12,3.8],...],"interval":3.2}
 *   → {"cmd":"frobnicate"}
 *   ← {"ok":false,"error":"unknown command \"frobnicate\" (known: info, ss, kill, nstat)"}
 *
 * nstat keeps its history here, in the running process (the real nstat keeps
 * it in a per-user file): by default the rows are the counters that moved
 * since the previous nstat request (or since `up` started), and the history
 * moves to now; `absolute` gives the values since start instead (still moving
 * the history, as nstat -a does); `reset` forgets the history first (so the
 * rows are absolute too); `noUpdate` leaves the history where it was
 * (nstat -s). Each row is [name, value, rate]: the rate is per second, of
 * the increment since the history was last moved (over the time since then;
 * 0 when no time passed), whatever the value column holds: iproute2's nstat
 * shows the rate its daemon (nstat -d) keeps, an average over its scans, and
 * 0.0 without one; this process keeps the history itself, so the rate is the
 * average over the span the history covers. Rows are those with a value or
 * a rate (all with `zeros`, nstat -z), in the order of /counters and of the
 * exit summary: the Linux counters, the drop reasons (`drop REASON`), the
 * impairment and Io* counters.
 */
import type { ListenerInfo, TcpInfo } from '../../stack/socket/types.ts';

export interface ControlTarget {
  /** What `info` reports besides the pid: the ready line's fields. */
  info(): Record<string, string>;
  connections(): TcpInfo[];
  listeners(): ListenerInfo[];
  /**
   * Counters, absolute (since start), in nstat order; zeros may be left out
   * (a counter that went back to zero, a gauge such as TcpCurrEstab, then
   * shows no decrease).
   */
  counters(): Array<[string, number]>;
  /** `ss -K`: aborts the matching sockets (tcp_abort); returns how many. */
  destroy(filter: KillFilter): number;
}

/**
 * What `kill` destroys (tcp_abort, as SOCK_DESTROY): the connections and
 * TIME_WAIT minisocks on the local port, from the peer's address and port
 * when given; with `listener`, the listeners on the local port instead (of
 * that local address, '0.0.0.0' or '::' for the wildcard, and family).
 */
export interface KillFilter {
  localPort: number;
  remoteAddress?: string;
  remotePort?: number;
  listener?: boolean;
  localAddress?: string;
  family?: 4 | 6;
}

export type ControlRequest =
  | { cmd: 'info' }
  | { cmd: 'ss' }
  | ({ cmd: 'kill' } & KillFilter)
  | { cmd: 'nstat'; absolute?: boolean; reset?: boolean; noUpdate?: boolean; zeros?: boolean };

export type ControlResponse =
  | { ok: true; pid: number; fields: Record<string, string>; uptime: number }
  | { ok: true; connections: TcpInfo[]; listeners: ListenerInfo[] }
  | { ok: true; rows: Array<[string, number, number]>; interval: number }
  | { ok: true; killed: number }
  | { ok: false; error: string };

export const COMMANDS = ['info', 'ss', 'kill', 'nstat'] as const;

/** Longest request line a server accepts. */
export const MAX_REQUEST = 64 * 1024;

export class ControlHandler {
  /** nstat's history: counter values at the last update (missing = 0, i.e. since start). */
  private history = new Map<string, number>();
  private historyAt: number;
  private readonly started: number;

  /** `now` in ms (any monotonic clock). */
  constructor(
    private readonly target: ControlTarget,
    private readonly now: () => number = () => performance.now(),
    private readonly pid = process.pid,
  ) {
    this.started = this.historyAt = now();
  }

  /** One request line in, one response line out (no newline). */
  handleLine(line: string): string {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return JSON.stringify({ ok: false, error: 'bad request: not JSON' } satisfies ControlResponse);
    }
    return JSON.stringify(this.handle(request));
  }

  handle(request: unknown): ControlResponse {
    if (typeof request !== 'object' || request === null || typeof (request as { cmd?: unknown }).cmd !== 'string') {
      return { ok: false, error: 'bad request: expected {"cmd": ...}' };
    }
    const r = request as ControlRequest;
    try {
      switch (r.cmd) {
        case 'info':
          return { ok: true, pid: this.pid, fields: this.target.info(), uptime: (this.now() - this.started) / 1000 };
        case 'ss':
          return { ok: true, connections: this.target.connections(), listeners: this.target.listeners() };
        case 'kill':
          return this.kill(r);
        case 'nstat':
          return this.nstat(r);
        default:
          return { ok: false, error: `unknown command ${JSON.stringify((r as { cmd: string }).cmd)} (known: ${COMMANDS.join(', ')})` };
      }
    } catch (error) {
      return { ok: false, error: `internal error: ${(error as Error).message}` };
    }
  }

  private kill(r: KillFilter): ControlResponse {
    const port = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 65535;
    if (!port(r.localPort)) return { ok: false, error: 'bad request: kill needs localPort (1..65535)' };
    if (r.remotePort !== undefined && !port(r.remotePort)) return { ok: false, error: 'bad request: remotePort must be 1..65535' };
    if (r.remoteAddress !== undefined && typeof r.remoteAddress !== 'string') return { ok: false, error: 'bad request: remoteAddress must be an address in text' };
    if (r.localAddress !== undefined && typeof r.localAddress !== 'string') return { ok: false, error: 'bad request: localAddress must be an address in text' };
    if (r.listener !== undefined && typeof r.listener !== 'boolean') return { ok: false, error: 'bad request: listener must be true or false' };
    if (r.family !== undefined && r.family !== 4 && r.family !== 6) return { ok: false, error: 'bad request: family must be 4 or 6' };
    if (r.listener && (r.remoteAddress !== undefined || r.remotePort !== undefined)) return { ok: false, error: 'bad request: a listener has no peer (remoteAddress, remotePort)' };
    const filter: KillFilter = { localPort: r.localPort };
    if (r.remoteAddress !== undefined) filter.remoteAddress = r.remoteAddress;
    if (r.remotePort !== undefined) filter.remotePort = r.remotePort;
    if (r.listener) filter.listener = true;
    if (r.localAddress !== undefined) filter.localAddress = r.localAddress;
    if (r.family !== undefined) filter.family = r.family;
    return { ok: true, killed: this.target.destroy(filter) };
  }

  private nstat(r: { absolute?: boolean; reset?: boolean; noUpdate?: boolean; zeros?: boolean }): ControlResponse {
    const now = this.now();
    if (r.reset) {
      this.history = new Map();
      this.historyAt = this.started;
    }
    const current = this.target.counters();
    // The increments' span: since the history was last moved (since start after a reset).
    const span = (now - this.historyAt) / 1000;
    const interval = r.absolute ? (now - this.started) / 1000 : span;
    const rows: Array<[string, number, number]> = [];
    for (const [name, value] of current) {
      const increment = value - (this.history.get(name) ?? 0);
      const rate = span > 0 ? increment / span : 0;
      const v = r.absolute ? value : increment;
      // dump_kern_db / dump_incr_db: a row with neither a value nor a rate only with -z.
      if (v !== 0 || rate !== 0 || r.zeros) rows.push([name, v, rate]);
    }
    if (!r.noUpdate) {
      this.history = new Map(current);
      this.historyAt = now;
    }
    return { ok: true, rows, interval };
  }
}
