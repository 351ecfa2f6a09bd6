/**
 * Answers to segments that fail a check but deserve an ACK, rate-limited per
 * socket (tcp_send_dupack, tcp_send_challenge_ack, __tcp_oow_rate_limited).
 */
import type { DropReason } from '../drop.ts';
import { TCP_FIN, TCP_SYN } from '../wire/tcp.ts';
import type { Connection } from './connection.ts';
import * as out from './output.ts';
import { dsackSet } from './dsack.ts';
import { segmentLength, type Segment } from './segment.ts';
import { seqAdd, seqLt } from './seq.ts';

/**
 * tcp_send_dupack behind tcp_oow_rate_limited: a segment that occupies no
 * sequence space (a pure ACK), or carries SYN, is rate-limited
 * (tcp_invalid_ratelimit); data and FINs are always answered ("data packets
 * without SYNs are not likely part of an ACK loop").
 */
export function sendDupAck(c: Connection, seg: Segment): void {
  const occupiesSpace = seg.payload.length > 0 || (seg.flags & TCP_FIN) !== 0;
  if ((!occupiesSpace || (seg.flags & TCP_SYN) !== 0) && !oowAllowed(c)) {
    c.ctx.counters.TcpExtTCPACKSkippedSeq++;
    return;
  }
  // tcp_send_dupack: data we already have (DelayedACKLost) is reported with a D-SACK up to RCV.NXT.
  if (occupiesSpace && seqLt(seg.seq, c.rcvNxt)) {
    c.ctx.counters.TcpExtDelayedACKLost++;
    const end = seqAdd(seg.seq, segmentLength(seg));
    dsackSet(c, seg.seq, seqLt(end, c.rcvNxt) ? end : c.rcvNxt);
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
