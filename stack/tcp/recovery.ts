/**
 * The congestion-avoidance state machine of an ACK (tcp_fastretrans_alert
 * and its helpers in net/ipv4/tcp_input.c): Open, Disorder, CWR, Recovery
 * and Loss; which segments are lost (RACK with SACK, rack.ts; NewReno's
 * duplicate-ACK rule without, RFC 6582); when recovery begins
 * (tcp_time_to_recover: once anything is marked lost) and ends (SND.UNA
 * reaches the recovery point); when a reduction proves spurious and is
 * undone (undo.ts: tcp_try_undo_dsack, tcp_try_undo_recovery,
 * tcp_try_undo_partial); the Loss state after an RTO with F-RTO (frto.ts,
 * tcp_process_loss); an ECN echo's CWR (tcp_try_to_open). It decides the
 * state; the window moves in prr.ts and the congestion control, the
 * retransmissions leave from output.ts (tcp_xmit_retransmit_queue).
 */
import { updateRtoTime } from './rto-stats.ts';
import { FLAG_ECE, FLAG_LOST_RETRANS, FLAG_SET_XMIT_TIMER, FLAG_SND_UNA_ADVANCED } from './ack-flags.ts';
import { anyRetransDone, isReno, tryKeepOpen } from './ca-state.ts';
import type { CaState, Connection, TxRecord } from './connection.ts';
import { processLoss, type Rexmit } from './frto.ts';
import { probeLost } from './mtu-probe-loss.ts';
import { endCwndReduction, enterCwr, inCwndReduction, initCwndReduction } from './prr.ts';
import { rackMarkLost } from './rack.ts';
import { addRenoSack, resetRenoSack } from './reno-sack.ts';
import type { Segment } from './segment.ts';
import { seqGe } from './seq.ts';
import { armReo } from './timer-arming.ts';
import { currentSsthresh, initUndo, tryUndoDsack, tryUndoPartial, tryUndoRecovery } from './undo.ts';
import { setCaState } from './trace-state.ts';

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
 * tcp_newreno_mark_lost (RFC 6582): the head is lost once `reordering`
 * duplicate ACKs arrived before recovery, or at each partial ACK in it.
 */
function newrenoMarkLost(c: Connection, sndUnaAdvanced: boolean): void {
  const state = c.caState;
  const beforeRecovery = state === 'open' || state === 'disorder' || state === 'cwr';
  if ((beforeRecovery && c.renoSacked >= c.reordering) || (state === 'recovery' && sndUnaAdvanced)) {
    const head = c.rtx.first()!;
    if (head.lost) return;
    markSkbLost(c, head);
  }
}

/**
 * tcp_try_to_open: no retransmission left, no give-up clock (retrans_stamp);
 * an ECN echo starts a CWR reduction (tcp_enter_cwr, prr.ts); outside CWR,
 * tcp_try_keep_open.
 */
function tryToOpen(c: Connection, flag: number): void {
  if (!anyRetransDone(c)) c.retransStamp = 0;
  if (flag & FLAG_ECE) enterCwr(c);
  if (c.caState !== 'cwr') tryKeepOpen(c);
}

/**
 * tcp_enter_recovery: TcpExtTCPSackRecovery or TCPRenoRecovery; the give-up
 * clock starts with the fast retransmission unless something was already
 * retransmitted (tcp_retrans_stamp_cleanup); the undo point (tcp_init_undo);
 * and a cwnd reduction (prr.ts) unless one is under way: a window already
 * reduced in CWR is not reduced again. prior_ssthresh is kept for undo
 * unless an ECN echo demands the reduction.
 */
export function enterRecovery(c: Connection, eceAck: boolean): void {
  const mib = c.ctx.counters;
  if (isReno(c)) mib.TcpExtTCPRenoRecovery++;
  else mib.TcpExtTCPSackRecovery++;
  if (!anyRetransDone(c)) c.retransStamp = 0;
  c.priorSsthresh = 0;
  initUndo(c);
  if (!inCwndReduction(c)) {
    if (!eceAck) c.priorSsthresh = currentSsthresh(c);
    initCwndReduction(c);
  }
  setCaState(c, 'recovery');
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

export interface AlertResult {
  flag: number;
  /** *rexmit: tcp_xmit_recovery's work after the window update. */
  rexmit: Rexmit;
  /** A path MTU probe was lost (mtu-probe-loss.ts): the caller resends what no longer fits, as tcp_simple_retransmit, at once. */
  mtuProbeLost?: boolean;
}

/**
 * tcp_fastretrans_alert, for a "dubious" ACK (a duplicate, one with SACK
 * or D-SACK news or an ECN echo, or any ACK outside Open), or a D-SACK
 * with nothing outstanding. `priorUna` is SND.UNA before the ACK; `seg`
 * is the ACK itself, whose echoed timestamp undo reads.
 */
export function fastretransAlert(c: Connection, seg: Segment, priorUna: number, numDupack: number, flag: number): AlertResult {
  const eceAck = (flag & FLAG_ECE) !== 0;
  // A. An ECN echo: the reduction is required, not to be undone.
  if (eceAck) c.priorSsthresh = 0;
  // D. The state ends when SND.UNA reaches the recovery point.
  if (c.caState === 'open') c.retransStamp = 0;
  else if (seqGe(c.sndUna, c.highSeq)) {
    if (c.caState === 'cwr') {
      // CWR is held until something above high_seq is ACKed: the CWR flag reached the peer.
      if (c.sndUna !== c.highSeq) {
        endCwndReduction(c);
        setCaState(c, 'open');
      }
    } else if (c.caState === 'recovery') {
      if (isReno(c)) resetRenoSack(c);
      if (tryUndoRecovery(c, seg)) return { flag, rexmit: 'none' };
      endCwndReduction(c);
    }
  }
  // E. Process the state.
  switch (c.caState) {
    case 'recovery':
      if (!(flag & FLAG_SND_UNA_ADVANCED)) {
        if (isReno(c)) addRenoSack(c, numDupack);
      } else if (tryUndoPartial(c, seg, priorUna)) {
        // The original arrived, retransmissions are still out: hold.
        return { flag, rexmit: 'none' };
      }
      if (tryUndoDsack(c)) tryToOpen(c, flag);
      flag = identifyPacketLoss(c, flag);
      if ((c.caState as CaState) !== 'recovery') {
        // Undo reverted the state; loss evident all the same starts a new recovery.
        if (!timeToRecover(c)) return { flag, rexmit: 'none' };
        enterRecovery(c, eceAck);
      }
      return { flag, rexmit: 'lost' };
    case 'loss': {
      const rexmit = processLoss(c, seg, flag, numDupack);
      if ((c.caState as CaState) !== 'loss') updateRtoTime(c);
      flag = identifyPacketLoss(c, flag);
      // Undone to Open, or a lost retransmission: on to the Open/Disorder rules.
      if (!((c.caState as CaState) === 'open' || flag & FLAG_LOST_RETRANS)) return { flag, rexmit };
      break;
    }
  }
  if (isReno(c)) {
    if (flag & FLAG_SND_UNA_ADVANCED) resetRenoSack(c);
    addRenoSack(c, numDupack);
  }
  // A late D-SACK may show an episode already over spurious.
  if (c.caState === 'open' || c.caState === 'disorder') tryUndoDsack(c);
  flag = identifyPacketLoss(c, flag);
  if (!timeToRecover(c)) {
    tryToOpen(c, flag);
    return { flag, rexmit: 'none' };
  }
  // "MTU probe failure: don't reduce cwnd": a lost probe at SND.UNA is no congestion (Open and Disorder only).
  if ((c.caState === 'open' || c.caState === 'disorder') && probeLost(c)) return { flag, rexmit: 'none', mtuProbeLost: true };
  enterRecovery(c, eceAck);
  return { flag, rexmit: 'lost' };
}
