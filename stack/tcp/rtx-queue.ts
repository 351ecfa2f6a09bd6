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
}

export class RetransmitQueue {
  private records: TxRecord[] = [];
  private head = 0;
  sackedOut = 0;
  lostOut = 0;
  retransOut = 0;
  /** Records outstanding that were retransmitted at least once (Karn's rule, retrans_stamp). */
  everRetransmitted = 0;

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
    this.records.push(r);
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
      this.records.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
    if (r.sacked) this.sackedOut--;
    if (r.lost) this.lostOut--;
    if (r.retransOut) this.retransOut--;
    if (r.retrans > 0) this.everRetransmitted--;
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

  markRetransmitted(r: TxRecord): void {
    if (r.retrans === 0) this.everRetransmitted++;
    r.retrans++;
    if (!r.retransOut) {
      r.retransOut = true;
      this.retransOut++;
    }
  }

  /** A tail loss probe resent r: TCPCB_EVER_RETRANS only, not retransmitted data in flight. */
  markProbed(r: TxRecord): void {
    if (r.retrans === 0) this.everRetransmitted++;
    r.retrans++;
  }

  /** tcp_packets_in_flight: packets_out − (sacked_out + lost_out) + retrans_out. */
  inFlight(renoSacked: number): number {
    const n = this.length - this.sackedOut - this.lostOut + this.retransOut - renoSacked;
    return n > 0 ? n : 0;
  }

  clear(): void {
    this.records = [];
    this.head = 0;
    this.sackedOut = 0;
    this.lostOut = 0;
    this.retransOut = 0;
    this.everRetransmitted = 0;
  }

  *[Symbol.iterator](): IterableIterator<TxRecord> {
    for (let i = this.head; i < this.records.length; i++) yield this.records[i]!;
  }
}
