/**
 * The ACK of an incoming segment (tcp_ack in net/ipv4/tcp_input.c): RFC 5961
 * §5.2 checks, the send window update, SACK scoreboard, acknowledged
 * records and RTT samples, congestion control, duplicate ACKs and loss
 * detection (tcp_fastretrans_alert), and what the ACK of our FIN does to the
 * state.
 */
import type { DropReason } from '../drop.ts';
import { TCP_FIN, TCP_SYN } from '../wire/tcp.ts';
import { recordEnd, type Connection, type TxRecord } from './connection.ts';
import { FLAG_DSACK_TLP, FLAG_DSACKING_ACK, checkDsack } from './dsack.ts';
import * as ecn from './ecn.ts';
import { enterTimeWait, tcpDone } from './endings.ts';
import { origDataAcked, origDataSacked, processLoss, type LossAckFlags } from './frto.ts';
import { challengeAck } from './oow-ack.ts';
import { replyReset } from './reset.ts';
import type { Segment } from './segment.ts';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq.ts';
import * as timers from './timer-arming.ts';
import * as undo from './undo.ts';
import { updatePacingRate } from './write-queue.ts';

export function processAck(c: Connection, seg: Segment): DropReason | undefined {
  const ack = seg.ack;
  // RFC 5961 §5.2: an ACK for data never sent, or far older than anything in flight, is challenged.
  if (seqGt(ack, c.sndNxt)) {
    challengeAck(c, 'ack-unsent', false);
    return 'TCP_ACK_UNSENT_DATA';
  }
  // tcp_ack: "do not accept ACK for bytes we never sent": the bound is the
  // smaller of the largest window seen and tp->bytes_acked, which counts
  // every sequence number SND.UNA moved over, our FIN and an active open's
  // SYN included: an ACK one below SND.UNA after our FIN's is an old ACK,
  // accepted (test/scripts/fin-after-ack-of-our-fin.pkt).
  if (seqLt(ack, seqAdd(c.sndUna, -Math.min(c.maxSndWnd, c.bytesAcked)))) {
    challengeAck(c, 'ack-too-old', false);
    return 'TCP_TOO_OLD_ACK';
  }
  if (seqLt(ack, c.sndUna)) {
    // An old ACK inside the window: accepted as a duplicate, its data still
    // processed (tcp_ack old_ack: ts_recent is not updated from it).
    if (c.sackOk && seg.options.sackCount > 0) {
      processSack(c, seg);
      // tcp_ack old_ack → tcp_fastretrans_alert: its D-SACKs may undo a reduction.
      undo.alertUndoDsack(c);
    }
    return undefined;
  }
  // tcp_replace_ts_recent, which tcp_ack does only now that the segment is
  // known to be acceptable: a challenged ACK leaves the echoed TSval as it was.
  const o = seg.options;
  if (c.tsOk && o.tsPresent && seqLe(seg.seq, c.rcvWup)) {
    c.tsRecent = o.tsVal;
    c.tsRecentStamp = c.now();
  }

  // tcp_ack: any acceptable ACK shows the peer alive: icsk_probes_out = 0, so a
  // peer that keeps answering zero-window probes is probed forever (RFC 1122 §4.2.2.17).
  c.probesOut = 0;
  const priorUna = c.sndUna;
  const caStateBefore = c.caState;
  const priorPackets = c.rtx.length;
  const inFlightBefore = c.packetsInFlight();
  const nwin = seg.window << c.sndWscale;
  // tcp_may_update_window (RFC 9293 §3.10.7.4 SND.WL1/WL2 rule). Its verdict
  // is tcp_ack_update_window's FLAG_WIN_UPDATE, set whether or not the value
  // changes, and an ACK with it is no duplicate ACK (FLAG_NOT_DUP): pure ACKs
  // injected with SEG.SEQ ahead each time do not trigger fast retransmit.
  const windowUpdated = seqGt(ack, c.sndUna) || seqGt(seg.seq, c.sndWl1) || (seg.seq === c.sndWl1 && (nwin > c.sndWnd || nwin === 0));
  if (windowUpdated) {
    c.sndWnd = nwin;
    c.sndWl1 = seg.seq;
    c.sndWl2 = ack;
    if (nwin > c.maxSndWnd) c.maxSndWnd = nwin;
  }
  const dupsBefore = c.dsackDups;
  const sackedBeforeSack = c.rtx.sackedOut;
  const sackFlag = c.sackOk && seg.options.sackCount > 0 ? processSack(c, seg) : 0;
  const newlySacked = Math.max(0, c.rtx.sackedOut - sackedBeforeSack);
  // tcp_dsack_seen: an accepted D-SACK's duplicates count as delivered (sack_delivered).
  const dsackDelivered = (sackFlag & FLAG_DSACKING_ACK) !== 0 ? c.dsackDups - dupsBefore : 0;
  // tcp_ecn_rcv_ecn_echo (FLAG_ECE), then tcp_ecn_accept_cwr for any acceptable ACK.
  const ece = ecn.isEcnEcho(c, seg);
  ecn.acceptCwr(c, seg);

  const acked = seqDiff(ack, priorUna);
  let delivered = newlySacked;
  const dupAck =
    acked <= 0 && seg.payload.length === 0 && !(seg.flags & (TCP_SYN | TCP_FIN)) && !windowUpdated && c.rtx.length > 0 && seqGt(c.sndNxt, c.sndUna);
  // tcp_fastretrans_alert's view of the ACK for tcp_process_loss (frto.ts).
  const lossFlags: LossAckFlags = {
    unaAdvanced: acked > 0,
    dataSacked: (sackFlag & FLAG_DATA_SACKED) !== 0,
    origSackAcked: (sackFlag & FLAG_ORIG_SACK_ACKED) !== 0 || (acked > 0 && c.caState === 'loss' && origDataAcked(c, ack)),
    dupAck: dupAck && (sackFlag & FLAG_DSACKING_ACK) === 0,
  };
  if (acked > 0) {
    const sackedBefore = c.rtx.sackedOut;
    const renoSackedBefore = c.renoSacked;
    const ackedSegments = ackRecords(c, ack, seg);
    delivered += ackedSegments - (sackedBefore - c.rtx.sackedOut);
    c.sndUna = ack;
    c.bytesAcked += acked; // tcp_snd_una_update
    c.backoff = 0;
    c.retransmits = 0;
    c.probesOut = 0;
    c.dupAcks = 0;
    // Segments delivered by this ACK that no SACK had reported, and D-SACKed
    // duplicates (tcp_ack's acked_sacked, tcp_newly_delivered).
    // Without SACK, duplicate ACKs already counted all but one of what the ACK covers (tcp_remove_reno_sacks).
    const newlyDelivered = c.sackOk ? ackedSegments - (sackedBefore - c.rtx.sackedOut) + dsackDelivered : Math.max(ackedSegments - renoSackedBefore, 1);
    congestionOnAck(c, seg, ackedSegments, inFlightBefore, newlyDelivered, lossFlags, ece, delivered);
    // retrans_stamp is kept through Recovery and Loss, where undo compares
    // echoed timestamps with it; out of them it ends with the last
    // retransmission acknowledged (tcp_fastretrans_alert, tcp_try_to_open).
    if ((c.caState === 'open' || c.caState === 'disorder') && c.rtx.everRetransmitted === 0) c.retransStamp = 0;
    c.hooks.wake(c); // send buffer space
    c.hooks.dirty(c);
  } else if (dupAck) {
    onDuplicateAck(c);
  } else if (windowUpdated) {
    c.hooks.dirty(c);
  }
  // tcp_fastretrans_alert in Loss for an ACK that does not advance SND.UNA:
  // tcp_process_loss (F-RTO's step 3.a on duplicate ACKs and SACKs).
  if (acked <= 0 && c.caState === 'loss') processLoss(c, seg, lossFlags);
  // tcp_fastretrans_alert runs on a dubious ACK (tcp_ack_is_dubious: a
  // duplicate, new SACK information, or not Open), or on a D-SACK with
  // nothing outstanding; there D-SACKs may show the reduction spurious.
  const notDup = acked > 0 || windowUpdated || seg.payload.length > 0 || (seg.flags & TCP_FIN) !== 0;
  if (!notDup || (sackFlag & FLAG_DATA_SACKED) !== 0 || caStateBefore !== 'open' || (priorPackets === 0 && (sackFlag & FLAG_DSACKING_ACK) !== 0)) {
    undo.alertUndoDsack(c);
  }
  if (acked <= 0 && ece) {
    // An ECE without new data acknowledged is dubious too (FLAG_CA_ALERT): tcp_try_to_open enters CWR.
    ecn.enterCwr(c);
    if (c.caState === 'cwr') ecn.cwndReduction(c, delivered, false);
    c.hooks.dirty(c);
  }
  // tcp_count_delivered: what an ECE-marked ACK delivered went through a congested path.
  if (ece && delivered > 0) c.ctx.counters.TcpExtTCPDeliveredCE += delivered;
  if (c.tlpHighSeq !== undefined) {
    const notDup = acked > 0 || windowUpdated || seg.payload.length > 0;
    processTlpAck(c, ack, acked > 0, notDup, (sackFlag & FLAG_DATA_SACKED) !== 0, (sackFlag & FLAG_DSACK_TLP) !== 0);
  }
  detectLoss(c);
  // tcp_cong_control ends with tcp_update_pacing_rate, for every ACK that found packets out.
  if (priorPackets > 0) updatePacingRate(c);
  // tcp_ack → tcp_set_xmit_timer for an ACK of new data (FLAG_SET_XMIT_TIMER),
  // after loss detection: a tail loss probe while Open, else the RTO.
  if (acked > 0 && !timers.scheduleLossProbe(c, true)) timers.rearmRto(c);

  // Our FIN acknowledged?
  if (c.finSent && ack === c.sndNxt && c.rtx.length === 0) {
    switch (c.state) {
      case 'FIN_WAIT1':
        c.setState('FIN_WAIT2');
        if (c.orphan) {
          // tcp_rcv_state_process, TCP_FIN_WAIT1 for an orphan: with
          // TCP_LINGER2 < 0, or when this segment brings data (or a FIN)
          // beyond RCV.NXT, tcp_done and a reply reset (tcp_v4_send_reset)
          // to this segment (TCPAbortOnData, reason TCP_ABORT_ON_DATA).
          const occupies = seg.payload.length > 0 || (seg.flags & TCP_FIN) !== 0;
          const beyond = occupies && seqGt(seqAdd(seg.seq, seg.payload.length), c.rcvNxt);
          if ((c.linger2 !== undefined && c.linger2 < 0) || beyond) {
            replyReset(c.ctx, seg, 'abortOnData');
            tcpDone(c);
            return 'TCP_ABORT_ON_DATA';
          }
          // Else it becomes a FIN_WAIT2 minisock, unless c very segment
          // carries the peer's FIN too: then the full socket goes on to TIME_WAIT.
          if (seg.flags & TCP_FIN) timers.armKeepalive(c, timers.finTime(c));
          else timers.orphanFinWait2(c);
        }
        break;
      case 'CLOSING':
        enterTimeWait(c);
        return undefined;
      case 'LAST_ACK':
        tcpDone(c);
        return undefined;
    }
  }
  if (c.sndWnd === 0 && c.unsentBytes() > 0 && c.rtx.length === 0) timers.armPersist(c);
  return undefined;
}

/** Drops acknowledged records, trims a partly acknowledged one, takes an RTT sample (Karn, RFC 7323). */
export function ackRecords(c: Connection, ack: number, seg: Segment): number {
  let segments = 0;
  let dataBytes = 0;
  let sampleFrom: TxRecord | undefined;
  let anyRetransmitted = false;
  for (;;) {
    const r = c.rtx.first();
    if (r === undefined) break;
    const end = recordEnd(r);
    if (seqLe(end, ack)) {
      c.rtx.shift();
      dataBytes += r.len;
      segments++;
      if (r.retrans > 0) anyRetransmitted = true;
      else sampleFrom = r;
      continue;
    }
    if (seqGt(ack, r.seq)) {
      // Partially acknowledged: keep the rest (the SYN never splits).
      const n = seqDiff(ack, r.seq) - (r.syn ? 1 : 0);
      r.seq = ack;
      r.len -= n;
      r.syn = false;
      dataBytes += n;
    }
    break;
  }
  if (dataBytes > 0) c.sendQueue.consume(dataBytes);
  const o = seg.options;
  if (c.tsOk && o.tsPresent && o.tsEcr !== 0) {
    c.rtt.sample(Math.max(0, (c.tsVal() - o.tsEcr) | 0));
  } else if (sampleFrom && !anyRetransmitted) {
    c.rtt.sample(c.now() - sampleFrom.sentAt);
  }
  // tcp_clean_rtx_queue → pkts_acked, after the RTT update, with the delay of
  // the newest never-retransmitted segment acknowledged (CUBIC's HyStart).
  if (segments > 0) c.cc.onRttSample(sampleFrom && !anyRetransmitted ? (c.now() - sampleFrom.sentAt) * 1000 : -1, ack, c.mss, c.rtt.srtt * 1000);
  return segments;
}

function congestionOnAck(
  c: Connection,
  seg: Segment,
  ackedSegments: number,
  inFlightBefore: number,
  newlyDelivered: number,
  lossFlags: LossAckFlags,
  ece: boolean,
  delivered: number,
): void {
  const ack = seg.ack;
  if (c.caState === 'loss') {
    // tcp_fastretrans_alert → tcp_process_loss (frto.ts): undo of a spurious
    // RTO, F-RTO, or the end of the episode at high_seq.
    processLoss(c, seg, lossFlags);
    // tcp_cong_control: Loss is no window reduction, so the ACK grows cwnd
    // (slow start) by what it newly delivered, after any undo, also on the
    // ACK that ends the episode.
    c.cc.onAck(newlyDelivered, inFlightBefore);
    return;
  }
  if (c.caState === 'recovery') {
    if (seqGe(ack, c.highSeq)) {
      // tcp_fastretrans_alert at high_seq: tcp_reset_reno_sack, then
      // tcp_try_undo_recovery (undo.ts), which without SACK holds Recovery
      // while SND.UNA is exactly at high_seq.
      if (!c.sackOk) c.renoSacked = 0;
      if (undo.tryUndoRecovery(c, seg)) return;
      // tcp_end_cwnd_reduction: cwnd = ssthresh, unless the reduction was undone.
      if (c.undoMarker !== undefined) c.cc.onExitRecovery();
      c.renoSacked = 0;
      // tcp_ack: the ACK that ends recovery goes on to tcp_cong_control with
      // the segments it newly delivered, so it may already grow the window
      // (test/scripts/cubic-loss-window.pkt).
      if (newlyDelivered > 0) c.cc.onAck(newlyDelivered, inFlightBefore);
      return;
    }
    // A partial ACK: tcp_try_undo_partial (undo.ts) first; when the hole was only reordering, the connection reopens.
    const partial = undo.tryUndoPartial(c, seg);
    if (partial === 'undone') {
      // Open again: tcp_cong_control grows the window by what the ACK newly delivered.
      c.cc.onAck(newlyDelivered, inFlightBefore);
      return;
    }
    if (partial === 'none' && !c.sackOk) {
      // NewReno partial ACK (RFC 6582 §3.2 step 4): the next hole is lost too.
      c.renoSacked = Math.max(0, c.renoSacked - ackedSegments);
      const head = c.rtx.first();
      if (head && !head.lost) c.rtx.markLost(head);
    }
    return;
  }
  if (c.caState === 'cwr') {
    // tcp_fastretrans_alert: CWR ends once something above its recovery point
    // is acknowledged (so the CWR flag reached the peer): cwnd = ssthresh.
    if (seqGt(ack, c.highSeq)) ecn.endCwr(c);
  } else {
    c.caState = 'open';
    c.renoSacked = 0;
  }
  // tcp_try_to_open: an ECN echo starts a new reduction (once per window).
  if (ece) ecn.enterCwr(c);
  // tcp_cong_control: PRR while the window is being reduced, else the algorithm's growth.
  if (c.caState === 'cwr') ecn.cwndReduction(c, delivered, true);
  else c.cc.onAck(ackedSegments, inFlightBefore);
}

function onDuplicateAck(c: Connection): void {
  c.dupAcks++;
  // In Loss tcp_process_loss does this accounting (frto.ts).
  if (!c.sackOk && c.caState !== 'loss') {
    // tcp_add_reno_sack: each duplicate means one more segment left the network.
    c.renoSacked = Math.min(c.renoSacked + 1, Math.max(c.rtx.length - 1, 0));
  }
  if (c.caState === 'open') c.caState = 'disorder';
  c.hooks.dirty(c);
}

/**
 * tcp_process_tlp_ack (RFC 8985 §7.4): ends a tail loss probe episode.
 * An ACK up to the probe's SND.NXT ends it when the probe was new data, or
 * when the probe retransmitted and the ACK D-SACKs it (both copies arrived)
 * or is a pure duplicate; an ACK beyond it means the probe repaired a loss:
 * one cwnd reduction (tcp_init_cwnd_reduction, CWR, tcp_end_cwnd_reduction:
 * cwnd = ssthresh, then Open again), counted in TcpExtTCPLossProbeRecovery.
 */
function processTlpAck(c: Connection, ack: number, unaAdvanced: boolean, notDup: boolean, dataSacked: boolean, dsackTlp: boolean): void {
  const high = c.tlpHighSeq!;
  if (seqLt(ack, high)) return;
  if (!c.tlpRetrans || dsackTlp) {
    c.tlpHighSeq = undefined;
  } else if (seqGt(ack, high)) {
    c.tlpHighSeq = undefined;
    c.highSeq = c.sndNxt;
    // tcp_init_cwnd_reduction: the congestion control's ssthresh (half the
    // cwnd with Reno, 717/1024 of it with CUBIC), set as the cwnd.
    c.cc.onEnterRecovery(c.cc.cwnd);
    c.cc.onExitRecovery();
    ecn.queueCwr(c);
    c.ctx.counters.TcpExtTCPLossProbeRecovery++;
  } else if (!unaAdvanced && !notDup && !dataSacked) {
    c.tlpHighSeq = undefined;
  }
}

/** tcp_sacktag_write_queue marked a record SACKed (beside dsack.ts's FLAG_* bits). */
const FLAG_DATA_SACKED = 4;
/** tcp_sacktag_one: a never-retransmitted record up to high_seq became SACKed (F-RTO, frto.ts). */
const FLAG_ORIG_SACK_ACKED = 8;

/**
 * tcp_sacktag_write_queue: marks records covered by the SACK blocks (RFC
 * 2018). A first block that is a D-SACK (RFC 2883, tcp_check_dsack) reports
 * a duplicate, not new data, and marks nothing. Blocks must pass
 * tcp_is_sackblock_valid; an invalid D-SACK is counted as ignored, another
 * invalid block in TCPSACKDiscard unless it is old news on a reordered ACK.
 * SND.UNA is the ACK's when it advances it, as tcp_ack updates snd_una first.
 * Returns checkDsack's bits, plus FLAG_DATA_SACKED when a record became SACKed.
 */
function processSack(c: Connection, seg: Segment): number {
  const b = seg.options.sackBlocks;
  let flag = checkDsack(c, seg);
  const foundDsack = (flag & FLAG_DSACKING_ACK) !== 0;
  const priorUna = c.sndUna;
  const una = seqGt(seg.ack, priorUna) ? seg.ack : priorUna;
  // Nothing to mark with nothing outstanding.
  const blocks = c.rtx.length > 0 ? seg.options.sackCount : 0;
  for (let i = 0; i < blocks; i++) {
    const isDsack = i === 0 && foundDsack;
    const left = b[2 * i]!;
    const right = b[2 * i + 1]!;
    if (!sackBlockValid(c, isDsack, left, right, una)) {
      const mib = c.ctx.counters;
      if (isDsack) {
        if (c.undoMarker === undefined) mib.TcpExtTCPDSACKIgnoredNoUndo++;
        else mib.TcpExtTCPDSACKIgnoredOld++;
      } else if (seg.ack === una || seqGt(right, una)) mib.TcpExtTCPSACKDiscard++;
      continue;
    }
    if (seqLe(right, priorUna)) continue;
    if (isDsack) {
      // tcp_sacktag_one: a D-SACK of a retransmitted record still queued counts toward undo (undo.ts).
      for (const r of c.rtx) {
        if (seqGe(r.seq, right)) break;
        if (r.retrans > 0 && seqGe(r.seq, left) && seqLe(recordEnd(r), right)) undo.onDsackOfRetransmission(c, recordEnd(r), 1);
      }
      continue;
    }
    for (const r of c.rtx) {
      if (seqGe(r.seq, right)) break;
      if (!r.sacked && seqGe(r.seq, left) && seqLe(recordEnd(r), right)) {
        c.rtx.markSacked(r);
        flag |= FLAG_DATA_SACKED;
        if (origDataSacked(c, recordEnd(r), r.retrans)) flag |= FLAG_ORIG_SACK_ACKED;
      }
    }
  }
  c.hooks.dirty(c);
  return flag;
}

/**
 * tcp_is_sackblock_valid: a block must end by SND.NXT and start after
 * SND.UNA; a D-SACK may instead lie wholly below SND.UNA, but not below the
 * point where the last recovery began (undo_marker), give or take a window.
 */
function sackBlockValid(c: Connection, isDsack: boolean, left: number, right: number, una: number): boolean {
  if (seqGt(right, c.sndNxt) || !seqLt(left, right) || !seqLt(left, c.sndNxt)) return false;
  if (seqGt(left, una)) return true;
  if (!isDsack || c.undoMarker === undefined) return false;
  if (seqGt(right, una)) return false;
  if (seqGe(left, c.undoMarker)) return true;
  if (seqLe(right, c.undoMarker)) return false;
  return seqGe(left, seqAdd(right, -c.maxSndWnd));
}

/**
 * Loss detection: three duplicate ACKs without SACK (RFC 5681 §3.2), or
 * with SACK a hole with three SACKed segments above it (RFC 6675 IsLost,
 * DupThresh 3); entering recovery halves the window once per window.
 */
function detectLoss(c: Connection): void {
  if (c.rtx.length === 0 || c.caState === 'loss') return;
  let newlyLost = false;
  if (c.sackOk) {
    if (c.rtx.sackedOut >= 3) {
      let sackedAbove = 0;
      for (let i = c.rtx.length - 1; i >= 0; i--) {
        const r = c.rtx.at(i)!;
        if (r.sacked) sackedAbove++;
        else if (sackedAbove >= 3 && !r.lost && !r.retransOut) {
          c.rtx.markLost(r);
          newlyLost = true;
        }
      }
    }
  } else if (c.dupAcks >= 3 && c.caState !== 'recovery') {
    const head = c.rtx.first()!;
    if (!head.lost) {
      c.rtx.markLost(head);
      newlyLost = true;
    }
  }
  // tcp_time_to_recover: newly lost, or still lost after a D-SACK undo left Recovery (lost_out).
  if ((newlyLost || c.rtx.lostOut > 0) && c.caState !== 'recovery') {
    // tcp_enter_recovery: a window already being reduced (CWR) is not reduced again.
    const reducing = c.caState === 'cwr';
    undo.onEnterRecovery(c); // tcp_enter_recovery: retrans_stamp, prior_ssthresh/prior_cwnd, tcp_init_undo
    c.caState = 'recovery';
    c.highSeq = c.sndNxt;
    if (!reducing) {
      c.cc.onEnterRecovery(c.packetsInFlight());
      ecn.queueCwr(c); // tcp_init_cwnd_reduction
    }
    c.recoveryRetransSent = false;
    const mib = c.ctx.counters;
    if (c.sackOk) mib.TcpExtTCPSackRecovery++;
    else mib.TcpExtTCPRenoRecovery++;
  }
  if (newlyLost) c.hooks.dirty(c);
}
