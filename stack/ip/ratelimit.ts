/**
 * ICMP error rate limits as Linux applies them (net/ipv4/icmp.c):
 * - per destination (`icmpv4_xrlim_allow` → `inet_peer_xrlim_allow`): a token
 *   bucket measured in milliseconds, one error costs `icmp_ratelimit` ms, the
 *   bucket holds 6 errors (XRLIM_BURST_FACTOR) and a new peer starts full;
 * - host-wide (`icmp_global_allow`): `icmp_msgs_per_sec` tokens a second,
 *   at most `icmp_msgs_burst` banked.
 * Only the types in `icmp_ratemask` (dest-unreach, source-quench,
 * time-exceeded, parameter-problem) are limited, and "fragmentation needed" is
 * exempt because path MTU discovery depends on it. ICMPv6 errors share the
 * host-wide bucket and have per-destination buckets of their own (allowV6).
 */
import type { Sysctls } from '../sysctl.ts';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED } from '../wire/icmp.ts';
import { ICMPV6_PKT_TOOBIG } from '../wire/icmpv6.ts';

const XRLIM_BURST_FACTOR = 6;
/** Bound on remembered peers; the oldest are forgotten first (Linux's inet_peer pool is GC'd likewise). */
const MAX_PEERS = 4096;
/** icmp_ratemask default 6168 = types 3, 4, 11, 12. */
const RATEMASK = 6168;

interface PeerBucket {
  tokens: number;
  last: number;
}

export type RateVerdict = 'ok' | 'host' | 'global';

export class IcmpRateLimiter {
  private readonly peers = new Map<number, PeerBucket>();
  private readonly peers6 = new Map<number, PeerBucket>();
  private globalTokens: number;
  private globalLast: number;

  constructor(
    private readonly sysctl: Sysctls,
    now: number,
  ) {
    this.globalTokens = sysctl.icmp_msgs_burst;
    this.globalLast = now;
  }

  static isLimitedType(type: number, code: number): boolean {
    if (type > 31 || ((RATEMASK >> type) & 1) === 0) return false;
    return !(type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED);
  }

  /** Decides, and on 'ok' consumes a token from both buckets. */
  allow(type: number, code: number, destination: number, now: number): RateVerdict {
    if (!IcmpRateLimiter.isLimitedType(type, code)) return 'ok';
    return this.limit(this.peers, destination, this.sysctl.icmp_ratelimit, now);
  }

  /**
   * icmpv6_global_allow and icmpv6_xrlim_allow: ICMPv6 errors share the
   * host-wide bucket with ICMP (icmp_global_allow), and have their own
   * per-destination buckets, keyed here by the address's digest, each error
   * costing `timeout` ms (net.ipv6.icmp.ratelimit, scaled by the route's
   * prefix length). The default icmpv6 ratemask "0-1,3-127" limits every
   * error but Packet Too Big; informational messages never.
   */
  allowV6(type: number, peer: number, timeout: number, now: number): RateVerdict {
    if (type >= 128 || type === ICMPV6_PKT_TOOBIG) return 'ok';
    return this.limit(this.peers6, peer, timeout, now);
  }

  private limit(peers: Map<number, PeerBucket>, key: number, timeout: number, now: number): RateVerdict {
    const perSec = this.sysctl.icmp_msgs_per_sec;
    if (perSec > 0) {
      this.globalTokens = Math.min(
        this.sysctl.icmp_msgs_burst,
        this.globalTokens + ((now - this.globalLast) * perSec) / 1000,
      );
      this.globalLast = now;
      if (this.globalTokens < 1) return 'global';
    }

    if (timeout > 0) {
      let peer = peers.get(key);
      if (peer === undefined) {
        if (peers.size >= MAX_PEERS) peers.delete(peers.keys().next().value as number);
        // A new inet_peer has rate_last 0, so the first call sees a full bucket.
        peer = { tokens: XRLIM_BURST_FACTOR * timeout, last: now };
        peers.set(key, peer);
      } else {
        peer.tokens = Math.min(XRLIM_BURST_FACTOR * timeout, peer.tokens + (now - peer.last));
        peer.last = now;
      }
      if (peer.tokens < timeout) return 'host';
      peer.tokens -= timeout;
    }
    if (perSec > 0) this.globalTokens -= 1;
    return 'ok';
  }
}
