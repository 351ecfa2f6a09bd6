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
    const m = now - c.lastDataTime;
    if (m <= TCP_ATO_MIN / 2) {
      c.ato = (c.ato >> 1) + TCP_ATO_MIN / 2;
    } else if (m < c.ato) {
      c.ato = Math.min((c.ato >> 1) + m, c.rtt.rto);
    } else if (m > c.rtt.rto) {
      incrQuickAck(c);
    }
  }
  c.lastDataTime = now;
}

/**
 * tcp_measure_rcv_mss: a segment at least rcv_mss long sets rcv_mss (up to
 * our advertised MSS) and, with PSH, marks the ACK "pushed"; a shorter one
 * sets it only when two segments in a row have the same, plausibly
 * full-sized length, and otherwise marks the ACK pushed (twice: PUSHED2).
 * The header length is the invariant one (tp->tcp_header_len), so SACK
 * blocks on the peer's segments do not move the estimate.
 */
function measureRcvMss(c: Connection, len: number, flags: number): void {
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
 * tcp_cleanup_rbuf ACKs, see readerAck), in quick-ack mode, or when an ACK
 * is due at once anyway (ICSK_ACK_NOW); otherwise delay it
 * (tcp_send_delayed_ack). `selectWindow` is rcvbuf.ts's __tcp_select_window,
 * passed in because rcvbuf.ts reads rcv_mss from here.
 */
export function ackSndCheck(c: Connection, selectWindow: (c: Connection) => number): void {
  c.hooks.dirty(c);
  if (c.ackNow) return;
  if ((seqDiff(c.rcvNxt, c.rcvWup) > rcvMss(c) && selectWindow(c) >= c.rcvWnd) || inQuickAckMode(c)) {
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
 * tcp_send_delayed_ack: the timeout is the ATO, above TCP_DELACK_MIN capped
 * at 500 ms, or TCP_DELACK_MAX when interactive or the data was pushed, and
 * at the smoothed RTT (at least TCP_DELACK_MIN) once there is one; never
 * above icsk_delack_max (TCP_DELACK_MAX). A timer already running keeps its
 * earlier expiry, and one due within a quarter of the ATO sends the ACK now.
 */
export function sendDelayedAck(c: Connection): void {
  let ato = c.ato;
  if (ato > TCP_DELACK_MIN) {
    let maxAto = 500;
    if (c.pingpong || c.ackPushed & ACK_PUSHED) maxAto = TCP_DELACK_MAX;
    if (c.rtt.samples > 0) {
      const rtt = Math.max(Math.ceil(c.rtt.srtt), TCP_DELACK_MIN);
      if (rtt < maxAto) maxAto = rtt;
    }
    ato = Math.min(ato, maxAto);
  }
  ato = Math.min(ato, TCP_DELACK_MAX);
  if (ato === 0) {
    // No data yet (a bare FIN on a fresh connection): the timer would be due
    // at once; the ACK goes from this batch instead, as the kernel's does
    // within the tick (test/scripts/rst-close-wait.pkt).
    c.ackNow = true;
    return;
  }
  const now = c.now();
  let timeout = now + ato;
  if (c.ackDelayed && c.delackTimer.armed) {
    if (c.ackTimeout <= now + (ato >> 2)) {
      c.ackNow = true;
      return;
    }
    if (timeout >= c.ackTimeout) timeout = c.ackTimeout;
  }
  c.ackDelayed = true;
  c.ackTimeout = timeout;
  c.ctx.timers.arm(c.delackTimer, timeout);
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
  if (c.now() - c.lastDataTime < c.ato) c.pingpong = true;
}
