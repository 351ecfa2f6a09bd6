/**
 * Undo of a congestion-window reduction that proves spurious, as Linux's
 * tcp_input.c does it (the tcp_try_undo_* family): a recovery or loss
 * episode remembers where it began (undo_marker), how many segments it
 * retransmitted that no D-SACK has yet reported as duplicates
 * (undo_retrans), and the window before the reduction (prior_ssthresh,
 * prior_cwnd). The reduction is undone when every retransmission was
 * D-SACKed (RFC 3708, tcp_try_undo_dsack), or when an ACK echoes a timestamp
 * older than the first retransmission, so the original made it (the Eifel
 * detection of RFC 3522, tcp_packet_delayed). F-RTO's undo after a spurious
 * RTO is in frto.ts.
 */
import { tsValAt } from './constants.ts';
import type { Connection } from './connection.ts';
import type { Segment } from './segment.ts';
import { seqGt, seqLt } from './seq.ts';

/**
 * tcp_init_undo, when an episode begins: undo_marker = SND.UNA;
 * retransmissions still in flight (a retransmitted tail loss probe
 * included) may bring D-SACKs later, so they count; -1 rather than 0, which
 * would mean "all spurious".
 */
export function initUndo(c: Connection): void {
  c.undoMarker = c.sndUna;
  let n = c.rtx.retransOut;
  if (c.tlpHighSeq !== undefined && c.tlpRetrans) n++;
  c.undoRetrans = n === 0 ? -1 : n;
}

/** tcp_current_ssthresh: in a reduction ssthresh, else at least 3/4 of cwnd. */
function currentSsthresh(c: Connection): number {
  if (c.caState === 'recovery') return c.cc.ssthresh;
  const w = c.cc.cwnd;
  return Math.max(c.cc.ssthresh, (w >> 1) + (w >> 2));
}

/** tcp_any_retrans_done: a retransmission in flight, or the head was ever retransmitted. */
export function anyRetransDone(c: Connection): boolean {
  return c.rtx.retransOut > 0 || (c.rtx.first()?.retrans ?? 0) > 0;
}

/**
 * tcp_enter_recovery's undo state, before the congestion control reduces
 * the window: retrans_stamp starts over with the fast retransmission
 * (tcp_retrans_stamp_cleanup), prior_ssthresh and prior_cwnd are saved
 * (tcp_init_cwnd_reduction), the episode begins (tcp_init_undo).
 */
export function onEnterRecovery(c: Connection): void {
  if (!anyRetransDone(c)) c.retransStamp = 0;
  c.priorSsthresh = currentSsthresh(c);
  initUndo(c);
  c.priorCwnd = c.cc.cwnd;
}

/**
 * tcp_enter_loss, when it reduces ssthresh: only if not already done inside
 * this window: from Open or Disorder, once everything up to high_seq was
 * acknowledged, or on the first RTO after SND.UNA advanced in Loss.
 */
export function lossReducesWindow(c: Connection): boolean {
  return c.caState === 'open' || c.caState === 'disorder' || !seqGt(c.highSeq, c.sndUna) || (c.caState === 'loss' && c.retransmits === 0);
}

/** tcp_enter_loss: prior_ssthresh and prior_cwnd, before the congestion control's ssthresh. */
export function saveWindowForUndo(c: Connection): void {
  c.priorSsthresh = currentSsthresh(c);
  c.priorCwnd = c.cc.cwnd;
}

/** tcp_retransmit_skb: one more retransmission a D-SACK may later show spurious. */
export function onRetransmit(c: Connection): void {
  if (c.undoRetrans < 0) c.undoRetrans = 0;
  c.undoRetrans++;
}

/**
 * A D-SACK reported `segs` duplicates of data the episode may have
 * retransmitted: tcp_check_dsack's count for a block ending at or below the
 * prior SND.UNA (the records are gone), tcp_sacktag_one's for a
 * retransmitted record still queued. Only above undo_marker.
 */
export function onDsackOfRetransmission(c: Connection, end: number, segs: number): void {
  if (c.undoMarker !== undefined && c.undoRetrans > 0 && seqGt(end, c.undoMarker)) {
    c.undoRetrans = Math.max(0, c.undoRetrans - segs);
  }
}

/**
 * tcp_packet_delayed: the ACK echoes a timestamp older than the first
 * retransmission (retrans_stamp), so the original arrived; or nothing was
 * retransmitted at all.
 */
export function packetDelayed(c: Connection, seg: Segment): boolean {
  const o = seg.options;
  if (c.retransStamp !== 0) {
    return c.tsOk && o.tsPresent && o.tsEcr !== 0 && seqLt(o.tsEcr, tsValAt(c.retransStamp, c.tsOffset));
  }
  return c.state !== 'SYN_SENT';
}

/** tcp_may_undo: an episode to undo, and either every retransmission D-SACKed or the original delivered. */
function mayUndo(c: Connection, seg: Segment): boolean {
  return c.undoMarker !== undefined && (c.undoRetrans === 0 || packetDelayed(c, seg));
}

/**
 * tcp_undo_cwnd_reduction: the congestion control's undo_cwnd (Reno and
 * CUBIC: max(cwnd, prior_cwnd)) and ssthresh back to prior_ssthresh if that
 * was higher; with `unmarkLoss` nothing outstanding is presumed lost any
 * more. The episode is over for undo (undo_marker 0).
 */
function undoCwndReduction(c: Connection, unmarkLoss: boolean): void {
  if (unmarkLoss) c.rtx.unmarkAllLost();
  if (c.priorSsthresh !== 0) {
    c.cc.cwnd = c.cc.undoCwnd(c.priorCwnd);
    if (c.priorSsthresh > c.cc.ssthresh) c.cc.ssthresh = c.priorSsthresh;
  }
  c.undoMarker = undefined;
}

/**
 * tcp_is_non_sack_preventing_reopen: without SACK, Recovery is held until
 * an ACK above high_seq (RFC 6582's guard against a false fast retransmit).
 */
function nonSackPreventingReopen(c: Connection): boolean {
  if (c.sndUna === c.highSeq && !c.sackOk) {
    if (!anyRetransDone(c)) c.retransStamp = 0;
    return true;
  }
  return false;
}

/**
 * tcp_try_undo_recovery, when an ACK reaches high_seq in Recovery or Loss:
 * undo if the episode proved spurious (TcpExtTCPFullUndo, or
 * TcpExtTCPLossUndo in Loss), then Open. Returns true when the state is held
 * instead (no SACK, SND.UNA exactly at high_seq).
 */
export function tryUndoRecovery(c: Connection, seg: Segment): boolean {
  if (mayUndo(c, seg)) {
    const mib = c.ctx.counters;
    if (c.caState === 'loss') mib.TcpExtTCPLossUndo++;
    else mib.TcpExtTCPFullUndo++;
    undoCwndReduction(c, false);
  }
  if (nonSackPreventingReopen(c)) return true;
  c.caState = 'open';
  return false;
}

/** tcp_try_undo_dsack: D-SACKs reported every retransmission of the episode (TcpExtTCPDSACKUndo). */
function tryUndoDsack(c: Connection): boolean {
  if (c.undoMarker !== undefined && c.undoRetrans === 0) {
    undoCwndReduction(c, false);
    c.ctx.counters.TcpExtTCPDSACKUndo++;
    return true;
  }
  return false;
}

/** tcp_try_keep_open: Disorder while anything is SACKed, lost or retransmitted, else Open. */
function tryKeepOpen(c: Connection): void {
  const left = c.rtx.sackedOut + c.rtx.lostOut + c.renoSacked;
  const state = left > 0 || anyRetransDone(c) ? 'disorder' : 'open';
  if (c.caState !== state) {
    c.caState = state;
    c.highSeq = c.sndNxt;
  }
}

/** tcp_try_to_open (no ECN here): retrans_stamp cleared when nothing is retransmitted, then tcp_try_keep_open. */
function tryToOpen(c: Connection): void {
  if (!anyRetransDone(c)) c.retransStamp = 0;
  tryKeepOpen(c);
}

/**
 * tcp_fastretrans_alert's tcp_try_undo_dsack, on an ACK Linux deems dubious
 * (tcp_ack_is_dubious, or one that D-SACKs with nothing outstanding): in
 * Recovery it also leaves Recovery (tcp_try_to_open); in Open or Disorder it
 * is a late D-SACK for an episode already over.
 */
export function alertUndoDsack(c: Connection): void {
  if (c.caState === 'recovery') {
    if (tryUndoDsack(c)) tryToOpen(c);
  } else if (c.caState === 'open' || c.caState === 'disorder') {
    tryUndoDsack(c);
  }
}

/**
 * tcp_try_undo_partial, on a partial ACK in Recovery: the original arrived
 * (tcp_packet_delayed), so the hole was reordering, not loss. With
 * retransmissions still in flight nothing more is done ('hold'); otherwise
 * the reduction is undone, nothing is presumed lost, and the connection
 * reopens (TcpExtTCPPartialUndo).
 */
export function tryUndoPartial(c: Connection, seg: Segment): 'undone' | 'hold' | 'none' {
  if (c.undoMarker === undefined || !packetDelayed(c, seg)) return 'none';
  if (c.rtx.retransOut > 0) return 'hold';
  if (!anyRetransDone(c)) c.retransStamp = 0;
  undoCwndReduction(c, true);
  c.ctx.counters.TcpExtTCPPartialUndo++;
  tryKeepOpen(c);
  return 'undone';
}

/**
 * tcp_try_undo_loss, in Loss: after an ACK that advances SND.UNA when the
 * episode proved spurious, or when F-RTO decided so (`frtoUndo`,
 * TcpExtTCPSpuriousRTOs too). Nothing is presumed lost any more, the RTO
 * count starts over; with SACK (or by F-RTO) the connection is Open again.
 */
export function tryUndoLoss(c: Connection, seg: Segment, frtoUndo: boolean): boolean {
  if (!frtoUndo && !mayUndo(c, seg)) return false;
  undoCwndReduction(c, true);
  const mib = c.ctx.counters;
  mib.TcpExtTCPLossUndo++;
  if (frtoUndo) mib.TcpExtTCPSpuriousRTOs++;
  c.retransmits = 0;
  if (nonSackPreventingReopen(c)) return true;
  if (frtoUndo || c.sackOk) c.caState = 'open';
  return true;
}
