/**
 * The control socket of a running command, `up` or `connect` (--ctl): where
 * it goes (--ctl PATH, "none", or RUN_DIR/PID.sock), the check of a --ctl
 * PATH before anything is created, and what it answers with: the stack's
 * connections, listeners and counters, and ss -K.
 */
import { existsSync } from 'node:fs';
import type { Stack } from '../../stack/stack.ts';
import type { RunningDevice } from '../device.ts';
import { ioRows } from '../io-counters.ts';
import { invokedAs } from '../program.ts';
import type { CountersView } from '../services/http.ts';
import { COUNTER_NAMES } from '../../stack/counters.ts';
import { DROP_REASONS } from '../../stack/drop.ts';
import { FatalError, UsageError } from '../usage.ts';
import { runDir, socketPathFor } from './paths.ts';
import { ControlHandler, type ControlTarget } from './protocol.ts';
import { ControlServer } from './server.ts';
import { ControlPathError, socketAnswers, staticSocketPathProblem } from './socket-path.ts';

export const CTL_OPTIONS = { ctl: { type: 'string' } } as const;

/** The help entry of --ctl; `shownAs`: where the command shows the path it took. */
export function ctlHelp(shownAs: string): string {
  return `  --ctl PATH            the control socket for 'tcpstack ss' and 'tcpstack
                        nstat' ("none" for no socket; default RUN_DIR/PID.sock,
                        RUN_DIR being /run/tcpstack for root, else
                        $TMPDIR/tcpstack-UID, or $TCPSTACK_RUN_DIR; made if
                        missing). ${shownAs}; it is
                        removed at exit. PATH's directory must exist and PATH
                        hold at most 107 bytes; what is at PATH is replaced
                        only if it is a stale socket (nobody answers on it):
                        a file that is not a socket or the socket of a running
                        up is refused`;
}

/** --ctl PATH: refused (exit 2) unless it can be taken without harming what is there. */
export async function checkControlOption(path: string): Promise<void> {
  if (path === '') throw new UsageError('--ctl needs a path (or "none")');
  if (path === 'none') return;
  const problem = staticSocketPathProblem(path);
  if (problem !== undefined) throw new UsageError(`--ctl ${path}: ${problem}`);
  if (existsSync(path) && (await socketAnswers(path))) throw new UsageError(`--ctl ${path}: a live socket: another tcpstack up (or another program) answers on it`);
}

/**
 * The counters a running device reports (nstat, the status page): the
 * stack's, then the impairments' and the Io* rows of cli/io-counters.ts.
 */
export function deviceCountersView(up: RunningDevice): CountersView {
  const { stack, impairment } = up;
  return {
    counters: stack.counters,
    drops: stack.drops,
    extraCounters: () => [...(impairment ? impairment.counters.rows() : []), ...ioRows(stack)],
  };
}

/**
 * Every row nstat can show, zeros included (nstat -z, and a gauge such as
 * TcpCurrEstab back at zero is a decrease): the Linux counters, the drop
 * reasons, then the extra rows (nonzero ones), in the order of /counters.
 */
export function counterRows(view: CountersView): Array<[string, number]> {
  const rows: Array<[string, number]> = COUNTER_NAMES.map((n) => [n, view.counters[n]]);
  if (view.drops) for (const r of DROP_REASONS) rows.push([`drop ${r}`, view.drops[r]]);
  if (view.extraCounters) rows.push(...view.extraCounters());
  return rows;
}

/** What the control socket answers about `stack`; `info`: the fields of `info` besides the pid. */
export function stackTarget(stack: Stack, view: CountersView, info: () => Record<string, string>): ControlTarget {
  return {
    info,
    connections: () => stack.tcp.connections(),
    listeners: () => stack.tcp.listeners(),
    counters: () => counterRows(view),
    destroy: (f) => stack.tcp.destroy(f),
  };
}

/** `key=value` fields (a ready line's) as the object `info` answers with. */
export function fieldsObject(fields: readonly string[]): Record<string, string> {
  return Object.fromEntries(fields.map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)]));
}

/**
 * The control socket: at --ctl PATH (failure is fatal there; a path refused
 * is misuse, exit 2), by default at RUN_DIR/PID.sock, creating RUN_DIR if
 * needed (failure is a warning: the command runs on without one). Closed at
 * `up`'s teardown.
 */
export async function startControl(up: RunningDevice, option: string | undefined, target: ControlTarget): Promise<ControlServer | undefined> {
  if (option === 'none') return undefined;
  const path = option ?? socketPathFor(process.pid, runDir());
  let server: ControlServer;
  try {
    server = await ControlServer.listen(path, new ControlHandler(target), { createDirectory: option === undefined });
  } catch (error) {
    const why = `${path}: ${error instanceof ControlPathError ? error.message : ((error as NodeJS.ErrnoException).code ?? (error as Error).message)}`;
    if (option !== undefined) throw error instanceof ControlPathError ? new UsageError(`--ctl ${why}`) : new FatalError(`--ctl ${why}`);
    console.error(`tcpstack: warning: no control socket (${why}); ${invokedAs()} ss/nstat will not reach this process`);
    return undefined;
  }
  up.onCleanup(() => server.close());
  return server;
}
