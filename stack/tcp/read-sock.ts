/**
 * tcp_read_sock (net/ipv4/tcp.c), the in-kernel reader behind splice from a
 * TCP socket (tcp_splice_read): the unread bytes go to an actor one
 * received segment (skb) at a time, never past the urgent mark, whose byte
 * it does not step over (only recvmsg does: urgent.ts). Then, as for a
 * read, DRS (tcp_rcv_space_adjust) and tcp_cleanup_rbuf, which may ACK.
 */
import type { Connection } from './connection.ts';
import { copiedSeq, rcvSpaceAdjust, releaseRead } from './rcvbuf.ts';
import { seqDiff, seqGt } from './seq.ts';
import { bytesToMark } from './urgent.ts';
import { cleanupRbuf } from './user-calls.ts';

/**
 * Hands `actor` the unread bytes, each call at most what is left of one
 * received segment and never past the urgent mark; the actor returns how
 * many it took (0 or less: it takes no more). Returns the bytes taken, or
 * the actor's value when the first call took none.
 */
export function readSock(c: Connection, actor: (chunk: Uint8Array) => number): number {
  let copied = 0;
  while (c.recvQueue.length > 0) {
    const seq = copiedSeq(c);
    const skb = c.rcvSkbs.find((s) => seqGt(s.end, seq));
    let len = skb === undefined ? c.recvQueue.length : Math.min(seqDiff(skb.end, seq), c.recvQueue.length);
    // "Stop reading if we hit a patch of urgent data".
    len = Math.min(len, bytesToMark(c));
    if (len === 0) break;
    const chunk = new Uint8Array(len);
    c.recvQueue.copyOut(0, len, chunk, 0);
    const used = Math.min(actor(chunk), len);
    if (used <= 0) {
      if (copied === 0) copied = used;
      break;
    }
    c.recvQueue.consume(used);
    c.ctx.copied.rx += used;
    releaseRead(c);
    copied += used;
  }
  if (c.state !== 'CLOSED') rcvSpaceAdjust(c);
  if (copied > 0 && c.state !== 'CLOSED' && !c.finReceived) cleanupRbuf(c, copied);
  return copied;
}
