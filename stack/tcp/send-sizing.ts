/**
 * The sizes that cut new data into skbs and packets, and the PSH marks
 * (Linux 6.18; the model is described in write-queue.ts): the size goal and
 * forced pushes of tcp_sendmsg_locked, the pacing rate
 * (tcp_update_pacing_rate) and the segments per packet it allows
 * (tcp_tso_autosize).
 */
import { markUrgent } from './urgent.ts';
import { boundToHalfWindow } from './pmtu.ts';
import { CHRONO_BUSY, chronoStart } from './chrono.ts';
import type { Connection } from './connection.ts';
import { slowStartAfterIdleCheck } from './cwnd-limited.ts';
import { seqAdd, seqGt } from './seq.ts';
import { memoryFree } from './sndbuf.ts';
import { GSO_MAX_SIZE, type UnsentSkb } from './write-queue.ts';
import { TCP_NAGLE_PUSH } from './nagle.ts';
import { FragCursor } from './zerocopy-frags.ts';

/** sysctl_tcp_min_tso_segs, sk_pacing_shift, sysctl_tcp_tso_rtt_log, tcp_pacing_{ss,ca}_ratio defaults. */
const MIN_TSO_SEGS = 2;
const PACING_SHIFT = 10;
const TSO_RTT_LOG = 9;
const PACING_SS_RATIO = 200;
const PACING_CA_RATIO = 120;

/** tcp_xmit_size_goal: how much tcp_sendmsg_locked puts in one skb. */
export function sizeGoal(c: Connection, mssNow: number): number {
  const goal = Math.floor(boundToHalfWindow(c.maxSndWnd, GSO_MAX_SIZE, c.tcpHeaderLen()) / mssNow) * mssNow;
  return Math.max(goal, mssNow);
}

/** forced_push: more than half the largest window written since the last PSH mark. */
function forcedPush(c: Connection, writeSeq: number): boolean {
  return seqGt(writeSeq, seqAdd(c.writeQueue.pushedSeq, c.maxSndWnd >> 1));
}

/** tcp_mark_push. */
function markPush(c: Connection, skb: UnsentSkb, writeSeq: number): void {
  skb.psh = true;
  c.writeQueue.pushedSeq = writeSeq;
}

export interface WritePushes {
  /** Appends `len` bytes of the write, from `offset`, to the send buffer. */
  append(offset: number, len: number): void;
  /** tcp_push_one: the head skb, Nagle off. */
  pushOne(): void;
  /** __tcp_push_pending_frames with TCP_NAGLE_PUSH. */
  pushAll(): void;
}

/**
 * tcp_sendmsg_locked's copy loop for a write of up to `n` bytes: skbs of the
 * size goal, pushes when one fills with more to come, and tcp_push's PSH
 * mark on the tail at the end (the final push itself is the caller's).
 * A new skb is allocated only while the send buffer has room
 * (sk_stream_memory_free, sndbuf.ts): the tail skb is filled first, so a
 * write may take more than the room. When the room runs out mid-write
 * (wait_for_space) what was copied is pushed at once, Nagle aside
 * (tcp_push with TCP_NAGLE_PUSH), and the writer is marked as waiting
 * (SOCK_NOSPACE). `writeSeq` is the sequence number of the first byte
 * (write_seq). `flags`: MSG_MORE leaves the tail without its PSH mark
 * unless a push is forced (the push itself is corked by the caller);
 * MSG_EOR ends the record with the write's last skb, and an skb that ends
 * one takes no more bytes (tcp_skb_can_collapse_to). Returns the bytes taken.
 */
export function queueWrite(c: Connection, n: number, mssNow: number, writeSeq: number, pushes: WritePushes, flags: SendFlags = NO_FLAGS): number {
  const q = c.writeQueue;
  // tcp_send_mss: a MSG_OOB write is cut at the MSS (no large skbs: tcp_xmit_size_goal's large_allowed is off).
  const goal = flags.oob === true ? mssNow : sizeGoal(c, mssNow);
  let left = n;
  let copied = 0;
  let seq = writeSeq;
  const zc = flags.zerocopy === true ? new FragCursor(flags.pieces ?? [n]) : undefined;
  while (left > 0) {
    let skb = q.tail();
    let copy = skb ? goal - skb.len : 0;
    const noFrag = zc !== undefined && skb !== undefined && copy > 0 && !skb.eor && !zc.fits(skb);
    // skb_zerocopy_iter_stream's -EMSGSIZE: tcp_mark_push, then a new skb.
    if (noFrag) markPush(c, skb!, seq);
    if (!skb || copy <= 0 || skb.eor || noFrag) {
      if (!memoryFree(c)) break;
      // tcp_skb_entail: a new skb ends a pending TCP_NAGLE_PUSH.
      c.nonagle &= ~TCP_NAGLE_PUSH;
      slowStartAfterIdleCheck(c);
      skb = q.entail();
      // tcp_add_write_queue_tail: the first unsent skb starts the busy chronograph.
      if (q.count === 1) chronoStart(c, CHRONO_BUSY);
      copy = goal;
    }
    copy = Math.min(copy, left);
    if (zc !== undefined) copy = zc.take(skb, copy);
    // "if (!copied) TCP_SKB_CB(skb)->tcp_flags &= ~TCPHDR_PSH": this write continues the skb.
    if (copied === 0) skb.psh = false;
    pushes.append(copied, copy);
    skb.len += copy;
    seq = seqAdd(seq, copy);
    left -= copy;
    copied += copy;
    if (left === 0 && flags.eor) skb.eor = true;
    // A MSG_OOB write is not pushed in the middle: its end carries the urgent mark.
    if (left === 0 || skb.len < goal || flags.oob === true) continue;
    if (forcedPush(c, seq)) {
      markPush(c, skb, seq);
      pushes.pushAll();
    } else if (skb === q.head()) {
      pushes.pushOne();
    }
  }
  const tail = q.tail();
  if (left > 0) {
    // wait_for_space: tcp_push without MSG_MORE, Nagle aside.
    c.sndNoSpace = true;
    if (tail && copied > 0) markPush(c, tail, seq);
    if (tail && copied > 0 && flags.oob === true) markUrgent(c, seq); // tcp_push → tcp_mark_urg
    if (copied > 0) pushes.pushAll();
    return copied;
  }
  // tcp_push: the tail skb, if any is still unsent, is marked PSH, unless
  // MSG_MORE said more is coming and no push is forced.
  if (tail && copied > 0 && (!flags.more || forcedPush(c, seq))) markPush(c, tail, seq);
  // tcp_push → tcp_mark_urg: SND.UP is the end of a MSG_OOB write (urgent.ts).
  if (tail && copied > 0 && flags.oob === true) markUrgent(c, seq);
  return copied;
}

/** The send(2) flags tcp_sendmsg_locked acts on. */
export interface SendFlags {
  /** MSG_MORE: the write's push is corked (TCP_NAGLE_CORK) and its tail not marked PSH. */
  more?: boolean;
  /** MSG_EOR: the last byte ends a record; later writes start a new skb. */
  eor?: boolean;
  /** MSG_ZEROCOPY: with SO_ZEROCOPY on, the write gets a completion on the error queue (errqueue.ts). */
  zerocopy?: boolean;
  /** The rest of a blocking write that waited for room: the same call, so the same zerocopy id and one timestamp key at its end. */
  continued?: boolean;
  /** With `zerocopy` taking effect: the lengths of the write's buffers (the iovec), each its own frags (zerocopy-frags.ts); else one buffer. */
  pieces?: readonly number[];
  /** MSG_OOB: the write's last byte is urgent (SND.UP after it: urgent.ts); skbs of one MSS. */
  oob?: boolean;
}

const NO_FLAGS: SendFlags = Object.freeze({});

/** tcp_update_pacing_rate (for congestion controls without cong_control, as CUBIC and Reno). */
export function updatePacingRate(c: Connection): void {
  const srttUs = Math.round(c.rtt.srtt * 1000);
  const ratio = c.cc.cwnd < c.cc.ssthresh / 2 ? PACING_SS_RATIO : PACING_CA_RATIO;
  // mss_cache · (USEC_PER_SEC / 100 << 3) · ratio · max(cwnd, packets_out) / srtt_us (which is << 3)
  let rate = c.mss * 10_000 * ratio * Math.max(c.cc.cwnd, c.rtx.length);
  if (srttUs > 0) rate = Math.floor(rate / srttUs);
  c.writeQueue.pacingRate = rate;
}

/** tcp_tso_segs → tcp_tso_autosize: segments per packet tcp_write_xmit may hand down. */
export function tsoSegs(c: Connection, mssNow: number): number {
  let bytes = c.writeQueue.pacingRate === Number.POSITIVE_INFINITY ? GSO_MAX_SIZE : Math.floor(c.writeQueue.pacingRate / 2 ** PACING_SHIFT);
  // A short minimum RTT adds up to a full GSO packet (sysctl_tcp_tso_rtt_log).
  const minRttUs = c.rtt.minRtt === undefined ? 0xffffffff : Math.round(c.rtt.minRtt * 1000);
  const r = Math.floor(minRttUs / 2 ** TSO_RTT_LOG);
  if (r < 32) bytes += Math.floor(GSO_MAX_SIZE / 2 ** r);
  bytes = Math.min(bytes, GSO_MAX_SIZE);
  return Math.max(Math.floor(bytes / mssNow), MIN_TSO_SEGS);
}
