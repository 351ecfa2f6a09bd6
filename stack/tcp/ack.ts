/**
 * The ACK of an incoming segment (tcp_ack in net/ipv4/tcp_input.c): RFC 5961
 * §5.2 checks, the send window update, the SACK scoreboard
 * (tcp_sacktag_write_queue), acknowledged records, RTT samples and what
 * was delivered (tcp_clean_rtx_queue), then the loss-recovery state machine
 * (recovery.ts, tcp_fastretrans_alert, with undo and F-RTO) for a dubious
 * ACK, the window (tcp_cong_control: PRR in Recovery and CWR, the
 * congestion control otherwise), the retransmissions or F-RTO's new data
 * that follow (tcp_xmit_recovery), and what the ACK of our FIN does to the
 * state.
 */
import { urgentAcked } from './urgent.ts';
import { effectiveMss, simpleRetransmit } from './pmtu.ts';
import { checkProbeAcked } from './mtu-probe.ts';
import { CHRONO_BUSY, chronoStop } from './chrono.ts';
import type { DropReason } from '../drop.ts';
import { TCP_FIN, TCP_SYN } from '../wire/tcp.ts';
import { recordEnd, type Connection, type TxRecord } from './connection.ts';
import {
  FLAG_DATA,
  FLAG_DATA_ACKED,
  FLAG_DATA_SACKED,
  FLAG_ECE,
  FLAG_FORWARD_PROGRESS,
  FLAG_NOT_DUP,
  FLAG_ORIG_SACK_ACKED,
  FLAG_RETRANS_DATA_ACKED,
  FLAG_SET_XMIT_TIMER,
  FLAG_SND_UNA_ADVANCED,
  FLAG_WIN_UPDATE,
} from './ack-flags.ts';
import { tryKeepOpen } from './ca-state.ts';
import { tsValAt } from './constants.ts';
import { FLAG_DSACK_TLP, FLAG_DSACKING_ACK, checkDsack } from './dsack.ts';
import { acceptCwr, isEcnEcho } from './ecn.ts';
import { enterTimeWait, tcpDone } from './endings.ts';
import type { Rexmit } from './frto.ts';
import { challengeAck } from './oow-ack.ts';
import { cwndReduction, endCwndReduction, inCwndReduction, initCwndReduction } from './prr.ts';
import { rackAdvance, rackUpdateReoWnd, updateMinRtt } from './rack.ts';
import { fastretransAlert, type AlertResult } from './recovery.ts';
import { removeRenoSacks } from './reno-sack.ts';
import { checkSackReordering, highestSackSeq } from './reordering.ts';
import { replyReset } from './reset.ts';
import type { Segment } from './segment.ts';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq.ts';
import { timestampRtt } from './rtt.ts';
import * as timers from './timer-arming.ts';
import { onDsackOfRetransmission } from './undo.ts';
import { updatePacingRate } from './send-sizing.ts';
import { isCwndLimited } from './cwnd-limited.ts';
import { stampCwnd } from './cwnd-stamp.ts';
import { setCaState, traceState } from './trace-state.ts';

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
    // processed (tcp_ack old_ack: ts_recent is not updated from it); SACK
    // news goes through tcp_fastretrans_alert (a D-SACK may undo a
    // reduction) and may retransmit.
    if (c.sackOk && seg.options.sackCount > 0) {
      const flag = processSack(c, seg, newSample());
      xmitRecovery(c, alert(c, seg, c.sndUna, 0, flag).rexmit);
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
  const priorPackets = c.rtx.length;
  const priorDelivered = c.delivered;
  const priorLost = c.lostTotal;
  const priorRttSamples = c.rtt.samples;
  const priorFack = c.sackOk ? highestSackSeq(c) : c.sndUna;
  let flag = 0;
  const acked = seqDiff(ack, priorUna);
  if (acked > 0) flag |= FLAG_SND_UNA_ADVANCED;
  if (seg.payload.length > 0 || seg.flags & (TCP_SYN | TCP_FIN)) flag |= FLAG_DATA;
  const nwin = seg.window << c.sndWscale;
  // tcp_may_update_window (RFC 9293 §3.10.7.4 SND.WL1/WL2 rule). Its verdict
  // is tcp_ack_update_window's FLAG_WIN_UPDATE, set whether or not the value
  // changes, and an ACK with it is no duplicate ACK (FLAG_NOT_DUP): pure ACKs
  // injected with SEG.SEQ ahead each time do not trigger fast retransmit.
  const windowUpdated = seqGt(ack, c.sndUna) || seqGt(seg.seq, c.sndWl1) || (seg.seq === c.sndWl1 && (nwin > c.sndWnd || nwin === 0));
  if (windowUpdated) {
    flag |= FLAG_WIN_UPDATE;
    c.sndWnd = nwin;
    c.sndWl1 = seg.seq;
    c.sndWl2 = ack;
    if (nwin > c.maxSndWnd) {
      // tcp_ack_update_window: a larger window than ever resyncs the MSS (tcp_sync_mss).
      c.maxSndWnd = nwin;
      c.mss = effectiveMss(c);
    }
  }
  const rs = newSample();
  if (c.sackOk && seg.options.sackCount > 0) flag |= processSack(c, seg, rs);
  // tcp_ecn_rcv_ecn_echo (FLAG_ECE), and tcp_ecn_accept_cwr for any acceptable ACK.
  if (isEcnEcho(c, seg)) flag |= FLAG_ECE;
  acceptCwr(c, seg);

  if (acked > 0) {
    // tcp_snd_una_update comes before tcp_clean_rtx_queue, whose reordering
    // check measures from the new SND.UNA once nothing is SACKed.
    const priorUna = c.sndUna;
    c.sndUna = ack;
    flag |= ackRecords(c, ack, seg, priorFack, rs);
    if (c.sndUp !== undefined) urgentAcked(c, priorUna); // tcp_clean_rtx_queue: snd_up follows snd_una
    c.errorQueue?.onAcked(priorUna, ack, c.now());
    c.bytesAcked += acked; // tcp_snd_una_update
    c.backoff = 0;
    c.retransmits = 0;
    c.probesOut = 0;
    // retrans_stamp is kept through Recovery and Loss, where undo compares
    // echoed timestamps with it (undo.ts); out of them it ends with the
    // last retransmission acknowledged.
    if ((c.caState === 'open' || c.caState === 'disorder') && c.rtx.everRetransmitted === 0) c.retransStamp = 0;
    c.hooks.wake(c); // send buffer space
    c.hooks.dirty(c);
  } else if (windowUpdated) {
    c.hooks.dirty(c);
  }
  // tcp_clean_rtx_queue: nothing left unacknowledged ends the busy chronograph.
  if (c.rtx.length === 0) chronoStop(c, CHRONO_BUSY);
  if (priorPackets > 0) {
    flag |= sackRtt(c, rs, acked > 0);
    rackUpdateReoWnd(c, rs.priorDelivered);
    if (c.tlpHighSeq !== undefined) processTlpAck(c, ack, flag);
    let rexmit: Rexmit = 'none';
    // tcp_ack_is_dubious: a duplicate, SACK, D-SACK or ECN-echo news
    // (FLAG_CA_ALERT), or any ACK outside Open.
    if (!(flag & FLAG_NOT_DUP) || flag & (FLAG_DATA_SACKED | FLAG_DSACKING_ACK | FLAG_ECE) || c.caState !== 'open') {
      const numDupack = flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DSACKING_ACK) ? 0 : 1;
      const r = alert(c, seg, priorUna, numDupack, flag);
      flag = r.flag;
      rexmit = r.rexmit;
    }
    // tcp_set_xmit_timer for an ACK of new data, unless RACK armed its
    // reordering timer: a tail loss probe while Open, else the RTO.
    if (flag & FLAG_SET_XMIT_TIMER && !timers.scheduleLossProbe(c, true)) timers.rearmRto(c);
    const delivered = newlyDelivered(c, priorDelivered, flag);
    congControl(c, delivered, c.lostTotal - priorLost, flag);
    // tcp_cong_control ends with tcp_update_pacing_rate.
    updatePacingRate(c);
    xmitRecovery(c, rexmit);
  } else {
    // tcp_ack's no_queue: a D-SACK with nothing outstanding may still undo.
    if (flag & FLAG_DSACKING_ACK) {
      fastretransAlert(c, seg, priorUna, 0, flag);
      newlyDelivered(c, priorDelivered, flag);
    }
    if (c.tlpHighSeq !== undefined) processTlpAck(c, ack, flag);
  }

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
  if (c.ctx.trace !== undefined) traceState(c, 'ack', priorRttSamples);
  return undefined;
}

/**
 * tcp_newly_delivered: what this ACK delivered; with an ECN echo it went
 * through a congested path (TcpExtTCPDeliveredCE, tcpi_delivered_ce).
 */
function newlyDelivered(c: Connection, priorDelivered: number, flag: number): number {
  const delivered = c.delivered - priorDelivered;
  if (flag & FLAG_ECE && delivered > 0) {
    c.ctx.counters.TcpExtTCPDeliveredCE += delivered;
    c.deliveredCe += delivered; // tcp_count_delivered's tp->delivered_ce
  }
  return delivered;
}

/**
 * tcp_xmit_recovery: after the window update, the lost segments go out
 * (REXMIT_LOST, tcp_xmit_retransmit_queue) or, for F-RTO, new data first
 * (REXMIT_NEW); output.ts's transmit does it.
 */
/**
 * tcp_fastretrans_alert; a lost path MTU probe it found (mtu-probe-loss.ts)
 * is resent at once, cut to the MSS, without a congestion response
 * (tcp_simple_retransmit).
 */
function alert(c: Connection, seg: Segment, priorUna: number, numDupack: number, flag: number): AlertResult {
  const r = fastretransAlert(c, seg, priorUna, numDupack, flag);
  if (r.mtuProbeLost === true) simpleRetransmit(c);
  return r;
}

function xmitRecovery(c: Connection, rexmit: Rexmit): void {
  if (rexmit === 'none') return;
  if (rexmit === 'new') c.frtoSendNew = true;
  else c.rexmitPending = true;
  c.hooks.dirty(c);
}

/**
 * What one ACK measured (tcp_sacktag_state with its rate sample): the
 * delivered count when the most recently sent segment it delivered was
 * sent, and the send times of the first and last never-retransmitted
 * segments it newly SACKed (first_sackt, last_sackt; -1: none).
 */
interface AckSample {
  priorDelivered: number;
  firstSackt: number;
  lastSackt: number;
  /** An RTT sample was taken from the cumulative ACK. */
  rttTaken: boolean;
}

function newSample(): AckSample {
  return { priorDelivered: 0, firstSackt: -1, lastSackt: -1, rttTaken: false };
}

/**
 * tcp_clean_rtx_queue: drops acknowledged records and trims a partly
 * acknowledged one, takes an RTT sample (Karn, RFC 7323), counts what was
 * delivered, advances RACK with every record no SACK had reported, and
 * takes a never-retransmitted hole filled below the highest SACK as
 * reordering (tcp_check_sack_reordering). Returns the FLAG_* bits.
 */
export function ackRecords(c: Connection, ack: number, seg: Segment, priorFack = c.sndUna, rs = newSample()): number {
  let segments = 0;
  let dataBytes = 0;
  // first_ackt and last_ackt: the oldest and newest never-retransmitted records this ACK covers.
  let firstAcked: TxRecord | undefined;
  let lastAcked: TxRecord | undefined;
  let anyRetransmitted = false;
  let reord = c.sndNxt;
  let flag = 0;
  for (;;) {
    const r = c.rtx.first();
    if (r === undefined) break;
    const end = recordEnd(r);
    if (seqLe(end, ack)) {
      if (r.retrans > 0) {
        anyRetransmitted = true;
        flag |= FLAG_RETRANS_DATA_ACKED;
      } else if (!r.sacked) {
        firstAcked ??= r;
        lastAcked = r;
        if (seqLt(r.seq, reord)) reord = r.seq;
        if (seqLe(end, c.highSeq)) flag |= FLAG_ORIG_SACK_ACKED;
      }
      // tcp_count_delivered and tcp_rack_advance for what no SACK reported,
      // unless the ACK is for the original of a retransmission.
      if (!r.sacked && c.sackOk) {
        c.delivered++;
        if (!spuriousRetrans(c, r, seg)) rackAdvance(c, r);
      }
      if (r.txDelivered > rs.priorDelivered) rs.priorDelivered = r.txDelivered;
      c.rtx.shift();
      dataBytes += r.len;
      segments++;
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
  // tcp_clean_rtx_queue's samples (Karn: none once a retransmission is
  // acknowledged): seq_rtt from the oldest record acknowledged, ca_rtt from
  // the newest, or from the newest SACKed by this ACK. tcp_ack_update_rtt
  // prefers the ACK's timing, then the SACKed records' (sackRtt, after),
  // and takes the echoed timestamp only when neither gave one and data was
  // acknowledged (RFC 7323's RTTM rule).
  const now = c.now();
  const o = seg.options;
  const seqRtt = firstAcked && !anyRetransmitted ? now - firstAcked.sentAt : -1;
  let caRtt = lastAcked && !anyRetransmitted ? now - lastAcked.sentAt : -1;
  if (rs.firstSackt >= 0) caRtt = now - rs.lastSackt;
  if (seqRtt >= 0) {
    c.rtt.sample(seqRtt, c.sndUna, c.sndNxt);
    rs.rttTaken = true;
    // tcp_update_rtt_min: the windowed minimum RACK's reordering window is drawn from.
    updateMinRtt(c, caRtt);
  } else if (rs.firstSackt < 0 && segments > 0 && c.tsOk && o.tsPresent && timestampRtt(c.tsVal(), o.tsEcr) >= 0) {
    caRtt = timestampRtt(c.tsVal(), o.tsEcr);
    c.rtt.sample(caRtt, c.sndUna, c.sndNxt);
    rs.rttTaken = true;
    updateMinRtt(c, caRtt);
  }
  // tcp_clean_rtx_queue → pkts_acked, after the RTT update, with the
  // ACK's rate-sample RTT (CUBIC's HyStart).
  if (segments > 0) c.cc.onRttSample(caRtt >= 0 ? caRtt * 1000 : -1, ack, c.mss, c.rtt.srtt * 1000);
  if (segments > 0) {
    flag |= FLAG_DATA_ACKED | FLAG_SET_XMIT_TIMER;
    // tcp_clean_rtx_queue, FLAG_ACKED: a path MTU probe wholly acknowledged succeeded (mtu-probe.ts).
    checkProbeAcked(c, ack);
    if (!c.sackOk) {
      removeRenoSacks(c, segments);
      // Without SACK a retransmission among them hides whether originals arrived.
      if (flag & FLAG_RETRANS_DATA_ACKED) flag &= ~FLAG_ORIG_SACK_ACKED;
    } else if (seqLt(reord, priorFack)) {
      // A never-retransmitted hole filled: that was reordering.
      checkSackReordering(c, reord, false);
    }
  }
  return flag;
}

/**
 * tcp_skb_spurious_retrans: a retransmitted record whose ACK echoes a
 * timestamp older than its retransmission (tcp_tsopt_ecr_before) was
 * delivered by the original, so its send time says nothing about RACK's
 * most recent delivery (the Eifel case of undo.ts).
 */
function spuriousRetrans(c: Connection, r: TxRecord, seg: Segment): boolean {
  const o = seg.options;
  return r.retrans > 0 && c.tsOk && o.tsPresent && o.tsEcr !== 0 && seqLt(o.tsEcr, tsValAt(r.sentAt, c.tsOffset));
}

/**
 * tcp_ack_update_rtt with no sample from the cumulative ACK: the RTT of
 * the first never-retransmitted segment this ACK newly SACKed (sack_rtt_us)
 * feeds the estimator, and the last one's the min-RTT filter. Without an
 * ACK of new data, such a sample from data sent before the head's last
 * (re)transmission re-arms the RTO (tcp_clean_rtx_queue's
 * FLAG_SET_XMIT_TIMER): a SACK of data sent after it would let the RTO keep
 * moving during recovery.
 */
function sackRtt(c: Connection, rs: AckSample, acked: boolean): number {
  if (rs.firstSackt < 0) return 0;
  const now = c.now();
  if (!rs.rttTaken) {
    const sackRttMs = now - rs.firstSackt;
    c.rtt.sample(sackRttMs, c.sndUna, c.sndNxt);
    updateMinRtt(c, now - rs.lastSackt);
    const head = c.rtx.first();
    if (!acked && head !== undefined && sackRttMs > now - head.sentAt) return FLAG_SET_XMIT_TIMER;
  }
  return 0;
}

/**
 * tcp_cong_control for a window-based algorithm: during a reduction PRR
 * sets the window (tcp_cwnd_reduction); otherwise the congestion control
 * grows it with what this ACK newly delivered (tcp_cong_avoid), when
 * tcp_may_raise_cwnd allows: data cumulatively ACKed, or with a reordering
 * degree above tcp_reordering any forward progress.
 */
function congControl(c: Connection, delivered: number, newlyLost: number, flag: number): void {
  if (inCwndReduction(c)) {
    cwndReduction(c, delivered, newlyLost, (flag & FLAG_SND_UNA_ADVANCED) !== 0);
    return;
  }
  const mayRaise = c.reordering > c.ctx.sysctl.tcp_reordering ? flag & FLAG_FORWARD_PROGRESS : flag & FLAG_DATA_ACKED;
  if (mayRaise) {
    c.cc.onAck(delivered, isCwndLimited(c));
    stampCwnd(c);
  }
}

/**
 * tcp_process_tlp_ack (RFC 8985 §7.4): ends a tail loss probe episode.
 * An ACK up to the probe's SND.NXT ends it when the probe was new data, or
 * when the probe retransmitted and the ACK D-SACKs it (both copies arrived)
 * or is a pure duplicate; an ACK beyond it means the probe repaired a loss:
 * one cwnd reduction (tcp_init_cwnd_reduction, CWR, tcp_end_cwnd_reduction:
 * cwnd = ssthresh, then tcp_try_keep_open), counted in TcpExtTCPLossProbeRecovery;
 * the reduction is announced with CWR on ECN connections.
 */
function processTlpAck(c: Connection, ack: number, flag: number): void {
  const high = c.tlpHighSeq!;
  if (seqLt(ack, high)) return;
  if (!c.tlpRetrans || flag & FLAG_DSACK_TLP) {
    c.tlpHighSeq = undefined;
  } else if (seqGt(ack, high)) {
    initCwndReduction(c);
    setCaState(c, 'cwr');
    endCwndReduction(c);
    tryKeepOpen(c);
    c.ctx.counters.TcpExtTCPLossProbeRecovery++;
  } else if (!(flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DATA_SACKED))) {
    c.tlpHighSeq = undefined;
  }
}

/**
 * tcp_sacktag_write_queue: marks records covered by the SACK blocks (RFC
 * 2018), in order of their start as Linux sorts them. A first block that
 * is a D-SACK (RFC 2883, tcp_check_dsack) reports a duplicate, not new
 * data, and marks nothing. Blocks must pass tcp_is_sackblock_valid; an
 * invalid D-SACK is counted as ignored, another invalid block in
 * TCPSACKDiscard unless it is old news on a reordered ACK. SND.UNA is the
 * ACK's when it advances it, as tcp_ack updates snd_una first. Each newly
 * SACKed record is delivered and advances RACK (tcp_sacktag_one); one never
 * retransmitted below the highest SACK so far shows reordering.
 * Returns checkDsack's bits, plus FLAG_DATA_SACKED when a record became SACKed.
 */
function processSack(c: Connection, seg: Segment, rs: AckSample): number {
  const b = seg.options.sackBlocks;
  let flag = checkDsack(c, seg);
  const foundDsack = (flag & FLAG_DSACKING_ACK) !== 0;
  const priorUna = c.sndUna;
  const una = seqGt(seg.ack, priorUna) ? seg.ack : priorUna;
  // Nothing to mark with nothing outstanding.
  const count = c.rtx.length > 0 ? seg.options.sackCount : 0;
  const blocks: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
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
        if (r.retrans > 0 && seqGe(r.seq, left) && seqLe(recordEnd(r), right)) onDsackOfRetransmission(c, recordEnd(r), 1);
      }
      continue;
    }
    blocks.push([left, right]);
  }
  blocks.sort((x, y) => seqDiff(x[0], y[0]));
  let fack = highestSackSeq(c);
  let reord = c.sndNxt;
  for (const [left, right] of blocks) {
    for (const r of c.rtx) {
      if (seqGe(r.seq, right)) break;
      if (r.sacked || !seqGe(r.seq, left) || !seqLe(recordEnd(r), right)) continue;
      rackAdvance(c, r);
      if (r.retrans === 0) {
        if (seqLt(r.seq, fack) && seqLt(r.seq, reord)) reord = r.seq;
        if (seqLe(recordEnd(r), c.highSeq)) flag |= FLAG_ORIG_SACK_ACKED;
        if (rs.firstSackt < 0) rs.firstSackt = r.sentAt;
        rs.lastSackt = r.sentAt;
      }
      c.rtx.markSacked(r);
      c.delivered++;
      if (r.txDelivered > rs.priorDelivered) rs.priorDelivered = r.txDelivered;
      flag |= FLAG_DATA_SACKED;
      if (seqGt(recordEnd(r), fack)) fack = recordEnd(r);
    }
  }
  if (c.caState !== 'loss' || c.undoMarker !== undefined) checkSackReordering(c, reord, false);
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
