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
 * Not modelled: the RTO revert of RFC 6069 (tcp_ld_RTO_revert) and
 * IP_RECVERR; see docs/linux-behaviour.md.
 */
import { ICMP_DEST_UNREACH, ICMP_PARAMETER_PROBLEM, ICMP_TIME_EXCEEDED } from '../wire/icmp.ts';
import type { Connection } from './connection.ts';
import { tcpDone } from './endings.ts';
import { mtuReduced } from './pmtu.ts';
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
  if (!(seqGe(seq, c.sndUna) && seqLe(seq, c.sndNxt))) {
    c.ctx.counters.TcpExtOutOfWindowIcmps++;
    return;
  }
  if (type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED) {
    mtuReduced(c, info & 0xffff);
    return;
  }
  const errno = icmpErrno(type, code);
  if (errno === undefined) return;
  if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV') {
    // tcp_done_with_error: sk_err, the queues purged, tcp_done (TcpAttemptFails).
    c.pendingError = errno;
    c.ctx.counters.TcpAttemptFails++;
    c.ctx.trace?.({ kind: 'tcp-error', t: c.now(), conn: c.id, errno });
    tcpDone(c);
    return;
  }
  c.softError = errno;
}
