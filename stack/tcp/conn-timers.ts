/**
 * A connection's timers (net/ipv4/tcp_timer.c), all in the stack's one timer
 * queue: retransmission (with SYN retries and the time-based give-up),
 * zero-window probing, delayed ACK, keepalive, and the orphaned FIN_WAIT2
 * timeout.
 */
import type { Connection } from './connection.ts';
import * as out from './output.ts';
import { TCP_RTO_MAX, TCP_RTO_MIN, TCP_TIMEOUT_INIT } from './rtt.ts';
import { seqDiff } from './seq.ts';

/** TCP_DELACK_MIN / TCP_ATO_MIN. */
export const DELACK_MS = 40;
/** TCP_TIMEWAIT_LEN: orphans with a longer FIN_WAIT2 time keep a full socket for the excess. */
const TIMEWAIT_LEN = 60_000;

function arm(c: Connection, timer: Connection['xmitTimer'], ms: number): void {
  c.ctx.timers.arm(timer, c.now() + ms);
}

export function armRto(c: Connection, ms: number): void {
  c.xmitMode = 'rto';
  arm(c, c.xmitTimer, clampToUserTimeout(c, ms));
}

export function cancelXmit(c: Connection): void {
  c.xmitMode = undefined;
  c.ctx.timers.cancel(c.xmitTimer);
}

/** TCP_TIMEOUT_MIN (2 jiffies). */
const TCP_TIMEOUT_MIN = 2;

/**
 * tcp_probe0_when: min(max(RTO, 200 ms) · 2^backoff, 120 s); once probing,
 * clamped to what remains of TCP_USER_TIMEOUT (tcp_clamp_probe0_to_user_timeout).
 */
export function armPersist(c: Connection): void {
  if (c.xmitMode === 'probe' && c.xmitTimer.armed) return;
  c.xmitMode = 'probe';
  const base = Math.max(c.rtt.rto, TCP_RTO_MIN);
  let when = Math.min(base * 2 ** c.backoff, c.rtt.rtoMax);
  if (c.userTimeout > 0 && c.probesStamp !== undefined) {
    when = Math.min(when, Math.max(c.userTimeout - (c.now() - c.probesStamp), TCP_TIMEOUT_MIN));
  }
  arm(c, c.xmitTimer, when);
}

export function armDelack(c: Connection): void {
  if (!c.delackTimer.armed) arm(c, c.delackTimer, DELACK_MS);
}

export function cancelDelack(c: Connection): void {
  c.ctx.timers.cancel(c.delackTimer);
}

export function keepaliveIdleMs(c: Connection): number {
  return (c.keepIdle ?? c.ctx.sysctl.tcp_keepalive_time) * 1000;
}

export function armKeepalive(c: Connection, ms = keepaliveIdleMs(c)): void {
  arm(c, c.keepaliveTimer, ms);
}

export function cancelAll(c: Connection): void {
  cancelXmit(c);
  c.ctx.timers.cancel(c.delackTimer);
  c.ctx.timers.cancel(c.keepaliveTimer);
}

/** TCP_USER_TIMEOUT clamps the RTO to what remains of it (tcp_clamp_rto_to_user_timeout). */
function clampToUserTimeout(c: Connection, ms: number): number {
  if (c.userTimeout <= 0 || c.retransStamp === 0) return ms;
  const remaining = c.userTimeout - (c.now() - c.retransStamp);
  return Math.max(1, Math.min(ms, remaining));
}

/**
 * tcp_model_timeout: how long `boundary` retransmissions take when the RTO
 * starts at `rtoBase` and doubles up to TCP_RTO_MAX: tcp_retries2 = 15 gives
 * 924.6 s, the time-based limit Linux applies instead of counting.
 */
export function modelTimeout(boundary: number, rtoBase = TCP_RTO_MIN, rtoMax = TCP_RTO_MAX): number {
  const thresh = Math.floor(Math.log2(rtoMax / rtoBase));
  if (boundary <= thresh) return (2 ** (boundary + 1) - 1) * rtoBase;
  return (2 ** (thresh + 1) - 1) * rtoBase + (boundary - thresh) * rtoMax;
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

export function onXmitTimer(c: Connection): void {
  c.ctx.trace?.({ kind: 'tcp-timer', t: c.now(), conn: c.id, timer: c.xmitMode ?? 'xmit', action: 'fire' });
  if (c.xmitMode === 'probe') onProbeTimer(c);
  else onRetransmitTimer(c);
  c.hooks.dirty(c);
}

/** tcp_retransmit_timer. */
function onRetransmitTimer(c: Connection): void {
  c.xmitMode = undefined;
  const head = c.rtx.first();
  if (head === undefined || c.state === 'CLOSED') return;
  const counters = c.ctx.counters;
  counters.TcpExtTCPTimeouts++;

  // tcp_write_timeout: give up?
  if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV') {
    // retransmits_timed_out with rto_base TCP_TIMEOUT_INIT: the attempt ends at
    // the first expiry (2^(n+1) − 1) s or more after the first SYN, n =
    // TCP_SYNCNT or tcp_syn_retries; linear timeouts only fit more
    // retransmissions into that time. Default 6: SYNs at 0,1,2,3,4,5,7,11,19,
    // 35,67 s, ETIMEDOUT at 131 s ≥ 127 s; TCP_SYNCNT 1: at 0,1,2, ETIMEDOUT
    // at 3 s (packetdrill on 6.18: test/scripts/syn-syncnt.pkt).
    const retries = c.synRetries ?? c.ctx.sysctl.tcp_syn_retries;
    const budget = c.userTimeout > 0 ? c.userTimeout : modelTimeout(retries, TCP_TIMEOUT_INIT, c.rtt.rtoMax);
    if (c.retransmits > 0 && c.now() - head.firstSentAt >= budget) {
      c.timedOut();
      return;
    }
  } else {
    const boundary = c.orphan ? orphanRetries(c) : c.ctx.sysctl.tcp_retries2;
    if (retransmitsTimedOut(c, boundary, c.orphan ? 0 : c.userTimeout)) {
      c.timedOut();
      return;
    }
  }

  if (head.syn) {
    counters.TcpExtTCPSynRetrans++;
    c.synRetransmitted = true;
  } else {
    // RFC 5681 §3.1 / tcp_enter_loss: everything outstanding is presumed lost; slow start from one segment.
    if (c.caState !== 'loss') c.cc.onTimeout(c.packetsInFlight());
    c.caState = 'loss';
    c.highSeq = c.sndNxt;
    c.renoSacked = 0;
    for (const r of c.rtx) if (!r.sacked) c.rtx.markLost(r);
  }
  out.retransmit(c, head);
  c.retransmits++;
  c.backoff++;
  // Linear SYN timeouts (tcp_syn_linear_timeouts, Linux 6.5+): the first few SYN RTOs do not double.
  const linear = c.state === 'SYN_SENT' && c.retransmits <= c.ctx.sysctl.tcp_syn_linear_timeouts;
  if (!linear) c.rtt.rto = Math.min(c.rtt.rto * 2, c.rtt.rtoMax);
  // The backed-off value lives in the RTO itself (icsk_rto) until a new RTT sample resets it.
  armRto(c, c.rtt.rto);
}

/** tcp_probe_timer: zero-window probes until the window opens or the probes are exhausted. */
function onProbeTimer(c: Connection): void {
  c.xmitMode = undefined;
  if (c.rtx.length > 0 || c.unsentBytes() === 0) {
    c.probesOut = 0;
    c.probesStamp = undefined;
    return;
  }
  // TCP_USER_TIMEOUT bounds probing from the first probe, answered or not
  // (icsk_probes_tstamp is not reset by ACKs that leave the window shut).
  const now = c.now();
  if (c.probesStamp === undefined) c.probesStamp = now;
  else if (c.userTimeout > 0 && now - c.probesStamp >= c.userTimeout) {
    c.timedOut();
    return;
  }
  const maxProbes = c.orphan ? orphanRetries(c) : c.ctx.sysctl.tcp_retries2;
  if (c.probesOut >= maxProbes) {
    c.timedOut();
    return;
  }
  const room = seqDiff(c.sndUna + c.sndWnd, c.sndNxt);
  if (room > 0) {
    c.hooks.dirty(c); // the window opened meanwhile: send data instead
    return;
  }
  c.ctx.counters.TcpExtTCPWinProbe++;
  out.sendProbe(c);
  c.probesOut++;
  c.backoff++;
  armPersist(c);
}

/** tcp_delack_timer_handler. */
export function onDelackTimer(c: Connection): void {
  if (!c.ackDelayed) return;
  c.ctx.counters.TcpExtDelayedACKs++;
  out.sendAck(c);
}

/** tcp_keepalive_timer: keepalive probes, and the orphaned FIN_WAIT2 timeout of a full socket. */
export function onKeepaliveTimer(c: Connection): void {
  c.ctx.trace?.({ kind: 'tcp-timer', t: c.now(), conn: c.id, timer: 'keepalive', action: 'fire' });
  if (c.state === 'FIN_WAIT2' && c.orphan) {
    const tmo = finTime(c) - TIMEWAIT_LEN;
    if (c.linger2 === undefined || c.linger2 >= 0) {
      if (tmo > 0) {
        c.hooks.timeWait(c, 'FIN_WAIT2', tmo);
        return;
      }
    }
    c.abort('finWait2Timeout');
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
    c.abort('keepaliveTimeout');
    return;
  }
  c.ctx.counters.TcpExtTCPKeepAlive++;
  out.sendProbe(c);
  c.keepaliveProbes++;
  armKeepalive(c, (c.keepIntvl ?? c.ctx.sysctl.tcp_keepalive_intvl) * 1000);
}

/** tcp_fin_time: max(TCP_LINGER2 or tcp_fin_timeout, 3.5 · RTO). */
export function finTime(c: Connection): number {
  const linger = c.linger2 !== undefined && c.linger2 > 0 ? c.linger2 : c.ctx.sysctl.tcp_fin_timeout;
  return Math.max(linger * 1000, 3.5 * c.rtt.rto);
}

/**
 * An orphan reached FIN_WAIT2 (E4/E5): up to 60 s it becomes a FIN_WAIT2
 * minisock; beyond, the full socket waits on its keepalive timer first.
 */
export function orphanFinWait2(c: Connection): void {
  const tmo = finTime(c);
  if (tmo > TIMEWAIT_LEN) {
    cancelXmit(c);
    armKeepalive(c, tmo - TIMEWAIT_LEN);
    return;
  }
  c.hooks.timeWait(c, 'FIN_WAIT2', tmo);
}
