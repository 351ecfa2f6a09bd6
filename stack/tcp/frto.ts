/**
 * F-RTO (RFC 5682, the SACK-enhanced variant of §3.1 as Linux implements it
 * with net.ipv4.tcp_frto, on by default) and the rest of ACK processing in
 * the Loss state (tcp_process_loss in net/ipv4/tcp_input.c): after an RTO
 * has retransmitted the head, the first ACK that advances SND.UNA lets new
 * data out instead of more retransmissions; if the next ACK then
 * acknowledges or SACKs data that was never retransmitted, the RTO was
 * spurious and its window reduction is undone (TcpExtTCPSpuriousRTOs);
 * duplicate ACKs or SACKs instead show the loss was real, and conventional
 * loss recovery goes on.
 */
import type { Connection } from './connection.ts';
import { recordEnd } from './connection.ts';
import type { Segment } from './segment.ts';
import { seqAdd, seqGt, seqLe, seqLt } from './seq.ts';
import { tryUndoLoss, tryUndoRecovery } from './undo.ts';

/** What tcp_process_loss reads of the ACK's flags. */
export interface LossAckFlags {
  /** FLAG_SND_UNA_ADVANCED. */
  unaAdvanced: boolean;
  /** FLAG_DATA_SACKED: a record became SACKed. */
  dataSacked: boolean;
  /** FLAG_ORIG_SACK_ACKED: never-retransmitted data up to high_seq was acknowledged or SACKed. */
  origSackAcked: boolean;
  /** num_dupack: a duplicate ACK (no advance, no window update, no data, no D-SACK). */
  dupAck: boolean;
}

/**
 * tcp_enter_loss's last step (RFC 5682 §3.1 step 1): F-RTO runs unless it
 * is off (tcp_frto = 0) or the RTO interrupts a recovery; a recurring RTO
 * on the same SND.UNA keeps it (§3.2). Called with the state before Loss.
 */
export function startFrto(c: Connection, newRecovery: boolean): void {
  c.frto = c.ctx.sysctl.tcp_frto !== 0 && (newRecovery || c.retransmits > 0);
  c.frtoSendNew = false;
}

/**
 * tcp_clean_rtx_queue's FLAG_ORIG_SACK_ACKED for an ACK up to `ack`: a
 * record acknowledged that was never retransmitted nor SACKed and ends by
 * high_seq. Without SACK an ACK that also covers a retransmission cannot
 * tell which copy arrived, so it does not count.
 */
export function origDataAcked(c: Connection, ack: number): boolean {
  let orig = false;
  let retransAcked = false;
  for (const r of c.rtx) {
    const end = recordEnd(r);
    if (seqGt(end, ack)) break;
    if (r.retrans > 0) retransAcked = true;
    else if (!r.sacked && seqLe(end, c.highSeq)) orig = true;
  }
  return orig && (c.sackOk || !retransAcked);
}

/** tcp_sacktag_one's FLAG_ORIG_SACK_ACKED for a record newly SACKed. */
export function origDataSacked(c: Connection, end: number, retrans: number): boolean {
  return retrans === 0 && seqLe(end, c.highSeq);
}

/**
 * tcp_process_loss: an ACK in Loss (SND.UNA already moved to it). Undo when
 * the episode proved spurious (tcp_try_undo_loss); F-RTO's steps 2 and 3;
 * the end of the episode at high_seq (tcp_try_undo_recovery).
 */
export function processLoss(c: Connection, seg: Segment, f: LossAckFlags): void {
  const recovered = !seqLt(c.sndUna, c.highSeq);
  if (f.unaAdvanced && tryUndoLoss(c, seg, false)) return;
  if (c.frto) {
    // Step 3.b: never-retransmitted data got through: not all was lost, the RTO was spurious.
    if (f.origSackAcked && tryUndoLoss(c, seg, true)) return;
    if (seqGt(c.sndNxt, c.highSeq)) {
      // Step 3.a: duplicate ACKs or SACKs after the new data: the loss was real.
      if (f.dataSacked || f.dupAck) c.frto = false;
    } else if (f.unaAdvanced && !recovered) {
      c.highSeq = c.sndNxt;
      // Step 2.b: send new data if the window and the queue allow
      // (tcp_xmit_recovery's REXMIT_NEW, in output.ts's transmit, after the
      // window has grown for this ACK); otherwise conventional recovery.
      const unsent = c.unsentBytes() > 0 || (c.finQueued && !c.finSent);
      if (unsent && seqGt(seqAdd(c.sndUna, c.sndWnd), c.sndNxt)) {
        c.frtoSendNew = true;
        return;
      }
      c.frto = false;
    }
  }
  // Step 2.a, and the end of any loss episode: everything up to high_seq is acknowledged.
  if (recovered) {
    tryUndoRecovery(c, seg);
    if (!c.sackOk) c.renoSacked = 0;
    return;
  }
  if (!c.sackOk) {
    // Without SACK, a duplicate ACK after F-RTO's new data means that data
    // arrived: one segment less in flight (tcp_add_reno_sack); an ACK that
    // advances forgets them (tcp_reset_reno_sack).
    if (seqGt(c.sndNxt, c.highSeq) && f.dupAck) c.renoSacked = Math.min(c.renoSacked + 1, Math.max(c.rtx.length - 1, 0));
    else if (f.unaAdvanced) c.renoSacked = 0;
  }
}
