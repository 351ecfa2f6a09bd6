/**
 * The parsed form of a packet script, shaped after packetdrill's own
 * (script.h: struct script, struct event, struct packet, struct
 * syscall_spec, struct expression). Times are integer microseconds, as in
 * packetdrill (a float `0.1` becomes `(s64)(0.1 * 1e6)`).
 */

import type { IpVersion } from './ip-version.ts';

/** packetdrill's enum event_time_t. */
export type TimeType = 'absolute' | 'relative' | 'any' | 'absolute-range' | 'relative-range';

/** One TCP option as written in a script, in script order. */
export type TcpOptionSpec =
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; value: number }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'ts'; val: number; ecr: number }
  /** `FO [cookie]`, `FOEXP [cookie]`: Fast Open (RFC 7413), empty cookie = a request; FOEXP is kind 254 with magic 0xF989. */
  | { kind: 'fastopen'; exp: boolean; cookie: Uint8Array }
  /** `md5 DIGEST`: an MD5 signature option (RFC 2385) with the digest as written (up to 16 bytes). */
  | { kind: 'md5'; digest: Uint8Array };

/**
 * An ICMP packet line (`< icmp unreachable frag_needed mtu 1200 [1:1461(1460)]`,
 * over IPv6 `< icmp packet_too_big mtu 1280 [1:1461(1460)]`): its family
 * (the wire's), type and code as numbers (packetdrill's names or
 * type_N/code_N), the next-hop MTU when given, and the TCP segment whose IP
 * header and first 8 bytes it quotes, as start sequence and payload length
 * in script space.
 */
export interface IcmpSpec {
  /** ICMPv4 or ICMPv6: the wire's family when the script was read. */
  family: 4 | 6;
  type: number;
  code: number;
  /** The 32 bits after the checksum: the MTU and the echo id as packetdrill places them. */
  rest: number;
  /** `mtu N` (only with IPv4's unreachable frag_needed or IPv6's packet_too_big). */
  mtu: number | undefined;
  /** `id N` (echo). */
  id: number;
  echoedSeq: number;
  echoedLen: number;
}

/**
 * packetdrill's ip_info in brackets or parentheses after the direction:
 * `[ect0]`, `[ect1]`, `[ce]`, `[noecn]` (the ECN field), `[ect01]` (either
 * ECT, outbound only), `[tos 0x..]` (the whole TOS byte, IPv6's traffic
 * class), `[ttl N]` (IPv6's hop limit), `[flowlabel 0xN]` or
 * `[ect0, flowlabel 0xN]` (IPv6 only).
 */
export interface IpInfoSpec {
  /** TOS_CHECK_NONE, TOS_CHECK_ECN, TOS_CHECK_ECN_ECT01, TOS_CHECK_TOS. */
  tosCheck: 'none' | 'ecn' | 'ect01' | 'tos';
  /** The ECN codepoint (ecn) or the TOS byte (tos). */
  tos: number;
  /** 0: not given (not checked outbound). */
  ttl: number;
  /** 0: not given (not checked outbound, as verify_outbound_live_ipv6_flowlabel). */
  flowLabel: number;
}

export interface PacketSpec {
  direction: 'inbound' | 'outbound';
  /** Explicit `SRC>DST` ports (0 when absent, as in packetdrill). */
  srcPort: number;
  dstPort: number;
  /** The flag letters as written ('S', 'S.', '.', 'P.', '' for `-`). */
  flags: string;
  seq: number;
  /** Payload bytes (the `(len)` of `start:end(len)`); payload bytes are zeros. */
  len: number;
  /** `ack N`; 0 when absent (packetdrill's opt_ack). */
  ack: number;
  /** `win N`; undefined when absent (outbound: not checked; inbound: an error). */
  win: number | undefined;
  urg: number;
  /** undefined: `<...>` (options not checked); [] when the packet has no `<>` at all. */
  options: TcpOptionSpec[] | undefined;
  /** Set for an ICMP line; the TCP fields are then unused. */
  icmp?: IcmpSpec;
  /** `[ect0]`, `(tos 0x10)`, `[ttl 64]` … after the direction; undefined when absent. */
  ipInfo?: IpInfoSpec;
}

/** packetdrill's struct expression, for the subset the runner evaluates. */
export type Expr =
  | { type: 'ellipsis' }
  | { type: 'int'; value: number; hex: boolean }
  | { type: 'word'; name: string }
  | { type: 'string'; value: string; ellipsis: boolean }
  | { type: 'binary'; op: '|' | '='; lhs: Expr; rhs: Expr }
  | { type: 'list'; items: Expr[] }
  | { type: 'linger'; onoff: number; linger: number }
  | { type: 'pollfd'; fd: Expr; events: Expr; revents: Expr }
  | { type: 'iovec'; len: Expr }
  /** {msg_name(...)=..., msg_iov(N)=[...], msg_flags=F[, msg_control=[cmsg...]]} (parser.y's msghdr). */
  | { type: 'msghdr'; iovlen: number; iov: Expr; flags: Expr; control: Expr[] }
  | { type: 'cmsg'; level: Expr; ctype: Expr; data: Expr }
  /** {scm_sec=N, scm_nsec=N}: struct scm_timestamping with ts[0] set (parser.y's scm_timestamping_expr). */
  | { type: 'scmTimestamping'; sec: number; nsec: number }
  /** {ee_errno=E, ee_origin=E, ee_type=E, ee_code=E, ee_info=E, ee_data=E}: struct sock_extended_err (parser.y's sock_extended_err_expr). */
  | { type: 'extendedErr'; fields: Record<ExtendedErrField, Expr> }
  /** {events=E, fd=N} (or ptr=, u32=, u64=): struct epoll_event. */
  | { type: 'epollev'; events: Expr; field: 'fd' | 'ptr' | 'u32' | 'u64'; value: Expr }
  | { type: 'sockaddr'; family: string; port: number; addr: string }
  | { type: 'unsupported'; what: string };

/** The fields of packetdrill's sock_extended_err_expr, in the order a script writes them. */
export const EXTENDED_ERR_FIELDS = ['ee_errno', 'ee_origin', 'ee_type', 'ee_code', 'ee_info', 'ee_data'] as const;
export type ExtendedErrField = (typeof EXTENDED_ERR_FIELDS)[number];

export interface SyscallSpec {
  name: string;
  args: Expr[];
  /** `...END` of a blocking call, µs (absolute or relative like the event's time); undefined: non-blocking. */
  endUsecs: number | undefined;
  result: Expr;
  /** The errno name after the result (`= -1 ECONNRESET (...)`). */
  errno: string | undefined;
  note: string | undefined;
}

export type Action =
  | { kind: 'packet'; packet: PacketSpec }
  | { kind: 'syscall'; call: SyscallSpec }
  | { kind: 'command'; text: string }
  | { kind: 'code'; text: string };

export interface ScriptEvent {
  /** Line of the event's time. */
  line: number;
  timeType: TimeType;
  /** µs; relative times are made absolute when the event runs (adjust_relative_event_times). */
  timeUsecs: number;
  /** End of a range (µs), or undefined. */
  timeEndUsecs: number | undefined;
  action: Action;
}

export interface ScriptOption {
  name: string;
  value: string | undefined;
  line: number;
}

export interface Script {
  path: string;
  options: ScriptOption[];
  /** The IP version the script was read for: the command line's --ip_version, else the script's, else ipv4. */
  ipVersion: IpVersion;
  /** A back-quoted command before the first event (packetdrill's init_command). */
  initCommand: { text: string; line: number } | undefined;
  events: ScriptEvent[];
  /** A back-quoted command after the last event (packetdrill's cleanup_command). */
  cleanupCommand: { text: string; line: number } | undefined;
}

/** A script error with its place: printed as `file:line: message`. */
export class ScriptError extends Error {
  override readonly name = 'ScriptError';
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
    /** Extra lines (script packet / actual packet dumps). */
    readonly details: string[] = [],
  ) {
    super(message);
  }

  /** One line: `file:line: message`. */
  headline(): string {
    return `${this.file}:${this.line}: ${this.message}`;
  }
}

/** An expression as a script would write it (for traces). */
export function formatExpr(e: Expr): string {
  switch (e.type) {
    case 'ellipsis':
      return '...';
    case 'int':
      return e.hex ? `0x${e.value.toString(16)}` : String(e.value);
    case 'word':
      return e.name;
    case 'string':
      return JSON.stringify(e.value) + (e.ellipsis ? '...' : '');
    case 'binary':
      return `${formatExpr(e.lhs)}${e.op}${formatExpr(e.rhs)}`;
    case 'list':
      return `[${e.items.map(formatExpr).join(', ')}]`;
    case 'linger':
      return `{onoff=${e.onoff}, linger=${e.linger}}`;
    case 'pollfd':
      return `{fd=${formatExpr(e.fd)}, events=${formatExpr(e.events)}, revents=${formatExpr(e.revents)}}`;
    case 'iovec':
      return `{..., ${formatExpr(e.len)}}`;
    case 'msghdr': {
      const control = e.control.length > 0 ? `, msg_control=[${e.control.map(formatExpr).join(', ')}]` : '';
      return `{msg_name(...)=..., msg_iov(${e.iovlen})=${formatExpr(e.iov)}, msg_flags=${formatExpr(e.flags)}${control}}`;
    }
    case 'cmsg':
      return `{cmsg_level=${formatExpr(e.level)}, cmsg_type=${formatExpr(e.ctype)}, cmsg_data=${formatExpr(e.data)}}`;
    case 'scmTimestamping':
      return `{scm_sec=${e.sec}, scm_nsec=${e.nsec}}`;
    case 'extendedErr':
      return `{${EXTENDED_ERR_FIELDS.map((f) => `${f}=${formatExpr(e.fields[f])}`).join(', ')}}`;
    case 'epollev':
      return `{events=${formatExpr(e.events)}, ${e.field}=${formatExpr(e.value)}}`;
    case 'sockaddr':
      return `{sa_family=${e.family}, sin_port=htons(${e.port}), sin_addr=inet_addr(${JSON.stringify(e.addr)})}`;
    case 'unsupported':
      return `<${e.what}>`;
  }
}

/** A system call as a script would write it, without its result. */
export function formatCall(call: SyscallSpec): string {
  return `${call.name}(${call.args.map(formatExpr).join(', ')})`;
}
