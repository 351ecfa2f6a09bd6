/**
 * Undo of a congestion-window reduction that proves spurious, as Linux's
 * tcp_input.c does it (the tcp_try_undo_* family, called from recovery.ts's
 * tcp_fastretrans_alert and frto.ts's tcp_process_loss): a recovery or
 * loss episode remembers where it began (undo_marker), how many segments it
 * retransmitted that no D-SACK has yet reported as duplicates
 * (undo_retrans), and the window before the reduction (prior_ssthresh,
 * prior_cwnd). The reduction is undone when every retransmission was
 * D-SACKed (RFC 3708, tcp_try_undo_dsack), or when an ACK echoes a timestamp
 * older than the first retransmission, so the original made it (the Eifel
 * detection of RFC 3522, tcp_packet_delayed). F-RTO's undo after a spurious
 * RTO is in frto.ts.
 */
import { anyRetransDone, nonSackPreventingReopen, tryKeepOpen } from './ca-state.ts';
import { tsValAt } from './constants.ts';
import type { Connection } from './connection.ts';
import { withdrawCwr } from './ecn.ts';
import { inCwndReduction } from './prr.ts';
import { TCP_RACK_RECOVERY_THRESH } from './rack.ts';
import { checkSackReordering } from './reordering.ts';
import type { Segment } from './segment.ts';
import { seqGt, seqLt } from './seq.ts';
import { stampCwnd } from './cwnd-stamp.ts';
import { setCaState, traceUndo } from './trace-state.ts';
import type { UndoKind } from '../trace.ts';

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

/** tcp_current_ssthresh: during a reduction ssthresh, else at least 3/4 of cwnd. */
export function currentSsthresh(c: Connection): number {
  if (inCwndReduction(c)) return c.cc.ssthresh;
  const w = c.cc.cwnd;
  return Math.max(c.cc.ssthresh, (w >> 1) + (w >> 2));
}

/** tcp_enter_loss: prior_ssthresh and prior_cwnd, before the congestion control's ssthresh. */
export function saveWindowForUndo(c: Connection): void {
  c.priorSsthresh = currentSsthresh(c);
  c.prr.priorCwnd = c.cc.cwnd;
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
 * was higher, which also withdraws a CWR not yet sent (tcp_ecn_withdraw_cwr);
 * with `unmarkLoss` nothing outstanding is presumed lost any more. The
 * episode is over for undo (undo_marker 0), and RACK looks at the queue
 * again on the next ACK (rack.advanced).
 */
function undoCwndReduction(c: Connection, unmarkLoss: boolean, how: UndoKind): void {
  traceUndo(c, how);
  if (unmarkLoss) c.rtx.unmarkAllLost();
  if (c.priorSsthresh !== 0) {
    c.cc.cwnd = c.cc.undoCwnd(c.prr.priorCwnd);
    if (c.priorSsthresh > c.cc.ssthresh) {
      c.cc.ssthresh = c.priorSsthresh;
      withdrawCwr(c);
    }
  }
  stampCwnd(c);
  c.undoMarker = undefined;
  c.rack.advanced = true;
}

/**
 * tcp_try_undo_recovery, when an ACK reaches high_seq in Recovery or Loss:
 * undo if the episode proved spurious (TcpExtTCPFullUndo, or
 * TcpExtTCPLossUndo in Loss); otherwise a widened RACK reordering window
 * counts one recovery down. Then Open. Returns true when the state is held
 * instead (no SACK, SND.UNA exactly at high_seq).
 */
export function tryUndoRecovery(c: Connection, seg: Segment): boolean {
  if (mayUndo(c, seg)) {
    const mib = c.ctx.counters;
    const loss = c.caState === 'loss';
    if (loss) mib.TcpExtTCPLossUndo++;
    else mib.TcpExtTCPFullUndo++;
    undoCwndReduction(c, false, loss ? 'loss' : 'recovery');
  } else if (c.rack.reoWndPersist > 0) {
    c.rack.reoWndPersist--;
  }
  if (nonSackPreventingReopen(c)) return true;
  setCaState(c, 'open');
  return false;
}

/**
 * tcp_try_undo_dsack: D-SACKs reported every retransmission of the episode
 * (TcpExtTCPDSACKUndo); that was reordering, so RACK's widened reordering
 * window persists one recovery longer.
 */
export function tryUndoDsack(c: Connection): boolean {
  if (c.undoMarker !== undefined && c.undoRetrans === 0) {
    c.rack.reoWndPersist = Math.min(TCP_RACK_RECOVERY_THRESH, c.rack.reoWndPersist + 1);
    undoCwndReduction(c, false, 'dsack');
    c.ctx.counters.TcpExtTCPDSACKUndo++;
    return true;
  }
  return false;
}

/**
 * tcp_try_undo_partial, on a partial ACK in Recovery: the original arrived
 * (tcp_packet_delayed), so the hole was reordering, not loss
 * (tcp_check_sack_reordering from the prior SND.UNA, TcpExtTCPTSReorder).
 * With retransmissions still in flight nothing more is done: returns true,
 * no more losses marked nor retransmitted on this ACK; otherwise the
 * reduction is undone, nothing is presumed lost, and the connection reopens
 * (TcpExtTCPPartialUndo).
 */
export function tryUndoPartial(c: Connection, seg: Segment, priorUna: number): boolean {
  if (c.undoMarker === undefined || !packetDelayed(c, seg)) return false;
  checkSackReordering(c, priorUna, true);
  if (c.rtx.retransOut > 0) return true;
  if (!anyRetransDone(c)) c.retransStamp = 0;
  undoCwndReduction(c, true, 'partial');
  c.ctx.counters.TcpExtTCPPartialUndo++;
  tryKeepOpen(c);
  return false;
}

/**
 * tcp_try_undo_loss, in Loss: after an ACK that advances SND.UNA when the
 * episode proved spurious, or when F-RTO decided so (`frtoUndo`,
 * TcpExtTCPSpuriousRTOs too). Nothing is presumed lost any more, the RTO
 * count starts over; with SACK (or by F-RTO) the connection is Open again.
 */
export function tryUndoLoss(c: Connection, seg: Segment, frtoUndo: boolean): boolean {
  if (!frtoUndo && !mayUndo(c, seg)) return false;
  undoCwndReduction(c, true, frtoUndo ? 'frto' : 'loss');
  const mib = c.ctx.counters;
  mib.TcpExtTCPLossUndo++;
  if (frtoUndo) mib.TcpExtTCPSpuriousRTOs++;
  c.retransmits = 0;
  if (nonSackPreventingReopen(c)) return true;
  if (frtoUndo || c.sackOk) setCaState(c, 'open');
  return true;
}
