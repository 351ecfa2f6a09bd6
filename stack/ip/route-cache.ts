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
 */
import type { Sysctls } from '../sysctl.ts';
import type { Ipv4Address } from '../wire/addr.ts';

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

  constructor(
    private readonly sysctl: Sysctls,
    /** The device MTU (ipv4_mtu's fallback). */
    private readonly deviceMtu: () => number,
  ) {}

  get size(): number {
    return this.exceptions.size;
  }

  private live(destination: Ipv4Address, now: number): Exception | undefined {
    const e = this.exceptions.get(destination);
    if (e === undefined) return undefined;
    // ipv4_mtu: time_after_eq(jiffies, dst.expires) → the device MTU again.
    if (now >= e.expires) {
      this.exceptions.delete(destination);
      return undefined;
    }
    return e;
  }

  /** ipv4_mtu: the path MTU toward `destination` (the exception's, or the device's). */
  mtu(destination: Ipv4Address, now: number): number {
    return this.live(destination, now)?.mtu ?? this.deviceMtu();
  }

  /** ip_mtu_locked: whether the route to `destination` has its MTU locked (DF then off, ip_dont_fragment). */
  mtuLocked(destination: Ipv4Address, now: number): boolean {
    return this.live(destination, now)?.locked === true;
  }

  /** dst_metric_advmss → ipv4_default_advmss: path MTU − 40, at least route.min_adv_mss (256). */
  advMss(destination: Ipv4Address, now: number): number {
    return Math.max(this.mtu(destination, now) - 40, MIN_ADV_MSS);
  }

  /**
   * __ip_rt_update_pmtu: a "fragmentation needed" with next-hop MTU `mtu`
   * (RFC 1191). Never raises the path MTU; below route.min_pmtu the MTU
   * becomes min(current, min_pmtu) and is locked; the same MTU again in the
   * first half of the exception's life changes nothing, otherwise the
   * exception is made or renewed for route.mtu_expires seconds.
   */
  update(destination: Ipv4Address, mtu: number, now: number): void {
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
    this.exceptions.delete(destination);
    if (this.exceptions.size >= ROUTE_EXCEPTIONS_MAX) {
      const oldest = this.exceptions.keys().next().value;
      if (oldest !== undefined) this.exceptions.delete(oldest);
    }
    this.exceptions.set(destination, { mtu, locked, expires: now + expiresMs });
  }

  /** `ip route flush cache` (rt_cache_flush): every exception forgotten. */
  flush(): void {
    this.exceptions.clear();
  }
}

/** net.ipv4.route.min_adv_mss default (ip_rt_min_advmss). */
const MIN_ADV_MSS = 256;
