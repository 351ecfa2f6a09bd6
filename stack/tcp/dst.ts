/**
 * A connection's cached route (sk_dst_cache) and what TCP reads of its
 * metrics (stack/ip/route-metrics.ts). Linux looks the route up at
 * connect() (or, for a child, at the third ACK) and keeps the dst; a route
 * change makes every cached dst obsolete (rt_cache_flush), but TCP only
 * finds out when it next transmits: ip_queue_xmit's __sk_dst_check (and
 * inet_sk_rebuild_header in tcp_init_transfer, inet_csk_update_pmtu after
 * an ICMP error) looks the route up again. Until then tcp_current_mss
 * reads the old dst's MTU through __sk_dst_get, so a route changed
 * mid-connection moves the MSS only from the segment after the next one
 * sent.
 */
import type { RouteMetrics } from '../ip/route-metrics.ts';
import { routeRtoMin } from './rtt.ts';
import { INITIAL_CWND } from './congestion/newreno.ts';
import type { Connection } from './connection.ts';

/** __sk_dst_check: an obsolete dst is looked up again; returns the connection's dst. */
export function checkDst(c: Connection): RouteMetrics {
  const route = c.ctx.route;
  if (c.dstGeneration !== route.generation) {
    c.dst = route.metrics(c.remote);
    c.dstGeneration = route.generation;
    // tcp_rto_min reads the cached dst: the RTT estimator's floor and the tail loss probe's timeout follow it.
    c.rtt.rtoMin = routeRtoMin(c.dst, c.rtoMinSock);
  }
  return c.dst;
}

/** tcp_init_cwnd: the route's initcwnd (RTAX_INITCWND), else TCP_INIT_CWND. */
export function initCwnd(c: Connection): number {
  return c.dst.initCwnd || INITIAL_CWND;
}
