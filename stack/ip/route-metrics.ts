/**
 * The metrics a route carries (RTAX_* in include/uapi/linux/rtnetlink.h),
 * as `ip route {add,change,replace} PREFIX ... advmss N mtu [lock] N
 * initcwnd N initrwnd N rto_min T` sets them, and the table of routes that have some,
 * by longest prefix (fib_table_lookup). A route without metrics reads as
 * NO_METRICS: every value 0, "unset", so the defaults apply
 * (dst_metric_advmss → ipv4_default_advmss, ipv4_mtu → the device MTU,
 * tcp_init_cwnd → TCP_INIT_CWND).
 *
 * A route change replaces the route whole (fib_table_insert with
 * NLM_F_REPLACE builds a new fib_info from the request alone): metrics it
 * does not name are unset again. It bumps the table's generation, as
 * rt_cache_flush bumps rt_genid: every socket's cached dst is obsolete then,
 * and a socket sees the new metrics only when it looks the route up again
 * (__sk_dst_check at its next transmit, stack/tcp/dst.ts).
 */

export interface RouteMetrics {
  /** RTAX_ADVMSS: the MSS our SYN and SYN-ACK offer (dst_metric_advmss). */
  readonly advMss: number;
  /** RTAX_MTU: the path MTU (ipv4_mtu, ip6_mtu), over the device's. */
  readonly mtu: number;
  /** RTAX_MTU's lock bit (`mtu lock N`): no DF (ip_dont_fragment), learnt path MTUs ignored (__ip_rt_update_pmtu). */
  readonly mtuLocked: boolean;
  /** RTAX_INITCWND: the first congestion window, in segments (tcp_init_cwnd). */
  readonly initCwnd: number;
  /** RTAX_INITRWND: the first receive window, in segments (tcp_select_initial_window's init_rcv_wnd). */
  readonly initRwnd: number;
  /** RTAX_RTO_MIN, in ms, locked (ip route always locks it): the RTO's variance floor (tcp_rto_min). */
  readonly rtoMin: number;
}

export const NO_METRICS: RouteMetrics = Object.freeze({ advMss: 0, mtu: 0, mtuLocked: false, initCwnd: 0, initRwnd: 0, rtoMin: 0 });


interface Route {
  /** The prefix's bytes: 4 for IPv4, 16 for IPv6. */
  prefix: Uint8Array;
  length: number;
  metrics: RouteMetrics;
}

/** Whether the first `length` bits of `a` and `b` are the same. */
function prefixMatches(a: Uint8Array, b: Uint8Array, aOffset: number, length: number): boolean {
  const whole = length >> 3;
  for (let i = 0; i < whole; i++) if (a[aOffset + i] !== b[i]) return false;
  const rest = length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[aOffset + whole]! ^ b[whole]!) & mask) === 0;
}

export class RouteMetricsTable {
  private readonly routes: Route[] = [];
  /** rt_genid: bumped by every route change; a dst looked up before it is obsolete. */
  generation = 0;

  /** Routes with metrics set, for the other family's lookups too. */
  get size(): number {
    return this.routes.length;
  }

  /**
   * A route to `prefix`/`length` added or replaced with `metrics` (NO_METRICS: a route without any).
   * Returns whether a route to that prefix was there before.
   */
  set(prefix: Uint8Array, length: number, metrics: RouteMetrics): boolean {
    this.generation++;
    const i = this.routes.findIndex((r) => r.prefix.length === prefix.length && r.length === length && prefixMatches(r.prefix, prefix, 0, length));
    const route = { prefix: prefix.slice(), length, metrics: Object.freeze({ ...metrics }) };
    if (i >= 0) {
      this.routes[i] = route;
      return true;
    }
    this.routes.push(route);
    return false;
  }

  /** The metrics of the longest prefix holding the address at `offset` in `bytes` (4 bytes: IPv4, 16: IPv6). */
  lookup(bytes: Uint8Array, offset: number, family: 4 | 6): RouteMetrics {
    let best: Route | undefined;
    const size = family === 4 ? 4 : 16;
    for (const r of this.routes) {
      if (r.prefix.length !== size || (best !== undefined && r.length <= best.length)) continue;
      if (prefixMatches(bytes, r.prefix, offset, r.length)) best = r;
    }
    return best?.metrics ?? NO_METRICS;
  }

  /** Whether `prefix`/`length` holds the address at `offset` in `bytes` (of the prefix's family). */
  static covers(prefix: Uint8Array, length: number, bytes: Uint8Array, offset: number): boolean {
    return prefixMatches(bytes, prefix, offset, length);
  }
}
