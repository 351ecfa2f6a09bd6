/**
 * Answers to segments that fail a check but deserve an ACK, rate-limited per
 * socket (tcp_send_dupack, tcp_send_challenge_ack, __tcp_oow_rate_limited).
 */
import type { DropReason } from '../drop.ts';
import type { Connection } from './connection.ts';
import * as out from './output.ts';
import type { Segment } from './segment.ts';

/** tcp_send_dupack: pure ACKs and SYNs are rate-limited (tcp_invalid_ratelimit), data always answered. */
export function sendDupAck(c: Connection, seg: Segment): void {
  if (seg.payload.length === 0 && !oowAllowed(c)) {
    c.ctx.counters.TcpExtTCPACKSkippedSeq++;
    return;
  }
  c.ackNow = true;
  c.hooks.dirty(c);
}

/** __tcp_oow_rate_limited on tp->last_oow_ack_time: at most one answer per tcp_invalid_ratelimit. */
function oowAllowed(c: Connection): boolean {
  const now = c.now();
  if (now - c.lastOowAckTime < c.ctx.sysctl.tcp_invalid_ratelimit) return false;
  c.lastOowAckTime = now;
  return true;
}

/**
 * tcp_send_challenge_ack (RFC 5961 §§3.2, 4.2, 5.2): one per
 * tcp_invalid_ratelimit per socket, on the same clock as the out-of-window
 * duplicate ACKs (__tcp_oow_rate_limited on tp->last_oow_ack_time).
 */
export function challengeAck(c: Connection, why: string, syn: boolean): DropReason {
  const mib = c.ctx.counters;
  if (syn) {
    // tcp_validate_incoming's syn_inerr: only tcp_rcv_established passes 1.
    if (c.state === 'ESTABLISHED') mib.TcpInErrs++;
    mib.TcpExtTCPSYNChallenge++;
  }
  const now = c.now();
  if (!oowAllowed(c)) {
    mib.TcpExtTCPACKSkippedChallenge++;
    return syn ? 'TCP_INVALID_SYN' : 'TCP_RESET';
  }
  mib.TcpExtTCPChallengeACK++;
  c.ctx.trace?.({ kind: 'tcp-challenge-ack', t: now, conn: c.id, why });
  out.sendAck(c);
  return syn ? 'TCP_INVALID_SYN' : why === 'rst' ? 'TCP_RESET' : 'TCP_OLD_ACK';
}
