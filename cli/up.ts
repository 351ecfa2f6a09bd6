/**
 * `tcpstack up`: the stack on a TUN device, with its TCP services, until
 * SIGINT/SIGTERM. SIGUSR1 crashes the host and restarts its services,
 * SIGUSR2 freezes and unfreezes the applications (cli/services/host.ts).
 */
import { formatCounters } from '../stack/counters.ts';
import { formatIpv4 } from '../stack/wire/addr.ts';
import { formatSs } from './ss.ts';
import { SocketError } from '../stack/socket/types.ts';
import { parseCommandLine } from './args.ts';
import { DEFAULT_ADDR, DEVICE_HELP, DEVICE_OPTIONS, bringUp, deviceConfig, type DeviceConfig, type RunningDevice } from './device.ts';
import { ServiceHost } from './services/host.ts';
import { nonzeroCounters, type CountersView } from './services/http.ts';
import { DEFAULT_SERVICES, LAB_GROUP, LAB_SERVICES_HELP, SERVICES_HELP, formatServices, parseServices, type ServiceChoice } from './services/index.ts';
import { FatalError } from './usage.ts';
import { describeForgotten } from './timeline/format.ts';
import { TRACE_OPTIONS, normaliseTrace, parseTraceOptions, startTrace, traceHelp, type TraceConfig } from './timeline/options.ts';
import { CTL_OPTIONS, checkControlOption, ctlHelp, deviceCountersView, fieldsObject, stackTarget, startControl } from './ctl/start.ts';
import { checkDistinctFiles } from './output-file.ts';
import { interruptedBy, watchStopSignals } from './stop-signals.ts';
import { formatPauses, observeGcPauses } from './gc-pauses.ts';
import { ioRows } from './io-counters.ts';
import { invokedAs } from './program.ts';
import { appliedSysctls, shellLine } from './services/status/run-info.ts';

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
${traceHelp({ joined: false, where: 'on stdout' })}
${ctlHelp('The ready line shows it as ctl=PATH')}
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
  /** --trace, --trace-time, --trace-file. */
  trace: TraceConfig;
  /** The control socket's path, 'none', or undefined for the default. */
  ctl: string | undefined;
}

const UP_OPTIONS = { ...DEVICE_OPTIONS, services: { type: 'string' }, ...TRACE_OPTIONS, ...CTL_OPTIONS } as const;

/**
 * Parses and checks up's options, before anything is created: the files it
 * would write (--pcap, --trace-file) and the control socket's path, which
 * must be free or a stale socket (one nobody answers on).
 */
export async function parseUpArgs(argv: string[]): Promise<UpConfig> {
  const { values } = parseCommandLine({ command: 'up', options: UP_OPTIONS, positionals: false, help: UP_HELP }, normaliseTrace(argv, true));
  const device = deviceConfig(values);
  const services = values.services === undefined ? [...DEFAULT_SERVICES] : parseServices(values.services);
  const trace = parseTraceOptions(values);
  if (values.ctl !== undefined) await checkControlOption(values.ctl);
  checkDistinctFiles([
    ['--pcap', values.pcap],
    ['--trace-file', trace.file],
    ['--ctl', values.ctl],
  ]);
  return { ...device, services, trace, ctl: values.ctl };
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
    // Registered before the services: their closing segments are traced, then the trace ends.
    startTrace(up, config.trace);

    const impairment = up.impairment;
    // The services see the impairment counters too (the http service's /counters),
    // and the Io* rows (io-counters.ts): system calls and user-space copies.
    const services = formatServices(config.services);
    const view: CountersView = {
      ...deviceCountersView(up),
      // Both of the stack's addresses, for the status page.
      ownAddresses: [formatIpv4(stack.address), ...(stack.address6 === undefined ? [] : [stack.addresses.format(stack.address6)])],
      // The status page records the trace while it is open, and shows how the run was started.
      traceHost: stack,
      run: {
        command: shellLine([invokedAs(), 'up', ...argv]),
        fields: [...up.fields, `services=${services}`],
        sysctls: appliedSysctls(config.sysctl),
        ...(up.impairSummary === undefined ? {} : { impairments: up.impairSummary, seed: impairment!.seed }),
      },
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
    const faults = hostFaults(host, services);
    up.onCleanup(faults.remove);

    const ctl = await startControl(up, config.ctl, stackTarget(stack, view, () => fieldsObject([...up.fields, `services=${services}`])));

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
