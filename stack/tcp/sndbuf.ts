/**
 * The send buffer as Linux 6.18 sizes and charges it (net/ipv4/tcp.c,
 * tcp_input.c, net/core/stream.c):
 *
 * - sk_sndbuf starts at tcp_wmem[1] (tcp_init_sock) and, unless SO_SNDBUF
 *   fixed it (SOCK_SNDBUF_LOCK), grows when the connection is established
 *   (tcp_init_buffer_space) and on each ACK that finds a writer waiting for
 *   room while cwnd is not full (tcp_check_space → tcp_new_space →
 *   tcp_sndbuf_expand): to twice cwnd (at least ten segments) of
 *   worst-case per-segment skbs, at most tcp_wmem[2].
 * - sk_wmem_queued charges every byte not yet acknowledged plus one skb
 *   head per skb, in the write queue and in the retransmit queue (the
 *   packets as they were sent: rtx-queue.ts counts them).
 * - tcp_sendmsg_locked checks the charge only when it needs a new skb
 *   (sk_stream_memory_free); it first fills the tail skb to the size goal,
 *   so a write may take more than the buffer's room (send-sizing.ts).
 * - The socket is writable (POLLOUT, sk_stream_write_space) while the free
 *   room is at least half the charge (__sk_stream_is_writeable).
 * - TCP_NOTSENT_LOWAT (else net.ipv4.tcp_notsent_lowat) bounds the bytes
 *   written but not yet sent (write_seq - snd_nxt): a new skb only below it,
 *   writable only below half of it (tcp_stream_memory_free, its `wake`
 *   doubling the unsent bytes for poll and wake-ups).
 *
 * Measured on 6.18 (test/scripts/sndbuf-*.pkt): 46080 bytes after the
 * handshake with MSS 1460 (2 · 10 · 2304), 87040 with MSS 1540; a 100-byte
 * write charges 932 bytes (ss -m).
 */
import type { Connection } from './connection.ts';
import { INITIAL_CWND } from './congestion/newreno.ts';
import { stampCwnd } from './cwnd-stamp.ts';

/**
 * SKB_TRUESIZE of the head tcp_stream_alloc_skb allocates (the small-head
 * cache: 256 bytes of headroom, skb_shared_info, struct sk_buff): what each
 * skb costs beyond its payload.
 */
export const TX_SKB_OVERHEAD = 832;
/** MAX_TCP_HEADER + SKB_DATA_ALIGN(sizeof(struct skb_shared_info)): tcp_sndbuf_expand's per-segment headroom. */
const PER_MSS_HEADROOM = 512;
/** SKB_DATA_ALIGN(sizeof(struct sk_buff)). */
const SKB_STRUCT = 256;
/** tcp_sndbuf_expand's factor for congestion controls without sndbuf_expand (Reno, CUBIC: room for fast recovery). */
const SNDMEM_FACTOR = 2;

/** sk_wmem_queued: payload not yet acknowledged, plus one head per skb. */
export function wmemQueued(c: Connection): number {
  return c.sendQueue.length + TX_SKB_OVERHEAD * (c.writeQueue.count + c.rtx.skbs);
}

/** sk_stream_memory_free: a new skb may be allocated. */
export function memoryFree(c: Connection): boolean {
  return wmemQueued(c) < c.sndBuf && streamMemoryFree(c, 0);
}

/** __sk_stream_is_writeable: free room at least half the charge (sk_stream_min_wspace), and memory free (`wake`: unsent bytes count double). */
export function isWriteable(c: Connection): boolean {
  const queued = wmemQueued(c);
  return c.sndBuf - queued >= queued >> 1 && queued < c.sndBuf && streamMemoryFree(c, 1);
}

/** tcp_stream_memory_free: unsent bytes, shifted left by `wake`, below tcp_notsent_lowat(). */
function streamMemoryFree(c: Connection, wake: 0 | 1): boolean {
  const lowat = c.notsentLowat || c.ctx.sysctl.tcp_notsent_lowat;
  return c.unsentBytes() * (wake + 1) < lowat;
}

/** Free room in the buffer (sk_stream_wspace), never negative. */
export function freeRoom(c: Connection): number {
  return Math.max(0, c.sndBuf - wmemQueued(c));
}

/** roundup_pow_of_two. */
function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * tcp_sndbuf_expand: room for twice the larger of cwnd, ten segments and
 * reordering + 1, each as a worst-case non-GSO skb (the MSS plus headers
 * rounded up to a power of two, plus struct sk_buff), capped at tcp_wmem[2].
 */
export function sndbufExpand(c: Connection): void {
  const perMss = roundupPow2(Math.max(c.peerMss, c.mss) + PER_MSS_HEADROOM) + SKB_STRUCT;
  const segs = Math.max(INITIAL_CWND, c.cc.cwnd, c.reordering + 1);
  const sndmem = SNDMEM_FACTOR * segs * perMss;
  if (c.sndBuf < sndmem) c.sndBuf = Math.min(sndmem, c.ctx.sysctl.tcp_wmem[2]);
}

/** tcp_init_buffer_space's send half: the buffer grows to its first size unless SO_SNDBUF fixed it. */
export function initSendBuffer(c: Connection): void {
  if (!c.sndBufLocked) sndbufExpand(c);
}

/**
 * tcp_check_space, after an ACK's output (tcp_data_snd_check): when a writer
 * found the buffer full (SOCK_NOSPACE), the buffer grows if cwnd is not full
 * (tcp_should_expand_sndbuf), and the writer is woken once the socket is
 * writable again (sk_stream_write_space).
 */
export function checkSpace(c: Connection): void {
  if (!c.sndNoSpace) return;
  if (!c.sndBufLocked && c.packetsInFlight() < c.cc.cwnd) {
    sndbufExpand(c);
    stampCwnd(c); // tcp_new_space
  }
  writeSpace(c);
}

/** sk_stream_write_space: wake the writer once the socket is writable. */
export function writeSpace(c: Connection): void {
  if (!isWriteable(c)) return;
  c.sndNoSpace = false;
  c.hooks.wake(c);
}
