/**
 * Explicit Congestion Notification (RFC 3168) as Linux 6.18 does it
 * (include/net/tcp_ecn.h, tcp_input.c) with net.ipv4.tcp_ecn: 0 off; 1
 * asked for on connect() and accepted; 2 (the default) only accepted.
 *
 * - Negotiation: an ECN-setup SYN carries ECE and CWR, the SYN-ACK that
 *   accepts carries ECE alone; a retransmitted SYN gives up asking
 *   (tcp_ecn_fallback, §6.1.1.1). SYNs, SYN-ACKs, pure ACKs,
 *   retransmissions and probes are not-ECT; only new data segments are
 *   ECT(0) (tcp_ecn_send).
 * - Receiver: CE on arriving data sets ECE on every segment we send until a
 *   segment with CWR arrives (TCP_ECN_DEMAND_CWR; tcp_ecn_accept_cwr takes
 *   CWR on pure ACKs too), with quick ACKs so a sender with a small window
 *   learns soon (__tcp_ecn_check_ce).
 * - Sender: an ACK with ECE reduces cwnd once per window: the CWR state
 *   (tcp_enter_cwr in prr.ts, from recovery.ts's tcp_try_to_open),
 *   ssthresh from the congestion control, cwnd brought down by PRR (RFC
 *   6937, prr.ts's tcp_cwnd_reduction, the same as in Recovery) until
 *   SND.UNA passes the SND.NXT of the reduction's start, then cwnd =
 *   ssthresh; CWR goes out on the next new data segment (queueCwr).
 *
 * Accurate ECN (tcp_ecn 3 and above, the AccECN option) is not modelled:
 * this kernel refuses those values.
 */
import { TCP_CWR, TCP_ECE } from '../wire/tcp.ts';
import { enterQuickAckMode } from './ack-schedule.ts';
import type { Connection } from './connection.ts';
import type { Segment } from './segment.ts';

/** The two ECN bits of the IP TOS byte (RFC 3168 §5). */
export const INET_ECN_MASK = 3;
export const INET_ECN_ECT_0 = 2;
export const INET_ECN_CE = 3;

/**
 * tcp_ecn_send_syn: with tcp_ecn 1 the first SYN asks for ECN (ECE and
 * CWR). A retransmitted SYN no longer asks when tcp_ecn_fallback is on
 * (tcp_ecn_clear_syn), but the connection stays ECN-capable: a SYN-ACK with
 * ECE still accepts (tcp_ecn_rcv_synack decides, as Linux leaves ecn_flags
 * to it).
 */
export function synEcnFlags(c: Connection, retransmission: boolean): number {
  if (!retransmission) c.ecnOk = c.ctx.sysctl.tcp_ecn === 1;
  else if (c.ctx.sysctl.tcp_ecn_fallback !== 0) return 0;
  return c.ecnOk ? TCP_ECE | TCP_CWR : 0;
}

/**
 * tcp_ecn_queue_cwr: a window reduction for any cause (RTO: tcp_enter_loss;
 * fast recovery or an ECN echo: tcp_init_cwnd_reduction) is announced with
 * CWR on the next new data segment.
 */
export function queueCwr(c: Connection): void {
  if (c.ecnOk) c.ecnQueueCwr = true;
}

/** tcp_ecn_rcv_synack: ECN holds only if the SYN-ACK has ECE without CWR. */
export function onSynAck(c: Connection, flags: number): void {
  if (c.ecnOk && (!(flags & TCP_ECE) || flags & TCP_CWR)) c.ecnOk = false;
}

/** tcp_ecn_rcv_syn (simultaneous open): ECN holds only if the peer's SYN asked for it too. */
export function onCrossingSyn(c: Connection, flags: number): void {
  if (c.ecnOk && (!(flags & TCP_ECE) || !(flags & TCP_CWR))) c.ecnOk = false;
}

/**
 * tcp_ecn_create_request: a SYN with ECE and CWR, when tcp_ecn is not 0.
 * An ECN-setup SYN must itself be not-ECT (RFC 3168 §6.1.1): one marked
 * ECT or CE is taken only with a reserved or AE bit set.
 */
export function requestEcnOk(seg: Segment, tcpEcn: number, reservedBits: number): boolean {
  if ((seg.flags & (TCP_ECE | TCP_CWR)) !== (TCP_ECE | TCP_CWR) || tcpEcn === 0) return false;
  const ect = seg.ecn !== 0;
  return !ect || reservedBits !== 0;
}

/**
 * tcp_ecn_send for a non-SYN segment: new data goes ECT(0) and takes a
 * queued CWR; everything else is not-ECT; ECE while the peer owes us a
 * CWR. Returns the flags to add and the TOS byte for IP.
 */
export function ecnSend(c: Connection, newData: boolean): { flags: number; tos: number } {
  if (!c.ecnOk) return NONE;
  let flags = 0;
  let tos = 0;
  if (newData) {
    tos = INET_ECN_ECT_0;
    if (c.ecnQueueCwr) {
      c.ecnQueueCwr = false;
      flags |= TCP_CWR;
    }
  }
  if (c.ecnDemandCwr) flags |= TCP_ECE;
  return flags === 0 && tos === 0 ? NONE : { flags, tos };
}

const NONE = Object.freeze({ flags: 0, tos: 0 });

/**
 * __tcp_ecn_check_ce, for data queued in or out of order: CE starts
 * echoing (and two quick ACKs) unless already echoing; not-ECT after ECT
 * was seen means a middlebox cleared the bits: quick ACKs again.
 */
export function checkCe(c: Connection, seg: Segment): void {
  if (!c.ecnOk) return;
  switch (seg.ecn) {
    case 0:
      if (c.ecnSeen) enterQuickAckMode(c, 2);
      break;
    case INET_ECN_CE:
      if (!c.ecnDemandCwr) {
        enterQuickAckMode(c, 2);
        c.ecnDemandCwr = true;
      }
      c.ecnSeen = true;
      break;
    default:
      c.ecnSeen = true;
  }
}

/** tcp_ecn_accept_cwr (from tcp_ack): CWR ends the echo; with data, it is ACKed at once. */
export function acceptCwr(c: Connection, seg: Segment): void {
  if (!(seg.flags & TCP_CWR)) return;
  c.ecnDemandCwr = false;
  if (seg.payload.length > 0) c.ackNow = true;
}

/** tcp_ecn_rcv_ecn_echo: an ECE on a non-SYN segment of an ECN connection. */
export function isEcnEcho(c: Connection, seg: Segment): boolean {
  return c.ecnOk && (seg.flags & TCP_ECE) !== 0;
}

/**
 * tcp_ecn_withdraw_cwr: an undone reduction (undo.ts) that restores
 * ssthresh is not announced after all.
 */
export function withdrawCwr(c: Connection): void {
  c.ecnQueueCwr = false;
}
