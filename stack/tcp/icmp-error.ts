/**
 * ICMP errors about our own segments (tcp_v4_err in net/ipv4/tcp_ipv4.c):
 * the quoted TCP header names the connection; a quote whose sequence number
 * is outside SND.UNA..SND.NXT is ignored (TcpExtOutOfWindowIcmps), so a
 * blind attacker must guess it. In SYN_SENT a hard error ends the connect
 * at once with the errno of icmp_err_convert; on a synchronized connection
 * the error is only kept (sk_err_soft): it replaces ETIMEDOUT should a timer
 * give up later, and SO_ERROR hands it out once (RFC 1122 §4.2.3.9).
 *
 * "Fragmentation needed" is no error for the socket: it is path MTU
 * discovery (RFC 1191), handed to tcp_v4_mtu_reduced (./pmtu.ts). An error
 * about a pending request follows tcp_req_err (isRequestFatal).
 *
 * ICMPv6 errors follow tcp_v6_err (connectionIcmpv6Error): Packet Too Big
 * is path MTU discovery, the others map through icmpv6_err_convert.
 *
 * Not modelled: the RTO revert of RFC 6069 (tcp_ld_RTO_revert) and
 * IP_RECVERR; see docs/linux-behaviour.md.
 */
import { ICMP_DEST_UNREACH, ICMP_PARAMETER_PROBLEM, ICMP_TIME_EXCEEDED } from '../wire/icmp.ts';
import type { Connection } from './connection.ts';
import { tcpDone } from './endings.ts';
import { acceptPmtu6, mtuReduced, mtuReduced6 } from './pmtu.ts';
import { seqGe, seqLe } from './seq.ts';
import type { TcpErrno } from './types.ts';

/** ICMP_FRAG_NEEDED: path MTU discovery, not an error for the socket. */
const ICMP_FRAG_NEEDED = 4;

/** icmp_err_convert (net/ipv4/icmp.c), destination-unreachable code → errno. */
const UNREACH_ERRNO: readonly TcpErrno[] = [
  'ENETUNREACH', // 0 net unreachable
  'EHOSTUNREACH', // 1 host unreachable
  'ENOPROTOOPT', // 2 protocol unreachable
  'ECONNREFUSED', // 3 port unreachable
  'EMSGSIZE', // 4 fragmentation needed (handled apart)
  'EOPNOTSUPP', // 5 source route failed
  'ENETUNREACH', // 6 net unknown
  'EHOSTDOWN', // 7 host unknown
  'ENONET', // 8 host isolated
  'ENETUNREACH', // 9 net administratively prohibited
  'EHOSTUNREACH', // 10 host administratively prohibited
  'ENETUNREACH', // 11 net unreachable for TOS
  'EHOSTUNREACH', // 12 host unreachable for TOS
  'EHOSTUNREACH', // 13 communication administratively prohibited
  'EHOSTUNREACH', // 14 host precedence violation
  'EHOSTUNREACH', // 15 precedence cut-off in effect
];

/** The errno tcp_v4_err gives an ICMP message, or undefined for one it ignores. */
export function icmpErrno(type: number, code: number): TcpErrno | undefined {
  switch (type) {
    case ICMP_PARAMETER_PROBLEM:
      return 'EPROTO';
    case ICMP_TIME_EXCEEDED:
      return 'EHOSTUNREACH';
    case ICMP_DEST_UNREACH:
      if (code === ICMP_FRAG_NEEDED) return undefined;
      return UNREACH_ERRNO[code];
    default:
      return undefined; // source quench, redirect: nothing for the socket
  }
}

/** ICMP_NET_UNREACH, ICMP_HOST_UNREACH: with parameter problem and time exceeded, what ends a pending request. */
const ICMP_NET_UNREACH = 0;
const ICMP_HOST_UNREACH = 1;

/** tcp_v4_err's `fatal` argument to tcp_req_err: which errors drop a request sock (the rest leave it alone). */
export function isRequestFatal(type: number, code: number): boolean {
  return (
    type === ICMP_PARAMETER_PROBLEM ||
    type === ICMP_TIME_EXCEEDED ||
    (type === ICMP_DEST_UNREACH && (code === ICMP_NET_UNREACH || code === ICMP_HOST_UNREACH))
  );
}

/**
 * tcp_v4_err for an established-table socket, given the quoted sequence
 * number and the 32 bits after the ICMP checksum (`info`: the next-hop MTU
 * of "fragmentation needed" in its low 16 bits, RFC 1191 §4).
 */
export function connectionIcmpError(c: Connection, type: number, code: number, seq: number, info = 0): void {
  if (c.state === 'CLOSED') return;
  if (!(seqGe(seq, windowStart(c)) && seqLe(seq, c.sndNxt))) {
    c.ctx.counters.TcpExtOutOfWindowIcmps++;
    return;
  }
  if (type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED) {
    mtuReduced(c, info & 0xffff);
    return;
  }
  const errno = icmpErrno(type, code);
  if (errno === undefined) return;
  if (c.state === 'SYN_SENT' || (c.state === 'SYN_RECV' && !acceptedFastOpen(c))) {
    // tcp_done_with_error: sk_err, the queues purged, tcp_done (TcpAttemptFails).
    c.pendingError = errno;
    c.ctx.counters.TcpAttemptFails++;
    c.ctx.trace?.({ kind: 'tcp-error', t: c.now(), conn: c.id, errno });
    tcpDone(c);
    return;
  }
  c.softError = errno;
}

/**
 * Where the quoted sequence number may start: SND.UNA, or for a Fast Open
 * child still in its handshake its ISN, as the SYN-ACK is not in its
 * queue (tcp_v4_err, tcp_v6_err: snd_una = fastopen ? snt_isn : snd_una).
 */
function windowStart(c: Connection): number {
  return c.fastOpenReq !== undefined ? c.fastOpenReq.iss : c.sndUna;
}

/** A Fast Open child accept() has taken: an error is no longer fatal to it, as for a connected socket (tcp_v4_err). */
function acceptedFastOpen(c: Connection): boolean {
  return c.fastOpenReq !== undefined && c.fastOpenReq.childAccepted;
}

/** ICMPv6 types (RFC 4443 §3) as tcp_v6_err meets them. */
const ICMPV6_DEST_UNREACH = 1;
const ICMPV6_PKT_TOOBIG = 2;
const ICMPV6_TIME_EXCEED = 3;
const ICMPV6_PARAMPROB = 4;
/** IPV6_MIN_MTU: a Packet Too Big below it is ignored (tcp_v6_err). */
const IPV6_MIN_MTU = 1280;

/** icmpv6_err_convert's table for destination unreachable, codes 0-6: errno and whether it is fatal. */
const UNREACH6: ReadonlyArray<readonly [TcpErrno, boolean]> = [
  ['ENETUNREACH', false], // no route
  ['EACCES', true], // administratively prohibited
  ['EHOSTUNREACH', false], // beyond scope
  ['EHOSTUNREACH', false], // address unreachable
  ['ECONNREFUSED', true], // port unreachable
  ['EACCES', true], // source address failed policy
  ['EACCES', true], // reject route
];

/** icmpv6_err_convert: the errno of an ICMPv6 error and whether it is fatal (what tcp_req_err takes). */
export function icmpv6Errno(type: number, code: number): { errno: TcpErrno; fatal: boolean } {
  switch (type) {
    case ICMPV6_DEST_UNREACH: {
      const entry = UNREACH6[code];
      return entry === undefined ? { errno: 'EPROTO', fatal: false } : { errno: entry[0], fatal: entry[1] };
    }
    case ICMPV6_PKT_TOOBIG:
      return { errno: 'EMSGSIZE', fatal: false };
    case ICMPV6_PARAMPROB:
      return { errno: 'EPROTO', fatal: true };
    case ICMPV6_TIME_EXCEED:
      return { errno: 'EHOSTUNREACH', fatal: false };
    default:
      return { errno: 'EPROTO', fatal: false };
  }
}

/**
 * tcp_v6_err for an established-table socket: the quoted sequence number
 * must be in SND.UNA..SND.NXT; Packet Too Big (at least the IPv6 minimum
 * MTU) is path MTU discovery (tcp_v6_mtu_reduced, ./pmtu.ts); any other
 * error ends a connection in SYN_SENT or SYN_RECV and is only kept as the
 * soft error on a synchronized one.
 */
export function connectionIcmpv6Error(c: Connection, type: number, code: number, seq: number, info: number): void {
  if (c.state === 'CLOSED') return;
  if (!(seqGe(seq, windowStart(c)) && seqLe(seq, c.sndNxt))) {
    c.ctx.counters.TcpExtOutOfWindowIcmps++;
    return;
  }
  if (type === ICMPV6_PKT_TOOBIG) {
    // tcp_v6_err: ignored under IPV6_PMTUDISC_INTERFACE or OMIT (ip6_sk_accept_pmtu).
    if (info >= IPV6_MIN_MTU && acceptPmtu6(c)) mtuReduced6(c, info);
    return;
  }
  const { errno } = icmpv6Errno(type, code);
  if (c.state === 'SYN_SENT' || (c.state === 'SYN_RECV' && !acceptedFastOpen(c))) {
    c.pendingError = errno;
    c.ctx.counters.TcpAttemptFails++;
    c.ctx.trace?.({ kind: 'tcp-error', t: c.now(), conn: c.id, errno });
    tcpDone(c);
    return;
  }
  c.softError = errno;
}
