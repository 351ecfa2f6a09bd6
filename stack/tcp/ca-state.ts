/**
 * Small congestion-avoidance state helpers of net/ipv4/tcp_input.c that
 * both the state machine (recovery.ts) and undo (undo.ts) use: whether
 * anything is retransmitted or left out of the network, the way back to
 * Open or Disorder (tcp_try_keep_open), and NewReno's guard at the
 * recovery point.
 */
import type { Connection } from './connection.ts';
import { setCaState } from './trace-state.ts';

/** tcp_is_reno: a peer without SACK; duplicate ACKs stand in for SACKed segments. */
export function isReno(c: Connection): boolean {
  return !c.sackOk;
}

/** tcp_any_retrans_done: retransmitted data out, or the head ever retransmitted. */
export function anyRetransDone(c: Connection): boolean {
  if (c.rtx.retransOut > 0) return true;
  const head = c.rtx.first();
  return head !== undefined && head.retrans > 0;
}

/** tcp_left_out: SACKed (or duplicate-ACKed) plus lost. */
export function leftOut(c: Connection): number {
  return (isReno(c) ? c.renoSacked : c.rtx.sackedOut) + c.rtx.lostOut;
}

/** tcp_try_keep_open: Disorder while anything is SACKed, lost or retransmitted, else Open. */
export function tryKeepOpen(c: Connection): void {
  const state = leftOut(c) > 0 || anyRetransDone(c) ? 'disorder' : 'open';
  if (c.caState !== state) {
    setCaState(c, state);
    c.highSeq = c.sndNxt;
  }
}

/**
 * tcp_is_non_sack_preventing_reopen: without SACK, an ACK exactly at the
 * recovery point keeps the state until something above it is ACKed (RFC
 * 6582 §3.2 step 3, against false fast retransmits).
 */
export function nonSackPreventingReopen(c: Connection): boolean {
  if (c.sndUna === c.highSeq && isReno(c)) {
    if (!anyRetransDone(c)) c.retransStamp = 0;
    return true;
  }
  return false;
}
