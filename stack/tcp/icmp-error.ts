/**
 * ICMP errors about our own segments (tcp_v4_err in net/ipv4/tcp_ipv4.c):
 * the quoted TCP header names the connection; a quote whose sequence number
 * is outside SND.UNA..SND.NXT is ignored (TcpExtOutOfWindowIcmps), so a
 * blind attacker must guess it. In SYN_SENT a hard error ends the connect
 * at once with the errno of icmp_err_convert; on a synchronized connection
 * the error is only kept (sk_err_soft): it replaces ETIMEDOUT should a timer
 * give up later, and SO_ERROR hands it out once (RFC 1122 §4.2.3.9).
 *
 * Not modelled: "fragmentation needed" (path MTU, tcp_v4_mtu_reduced), the
 * RTO revert of RFC 6069 (tcp_ld_RTO_revert), errors about a pending
 * request (tcp_req_err) and IP_RECVERR; see docs/linux-behaviour.md.
 */
import { ICMP_DEST_UNREACH, ICMP_PARAMETER_PROBLEM, ICMP_TIME_EXCEEDED } from '../wire/icmp.ts';
import type { Connection } from './connection.ts';
import { tcpDone } from './endings.ts';
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

/** tcp_v4_err for an established-table socket, given the quoted sequence number. */
export function connectionIcmpError(c: Connection, type: number, code: number, seq: number): void {
  if (c.state === 'CLOSED') return;
  if (!(seqGe(seq, c.sndUna) && seqLe(seq, c.sndNxt))) {
    c.ctx.counters.TcpExtOutOfWindowIcmps++;
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
