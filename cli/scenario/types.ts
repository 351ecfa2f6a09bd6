/**
 * The differential harness's vocabulary: a scenario is data — sysctls, a list
 * of application steps for two sides and wire faults — run once against the
 * Linux kernel and once against our stack, with the same Python agent as the
 * peer and the same capture point (tcpdump on the peer's interface).
 *
 * "subject" is the side whose Linux behaviour the scenario is about: a
 * kernel socket in the subject namespace in the kernel run, an Endpoint of
 * our stack in the stack run. "peer" is always a kernel socket driven by the
 * Python agent in the peer namespace.
 */

export type Side = 'subject' | 'peer';

/** Socket options, applied with setsockopt (kernel) or the Endpoint setters (stack). */
export type SockOpt =
  /** SO_LINGER {on, seconds}. */
  | { linger: { on: boolean; seconds: number } }
  /**
   * SO_KEEPALIVE on with TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT (seconds,
   * count). SO_KEEPALIVE goes first, so TCP_KEEPIDLE re-arms the timer from
   * the last segment received (keepalive_time_set); with `enableLast` it goes
   * last, so the idle time runs from this call (tcp_set_keepalive arms the
   * full keepalive_time), whatever the steps before it took.
   */
  | { keepalive: { idle: number; intvl: number; cnt: number; enableLast?: boolean } }
  /** TCP_USER_TIMEOUT in ms. */
  | { userTimeoutMs: number }
  /** TCP_LINGER2 in seconds (negative: RST when closed in FIN_WAIT2). */
  | { linger2: number }
  /** SO_RCVBUF in bytes (the kernel doubles it, so does our stack). */
  | { rcvbuf: number }
  /** SO_SNDBUF in bytes (doubled, and no send-buffer autotuning after it: SOCK_SNDBUF_LOCK). */
  | { sndbuf: number }
  /**
   * TCP_CONGESTION: the socket's congestion control by name. A namespace's
   * default is the host's (bbr on the project's VM), and root may pick any
   * algorithm the kernel has, allowed list or not (tcp_set_congestion_control).
   */
  | { congestion: 'cubic' | 'reno' };

/**
 * A wire fault: nftables rules in the PEER namespace (both runs). "in" drops
 * what the subject sends (after the capture point: tcpdump still sees it),
 * "out" drops what the peer sends to the subject (before the capture point:
 * tcpdump never sees it). `only` narrows the match to some segments.
 * `delayMs` (dir 'out') holds instead of dropping: everything the peer sends
 * to the subject leaves that much later, in order (queue-faults.ts).
 */
export interface Fault {
  dir: 'in' | 'out' | 'both';
  /** rst: RST segments; syn-ack: SYN+ACK; pure-ack: exactly ACK (no data flags). Default: every packet. */
  only?: 'rst' | 'syn-ack' | 'pure-ack';
  /**
   * Only some of the data segments the subject sends on one connection
   * (dir must be 'in'); see segment-faults.ts for the nftables rules.
   */
  segments?: SegmentSelector;
  /** dir 'out' only: delay, not drop, every packet of the peer to the subject (1-1000 ms). */
  delayMs?: number;
}

/**
 * Data segments of the subject on the connection of peer socket `sock`,
 * numbered from 1 in sequence order: segment k is the one whose first byte
 * is byte `start` + (k-1)·`bytes` + 1 of the stream (`bytes` is the MSS the subject
 * sends with, 1448 with timestamps on a 1500-byte MTU). Each of segments
 * `from`..`to` is dropped the first `times` times it passes (a lost
 * retransmission: `times` 2), or, with `action` 'dup', delivered twice the
 * first time it passes, or, with `action` 'reorder', held the first time it
 * passes until `after` later data segments have reached the peer's TCP
 * (queue-faults.ts).
 */
export interface SegmentSelector {
  sock: string;
  from: number;
  to: number;
  times: number;
  action: 'drop' | 'dup' | 'reorder';
  bytes: number;
  /** action 'reorder': how many later segments overtake each selected one (1-64). */
  after?: number;
  /** Stream offset of segment 1's first byte (default 0): segments of a later write. */
  start?: number;
}

/**
 * A crafted segment sent by the peer's agent through a raw socket. Sequence
 * numbers are either absolute or relative to the live connection `sock` (a
 * peer socket name): `seq` as an offset from the subject's RCV.NXT (= what
 * the peer has sent), `ack` as an offset from the subject's SND.NXT, both
 * read from the capture so far.
 */
export interface CraftSpec {
  /** tcpdump letters: S F R P and '.' for ACK, e.g. 'R', 'S', '.', 'F.'. */
  flags: string;
  /** The connection to aim at (peer socket name); omit for absolute numbers. */
  sock?: string;
  /** Peer source port and subject destination port when `sock` is not given. */
  sport?: number;
  dport?: number;
  /** Absolute when `sock` is absent, else an offset from the subject's RCV.NXT. */
  seq: number;
  /** Absolute when `sock` is absent, else an offset from the subject's SND.NXT. */
  ack: number;
  window?: number;
  payload?: number;
}

interface SideStep {
  side: Side;
}

export type Step =
  | (SideStep & { op: 'listen'; sock: string; port: number; backlog: number })
  | (SideStep & { op: 'accept'; sock: string; listener: string; timeoutMs: number })
  /** Blocking connect; on timeout the application gives up and closes the socket (result 'timeout'). */
  | (SideStep & { op: 'connect'; sock: string; port: number; timeoutMs: number; before?: SockOpt[] })
  /** recv(max) with a timeout: bytes count, 'EOF', 'timeout' or an errno name. */
  | (SideStep & { op: 'read'; sock: string; max: number; timeoutMs: number })
  /** send every byte (bounded by the timeout): bytes count, 'timeout(N)' with N taken, or an errno. */
  | (SideStep & { op: 'write'; sock: string; bytes: number; timeoutMs: number })
  | (SideStep & { op: 'close'; sock: string })
  | (SideStep & { op: 'shutdown'; sock: string; how: 'read' | 'write' | 'both' })
  | (SideStep & { op: 'setsockopt'; sock: string; opt: SockOpt })
  /** A sysctl changed mid-scenario (the start values are Scenario.sysctls). */
  | (SideStep & { op: 'sysctl'; name: string; value: number })
  /**
   * The side's host forgets every connection at once, silently. Kernel: `ss -K`
   * on its connections with the RSTs that causes dropped by nft in its own
   * namespace, so the other side hears nothing; listeners survive. Stack:
   * stack.tcp.crash(), then the listeners the application had are opened again
   * (a rebooted host whose server came back).
   */
  | (SideStep & { op: 'crash' })
  | { side: 'peer'; op: 'craft'; segment: CraftSpec }
  /**
   * Sleeps `ms`; with `since` (the 1-based index of an earlier step), until
   * `ms` after that step's start instead: steps on a fixed time grid, whatever
   * each one took (none if that time has passed).
   */
  | { op: 'sleep'; ms: number; since?: number }
  /** Turns a named fault on (`fault` given) or off (absent). */
  | { op: 'fault'; name: string; fault?: Fault };

/**
 * A difference the comparison may accept for this scenario, allowed only
 * where Linux's own behaviour makes an exact match impossible; each carries
 * the reason, printed with the result.
 */
export type Allowance =
  /**
   * Bulk byte counts: how many bytes fit before a window closes, and hence
   * the sequence numbers after it, depend on Linux's receive-memory
   * accounting (skb truesize, scaling_ratio) and send-buffer autotuning.
   * Data totals, write counts and the seq/ack of segments after the first
   * data are then not compared (flags, kinds and times still are).
   */
  | { kind: 'bulk-bytes'; why: string };

export interface Scenario {
  name: string;
  /** One line: what happens. */
  title: string;
  /**
   * Where the Linux behaviour this exercises is written down: docs/ pages
   * with the section's anchor, e.g. 'docs/linux-behaviour.md#7-keepalive'.
   */
  docs: readonly string[];
  /** Sysctls at the start, by Linux name, per side (peer: the peer namespace in both runs). */
  sysctls?: { subject?: Record<string, number | string>; peer?: Record<string, number | string> };
  /**
   * The peer acknowledges every segment at once: its route to the subject
   * carries `quickack 1` (RTAX_QUICKACK, which tcp_in_quickack_mode obeys),
   * in both runs. For scenarios about the subject's sending, where the
   * peer's delayed-ACK timer racing the subject's tail loss probe would
   * decide the outcome by a millisecond.
   */
  peerQuickack?: boolean;
  /**
   * Compare the subject's segments captured less than REACTION_MS after
   * segments of the peer as if ahead of them (compare.ts, "order across
   * directions"). For scenarios whose subject answers bursts of the peer's
   * ACKs (the loss scenarios); elsewhere two independent timers firing
   * close together would lose the order the capture shows.
   */
  reactionWindow?: boolean;
  steps: Step[];
  allow?: Allowance[];
  /**
   * Subject counters (Linux's nstat names, e.g. 'TcpExtTCPLossProbes')
   * compared exactly at the end of the scenario: the kernel subject's
   * namespace (/proc/net/snmp and /proc/net/netstat there), our stack's
   * `counters`. Both start from zero in every run.
   */
  counters?: readonly string[];
}

/** What one step returned, in the agent's vocabulary. */
export interface StepRecord {
  index: number;
  /** Wall-clock microseconds (CLOCK_REALTIME, as tcpdump's timestamps). */
  startUs: number;
  endUs: number;
  result: string;
}

// ---------------------------------------------------------------------------
// Builders: scenarios read as a list of `peer.listen(...)`, `subject.read(...)`.

const DEFAULT_TIMEOUT = 2000;

function sideBuilder(side: Side) {
  return {
    listen: (sock: string, port: number, backlog = 16): Step => ({ side, op: 'listen', sock, port, backlog }),
    accept: (sock: string, listener: string, timeoutMs = DEFAULT_TIMEOUT): Step => ({ side, op: 'accept', sock, listener, timeoutMs }),
    connect: (sock: string, port: number, timeoutMs = DEFAULT_TIMEOUT): Step => ({ side, op: 'connect', sock, port, timeoutMs }),
    /** connect() with socket options set on the new socket first (SO_RCVBUF: the window scale in the SYN follows it). */
    connectWith: (sock: string, port: number, before: SockOpt[], timeoutMs = DEFAULT_TIMEOUT): Step => ({ side, op: 'connect', sock, port, timeoutMs, before }),
    read: (sock: string, max: number, timeoutMs = DEFAULT_TIMEOUT): Step => ({ side, op: 'read', sock, max, timeoutMs }),
    write: (sock: string, bytes: number, timeoutMs = DEFAULT_TIMEOUT): Step => ({ side, op: 'write', sock, bytes, timeoutMs }),
    close: (sock: string): Step => ({ side, op: 'close', sock }),
    shutdown: (sock: string, how: 'read' | 'write' | 'both'): Step => ({ side, op: 'shutdown', sock, how }),
    setsockopt: (sock: string, opt: SockOpt): Step => ({ side, op: 'setsockopt', sock, opt }),
    sysctl: (name: string, value: number): Step => ({ side, op: 'sysctl', name, value }),
    crash: (): Step => ({ side, op: 'crash' }),
  };
}

export const subject = sideBuilder('subject');
export const peer = {
  ...sideBuilder('peer'),
  craft: (segment: CraftSpec): Step => ({ side: 'peer', op: 'craft', segment }),
};
export const sleep = (ms: number): Step => ({ op: 'sleep', ms });
export const sleepUntil = (since: number, ms: number): Step => ({ op: 'sleep', ms, since });
export const faultOn = (name: string, fault: Fault): Step => ({ op: 'fault', name, fault });
export const faultOff = (name: string): Step => ({ op: 'fault', name });

/** One line describing a step, for the side-by-side print. */
export function describeStep(step: Step): string {
  switch (step.op) {
    case 'sleep':
      return step.since !== undefined ? `sleep until s${step.since}+${step.ms} ms` : `sleep ${step.ms} ms`;
    case 'fault':
      if (step.fault?.segments) return `fault ${step.name} on: ${describeSegments(step.fault.segments)}`;
      if (step.fault?.delayMs !== undefined) return `fault ${step.name} on: delay ${step.fault.dir} ${step.fault.delayMs} ms`;
      return step.fault ? `fault ${step.name} on: drop ${step.fault.dir}${step.fault.only ? ` ${step.fault.only}` : ''}` : `fault ${step.name} off`;
    case 'craft': {
      const s = step.segment;
      const where = s.sock !== undefined ? `on ${s.sock} seq RCV.NXT${fmtOff(s.seq)} ack SND.NXT${fmtOff(s.ack)}` : `${s.sport}→${s.dport} seq ${s.seq} ack ${s.ack}`;
      return `peer craft [${s.flags}] ${where}${s.payload ? ` len ${s.payload}` : ''}`;
    }
    default:
      break;
  }
  const who = step.side.padEnd(7);
  switch (step.op) {
    case 'listen':
      return `${who} listen ${step.sock} :${step.port} backlog ${step.backlog}`;
    case 'accept':
      return `${who} accept ${step.sock} from ${step.listener}`;
    case 'connect':
      return `${who} connect ${step.sock} :${step.port}${step.before ? ` after ${step.before.map(describeOpt).join(', ')}` : ''} (gives up at ${step.timeoutMs} ms)`;
    case 'read':
      return `${who} read ${step.sock} ${step.max} (${step.timeoutMs} ms)`;
    case 'write':
      return `${who} write ${step.sock} ${step.bytes}`;
    case 'close':
      return `${who} close ${step.sock}`;
    case 'shutdown':
      return `${who} shutdown ${step.sock} ${step.how}`;
    case 'setsockopt':
      return `${who} setsockopt ${step.sock} ${describeOpt(step.opt)}`;
    case 'sysctl':
      return `${who} sysctl ${step.name}=${step.value}`;
    case 'crash':
      return `${who} CRASH (forgets its connections)`;
  }
}

function fmtOff(n: number): string {
  return n === 0 ? '' : n > 0 ? `+${n}` : `${n}`;
}

function describeSegments(g: SegmentSelector): string {
  const which = g.from === g.to ? `segment ${g.from}` : `segments ${g.from}-${g.to}`;
  if (g.action === 'reorder') return `reorder subject's data ${which} on ${g.sock} behind ${g.after ?? '?'} later`;
  const what = g.action === 'dup' ? 'duplicate' : 'drop';
  return `${what} subject's data ${which} on ${g.sock}${g.action === 'drop' && g.times > 1 ? ` ${g.times} times` : ''}`;
}

export function describeOpt(opt: SockOpt): string {
  if ('linger' in opt) return `SO_LINGER {${opt.linger.on ? 1 : 0},${opt.linger.seconds}}`;
  if ('keepalive' in opt) return `keepalive idle ${opt.keepalive.idle} intvl ${opt.keepalive.intvl} cnt ${opt.keepalive.cnt}`;
  if ('userTimeoutMs' in opt) return `TCP_USER_TIMEOUT ${opt.userTimeoutMs}`;
  if ('linger2' in opt) return `TCP_LINGER2 ${opt.linger2}`;
  if ('congestion' in opt) return `TCP_CONGESTION ${opt.congestion}`;
  if ('sndbuf' in opt) return `SO_SNDBUF ${opt.sndbuf}`;
  return `SO_RCVBUF ${opt.rcvbuf}`;
}
