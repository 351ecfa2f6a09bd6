/**
 * A TCP socket's error queue (sk_error_queue) and what fills it for a
 * sender: MSG_ZEROCOPY completions (msg_zerocopy_realloc,
 * __msg_zerocopy_callback in net/core/skbuff.c) and SO_TIMESTAMPING's
 * transmit timestamps (tcp_tx_timestamp in net/ipv4/tcp.c, __skb_tstamp_tx,
 * tcp_ack_tstamp). Linux ties both to skbs; here they are tied to the
 * sequence numbers of the bytes those skbs held, which is what decides when
 * they fire: a zerocopy range completes when every byte of it is
 * acknowledged (its skbs freed), a timestamp key is the last byte of a
 * write and is stamped when a segment carrying it is sent (SCHED, SND) and
 * when it is acknowledged (ACK).
 */
import { seqAdd, seqDiff, seqGe, seqLe, seqLt } from './seq.ts';

/** include/uapi/linux/errqueue.h: ee_origin values and the zerocopy code. */
export const SO_EE_ORIGIN_TIMESTAMPING = 4;
export const SO_EE_ORIGIN_ZEROCOPY = 5;
export const SO_EE_CODE_ZEROCOPY_COPIED = 1;
/** include/uapi/linux/errqueue.h: ee_info of a timestamp. */
export const SCM_TSTAMP_SND = 0;
export const SCM_TSTAMP_SCHED = 1;
export const SCM_TSTAMP_ACK = 2;
/** include/uapi/asm-generic/errno.h: the ee_errno of every timestamp (__skb_complete_tx_timestamp). */
export const ENOMSG = 42;

/** include/uapi/linux/net_tstamp.h: the SOF_TIMESTAMPING_* flags. */
export const SOF_TIMESTAMPING_TX_HARDWARE = 1 << 0;
export const SOF_TIMESTAMPING_TX_SOFTWARE = 1 << 1;
export const SOF_TIMESTAMPING_RX_HARDWARE = 1 << 2;
export const SOF_TIMESTAMPING_RX_SOFTWARE = 1 << 3;
export const SOF_TIMESTAMPING_SOFTWARE = 1 << 4;
export const SOF_TIMESTAMPING_OPT_ID = 1 << 7;
export const SOF_TIMESTAMPING_TX_SCHED = 1 << 8;
export const SOF_TIMESTAMPING_TX_ACK = 1 << 9;
export const SOF_TIMESTAMPING_OPT_TSONLY = 1 << 11;
export const SOF_TIMESTAMPING_OPT_STATS = 1 << 12;
export const SOF_TIMESTAMPING_BIND_PHC = 1 << 15;
export const SOF_TIMESTAMPING_OPT_ID_TCP = 1 << 16;
/** SOF_TIMESTAMPING_LAST is SOF_TIMESTAMPING_TX_COMPLETION (1 << 18; Linux 6.18 takes it, and EINVAL above): every flag up to it. */
export const SOF_TIMESTAMPING_MASK = (1 << 19) - 1;
/** SOF_TIMESTAMPING_TX_RECORD_MASK: the flags that make tcp_tx_timestamp mark a write. */
const TX_RECORD_MASK = SOF_TIMESTAMPING_TX_HARDWARE | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_ACK;

/** struct sock_extended_err without the offender address. */
export interface ExtendedError {
  errno: number;
  origin: number;
  type: number;
  code: number;
  info: number;
  data: number;
}

/** One message of the error queue: what recvmsg(MSG_ERRQUEUE) returns. */
export interface ErrorQueueMessage {
  ee: ExtendedError;
  /** A timestamp's time (the stack's clock, ms): SCM_TIMESTAMPING's software stamp; undefined for a zerocopy completion. */
  timestamp: number | undefined;
  /**
   * Bytes of packet the message carries (the clone of the stamped skb, or
   * none with SOF_TIMESTAMPING_OPT_TSONLY and for a zerocopy completion):
   * a shorter buffer gets MSG_TRUNC.
   */
  payload: number;
}

/** A MSG_ZEROCOPY notification range not yet completed (struct ubuf_info_msgzc): ids lo..hi, bytes up to `end`. */
interface ZerocopyRange {
  lo: number;
  hi: number;
  end: number;
}

/** A write's timestamp key (skb_shinfo(skb)->tskey) and the timestamps it asked for. */
interface TimestampKey {
  key: number;
  flags: number;
}

/** How a write went, as tcp_sendmsg_locked's end sees it (ErrorQueue.onWrite). */
export interface WriteNotice {
  /** MSG_ZEROCOPY with SO_ZEROCOPY on. */
  zerocopy: boolean;
  /** The rest of a call that waited for room: its id and its key are the call's. */
  continued: boolean;
  /** Bytes written before this one were still unsent: the write queue had a tail. */
  tailUnsent: boolean;
  /** Bytes of this write are still unsent: its tail skb is still in the write queue. */
  unsentAfter: boolean;
}

/** What the sender's side of a socket needs to fill its error queue; the socket makes one when first needed. */
export class ErrorQueue {
  private readonly messages: ErrorQueueMessage[] = [];
  /** sk_error_report calls so far: each is a wakeup for EPOLLERR (sock_def_error_report). */
  reports = 0;
  /** sk_zckey: the next zerocopy notification id. */
  private zckey = 0;
  private readonly zerocopy: ZerocopyRange[] = [];
  /** sk_tsflags and sk_tskey (SO_TIMESTAMPING). */
  tsflags = 0;
  private tskey = 0;
  private readonly keys: TimestampKey[] = [];

  get length(): number {
    return this.messages.length;
  }

  /** sock_dequeue_err_skb: the oldest message, or undefined (EAGAIN). */
  shift(): ErrorQueueMessage | undefined {
    return this.messages.shift();
  }

  /** sock_queue_err_skb, then sk_error_report. */
  private queue(m: ErrorQueueMessage): void {
    this.messages.push(m);
    this.reports++;
  }

  /**
   * sock_set_timestamping: EINVAL for an unknown flag, OPT_ID_TCP without
   * OPT_ID, OPT_STATS without OPT_TSONLY, or OPT_ID first set on a socket
   * in state CLOSE or LISTEN; OPT_ID first set takes the id base from
   * write_seq (OPT_ID_TCP) or snd_una. `seqs` is undefined in CLOSE/LISTEN.
   */
  setTimestamping(flags: number, seqs: { writeSeq: number; sndUna: number } | undefined): 'EINVAL' | undefined {
    if (flags & ~SOF_TIMESTAMPING_MASK) return 'EINVAL';
    if (flags & SOF_TIMESTAMPING_OPT_ID_TCP && !(flags & SOF_TIMESTAMPING_OPT_ID)) return 'EINVAL';
    if (flags & SOF_TIMESTAMPING_OPT_ID && !(this.tsflags & SOF_TIMESTAMPING_OPT_ID)) {
      if (seqs === undefined) return 'EINVAL';
      this.tskey = flags & SOF_TIMESTAMPING_OPT_ID_TCP ? seqs.writeSeq : seqs.sndUna;
    }
    if (flags & SOF_TIMESTAMPING_OPT_STATS && !(flags & SOF_TIMESTAMPING_OPT_TSONLY)) return 'EINVAL';
    this.tsflags = flags >>> 0;
    return undefined;
  }

  /**
   * tcp_sendmsg_locked took `len` bytes from `start` (len > 0). MSG_ZEROCOPY
   * with SO_ZEROCOPY on gives the write a notification id:
   * msg_zerocopy_realloc extends the range of the write queue's tail when
   * the tail is the newest range's; else a new range. Then
   * tcp_tx_timestamp marks the last byte when the write is still in the
   * write queue (tcp_write_queue_tail: no key when all of it left already).
   */
  onWrite(start: number, len: number, w: WriteNotice): void {
    const end = seqAdd(start, len);
    const last = this.zerocopy[this.zerocopy.length - 1];
    const newest = last !== undefined && last.end === start && ((last.hi + 1) | 0) === this.zckey;
    if (w.zerocopy && w.continued && newest) {
      last.end = end;
    } else if (w.zerocopy) {
      if (newest && w.tailUnsent) {
        last.hi = this.zckey;
        last.end = end;
      } else {
        this.zerocopy.push({ lo: this.zckey, hi: this.zckey, end });
      }
      this.zckey = (this.zckey + 1) | 0;
    }
    if (!(this.tsflags & TX_RECORD_MASK)) return;
    // One key per call, at its end: a continued call's earlier key moves.
    const prev = this.keys[this.keys.length - 1];
    if (w.continued && prev !== undefined && prev.key === seqAdd(start, -1)) this.keys.pop();
    if (w.unsentAfter) this.keys.push({ key: seqAdd(end, -1), flags: this.tsflags });
  }

  /**
   * A segment of `len` payload bytes from `seq` left (dev_queue_xmit's
   * SCHED stamp, then the driver's SND stamp: skb_tx_timestamp) with a
   * key in it: each transmission of the key's skb stamps again, the tx
   * flags living in the skb's shared info.
   */
  onTransmit(seq: number, len: number, now: number): void {
    for (const k of this.keys) {
      if (seqLt(k.key, seq)) continue;
      if (seqGe(k.key, seqAdd(seq, len))) break;
      if (k.flags & SOF_TIMESTAMPING_TX_SCHED) this.stamp(k, SCM_TSTAMP_SCHED, now, len);
      if (k.flags & SOF_TIMESTAMPING_TX_SOFTWARE) this.stamp(k, SCM_TSTAMP_SND, now, len);
    }
  }

  /**
   * SND.UNA moved from `priorUna` to `sndUna` (tcp_clean_rtx_queue):
   * tcp_ack_tstamp for each key newly acknowledged, then the zerocopy
   * ranges whose bytes are all freed complete (__msg_zerocopy_callback).
   */
  onAcked(priorUna: number, sndUna: number, now: number): void {
    while (this.keys.length > 0 && seqLt(this.keys[0]!.key, sndUna)) {
      const k = this.keys.shift()!;
      if (seqGe(k.key, priorUna) && k.flags & SOF_TIMESTAMPING_TX_ACK) this.stamp(k, SCM_TSTAMP_ACK, now, 0);
    }
    while (this.zerocopy.length > 0 && seqLe(this.zerocopy[0]!.end, sndUna)) this.complete(this.zerocopy.shift()!);
  }

  /** The connection is gone (tcp_write_queue_purge frees every skb): every range completes, no key is stamped again. */
  purge(): void {
    this.keys.length = 0;
    while (this.zerocopy.length > 0) this.complete(this.zerocopy.shift()!);
  }

  /**
   * __msg_zerocopy_callback: ee_info..ee_data the ids; SO_EE_CODE_ZEROCOPY_COPIED
   * since the data was copied on its way out (this stack never hands pages to
   * a device). A range following the one at the queue's tail is folded into
   * it (skb_zerocopy_notify_extend); sk_error_report either way.
   */
  private complete(r: ZerocopyRange): void {
    const tail = this.messages[this.messages.length - 1];
    if (tail !== undefined && tail.ee.origin === SO_EE_ORIGIN_ZEROCOPY && ((tail.ee.data + 1) | 0) === r.lo) {
      tail.ee.data = r.hi;
      this.reports++;
      return;
    }
    this.queue({ ee: { errno: 0, origin: SO_EE_ORIGIN_ZEROCOPY, type: 0, code: SO_EE_CODE_ZEROCOPY_COPIED, info: r.lo, data: r.hi }, timestamp: undefined, payload: 0 });
  }

  /**
   * __skb_tstamp_tx and __skb_complete_tx_timestamp: ENOMSG from origin
   * TIMESTAMPING, ee_info the kind, ee_data the key less sk_tskey with
   * OPT_ID (else 0); the packet is cloned unless OPT_TSONLY.
   */
  private stamp(k: TimestampKey, kind: number, now: number, len: number): void {
    const flags = this.tsflags;
    const data = flags & SOF_TIMESTAMPING_OPT_ID ? seqDiff(k.key, this.tskey) >>> 0 : 0;
    const payload = flags & SOF_TIMESTAMPING_OPT_TSONLY ? 0 : Math.max(len, 1);
    this.queue({ ee: { errno: ENOMSG, origin: SO_EE_ORIGIN_TIMESTAMPING, type: 0, code: 0, info: kind, data }, timestamp: now, payload });
  }
}
