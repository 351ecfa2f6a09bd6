/**
 * Arming a connection's timers, and the time arithmetic behind them
 * (inet_csk_reset_xmit_timer, tcp_probe0_when, tcp_fin_time,
 * tcp_model_timeout). All live in the stack's one timer queue; what happens
 * when they expire is timer-expiry.ts.
 */
import type { QueuedTimer } from '../timers.ts';
import { TCP_RESOURCE_PROBE_INTERVAL, TCP_RTO_MAX, TCP_RTO_MIN, TCP_TIMEOUT_INIT, TCP_TIMEOUT_MIN, TCP_TIMEWAIT_LEN } from './constants.ts';
import type { Connection } from './connection.ts';
import { traceArm } from './trace-state.ts';
import { JIFFY_MS, jiffiesToMsecs, roundUpToJiffies, usecsToJiffies } from './jiffies.ts';

function arm(c: Connection, timer: QueuedTimer, ms: number): void {
  c.ctx.timers.arm(timer, c.now() + ms);
  if (c.ctx.trace !== undefined) traceArm(c, timer === c.keepaliveTimer ? 'keepalive' : (c.xmitMode ?? 'xmit'), ms);
}

export function armRto(c: Connection, ms: number): void {
  c.xmitMode = 'rto';
  arm(c, c.xmitTimer, clampToUserTimeout(c, ms));
}

/**
 * tcp_retransmit_timer after a retransmission the device's queue dropped
 * (local congestion): again in TCP_RESOURCE_PROBE_INTERVAL whatever the
 * RTO ("let senders fight for local resources conservatively"), no
 * backoff, not clamped to TCP_USER_TIMEOUT (inet_csk_reset_xmit_timer
 * directly).
 */
export function armRtoAfterLocalDrop(c: Connection): void {
  c.xmitMode = 'rto';
  arm(c, c.xmitTimer, TCP_RESOURCE_PROBE_INTERVAL);
}

/**
 * tcp_rto_delta_us: how far in the future the RTO of the head of the
 * retransmission queue lies (its last transmission plus the RTO).
 */
function rtoDelta(c: Connection): number {
  const head = c.rtx.first();
  return head === undefined ? c.rtt.rto : head.sentAt + c.rtt.rto - c.now();
}

/**
 * tcp_rearm_rto: the RTO for what is in flight, or no timer when nothing is.
 * Replacing a pending tail loss probe or reordering timer keeps the RTO
 * where it was (counted from the head's last transmission), so neither
 * pushes it later.
 */
export function rearmRto(c: Connection): void {
  // The xmit timer resends a Fast Open child's SYN-ACK until the handshake completes: it stays put.
  if (c.fastOpenRsk !== undefined) return;
  if (c.rtx.length === 0) {
    cancelXmit(c);
    return;
  }
  // usecs_to_jiffies(max(delta_us, 1)): what is left, in whole jiffies.
  const ms = c.xmitMode === 'tlp' || c.xmitMode === 'reo' ? roundUpToJiffies(Math.max(rtoDelta(c), 0.001)) : c.rtt.rto;
  armRto(c, ms);
}

/**
 * tcp_schedule_loss_probe (RFC 8985 §7.2): with tcp_early_retrans 3 or 4, a
 * SACK connection in the Open or CWR state arms the
 * xmit timer for a tail loss probe: PTO = 2·SRTT plus rto_min when one
 * packet is in flight (the peer may delay its ACK) or TCP_TIMEOUT_MIN
 * otherwise, in whole jiffies (2·SRTT rounded up); TCP_TIMEOUT_INIT without an RTT
 * sample; never later than the RTO (its full value when the caller is about
 * to restart it, `advancingRto`, else what is left of it). Returns false when
 * no probe is scheduled; the caller then keeps or re-arms the RTO.
 */
export function scheduleLossProbe(c: Connection, advancingRto: boolean): boolean {
  const early = c.ctx.sysctl.tcp_early_retrans;
  // No loss probe for a Fast Open child before its handshake completes.
  if ((early !== 3 && early !== 4) || c.fastOpenRsk !== undefined || c.rtx.length === 0 || !c.sackOk || (c.caState !== 'open' && c.caState !== 'cwr')) return false;
  let timeout: number;
  if (c.rtt.samples > 0) {
    // usecs_to_jiffies(srtt_us >> 2), then tcp_rto_min or TCP_TIMEOUT_MIN: whole jiffies.
    timeout = jiffiesToMsecs(usecsToJiffies(c.rtt.srttUsScaled >>> 2));
    timeout += c.rtx.length === 1 ? roundUpToJiffies(c.rtt.rtoMin) : TCP_TIMEOUT_MIN;
  } else {
    timeout = TCP_TIMEOUT_INIT;
  }
  const rtoLeft = advancingRto ? c.rtt.rto : rtoDelta(c);
  if (rtoLeft > 0) timeout = Math.min(timeout, roundUpToJiffies(rtoLeft));
  c.xmitMode = 'tlp';
  arm(c, c.xmitTimer, timeout);
  return true;
}

/**
 * RACK's reordering timer (ICSK_TIME_REO_TIMEOUT, tcp_rack_mark_lost): the
 * xmit timer's slot, like the tail loss probe; rack.ts gives the delay.
 */
export function armReo(c: Connection, ms: number): void {
  c.xmitMode = 'reo';
  arm(c, c.xmitTimer, ms);
}

export function cancelXmit(c: Connection): void {
  c.xmitMode = undefined;
  c.ctx.timers.cancel(c.xmitTimer);
}

/**
 * tcp_probe0_when: min(max(RTO, 200 ms) · 2^backoff, 120 s); once probing,
 * clamped to what remains of TCP_USER_TIMEOUT (tcp_clamp_probe0_to_user_timeout).
 */
export function armPersist(c: Connection): void {
  if (c.xmitMode === 'probe' && c.xmitTimer.armed) return;
  c.xmitMode = 'probe';
  const base = Math.max(c.rtt.rto, TCP_RTO_MIN);
  arm(c, c.xmitTimer, clampProbe0ToUserTimeout(c, Math.min(base * 2 ** c.backoff, c.rtt.rtoMax)));
}

/**
 * tcp_send_probe0 after a probe the device's queue dropped (local
 * congestion): TCP_RESOURCE_PROBE_INTERVAL, no backoff ("let senders fight
 * for local resources conservatively"), clamped to TCP_USER_TIMEOUT.
 */
export function armProbeAfterLocalDrop(c: Connection): void {
  c.xmitMode = 'probe';
  arm(c, c.xmitTimer, clampProbe0ToUserTimeout(c, TCP_RESOURCE_PROBE_INTERVAL));
}

/** tcp_clamp_probe0_to_user_timeout: once probing, at most what remains of TCP_USER_TIMEOUT (at least TCP_TIMEOUT_MIN). */
function clampProbe0ToUserTimeout(c: Connection, when: number): number {
  if (c.userTimeout <= 0 || c.probesStamp === undefined) return when;
  return Math.min(when, Math.max(c.userTimeout - (c.now() - c.probesStamp), TCP_TIMEOUT_MIN));
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

export function cancelKeepalive(c: Connection): void {
  c.ctx.timers.cancel(c.keepaliveTimer);
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
  // One jiffy once the budget is spent; else what is left, in whole jiffies.
  if (remaining <= 0) return JIFFY_MS;
  return Math.min(ms, roundUpToJiffies(remaining));
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

/** tcp_fin_time: max(TCP_LINGER2 or tcp_fin_timeout, 3.5 · RTO). */
export function finTime(c: Connection): number {
  const linger = c.linger2 !== undefined && c.linger2 > 0 ? c.linger2 : c.ctx.sysctl.tcp_fin_timeout;
  return Math.max(linger * 1000, 3.5 * c.rtt.rto);
}

/**
 * An orphan reached FIN_WAIT2 (tcp_close / tcp_rcv_state_process): up to
 * TCP_TIMEWAIT_LEN it becomes a FIN_WAIT2 minisock; beyond, the full socket
 * waits on its keepalive timer for the excess first.
 */
export function orphanFinWait2(c: Connection): void {
  const tmo = finTime(c);
  if (tmo > TCP_TIMEWAIT_LEN) {
    cancelXmit(c);
    armKeepalive(c, tmo - TCP_TIMEWAIT_LEN);
    return;
  }
  c.hooks.timeWait(c, 'FIN_WAIT2', tmo);
}
