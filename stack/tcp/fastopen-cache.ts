/**
 * The state of Fast Open's client side that outlives connections (RFC 7413
 * §4.1.3): the per-destination cache tcp_metrics.c keeps for it, and the
 * namespace-wide blackhole pause (net->ipv4.tfo_active_disable_times,
 * tfo_active_disable_stamp); and the shapes of a cookie and of a pending
 * Fast Open request. What uses them is fastopen-client.ts.
 */

/**
 * A cookie as struct tcp_fastopen_cookie holds it: `len` −1 for none (no
 * Fast Open option), 0 for a request (the empty option), else the cookie's
 * bytes; `exp` the experimental form (kind 254, magic 0xF989).
 */
export interface FastOpenCookie {
  len: number;
  val: Uint8Array;
  exp: boolean;
}

/**
 * tp->fastopen_req: made by sendmsg(MSG_FASTOPEN) (tcp_sendmsg_fastopen) or
 * by a TCP_FASTOPEN_CONNECT connect() that found no cookie; the cookie the
 * SYN carries (−1 once sent: "exclude Fast Open option for SYN retries"),
 * the bytes offered for the SYN and how many of them it took.
 */
export interface FastOpenRequest {
  cookie: FastOpenCookie;
  /** The bytes offered (fo->data, fo->size); undefined once all went into the SYN. */
  data: Uint8Array | undefined;
  size: number;
  copied: number;
  /** The caller's buffer cannot be read (a bad pointer: copy_page_from_iter copies nothing). */
  unreadable?: boolean;
}

/** struct tcp_fastopen_metrics: what tcp_metrics keeps per destination for Fast Open. */
export interface FastOpenMetrics {
  mss: number;
  cookie: FastOpenCookie;
  /** 1: try the experimental option next time; 2: it did not help either, back to RFC 7413's. */
  tryExp: number;
  /** SYN-data losses in a row and when the last was seen (TCP_METRICS_ATTR_FOPEN_SYN_DROPS, _TS). */
  synLoss: number;
  lastSynLoss: number;
}

/** Destinations kept at most: tcp_metrics' 2^13 buckets (tcpmhash_entries on a small machine) of 5. */
const MAX_METRICS = 5 << 13;

/**
 * The namespace's Fast Open client state: the per-destination cache (struct
 * tcp_metrics_block's tcpm_fastopen) and the blackhole detection's
 * tfo_active_disable_times and tfo_active_disable_stamp.
 */
export class FastOpenClientState {
  private readonly metrics = new Map<number | string, FastOpenMetrics>();
  disableTimes = 0;
  disableStamp = 0;

  /** `ip tcp_metrics flush`: every destination forgotten (tcp_metrics_flush_all). */
  flush(): void {
    this.metrics.clear();
  }

  get size(): number {
    return this.metrics.size;
  }

  /** The cache entry of a destination, made on demand (tcp_get_metrics with create). */
  entry(key: number | string, create: boolean): FastOpenMetrics | undefined {
    let m = this.metrics.get(key);
    if (m === undefined && create) {
      // tcp_metrics' table is bounded (TCP_METRICS_RECLAIM_DEPTH entries a
      // bucket, the oldest reclaimed): so is this one.
      if (this.metrics.size >= MAX_METRICS) this.metrics.delete(this.metrics.keys().next().value!);
      // tcpm_suck_dst with fastopen_clear: no MSS, an empty cookie.
      m = { mss: 0, cookie: { len: 0, val: new Uint8Array(0), exp: false }, tryExp: 0, synLoss: 0, lastSynLoss: 0 };
      this.metrics.set(key, m);
    }
    return m;
  }
}

