/**
 * What the application's calls do to an existing connection (tcp_sendmsg,
 * tcp_recvmsg and tcp_cleanup_rbuf, tcp_shutdown, __tcp_close in
 * net/ipv4/tcp.c). sock.ts, the socket-level user-call API, calls these.
 */
import { readerAck } from './ack-schedule.ts';
import type { Connection } from './connection.ts';
import { abortWithReset, tcpDone } from './endings.ts';
import * as out from './output.ts';
import { seqAdd } from './seq.ts';
import * as timers from './timer-arming.ts';
import { queueWrite } from './write-queue.ts';

/**
 * Queues application bytes; returns how many fit in the send buffer. They
 * are cut into skbs as tcp_sendmsg_locked cuts them, with its pushes in the
 * middle of a long write and tcp_push's PSH mark at the end (write-queue.ts);
 * the final push is the flush that follows.
 */
export function sendmsg(c: Connection, data: Uint8Array): number {
  const room = c.sndBuf - c.sendQueue.length;
  if (room <= 0) return 0;
  const n = Math.min(room, data.length);
  const writeSeq = seqAdd(c.sndNxt, c.unsentBytes());
  queueWrite(c, n, out.sendMss(c), writeSeq, {
    append: (offset, len) => c.sendQueue.push(data.slice(offset, offset + len)),
    pushOne: () => out.pushDuringWrite(c, true),
    pushAll: () => out.pushDuringWrite(c, false),
  });
  c.hooks.dirty(c);
  return n;
}

export function recvmsg(c: Connection, max: number): Uint8Array {
  const data = c.recvQueue.shift(max);
  if (data.length > 0 && c.state !== 'CLOSED' && !c.finReceived) cleanupRbuf(c, data.length);
  return data;
}

/** tcp_cleanup_rbuf: send an owed ACK (readerAck), or announce a window that at least doubled, or reopened from zero. */
function cleanupRbuf(c: Connection, copied: number): void {
  if (readerAck(c, copied)) {
    c.ackNow = true;
    c.hooks.dirty(c);
    return;
  }
  const current = c.receiveWindow();
  const possible = out.selectWindow(c, false);
  if (possible >= 2 * current && possible - current >= c.mss) {
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
  c.finQueued = true;
  c.hooks.dirty(c);
}

/** The Linux close paths (__tcp_close), in their order. */
export function closeConnection(c: Connection): void {
  const wasState = c.state;
  c.orphan = true;
  c.shutRd = true;
  if (wasState === 'TIME_WAIT') c.hooks.released(c);
  if (wasState === 'CLOSED' || wasState === 'TIME_WAIT') return;
  const unread = c.recvQueue.length;
  c.recvQueue.clear();
  c.ooo.clear();
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
