/**
 * The receive side's socket options and queries, as net/ipv4/tcp.c has
 * them: SO_RCVLOWAT (tcp_set_rcvlowat) and the readiness it sets
 * (tcp_epollin_ready), MSG_PEEK's copy that leaves the queue alone
 * (tcp_recvmsg_locked with peek_seq), the TCP_INQ hint (tcp_inq_hint),
 * SIOCINQ (tcp_inq) and TCP_QUICKACK (__tcp_sock_set_quickack).
 */
import type { Connection } from './connection.ts';
import { ACK_PUSHED, rcvMss } from './ack-schedule.ts';
import { rcvSpaceAdjust, spaceFromWin } from './rcvbuf.ts';
import { cleanupRbuf } from './user-calls.ts';
import { bytesToMark } from './urgent.ts';

/**
 * tcp_set_rcvlowat: the value capped at half the receive buffer (when the
 * application fixed it) or half tcp_rmem[2]; 0 means 1. Unless the buffer
 * is fixed, it grows to hold a window of that many bytes (and the window
 * clamp with it), so that the low-water mark can be reached at all.
 * Returns the value kept (sk_rcvlowat).
 */
export function setRcvLowat(c: Connection | undefined, val: number, rcvBufLocked: boolean, rcvBuf: number, rmemMax: number): number {
  const cap = (rcvBufLocked ? rcvBuf : rmemMax) >> 1;
  const lowat = Math.min(val, cap) || 1;
  if (c === undefined || rcvBufLocked) return lowat;
  const space = spaceFromWin(c, Math.min(val, cap));
  if (space > c.rcvBuf) {
    c.rcvBuf = space;
    if (c.windowClamp !== 0 && c.windowClamp < val) c.windowClamp = val;
  }
  return lowat;
}

/**
 * tcp_epollin_ready: readable once `target` bytes (sock_rcvlowat) are
 * queued, or sooner when the receive memory is nearly full
 * (tcp_rmem_pressure: more than 7/8 of sk_rcvbuf) or the window left is
 * no more than one rcv_mss: the sender cannot send more, so waiting for
 * the mark would wait forever. A received FIN counts as a byte
 * (rcv_nxt − copied_seq), though tcp_poll reports it anyway.
 */
export function epollinReady(c: Connection, target: number): boolean {
  const avail = c.recvQueue.length + (c.finReceived ? 1 : 0);
  if (avail <= 0) return false;
  if (avail >= target) return true;
  if (c.rmemAlloc > c.rcvBuf - (c.rcvBuf >> 3)) return true;
  return c.receiveWindow() <= rcvMss(c);
}

/**
 * tcp_inq_hint, TCP_CM_INQ's value: rcv_nxt − copied_seq (the FIN counts
 * until it is read), and 1 rather than 0 once a FIN was received
 * (SOCK_DONE), to tell the reader to read on and see the end.
 */
export function inqHint(c: Connection): number {
  const inq = c.recvQueue.length + (c.finReceived ? 1 : 0);
  return inq === 0 && c.finReceived ? 1 : inq;
}

/**
 * tcp_inq, SIOCINQ's value: 0 during the handshake, else the bytes not yet
 * read (rcv_nxt − copied_seq, less the FIN's 1 when one was received), or
 * only those before the urgent mark while it lies among them (urgent.ts).
 */
export function siocInq(c: Connection): number {
  if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV') return 0;
  // An urgent mark among the unread bytes (not SO_OOBINLINE): the bytes before it (0 at it).
  const toMark = c.urgInline ? Infinity : bytesToMark(c);
  if (toMark < c.recvQueue.length + (c.finReceived ? 1 : 0)) return toMark;
  return c.recvQueue.length;
}

/**
 * MSG_PEEK: up to `max` bytes copied from the front of the receive queue,
 * which keeps them. As tcp_recvmsg_locked, it still runs
 * tcp_rcv_space_adjust and tcp_cleanup_rbuf, which can send an ACK owed
 * for more than one rcv_mss of unacknowledged data.
 */
export function peek(c: Connection, max: number): Uint8Array {
  // Urgent data (urgent.ts): peek_seq steps over the urgent byte at the
  // mark (unless SO_OOBINLINE), and a peek before the mark stops there.
  const toMark = bytesToMark(c);
  const from = toMark === 0 && !c.urgInline ? 1 : 0;
  const n = Math.max(0, Math.min(max, c.recvQueue.length - from, toMark === 0 ? Infinity : toMark));
  const data = new Uint8Array(n);
  if (n > 0) c.recvQueue.copyOut(from, n, data, 0);
  if (c.state !== 'CLOSED') rcvSpaceAdjust(c);
  if (n > 0 && c.state !== 'CLOSED' && !c.finReceived) cleanupRbuf(c, n);
  return data;
}

/**
 * __tcp_sock_set_quickack: 0 makes the connection interactive (ping-pong:
 * ACKs are delayed); anything else leaves ping-pong mode and, when an ACK
 * is owed in ESTABLISHED or CLOSE_WAIT, marks the data pushed and lets
 * tcp_cleanup_rbuf send it if the queue is empty; an even value goes back
 * to ping-pong after that. It does not enter quick-ack mode.
 */
export function setQuickAck(c: Connection, val: number): void {
  if (val === 0) {
    c.pingpong = true;
    return;
  }
  c.pingpong = false;
  if ((c.state === 'ESTABLISHED' || c.state === 'CLOSE_WAIT') && c.ackSched) {
    c.ackPushed |= ACK_PUSHED;
    cleanupRbuf(c, 1);
    if ((val & 1) === 0) c.pingpong = true;
  }
}
