/**
 * Runs a packet script against our stack in virtual time, the way
 * packetdrill runs one against a kernel (run.c, run_packet.c,
 * run_system_call.c), so that a script written for packetdrill gives the
 * same verdict:
 *
 * - Events run in order; relative times count from when the previous event
 *   finished (two inbound packets in a row: from the previous one's script
 *   time); inbound packets and system calls wait for their time, outbound
 *   packets are sniffed at once and their send time is checked against the
 *   script with a tolerance of max(--tolerance_usecs, --tolerance_percent of
 *   the gap since the previous event) (verify_time).
 * - One "socket under test" (socket_under_test): socket() makes the new
 *   socket it; while it is listening, an inbound packet makes a new passive
 *   connection from a fresh remote port; outbound packets of any other
 *   connection are skipped by the sniffer.
 * - Sequence numbers: the script's are relative to each side's ISN, the
 *   live ISNs are learnt from the first outbound SYN or SYN-ACK and the
 *   first inbound packet; an inbound TS ecr must echo an outbound TS val the
 *   script saw (tcp_ts_ecr mapping).
 * - A system call with `...END` may block: the runner attempts it again
 *   each time the stack changes (packets, timers) and checks the time it
 *   returns; a call without `...` that blocks stops the script's clock the
 *   way it stops packetdrill's main thread.
 * - Virtual time: the stack's clock is a VirtualClock moved from one timer
 *   deadline to the next, so a 60 s timer costs nothing.
 * - --ip_version (ip-version.ts): ipv4, ipv4-mapped-ipv6 (AF_INET6 sockets
 *   bound to and connecting to v4-mapped addresses, IPv4 on the wire) or
 *   ipv6 (the stack gets an IPv6 address; packets and ICMP are IPv6's).
 * - Options (options.ts): the script's option lines, then the command
 *   line's, as packetdrill's parse_and_finalize_config applies them.
 * - Shell lines (shell.ts): sysctls applied, nstat checks made against the
 *   stack's counters; `%{ }%` blocks (python.ts): tcp_info taken at their
 *   time, the Python run at the end, as packetdrill's code.c does.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ScriptError, formatCall, type IcmpSpec, type PacketSpec, type Script, type ScriptEvent, type SyscallSpec, type TimeType } from './ast.ts';
import { parseScript, readIpVersion } from './parser.ts';
import {
  clonePacket,
  decodePacket,
  encodePacket,
  findTimestamp,
  formatPacket,
  offsetSackBlocks,
  scriptPacket,
  setTsEcr,
  setTsVal,
  tsEcr,
  tsVal,
  verifyHeaders,
  verifyOptions,
  verifyFlowLabel,
  verifyPayload,
  type PacketView,
} from './packets.ts';
import { pythonProgram, runPython, unsupportedName, type CodeFragment } from './python.ts';
import { DEFAULTS_SH, grepStatus, interpretCommand, nstatOutput, type ShellAction } from './shell.ts';
import { routeMetricsText, type RouteCommand } from './ip-route.ts';
import { procNetTcp } from './proc-net-tcp.ts';
import { scriptFiles } from './files.ts';
import { PACKETDRILL_OPTIONS, applyOption, splitDefinition, type OptionTarget } from './options.ts';
import { ScriptSocket, type SyscallHost } from './sockets.ts';
import { SyscallError, prepareSyscall, s32Value, type Outcome, type Prepared } from './syscalls.ts';
import { SYMBOLS, describeErrno } from './symbols.ts';
import { ScriptAddresses } from './addresses.ts';
import { encodeInboundIcmp } from './icmp-packet.ts';
import { VERSION_DEFAULTS, parseIpVersion, scriptRunsIn, socketFamily, wireFamily, type IpVersion } from './ip-version.ts';
import { VirtualClock } from '../../stack/clock.ts';
import { COUNTER_NAMES, newCounters, snapshotCounters, type Counters } from '../../stack/counters.ts';
import { SeededRandom } from '../../stack/random.ts';
import { Stack } from '../../stack/stack.ts';
import { RX_GSO_SIZE_MASK } from '../../stack/link.ts';
import { defaultSysctls, setSysctl, sysctlKey, type Sysctls } from '../../stack/sysctl.ts';
import { formatIpv4, parseIpv4 } from '../../stack/wire/addr.ts';
import { verifies } from '../../stack/wire/checksum.ts';

// ---------------------------------------------------------------------------
// Configuration (packetdrill's config.c defaults)

/** The options' settings (OptionTarget), the IP version, and the live addresses. */
export interface PktConfig extends OptionTarget {
  ipVersion: IpVersion;
  /** The live addresses (ScriptAddresses numbers), set by finalizing. */
  localIp: number;
  remoteIp: number;
}

export const DEFAULT_LOCAL_IP = VERSION_DEFAULTS.ipv4.localIp;
export const DEFAULT_REMOTE_IP = VERSION_DEFAULTS.ipv4.remoteIp;

export function defaultConfig(): PktConfig {
  return {
    ipVersion: 'ipv4',
    toleranceUsecs: 4000,
    tolerancePercent: 12.5,
    mss: 0,
    mtu: undefined,
    tsTickUsecs: 0,
    localIpText: undefined,
    remoteIpText: undefined,
    localIp: parseIpv4(DEFAULT_LOCAL_IP)!,
    remoteIp: parseIpv4(DEFAULT_REMOTE_IP)!,
    bindPort: 8080,
    connectPort: 8080,
    tsEcrScaled: false,
    strictSegments: false,
  };
}

/**
 * The settings every script starts from: a fresh Linux 6.18 namespace
 * (SYSCTL_DEFAULTS) with packetdrill's defaults.sh applied, as packetdrill's
 * own test suite runs.
 */
export function packetdrillSysctls(): Sysctls {
  const s = defaultSysctls();
  for (const [name, value] of DEFAULTS_SH) if (sysctlKey(name) !== undefined) setSysctl(s, name, value);
  return s;
}

// ---------------------------------------------------------------------------
// Timing (run.c verify_time)

const secs = (us: number): string => (us / 1e6).toFixed(6);
const secs9 = (us: number): string => secs(us).padStart(9);
const signedSecs = (us: number): string => (us >= 0 ? '+' : '') + secs(us);

/**
 * packetdrill's verify_time: `actual` must lie within `tolerance` of the
 * script time (or of the range), where tolerance is the larger of
 * --tolerance_usecs and --tolerance_percent of the gap since the previous
 * event. Returns the error message, or undefined when on time.
 */
export function verifyTime(
  cfg: Pick<PktConfig, 'toleranceUsecs' | 'tolerancePercent'>,
  timeType: TimeType,
  scriptUsecs: number,
  scriptEndUsecs: number | undefined,
  actualUsecs: number,
  lastEventUsecs: number | undefined,
  description: string,
  offsetUsecs = 0,
): string | undefined {
  if (timeType === 'any') return undefined;
  let tolerance = cfg.toleranceUsecs;
  if (lastEventUsecs !== undefined) {
    const dynamic = Math.trunc((cfg.tolerancePercent / 100.0) * (scriptUsecs - lastEventUsecs));
    if (dynamic > tolerance) tolerance = dynamic;
  }
  if (timeType === 'absolute-range' || timeType === 'relative-range') {
    const end = scriptEndUsecs ?? scriptUsecs;
    if (actualUsecs < scriptUsecs - tolerance || actualUsecs > end + tolerance) {
      if (timeType === 'absolute-range') {
        return `timing error: expected ${description} in time range ${secs(scriptUsecs)}~${secs(end)} sec but happened at ${secs(actualUsecs)} sec`;
      }
      return (
        `timing error: expected ${description} in relative time range +${secs(scriptUsecs - offsetUsecs)}~+${secs(end - offsetUsecs)} ` +
        `sec but happened at ${signedSecs(actualUsecs - offsetUsecs)} sec`
      );
    }
    return undefined;
  }
  if (actualUsecs < scriptUsecs - tolerance || actualUsecs > scriptUsecs + tolerance) {
    return `timing error: expected ${description} at ${secs(scriptUsecs)} sec but happened at ${secs(actualUsecs)} sec; tolerance ${secs(tolerance)} sec`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------

export interface RunOptions {
  /** Seed of the stack's randomness (ISNs, ports, timestamps). */
  seed?: number;
  /**
   * packetdrill options from the command line (`--ip_version=ipv6`,
   * `--mtu=1500`): applied after the script's own, which they override
   * (parse_and_finalize_config).
   */
  options?: ReadonlyArray<{ name: string; value: string | undefined }>;
  /** Receives one line per event as it runs (tcpstack pkt -v). */
  trace?: (line: string) => void;
}

export interface RunResult {
  file: string;
  ok: boolean;
  /** The script did not parse (a syntax or semantic error): nothing of it ran. */
  invalid?: boolean;
  /**
   * The script is another IP version's (scriptRunsIn: its name ends in
   * v4.pkt or v6.pkt): not run, not passed; this says which version it met.
   */
  skipped?: IpVersion;
  /** The first failure: `file:line: message` plus packet dumps. */
  error: ScriptError | undefined;
  /** `file:line: warning: ...` lines (skipped shell commands, Python blocks, ignored options). */
  warnings: string[];
  /** Events run (all of them when ok). */
  events: number;
  /** Virtual time at the end, µs. */
  endUsecs: number;
}

/** An error while handling a packet line: "error handling packet: ..." plus dumps. */
class PacketError extends Error {
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

interface EventRun extends ScriptEvent {
  /** adjust_relative_event_times' offset (for relative-range messages). */
  offsetUsecs: number;
  /** A blocking call's end time, made absolute. */
  endUsecs: number | undefined;
}

interface Pending {
  ev: EventRun;
  call: SyscallSpec;
  prepared: Prepared;
  expected: number;
}

interface Sniffed {
  view: PacketView;
  t: number;
}

function isAbsolute(t: TimeType): boolean {
  return t === 'absolute' || t === 'absolute-range';
}

function isInbound(ev: ScriptEvent): boolean {
  return ev.action.kind === 'packet' && ev.action.packet.direction === 'inbound';
}

function describeEvent(ev: ScriptEvent): string {
  switch (ev.action.kind) {
    case 'packet':
      return ev.action.packet.direction === 'inbound' ? 'inbound packet' : 'outbound packet';
    case 'syscall':
      return 'system call start';
    case 'command':
      return 'command';
    case 'code':
      return 'data collection for code';
  }
}

class Runner implements SyscallHost {
  readonly cfg = defaultConfig();
  readonly warnings: string[] = [];
  stack!: Stack;
  private clock!: VirtualClock;
  private nowUsecs = 0;
  private readonly outQueue: Array<{ bytes: Uint8Array; t: number }> = [];
  readonly sockets: ScriptSocket[] = [];
  socketUnderTest: ScriptSocket | undefined;
  private pending: Pending | undefined;
  private polling = false;
  private lastEvent: EventRun | undefined;
  private scriptLastTime = 0;
  private eventsRun = 0;
  private currentLine = 1;
  private ports!: SeededRandom;
  private readonly usedPorts = new Set<number>();
  readonly addresses = new ScriptAddresses();
  /** The %{ }% blocks met so far, with the tcp_info of their time. */
  private readonly codeFragments: CodeFragment[] = [];
  /** nstat's history: the counters when it last ran without -s. */
  private nstatHistory: Counters = newCounters();
  /** The routes `ip route` finds (runRoute), made at its first use. */
  private routesThere: Set<string> | undefined;

  constructor(
    private readonly script: Script,
    private readonly options: RunOptions,
  ) {}

  get localIp(): number {
    return this.cfg.localIp;
  }
  get remoteIp(): number {
    return this.cfg.remoteIp;
  }
  get ipVersion(): IpVersion {
    return this.cfg.ipVersion;
  }
  /** config->live_bind_ip as the socket layer takes it: IPv4's number, or IPv6 text (v4-mapped in ipv4-mapped-ipv6). */
  get bindAddress(): string | number {
    return this.socketAddress(this.cfg.localIp);
  }
  /** config->live_connect_ip, likewise. */
  get connectAddress(): string | number {
    return this.socketAddress(this.cfg.remoteIp);
  }

  /** An address and port for traces: 192.0.2.1:8080, [fd3d:fa7b:d17d::1]:8080. */
  private endpointText(a: number, port: number): string {
    const text = this.addresses.format(a);
    return text.includes(':') ? `[${text}]:${port}` : `${text}:${port}`;
  }

  /** The IP version of the packets: 4, or 6 in ipv6 mode. */
  private get wireVersion(): 4 | 6 {
    return wireFamily(this.cfg.ipVersion);
  }

  private socketAddress(a: number): string | number {
    if (this.cfg.ipVersion === 'ipv4') return a;
    if (this.cfg.ipVersion === 'ipv4-mapped-ipv6') return `::ffff:${formatIpv4(a)}`;
    return this.addresses.format(a);
  }
  get bindPort(): number {
    return this.cfg.bindPort;
  }
  get connectPort(): number {
    return this.cfg.connectPort;
  }

  now(): number {
    return this.nowUsecs;
  }

  get toleranceUsecs(): number {
    return this.cfg.toleranceUsecs;
  }

  private get file(): string {
    return this.script.path;
  }

  /** A warning about a line of the script, or (line 0) about the command line's options. */
  private warn(line: number, message: string): void {
    this.warnings.push(line === 0 ? `${this.file}: warning: (command line) ${message}` : `${this.file}:${line}: warning: ${message}`);
  }

  private trace(line: string): void {
    this.options.trace?.(line);
  }

  private fail(line: number, message: string, details: string[] = []): ScriptError {
    return new ScriptError(this.file, line, message, details);
  }

  // ---------------------------------------------------------------------------

  run(): RunResult {
    let error: ScriptError | undefined;
    try {
      this.configure();
      this.start();
      const c = this.cfg;
      this.trace(`--ip_version=${c.ipVersion}: local ${this.addresses.format(c.localIp)}, remote ${this.addresses.format(c.remoteIp)}, MTU ${c.mtu}`);
      const init = this.script.initCommand;
      if (init) this.runCommand(init.text, init.line);
      this.runEvents();
      // syscalls_free: wait (at most 1 s) for a blocked call.
      if (!this.awaitIdle()) {
        throw this.fail(this.pending!.ev.line, 'runtime error: exiting while a blocking system call is in progress');
      }
      const cleanup = this.script.cleanupCommand;
      if (cleanup) this.runCommand(cleanup.text, cleanup.line);
      this.executeCode();
    } catch (e) {
      if (e instanceof ScriptError) error = e;
      else error = this.fail(this.currentLine, `internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    return { file: this.file, ok: error === undefined, error, warnings: this.warnings, events: this.eventsRun, endUsecs: this.nowUsecs };
  }

  private configure(): void {
    const c = this.cfg;
    const commandLine = (this.options.options ?? []).map((o) => ({ ...o, line: 0 }));
    for (const o of [...this.script.options, ...commandLine]) {
      const spec = PACKETDRILL_OPTIONS[o.name];
      if (!spec) throw this.fail(o.line, `option '${o.name}' unknown`);
      if (spec.arg && o.value === undefined) throw this.fail(o.line, `option '${o.name}' requires an argument`);
      if (!spec.arg && o.value !== undefined) throw this.fail(o.line, `option '${o.name}' forbids an argument`);
      if (spec.ignored) {
        this.warn(o.line, `--${o.name} has no meaning for tcpstack pkt: ignored`);
        continue;
      }
      const err = applyOption(c, o.name, o.value);
      if (err !== undefined) throw this.fail(o.line, err);
    }
    this.finalize();
  }

  /**
   * finalize_config: the IP version's defaults for what the options left
   * unset, the addresses read in the wire's family (an IPv6 --local_ip in
   * ipv4 mode, or the reverse, is an error as packetdrill's parse dies on it).
   */
  private finalize(): void {
    const c = this.cfg;
    c.ipVersion = this.script.ipVersion;
    const d = VERSION_DEFAULTS[c.ipVersion];
    const family = wireFamily(c.ipVersion);
    const address = (name: string, text: string): number => {
      const a = this.addresses.parse(text, family);
      if (a === undefined) throw this.fail(this.optionLine(name), `bad --${name} for --ip_version=${c.ipVersion}: ${text}`);
      return a;
    };
    c.localIp = address('local_ip', c.localIpText ?? d.localIp);
    c.remoteIp = address('remote_ip', c.remoteIpText ?? d.remoteIp);
    c.mtu ??= d.mtu;
  }

  private optionLine(name: string): number {
    return this.script.options.find((o) => o.name === name)?.line ?? 1;
  }

  private start(): void {
    this.clock = new VirtualClock(0);
    const seed = this.options.seed ?? 1;
    this.ports = new SeededRandom(seed ^ 0x5eed);
    // In ipv6 mode the stack has the IPv6 address and keeps ipv4's default, which no packet uses.
    const v6 = wireFamily(this.cfg.ipVersion) === 6;
    this.stack = new Stack({
      address: v6 ? parseIpv4(DEFAULT_LOCAL_IP)! : this.cfg.localIp,
      ...(v6 ? { address6: this.addresses.bytes(this.cfg.localIp) } : {}),
      clock: this.clock,
      random: new SeededRandom(seed),
      mtu: this.cfg.mtu,
      sysctl: packetdrillSysctls(),
      link: {
        send: (packets) => {
          for (const p of packets) this.outQueue.push({ bytes: p, t: this.nowUsecs });
        },
      },
    });
  }

  // ---------------------------------------------------------------------------
  // Time

  private setNow(us: number): void {
    this.nowUsecs = us;
    const ms = Math.floor(us / 1000);
    if (ms > this.clock.now()) this.clock.set(ms);
  }

  /** The next instant something can happen without the script: a stack timer or a poll() timeout. */
  private nextWakeUsecs(): number {
    const d = this.stack.nextDeadline();
    const timer = d === Infinity ? Infinity : Math.round(d * 1000);
    const wake = this.pending?.prepared.wakeAt ?? Infinity;
    return Math.min(timer, wake);
  }

  /** Moves virtual time to `t`, firing every timer due on the way. */
  private advanceTo(t: number): void {
    for (let guard = 0; ; guard++) {
      if (guard > 1_000_000) throw this.fail(this.currentLine, 'internal error: the stack\'s timers do not advance');
      const next = this.nextWakeUsecs();
      if (!(next <= t)) break;
      this.setNow(Math.max(this.nowUsecs, next));
      this.stack.runTimers();
      this.pollBlocked();
    }
    if (t > this.nowUsecs) this.setNow(t);
  }

  private flushStack(): void {
    this.stack.flush();
    this.pollBlocked();
  }

  private waitForEvent(ev: EventRun): void {
    this.advanceTo(ev.timeUsecs);
    if (this.eventsRun > 0) this.checkEventTime(ev);
  }

  private checkEventTime(ev: EventRun): void {
    const err = verifyTime(this.cfg, ev.timeType, ev.timeUsecs, ev.timeEndUsecs, this.nowUsecs, this.lastEvent?.timeUsecs, describeEvent(ev), ev.offsetUsecs);
    if (err) throw this.fail(ev.line, err);
  }

  // ---------------------------------------------------------------------------
  // Events

  private runEvents(): void {
    const events: EventRun[] = this.script.events.map((e) => ({ ...e, offsetUsecs: 0, endUsecs: e.action.kind === 'syscall' ? e.action.call.endUsecs : undefined }));
    events.forEach((ev, i) => {
      this.currentLine = ev.line;
      if (i === 0) {
        if (ev.timeUsecs !== 0) throw this.fail(ev.line, 'first event should be at time 0');
      } else {
        const last = this.lastEvent!;
        this.scriptLastTime = last.timeUsecs;
        if (isAbsolute(last.timeType) && isAbsolute(ev.timeType) && ev.timeUsecs < this.scriptLastTime) {
          throw this.fail(ev.line, `time goes backward in script from ${this.scriptLastTime} usec to ${ev.timeUsecs} usec`);
        }
      }
      this.adjustRelativeTimes(ev);
      const a = ev.action;
      switch (a.kind) {
        case 'packet':
          this.runPacketEvent(ev, a.packet);
          break;
        case 'syscall':
          this.runSyscallEvent(ev, a.call);
          break;
        case 'command':
          this.waitForEvent(ev);
          this.runCommand(a.text, ev.line);
          break;
        case 'code':
          this.waitForEvent(ev);
          this.collectCode(ev.line, a.text);
          break;
      }
      this.eventsRun++;
      this.lastEvent = ev;
    });
  }

  /** adjust_relative_event_times. */
  private adjustRelativeTimes(ev: EventRun): void {
    if (ev.timeType !== 'any' && ev.timeType !== 'relative' && ev.timeType !== 'relative-range') return;
    const last = this.lastEvent;
    const offset = last && isInbound(last) && isInbound(ev) ? last.timeUsecs : this.nowUsecs;
    ev.offsetUsecs = offset;
    ev.timeUsecs += offset;
    if (ev.timeType === 'relative-range' && ev.timeEndUsecs !== undefined) ev.timeEndUsecs += offset;
    if (ev.timeType === 'relative' && ev.endUsecs !== undefined) ev.endUsecs += offset;
  }

  // ---------------------------------------------------------------------------
  // %{ }% Python blocks (python.ts)

  /** run_code_event: the socket under test's tcp_info at the block's time, kept with its code. */
  private collectCode(line: number, text: string): void {
    const sock = this.socketUnderTest;
    if (sock === undefined) throw this.fail(line, 'runtime error in code: no socket to use for code');
    const ep = sock.endpoint;
    if (ep === undefined || sock.closed) throw this.fail(line, "runtime error in code: can't find getsockopt to get TCP info");
    this.stack.flush();
    // SO_MEMINFO's buffer sizes (sk_rcvbuf, sk_sndbuf); the other counters are not kept.
    const fragment: CodeFragment = { line, text, info: ep.tcpInfo(), meminfo: { SK_MEMINFO_RCVBUF: ep.receiveBuffer, SK_MEMINFO_SNDBUF: ep.sendBuffer } };
    const unsupported = unsupportedName(fragment);
    if (unsupported !== undefined) throw this.fail(line, `${unsupported.name} in a %{ }% block is not supported by tcpstack pkt: ${unsupported.why}`);
    this.codeFragments.push(fragment);
    this.trace(`${secs9(this.nowUsecs)} %{ ... }%: tcp_info taken (tcpi_state ${String(fragment.info.values.tcpi_state)}, tcpi_snd_cwnd ${String(fragment.info.values.tcpi_snd_cwnd)}); the code runs at the end`);
  }

  /** code_execute: every block's code, each after its tcp_info values, run by python3 at the end of the script. */
  private executeCode(): void {
    if (this.codeFragments.length === 0) return;
    const program = pythonProgram(this.file, this.codeFragments);
    const outcome = runPython(program);
    for (const l of outcome.stdout) this.trace(`           python3: ${l}`);
    this.trace(`${secs9(this.nowUsecs)} python3 ran ${this.codeFragments.length} %{ }% block${this.codeFragments.length === 1 ? '' : 's'}: ${outcome.ok ? 'exit status 0' : outcome.error}`);
    if (outcome.ok) return;
    const line = outcome.line ?? this.codeFragments[this.codeFragments.length - 1]!.line;
    const last = outcome.stderr[outcome.stderr.length - 1];
    const details = outcome.stderr.filter((l) => !/: error in Python code$/.test(l));
    details.push(`error executing code: ${outcome.error}`);
    throw this.fail(line, outcome.line === undefined ? `error executing code: ${outcome.error}` : `error in Python code: ${last ?? ''}`, details);
  }

  // ---------------------------------------------------------------------------
  // Shell commands

  private runCommand(text: string, line: number, inDefaults = false): void {
    let actions: ShellAction[];
    try {
      actions = interpretCommand(text);
    } catch (e) {
      throw this.fail(line, `error executing \`${text.trim()}\` command: ${(e as Error).message}`);
    }
    for (const action of actions) {
      if (action.kind === 'defaults') {
        this.runDefaults(action.path, action.text, line, inDefaults);
      } else if (action.kind === 'route') {
        const problem = this.runRoute(action.route);
        if (problem !== undefined) {
          // system() returns the status of the block's last command (ip exits 2 with RTNETLINK's message).
          if (action !== actions[actions.length - 1]) {
            this.warn(line, `\`${action.text}\` failed (${problem}); not the last command of its block, so the block goes on, as sh does`);
            continue;
          }
          throw this.fail(line, `error executing \`${text.trim()}\` command: ${problem}`);
        }
        this.trace(`${secs9(this.nowUsecs)} \`${action.text}\`: route ${action.route.prefixText} ${routeMetricsText(action.route)}`);
      } else if (action.kind === 'qdisc') {
        this.stack.setDeviceQueueDropsAll(action.dropsAll);
        this.trace(`${secs9(this.nowUsecs)} \`${action.text}\`: ${action.dropsAll ? 'the device queue drops every packet the stack sends (NET_XMIT_DROP)' : 'no device queue: packets leave as sent'}`);
      } else if (action.kind === 'tcp-metrics-flush') {
        this.stack.tcp.flushMetrics();
        this.trace(`${secs9(this.nowUsecs)} \`${action.text}\`: the per-destination metrics (Fast Open's cookies) flushed`);
      } else if (action.kind === 'sysctl') {
        if (sysctlKey(action.name) === undefined) {
          // defaults.sh sets every TCP sysctl of its suite: those the stack does not model are no news.
          if (inDefaults) this.trace(`${secs9(this.nowUsecs)} sysctl ${action.name} is not modelled by the stack: ignored`);
          else this.warn(line, `sysctl ${action.name} is not modelled by the stack: \`${action.text}\` ignored`);
          continue;
        }
        try {
          setSysctl(this.stack.sysctl, action.name, action.value);
        } catch (e) {
          // system() returns the status of the block's last command: an
          // earlier one that fails (sysctl prints its error) does not stop it.
          if (action !== actions[actions.length - 1]) {
            this.warn(line, `\`${action.text}\` failed (${(e as Error).message}); not the last command of its block, so the block goes on, as sh does`);
            continue;
          }
          throw this.fail(line, `error executing \`${text.trim()}\` command: ${(e as Error).message}`);
        }
        this.trace(`${secs9(this.nowUsecs)} sysctl ${action.name}=${action.value}`);
      } else if (action.kind === 'nstat') {
        this.runNstat(action, text, line);
      } else if (action.kind === 'file') {
        // The run's own files (files.ts): rm -f and dd of zeros, in memory.
        if (action.data === undefined) scriptFiles(this).paths.delete(action.path);
        else scriptFiles(this).paths.set(action.path, action.data);
        this.trace(`${secs9(this.nowUsecs)} \`${action.text}\`: ${action.path} ${action.data === undefined ? 'removed' : `is ${action.data.length} bytes`} (in memory)`);
      } else if (action.kind === 'proc-grep') {
        this.runProcGrep(action, text, line);
      } else if (action.kind === 'noop') {
        this.trace(`${secs9(this.nowUsecs)} \`${action.text}\`: nothing to do (${action.why})`);
      } else if (action.kind === 'unsupported') {
        throw this.fail(line, `\`${action.text}\` is not supported by tcpstack pkt: ${action.why}`);
      } else {
        this.warn(line, `shell command not run: \`${action.text}\` (${action.why})`);
      }
    }
  }

  /**
   * `ip route {add,change,replace}` against the routes there are: the one
   * packetdrill made to the remote address (over the wire's family), and
   * those the script added. What the kernel refuses (fib_table_insert: a
   * change of no route, an add of one there is; a gateway over a family the
   * device has no address of; another device) is the command's failure,
   * returned as ip prints it; otherwise the stack's route takes the
   * metrics.
   */
  private runRoute(r: RouteCommand): string | undefined {
    const key = (family: number, prefix: Uint8Array, length: number): string => `${family}/${Array.from(prefix).join('.')}/${length}`;
    if (this.routesThere === undefined) {
      const remote = this.cfg.remoteIp;
      const bytes = this.wireVersion === 4 ? new Uint8Array([remote >>> 24, (remote >>> 16) & 0xff, (remote >>> 8) & 0xff, remote & 0xff]) : this.addresses.bytes(remote);
      this.routesThere = new Set([key(this.wireVersion, bytes, this.wireVersion === 4 ? 32 : 128)]);
    }
    if (r.dev !== undefined && r.dev !== 'tun0') return `Cannot find device "${r.dev}"`;
    if (r.viaFamily !== undefined && r.viaFamily !== r.family) return 'the gateway is of the other address family';
    if (r.viaFamily !== undefined && r.viaFamily !== this.wireVersion) return 'Error: Nexthop has invalid gateway.';
    const k = key(r.family, r.prefix, r.length);
    const there = this.routesThere.has(k);
    if (r.op === 'change' && !there) return 'RTNETLINK answers: No such file or directory';
    if (r.op === 'add' && there) return 'RTNETLINK answers: File exists';
    this.routesThere.add(k);
    this.stack.routes.setRoute(r.prefix, r.length, r.metrics);
    return undefined;
  }

  /**
   * A suite's defaults.sh: the file itself when it is there (the path as
   * the shell finds it, from the directory tcpstack pkt runs in, as
   * packetdrill's suite runners run it from the script's), its commands run
   * as the script's own; else packetdrill's gtests/net/common/defaults.sh
   * as DEFAULTS_SH records it. The kernel selftests' copy differs (Fast
   * Open 0x3, no tcp_ecn_option).
   */
  private runDefaults(path: string, text: string, line: number, nested: boolean): void {
    let body: string | undefined;
    try {
      if (!nested && existsSync(path) && statSync(path).isFile()) body = readFileSync(path, 'utf8');
    } catch {
      body = undefined;
    }
    if (body !== undefined) {
      this.trace(`${secs9(this.nowUsecs)} \`${text}\`: running ${path}`);
      this.runCommand(body, line, true);
      return;
    }
    for (const [name, value] of DEFAULTS_SH) if (sysctlKey(name) !== undefined) setSysctl(this.stack.sysctl, name, value);
    this.trace(`${secs9(this.nowUsecs)} \`${text}\`: packetdrill's defaults.sh applied`);
  }

  /**
   * `nstat [-n|-s|-a|-z] [| grep ...]` over the stack's counters, with
   * nstat's history (the counters when it last ran without -s; zero at
   * the start, as in the fresh namespace each script runs in). A pipeline
   * whose grep selects nothing fails as packetdrill's system() does.
   */
  private runNstat(action: Extract<ShellAction, { kind: 'nstat' }>, text: string, line: number): void {
    this.stack.flush();
    const now = snapshotCounters(this.stack.counters);
    for (const g of action.greps) {
      const named = /^\^?((?:Tcp|TcpExt|Ip|IpExt|Icmp|Udp|Ip6|Icmp6|Udp6|IcmpMsg)[A-Za-z0-9]+)/.exec(g.pattern.source)?.[1];
      if (named !== undefined && !(COUNTER_NAMES as readonly string[]).includes(named)) {
        throw this.fail(line, `\`${action.text}\` is not supported by tcpstack pkt: the stack does not count ${named}`);
      }
    }
    const rows: Array<[string, number]> = COUNTER_NAMES.map((n) => [n, action.absolute ? now[n] : now[n] - this.nstatHistory[n]]);
    if (action.update) this.nstatHistory = now;
    const lines = action.reset ? [] : nstatOutput(rows, action.zeros);
    const status = action.greps.length === 0 ? 0 : grepStatus(lines, action.greps);
    this.trace(`${secs9(this.nowUsecs)} \`${action.text}\`: exit status ${status}${lines.length > 1 ? ` (${lines.slice(1).map((l) => l.replace(/ +/g, ' ').replace(/ 0\.0$/, '')).join(', ')})` : ''}`);
    if (status !== 0) throw this.fail(line, `error executing \`${text.trim()}\` command: non-zero status ${status}`);
  }

  /** `grep ... /proc/net/tcp /proc/net/tcp6 | grep ...` over the stack's sockets; grep prefixes each line with its file when given several. */
  private runProcGrep(action: Extract<ShellAction, { kind: 'proc-grep' }>, text: string, line: number): void {
    this.stack.flush();
    const listeners = this.stack.tcp.listeners();
    const connections = this.stack.tcp.connections();
    const lines = action.files.flatMap((file) =>
      procNetTcp(listeners, connections, file.endsWith('6')).map((l) => (action.files.length > 1 ? `${file}:${l}` : l)),
    );
    const status = grepStatus(lines, action.greps);
    this.trace(`${secs9(this.nowUsecs)} \`${action.text}\`: exit status ${status}`);
    if (status !== 0) throw this.fail(line, `error executing \`${text.trim()}\` command: non-zero status ${status}`);
  }

  // ---------------------------------------------------------------------------
  // Packets

  private runPacketEvent(ev: EventRun, spec: PacketSpec): void {
    let sock: ScriptSocket;
    try {
      sock = this.findOrCreateSocket(spec);
    } catch (e) {
      if (e instanceof PacketError) throw this.fail(ev.line, `error handling packet: ${e.message}`, e.details);
      throw e;
    }
    if (spec.direction === 'inbound') this.waitForEvent(ev);
    try {
      if (spec.direction === 'outbound') this.doOutbound(ev, spec, sock);
      else this.doInbound(spec, sock);
    } catch (e) {
      if (e instanceof PacketError) throw this.fail(ev.line, `error handling packet: ${e.message}`, e.details);
      throw e;
    }
  }

  /** The next remote port for a passive connection (packetdrill binds a kernel socket to port 0: an odd ephemeral port). */
  private nextEphemeralPort(): number {
    for (;;) {
      const port = 32769 + 2 * this.ports.below((60999 - 32769) / 2 + 1);
      if (!this.usedPorts.has(port)) {
        this.usedPorts.add(port);
        return port;
      }
    }
  }

  newSocket(): ScriptSocket {
    const s = new ScriptSocket();
    this.sockets.unshift(s);
    return s;
  }

  findByScriptFd(fd: number): ScriptSocket | undefined {
    return this.sockets.find((s) => !s.closed && s.scriptFd === fd && s.scriptFd >= 0);
  }

  allocLiveFd(): number {
    const used = new Set(this.sockets.filter((s) => !s.closed && s.liveFd >= 0).map((s) => s.liveFd));
    let fd = 3;
    while (used.has(fd)) fd++;
    return fd;
  }

  /** find_or_create_socket_for_script_packet. */
  private findOrCreateSocket(spec: PacketSpec): ScriptSocket {
    const sut = this.socketUnderTest;
    // An ICMP quoting one of our segments is about the socket under test (find_socket_for_script_packet).
    if (spec.icmp !== undefined) {
      if (sut === undefined) throw new PacketError('no matching socket for script packet');
      return sut;
    }
    const syn = spec.flags.includes('S');
    const ack = spec.flags.includes('.');
    // handle_listen_for_script_packet: any inbound packet to a listener (or to nothing) starts a passive connection.
    if (spec.direction === 'inbound' && (sut === undefined || sut.state === 'PASSIVE_LISTENING')) {
      const s = this.newSocket();
      // The connection is of the listener's family (accept() gives a socket of it).
      s.family = sut?.family ?? socketFamily(this.cfg.ipVersion);
      this.socketUnderTest = s;
      s.state = 'PASSIVE_PACKET_RECEIVED';
      s.script.remotePort = spec.srcPort;
      s.script.localPort = spec.dstPort;
      s.script.remoteIsn = spec.seq;
      s.live.remoteIp = this.cfg.remoteIp;
      s.live.remotePort = this.nextEphemeralPort();
      s.live.localIp = this.cfg.localIp;
      s.live.localPort = this.cfg.bindPort;
      s.live.remoteIsn = spec.seq;
      this.trace(`         new passive connection from ${this.endpointText(s.live.remoteIp, s.live.remotePort)} (ISN ${spec.seq})`);
      return s;
    }
    // handle_connect_for_script_packet: the SYN of a connect().
    if (spec.direction === 'outbound' && syn && !ack && sut !== undefined && sut.state === 'ACTIVE_CONNECTING') {
      sut.state = 'ACTIVE_SYN_SENT';
      sut.script.remotePort = spec.dstPort;
      sut.script.localPort = spec.srcPort;
      sut.script.localIsn = spec.seq;
      return sut;
    }
    if (sut) return sut;
    throw new PacketError('no matching socket for script packet');
  }

  private doInbound(spec: PacketSpec, sock: ScriptSocket): void {
    if (spec.icmp !== undefined) {
      this.doInboundIcmp(spec.icmp, sock);
      return;
    }
    const syn = spec.flags.includes('S');
    const ack = spec.flags.includes('.');
    if (sock.state === 'PASSIVE_SYNACK_SENT' && ack) {
      sock.state = 'PASSIVE_SYNACK_ACKED';
    } else if (sock.state === 'ACTIVE_SYN_SENT' && syn && ack) {
      sock.state = 'ACTIVE_SYN_ACKED';
      sock.script.remoteIsn = spec.seq;
      sock.live.remoteIsn = spec.seq;
    }
    // map_inbound_packet
    const p = scriptPacket(spec, this.wireVersion, sock.live.remoteIp, sock.live.localIp);
    const tcp = p.tcp!;
    tcp.sport = spec.srcPort || sock.live.remotePort;
    tcp.dport = spec.dstPort || sock.live.localPort;
    tcp.seq = (tcp.seq + (syn ? 0 : sock.live.remoteIsn)) >>> 0;
    const ackOffset = syn ? (sock.live.localIsn - sock.script.localIsn) >>> 0 : sock.live.localIsn;
    if (tcp.ackFlag) tcp.ack = (tcp.ack + ackOffset) >>> 0;
    offsetSackBlocks(tcp, ackOffset);
    const ts = findTimestamp(tcp);
    if (tcp.ackFlag && ts) {
      const scriptEcr = tsEcr(ts);
      const live = sock.tsValMap.get(scriptEcr);
      if (live !== undefined) {
        setTsEcr(ts, live);
      } else if (this.cfg.tsEcrScaled && sock.foundFirstTs) {
        setTsEcr(ts, (scriptEcr - sock.firstScriptTsVal + sock.firstActualTsVal) >>> 0);
      } else {
        throw new PacketError(`unable to infer live TS ecr for script TS ecr ${scriptEcr};  no matching or preceding outbound TS val`);
      }
    }
    this.trace(`${secs9(this.nowUsecs)} < ${formatPacket(scriptPacket(spec, this.wireVersion))}`);
    // --mss: packetdrill writes every TCP packet to its tun with a virtio
    // header whose gso_size is that MSS (linux_tun_write), so the kernel
    // takes a bigger one as a GRO-made packet of such segments (its rcv_mss
    // and truesize are those); the link tells our stack the same way.
    const rxMeta = this.cfg.mss > 0 ? this.cfg.mss & RX_GSO_SIZE_MASK : 0;
    const dropped = this.stack.input(encodePacket(p, this.addresses, 0, spec.ipInfo?.ttl || 64), rxMeta);
    if (dropped) this.trace(`           (the stack dropped it: ${dropped})`);
    this.flushStack();
  }

  /** An inbound ICMP line, about the socket under test (icmp-packet.ts). */
  private doInboundIcmp(icmp: IcmpSpec, sock: ScriptSocket): void {
    const end = (icmp.echoedSeq + icmp.echoedLen) >>> 0;
    const mtu = icmp.mtu !== undefined ? ` mtu ${icmp.mtu}` : '';
    this.trace(`${secs9(this.nowUsecs)} < icmp${icmp.family === 6 ? 'v6' : ''} type ${icmp.type} code ${icmp.code}${mtu} [${icmp.echoedSeq}:${end}(${icmp.echoedLen})]`);
    const dropped = this.stack.input(encodeInboundIcmp(icmp, sock.live, this.addresses));
    if (dropped) this.trace(`           (the stack dropped it: ${dropped})`);
    this.flushStack();
  }

  /** The socket under test, if this packet from the stack is one of its outbound packets. */
  private findSocketForLivePacket(v: PacketView): ScriptSocket | undefined {
    const s = this.socketUnderTest;
    const t = v.tcp;
    if (!s || !t) return undefined;
    const l = s.live;
    if (v.src === l.localIp && t.sport === l.localPort && v.dst === l.remoteIp && t.dport === l.remotePort) return s;
    return undefined;
  }

  /** find_connect_for_live_packet: the first SYN of a connect() teaches the local address, port and ISN. */
  private findConnectForLivePacket(v: PacketView): ScriptSocket | undefined {
    const s = this.socketUnderTest;
    const t = v.tcp;
    if (!s || !t || !t.syn || t.ackFlag || s.state !== 'ACTIVE_SYN_SENT') return undefined;
    if (v.dst !== s.live.remoteIp || t.dport !== s.live.remotePort) return undefined;
    s.live.localIp = v.src;
    s.live.localPort = t.sport;
    s.live.localIsn = t.seq;
    return s;
  }

  /** sniff_outbound_live_packet, in virtual time. */
  private sniff(ev: EventRun, sock: ScriptSocket): Sniffed {
    const gap = Math.max(ev.timeUsecs - this.scriptLastTime, (ev.timeEndUsecs ?? -1) - this.scriptLastTime);
    const timeout = ev.timeType === 'any' ? Infinity : Math.trunc(gap / 1e6 + 2) * 1e6;
    let recvStart = this.nowUsecs;
    for (;;) {
      while (this.outQueue.length > 0) {
        const { bytes, t } = this.outQueue.shift()!;
        recvStart = this.nowUsecs;
        const view = decodePacket(bytes, this.addresses);
        if (typeof view === 'string' || !view.tcp) continue;
        const match = this.findSocketForLivePacket(view) ?? this.findConnectForLivePacket(view);
        if (!match) {
          const from = this.endpointText(view.src, view.tcp.sport);
          this.trace(`${secs9(t)} (skipped: ${from} > ${this.endpointText(view.dst, view.tcp.dport)} ${formatPacket(view)}, not the socket under test)`);
          continue;
        }
        if (match !== sock) throw new PacketError('packet is not for expected socket');
        // verify_outbound_live_checksums: IPv4's header checksum (IPv6 has none).
        if (view.version === 4 && !verifies(bytes, 0, (bytes[0]! & 15) * 4)) throw new PacketError('bad outbound IP checksum');
        return { view, t };
      }
      const next = this.nextWakeUsecs();
      const deadline = recvStart + timeout;
      if (next > deadline || next === Infinity) {
        if (deadline !== Infinity) this.advanceTo(deadline);
        throw new PacketError(
          deadline === Infinity ? 'Timed out waiting for packet (no timer is pending in the stack: nothing more will be sent)' : 'Timed out waiting for packet',
        );
      }
      this.advanceTo(next);
    }
  }

  /** tcp_convert_seq_number: live → script sequence space. */
  private toScriptSpace(sock: ScriptSocket, v: PacketView): void {
    const t = v.tcp!;
    const seqOffset = t.syn ? (sock.live.localIsn - sock.script.localIsn) >>> 0 : sock.live.localIsn;
    t.seq = (t.seq - seqOffset) >>> 0;
    const ackOffset = t.syn ? 0 : sock.live.remoteIsn;
    if (t.ackFlag) t.ack = (t.ack - ackOffset) >>> 0;
    offsetSackBlocks(t, -ackOffset >>> 0);
  }

  private doOutbound(ev: EventRun, spec: PacketSpec, sock: ScriptSocket): void {
    const script = scriptPacket(spec, this.wireVersion);
    const synAck = spec.flags.includes('S') && spec.flags.includes('.');
    if (sock.state === 'PASSIVE_PACKET_RECEIVED' && synAck) sock.script.localIsn = spec.seq;
    const expected = spec.len;
    let fragments: Sniffed[] = [];
    let total = 0;
    do {
      const live = this.sniff(ev, sock);
      if (sock.state === 'PASSIVE_PACKET_RECEIVED' && synAck) {
        sock.state = 'PASSIVE_SYNACK_SENT';
        sock.live.localIsn = live.view.tcp!.seq;
      }
      this.toScriptSpace(sock, live.view);
      this.trace(`${secs9(live.t)} > ${formatPacket(live.view)}`);
      const prev = fragments[fragments.length - 1];
      if (prev) {
        const a = prev.view;
        const b = live.view;
        if (a.src !== b.src || a.dst !== b.dst || a.tcp!.sport !== b.tcp!.sport || a.tcp!.dport !== b.tcp!.dport) {
          fragments = [];
          total = 0;
        } else {
          const n = b.payload.length;
          let err = verifyHeaders(b, a, false);
          if (!err && n < expected - total && n !== a.payload.length) {
            err = `fragment payload: expected ${a.payload.length} bytes vs actual ${n} bytes; total payload: expected ${expected} bytes vs actual ${n + total} bytes`;
          }
          if (err) {
            const dumps = [`   script packet: ${secs9(ev.timeUsecs)} ${formatPacket(script)}`];
            [...fragments, live].forEach((f, i) => dumps.push(`actual #${i} packet: ${secs9(f.t)} ${formatPacket(f.view)}`));
            throw new PacketError(err, dumps);
          }
        }
      }
      fragments.push(live);
      total += live.view.payload.length;
    } while (total < expected && !this.cfg.strictSegments);
    if (total !== expected) throw new PacketError(`live packet payload: expected ${expected} bytes vs actual ${total} bytes`);
    const last = fragments[fragments.length - 1]!;
    let actual: PacketView;
    if (fragments.length === 1) {
      actual = last.view;
    } else {
      // aggregate_packets: the last one's headers, the first one's seq and CWR, every payload.
      const payload = new Uint8Array(total);
      let off = 0;
      for (const f of fragments) {
        payload.set(f.view.payload, off);
        off += f.view.payload.length;
      }
      actual = clonePacket(last.view);
      actual.tcp!.seq = fragments[0]!.view.tcp!.seq;
      actual.tcp!.cwr = fragments[0]!.view.tcp!.cwr;
      actual.totalLength += total - last.view.payload.length;
      actual.payload = payload;
    }
    this.verifyOutbound(ev, sock, script, actual, last.t);
  }

  /** verify_outbound_live_packet. */
  private verifyOutbound(ev: EventRun, sock: ScriptSocket, script: PacketView, live: PacketView, t: number): void {
    const actual = clonePacket(live);
    // map_outbound_live_packet: learn the TS val mapping, show TS val in script space.
    const sTs = findTimestamp(script.tcp!);
    const aTs = findTimestamp(actual.tcp!);
    let scriptVal = 0;
    let actualVal = 0;
    if (sTs && aTs) {
      scriptVal = tsVal(sTs);
      const liveVal = tsVal(aTs);
      sock.tsValMap.set(scriptVal, liveVal);
      if (!sock.foundFirstTs) {
        sock.foundFirstTs = true;
        sock.firstScriptTsVal = scriptVal;
        sock.firstActualTsVal = liveVal;
      }
      actualVal = (sock.firstScriptTsVal + (liveVal - sock.firstActualTsVal)) >>> 0;
      setTsVal(aTs, actualVal);
    }
    const tsCheck = (): string | undefined => {
      let tolerance = this.cfg.toleranceUsecs;
      const dynamic = Math.trunc((this.cfg.tolerancePercent / 100) * ev.timeUsecs);
      if (dynamic > tolerance) tolerance = dynamic;
      const tick = this.cfg.tsTickUsecs;
      if (tick && Math.abs((actualVal - scriptVal) | 0) * tick > tolerance) return `bad outbound TCP timestamp value, tolerance ${tolerance}`;
      return undefined;
    };
    const err =
      verifyHeaders(actual, script, true) ??
      (script.version === 6 ? verifyFlowLabel(sock, script.flowLabel, actual.flowLabel) : undefined) ??
      verifyOptions(actual, script, tsCheck) ??
      verifyPayload(actual, script) ??
      verifyTime(this.cfg, ev.timeType, ev.timeUsecs, ev.timeEndUsecs, t, this.lastEvent?.timeUsecs, 'outbound packet', ev.offsetUsecs);
    if (err) {
      throw new PacketError(err, [`script packet: ${secs9(ev.timeUsecs)} ${formatPacket(script)}`, `actual packet: ${secs9(t)} ${formatPacket(actual)}`]);
    }
  }

  // ---------------------------------------------------------------------------
  // System calls

  private runtimeError(ev: EventRun, call: SyscallSpec, message: string): ScriptError {
    return this.fail(ev.line, `runtime error in ${call.name} call: ${message}`);
  }

  private runSyscallEvent(ev: EventRun, call: SyscallSpec): void {
    const blocking = call.endUsecs !== undefined;
    if (blocking) {
      if (!this.awaitIdle()) throw this.runtimeError(ev, call, 'blocking system call while another blocking system call is already in progress');
    } else {
      this.awaitIdle();
    }
    this.waitForEvent(ev);
    let expected: number;
    let prepared: Prepared;
    try {
      expected = s32Value(call.result);
      prepared = prepareSyscall(this, call, expected);
    } catch (e) {
      if (e instanceof SyscallError) throw this.runtimeError(ev, call, e.message);
      throw e;
    }
    let outcome = this.attempt(ev, call, prepared);
    const result = (o: Outcome): string => `${o.ret}${o.errno ? ` ${o.errno}` : ''}`;
    this.trace(`${secs9(this.nowUsecs)} ${formatCall(call)} = ${outcome === undefined ? `(blocks${blocking ? '' : ', holding up the script'})` : result(outcome)}`);
    this.stack.flush();
    if (outcome === undefined) {
      if (blocking) {
        this.pending = { ev, call, prepared, expected };
        this.pollBlocked();
        return;
      }
      outcome = this.blockMainThread(ev, call, prepared);
    } else {
      this.pollBlocked();
    }
    this.finishCall(ev, call, prepared, expected, outcome, blocking);
  }

  /** One attempt of a call; a SyscallError becomes the call's runtime error. */
  private attempt(ev: EventRun, call: SyscallSpec, prepared: Prepared): Outcome | undefined {
    try {
      return prepared.step();
    } catch (e) {
      if (e instanceof SyscallError) throw this.runtimeError(ev, call, e.message);
      throw e;
    }
  }

  /** A call without `...` that blocks: nothing else of the script runs until it returns. */
  private blockMainThread(ev: EventRun, call: SyscallSpec, prepared: Prepared): Outcome {
    for (;;) {
      const wake = Math.min(this.nextWakeUsecs(), prepared.wakeAt ?? Infinity);
      if (wake === Infinity) {
        throw this.runtimeError(
          ev,
          call,
          'the call blocks and nothing can wake it: the socket is blocking and the packets it waits for come later in the script (mark the call `...END` or use O_NONBLOCK)',
        );
      }
      this.advanceTo(wake);
      const o = this.attempt(ev, call, prepared);
      this.stack.flush();
      if (o !== undefined) {
        this.trace(`${secs9(this.nowUsecs)} ${formatCall(call)} returns ${o.ret}${o.errno ? ` ${o.errno}` : ''}`);
        this.pollBlocked();
        return o;
      }
    }
  }

  /** Retries a blocked `...` call after the stack changed. */
  private pollBlocked(): void {
    const p = this.pending;
    if (!p || this.polling) return;
    this.polling = true;
    try {
      const o = this.attempt(p.ev, p.call, p.prepared);
      if (o === undefined) return;
      this.pending = undefined;
      this.stack.flush();
      this.trace(`${secs9(this.nowUsecs)} ${formatCall(p.call)} returns ${o.ret}${o.errno ? ` ${o.errno}` : ''}`);
      this.finishCall(p.ev, p.call, p.prepared, p.expected, o, true);
    } finally {
      this.polling = false;
    }
  }

  /** await_idle_thread: waits (at most 1 s) for a blocked call; true when none is left. */
  private awaitIdle(): boolean {
    if (!this.pending) return true;
    const deadline = this.nowUsecs + 1_000_000;
    while (this.pending) {
      const next = Math.min(this.nextWakeUsecs(), deadline);
      this.advanceTo(next);
      if (next >= deadline) break;
    }
    return this.pending === undefined;
  }

  /** end_syscall, the call's own checks, and a blocking call's return time. */
  private finishCall(ev: EventRun, call: SyscallSpec, prepared: Prepared, expected: number, o: Outcome, blocking: boolean): void {
    const actualErrno = o.errno;
    if (prepared.mode === 'fd' && expected >= 0) {
      if (o.ret < 0) throw this.runtimeError(ev, call, `Expected non-negative result but got ${o.ret} with errno ${describeErrno(actualErrno)}`);
    } else if (o.ret !== expected) {
      throw this.runtimeError(ev, call, `Expected result ${expected} but got ${o.ret} with errno ${describeErrno(actualErrno)}`);
    }
    if (call.errno !== undefined) {
      const want = SYMBOLS[call.errno];
      if (want === undefined) throw this.runtimeError(ev, call, `unknown symbol: '${call.errno}'`);
      const got = actualErrno === undefined ? 0 : (SYMBOLS[actualErrno] ?? -1);
      if (want !== got) throw this.runtimeError(ev, call, `Expected errno ${describeErrno(call.errno)} but got ${describeErrno(actualErrno)}`);
    }
    try {
      prepared.after?.(o);
    } catch (e) {
      if (e instanceof SyscallError) throw this.runtimeError(ev, call, e.message);
      throw e;
    }
    if (blocking) {
      const err = verifyTime(this.cfg, ev.timeType, ev.endUsecs!, undefined, this.nowUsecs, ev.timeUsecs, 'system call return');
      if (err) throw this.fail(ev.line, err);
    }
  }
}

/** The command line's --ip_version (the last one), which the parser needs before the events. */
function commandLineIpVersion(options: RunOptions): IpVersion | undefined {
  let v: IpVersion | undefined;
  for (const o of options.options ?? []) {
    if (o.name !== 'ip_version') continue;
    v = parseIpVersion(o.value ?? '');
    if (v === undefined) throw new RangeError(`bad --ip_version: ${o.value}`);
  }
  return v;
}

/** The command line's definitions (`-D NAME=VALUE`, `--define=NAME=VALUE`); a later one of a name wins. */
function commandLineDefines(options: RunOptions): Map<string, string> {
  const defines = new Map<string, string>();
  for (const o of options.options ?? []) {
    if (o.name !== 'define') continue;
    const d = splitDefinition(o.value ?? '');
    if (d === undefined) throw new RangeError(`bad definition: ${o.value}`);
    defines.set(d.name, d.value);
  }
  return defines;
}

/** Parses and runs one script given as text. */
export function runScript(source: string, file: string, options: RunOptions = {}): RunResult {
  let script: Script;
  const override = commandLineIpVersion(options);
  const defines = commandLineDefines(options);
  try {
    // run_all.py's selection, by the version the script would run in, before its events are read for it.
    const version = readIpVersion(source, file, override, defines);
    if (!scriptRunsIn(file, version)) return { file, ok: false, skipped: version, error: undefined, warnings: [], events: 0, endUsecs: 0 };
    script = parseScript(source, file, override, defines);
  } catch (e) {
    if (e instanceof ScriptError) return { file, ok: false, invalid: true, error: e, warnings: [], events: 0, endUsecs: 0 };
    throw e;
  }
  return new Runner(script, options).run();
}

/** Reads, parses and runs one script file. */
export function runScriptFile(path: string, options: RunOptions = {}): RunResult {
  return runScript(readFileSync(path, 'utf8'), path, options);
}
