/**
 * The retransmission queue: every segment sent and not yet fully
 * acknowledged, in sequence order, with Linux's scoreboard counters
 * (packets_out, sacked_out, lost_out, retrans_out) kept up to date at each
 * change so that "packets in flight" (RFC 6675's pipe) costs O(1) per
 * segment sent instead of a walk over the window.
 */
export interface TxRecord {
  seq: number;
  /** Payload bytes (SYN and FIN excluded). */
  len: number;
  syn: boolean;
  fin: boolean;
  /** PSH as first sent; retransmissions keep it (Linux keeps the skb's flags). */
  psh: boolean;
  /** When this copy was last sent, and when it was first sent (Karn, retrans_stamp). */
  sentAt: number;
  firstSentAt: number;
  /** Times retransmitted. */
  retrans: number;
  sacked: boolean;
  lost: boolean;
  /** Retransmitted since it was last marked lost, not yet acknowledged (retrans_out). */
  retransOut: boolean;
  /** Segments delivered when this copy was sent (tx.delivered, tcp_rate_skb_sent). */
  txDelivered: number;
  /** The last segment of its skb (a packet as sent, cut since by retransmissions): it carries the skb's head in the send buffer's charge (sndbuf.ts). */
  skbEnd: boolean;
}

/** The list of an empty queue, shared by all of them (frozen: never pushed to). */
const NO_RECORDS: TxRecord[] = Object.freeze([]) as unknown as TxRecord[];

export class RetransmitQueue {
  private records: TxRecord[] = NO_RECORDS;
  private head = 0;
  sackedOut = 0;
  lostOut = 0;
  retransOut = 0;
  /** Records outstanding that were retransmitted at least once (Karn's rule, retrans_stamp). */
  everRetransmitted = 0;
  /** The skbs the outstanding records form (records with skbEnd). */
  skbs = 0;
  /**
   * The longest record pushed since the queue was last empty: an upper
   * bound, so that a retransmission round can tell at a glance whether any
   * record may be longer than the MSS (output.ts, longSingleSkbs).
   */
  longest = 0;

  get length(): number {
    return this.records.length - this.head;
  }

  first(): TxRecord | undefined {
    return this.records[this.head];
  }

  at(i: number): TxRecord | undefined {
    return this.records[this.head + i];
  }

  push(r: TxRecord): void {
    if (this.records === NO_RECORDS) this.records = [];
    this.records.push(r);
    if (r.skbEnd) this.skbs++;
    if (r.len > this.longest) this.longest = r.len;
  }

  /** Removes the head (fully acknowledged) and its share of the counters. */
  shift(): TxRecord | undefined {
    const r = this.records[this.head];
    if (r === undefined) return undefined;
    this.records[this.head] = undefined as unknown as TxRecord;
    this.head++;
    if (this.head === this.records.length) {
      // Everything acknowledged: drop the emptied slots, so that an idle
      // connection does not keep an array the size of its last window.
      this.records = NO_RECORDS;
      this.head = 0;
      this.longest = 0;
    } else if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
    if (r.sacked) this.sackedOut--;
    if (r.lost) this.lostOut--;
    if (r.retransOut) this.retransOut--;
    if (r.retrans > 0) this.everRetransmitted--;
    // An skb is freed when its last byte is acknowledged (tcp_clean_rtx_queue); a partly acknowledged one keeps its head.
    if (r.skbEnd) this.skbs--;
    return r;
  }

  markSacked(r: TxRecord): void {
    if (r.sacked) return;
    r.sacked = true;
    this.sackedOut++;
    if (r.lost) {
      r.lost = false;
      this.lostOut--;
    }
    if (r.retransOut) {
      r.retransOut = false;
      this.retransOut--;
    }
  }

  markLost(r: TxRecord): void {
    if (!r.lost) {
      r.lost = true;
      this.lostOut++;
    }
    if (r.retransOut) {
      r.retransOut = false;
      this.retransOut--;
    }
  }

  /** tcp_undo_cwnd_reduction with unmark_loss: no record is presumed lost any more (lost_out = 0). */
  unmarkAllLost(): void {
    if (this.lostOut === 0) return;
    for (let i = this.head; i < this.records.length; i++) this.records[i]!.lost = false;
    this.lostOut = 0;
  }

  /**
   * r went again. Alone (the default), it becomes an skb of its own; as part
   * of a run resent as one super-segment, only the run's ends cut the skb
   * (`cutBefore` on its first record, `cutAfter` on its last).
   */
  markRetransmitted(r: TxRecord, cutBefore = true, cutAfter = true): void {
    this.isolate(r, cutBefore, cutAfter);
    if (r.retrans === 0) this.everRetransmitted++;
    r.retrans++;
    if (!r.retransOut) {
      r.retransOut = true;
      this.retransOut++;
    }
  }

  /** TCPCB_EVER_RETRANS alone: a retransmission that was attempted but not sent (the device's queue dropped it). */
  markEverRetransmitted(r: TxRecord): void {
    if (r.retrans === 0) this.everRetransmitted++;
    r.retrans++;
  }

  /**
   * tcp_fragment: r keeps its first `at` bytes; the rest becomes a record
   * right after it with the same marks (sacked, lost, retransmitted) and
   * times, and takes r's PSH and FIN.
   */
  split(r: TxRecord, at: number): TxRecord {
    const tail: TxRecord = { ...r, seq: (r.seq + at) >>> 0, len: r.len - at, syn: false };
    r.len = at;
    r.fin = false;
    r.psh = false;
    // Two skbs where there was one: r ends the first, the tail keeps r's end.
    r.skbEnd = true;
    this.skbs++;
    let i = this.head;
    while (i < this.records.length && this.records[i] !== r) i++;
    this.records.splice(i + 1, 0, tail);
    if (tail.sacked) this.sackedOut++;
    if (tail.lost) this.lostOut++;
    if (tail.retransOut) this.retransOut++;
    if (tail.retrans > 0) this.everRetransmitted++;
    return tail;
  }

  /**
   * tcp_set_skb_tso_segs on a retransmitted skb longer than the MSS: r as
   * segments of `mss` bytes of the same skb, the last keeping r's PSH, FIN
   * and end of skb; each keeps r's marks and times. Returns them in order.
   */
  cut(r: TxRecord, mss: number): TxRecord[] {
    const out = [r];
    let cur = r;
    let i = this.head;
    while (i < this.records.length && this.records[i] !== r) i++;
    while (cur.len > mss) {
      const tail: TxRecord = { ...cur, seq: (cur.seq + mss) >>> 0, len: cur.len - mss, syn: false };
      cur.len = mss;
      cur.fin = false;
      cur.psh = false;
      cur.skbEnd = false;
      this.records.splice(++i, 0, tail);
      if (tail.sacked) this.sackedOut++;
      if (tail.lost) this.lostOut++;
      if (tail.retransOut) this.retransOut++;
      if (tail.retrans > 0) this.everRetransmitted++;
      out.push(tail);
      cur = tail;
    }
    return out;
  }

  /** A tail loss probe resent r: TCPCB_EVER_RETRANS only, not retransmitted data in flight. */
  markProbed(r: TxRecord): void {
    this.isolate(r);
    if (r.retrans === 0) this.everRetransmitted++;
    r.retrans++;
  }

  /** tcp_packets_in_flight: packets_out − (sacked_out + lost_out) + retrans_out. */
  inFlight(renoSacked: number): number {
    const n = this.length - this.sackedOut - this.lostOut + this.retransOut - renoSacked;
    return n > 0 ? n : 0;
  }

  /**
   * A retransmission or loss probe sends r alone: __tcp_retransmit_skb and
   * tcp_send_loss_probe cut the skb it belonged to (tcp_fragment), so r
   * becomes an skb of its own.
   */
  private isolate(r: TxRecord, cutBefore = true, cutAfter = true): void {
    if (cutAfter && !r.skbEnd) {
      r.skbEnd = true;
      this.skbs++;
    }
    if (!cutBefore) return;
    let i = this.head;
    while (i < this.records.length && this.records[i] !== r) i++;
    const prev = i > this.head ? this.records[i - 1] : undefined;
    if (prev !== undefined && !prev.skbEnd) {
      prev.skbEnd = true;
      this.skbs++;
    }
  }

  clear(): void {
    this.records = NO_RECORDS;
    this.head = 0;
    this.skbs = 0;
    this.longest = 0;
    this.sackedOut = 0;
    this.lostOut = 0;
    this.retransOut = 0;
    this.everRetransmitted = 0;
  }

  *[Symbol.iterator](): IterableIterator<TxRecord> {
    for (let i = this.head; i < this.records.length; i++) yield this.records[i]!;
  }
}
