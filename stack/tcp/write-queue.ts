/**
 * The unsent part of Linux's write queue, as the skbs the kernel cuts it
 * into, and the sizes that decide where its segments carry PSH (Linux 6.18):
 *
 * - tcp_sendmsg_locked fills skbs up to the size goal (tcp_xmit_size_goal:
 *   the GSO maximum less headers, at most half the largest window the peer
 *   offered, in whole MSSes). When a write fills one and has more to copy it
 *   pushes: the whole queue if more than half that window was written since
 *   the last PSH mark (forced_push, tcp_mark_push), else the head skb alone
 *   (tcp_push_one). At the end of the write tcp_push marks the tail skb PSH;
 *   a later write appending to that skb clears the mark first.
 * - tcp_write_xmit hands each head skb down as one packet of at most
 *   min(cwnd room, cwnd / 2, tcp_tso_segs) segments (tcp_cwnd_test keeps
 *   two packets in flight): it first grows the skb from the
 *   next one (tcp_grow_skb, which takes that skb's flags when it eats it
 *   whole), then cuts it (tso_fragment: the part sent loses PSH, the rest
 *   keeps it).
 * - __tcp_transmit_skb sets PSH on every packet of more than one segment;
 *   GSO (tcp_gso_segment) leaves the packet's PSH on its last segment only.
 *
 * tcp_tso_segs follows the pacing rate (tcp_update_pacing_rate: 200 % of
 * cwnd·MSS/SRTT in slow start, 120 % after), which is set whether or not a
 * pacing qdisc is used: about 1 ms of it per packet, at least 2 segments.
 * Without an RTT sample the rate is not divided by SRTT: packets are then
 * limited by cwnd / 2 and the GSO size only.
 *
 * This module holds the queue itself; the sizes and marks that need the
 * connection are in send-sizing.ts.
 */

/**
 * One skb not yet sent: its payload bytes, its own PSH mark (tcp_mark_push),
 * and whether it ends a record written with MSG_EOR (TCP_SKB_CB(skb)->eor:
 * no later bytes are added to it, tcp_skb_can_collapse_to).
 */
export interface UnsentSkb {
  len: number;
  psh: boolean;
  eor: boolean;
  /** The frags of user pages a MSG_ZEROCOPY write gave it (zerocopy-frags.ts); 0 for an skb of copied bytes. */
  zerocopyFrags: number;
}

/** sk_gso_max_size: GSO_LEGACY_MAX_SIZE less MAX_TCP_HEADER + 1 (sk_setup_caps). */
export const GSO_MAX_SIZE = 65536 - (320 + 1);

/** The list of an empty queue, shared by all of them (frozen: never pushed to). */
const NO_UNSENT: UnsentSkb[] = Object.freeze([]) as unknown as UnsentSkb[];

export class WriteQueue {
  private skbs: UnsentSkb[] = NO_UNSENT;
  /** tp->pushed_seq: write_seq at the last PSH mark. */
  pushedSeq = 0;
  /** sk_pacing_rate in bytes per second; ~0UL until tcp_update_pacing_rate first runs. */
  pacingRate = Number.POSITIVE_INFINITY;

  head(): UnsentSkb | undefined {
    return this.skbs[0];
  }

  tail(): UnsentSkb | undefined {
    return this.skbs[this.skbs.length - 1];
  }

  isTail(skb: UnsentSkb): boolean {
    return this.tail() === skb;
  }

  /** The unsent skbs, head first (read only). */
  all(): readonly UnsentSkb[] {
    return this.skbs;
  }

  /** The unsent skbs (each charged a head in the send buffer: sndbuf.ts). */
  get count(): number {
    return this.skbs.length;
  }

  bytes(): number {
    let n = 0;
    for (const s of this.skbs) n += s.len;
    return n;
  }

  clear(): void {
    this.skbs = NO_UNSENT;
  }

  /** A new, empty skb at the tail (tcp_skb_entail). */
  entail(): UnsentSkb {
    const skb = { len: 0, psh: false, eor: false, zerocopyFrags: 0 };
    if (this.skbs === NO_UNSENT) this.skbs = [];
    this.skbs.push(skb);
    return skb;
  }

  /**
   * tcp_grow_skb: the head skb takes up to `amount` bytes from the one after
   * it, and that skb's flags and end of record when it empties it
   * (tcp_eat_one_skb); never when the head ends a record (tcp_skb_can_collapse),
   * nor when either holds zerocopy frags (skb_shift refuses them).
   */
  growHead(amount: number): void {
    const head = this.skbs[0];
    const next = this.skbs[1];
    if (!head || !next || amount <= 0 || head.eor || head.zerocopyFrags > 0 || next.zerocopyFrags > 0) return;
    const n = Math.min(amount, next.len);
    head.len += n;
    next.len -= n;
    if (next.len === 0) {
      head.psh ||= next.psh;
      head.eor = next.eor;
      this.skbs.splice(1, 1);
    }
  }

  /** `len` bytes of the head skb leave; the rest stays an skb with the head's PSH mark (tso_fragment). */
  consumeHead(len: number): void {
    const head = this.skbs[0];
    if (!head) return;
    head.len -= len;
    if (head.len <= 0) {
      this.skbs.shift();
      if (this.skbs.length === 0) this.skbs = NO_UNSENT;
    }
  }

  /** An skb of `len` bytes back at the head: a merged path MTU probe the device's queue dropped (tcp_mtu_probe leaves it queued). */
  requeueHead(len: number, psh: boolean): void {
    const skb = { len, psh, eor: false, zerocopyFrags: 0 };
    this.skbs = this.skbs === NO_UNSENT ? [skb] : [skb, ...this.skbs];
  }

  /** Keeps the skbs covering exactly the unsent bytes (defensive: every byte is queued by queueWrite). */
  reconcile(unsent: number): void {
    const have = this.bytes();
    if (have < unsent) {
      if (this.skbs === NO_UNSENT) this.skbs = [];
      this.skbs.push({ len: unsent - have, psh: true, eor: false, zerocopyFrags: 0 });
    }
    let extra = have - unsent;
    while (extra > 0 && this.skbs.length > 0) {
      const h = this.skbs[0]!;
      const n = Math.min(extra, h.len);
      h.len -= n;
      extra -= n;
      if (h.len === 0) this.skbs.shift();
    }
    if (this.skbs.length === 0) this.skbs = NO_UNSENT;
  }
}
