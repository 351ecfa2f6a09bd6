/**
 * `tcpstack up`: the stack on a TUN device, with its TCP services, until
 * SIGINT/SIGTERM. SIGUSR1 crashes the host and restarts its services,
 * SIGUSR2 freezes and unfreezes the applications (cli/services/host.ts).
 */
import { existsSync } from 'node:fs';
import { formatCounters } from '../stack/counters.ts';
import { formatIpv4 } from '../stack/wire/addr.ts';
import { formatSs } from './ss.ts';
import { SocketError } from '../stack/socket/types.ts';
import { parseCommandLine } from './args.ts';
import { DEFAULT_ADDR, DEVICE_HELP, DEVICE_OPTIONS, bringUp, deviceConfig, type DeviceConfig, type RunningDevice } from './device.ts';
import { checkDistinctFiles, checkOutputFile } from './output-file.ts';
import { ServiceHost } from './services/host.ts';
import { nonzeroCounters, type CountersView } from './services/http.ts';
import { DEFAULT_SERVICES, LAB_GROUP, LAB_SERVICES_HELP, SERVICES_HELP, formatServices, parseServices, type ServiceChoice } from './services/index.ts';
import { invokedAs } from './program.ts';
import { FatalError, UsageError } from './usage.ts';
import { ControlServer } from './ctl/server.ts';
import { ControlHandler, type ControlTarget } from './ctl/protocol.ts';
import { runDir, socketPathFor } from './ctl/paths.ts';
import { ControlPathError, socketAnswers, staticSocketPathProblem } from './ctl/socket-path.ts';
import { parseTraceFilter, type TimelineFilter } from './timeline/filter.ts';
import { installLiveTrace } from './timeline/live.ts';
import { describeForgotten } from './timeline/format.ts';
import { interruptedBy, watchStopSignals } from './stop-signals.ts';
import { formatPauses, observeGcPauses } from './gc-pauses.ts';
import { ioRows } from './io-counters.ts';

export { DEFAULT_ADDR, DEFAULT_MTU, DEFAULT_PEER, DEFAULT_TUN } from './device.ts';

export const UP_HELP = `usage: tcpstack up [options]

Runs the stack on a TUN device until SIGINT, SIGTERM or SIGHUP, then prints
the connections at that moment, the counters that moved and the process's
garbage-collection pauses since it was ready, and removes what it created.
Prints one line starting with "ready" once packets flow.

${DEVICE_HELP}
services:
  --services LIST       the TCP services to run: NAME[:PORT],... or "none"
                        (default: the six standard ones, on their usual ports)
${SERVICES_HELP.map((line) => `                          ${line}`).join('\n')}
                        lab services, only when named ("${LAB_GROUP}" = all five):
${LAB_SERVICES_HELP.map((line) => `                          ${line}`).join('\n')}
introspection (while it runs):
  --trace [FILTER]      print a timeline of what the stack does, one line per
                        event: segments in (<) and out (>), state changes,
                        timers, RSTs with the path and Linux's reason, errors,
                        drops. FILTER (optional): a comma-separated list of
                        kinds (seg, state, timer, rst, challenge, error, drop,
                        icmp, reasm, internal, crash, ca; cc and arm, the
                        state after each ACK and each timer armed, only when
                        named) and connections (a port, or
                        LOCALPORT-REMOTEPORT), e.g. --trace 7,seg,rst
  --trace-file FILE     record every event to FILE, one JSON object a line
                        (print it later: tcpstack timeline FILE); its
                        directory must exist and FILE must not
  --ctl PATH            the control socket for 'tcpstack ss' and 'tcpstack
                        nstat' ("none" for no socket; default RUN_DIR/PID.sock,
                        RUN_DIR being /run/tcpstack for root, else
                        $TMPDIR/tcpstack-UID, or $TCPSTACK_RUN_DIR; made if
                        missing). The ready line shows it as ctl=PATH; it is
                        removed at exit. PATH's directory must exist and PATH
                        hold at most 107 bytes; what is at PATH is replaced
                        only if it is a stale socket (nobody answers on it):
                        a file that is not a socket or the socket of a running
                        up is refused
  -h, --help            show this help

signals to the tcpstack PID:
  SIGINT, SIGTERM, SIGHUP
                        stop: print the connections and counters, remove the
                        device, the namespace it created and the socket
  SIGUSR1               crash and restart the host: the stack forgets every
                        connection, listener and TIME_WAIT without a segment
                        (peers get RSTs later), then the services start again
  SIGUSR2               freeze the applications (no accept, read, write or
                        close; the stack keeps ACKing and its timers run) or,
                        sent again, unfreeze them

Defaults come from 198.18.0.0/15 (RFC 2544, reserved for benchmarking), so they
are unlikely to collide with a LAN. Example, from two shells:
  tcpstack up --netns lab
  ip netns exec lab ping ${DEFAULT_ADDR}
  ip netns exec lab telnet ${DEFAULT_ADDR} 23`;

export interface UpConfig extends DeviceConfig {
  services: ServiceChoice[];
  /** Print the timeline of the events this filter lets through (--trace). */
  trace: TimelineFilter | undefined;
  traceFile: string | undefined;
  /** The control socket's path, 'none', or undefined for the default. */
  ctl: string | undefined;
}

/**
 * `--trace` takes an optional FILTER: `--trace`, `--trace FILTER` and
 * `--trace=FILTER` become `--trace=FILTER` ('' for all) for parseArgs. A word
 * after `--trace` is its filter unless it starts with '-' (up takes no
 * positional arguments, so nothing else could be meant).
 */
function normaliseTrace(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a !== '--trace') {
      out.push(a);
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('-')) {
      out.push(`--trace=${next}`);
      i++;
    } else {
      out.push('--trace=');
    }
  }
  return out;
}

const UP_OPTIONS = { ...DEVICE_OPTIONS, services: { type: 'string' }, trace: { type: 'string' }, 'trace-file': { type: 'string' }, ctl: { type: 'string' } } as const;

/**
 * Parses and checks up's options, before anything is created: the files it
 * would write (--pcap, --trace-file) and the control socket's path, which
 * must be free or a stale socket (one nobody answers on).
 */
export async function parseUpArgs(argv: string[]): Promise<UpConfig> {
  const { values } = parseCommandLine({ command: 'up', options: UP_OPTIONS, positionals: false, help: UP_HELP }, normaliseTrace(argv));
  const device = deviceConfig(values);
  const services = values.services === undefined ? [...DEFAULT_SERVICES] : parseServices(values.services);
  const trace = values.trace === undefined ? undefined : parseTraceFilter(values.trace);
  if (values['trace-file'] !== undefined) checkOutputFile('--trace-file', values['trace-file']);
  if (values.ctl !== undefined) await checkControlOption(values.ctl);
  checkDistinctFiles([
    ['--pcap', values.pcap],
    ['--trace-file', values['trace-file']],
    ['--ctl', values.ctl],
  ]);
  return { ...device, services, trace, traceFile: values['trace-file'], ctl: values.ctl };
}

/** --ctl PATH: refused (exit 2) unless it can be taken without harming what is there. */
async function checkControlOption(path: string): Promise<void> {
  if (path === '') throw new UsageError('--ctl needs a path (or "none")');
  if (path === 'none') return;
  const problem = staticSocketPathProblem(path);
  if (problem !== undefined) throw new UsageError(`--ctl ${path}: ${problem}`);
  if (existsSync(path) && (await socketAnswers(path))) throw new UsageError(`--ctl ${path}: a live socket: another tcpstack up (or another program) answers on it`);
}

/**
 * Exits 0 when stopped by a signal, at whatever point of start-up it came:
 * SIGINT/SIGTERM/SIGHUP is how `up` is meant to end.
 */
export async function runUp(argv: string[]): Promise<number> {
  // Before anything is created: a stop signal from here on leads to the teardown.
  const stop = watchStopSignals();
  const config = await parseUpArgs(argv);
  let up: RunningDevice;
  try {
    up = bringUp(config);
  } catch (error) {
    const signal = interruptedBy(error);
    if (signal === undefined) throw error;
    // bringUp removed what it had made.
    console.log(`stopped by ${signal} during start-up; nothing was left behind`);
    return 0;
  }
  // The reader of stdout went away (EPIPE): nothing more can be said there. Tear
  // down and end with one line, as a C tool would end on SIGPIPE, not with
  // Node's unhandled 'error' event.
  process.stdout.once('error', (error: NodeJS.ErrnoException) => {
    up.cleanup();
    process.stderr.write(`tcpstack: stdout: ${error.code ?? error.message}; stopped\n`);
    process.exit(1);
  });
  try {
    const { stack } = up;
    if (config.trace !== undefined || config.traceFile !== undefined) {
      const live = installLiveTrace(stack, { print: config.trace, file: config.traceFile });
      // Registered before the services: their closing segments are traced, then the trace ends.
      up.onCleanup(() => live.close());
    }

    const impairment = up.impairment;
    // The services see the impairment counters too (the http service's /counters).
    // And the Io* rows (io-counters.ts): system calls and user-space copies.
    const view: CountersView = {
      counters: stack.counters,
      drops: stack.drops,
      extraCounters: () => [...(impairment ? impairment.counters.rows() : []), ...ioRows(stack)],
      // Both of the stack's addresses, for the status page.
      ownAddresses: [formatIpv4(stack.address), ...(stack.address6 === undefined ? [] : [stack.addresses.format(stack.address6)])],
    };
    let host: ServiceHost;
    try {
      host = new ServiceHost(config.services, stack.tcp, view);
      // Closing sends FINs/RSTs: flush them before the device goes.
      up.onCleanup(() => {
        host.close();
        stack.flush();
      });
    } catch (error) {
      if (error instanceof SocketError) throw new FatalError(`--services: cannot listen: ${error.code}`);
      throw error;
    }
    const services = formatServices(config.services);
    const faults = hostFaults(host, services);
    up.onCleanup(faults.remove);

    const ctl = await startControl(config.ctl, {
      info: () => Object.fromEntries([...up.fields, `services=${services}`].map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)])),
      connections: () => stack.tcp.connections(),
      listeners: () => stack.tcp.listeners(),
      counters: () => nonzeroCounters(view),
      destroy: (f) => stack.tcp.destroy({ localPort: f.localPort, remotePort: f.remotePort, remoteAddress: f.remoteAddress }),
    });
    if (ctl !== undefined) up.onCleanup(() => ctl.close());

    // A signal during start-up: no ready line, straight to the teardown.
    if (stop.received === undefined) {
      if (up.impairSummary !== undefined) console.log(`impairments: ${up.impairSummary} (--seed ${impairment!.seed} repeats them)`);
      console.log(`ready ${[...up.fields, `services=${services}`, ...(ctl ? [`ctl=${ctl.path}`] : [])].join(' ')}`);
    }

    const gc = observeGcPauses();
    const signal = await stop.stopped;
    const pauses = gc.stop();
    faults.remove();
    const listing = formatSs(stack.tcp.connections(), stack.tcp.listeners());
    up.cleanup();
    console.log(`stopped by ${signal}; connections at that moment (ss -ti):`);
    console.log(listing);
    // The rows of `tcpstack nstat -a` (and of /counters), the impairments in a section of their own.
    console.log('counters that moved:');
    const moved = [...nonzeroCounters({ counters: stack.counters, drops: stack.drops }), ...ioRows(stack)];
    if (moved.length > 0) console.log(formatCounters(moved));
    if (impairment !== undefined) {
      console.log(`impairments (seed ${impairment.seed}):`);
      console.log(formatCounters(impairment.counters.rows(true).filter(([name, v]) => v !== 0 || name === 'ImpairPackets')));
    }
    console.log(formatPauses(pauses));
    return 0;
  } catch (error) {
    up.cleanup();
    throw error;
  }
}

/**
 * The control socket: at --ctl PATH (failure is fatal there; a path refused
 * is misuse, exit 2), by default at RUN_DIR/PID.sock, creating RUN_DIR if
 * needed (failure is a warning: `up` runs on without one).
 */
async function startControl(option: string | undefined, target: ControlTarget): Promise<ControlServer | undefined> {
  if (option === 'none') return undefined;
  const path = option ?? socketPathFor(process.pid, runDir());
  try {
    return await ControlServer.listen(path, new ControlHandler(target), { createDirectory: option === undefined });
  } catch (error) {
    const why = `${path}: ${error instanceof ControlPathError ? error.message : ((error as NodeJS.ErrnoException).code ?? (error as Error).message)}`;
    if (option !== undefined) throw error instanceof ControlPathError ? new UsageError(`--ctl ${why}`) : new FatalError(`--ctl ${why}`);
    console.error(`tcpstack: warning: no control socket (${why}); ${invokedAs()} ss/nstat will not reach this up`);
    return undefined;
  }
}

/**
 * SIGUSR1 and SIGUSR2 on a running `up`, one line each on stdout:
 *   tcpstack: SIGUSR1: host crashed and restarted, 3 connections and 1 TIME_WAIT forgotten, services=echo:7,...
 *   tcpstack: SIGUSR2: applications frozen (the stack keeps running)
 *   tcpstack: SIGUSR2: applications unfrozen (4 deferred events and calls resumed)
 */
function hostFaults(host: ServiceHost, services: string): { remove: () => void } {
  const crash = (): void => {
    try {
      const { forgotten, wasFrozen } = host.crashAndRestart();
      const thawed = wasFrozen ? ' (the frozen applications died with it; the new ones run)' : '';
      console.log(`tcpstack: SIGUSR1: host crashed and restarted, ${describeForgotten(forgotten)}, services=${services}${thawed}`);
    } catch (error) {
      const reason = error instanceof SocketError ? error.code : (error as Error).message;
      console.error(`tcpstack: SIGUSR1: host crashed; the services could not restart: ${reason}`);
    }
  };
  const toggle = (): void => {
    if (host.frozen) {
      const resumed = host.unfreeze();
      console.log(`tcpstack: SIGUSR2: applications unfrozen (${resumed} deferred events and calls resumed)`);
    } else {
      host.freeze();
      console.log('tcpstack: SIGUSR2: applications frozen (the stack keeps running)');
    }
  };
  process.on('SIGUSR1', crash);
  process.on('SIGUSR2', toggle);
  return {
    remove() {
      process.off('SIGUSR1', crash);
      process.off('SIGUSR2', toggle);
    },
  };
}
