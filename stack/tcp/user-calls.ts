/**
 * What the application's calls do to an existing connection (tcp_sendmsg,
 * tcp_recvmsg and tcp_cleanup_rbuf, tcp_shutdown, __tcp_close in
 * net/ipv4/tcp.c). sock.ts, the socket-level user-call API, calls these.
 */
import { CHRONO_BUSY, chronoStart } from './chrono.ts';
import { readerAck } from './ack-schedule.ts';
import type { Connection } from './connection.ts';
import { abortWithReset, tcpDone } from './endings.ts';
import * as out from './output.ts';
import { copiedSeq, rawSelectWindow, rcvSpaceAdjust, releaseAll, releaseRead } from './rcvbuf.ts';
import { seqAdd, seqDiff } from './seq.ts';
import { bytesToMark, readDone, skipUrgentByte } from './urgent.ts';
import * as timers from './timer-arming.ts';
import { queueWrite, type SendFlags, type WritePushes } from './send-sizing.ts';

/**
 * Queues application bytes; returns how many the send buffer took (0: it
 * is full, EAGAIN), as tcp_sendmsg_locked charges them (sndbuf.ts). They
 * are cut into skbs as it cuts them, with its pushes in the middle of a
 * long write and tcp_push's PSH mark at the end (write-queue.ts); the final
 * push is the flush that follows, corked for MSG_MORE (tcp_push with
 * TCP_NAGLE_CORK, nagle.ts). `zeroCopy`: the send queue keeps views of
 * `data` instead of copies (views.ts bounds what they keep alive).
 */
export function sendmsg(c: Connection, data: Uint8Array, zeroCopy = false, flags?: SendFlags): number {
  const writeSeq = seqAdd(c.sndNxt, c.unsentBytes());
  // One object for every write (no closures per call); a write from inside
  // another one's pushes, which the stack never makes, would get its own.
  const pushes = idlePushes ?? new SendmsgPushes();
  idlePushes = undefined;
  pushes.c = c;
  pushes.data = data;
  pushes.zeroCopy = zeroCopy;
  try {
    const n = queueWrite(c, data.length, out.sendMss(c), writeSeq, pushes, flags);
    c.pushCorked = n > 0 && flags?.more === true;
    c.hooks.dirty(c);
    return n;
  } finally {
    pushes.c = undefined;
    pushes.data = NO_DATA;
    idlePushes = pushes;
  }
}

const NO_DATA = new Uint8Array(0);

/** What queueWrite does for sendmsg: copy the bytes it takes into the send queue (or queue views of them), push in the middle of a long write. */
class SendmsgPushes implements WritePushes {
  c: Connection | undefined;
  data: Uint8Array = NO_DATA;
  zeroCopy = false;

  append(offset: number, len: number): void {
    if (this.zeroCopy) {
      this.c!.sendQueue.push(this.data.subarray(offset, offset + len));
      return;
    }
    this.c!.sendQueue.push(this.data.slice(offset, offset + len));
    this.c!.ctx.copied.tx += len;
  }

  pushOne(): void {
    out.pushDuringWrite(this.c!, true);
  }

  pushAll(): void {
    out.pushDuringWrite(this.c!, false);
  }
}

let idlePushes: SendmsgPushes | undefined = new SendmsgPushes();

/**
 * tcp_recvmsg_locked: up to `max` bytes, segment by segment; each segment
 * read in full frees its receive memory, and after each piece DRS may grow
 * the buffer (tcp_rcv_space_adjust). Then tcp_cleanup_rbuf.
 *
 * `inPlace`: no further than the end of the first queued chunk (a received
 * segment, or a run of them copied together by compaction), so the bytes
 * are a view of the buffer they arrived in and nothing is copied; the
 * accounting is the same.
 */
export function recvmsg(c: Connection, max: number, inPlace = false): Uint8Array {
  if (inPlace) {
    // One shift within one chunk: a view; the segments it ends free their memory.
    const data = c.recvQueue.shift(Math.min(max, c.recvQueue.headLength));
    releaseRead(c);
    if (c.state !== 'CLOSED') rcvSpaceAdjust(c);
    if (data.length > 0 && c.state !== 'CLOSED' && !c.finReceived) cleanupRbuf(c, data.length);
    return data;
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  const shiftCopied = c.recvQueue.shiftCopied;
  for (const skb of c.rcvSkbs.slice()) {
    if (total >= max || c.recvQueue.length === 0) break;
    const left = seqDiff(skb.end, copiedSeq(c));
    if (left <= 0) continue;
    const part = c.recvQueue.shift(Math.min(left, max - total));
    parts.push(part);
    total += part.length;
    releaseRead(c);
    if (c.state !== 'CLOSED') rcvSpaceAdjust(c);
  }
  if (total < max && c.recvQueue.length > 0) {
    const rest = c.recvQueue.shift(max - total);
    parts.push(rest);
    total += rest.length;
  }
  const data = parts.length === 1 ? parts[0]! : concat(parts, total);
  c.ctx.copied.rx += c.recvQueue.shiftCopied - shiftCopied + (parts.length > 1 ? total : 0);
  if (data.length > 0 && c.state !== 'CLOSED' && !c.finReceived) cleanupRbuf(c, data.length);
  return data;
}

/**
 * tcp_recvmsg_locked while urgent data is marked (urgent.ts): at the mark,
 * unless SO_OOBINLINE, the urgent byte is stepped over first (nothing was
 * copied yet in this call); then the read goes no further than the mark,
 * except that an inline urgent byte at the front is read with what follows.
 * Once the reader is past the urgent byte, urgent data is forgotten.
 */
export function recvmsgUrgent(c: Connection, max: number): Uint8Array {
  if (skipUrgentByte(c) && c.state !== 'CLOSED') rcvSpaceAdjust(c);
  readDone(c);
  const toMark = bytesToMark(c);
  const limit = toMark === 0 ? max : Math.min(max, toMark);
  const data = c.recvQueue.length > 0 ? recvmsg(c, limit) : new Uint8Array(0);
  readDone(c);
  return data;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const joined = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.length;
  }
  return joined;
}

/**
 * tcp_cleanup_rbuf: send an owed ACK (readerAck), or announce a window that
 * grew "significantly": while the window left is at most half the clamp, a
 * new window (__tcp_select_window) at least twice it.
 */
export function cleanupRbuf(c: Connection, copied: number): void {
  if (readerAck(c, copied)) {
    c.ackNow = true;
    c.hooks.dirty(c);
    return;
  }
  if (c.shutRd) return;
  const current = c.receiveWindow();
  if (2 * current > c.windowClamp) return;
  const possible = rawSelectWindow(c);
  if (possible !== 0 && possible >= 2 * current) {
    c.ackNow = true;
    c.hooks.dirty(c);
  }
}

/** shutdown(SHUT_WR) / the FIN part of close: tcp_close_state. */
export function closeSending(c: Connection): void {
  if (c.shutWr && c.finQueued) return;
  c.shutWr = true;
  switch (c.state) {
    case 'ESTABLISHED':
    case 'SYN_RECV':
      c.setState('FIN_WAIT1');
      break;
    case 'CLOSE_WAIT':
      c.setState('LAST_ACK');
      break;
    case 'SYN_SENT':
      tcpDone(c);
      return;
    default:
      return;
  }
  // tcp_send_fin: a FIN with no unsent skb to ride is a new skb (tcp_queue_skb): busy.
  if (c.unsentBytes() <= 0) chronoStart(c, CHRONO_BUSY);
  c.finQueued = true;
  c.hooks.dirty(c);
}

/** The Linux close paths (__tcp_close), in their order. */
export function closeConnection(c: Connection): void {
  const wasState = c.state;
  c.orphan = true;
  c.shutRd = true;
  c.hooks.released(c);
  if (wasState === 'CLOSED' || wasState === 'TIME_WAIT') return;
  const unread = c.recvQueue.length;
  c.recvQueue.clear();
  c.ooo.clear();
  releaseAll(c);
  if (unread > 0) {
    // RFC 2525 §2.17: unread data means the peer's data was lost: say so with a RST.
    c.setState('CLOSED');
    abortWithReset(c, 'closeWithUnread');
    return;
  }
  if (c.lingerOn && c.lingerSeconds === 0) {
    // tcp_disconnect: a RST when tcp_need_reset(), or in CLOSING/LAST_ACK while
    // something (data or the FIN) is still unsent (snd_nxt != write_seq); in
    // SYN_SENT nothing. __tcp_close counts TCPAbortOnData after it in every case.
    const needReset =
      wasState === 'ESTABLISHED' || wasState === 'CLOSE_WAIT' || wasState === 'FIN_WAIT1' || wasState === 'FIN_WAIT2' || wasState === 'SYN_RECV' ||
      ((wasState === 'CLOSING' || wasState === 'LAST_ACK') && (c.unsentBytes() > 0 || (c.finQueued && !c.finSent)));
    c.setState('CLOSED');
    if (needReset) {
      abortWithReset(c, 'lingerZero');
    } else {
      c.ctx.counters.TcpExtTCPAbortOnData++;
      tcpDone(c);
    }
    return;
  }
  if (wasState === 'SYN_SENT') {
    tcpDone(c); // close in SYN_SENT sends nothing (__tcp_close → tcp_close_state: SYN_SENT → CLOSE)
    return;
  }
  if (wasState === 'FIN_WAIT2') {
    c.shutWr = true;
    if (c.linger2 !== undefined && c.linger2 < 0) {
      c.setState('CLOSED');
      abortWithReset(c, 'linger2');
      return;
    }
    timers.orphanFinWait2(c);
    return;
  }
  closeSending(c);
}
