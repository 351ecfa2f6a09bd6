/**
 * The receive buffer and the window it lets us offer, as Linux 6.18 sizes
 * them (tcp_input.c's "buffer size and advertised window tuning", and
 * tcp_select_initial_window in tcp_output.c).
 *
 * Linux reasons in memory, not payload: sk_rcvbuf bounds the truesize of the
 * queued skbs (sk_rmem_alloc), and a window is memory scaled by
 * tp->scaling_ratio, the payload/truesize ratio of the last full-sized
 * segment (tcp_measure_rcv_mss; tcp_win_from_space). This stack has no skbs,
 * so each received segment is charged the truesize Linux gives a segment
 * that arrives through a TUN device (segmentTruesize below, measured with
 * `ss -m` on 6.18: 1448 payload bytes cost 2304, 536 cost 1280, 100 cost
 * 832), and a later small segment that fits the tail room of the previous
 * one is copied into it at no cost, as skb_try_coalesce does. With the same
 * memory per segment the ratio, the window clamp, rcv_ssthresh and every
 * advertised window come out as Linux's (test/scripts/rcvbuf-*.pkt).
 */
import type { Sysctls } from '../sysctl.ts';
import { TCP_MAX_WSCALE } from '../wire/tcp.ts';
import { rcvMss } from './ack-schedule.ts';
import { INITIAL_CWND } from './congestion/newreno.ts';
import { NET_CORE_RMEM_MAX, TCP_DEFAULT_SCALING_RATIO } from './constants.ts';
import { NO_SKBS, type Connection, type RcvSkb } from './connection.ts';
import { seqAdd, seqDiff, seqLe } from './seq.ts';
import { initSendBuffer } from './sndbuf.ts';

/** TCP_RMEM_TO_WIN_SCALE: scaling_ratio is a fraction of 256. */
const RMEM_TO_WIN_SCALE = 8;
const RATIO_ONE = 1 << RMEM_TO_WIN_SCALE;
/** net.ipv4.tcp_app_win's default (31): the share of the buffer kept from the window. */
const TCP_APP_WIN = 31;
/** SOCK_MIN_RCVBUF: tcp_set_window_clamp's floor is half of it. */
export const SOCK_MIN_RCVBUF = 2304;
/** The largest window a scale of 14 can express (U16_MAX << TCP_MAX_WSCALE): "no clamp". */
const MAX_CLAMP = 65535 * 2 ** TCP_MAX_WSCALE;

/**
 * What one segment of `payload` bytes costs in receive memory (skb->truesize)
 * when it arrives as Linux receives it from a TUN device (tun_get_user,
 * tun_alloc_skb). A datagram that fits a page with NET_SKB_PAD (64) before
 * it makes a linear skb: kmalloc rounds the head plus skb_shared_info (320)
 * up to its bucket (the 576-byte small head cache, else a power of two),
 * and the sk_buff itself adds 256. A bigger one (a GSO packet, as
 * packetdrill writes with --mss) fills a head of one page (SKB_MAX_HEAD:
 * 3712 bytes of it) and puts the rest in page fragments, each as large as
 * alloc_skb_with_frags takes them (up to order 3) and charged whole.
 * Measured with `ss -m` on 6.18: a 4000-byte payload costs 8448, 9000
 * bytes 12544, 20000 bytes 20736. Returns the truesize and the tail room
 * left after the datagram (and no fragment slots: a kmalloc'd head cannot
 * take another skb's fragments, skb_try_coalesce).
 */
export function segmentTruesize(payload: number, tcpHeader: number): ReceivedSkb {
  const datagram = 20 + tcpHeader + payload;
  if (NET_SKB_PAD + datagram >= PAGE_SIZE) {
    return { truesize: PAGE_SIZE + SKB_OVERHEAD + fragmentPages(datagram - TUN_MAX_HEAD), tailroom: 0, fragsLeft: 0 };
  }
  const head = align64(NET_SKB_PAD + datagram) + SHINFO;
  let bucket = 576;
  if (head > bucket) {
    bucket = 1024;
    while (bucket < head) bucket *= 2;
  }
  return { truesize: bucket + SKB_OVERHEAD, tailroom: bucket - SHINFO - NET_SKB_PAD - datagram, fragsLeft: 0 };
}

const PAGE_SIZE = 4096;
const NET_SKB_PAD = 64;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)). */
const SHINFO = 320;
/** SKB_DATA_ALIGN(sizeof(struct sk_buff)): what SKB_TRUESIZE adds to the head. */
const SKB_OVERHEAD = 256;
/** SKB_MAX_HEAD(NET_SKB_PAD): the linear part of a page-sized head. */
const TUN_MAX_HEAD = PAGE_SIZE - NET_SKB_PAD - SHINFO;
/** PAGE_ALLOC_COSTLY_ORDER: the largest page order tun_alloc_skb asks for. */
const MAX_FRAG_ORDER = 3;

/** alloc_skb_with_frags: the memory of the pages that hold `len` bytes, the largest order that the rest fills first. */
function fragmentPages(len: number): number {
  let total = 0;
  let order = MAX_FRAG_ORDER;
  while (len > 0) {
    while (order > 0 && Math.ceil(len / PAGE_SIZE) * PAGE_SIZE < PAGE_SIZE << order) order--;
    const chunk = PAGE_SIZE << order;
    total += chunk;
    len -= Math.min(len, chunk);
  }
  return total;
}

const align64 = (n: number): number => Math.ceil(n / 64) * 64;

/**
 * A local sender's segment arriving over a veth (GSO off) is an skb that
 * skb_segment made: the headers in a head from the 576-byte small-head
 * cache plus the sk_buff (832 bytes), the payload in page fragments charged
 * at its length. tcp_try_coalesce then adds each following in-order
 * segment's fragments to the queued skb, charging only their length, until
 * it holds MAX_SKB_FRAGS (17). Measured with `ss -m` on 6.18: 1448 payload
 * bytes cost 2280, each next full segment 1448 more, 100 bytes 100 more,
 * and the 18th segment 2280 again. (The next skb held 16: a segment that
 * straddles two of the sender's pages takes two fragments; not modelled.)
 */
const VETH_SKB_HEAD = 832;
const MAX_SKB_FRAGS = 17;

/** An skb as it arrives: its truesize, tail room and fragment slots left. */
export interface ReceivedSkb {
  truesize: number;
  tailroom: number;
  fragsLeft: number;
}

/**
 * The skb a received segment of `len` payload bytes arrives as
 * (StackOptions.rxSkbs). Through a TUN a super-segment is no different from
 * any other large datagram (segmentTruesize).
 */
export function receivedSkb(c: Connection, len: number): ReceivedSkb {
  if (c.ctx.rxSkbs === 'veth') return { truesize: VETH_SKB_HEAD + len, tailroom: 0, fragsLeft: MAX_SKB_FRAGS - 1 };
  return segmentTruesize(len, c.tcpHeaderLen());
}

/** tcp_win_from_space: the window `space` bytes of memory hold at the connection's payload/truesize ratio. */
export function winFromSpace(c: Connection, space: number): number {
  return Math.floor((space * c.scalingRatio) / RATIO_ONE);
}

/** tcp_space_from_win: the memory a window of `win` bytes needs. */
export function spaceFromWin(c: Connection, win: number): number {
  return Math.floor((win * RATIO_ONE) / c.scalingRatio);
}

/** tcp_space: the window the free receive memory holds (negative when over). */
export function tcpSpace(c: Connection): number {
  return winFromSpace(c, c.rcvBuf - c.rmemAlloc);
}

/** tcp_full_space: the window the whole receive buffer holds. */
export function tcpFullSpace(c: Connection): number {
  return winFromSpace(c, c.rcvBuf);
}

export interface InitialWindow {
  rcvWnd: number;
  windowClamp: number;
  wscale: number;
}

/**
 * tcp_select_initial_window: the first window is the buffer's space (at most
 * the clamp) rounded down to whole segments; it is not capped at 65535 (the
 * SYN's field is, tcp_make_synack / tcp_transmit_skb). The scale is the one
 * that lets the largest buffer (tcp_rmem[2], or net.core.rmem_max if larger) be
 * offered, and the clamp no more than the scale can express. A route's
 * initrwnd (RTAX_INITRWND, `initRwnd` segments; 0 unset) caps the window,
 * not the scale.
 */
export function selectInitialWindow(s: Sysctls, space: number, mss: number, clamp: number, wscaleOk: boolean, initRwnd = 0): InitialWindow {
  const windowClamp = clamp === 0 ? MAX_CLAMP : clamp;
  space = Math.min(windowClamp, Math.max(0, space));
  if (space > mss) space = Math.floor(space / mss) * mss;
  const rcvWnd = initRwnd !== 0 ? Math.min(space, initRwnd * mss) : space;
  let wscale = 0;
  if (wscaleOk) {
    const largest = Math.min(Math.max(space, s.tcp_rmem[2], NET_CORE_RMEM_MAX), windowClamp);
    wscale = Math.min(Math.max(Math.floor(Math.log2(largest)) - 15, 0), TCP_MAX_WSCALE);
  }
  return { rcvWnd, windowClamp: Math.min(65535 * 2 ** wscale, windowClamp), wscale };
}

/**
 * tcp_connect_init / tcp_openreq_init_rwin: the window and scale of our SYN
 * or SYN-ACK from a socket's buffer. A buffer set with SO_RCVBUF also clamps
 * the window to what it holds. `mss` is the MSS less the timestamp option
 * when it will be used (the SYN-ACK's) or already was (a repeated connect);
 * `initRwnd` the route's initrwnd (dst_metric(dst, RTAX_INITRWND)).
 */
export function initialWindowOf(s: Sysctls, rcvBuf: number, locked: boolean, mss: number, wscaleOk: boolean, initRwnd = 0): InitialWindow {
  const fullSpace = Math.floor((rcvBuf * TCP_DEFAULT_SCALING_RATIO) / RATIO_ONE);
  const clamp = locked ? fullSpace : 0;
  return selectInitialWindow(s, fullSpace, mss, clamp, wscaleOk, initRwnd);
}

/**
 * tcp_init_buffer_space (tcp_init_transfer, when the connection is
 * established): the clamp leaves the application its share of the buffer
 * and at least one segment, rcv_ssthresh starts at most there, and DRS
 * measures from now with at most ten segments as its first estimate. The
 * send buffer takes its first size too (sndbuf.ts).
 */
export function initBufferSpace(c: Connection): void {
  const advmss = c.tpAdvMss();
  const maxwin = tcpFullSpace(c);
  if (c.windowClamp >= maxwin) {
    c.windowClamp = maxwin;
    if (maxwin > 4 * advmss) c.windowClamp = Math.max(maxwin - Math.floor(maxwin / 2 ** TCP_APP_WIN), 4 * advmss);
  }
  if (c.windowClamp > 2 * advmss && c.windowClamp + advmss > maxwin) c.windowClamp = Math.max(2 * advmss, maxwin - advmss);
  c.rcvSsthresh = Math.min(c.rcvSsthresh, c.windowClamp);
  // TCP_INIT_CWND: tcp_init_buffer_space's first rcvq_space is at most ten segments.
  c.rcvqSpace = Math.min(c.rcvSsthresh, c.rcvWnd, INITIAL_CWND * advmss);
  c.rcvqSeq = copiedSeq(c);
  c.rcvqTime = c.now();
  initSendBuffer(c);
}

/** tcp_set_window_clamp for a new ratio: a smaller clamp pulls rcv_ssthresh down, a larger one lets it up to the current window. */
function setWindowClamp(c: Connection, val: number): void {
  const clamp = Math.max(SOCK_MIN_RCVBUF / 2, val);
  if (clamp === c.windowClamp) return;
  const old = c.windowClamp;
  c.windowClamp = clamp;
  if (clamp < old) c.rcvSsthresh = Math.min(c.rcvSsthresh, clamp);
  else c.rcvSsthresh = Math.max(Math.min(c.rcvWnd, clamp), c.rcvSsthresh);
}

/**
 * tcp_measure_rcv_mss's ratio: a segment at least rcv_mss long and of a new
 * length (`segLen`: its gso_size when a super-segment of `len` bytes) sets
 * scaling_ratio from its payload/truesize, and the clamp (and DRS's
 * estimate) follow the buffer's new window.
 */
export function measureScalingRatio(c: Connection, len: number, segLen: number, rcvMss: number): void {
  if (segLen < rcvMss || segLen === rcvMss) return;
  const ratio = Math.floor((len * RATIO_ONE) / receivedSkb(c, len).truesize) || 1;
  if (ratio === c.scalingRatio) return;
  c.scalingRatio = ratio;
  setWindowClamp(c, tcpFullSpace(c));
  if (c.windowClamp < c.rcvqSpace) c.rcvqSpace = c.windowClamp;
}

/**
 * tcp_grow_window (from tcp_event_data_recv, segments of 128 bytes or more):
 * rcv_ssthresh, the ceiling of the window we offer, grows by two segments
 * per segment received while the buffer has room, if a segment of this
 * payload/truesize would fill the window without exhausting the buffer
 * (__tcp_grow_window checks smaller segments against tcp_rmem[2]).
 */
export function growWindow(c: Connection, len: number, truesize: number): void {
  const room = Math.min(c.windowClamp, tcpSpace(c)) - c.rcvSsthresh;
  if (room <= 0) return;
  let incr: number;
  if (winFromSpace(c, truesize) <= len) incr = 2 * c.tpAdvMss();
  else {
    incr = 0;
    let t = winFromSpace(c, truesize) >> 1;
    let window = winFromSpace(c, c.ctx.sysctl.tcp_rmem[2]) >> 1;
    while (c.rcvSsthresh <= window) {
      if (t <= len) {
        incr = 2 * c.rcvMss;
        break;
      }
      t >>= 1;
      window >>= 1;
    }
  }
  if (incr > 0) {
    incr = Math.max(incr, 2 * len);
    c.rcvSsthresh += Math.min(room, incr);
    c.quickAcks |= 1;
  }
}

/** The first byte the application has not read (tp->copied_seq). */
export function copiedSeq(c: Connection): number {
  return seqAdd(c.rcvNxt, -c.recvQueue.length - (c.finReceived ? 1 : 0));
}

/**
 * Charges an in-order segment to the receive memory (tcp_queue_rcv): copied
 * into the tail room of the last queued segment when it fits, or added to
 * it as page fragments while it has slots (tcp_try_coalesce), else a
 * segment of its own. Returns its truesize, what tcp_grow_window weighs.
 */
export function chargeInOrder(c: Connection, len: number): number {
  const skb = receivedSkb(c, len);
  const last = c.rcvSkbs[c.rcvSkbs.length - 1];
  const end = seqAdd(c.rcvNxt, len);
  if (last === undefined || !coalesce(c, last, end, len)) {
    if (c.rcvSkbs === NO_SKBS) c.rcvSkbs = [];
    c.rcvSkbs.push({ end, truesize: skb.truesize, tailroom: skb.tailroom, fragsLeft: skb.fragsLeft });
    c.rmemAlloc += skb.truesize;
  }
  return skb.truesize;
}

/** skb_try_coalesce of `len` bytes ending at `end` into `into`: true if taken (a copy costs nothing, fragments their length). */
function coalesce(c: Connection, into: RcvSkb, end: number, len: number): boolean {
  if (into.tailroom >= len) {
    into.tailroom -= len;
  } else if (into.fragsLeft > 0) {
    into.fragsLeft--;
    into.truesize += len;
    c.rmemAlloc += len;
  } else return false;
  into.end = end;
  return true;
}

/**
 * Charges an out-of-order segment of `len` bytes arriving as `skb`
 * (tcp_data_queue_ofo), freed when it is read; one that continues the last
 * one queued out of order may be coalesced into it (tcp_ooo_try_coalesce).
 */
export function chargeOutOfOrder(c: Connection, end: number, len: number, skb: ReceivedSkb): void {
  const last = c.oooSkbs[c.oooSkbs.length - 1];
  const contiguous = last !== undefined && last.end === seqAdd(end, -len);
  if (!contiguous || !coalesce(c, last, end, len)) {
    if (c.oooSkbs === NO_SKBS) c.oooSkbs = [];
    c.oooSkbs.push({ end, truesize: skb.truesize, tailroom: 0, fragsLeft: skb.fragsLeft });
    c.rmemAlloc += skb.truesize;
  }
}

/** tcp_ofo_queue: out-of-order segments now below RCV.NXT join the receive queue with their memory. */
export function moveInOrder(c: Connection): void {
  const keep = [];
  for (const s of c.oooSkbs) {
    if (seqLe(s.end, c.rcvNxt)) {
      if (c.rcvSkbs === NO_SKBS) c.rcvSkbs = [];
      c.rcvSkbs.push(s);
    } else keep.push(s);
  }
  if (c.rcvSkbs !== NO_SKBS) c.rcvSkbs.sort((a, b) => seqDiff(a.end, b.end));
  c.oooSkbs = keep.length > 0 ? keep : NO_SKBS;
}

/** Frees the memory of segments the application has read in full (skb freed by tcp_recvmsg). */
export function releaseRead(c: Connection): void {
  const copied = copiedSeq(c);
  let n = 0;
  while (n < c.rcvSkbs.length && seqLe(c.rcvSkbs[n]!.end, copied)) {
    c.rmemAlloc -= c.rcvSkbs[n]!.truesize;
    n++;
  }
  if (n > 0) {
    if (n === c.rcvSkbs.length) c.rcvSkbs = NO_SKBS;
    else c.rcvSkbs.splice(0, n);
  }
}

/** Every queued byte dropped (close, abort): no receive memory left. */
export function releaseAll(c: Connection): void {
  c.rcvSkbs = NO_SKBS;
  c.oooSkbs = NO_SKBS;
  c.rmemAlloc = 0;
}

/**
 * tcp_rcv_rtt_update: the receiver's RTT estimate (rcv_rtt_est.rtt_us, ×8),
 * the time DRS measures over. A smaller sample is taken at once; a larger one
 * only from timestamps (win_dep false) and with nothing left unread.
 */
function rcvRttUpdate(c: Connection, sampleUs: number, winDep: boolean): void {
  const m = sampleUs * 8;
  const old = c.rcvRttUs8;
  if (old === 0 || m < old) {
    c.rcvRttUs8 = m;
    return;
  }
  if (winDep) return;
  if (c.recvQueue.length > 0) return;
  c.rcvRttUs8 = old - (old >> 3) + sampleUs;
}

/** tcp_rcv_rtt_measure: without timestamps, the time to receive one window's worth of data. */
export function rcvRttMeasure(c: Connection): void {
  const now = c.now();
  if (c.rcvRttTime !== undefined) {
    if (seqDiff(c.rcvNxt, c.rcvRttSeq) < 0) return;
    rcvRttUpdate(c, Math.max(1, Math.round((now - c.rcvRttTime) * 1000)), true);
  }
  c.rcvRttSeq = seqAdd(c.rcvNxt, c.rcvWnd);
  c.rcvRttTime = now;
}

/**
 * tcp_rcv_rtt_measure_ts: a segment of at least rcv_mss with a new TSecr
 * gives a sample of now − TSecr, in whole milliseconds (our TS clock); 0 ms
 * gives none.
 */
export function rcvRttMeasureTs(c: Connection, len: number, tsEcr: number): void {
  if (tsEcr === c.rcvRttLastTsecr) return;
  c.rcvRttLastTsecr = tsEcr;
  if (len < rcvMss(c)) return;
  const delta = (c.tsVal() - tsEcr) | 0;
  if (delta > 0) rcvRttUpdate(c, delta * 1000, false);
}

/**
 * tcp_rcv_space_adjust, after each segment's worth the application reads
 * (tcp_recvmsg_locked): once per receiver RTT, if the application took more
 * than DRS's estimate (less what is still queued), the estimate grows to it
 * and the buffer with it (tcp_rcvbuf_grow).
 */
export function rcvSpaceAdjust(c: Connection): void {
  if (c.rcvRttUs8 === 0) return;
  const now = c.now();
  if ((now - c.rcvqTime) * 1000 < c.rcvRttUs8 >> 3) return;
  const copied = copiedSeq(c);
  const got = seqDiff(copied, c.rcvqSeq) - c.recvQueue.length;
  if (got > c.rcvqSpace) rcvbufGrow(c, got);
  c.rcvqSeq = copied;
  c.rcvqTime = now;
}

/**
 * tcp_rcvbuf_grow (6.18): DRS is one RTT late, so the buffer must hold twice
 * what was read, plus twice the growth again for a sender in slow start,
 * plus what waits out of order; at most tcp_rmem[2]. Nothing grows when
 * tcp_moderate_rcvbuf is 0 or SO_RCVBUF fixed the buffer. The clamp follows.
 */
export function rcvbufGrow(c: Connection, newval: number): void {
  const oldval = c.rcvqSpace;
  c.rcvqSpace = newval;
  if (c.ctx.sysctl.tcp_moderate_rcvbuf === 0 || c.rcvBufLocked) return;
  let rcvwin = newval * 2;
  rcvwin += 2 * Math.floor((rcvwin * (newval - oldval)) / oldval);
  const oooEnd = c.ooo.end;
  if (oooEnd !== undefined) rcvwin += seqDiff(oooEnd, c.rcvNxt);
  const rcvbuf = Math.min(spaceFromWin(c, rcvwin), c.ctx.sysctl.tcp_rmem[2]);
  if (rcvbuf > c.rcvBuf) {
    c.rcvBuf = rcvbuf;
    c.windowClamp = winFromSpace(c, rcvbuf);
  }
}

/**
 * __tcp_select_window: the window the free memory holds, at most
 * rcv_ssthresh, in whole scale units; 0 once less than a sixteenth of the
 * buffer or one segment is free while under half the full window is; without
 * window scaling a multiple of rcv_mss, kept if within one segment.
 */
export function rawSelectWindow(c: Connection): number {
  let mss = rcvMss(c);
  let freeSpace = tcpSpace(c);
  const allowedSpace = tcpFullSpace(c);
  const fullSpace = Math.min(c.windowClamp, allowedSpace);
  if (mss > fullSpace) {
    mss = fullSpace;
    if (mss <= 0) return 0;
  }
  const granularity = 1 << c.rcvWscale; // wscale ≤ 14 (RFC 7323 §2.3): exact, and no Math.pow per segment
  if (freeSpace < fullSpace >> 1) {
    c.quickAcks = 0;
    freeSpace = Math.floor(freeSpace / granularity) * granularity;
    if (freeSpace < allowedSpace >> 4 || freeSpace < mss) return 0;
  }
  if (freeSpace > c.rcvSsthresh) freeSpace = c.rcvSsthresh;
  if (c.rcvWscale > 0) return Math.ceil(freeSpace / granularity) * granularity;
  let window = c.rcvWnd;
  if (window <= freeSpace - mss || window > freeSpace) window = Math.floor(freeSpace / mss) * mss;
  else if (mss === fullSpace && freeSpace > window + (fullSpace >> 1)) window = freeSpace;
  return window;
}
