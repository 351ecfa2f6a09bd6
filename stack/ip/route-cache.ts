/**
 * The destination cache's path MTU (net/ipv4/route.c): Linux keeps a
 * learnt path MTU as a route exception per destination (struct
 * fib_nh_exception, made by update_or_create_fnhe from __ip_rt_update_pmtu)
 * that expires after net.ipv4.route.mtu_expires (600 s); ipv4_mtu reads it
 * until then, the device MTU after. There is one route here (the link), so
 * the exceptions hang off it by destination address, in virtual time.
 *
 * Bounded like Linux's: an exception table per nexthop holds at most
 * FNHE_HASH_SIZE chains of FNHE_RECLAIM_DEPTH entries, and a new one past
 * the depth replaces the oldest (fnhe_oldest); here the whole table is
 * bounded and the least recently updated exception is replaced.
 *
 * Routes may carry metrics (route-metrics.ts: `ip route ... advmss N mtu
 * [lock] N initcwnd N`): a metric MTU stands in for the device's, a locked
 * one keeps DF off and learnt MTUs out. Changing a route drops the
 * exceptions of the destinations it covers (they hung off the old route's
 * nexthop, which fib_table_insert replaces).
 */
import { IPV6_HANDLE_BASE, type AddressBook } from '../address.ts';
import type { Sysctls } from '../sysctl.ts';
import type { Ipv4Address } from '../wire/addr.ts';
import { NO_METRICS, RouteMetricsTable, type RouteMetrics } from './route-metrics.ts';

/** FNHE_HASH_SIZE (2048 chains) × FNHE_RECLAIM_DEPTH (5): at most this many exceptions. */
export const ROUTE_EXCEPTIONS_MAX = 2048 * 5;

interface Exception {
  mtu: number;
  /** fnhe_mtu_locked: learnt below min_pmtu, so the route stops setting DF (ip_mtu_locked). */
  locked: boolean;
  /** Clock ms after which ipv4_mtu ignores it (dst.expires). */
  expires: number;
}

export class RouteCache {
  /** By destination, in order of last update (Map keeps insertion order). */
  private readonly exceptions = new Map<Ipv4Address, Exception>();
  /** Routes with metrics, by prefix. */
  private readonly routes = new RouteMetricsTable();
  /** Scratch for an IPv4 destination's bytes (the table matches bytes). */
  private readonly v4 = new Uint8Array(4);

  constructor(
    private readonly sysctl: Sysctls,
    /** The device MTU (ipv4_mtu's fallback). */
    private readonly deviceMtu: () => number,
    /** Holds on the IPv6 destinations an exception keeps (stack/address.ts). */
    private readonly addresses?: AddressBook,
  ) {}

  get size(): number {
    return this.exceptions.size;
  }

  private live(destination: Ipv4Address, now: number): Exception | undefined {
    const e = this.exceptions.get(destination);
    if (e === undefined) return undefined;
    // ipv4_mtu: time_after_eq(jiffies, dst.expires) → the device MTU again.
    if (now >= e.expires) {
      this.forget(destination);
      return undefined;
    }
    return e;
  }

  /** rt_genid: bumped by every route change (a socket's cached dst is then obsolete). */
  get generation(): number {
    return this.routes.generation;
  }

  /** The metrics of the route to `destination` as a lookup finds it now (fib_lookup). */
  metrics(destination: number): RouteMetrics {
    if (this.routes.size === 0) return NO_METRICS;
    if (destination >= IPV6_HANDLE_BASE) {
      if (this.addresses === undefined) return NO_METRICS;
      return this.routes.lookup(this.addresses.store, this.addresses.offsetOf(destination), 6);
    }
    const b = this.v4;
    b[0] = destination >>> 24;
    b[1] = (destination >>> 16) & 0xff;
    b[2] = (destination >>> 8) & 0xff;
    b[3] = destination & 0xff;
    return this.routes.lookup(b, 0, 4);
  }

  /**
   * `ip route {add,change,replace} PREFIX ...`: the route to `prefix`
   * (4 or 16 bytes) / `length` now has `metrics` and no others; the learnt
   * path MTUs of the destinations it covers are forgotten.
   */
  setRoute(prefix: Uint8Array, length: number, metrics: RouteMetrics): void {
    this.routes.set(prefix, length, metrics);
    for (const destination of [...this.exceptions.keys()]) {
      const v6 = destination >= IPV6_HANDLE_BASE;
      if (v6 !== (prefix.length === 16)) continue;
      if (v6) {
        if (this.addresses !== undefined && RouteMetricsTable.covers(prefix, length, this.addresses.store, this.addresses.offsetOf(destination))) this.forget(destination);
        continue;
      }
      const b = this.v4;
      b[0] = destination >>> 24;
      b[1] = (destination >>> 16) & 0xff;
      b[2] = (destination >>> 8) & 0xff;
      b[3] = destination & 0xff;
      if (RouteMetricsTable.covers(prefix, length, b, 0)) this.forget(destination);
    }
  }

  /**
   * ipv4_mtu (ip6_mtu): the path MTU toward `destination`: a learnt
   * exception's until it expires, else the route's RTAX_MTU, else the
   * device's. `dst`: the route's metrics as the asking socket last looked
   * them up (its cached dst; by default the route's now).
   */
  mtu(destination: Ipv4Address, now: number, dst: RouteMetrics = this.metrics(destination)): number {
    return this.live(destination, now)?.mtu ?? (dst.mtu || this.deviceMtu());
  }

  /** ip_mtu_locked: whether the route to `destination` has its MTU locked (DF then off, ip_dont_fragment): learnt so, or `mtu lock`. */
  mtuLocked(destination: Ipv4Address, now: number): boolean {
    return this.live(destination, now)?.locked === true || this.metrics(destination).mtuLocked;
  }

  /**
   * dst_metric_advmss: the route's RTAX_ADVMSS; without one
   * ipv4_default_advmss: path MTU − 40, at least route.min_adv_mss (256);
   * over IPv6 ip6_default_advmss: − 60, at least
   * net.ipv6.route.min_adv_mss (1220). `dst` as for mtu().
   */
  advMss(destination: number, now: number, dst: RouteMetrics = this.metrics(destination)): number {
    if (dst.advMss !== 0) return dst.advMss;
    if (destination >= IPV6_HANDLE_BASE) return Math.max(this.mtu(destination, now, dst) - 60, this.sysctl.ip6_route_min_adv_mss);
    return Math.max(this.mtu(destination, now, dst) - 40, MIN_ADV_MSS);
  }

  /**
   * __ip_rt_update_pmtu: a "fragmentation needed" with next-hop MTU `mtu`
   * (RFC 1191). Nothing on a route whose MTU metric is locked (ip_mtu_locked;
   * IPv6: dst_metric_locked in __ip6_rt_update_pmtu). Never raises the path MTU; below route.min_pmtu the MTU
   * becomes min(current, min_pmtu) and is locked; the same MTU again in the
   * first half of the exception's life changes nothing, otherwise the
   * exception is made or renewed for route.mtu_expires seconds.
   */
  update(destination: number, mtu: number, now: number): void {
    if (this.metrics(destination).mtuLocked) return;
    if (destination >= IPV6_HANDLE_BASE) {
      this.update6(destination, mtu, now);
      return;
    }
    const old = this.mtu(destination, now);
    if (old < mtu) return;
    let locked = false;
    const minPmtu = this.sysctl.route_min_pmtu;
    if (mtu < minPmtu) {
      locked = true;
      mtu = Math.min(old, minPmtu);
    }
    const expiresMs = this.sysctl.route_mtu_expires * 1000;
    const current = this.live(destination, now);
    if (current !== undefined && current.mtu === mtu && !locked && now < current.expires - expiresMs / 2) return;
    this.remember(destination, { mtu, locked, expires: now + expiresMs });
  }

  /**
   * __ip6_rt_update_pmtu: a Packet Too Big never sets less than the IPv6
   * minimum MTU (1280), never locks, never raises the path MTU, and lasts
   * net.ipv6.route.mtu_expires (rt6_do_update_pmtu).
   */
  private update6(destination: number, mtu: number, now: number): void {
    mtu = Math.max(mtu, IPV6_MIN_MTU);
    if (mtu >= this.mtu(destination, now)) return;
    this.remember(destination, { mtu, locked: false, expires: now + this.sysctl.ip6_route_mtu_expires * 1000 });
  }

  /** An exception made or renewed, last in the order; the least recently updated goes when the table is full. */
  private remember(destination: number, e: Exception): void {
    this.forget(destination);
    if (this.exceptions.size >= ROUTE_EXCEPTIONS_MAX) {
      const oldest = this.exceptions.keys().next().value;
      if (oldest !== undefined) this.forget(oldest);
    }
    this.exceptions.set(destination, e);
    this.addresses?.hold(destination);
  }

  private forget(destination: number): void {
    if (this.exceptions.delete(destination)) this.addresses?.release(destination);
  }

  /** `ip route flush cache` (rt_cache_flush): every exception forgotten. */
  flush(): void {
    for (const destination of [...this.exceptions.keys()]) this.forget(destination);
  }
}

/** IPV6_MIN_MTU (RFC 8200 §5). */
const IPV6_MIN_MTU = 1280;

/** net.ipv4.route.min_adv_mss default (ip_rt_min_advmss). */
const MIN_ADV_MSS = 256;
