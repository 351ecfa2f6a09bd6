/**
 * TCP urgent data (RFC 9293 §3.8.5, RFC 6093) as Linux keeps it.
 *
 * Receive side (tcp_check_urg and tcp_urg in net/ipv4/tcp_input.c): a
 * segment with URG announces an urgent pointer; with net.ipv4.tcp_stdurg 0
 * (the default) it is read the BSD way, pointing one past the urgent byte
 * (RFC 6093 §2), so the byte is at SEG.SEQ + pointer − 1. Linux keeps one
 * urgent byte (tp->urg_seq, tp->urg_data): announced (TCP_URG_NOTYET) until
 * the segment holding it arrives, then valid with its value, then read
 * (TCP_URG_READ) once recv(MSG_OOB) took it. The byte stays in the receive
 * queue: a read stops at it (the mark), and unless SO_OOBINLINE the next
 * read steps over it (tcp_recvmsg_locked); tcp_read_sock (splice) stops
 * there and never steps over it.
 *
 * Send side (tcp_sendmsg_locked, tcp_mark_urg, tcp_transmit_skb): send(MSG_OOB)
 * sets SND.UP to the end of the write; while SND.UNA has not reached it
 * (tcp_urg_mode), every segment that starts before it carries URG and the
 * pointer SND.UP − SEG.SEQ (0xFFFF when that is too far and the segment is
 * within 64 KB of SND.NXT). Linux counts no statistic for urgent data.
 */
import type { Connection } from './connection.ts';
import { copiedSeq, releaseRead } from './rcvbuf.ts';
import type { Segment } from './segment.ts';
import { seqAdd, seqDiff, seqGt, seqLt, seqLe } from './seq.ts';
import { TCP_SYN, tcpUrgent } from '../wire/tcp.ts';
import type { TcpErrno } from './types.ts';

/** include/net/tcp.h: tp->urg_data's state bits (the byte itself is the low 8). */
export const TCP_URG_VALID = 0x100;
export const TCP_URG_NOTYET = 0x200;
export const TCP_URG_READ = 0x400;

/**
 * tcp_check_urg: a new urgent pointer from `seg` (its URG flag set). An
 * old pointer (the byte already read, or before RCV.NXT: "do not replay")
 * or one not beyond the pointer held is ignored. A new one replaces the
 * old; if the reader sits right at an old urgent byte it would have
 * stepped over (not SO_OOBINLINE, unread data after it), it steps over it
 * now (copied_seq + 1), as the byte is no longer marked.
 */
function checkUrg(c: Connection, seg: Segment): void {
  let ptr = tcpUrgent(seg.packet.subarray(seg.tcpOffset));
  if (ptr !== 0 && c.ctx.sysctl.tcp_stdurg === 0) ptr--;
  ptr = seqAdd(seg.seq, ptr);
  const copied = copiedSeq(c);
  if (seqGt(copied, ptr)) return;
  if (seqLt(ptr, c.rcvNxt)) return;
  if (c.urgData !== 0 && !seqGt(ptr, c.urgSeq)) return;
  // sk_send_sigurg: no signals here.
  if (c.urgSeq === copied && c.urgData !== 0 && !c.urgInline && copied !== c.rcvNxt && c.recvQueue.length > 0) {
    // The old urgent byte is taken out of the stream the reader has not stepped over yet.
    c.recvQueue.consume(1);
    releaseRead(c);
  }
  c.urgData = TCP_URG_NOTYET;
  c.urgSeq = ptr;
}

/**
 * tcp_urg, RFC 9293 §3.10.7.4's sixth step: a new pointer (URG), then, while
 * the urgent byte is awaited, its value if this segment holds it (whether
 * or not the segment is then queued), which makes the socket readable.
 */
export function receiveUrgent(c: Connection, seg: Segment, urg: boolean): void {
  if (urg) checkUrg(c, seg);
  if (c.urgData !== TCP_URG_NOTYET) return;
  const offset = seqDiff(c.urgSeq, seg.seq) - (seg.flags & TCP_SYN ? 1 : 0);
  if (offset >= 0 && offset < seg.payload.length) {
    c.urgData = TCP_URG_VALID | seg.payload[offset]!;
    c.hooks.wake(c); // sk_data_ready
  }
}

/** The unread bytes before the urgent mark, or Infinity with no mark ahead (urg_seq − copied_seq while urg_data is set). */
export function bytesToMark(c: Connection): number {
  if (c.urgData === 0) return Infinity;
  const d = seqDiff(c.urgSeq, copiedSeq(c));
  return d >= 0 ? d : Infinity;
}

/**
 * tcp_recvmsg_locked at the mark: with nothing read yet in this call and
 * not SO_OOBINLINE, the urgent byte is stepped over (copied_seq + 1,
 * urg_hole) and the read goes on past it. Returns whether it stepped.
 */
export function skipUrgentByte(c: Connection): boolean {
  if (c.urgData === 0 || c.urgInline || c.recvQueue.length === 0 || bytesToMark(c) !== 0) return false;
  c.recvQueue.consume(1);
  releaseRead(c);
  return true;
}

/** After a read: once copied_seq is past urg_seq the urgent state is over (tcp_recvmsg_locked's skip_copy). */
export function readDone(c: Connection): void {
  if (c.urgData !== 0 && seqGt(copiedSeq(c), c.urgSeq)) c.urgData = 0;
}

/**
 * tcp_recv_urg, recv(MSG_OOB): EINVAL with SO_OOBINLINE, no urgent data or
 * the byte already read; ENOTCONN on a closed socket that never received
 * a FIN; the byte (kept with MSG_PEEK); else 0 bytes at the end of the
 * stream and EAGAIN otherwise: it never waits.
 */
export function recvUrgent(c: Connection, peek: boolean): number | 'eof' | TcpErrno {
  if (c.urgInline || c.urgData === 0 || c.urgData === TCP_URG_READ) return 'EINVAL';
  if (c.state === 'CLOSED' && !c.finReceived) return 'ENOTCONN';
  if (c.urgData & TCP_URG_VALID) {
    const byte = c.urgData & 0xff;
    if (!peek) c.urgData = TCP_URG_READ;
    return byte;
  }
  if (c.state === 'CLOSED' || c.shutRd) return 'eof';
  return 'EAGAIN';
}

/** SIOCATMARK (tcp_ioctl): urgent data is marked and the reader is right at it. */
export function atMark(c: Connection): boolean {
  return c.urgData !== 0 && c.urgSeq === copiedSeq(c);
}

/** tcp_poll: EPOLLPRI while the urgent byte is there to be read. */
export function urgentReadable(c: Connection): boolean {
  return (c.urgData & TCP_URG_VALID) !== 0;
}

/**
 * tcp_poll: at the mark (not SO_OOBINLINE) the urgent byte is in the queue
 * but not for reading, so POLLIN wants one byte more.
 */
export function pollTargetExtra(c: Connection): number {
  return c.urgData !== 0 && !c.urgInline && c.urgSeq === copiedSeq(c) ? 1 : 0;
}

/** tcp_mark_urg (tcp_push of a write with MSG_OOB): SND.UP is write_seq. */
export function markUrgent(c: Connection, writeSeq: number): void {
  c.sndUp = writeSeq;
}

/** tcp_clean_rtx_queue: SND.UP that the ACK passed follows SND.UNA (urgent mode ends). */
export function urgentAcked(c: Connection, priorUna: number): void {
  if (c.sndUp !== undefined && seqLe(priorUna, c.sndUp) && seqLe(c.sndUp, c.sndUna)) c.sndUp = undefined;
}

/** tcp_urg_mode: SND.UP ahead of SND.UNA. */
export function urgentMode(c: Connection): boolean {
  return c.sndUp !== undefined && c.sndUp !== c.sndUna;
}

/**
 * tcp_transmit_skb: the urgent pointer of a segment starting at `seq` while
 * in urgent mode (SND.UP ahead of SND.UNA), or undefined for none (URG off).
 */
export function urgentPointer(c: Connection, seq: number): number | undefined {
  const up = c.sndUp;
  if (up === undefined || !urgentMode(c) || !seqLt(seq, up)) return undefined;
  if (seqLt(up, seqAdd(seq, 0x10000))) return seqDiff(up, seq);
  if (seqGt(seqAdd(seq, 0xffff), c.sndNxt)) return 0xffff;
  return undefined;
}
