/**
 * `tcpstack connect HOST PORT`: like `nc HOST PORT`, with our stack as the
 * client on its own TUN device. stdin goes to the connection and the
 * connection to stdout, with backpressure both ways; the end of stdin is a
 * half-close (our FIN); the command exits 0 once both directions are done.
 */
import { formatCounters } from '../stack/counters.ts';
import { TcpSocket } from '../tun/node/socket.ts';
import { parseIpv4 } from '../stack/wire/addr.ts';
import { parseIpv6 } from '../stack/wire/addr6.ts';
import { parseCommandLine } from './args.ts';
import { DEVICE_HELP, DEVICE_OPTIONS, bringUp, deviceConfig, type DeviceConfig, type RunningDevice } from './device.ts';
import { invokedAs } from './program.ts';
import { nonzeroCounters } from './services/http.ts';
import { ssEndpoint } from './ss.ts';
import { checkDistinctFiles } from './output-file.ts';
import { TRACE_OPTIONS, normaliseTrace, parseTraceOptions, startTrace, traceHelp, type TraceConfig } from './timeline/options.ts';
import { CTL_OPTIONS, checkControlOption, ctlHelp, deviceCountersView, fieldsObject, stackTarget, startControl } from './ctl/start.ts';
import { UsageError, parseInteger } from './usage.ts';
import { SIGNAL_NUMBERS, interruptedBy, watchStopSignals, type StopSignals } from './stop-signals.ts';

export const CONNECT_HELP = `usage: tcpstack connect [options] HOST PORT

Brings the stack up on its own TUN device and opens a TCP connection from it
to HOST:PORT (for example a server the kernel runs on the other side of the
device), like 'nc HOST PORT': stdin is sent, what arrives is written to
stdout. The end of stdin half-closes the connection (FIN); tcpstack exits 0
once the peer has closed its side too, 1 with one line such as
"tcpstack: connect: ECONNREFUSED" if the connection fails.

  HOST                  an IPv4 or IPv6 address (no name lookup), e.g. the
                        kernel's end 198.18.0.1 or 2001:2::1; the stack's
                        own --addr or --addr6 is answered by the stack
                        itself (no listener here: ECONNREFUSED at once, as
                        Linux answers over lo)
  PORT                  1-65535
  -v, --verbose         say on stderr when the connection is open, and
                        from which address and port (and, with impairments,
                        what they did, at exit)
  --counters            at exit, print on stderr the stack's counters that
                        moved (and the impairments'), as 'up' does: nstat's
                        layout, e.g. TcpRetransSegs for a bulk send

introspection (while it runs), as up's:
${traceHelp({ joined: true, where: 'on stderr (stdout carries the data)' })}
${ctlHelp("With -v, stderr shows it as ctl=PATH")}

${DEVICE_HELP}
  -h, --help            show this help

Example, from two shells (a kernel server in namespace lab, then the stack):
  ip netns add lab && ip netns exec lab nc -l 7000
  echo hello | tcpstack connect --netns lab 198.18.0.1 7000
(over IPv6: nc -6 -l 7000, then tcpstack connect --netns lab 2001:2::1 7000)`;

export interface ConnectConfig {
  device: DeviceConfig;
  host: string;
  port: number;
  verbose: boolean;
  counters: boolean;
  /** --trace, --trace-time, --trace-file. */
  trace: TraceConfig;
  /** The control socket's path, 'none', or undefined for the default. */
  ctl: string | undefined;
}

const CONNECT_OPTIONS = { ...DEVICE_OPTIONS, verbose: { type: 'boolean', short: 'v' }, counters: { type: 'boolean' }, ...TRACE_OPTIONS, ...CTL_OPTIONS } as const;

export async function parseConnectArgs(argv: string[]): Promise<ConnectConfig> {
  const { values, positionals } = parseCommandLine({ command: 'connect', options: CONNECT_OPTIONS, positionals: true, help: CONNECT_HELP }, normaliseTrace(argv, false));
  if (positionals.length !== 2) {
    // `--trace 7 HOST PORT`: connect's FILTER comes only after '=' (a port would be ambiguous).
    const hint = positionals.length > 2 && argv.includes('--trace') ? ' (a --trace filter is written --trace=FILTER)' : '';
    throw new UsageError(
      positionals.length < 2
        ? `connect needs HOST and PORT (try: ${invokedAs()} connect --help)`
        : `connect takes HOST and PORT only, got ${positionals.length} arguments: ${positionals.map((p) => JSON.stringify(p)).join(' ')}${hint}`,
    );
  }
  const [host, portText] = positionals as [string, string];
  const ipv6 = parseIpv4(host) === undefined;
  if (ipv6 && parseIpv6(host) === undefined) throw new UsageError(`HOST ${JSON.stringify(host)} is not an IPv4 or IPv6 address (no name lookup)`);
  const port = parseInteger('PORT', portText, 1, 65535);
  const device = deviceConfig(values);
  if (ipv6 && device.addr6 === undefined) throw new UsageError(`HOST ${host} is an IPv6 address, and --addr6 none leaves the stack without one`);
  const trace = parseTraceOptions(values);
  if (values.ctl !== undefined) await checkControlOption(values.ctl);
  checkDistinctFiles([
    ['--pcap', values.pcap],
    ['--trace-file', trace.file],
    ['--ctl', values.ctl],
  ]);
  return { device, host, port, verbose: Boolean(values.verbose), counters: Boolean(values.counters), trace, ctl: values.ctl };
}

/** Exits 128 + the signal's number when stopped by SIGINT, SIGTERM or SIGHUP, as a shell reports a killed command. */
export async function runConnect(argv: string[]): Promise<number> {
  // Before anything is created: a stop signal from here on leads to the teardown.
  const stop = watchStopSignals();
  const config = await parseConnectArgs(argv);
  let up: RunningDevice;
  try {
    up = bringUp(config.device);
  } catch (error) {
    // A stop signal that killed an `ip` of start-up (stop-signals.ts interruptedBy): bringUp removed what it had made.
    const signal = interruptedBy(error);
    if (signal === undefined) throw error;
    return 128 + SIGNAL_NUMBERS[signal];
  }
  // stdout carries the connection's data, so the seed goes to stderr.
  if (up.impairSummary !== undefined) process.stderr.write(`tcpstack: impairments: ${up.impairSummary} (--seed ${up.impairment!.seed} repeats them)\n`);
  try {
    // Registered first: the connection's last segments are traced, then the trace ends.
    // stdout carries the connection's data, so the timeline goes to stderr.
    startTrace(up, config.trace, (text) => process.stderr.write(text));
    const ctl = await startControl(up, config.ctl, stackTarget(up.stack, deviceCountersView(up), () => fieldsObject([...up.fields, `to=${ssEndpoint(config.host, config.port)}`])));
    if (config.verbose && ctl !== undefined) process.stderr.write(`tcpstack: ctl=${ctl.path}\n`);
    // Stopped during start-up: no connection is attempted.
    if (stop.received !== undefined) return 128 + SIGNAL_NUMBERS[stop.received];
    return await transfer(TcpSocket.connect(up.stack.tcp, { host: config.host, port: config.port, allowHalfOpen: true }), config.verbose, stop);
  } finally {
    up.stack.flush();
    up.cleanup();
    if (config.verbose && up.impairment !== undefined) {
      process.stderr.write(`tcpstack: impairments: ${up.impairment.counters.rows().map(([name, v]) => `${name} ${v}`).join(', ')}\n`);
    }
    // stdout carries the connection's data, so the counters go to stderr, in up's exit layout.
    if (config.counters) {
      const moved = nonzeroCounters({ counters: up.stack.counters, drops: up.stack.drops });
      process.stderr.write(`counters that moved:\n${moved.length > 0 ? `${formatCounters(moved)}\n` : ''}`);
      if (up.impairment !== undefined) {
        const rows = up.impairment.counters.rows(true).filter(([name, v]) => v !== 0 || name === 'ImpairPackets');
        process.stderr.write(`impairments (seed ${up.impairment.seed}):\n${formatCounters(rows)}\n`);
      }
    }
  }
}

/** Copies stdin → socket and socket → stdout until both directions are done. */
function transfer(socket: TcpSocket, verbose: boolean, stop: StopSignals): Promise<number> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  return new Promise<number>((resolve) => {
    let status: number | undefined;
    const fail = (message: string, code = 1): void => {
      if (status !== undefined) return;
      status = code;
      if (message) process.stderr.write(`tcpstack: connect: ${message}\n`);
      socket.destroy();
    };

    socket.on('connect', () => {
      if (verbose) {
        process.stderr.write(`tcpstack: connected ${ssEndpoint(socket.localAddress!, socket.localPort!)} -> ${ssEndpoint(socket.remoteAddress!, socket.remotePort!)}\n`);
      }
      // pipe() pauses stdin while the socket's buffer is full, and end()s the socket
      // (shutdown write: our FIN) when stdin ends.
      stdin.pipe(socket);
    });
    // No end for stdout: pipe() never ends process.stdout; it is drained before exit.
    socket.pipe(stdout);
    socket.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
    stdin.on('error', (error: NodeJS.ErrnoException) => fail(`stdin: ${error.code ?? error.message}`));
    stdout.on('error', (error: NodeJS.ErrnoException) => fail(`stdout: ${error.code ?? error.message}`));
    stop.onStop((signal) => fail('', 128 + SIGNAL_NUMBERS[signal]));

    socket.on('close', () => {
      stdin.unpipe(socket);
      stdin.destroy(); // nothing more is read (a terminal would otherwise keep the process alive)
      let resolved = false;
      const done = (): void => {
        if (resolved) return;
        resolved = true;
        resolve(status ?? 0);
      };
      // What the connection delivered is written out before exiting (unless stdout is broken).
      if (stdout.writableNeedDrain && !stdout.destroyed) {
        stdout.once('drain', done);
        stdout.once('error', done);
        stdout.once('close', done);
      } else {
        done();
      }
    });
  });
}
