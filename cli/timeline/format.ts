/**
 * The timeline: one line per trace event,
 *
 *   TIME CONNECTION WHAT
 *   0.000 198.18.0.2:7>198.18.0.1:41234 < S 0:0(0) win 64240 <mss 1460,sackOK,TS,nop,wscale 10>
 *   0.000 198.18.0.2:7>198.18.0.1:41234 SYN-RECV → ESTAB
 *   1.204 7-41234 RST via closeWithUnread (tcp_send_active_reset, TCP_ABORT_ON_CLOSE) in __tcp_close (data_was_unread)
 *
 * TIME is seconds.milliseconds since the trace started (or wall-clock time,
 * cli/timeline/time.ts); CONNECTION is our
 * end > the peer's once a segment named the addresses, the connection id
 * (LOCALPORT-REMOTEPORT) before that, '-' for events of no connection.
 * Segments are written as the old tcpdump did, with today's flag letters
 * (those of tcpdump and of packetdrill scripts: S, S., P., F., R.): `<`
 * received, `>` sent, the flags, sequence numbers relative to the
 * first one seen in each direction of the connection (a SYN starts over),
 * `first:last(len)` unless it is a pure ACK in sequence, the ACK, the window
 * field as sent, the options in wire order, and for a retransmission what
 * sent it: `(TLP retransmit)`.
 */
import type { ForgottenCounts, TcpSegmentEvent, TcpStateSample, TraceEvent } from '../../stack/trace.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../../stack/wire/tcp.ts';
import { linuxStateName } from '../state-names.ts';
import { eventConn } from './filter.ts';
import { formatEpoch, formatTime, formatWall, parseWall, type TimeFormat, type WallAnchor } from './time.ts';

export { formatTime } from './time.ts';

/** The first record of a trace file: when it started (stack clock, ms), and on what. */
export interface TraceHeader {
  kind: 'trace-start';
  t: number;
  version: 1;
  /** The stack's addresses (IPv4, and IPv6 when it has one) and the wall-clock time the trace started (ISO 8601). */
  addr?: string;
  addr6?: string;
  wall?: string;
}

export type TimelineRecord = TraceEvent | TraceHeader;

/** The kernel function behind each RST generator (stack/tcp/reset.ts), by family. */
const GENERATOR_FN = { reply: 'tcp_v4_send_reset', active: 'tcp_send_active_reset' } as const;
const GENERATOR_FN6 = { reply: 'tcp_v6_send_reset', active: 'tcp_send_active_reset' } as const;

const ICMP_NAMES: Record<string, string> = {
  '0/0': 'echo reply',
  '3/0': 'net unreachable',
  '3/1': 'host unreachable',
  '3/2': 'protocol unreachable',
  '3/3': 'port unreachable',
  '3/4': 'fragmentation needed',
  '11/0': 'time exceeded in transit',
  '11/1': 'fragment reassembly time exceeded',
  '12/0': 'parameter problem',
};

/** RFC 4443's names of the ICMPv6 messages the stack sends. */
const ICMPV6_NAMES: Record<string, string> = {
  '1/0': 'no route to destination',
  '1/1': 'administratively prohibited',
  '1/3': 'address unreachable',
  '1/4': 'port unreachable',
  '2/0': 'packet too big',
  '3/0': 'hop limit exceeded in transit',
  '3/1': 'fragment reassembly time exceeded',
  '4/0': 'erroneous header field',
  '4/1': 'unrecognized next header',
  '4/2': 'unrecognized IPv6 option',
  '4/3': 'first fragment has incomplete header chain',
  '129/0': 'echo reply',
};

const icmpName = (type: number, code: number): string => ICMP_NAMES[`${type}/${code}`] ?? `type ${type} code ${code}`;
const icmpv6Name = (type: number, code: number): string => ICMPV6_NAMES[`${type}/${code}`] ?? `type ${type} code ${code}`;

/**
 * The flags as tcpdump prints them and packetdrill scripts write them
 * (print-tcp.c's tcp_flag_values, in its order F S R P . U E W, '.' being
 * the ACK): S, S., ., P., F., FP., R, R., SEW, S.E; "none" for none at all.
 */
export function flagLetters(flags: number): string {
  let s = '';
  if (flags & TCP_FIN) s += 'F';
  if (flags & TCP_SYN) s += 'S';
  if (flags & TCP_RST) s += 'R';
  if (flags & TCP_PSH) s += 'P';
  if (flags & TCP_ACK) s += '.';
  if (flags & TCP_URG) s += 'U';
  if (flags & TCP_ECE) s += 'E';
  if (flags & TCP_CWR) s += 'W';
  return s === '' ? 'none' : s;
}

/** What sent a retransmission (the trace's `rtx`: docs/tracing.md), in the words of the counter that counts it. */
const RETRANSMITTED_BY: Record<string, string> = {
  rto: 'RTO retransmit', // TcpExtTCPTimeouts
  'slow-start': 'slow-start retransmit', // TcpExtTCPSlowStartRetrans, after an RTO
  fast: 'fast retransmit', // TcpExtTCPFastRetrans
  tlp: 'TLP retransmit', // TcpExtTCPLossProbes
  syn: 'SYN retransmit', // TcpExtTCPSynRetrans
  synack: 'SYN-ACK retransmit',
};

/** The mark after a retransmitted segment: "(fast retransmit)"; a mechanism of a newer trace as it is named. */
export function retransmitMark(rtx: string): string {
  return `(${RETRANSMITTED_BY[rtx] ?? `${rtx} retransmit`})`;
}

interface Direction {
  /** First sequence number seen (the ISN after a SYN). */
  base: number | undefined;
  /** Next sequence number expected (relative), to tell an in-sequence pure ACK. */
  next: number;
}

interface ConnState {
  name: string | undefined;
  in: Direction;
  out: Direction;
}

export interface TimelineOptions {
  /** Time zero, in the events' clock (ms); the first record's time when omitted. */
  start?: number;
  /** The TIME column's clock (cli/timeline/time.ts); rel by default. */
  time?: TimeFormat;
  /** The wall-clock time at one point of the events' clock; a trace-start header with `wall` sets it too. */
  anchor?: WallAnchor;
}

/** A wall-clock TIME column asked of a trace that does not say when it was recorded. */
export class NoWallClockError extends Error {
  override readonly name = 'NoWallClockError';
}

export class TimelinePrinter {
  private start: number | undefined;
  private anchor: WallAnchor | undefined;
  private readonly time: TimeFormat;
  private readonly conns = new Map<string, ConnState>();

  constructor(options: TimelineOptions = {}) {
    this.start = options.start;
    this.anchor = options.anchor;
    this.time = options.time ?? 'rel';
  }

  /** Learns from an event that is not printed (addresses, sequence bases, the header's times), so later lines read the same. */
  note(e: TimelineRecord): void {
    if (this.start === undefined) this.start = e.t;
    if (e.kind === 'trace-start') {
      this.start = e.t;
      const wallMs = e.wall === undefined ? undefined : parseWall(e.wall);
      if (wallMs !== undefined) this.anchor = { t: e.t, wallMs };
      return;
    }
    if (e.kind === 'tcp-seg') this.segment(e);
  }

  /** The TIME column for an event at `t` (the events' clock, ms). */
  private timeColumn(t: number): string {
    if (this.time === 'rel') return formatTime(t - this.start!);
    if (this.anchor === undefined) throw new NoWallClockError(`no wall-clock time: the trace has no trace-start header with "wall" (--time rel needs none)`);
    const wallMs = this.anchor.wallMs + (t - this.anchor.t);
    return this.time === 'wall' ? formatWall(wallMs) : formatEpoch(wallMs);
  }

  /** The line for `e` (no newline), or undefined for a header record. */
  format(e: TimelineRecord): string | undefined {
    if (e.kind === 'trace-start') {
      this.note(e);
      return undefined;
    }
    if (this.start === undefined) this.start = e.t;
    const time = this.timeColumn(e.t);
    if (e.kind === 'tcp-seg') {
      const body = this.segment(e);
      return `${time} ${this.connColumn(e.conn)} ${body}`;
    }
    const conn = eventConn(e);
    return `${time} ${conn === undefined ? '-' : this.connColumn(conn)} ${describe(e)}`;
  }

  private connColumn(id: string): string {
    return this.conns.get(id)?.name ?? id;
  }

  /** Updates the connection's numbering with `e` and returns its text. */
  private segment(e: TcpSegmentEvent): string {
    let c = this.conns.get(e.conn);
    if (c === undefined) {
      c = { name: undefined, in: { base: undefined, next: 0 }, out: { base: undefined, next: 0 } };
      this.conns.set(e.conn, c);
    }
    c.name =
      e.local6 === undefined
        ? `${formatIpv4(e.local)}:${e.localPort}>${formatIpv4(e.remote)}:${e.remotePort}`
        : `[${e.local6}]:${e.localPort}>[${e.remote6 ?? '?'}]:${e.remotePort}`;
    const mine = e.dir === 'in' ? c.in : c.out;
    const theirs = e.dir === 'in' ? c.out : c.in;
    const syn = (e.flags & TCP_SYN) !== 0;
    if (syn || mine.base === undefined) {
      mine.base = e.seq;
      mine.next = 0;
    }
    // The peer's ACK of our SYN tells their view of our ISN even if we never saw it sent.
    if (theirs.base === undefined && e.flags & TCP_ACK && !(e.flags & TCP_RST)) {
      theirs.base = (e.ack - 1) >>> 0;
      theirs.next = 1;
    }
    const rel = (e.seq - mine.base) >>> 0;
    const seqLen = e.len + (syn ? 1 : 0) + (e.flags & TCP_FIN ? 1 : 0);
    const end = (rel + seqLen) >>> 0;
    const pureAck = seqLen === 0 && !(e.flags & TCP_RST) && (e.flags & TCP_ACK) !== 0 && rel === mine.next;
    if (((end - mine.next) | 0) > 0) mine.next = end;

    let s = `${e.dir === 'in' ? '<' : '>'} ${flagLetters(e.flags)}`;
    if (!pureAck) s += ` ${rel}:${(rel + e.len) >>> 0}(${e.len})`;
    if (e.flags & TCP_ACK) s += ` ack ${theirs.base === undefined ? e.ack : (e.ack - theirs.base) >>> 0}`;
    s += ` win ${e.win}`;
    if (e.options !== '') {
      const opts = e.options.split(',').map((o) => {
        if (!o.startsWith('sack ') || e.sack === undefined) return o;
        const base = theirs.base ?? 0;
        let blocks = '';
        for (let i = 0; i + 1 < e.sack.length; i += 2) blocks += `{${(e.sack[i]! - base) >>> 0}:${(e.sack[i + 1]! - base) >>> 0}}`;
        return `${o} ${blocks}`;
      });
      s += ` <${opts.join(',')}>`;
    }
    if (e.rtx !== undefined) s += ` ${retransmitMark(e.rtx)}`;
    return s;
  }
}

/** The WHAT column of every event but a segment. */
export function describe(e: TraceEvent): string {
  switch (e.kind) {
    case 'tcp-seg':
      return `${e.dir === 'in' ? '<' : '>'} ${flagLetters(e.flags)} seq ${e.seq} ack ${e.ack} len ${e.len} win ${e.win}`;
    case 'tcp-state':
      return `${linuxStateName(e.from)} → ${linuxStateName(e.to)}`;
    case 'tcp-timer':
      return e.action === 'arm' ? `timer ${e.timer} armed ${formatMs(e.ms ?? 0)}` : `timer ${e.timer} fired`;
    case 'tcp-cc':
      return describeSample(e);
    case 'tcp-ca':
      return `ca ${e.from} → ${e.to}`;
    case 'tcp-undo':
      return `undo (${e.how})`;
    case 'tcp-challenge-ack':
      return `challenge ACK (${e.why})`;
    case 'tcp-error':
      return `errno ${e.errno}`;
    case 'tcp-rst':
      return `RST via ${e.path} (${(e.ipv6 ? GENERATOR_FN6 : GENERATOR_FN)[e.generator] ?? e.generator}, ${e.reason}) in ${e.linux}`;
    case 'drop':
      return `drop ${e.reason}${e.detail ? ` (${e.detail})` : ''}`;
    case 'icmp-out':
      return e.to6 === undefined ? `icmp ${icmpName(e.type, e.code)} to ${formatIpv4(e.to)}` : `icmp6 ${icmpv6Name(e.type, e.code)} to ${e.to6}`;
    case 'icmp-ratelimit':
      return `${e.to6 === undefined ? `icmp ${icmpName(e.type, e.code)} to ${formatIpv4(e.to)}` : `icmp6 ${icmpv6Name(e.type, e.code)} to ${e.to6}`} rate-limited (${e.scope})`;
    case 'reasm-timeout':
      return `reassembly timeout: id ${e.id} from ${e.source6 ?? formatIpv4(e.source)}`;
    case 'internal-error':
      return `internal error: ${e.message}`;
    case 'host-crash':
      return `host crash: ${describeForgotten(e)}`;
    default: {
      // A kind from a newer trace file: show its fields as they are.
      const { kind, t: _t, ...rest } = e as { kind: string; t: number };
      return `${kind} ${JSON.stringify(rest)}`;
    }
  }
}

/** ms as ss prints them: at most 3 decimals, unit attached (204ms, 0.5ms). */
function formatMs(ms: number): string {
  return `${Number(ms.toFixed(3))}ms`;
}

/**
 * A state sample in ss -i's words where it has them: "ack: open cwnd 10
 * ssthresh 7 inflight 3 rtt 20.5/4.25 rto 220 sample 21ms snd_wnd 65535
 * rcv_wnd 64240 sndq 4096 rcvq 0" (ssthresh only once set).
 */
function describeSample(e: TcpStateSample): string {
  let s = `${e.why}: ${e.ca} cwnd ${e.cwnd}`;
  if (e.ssthresh < 0x7fffffff) s += ` ssthresh ${e.ssthresh}`;
  s += ` inflight ${e.inflight} rtt ${Number(e.srtt.toFixed(3))}/${Number(e.rttvar.toFixed(3))} rto ${Math.round(e.rto)}`;
  if (e.rtt !== undefined) s += ` sample ${formatMs(e.rtt)}`;
  return `${s} snd_wnd ${e.sndWnd} rcv_wnd ${e.rcvWnd} sndq ${e.sndQ} rcvq ${e.rcvQ}`;
}

/**
 * What a host crash forgot, in the words both the timeline and `up`'s
 * SIGUSR1 line use: "4 connections and 1 TIME_WAIT forgotten", "0
 * connections, 2 TIME_WAIT and 1 request forgotten" (TIME_WAIT and requests
 * only when there were any).
 */
export function describeForgotten(c: ForgottenCounts): string {
  const parts = [`${c.connections} connection${c.connections === 1 ? '' : 's'}`];
  if (c.timeWait > 0) parts.push(`${c.timeWait} TIME_WAIT`);
  if (c.requests > 0) parts.push(`${c.requests} request${c.requests === 1 ? '' : 's'}`);
  const last = parts.pop()!;
  return `${parts.length > 0 ? `${parts.join(', ')} and ${last}` : last} forgotten`;
}
