/**
 * F-RTO (RFC 5682, the SACK-enhanced variant of §3.1 as Linux implements it
 * with net.ipv4.tcp_frto, on by default) and the rest of ACK processing in
 * the Loss state (tcp_process_loss in net/ipv4/tcp_input.c, called from
 * recovery.ts's tcp_fastretrans_alert): after an RTO has retransmitted the
 * head, the first ACK that advances SND.UNA lets new data out instead of
 * more retransmissions; if the next ACK then acknowledges or SACKs data
 * that was never retransmitted (FLAG_ORIG_SACK_ACKED), the RTO was spurious
 * and its window reduction is undone (TcpExtTCPSpuriousRTOs); duplicate
 * ACKs or SACKs instead show the loss was real, and conventional loss
 * recovery goes on.
 */
import { FLAG_DATA_SACKED, FLAG_ORIG_SACK_ACKED, FLAG_SND_UNA_ADVANCED } from './ack-flags.ts';
import { isReno } from './ca-state.ts';
import type { Connection } from './connection.ts';
import { addRenoSack, resetRenoSack } from './reno-sack.ts';
import type { Segment } from './segment.ts';
import { seqAdd, seqGt, seqLt } from './seq.ts';
import { tryUndoLoss, tryUndoRecovery } from './undo.ts';

/**
 * tcp_fastretrans_alert's *rexmit: nothing, the lost segments
 * (REXMIT_LOST, tcp_xmit_retransmit_queue), or F-RTO's new data first
 * (REXMIT_NEW).
 */
export type Rexmit = 'none' | 'lost' | 'new';

/**
 * tcp_enter_loss's last step (RFC 5682 §3.1 step 1): F-RTO runs unless it
 * is off (tcp_frto = 0) or the RTO interrupts a recovery; a recurring RTO
 * on the same SND.UNA keeps it (§3.2). `newRecovery`: the state before
 * Loss was Open, Disorder or CWR.
 */
export function startFrto(c: Connection, newRecovery: boolean): void {
  c.frto = c.ctx.sysctl.tcp_frto !== 0 && (newRecovery || c.retransmits > 0);
}

/**
 * tcp_process_loss: an ACK in Loss (SND.UNA already moved to it). Undo when
 * the episode proved spurious (tcp_try_undo_loss); F-RTO's steps 2 and 3;
 * the end of the episode at high_seq (tcp_try_undo_recovery).
 */
export function processLoss(c: Connection, seg: Segment, flag: number, numDupack: number): Rexmit {
  const recovered = !seqLt(c.sndUna, c.highSeq);
  const unaAdvanced = (flag & FLAG_SND_UNA_ADVANCED) !== 0;
  if (unaAdvanced && tryUndoLoss(c, seg, false)) return 'none';
  if (c.frto) {
    // Step 3.b: never-retransmitted data got through: not all was lost, the RTO was spurious.
    if (flag & FLAG_ORIG_SACK_ACKED && tryUndoLoss(c, seg, true)) return 'none';
    if (seqGt(c.sndNxt, c.highSeq)) {
      // Step 3.a: duplicate ACKs or SACKs after the new data: the loss was real.
      if (flag & FLAG_DATA_SACKED || numDupack > 0) c.frto = false;
    } else if (unaAdvanced && !recovered) {
      c.highSeq = c.sndNxt;
      // Step 2.b: send new data if the window and the queue allow
      // (tcp_xmit_recovery's REXMIT_NEW, in output.ts's transmit, after the
      // window has grown for this ACK); otherwise conventional recovery.
      const unsent = c.unsentBytes() > 0 || (c.finQueued && !c.finSent);
      if (unsent && seqGt(seqAdd(c.sndUna, c.sndWnd), c.sndNxt)) return 'new';
      c.frto = false;
    }
  }
  // Step 2.a, and the end of any loss episode: everything up to high_seq is acknowledged.
  if (recovered) {
    tryUndoRecovery(c, seg);
    return 'none';
  }
  if (isReno(c)) {
    // Without SACK, a duplicate ACK after F-RTO's new data means that data
    // arrived: one segment less in flight (tcp_add_reno_sack); an ACK that
    // advances forgets them (tcp_reset_reno_sack).
    if (seqGt(c.sndNxt, c.highSeq) && numDupack > 0) addRenoSack(c, numDupack);
    else if (unaAdvanced) resetRenoSack(c);
  }
  return 'lost';
}
