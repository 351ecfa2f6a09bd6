/**
 * Segment arrival on a connection, in RFC 9293 §3.10.7's order of checks
 * with Linux's choices where the RFC leaves room (tcp_rcv_synsent_state_process,
 * tcp_validate_incoming, tcp_rcv_state_process in net/ipv4/tcp_input.c). The
 * ACK itself is ack.ts, data and FIN receive.ts.
 */
import type { DropReason } from '../drop.ts';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TCP_URG } from '../wire/tcp.ts';
import { TCP_URG_NOTYET, receiveUrgent } from './urgent.ts';
import { processAck, ackRecords } from './ack.ts';
import { initBufferSpace } from './rcvbuf.ts';
import { TCP_DEFAULT_MSS, TCP_DELACK_MAX, TCP_TIMEOUT_FALLBACK, TCP_TIMEOUT_MIN, tsValAt } from './constants.ts';
import { enterQuickAckMode } from './ack-schedule.ts';
import { rcvFastOpenSynAck } from './fastopen-synack.ts';
import { activeDisable } from './fastopen-client.ts';
import type { Connection } from './connection.ts';
import * as ecn from './ecn.ts';
import { resetByPeer } from './endings.ts';
import { challengeAck, sendDupAck } from './oow-ack.ts';
import * as out from './output.ts';
import { duplicateSyn, receive } from './receive.ts';
import { replyReset } from './reset.ts';
import { segmentLength, type Segment } from './segment.ts';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq.ts';
import * as timers from './timer-arming.ts';
import { updatePacingRate } from './send-sizing.ts';
import { initTransferRoute } from './init-transfer.ts';
import { updateRtoTime } from './rto-stats.ts';
import { stampCwnd } from './cwnd-stamp.ts';
import { CHILD_PROCESSES, fastOpenRemove } from './fastopen-server.ts';
import { synAckRttMeasure } from './openreq-child.ts';
import type { RequestSock } from './request-sock.ts';

/** A segment for c connection (already matched by 4-tuple). */
export function connectionInput(c: Connection, seg: Segment): DropReason | undefined {
  if (c.state === 'SYN_SENT') return synSentInput(c, seg);
  if (c.state === 'CLOSED' || c.state === 'LISTEN' || c.state === 'TIME_WAIT') return 'TCP_CLOSE';
  // A Fast Open child still holding its request: tcp_check_req screens the segment first (tcp_rcv_state_process).
  const req = c.fastOpenRsk;
  if (req?.owner !== undefined) {
    const verdict = req.owner.checkRequest(req, seg, c);
    if (verdict !== CHILD_PROCESSES) return verdict;
  }
  return synchronizedInput(c, seg);
}

/** RFC 9293 §3.10.7.3 / tcp_rcv_synsent_state_process. */
function synSentInput(c: Connection, seg: Segment): DropReason | undefined {
  const f = seg.flags;
  if (f & TCP_ACK) {
    if (seqLe(seg.ack, c.iss) || seqGt(seg.ack, c.sndNxt)) {
      // Linux cuts the SYN timer so a fresh SYN follows at once if none was
      // retransmitted yet, before it looks at RST: an unacceptable RST,ACK
      // also brings the SYN forward (tcp_rcv_synsent_state_process;
      // packetdrill on 6.18: test/scripts/rst-syn-sent.pkt).
      if (!c.synRetransmitted) timers.armRto(c, TCP_TIMEOUT_MIN);
      if (f & TCP_RST) return 'TCP_RESET';
      // The reason names which side of the range the ACK fell on (TCP_ACK_UNSENT_DATA / TCP_TOO_OLD_ACK).
      const unsent = seqGt(seg.ack, c.sndNxt);
      replyReset(c.ctx, seg, unsent ? 'synSentBadAck' : 'synSentOldAck');
      return unsent ? 'TCP_ACK_UNSENT_DATA' : 'TCP_TOO_OLD_ACK';
    }
  }
  // tcp_rcv_synsent_state_process: a timestamp echo that our SYNs cannot
  // have sent (before the first one, or in the future) resets (PAWS).
  const syn = c.rtx.first();
  if (f & TCP_ACK && seg.options.tsPresent && seg.options.tsEcr !== 0 && syn !== undefined) {
    const first = tsValAt(syn.firstSentAt, c.tsOffset);
    if (((c.tsVal() - first) >>> 0) < ((seg.options.tsEcr - first) >>> 0)) {
      if (!(f & TCP_RST)) replyReset(c.ctx, seg, 'synSentPaws');
      else c.ctx.counters.TcpExtPAWSActiveRejected++;
      return 'TCP_RFC7323_PAWS';
    }
  }
  if (f & TCP_RST) {
    if (!(f & TCP_ACK)) return 'TCP_RESET'; // RST without an acceptable ACK: dropped
    resetByPeer(c);
    return undefined;
  }
  if (!(f & TCP_SYN)) return 'TCP_FLAGS';

  c.irs = seg.seq;
  c.rcvNxt = seqAdd(seg.seq, 1);
  c.rcvWup = c.rcvNxt;
  negotiateOptions(c, seg);
  if (f & TCP_ACK) {
    // SYN-ACK: the handshake completes on our side.
    ecn.onSynAck(c, f);
    c.lastRcvTime = c.now();
    c.lastDataTime = c.now(); // tcp_finish_connect: icsk_ack.lrcvtime (tcpi_last_data_recv counts from the handshake)
    c.synchronizedAt = c.now();
    // tcp_ack: snd_una moves before tcp_clean_rtx_queue takes the SYN's
    // RTT sample (its send time, or the echoed timestamp once it was
    // retransmitted: tcp_ack_update_rtt).
    const priorUna = c.sndUna;
    c.bytesAcked += seqDiff(seg.ack, c.sndUna); // tcp_snd_una_update: the SYN counts
    c.sndUna = seg.ack;
    ackRecords(c, seg.ack, seg, priorUna);
    // RFC 7323 §2.2: the window of a SYN is never scaled.
    c.sndWnd = seg.window;
    c.maxSndWnd = c.sndWnd;
    c.mss = out.effectiveMss(c); // tcp_ack_update_window → tcp_sync_mss: bounded by the window
    c.sndWl1 = seg.seq;
    c.sndWl2 = seg.ack;
    // tcp_ack of the SYN-ACK → tcp_cong_control: the first pacing rate.
    updatePacingRate(c);
    if (c.synRetransmitted && c.rtt.samples === 0) c.rtt.rto = TCP_TIMEOUT_FALLBACK;
    c.backoff = 0;
    c.retransmits = 0;
    c.retransStamp = 0;
    timers.cancelXmit(c);
    c.setState('ESTABLISHED');
    c.lastDataTime = c.now(); // tcp_finish_connect: icsk_ack.lrcvtime
    initTransferRoute(c);
    stampCwnd(c); // tcp_init_transfer: snd_cwnd_stamp
    initBufferSpace(c); // tcp_finish_connect → tcp_init_transfer
    if (c.keepalive) timers.armKeepalive(c);
    // Fast Open (RFC 7413): the cookie cached, SYN data not acknowledged sent
    // again, the SYN-ACK's data queued. A SYN-ACK's data is taken only there.
    const verdict: { drop: DropReason | undefined } = { drop: undefined };
    const fastOpenFail = (c.synFastOpen || c.synData) && rcvFastOpenSynAck(c, seg, verdict);
    // tcp_clean_rtx_queue freed the SYN and any SYN data it acknowledged:
    // their MSG_ZEROCOPY completion (a Fast Open write's) is due.
    c.errorQueue?.onAcked(priorUna, seg.ack, c.now());
    const writePending = c.writePending > 0;
    c.writePending = 0;
    c.hooks.dirty(c);
    // The retransmitted data carries the handshake's ACK.
    if (fastOpenFail) return verdict.drop;
    if (writePending || c.deferAcceptConnect || c.pingpong) {
      // A writer waits with more data, or TCP_DEFER_ACCEPT or TCP_QUICKACK 0
      // on the connecting socket: the ACK is held to ride on data ("save one
      // ACK"), quick ACKs on, the delayed-ACK timer at TCP_DELACK_MAX.
      enterQuickAckMode(c);
      c.ackSched = true;
      if (!c.ackNow) {
        c.ackDelayed = true;
        c.ackTimeout = c.now() + TCP_DELACK_MAX;
        c.ctx.timers.arm(c.delackTimer, c.ackTimeout);
      }
      return verdict.drop;
    }
    c.ackNow = true;
    return verdict.drop;
  }
  // Simultaneous open (RFC 9293 §3.5, Figure 7): SYN_RECV, answer with SYN,ACK.
  ecn.onCrossingSyn(c, f);
  c.sndWnd = seg.window;
  c.sndWl1 = seg.seq;
  c.setState('SYN_RECV');
  out.sendSyn(c, true);
  return undefined;
}

function negotiateOptions(c: Connection, seg: Segment): void {
  const o = seg.options;
  const s = c.ctx.sysctl;
  // tcp_parse_options: TCP_MAXSEG caps the MSS the peer announced.
  c.peerMss = Math.min(o.mss > 0 ? o.mss : TCP_DEFAULT_MSS, c.userMss || Infinity);
  c.wscaleOk = s.tcp_window_scaling !== 0 && o.wscale >= 0;
  c.sndWscale = c.wscaleOk ? o.wscale : 0;
  if (!c.wscaleOk) {
    // tcp_rcv_synsent_state_process: no scaling, so no window beyond 65535.
    c.rcvWscale = 0;
    c.windowClamp = Math.min(c.windowClamp, 65535);
  }
  c.sackOk = s.tcp_sack !== 0 && o.sackPermitted;
  c.tsOk = s.tcp_timestamps !== 0 && o.tsPresent;
  if (c.tsOk) {
    c.tsRecent = o.tsVal;
    c.tsRecentStamp = c.now();
  }
  c.mss = out.effectiveMss(c);
}

/** RFC 9293 §3.10.7.4, for every state from SYN_RECV to TIME_WAIT's predecessors. */
function synchronizedInput(c: Connection, seg: Segment): DropReason | undefined {
  const f = seg.flags;
  const o = seg.options;

  // PAWS (RFC 7323 §5.3): an older timestamp marks an old duplicate. A RST is never rejected by PAWS.
  if (c.tsOk && o.tsPresent && !(f & TCP_RST) && seqLt(o.tsVal, c.tsRecent)) {
    c.ctx.counters.TcpExtPAWSEstab++;
    sendDupAck(c, seg);
    return 'TCP_RFC7323_PAWS';
  }

  // First: the sequence number (tcp_sequence). A segment that ends beyond
  // the window is taken (to be trimmed) only while nothing waits in the
  // receive queue; otherwise it is out of window as a whole, even if it
  // starts at RCV.NXT: data into a zero window with unread data queued is
  // TcpExtBeyondWindow and a plain duplicate ACK, not tcp_data_queue's
  // TCPZeroWindowDrop (SKB_DROP_REASON_TCP_INVALID_END_SEQUENCE). The FIN
  // does not count: a bare FIN into a zero window passes, for tcp_data_queue
  // to take (some stacks send it regardless, and refusing it would loop).
  const rightEdge = seqAdd(c.rcvNxt, c.receiveWindow());
  const finLen = f & TCP_FIN ? 1 : 0;
  const endBeyond = c.recvQueue.length > 0 && seqGt(seqAdd(seg.seq, segmentLength(seg) - finLen), rightEdge);
  if (!c.acceptable(seg) || endBeyond) {
    if (f & TCP_RST) {
      // tcp_reset_check: in CLOSE_WAIT/CLOSING/LAST_ACK a RST at RCV.NXT−1 (the
      // peer's FIN, which we already acknowledged) still resets.
      if (c.closingState() && seg.seq === seqAdd(c.rcvNxt, -1)) {
        resetByPeer(c);
        return undefined;
      }
      return 'TCP_INVALID_SEQUENCE';
    }
    if (f & TCP_SYN) return challengeAck(c, 'syn', true);
    const beyond = seqGt(seg.seq, rightEdge);
    if (beyond || endBeyond) c.ctx.counters.TcpExtBeyondWindow++;
    sendDupAck(c, seg);
    if (endBeyond && !beyond) return 'TCP_INVALID_END_SEQUENCE';
    // tcp_sequence's two reasons: wholly before RCV.WUP (old), or beyond the window.
    return seqLt(seqAdd(seg.seq, seg.payload.length), c.rcvWup) ? 'TCP_OLD_SEQUENCE' : 'TCP_INVALID_SEQUENCE';
  }

  // Second: RST (RFC 5961 §3.2: exact match resets, anything else in window is challenged).
  if (f & TCP_RST) {
    const sackEdge = c.ooo.end;
    if (seg.seq === c.rcvNxt || (c.closingState() && seg.seq === seqAdd(c.rcvNxt, -1)) || (sackEdge !== undefined && seg.seq === sackEdge)) {
      resetByPeer(c);
      return undefined;
    }
    // An out-of-order RST before any data on an active Fast Open connection: a blackhole sign.
    if (c.synFastOpen && c.dataSegsIn === 0 && c.state === 'ESTABLISHED') activeDisable(c.ctx);
    return challengeAck(c, 'rst', false);
  }

  // Fourth: SYN on a synchronized connection (RFC 5961 §4.2): challenge ACK.
  if (f & TCP_SYN) {
    const simultaneousSynAck =
      c.state === 'SYN_RECV' && (f & TCP_ACK) !== 0 && seqAdd(seg.seq, 1) === c.rcvNxt && seg.ack === c.sndNxt;
    if (!simultaneousSynAck) return challengeAck(c, 'syn', true);
  }

  // Fifth: ACK.
  if (!(f & TCP_ACK)) return 'TCP_FLAGS';
  c.lastRcvTime = c.now();
  c.keepaliveProbes = 0;
  const fastOpenRsk = c.fastOpenRsk;
  if (c.state === 'SYN_RECV') {
    // A Fast Open child's SND.UNA is already past its SYN (tcp_create_openreq_child):
    // an ACK of just the SYN-ACK is acceptable, one below it is old (tcp_ack then fails: RST).
    const old = fastOpenRsk !== undefined ? seqLt(seg.ack, c.sndUna) : seqLe(seg.ack, c.sndUna);
    if (old || seqGt(seg.ack, c.sndNxt)) {
      replyReset(c.ctx, seg, 'synRecvBadAck');
      return 'TCP_INVALID_ACK_SEQUENCE';
    }
    c.sndWnd = seg.window << c.sndWscale;
    c.sndWl1 = seg.seq;
    c.sndWl2 = seg.ack;
    if (fastOpenRsk !== undefined) {
      fastOpenSynRecvDone(c, fastOpenRsk, seg);
      c.setState('ESTABLISHED');
      // tcp_rcv_state_process, SYN_RECV: the first pacing rate, from the SYN-ACK's RTT.
      updatePacingRate(c);
    } else {
      c.setState('ESTABLISHED');
      initTransferRoute(c);
      stampCwnd(c); // tcp_init_transfer: snd_cwnd_stamp
      initBufferSpace(c); // tcp_rcv_state_process → tcp_init_transfer
    }
    if (c.keepalive) timers.armKeepalive(c);
  } else if (fastOpenRsk !== undefined && !seqGt(seg.ack, c.sndNxt)) {
    // FIN_WAIT1 (closed before the handshake completed): the request goes all the same.
    fastOpenSynRecvDone(c, fastOpenRsk, seg);
  }
  const ackVerdict = processAck(c, seg);
  if (ackVerdict !== undefined) return ackVerdict;
  if (c.state === 'CLOSED' || c.state === 'TIME_WAIT') return undefined;

  // Sixth: URG (tcp_urg): a new urgent pointer, or the awaited urgent byte (urgent.ts).
  if (f & TCP_URG || c.urgData === TCP_URG_NOTYET) receiveUrgent(c, seg, (f & TCP_URG) !== 0);
  // Seventh and eighth: text and FIN. A simultaneous open's SYN-ACK alone is a duplicate of the SYN.
  if (f & TCP_SYN && seg.payload.length === 0 && !(f & TCP_FIN) && c.state === 'ESTABLISHED') {
    duplicateSyn(c, seg);
    return undefined;
  }
  if (seg.payload.length > 0 || f & TCP_FIN) {
    switch (c.state) {
      case 'ESTABLISHED':
      case 'FIN_WAIT1':
      case 'FIN_WAIT2':
        return receive(c, seg);
      default:
        // CLOSE_WAIT, CLOSING, LAST_ACK: the peer already sent its FIN; anything new is ignored.
        if (seqGe(seg.seq, c.rcvNxt)) return undefined;
        // A retransmission of what we have, its FIN included, takes tcp_data_queue's
        // duplicate branch as in ESTABLISHED (tcp_rcv_state_process falls through to it):
        // an immediate ACK with a D-SACK (test/scripts/dsack-old.pkt).
        if (seqLe(seqAdd(seg.seq, segmentLength(seg)), c.rcvNxt)) return receive(c, seg);
        c.ackNow = true;
        c.hooks.dirty(c);
        return undefined;
    }
  }
  return undefined;
}

/**
 * tcp_rcv_synrecv_state_fastopen, at the ACK that completes a Fast Open
 * child's handshake: the SYN-ACK's RTT sample if none was taken
 * (tcp_synack_rtt_meas), the SYN-ACK timeouts forgotten (their RTO
 * recovery's time added up: tcp_update_rto_time), the request let go
 * (reqsk_fastopen_remove), and the timer re-armed for data sent meanwhile
 * (tcp_rearm_rto), or stopped.
 */
function fastOpenSynRecvDone(c: Connection, req: RequestSock, seg: Segment): void {
  if (c.rtt.samples === 0) synAckRttMeasure(c, req, seg, false);
  updateRtoTime(c);
  c.retransmits = 0;
  if (c.caState !== 'recovery') c.retransStamp = 0;
  fastOpenRemove(c, false);
  timers.rearmRto(c);
}
