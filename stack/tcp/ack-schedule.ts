/**
 * When the receiver ACKs (RFC 5681 §4.2, RFC 9293 §3.8.6.3), as Linux
 * schedules it: the adaptive ACK timeout (icsk_ack.ato) learnt from the
 * gaps between data segments (tcp_event_data_recv), quick-ack mode at the
 * start and after an idle gap (tcp_incr_quickack), ping-pong (interactive)
 * mode when our data answers theirs (tcp_event_data_sent), the estimate of
 * the peer's segment size (tcp_measure_rcv_mss), the choice between an ACK
 * now and a delayed one (__tcp_ack_snd_check), and the delayed ACK's
 * timeout (tcp_send_delayed_ack). The timer's expiry is in timer-expiry.ts.
 */
import { TCP_FIN, TCP_PSH, TCP_SYN, TCP_URG } from '../wire/tcp.ts';
import { TCP_ATO_MIN, TCP_DEFAULT_MSS, TCP_DELACK_MAX, TCP_DELACK_MIN, TCP_MAX_QUICKACKS, TCP_MIN_MSS, TCP_TS_OPTION_BYTES } from './constants.ts';
import type { Connection } from './connection.ts';
import { seqDiff } from './seq.ts';
import { traceArm } from './trace-state.ts';
import { HZ, JIFFY_MS, jiffiesAt, jiffiesToMsecs, msecsToJiffies, usecsToJiffies } from './jiffies.ts';

/** ICSK_ACK_PUSHED / ICSK_ACK_PUSHED2 in icsk_ack.pending: small (pushed) segments since our last ACK. */
export const ACK_PUSHED = 1;
export const ACK_PUSHED2 = 2;

/** TCP_REMNANT: flags that mark a segment as possibly short on purpose. */
const REMNANT = TCP_FIN | TCP_URG | TCP_SYN | TCP_PSH;
const TCP_BASE_HEADER = 20;

/** tcp_incr_quickack: ACK the next rcv_wnd/(2·rcv_mss) segments at once (at least 2, at most `max`). */
export function incrQuickAck(c: Connection, max = TCP_MAX_QUICKACKS): void {
  let quick = Math.floor(c.rcvWnd / (2 * rcvMss(c)));
  if (quick === 0) quick = 2;
  quick = Math.min(quick, max);
  if (quick > c.quickAcks) c.quickAcks = quick;
}

/** tcp_enter_quickack_mode: quick ACKs, out of ping-pong mode, the ATO back at its minimum. */
export function enterQuickAckMode(c: Connection, max = TCP_MAX_QUICKACKS): void {
  incrQuickAck(c, max);
  c.pingpong = false;
  c.ato = TCP_ATO_MIN;
}

/** tcp_in_quickack_mode: quick ACKs left and not interactive. */
export function inQuickAckMode(c: Connection): boolean {
  return c.quickAcks > 0 && !c.pingpong;
}

/** icsk_ack.rcv_mss, initialised as tcp_initialize_rcv_mss does. */
export function rcvMss(c: Connection): number {
  if (c.rcvMss === 0) {
    const hint = Math.min(c.advMss, c.mss, Math.floor(c.rcvWnd / 2), TCP_DEFAULT_MSS);
    c.rcvMss = Math.max(hint, TCP_MIN_MSS);
  }
  return c.rcvMss;
}

/**
 * tcp_event_data_recv for in-order data of `len` bytes with `flags`: an ACK
 * is owed (inet_csk_schedule_ack), and the ATO follows the gap m since the
 * last data: the first data enters quick-ack mode with ato = TCP_ATO_MIN;
 * m <= TCP_ATO_MIN/2 → ato/2 + TCP_ATO_MIN/2; m < ato → min(ato/2 + m, RTO);
 * m > RTO → quick-ack mode again ("the sender failed to restart window").
 */
export function eventDataRecv(c: Connection, len: number, flags: number): void {
  c.ackSched = true;
  measureRcvMss(c, len, flags);
  const now = c.now();
  if (c.ato === 0) {
    incrQuickAck(c);
    c.ato = TCP_ATO_MIN;
  } else {
    // In jiffies, as the kernel keeps icsk_ack.ato and lrcvtime.
    const m = jiffiesSince(c.lastDataTime, now);
    const ato = toJiffies(c.ato);
    const atoMin = toJiffies(TCP_ATO_MIN);
    const rto = msecsToJiffies(c.rtt.rto);
    if (m <= atoMin >> 1) {
      c.ato = jiffiesToMsecs((ato >> 1) + (atoMin >> 1));
    } else if (m < ato) {
      c.ato = jiffiesToMsecs(Math.min((ato >> 1) + m, rto));
    } else if (m > rto) {
      incrQuickAck(c);
    }
  }
  c.lastDataTime = now;
}

/** A duration kept in ms that is a whole number of jiffies, in jiffies. */
function toJiffies(ms: number): number {
  return Math.round(ms / JIFFY_MS);
}

/** (u32)(tcp_jiffies32 - then): the jiffies elapsed between two virtual times. */
function jiffiesSince(then: number, now: number): number {
  return (jiffiesAt(now) - jiffiesAt(then)) >>> 0;
}

/**
 * tcp_measure_rcv_mss: a segment at least rcv_mss long sets rcv_mss (up to
 * our advertised MSS) and, with PSH, marks the ACK "pushed"; a shorter one
 * sets it only when two segments in a row have the same, plausibly
 * full-sized length, and otherwise marks the ACK pushed (twice: PUSHED2).
 * The header length is the invariant one (tp->tcp_header_len), so SACK
 * blocks on the peer's segments do not move the estimate.
 */
export function measureRcvMss(c: Connection, len: number, flags: number): void {
  const mss = rcvMss(c);
  const lss = c.lastSegSize;
  c.lastSegSize = 0;
  if (len >= mss) {
    c.rcvMss = Math.min(len, c.advMss);
    if (flags & TCP_PSH) c.ackPushed |= ACK_PUSHED;
    return;
  }
  const headerLen = TCP_BASE_HEADER + (c.tsOk ? TCP_TS_OPTION_BYTES : 0);
  const withHeader = len + headerLen;
  if (withHeader >= TCP_DEFAULT_MSS + TCP_BASE_HEADER || (withHeader >= TCP_MIN_MSS + TCP_BASE_HEADER && !(flags & REMNANT))) {
    c.lastSegSize = len;
    if (len === lss) {
      c.rcvMss = len;
      return;
    }
  }
  if (c.ackPushed & ACK_PUSHED) c.ackPushed |= ACK_PUSHED2;
  c.ackPushed |= ACK_PUSHED;
}

/**
 * __tcp_ack_snd_check after in-order data: ACK now when more than one
 * rcv_mss is unacknowledged and the window we would offer is no smaller
 * than the one we offered (the right edge moved on: otherwise the reader's
 * tcp_cleanup_rbuf ACKs, see readerAck) or fewer bytes than SO_RCVLOWAT
 * are unread (the reader waits for more: its ACK would not come), in
 * quick-ack mode, or when an ACK
 * is due at once anyway (ICSK_ACK_NOW); otherwise delay it
 * (tcp_send_delayed_ack). `selectWindow` is rcvbuf.ts's __tcp_select_window,
 * passed in because rcvbuf.ts reads rcv_mss from here.
 */
export function ackSndCheck(c: Connection, selectWindow: (c: Connection) => number): void {
  c.hooks.dirty(c);
  if (c.ackNow) return;
  const unread = c.recvQueue.length + (c.finReceived ? 1 : 0); // rcv_nxt - copied_seq
  if ((seqDiff(c.rcvNxt, c.rcvWup) > rcvMss(c) && (unread < c.rcvLowat || selectWindow(c) >= c.rcvWnd)) || inQuickAckMode(c)) {
    c.ackNow = true;
    return;
  }
  if (c.ackSched) sendDelayedAck(c);
}

/**
 * tcp_cleanup_rbuf after the application read `copied` bytes: an owed ACK
 * goes now when more than one rcv_mss is unacknowledged (the ACK per two
 * segments that __tcp_ack_snd_check held back), or when the read emptied
 * the buffer and small segments were pushed (twice, or once on a connection
 * that is not interactive).
 */
export function readerAck(c: Connection, copied: number): boolean {
  if (!c.ackSched) return false;
  if (seqDiff(c.rcvNxt, c.rcvWup) > rcvMss(c)) return true;
  const pushed = (c.ackPushed & ACK_PUSHED2) !== 0 || ((c.ackPushed & ACK_PUSHED) !== 0 && !c.pingpong);
  return copied > 0 && pushed && c.recvQueue.length === 0 && c.ooo.empty;
}

/**
 * tcp_send_delayed_ack, in jiffies as the kernel computes it: the timeout
 * is the ATO, above TCP_DELACK_MIN capped at HZ/2, or TCP_DELACK_MAX when
 * interactive or the data was pushed, and at the smoothed RTT (at least
 * TCP_DELACK_MIN) once there is one; never above icsk_delack_max
 * (TCP_DELACK_MAX). A timer already running keeps its earlier expiry, and
 * one due within a quarter of the ATO (2 jiffies, 8 ms, at the minimum ATO)
 * sends the ACK now.
 */
export function sendDelayedAck(c: Connection): void {
  let ato = toJiffies(c.ato);
  const delackMin = toJiffies(TCP_DELACK_MIN);
  if (ato > delackMin) {
    let maxAto = HZ / 2;
    if (c.pingpong || c.ackPushed & ACK_PUSHED) maxAto = toJiffies(TCP_DELACK_MAX);
    if (c.rtt.samples > 0) {
      const rtt = Math.max(usecsToJiffies(c.rtt.srttUsScaled >>> 3), delackMin);
      if (rtt < maxAto) maxAto = rtt;
    }
    ato = Math.min(ato, maxAto);
  }
  ato = Math.min(ato, toJiffies(TCP_DELACK_MAX));
  if (ato === 0) {
    // No data yet (a bare FIN on a fresh connection): the timer would be due
    // at once; the ACK goes from this batch instead, as the kernel's does
    // within the tick (test/scripts/rst-close-wait.pkt).
    c.ackNow = true;
    return;
  }
  const now = c.now();
  let timeout = now + jiffiesToMsecs(ato);
  if (c.ackDelayed && c.delackTimer.armed) {
    const nowJ = jiffiesAt(now);
    const pendingJ = jiffiesAt(c.ackTimeout);
    // time_before_eq(icsk_ack.timeout, jiffies + (ato >> 2)): about to expire.
    if (((pendingJ - (nowJ + (ato >> 2))) | 0) <= 0) {
      c.ackNow = true;
      return;
    }
    // !time_before(timeout, icsk_ack.timeout): keep the earlier expiry.
    if (((jiffiesAt(timeout) - pendingJ) | 0) >= 0) timeout = c.ackTimeout;
  }
  c.ackDelayed = true;
  c.ackTimeout = timeout;
  c.ctx.timers.arm(c.delackTimer, timeout);
  if (c.ctx.trace !== undefined) traceArm(c, 'delack', timeout - c.now());
}

/**
 * tcp_event_ack_sent → tcp_dec_quickack_mode: an ACK that answered data
 * uses up one quick ACK; the last one sets the ATO back to TCP_ATO_MIN.
 * Nothing is owed any more (inet_csk_clear_xmit_timer(ICSK_TIME_DACK)
 * clears icsk_ack.pending).
 */
export function onAckSent(c: Connection): void {
  if (c.quickAcks > 0 && c.ackSched) {
    if (c.quickAcks <= 1) {
      c.quickAcks = 0;
      c.ato = TCP_ATO_MIN;
    } else c.quickAcks--;
  }
  c.ackSched = false;
  c.ackPushed = 0;
}

/**
 * tcp_event_data_sent: the time data was last sent (tp->lsndtime, which
 * slow start after idle measures from, cwnd-limited.ts); data sent within
 * the ATO of the last data received is a reply, and one reply makes the
 * connection interactive (inet_csk_inc_pingpong_cnt, TCP_PINGPONG_THRESH = 1).
 */
export function onDataSent(c: Connection): void {
  c.lsndtime = c.now();
  if (jiffiesSince(c.lastDataTime, c.now()) < toJiffies(c.ato)) c.pingpong = true;
}
