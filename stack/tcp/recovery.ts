/**
 * The congestion-avoidance state machine of an ACK (tcp_fastretrans_alert
 * and its helpers in net/ipv4/tcp_input.c): Open, Disorder, Recovery and
 * Loss; which segments are lost (RACK with SACK, rack.ts; NewReno's
 * duplicate-ACK rule without, RFC 6582); when recovery begins
 * (tcp_time_to_recover: once anything is marked lost) and ends (SND.UNA
 * reaches the recovery point). It decides the state; the window moves in
 * prr.ts and the congestion control, the retransmissions leave from
 * output.ts (tcp_xmit_retransmit_queue).
 *
 * Undo of spurious reductions (tcp_try_undo_recovery's undo branch,
 * tcp_try_undo_partial, tcp_try_undo_dsack, tcp_try_undo_loss) and F-RTO
 * are not modelled here; the places where Linux calls them are marked
 * "undo:" below.
 */
import {
  FLAG_LOST_RETRANS,
  FLAG_SET_XMIT_TIMER,
  FLAG_SND_UNA_ADVANCED,
} from './ack-flags.ts';
import { recordEnd, type CaState, type Connection, type TxRecord } from './connection.ts';
import { endCwndReduction, inCwndReduction, initCwndReduction } from './prr.ts';
import { rackMarkLost } from './rack.ts';
import { seqGe, seqGt, seqLt } from './seq.ts';
import { armReo } from './timer-arming.ts';

/** tcp_is_reno: a peer without SACK; duplicate ACKs stand in for SACKed segments. */
export function isReno(c: Connection): boolean {
  return !c.sackOk;
}

/**
 * tcp_mark_skb_lost: a SACKed record is never lost; a lost retransmission
 * is lost again (TcpExtTCPLostRetransmit) and may go out once more.
 */
export function markSkbLost(c: Connection, r: TxRecord): void {
  if (r.sacked) return;
  if (r.lost) {
    if (r.retransOut) {
      c.rtx.markLost(r);
      c.ctx.counters.TcpExtTCPLostRetransmit++;
    }
    return;
  }
  c.rtx.markLost(r);
  c.lostTotal++;
}

/**
 * tcp_highest_sack_seq: the end of the highest SACKed record (SND.UNA with
 * none SACKed); "fack" in the reordering metric.
 */
export function highestSackSeq(c: Connection): number {
  if (c.rtx.sackedOut === 0) return c.sndUna;
  for (let i = c.rtx.length - 1; i >= 0; i--) {
    const r = c.rtx.at(i)!;
    if (r.sacked) return recordEnd(r);
  }
  return c.sndUna;
}

/**
 * tcp_check_sack_reordering: a hole starting at `lowSeq` below fack was
 * filled by the original transmission: that was reordering, not loss. The
 * degree grows to the distance in segments (at most tcp_max_reordering);
 * reord_seen counts the event (TcpExtTCPSACKReorder, or TCPTSReorder when
 * the timestamps showed it).
 */
export function checkSackReordering(c: Connection, lowSeq: number, ts: boolean): void {
  const fack = highestSackSeq(c);
  if (!seqLt(lowSeq, fack)) return;
  const metric = (fack - lowSeq) >>> 0;
  const mss = c.mss;
  if (mss > 0 && metric > c.reordering * mss) {
    c.reordering = Math.min(Math.ceil(metric / mss), c.ctx.sysctl.tcp_max_reordering);
  }
  c.reordSeen++;
  if (ts) c.ctx.counters.TcpExtTCPTSReorder++;
  else c.ctx.counters.TcpExtTCPSACKReorder++;
}

// --- Reno: duplicate ACKs as SACKs (tcp_add_reno_sack and friends) ---

/**
 * tcp_limit_reno_sacked: at most packets_out − max(lost, 1) duplicate ACKs
 * can stand for delivered segments; more means the network duplicated or
 * reordered. Returns whether it had to cut.
 */
function limitRenoSacked(c: Connection): boolean {
  const packets = c.rtx.length;
  const holes = Math.min(Math.max(c.rtx.lostOut, 1), packets);
  if (c.renoSacked + holes > packets) {
    c.renoSacked = packets - holes;
    return true;
  }
  return false;
}

/** tcp_check_reno_reordering: too many duplicate ACKs were reordering (TcpExtTCPRenoReorder). */
function checkRenoReordering(c: Connection, addend: number): void {
  if (!limitRenoSacked(c)) return;
  c.reordering = Math.min(c.rtx.length + addend, c.ctx.sysctl.tcp_max_reordering);
  c.reordSeen++;
  c.ctx.counters.TcpExtTCPRenoReorder++;
}

/** tcp_add_reno_sack: each duplicate ACK means one more segment left the network. */
export function addRenoSack(c: Connection, numDupack: number): void {
  if (numDupack === 0) return;
  const prior = c.renoSacked;
  c.renoSacked += numDupack;
  checkRenoReordering(c, 0);
  const delivered = c.renoSacked - prior;
  if (delivered > 0) c.delivered += delivered;
}

/** tcp_remove_reno_sacks: a cumulative ACK of `acked` segments filled one hole; the rest had been counted as duplicates. */
export function removeRenoSacks(c: Connection, acked: number): void {
  if (acked > 0) {
    c.delivered += Math.max(acked - c.renoSacked, 1);
    if (acked - 1 >= c.renoSacked) c.renoSacked = 0;
    else c.renoSacked -= acked - 1;
  }
  checkRenoReordering(c, acked);
}

/**
 * tcp_newreno_mark_lost (RFC 6582): the head is lost once `reordering`
 * duplicate ACKs arrived before recovery, or at each partial ACK in it.
 */
function newrenoMarkLost(c: Connection, sndUnaAdvanced: boolean): void {
  const state = c.caState;
  const beforeRecovery = state === 'open' || state === 'disorder';
  if ((beforeRecovery && c.renoSacked >= c.reordering) || (state === 'recovery' && sndUnaAdvanced)) {
    const head = c.rtx.first()!;
    if (head.lost) return;
    markSkbLost(c, head);
  }
}

// --- The state machine ---

/** tcp_any_retrans_done: retransmitted data out, or the head ever retransmitted. */
function anyRetransDone(c: Connection): boolean {
  if (c.rtx.retransOut > 0) return true;
  const head = c.rtx.first();
  return head !== undefined && head.retrans > 0;
}

/** tcp_left_out: SACKed (or duplicate-ACKed) plus lost. */
function leftOut(c: Connection): number {
  return (isReno(c) ? c.renoSacked : c.rtx.sackedOut) + c.rtx.lostOut;
}

/** tcp_try_keep_open: Disorder while anything is SACKed, lost or retransmitted, else Open. */
export function tryKeepOpen(c: Connection): void {
  const state = leftOut(c) > 0 || anyRetransDone(c) ? 'disorder' : 'open';
  if (c.caState !== state) {
    c.caState = state;
    c.highSeq = c.sndNxt;
  }
}

/** tcp_try_to_open: no retransmission left, no give-up clock (retrans_stamp); then tcp_try_keep_open. */
function tryToOpen(c: Connection): void {
  if (!anyRetransDone(c)) c.retransStamp = 0;
  tryKeepOpen(c);
}

/**
 * tcp_is_non_sack_preventing_reopen: without SACK, an ACK exactly at the
 * recovery point keeps the state until something above it is ACKed (RFC
 * 6582 §3.2 step 3, against false fast retransmits).
 */
function nonSackPreventingReopen(c: Connection): boolean {
  if (c.sndUna === c.highSeq && isReno(c)) {
    if (!anyRetransDone(c)) c.retransStamp = 0;
    return true;
  }
  return false;
}

/**
 * tcp_try_undo_recovery, the recovery point reached: Open again (unless
 * nonSackPreventingReopen holds it). Returns true to end the ACK's state
 * processing there.
 */
export function tryUndoRecovery(c: Connection): boolean {
  // undo: tcp_may_undo → tcp_undo_cwnd_reduction, TcpExtTCPFullUndo / TCPLossUndo.
  // Otherwise a widened RACK reordering window counts one recovery down.
  if (c.rack.reoWndPersist > 0) c.rack.reoWndPersist--;
  if (nonSackPreventingReopen(c)) return true;
  c.caState = 'open';
  return false;
}

/**
 * tcp_enter_recovery: TcpExtTCPSackRecovery or TCPRenoRecovery, the undo
 * point, and a cwnd reduction (prr.ts) unless one is under way.
 */
export function enterRecovery(c: Connection): void {
  const mib = c.ctx.counters;
  if (isReno(c)) mib.TcpExtTCPRenoRecovery++;
  else mib.TcpExtTCPSackRecovery++;
  c.undoMarker = c.sndUna; // tcp_init_undo (undo: prior_ssthresh, undo_retrans)
  if (!inCwndReduction(c)) initCwndReduction(c);
  c.caState = 'recovery';
}

/**
 * tcp_identify_packet_loss: NewReno's rule without SACK, RACK with it.
 * Returns the ACK's flags less FLAG_SET_XMIT_TIMER when RACK armed its
 * reordering timer, plus FLAG_LOST_RETRANS when it found a retransmission lost.
 */
function identifyPacketLoss(c: Connection, flag: number): number {
  if (c.rtx.length === 0) return flag;
  if (isReno(c)) {
    newrenoMarkLost(c, (flag & FLAG_SND_UNA_ADVANCED) !== 0);
    return flag;
  }
  const priorRetrans = c.rtx.retransOut;
  if (rackMarkLost(c, (r) => markSkbLost(c, r), (ms) => armReo(c, ms))) flag &= ~FLAG_SET_XMIT_TIMER;
  if (priorRetrans > c.rtx.retransOut) flag |= FLAG_LOST_RETRANS;
  return flag;
}

/** tcp_time_to_recover (Linux 6.17+): has loss detection marked anything lost? */
function timeToRecover(c: Connection): boolean {
  return c.rtx.lostOut > 0;
}

/**
 * tcp_process_loss, in the Loss state after an RTO: once SND.UNA reaches
 * the recovery point, Open again; otherwise the lost segments go out as
 * ACKs make room.
 */
function processLoss(c: Connection, flag: number, numDupack: number): boolean {
  const recovered = seqGe(c.sndUna, c.highSeq);
  // undo: tcp_try_undo_loss on an ACK advancing SND.UNA; F-RTO (RFC 5682).
  if (recovered) {
    tryUndoRecovery(c);
    return false;
  }
  if (isReno(c)) {
    if (seqGt(c.sndNxt, c.highSeq) && numDupack > 0) addRenoSack(c, numDupack);
    else if (flag & FLAG_SND_UNA_ADVANCED) c.renoSacked = 0;
  }
  return true;
}

export interface AlertResult {
  flag: number;
  /** REXMIT_LOST: tcp_xmit_retransmit_queue after the window update. */
  rexmit: boolean;
}

/**
 * tcp_fastretrans_alert, for a "dubious" ACK (a duplicate, one with SACK
 * or D-SACK news, or any ACK outside Open).
 */
export function fastretransAlert(c: Connection, numDupack: number, flag: number): AlertResult {
  // D. The state ends when SND.UNA reaches the recovery point.
  if (c.caState === 'open') c.retransStamp = 0;
  else if (c.caState === 'recovery' && seqGe(c.sndUna, c.highSeq)) {
    if (isReno(c)) c.renoSacked = 0;
    if (tryUndoRecovery(c)) return { flag, rexmit: false };
    endCwndReduction(c);
  }
  // E. Process the state.
  switch (c.caState) {
    case 'recovery':
      if (!(flag & FLAG_SND_UNA_ADVANCED)) {
        if (isReno(c)) addRenoSack(c, numDupack);
      }
      // undo: tcp_try_undo_partial when SND.UNA advanced (may return here);
      // then tcp_try_undo_dsack → tcp_try_keep_open.
      flag = identifyPacketLoss(c, flag);
      return { flag, rexmit: true };
    case 'loss': {
      const rexmit = processLoss(c, flag, numDupack);
      flag = identifyPacketLoss(c, flag);
      // A lost retransmission, or Open again: on to the Open/Disorder rules.
      if (!((c.caState as CaState) === 'open' || flag & FLAG_LOST_RETRANS)) return { flag, rexmit };
      break;
    }
  }
  if (isReno(c)) {
    if (flag & FLAG_SND_UNA_ADVANCED) c.renoSacked = 0;
    addRenoSack(c, numDupack);
  }
  // undo: tcp_try_undo_dsack while Open or Disorder.
  flag = identifyPacketLoss(c, flag);
  if (!timeToRecover(c)) {
    tryToOpen(c);
    return { flag, rexmit: false };
  }
  enterRecovery(c);
  return { flag, rexmit: true };
}
