/**
 * ICMP error rate limits as Linux applies them (net/ipv4/icmp.c):
 * - per destination (`icmpv4_xrlim_allow` → `inet_peer_xrlim_allow`): a token
 *   bucket measured in milliseconds, one error costs `icmp_ratelimit` ms, the
 *   bucket holds 6 errors (XRLIM_BURST_FACTOR) and a new peer starts full;
 * - host-wide (`icmp_global_allow`): `icmp_msgs_per_sec` tokens a second,
 *   at most `icmp_msgs_burst` banked.
 * Only the types in `icmp_ratemask` (dest-unreach, source-quench,
 * time-exceeded, parameter-problem) are limited, and "fragmentation needed" is
 * exempt because path MTU discovery depends on it.
 */
import type { Sysctls } from '../sysctl.ts';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED } from '../wire/icmp.ts';

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

    const perSec = this.sysctl.icmp_msgs_per_sec;
    if (perSec > 0) {
      this.globalTokens = Math.min(
        this.sysctl.icmp_msgs_burst,
        this.globalTokens + ((now - this.globalLast) * perSec) / 1000,
      );
      this.globalLast = now;
      if (this.globalTokens < 1) return 'global';
    }

    const timeout = this.sysctl.icmp_ratelimit;
    if (timeout > 0) {
      let peer = this.peers.get(destination);
      if (peer === undefined) {
        if (this.peers.size >= MAX_PEERS) this.peers.delete(this.peers.keys().next().value as number);
        // A new inet_peer has rate_last 0, so the first call sees a full bucket.
        peer = { tokens: XRLIM_BURST_FACTOR * timeout, last: now };
        this.peers.set(destination, peer);
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
