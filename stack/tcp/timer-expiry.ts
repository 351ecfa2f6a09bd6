/**
 * What a connection's timers do when they expire (net/ipv4/tcp_timer.c):
 * retransmission with SYN retries and the time-based give-up, zero-window
 * probing, the delayed ACK, keepalive, and the orphaned FIN_WAIT2 timeout.
 */
import { updateRtoStats } from './rto-stats.ts';
import { IPV6_HANDLE_BASE } from '../address.ts';
import { newFlowLabel } from './segment.ts';
import { TCP_ATO_MIN, TCP_RESOURCE_PROBE_INTERVAL, TCP_RTO_MAX, TCP_RTO_MIN, TCP_TIMEOUT_INIT, TCP_TIMEWAIT_LEN } from './constants.ts';
import type { RequestSock } from './request-sock.ts';
import type { Connection, ConnectionTimer, TxRecord } from './connection.ts';
import { queueCwr } from './ecn.ts';
import { activeDetectBlackhole } from './fastopen-client.ts';
import { abortWithReset, timedOut } from './endings.ts';
import { startFrto } from './frto.ts';
import { blackholeDetected } from './mtu-probe.ts';
import * as out from './output.ts';
import { cwndReduction } from './prr.ts';
import { rackDetectLoss, rackSkbTimeoutUs } from './rack.ts';
import { enterRecovery, markSkbLost } from './recovery.ts';
import { seqGt } from './seq.ts';
import { initUndo, saveWindowForUndo } from './undo.ts';
import { armKeepalive, armPersist, armProbeAfterLocalDrop, armRto, armRtoAfterLocalDrop, finTime, keepaliveIdleMs, modelTimeout, rearmRto } from './timer-arming.ts';
import { stampCwnd } from './cwnd-stamp.ts';
import { compactSendQueue } from './views.ts';
import { setCaState, traceState } from './trace-state.ts';

/** Runs the handler of the timer that expired (the TcpLayer calls this for every connection timer). */
export function onTimerExpired(c: Connection, timer: ConnectionTimer): void {
  switch (timer) {
    case 'xmit':
      onXmitTimer(c);
      traceState(c, 'timer');
      return;
    case 'delack':
      onDelackTimer(c);
      return;
    case 'keepalive':
      onKeepaliveTimer(c);
      return;
  }
}

/** tcp_orphan_retries: 0 means 8 while the RTO has not reached its maximum. */
function orphanRetries(c: Connection): number {
  const alive = c.rtt.rto < c.rtt.rtoMax;
  const retries = c.ctx.sysctl.tcp_orphan_retries;
  return retries === 0 && alive ? 8 : retries;
}

/** retransmits_timed_out: measured from the first retransmission's original send (retrans_stamp). */
function retransmitsTimedOut(c: Connection, boundary: number, userTimeout: number): boolean {
  if (c.retransmits === 0) return false;
  const budget = userTimeout > 0 ? userTimeout : modelTimeout(boundary, TCP_RTO_MIN, c.rtt.rtoMax);
  return c.now() - c.retransStamp >= budget;
}

function onXmitTimer(c: Connection): void {
  c.ctx.trace?.({ kind: 'tcp-timer', t: c.now(), conn: c.id, timer: c.xmitMode ?? 'xmit', action: 'fire' });
  // Data kept waiting an RTO, or behind a closed window, lets go of the buffers of a zero-copy write (views.ts).
  if (c.xmitMode !== 'tlp' && c.xmitMode !== 'reo') compactSendQueue(c);
  let localDrop = false;
  if (c.xmitMode === 'probe') localDrop = onProbeTimer(c);
  else if (c.xmitMode === 'tlp') onLossProbeTimer(c);
  else if (c.xmitMode === 'reo') onReoTimer(c);
  else localDrop = onRetransmitTimer(c);
  // A probe or retransmission the device's queue dropped ends the timer's
  // work: tcp_probe_timer and tcp_retransmit_timer push nothing more.
  if (!localDrop) c.hooks.dirty(c);
}

/** tcp_retransmit_timer; true when the retransmission was dropped by the device's queue. */
function onRetransmitTimer(c: Connection): boolean {
  c.xmitMode = undefined;
  // tcp_retransmit_timer: a Fast Open child's timer resends its SYN-ACK, nothing else, until the final ACK.
  if (c.fastOpenRsk !== undefined) {
    fastOpenSynAckTimer(c, c.fastOpenRsk);
    return false;
  }
  const head = c.rtx.first();
  if (head === undefined || c.state === 'CLOSED') return false;
  // tcp_retransmit_timer: the RTO ends a tail loss probe episode.
  c.tlpHighSeq = undefined;
  const counters = c.ctx.counters;
  counters.TcpExtTCPTimeouts++;

  // tcp_write_timeout: give up?
  let expired: boolean;
  if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV') {
    // retransmits_timed_out with rto_base TCP_TIMEOUT_INIT: the attempt ends at
    // the first expiry (2^(n+1) − 1) s or more after the first SYN, n =
    // TCP_SYNCNT or tcp_syn_retries; linear timeouts only fit more
    // retransmissions into that time. Default 6: SYNs at 0,1,2,3,4,5,7,11,19,
    // 35,67 s, ETIMEDOUT at 131 s ≥ 127 s; TCP_SYNCNT 1: at 0,1,2, ETIMEDOUT
    // at 3 s (packetdrill on 6.18: test/scripts/syn-syncnt.pkt).
    const retries = c.synRetries ?? c.ctx.sysctl.tcp_syn_retries;
    const budget = c.userTimeout > 0 ? c.userTimeout : modelTimeout(retries, TCP_TIMEOUT_INIT, c.rtt.rtoMax);
    expired = c.retransmits > 0 && c.now() - head.firstSentAt >= budget;
  } else {
    // Black hole detection: past tcp_retries1 RTOs, path MTU probing may start or search lower (mtu-probe.ts).
    if (retransmitsTimedOut(c, c.ctx.sysctl.tcp_retries1, 0)) blackholeDetected(c);
    const boundary = c.orphan ? orphanRetries(c) : c.ctx.sysctl.tcp_retries2;
    expired = retransmitsTimedOut(c, boundary, c.orphan ? 0 : c.userTimeout);
  }
  // tcp_write_timeout: a Fast Open connection timing out may be blackholed.
  activeDetectBlackhole(c, expired);
  if (expired) {
    timedOut(c);
    return false;
  }

  // tcp_write_timeout ends with sk_rethink_txhash (net.core.txrehash = 1):
  // a new flow hash, so a new IPv6 flow label, on every RTO that does not
  // give up (measured on 6.18: TcpExtTcpTimeoutRehash, a new label each time).
  counters.TcpExtTcpTimeoutRehash++;
  c.timeoutRehash++;
  if (c.remote >= IPV6_HANDLE_BASE) c.flowLabel = newFlowLabel(c.ctx.random);

  // tcp_retransmit_timer: the first RTO of a head says which recovery failed.
  if (c.retransmits === 0) {
    const sack = c.sackOk;
    if (c.caState === 'recovery') {
      if (sack) counters.TcpExtTCPSackRecoveryFail++;
      else counters.TcpExtTCPRenoRecoveryFail++;
    } else if (c.caState === 'loss') {
      counters.TcpExtTCPLossFailures++;
    } else if (c.caState === 'disorder' || c.rtx.sackedOut > 0 || c.renoSacked > 0) {
      if (sack) counters.TcpExtTCPSackFailures++;
      else counters.TcpExtTCPRenoFailures++;
    }
  }

  // tcp_enter_loss, for a SYN too: the reduction is announced with CWR (tcp_ecn_queue_cwr).
  queueCwr(c);
  if (head.syn) {
    counters.TcpExtTCPSynRetrans++;
    c.synRetransmitted = true;
  } else {
    enterLoss(c, head);
  }
  updateRtoStats(c);
  if (!out.retransmit(c, head, 'rto')) {
    // tcp_retransmit_timer: "Retransmission failed because of local
    // congestion": the device's queue dropped it. icsk_retransmits counts
    // the attempt (tcp_update_rto_stats runs before it), the give-up budget
    // runs from it (retrans_stamp), but no backoff: again in
    // TCP_RESOURCE_PROBE_INTERVAL (Linux 6.18; measured with packetdrill).
    c.retransmits++;
    armRtoAfterLocalDrop(c);
    return true;
  }
  c.retransmits++;
  c.backoff++;
  // Linear SYN timeouts (tcp_syn_linear_timeouts, Linux 6.5+): the first few SYN RTOs do not double.
  const linear = c.state === 'SYN_SENT' && c.retransmits <= c.ctx.sysctl.tcp_syn_linear_timeouts;
  if (!linear) c.rtt.rto = Math.min(c.rtt.rto * 2, c.rtt.rtoMax);
  // The backed-off value lives in the RTO itself (icsk_rto) until a new RTT sample resets it.
  armRto(c, c.rtt.rto);
  return false;
}

/**
 * tcp_fastopen_synack_timer: TcpExtTCPTimeouts (tcp_syn_ack_timeout); past
 * TCP_SYNCNT, or tcp_synack_retries plus one more for Fast Open, the child
 * gives up (tcp_write_err: ETIMEDOUT); else the SYN-ACK again
 * (tcp_rtx_synack: no cookie in it), whatever happens to it, and the timer
 * at TCP_TIMEOUT_INIT << timeouts, at most TCP_RTO_MAX. The second expiry
 * enters Loss as an RTO would (tcp_enter_loss), for data sent meanwhile.
 */
function fastOpenSynAckTimer(c: Connection, req: RequestSock): void {
  c.ctx.counters.TcpExtTCPTimeouts++;
  const maxRetries = c.synRetries ?? c.ctx.sysctl.tcp_synack_retries + 1;
  if (req.timeouts >= maxRetries) {
    timedOut(c);
    return;
  }
  const head = c.rtx.first();
  if (c.retransmits === 1 && head !== undefined) enterLoss(c, head);
  req.owner?.rtxSynAck(req);
  req.timeouts++;
  updateRtoStats(c);
  c.retransmits++; // tcp_update_rto_stats
  if (c.retransStamp === 0) c.retransStamp = c.now();
  armRto(c, Math.min(TCP_TIMEOUT_INIT * 2 ** req.timeouts, TCP_RTO_MAX));
}

/**
 * tcp_enter_loss (RFC 5681 §3.1), for a data segment's RTO. First
 * tcp_timeout_mark_lost: duplicate ACKs counted as SACKs are forgotten; the
 * head and every segment RACK would not still wait for (tcp_rack_skb_timeout
 * with no reordering window) are lost. ssthresh drops once per window: not
 * again in a recovery or loss episode still under way, unless the head
 * moved since the last RTO; when it does, the window is saved for undo
 * (prior_ssthresh, prior_cwnd) and the episode begins (tcp_init_undo).
 * Slow start then restarts from one more than what is still in the
 * network. A timeout after `reordering` SACKs shows the degree was
 * overestimated. F-RTO (frto.ts) runs unless the RTO interrupts a recovery.
 */
function enterLoss(c: Connection, head: TxRecord): void {
  const state = c.caState;
  const newRecovery = state === 'open' || state === 'disorder' || state === 'cwr';
  c.renoSacked = 0;
  for (const r of c.rtx) {
    if (r !== head && rackSkbTimeoutUs(c, r, 0) > 0) continue;
    markSkbLost(c, r);
  }
  // (In CWR, whose reduction is under way, only once SND.UNA reached its end.)
  if (state === 'open' || state === 'disorder' || !seqGt(c.highSeq, c.sndUna) || (state === 'loss' && c.retransmits === 0)) {
    saveWindowForUndo(c);
    c.cc.onTimeout(c.packetsInFlight());
    initUndo(c);
  } else {
    // tcp_set_ca_state(TCP_CA_Loss) still runs the algorithm's set_state (CUBIC: a new epoch).
    c.cc.onLossState();
  }
  c.cc.cwnd = c.packetsInFlight() + 1;
  stampCwnd(c);
  const sysReordering = c.ctx.sysctl.tcp_reordering;
  if ((state === 'open' || state === 'disorder') && c.rtx.sackedOut >= sysReordering) c.reordering = Math.min(c.reordering, sysReordering);
  setCaState(c, 'loss');
  c.highSeq = c.sndNxt;
  startFrto(c, newRecovery);
}

/**
 * tcp_rack_reo_timeout: the reordering window of the segments RACK was
 * waiting for has passed. Those now lost start a recovery unless one is
 * under way (tcp_enter_recovery, and PRR with one delivered segment, which
 * lets the first retransmission out) and are retransmitted at once; then
 * the RTO, counted from the head's last transmission (tcp_rearm_rto),
 * unless a retransmission of the head re-armed it.
 */
function onReoTimer(c: Connection): void {
  if (c.rtx.length === 0 || c.state === 'CLOSED') {
    c.xmitMode = undefined;
    return;
  }
  const priorInFlight = c.packetsInFlight();
  const priorLost = c.lostTotal;
  rackDetectLoss(c, (r) => markSkbLost(c, r));
  if (priorInFlight !== c.packetsInFlight()) {
    if (c.caState !== 'recovery') {
      enterRecovery(c, false);
      cwndReduction(c, 1, c.lostTotal - priorLost, false);
    }
    out.xmitRetransmitQueue(c);
  }
  if (c.xmitMode !== 'rto') rearmRto(c);
}

/**
 * tcp_send_loss_probe (RFC 8985 §7.3), when the PTO expires: at most one
 * probe per tail (tlp_high_seq); new data if the window allows, else the
 * last segment again. Then the full RTO from now (icsk_pending cleared
 * before tcp_rearm_rto). A probe is neither an RTO nor a retransmission of
 * the head: icsk_retransmits, the backoff and retrans_stamp are untouched,
 * so tcp_retries2 and TCP_USER_TIMEOUT count from the first RTO after it.
 */
function onLossProbeTimer(c: Connection): void {
  const last = c.rtx.at(c.rtx.length - 1);
  if (last === undefined || c.state === 'CLOSED') {
    c.xmitMode = undefined;
    return;
  }
  // With a probe already outstanding none is sent, and the RTO keeps its
  // expiry (the timer is still the loss probe's for tcp_rearm_rto).
  if (c.tlpHighSeq === undefined) {
    c.tlpRetrans = false;
    const fresh = out.sendLossProbeNewData(c);
    // Dropped by the device's queue (new data or the last segment again): no
    // probe this time, the timer is rearmed as it stands (rearm_timer).
    if (fresh === 'dropped' || (fresh === 'none' && !out.retransmitLossProbe(c, last))) {
      rearmRto(c);
      return;
    }
    if (fresh === 'none') c.tlpRetrans = true;
    c.tlpHighSeq = c.sndNxt;
    c.ctx.counters.TcpExtTCPLossProbes++;
    c.xmitMode = undefined;
  }
  rearmRto(c);
}

/** tcp_probe_timer: zero-window probes until the window opens or the probes are exhausted; true when the probe was dropped by the device's queue. */
function onProbeTimer(c: Connection): boolean {
  c.xmitMode = undefined;
  if (c.rtx.length > 0 || c.unsentBytes() === 0) {
    c.probesOut = 0;
    c.probesStamp = undefined;
    return false;
  }
  // TCP_USER_TIMEOUT bounds probing from the first probe, answered or not
  // (icsk_probes_tstamp is not reset by ACKs that leave the window shut).
  const now = c.now();
  if (c.probesStamp === undefined) c.probesStamp = now;
  else if (c.userTimeout > 0 && now - c.probesStamp >= c.userTimeout) {
    timedOut(c);
    return false;
  }
  const maxProbes = c.orphan ? orphanRetries(c) : c.ctx.sysctl.tcp_retries2;
  if (c.probesOut >= maxProbes) {
    timedOut(c);
    return false;
  }
  // tcp_send_probe0 → tcp_write_wakeup: an open window, even one too small
  // for a burst (sender-side SWS avoidance), gets data instead of a probe;
  // with data in flight the probing episode is over (the RTO takes over).
  const wakeup = out.sendWindowProbeData(c);
  if (wakeup === 'sent') {
    c.probesOut = 0;
    c.backoff = 0;
    c.probesStamp = undefined;
    c.hooks.dirty(c);
    return false;
  }
  let dropped = wakeup === 'dropped';
  if (wakeup === 'none') {
    c.ctx.counters.TcpExtTCPWinProbe++;
    dropped = !out.sendProbe(c);
  }
  c.probesOut++;
  // tcp_send_probe0: a probe the device's queue dropped (tcp_write_wakeup's
  // positive error) is retried in TCP_RESOURCE_PROBE_INTERVAL, no backoff.
  if (dropped) {
    armProbeAfterLocalDrop(c);
    return true;
  }
  c.backoff++;
  armPersist(c);
  return false;
}

/**
 * tcp_delack_timer_handler: the delayed ACK goes out; the timeout was too
 * short for the peer's pace, so the ATO doubles (up to the RTO), or, when
 * interactive, ping-pong mode ends and the ATO starts over at TCP_ATO_MIN.
 */
function onDelackTimer(c: Connection): void {
  if (!c.ackDelayed) return;
  c.ackDelayed = false;
  if (!c.ackSched) return;
  c.ctx.trace?.({ kind: 'tcp-timer', t: c.now(), conn: c.id, timer: 'delack', action: 'fire' });
  if (!c.pingpong) {
    c.ato = Math.min(c.ato * 2, c.rtt.rto);
  } else {
    c.pingpong = false;
    c.ato = TCP_ATO_MIN;
  }
  out.sendAck(c);
  c.ctx.counters.TcpExtDelayedACKs++;
}

/** tcp_keepalive_timer: keepalive probes, and the orphaned FIN_WAIT2 timeout of a full socket. */
function onKeepaliveTimer(c: Connection): void {
  c.ctx.trace?.({ kind: 'tcp-timer', t: c.now(), conn: c.id, timer: 'keepalive', action: 'fire' });
  if (c.state === 'FIN_WAIT2' && c.orphan) {
    const tmo = finTime(c) - TCP_TIMEWAIT_LEN;
    if (c.linger2 === undefined || c.linger2 >= 0) {
      if (tmo > 0) {
        c.hooks.timeWait(c, 'FIN_WAIT2', tmo);
        return;
      }
    }
    abortWithReset(c, 'finWait2Timeout');
    return;
  }
  if (!c.keepalive || c.state === 'CLOSED' || c.state === 'SYN_SENT') return;
  const idle = keepaliveIdleMs(c);
  if (c.rtx.length > 0 || c.unsentBytes() > 0) {
    armKeepalive(c, idle);
    return;
  }
  const elapsed = c.now() - c.lastRcvTime;
  if (elapsed < idle) {
    armKeepalive(c, idle - elapsed);
    return;
  }
  const count = c.keepCnt ?? c.ctx.sysctl.tcp_keepalive_probes;
  const userTimeout = c.userTimeout;
  if ((userTimeout > 0 && elapsed >= userTimeout && c.keepaliveProbes > 0) || (userTimeout === 0 && c.keepaliveProbes >= count)) {
    c.pendingError = c.softError ?? 'ETIMEDOUT';
    c.ctx.trace?.({ kind: 'tcp-error', t: c.now(), conn: c.id, errno: c.pendingError });
    abortWithReset(c, 'keepaliveTimeout');
    return;
  }
  c.ctx.counters.TcpExtTCPKeepAlive++;
  if (!out.sendProbe(c)) {
    // "If keepalive was lost due to local congestion, try harder": the
    // device's queue dropped it; not counted, again in TCP_RESOURCE_PROBE_INTERVAL.
    armKeepalive(c, TCP_RESOURCE_PROBE_INTERVAL);
    return;
  }
  c.keepaliveProbes++;
  armKeepalive(c, (c.keepIntvl ?? c.ctx.sysctl.tcp_keepalive_intvl) * 1000);
}

