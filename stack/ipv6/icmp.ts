/**
 * ICMPv6 (RFC 4443) as net/ipv6/icmp.c does it: input (icmpv6_rcv) with
 * its counters, echo replies (icmpv6_echo_reply), errors handed to the
 * protocol they quote (icmpv6_notify), and the errors the stack sends
 * (icmp6_send) with RFC 4443 §2.4's rules and Linux's rate limits.
 *
 * Neighbour discovery, router discovery and MLD are counted and dropped:
 * a TUN device is a layer-3 link, with no neighbours to resolve.
 */
import type { Clock } from '../clock.ts';
import { COUNTER_NAMES, type CounterName, type Counters } from '../counters.ts';
import type { DropReason } from '../drop.ts';
import type { Ipv6AddressTable } from '../ip/ipv6-addresses.ts';
import type { IcmpRateLimiter } from '../ip/ratelimit.ts';
import type { Sysctls } from '../sysctl.ts';
import type { TraceSink } from '../trace.ts';
import { isIpv6Multicast, isIpv6Unspecified } from '../wire/addr6.ts';
import {
  ICMPV6_DEST_UNREACH,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_HEADER,
  ICMPV6_INFOMSG_MASK,
  ICMPV6_MGM_QUERY,
  ICMPV6_MGM_REDUCTION,
  ICMPV6_MGM_REPORT,
  ICMPV6_MLD2_REPORT,
  ICMPV6_PARAMPROB,
  ICMPV6_PKT_TOOBIG,
  ICMPV6_TIME_EXCEED,
  ICMPV6_UNK_OPTION,
  NDISC_NEIGHBOUR_ADVERTISEMENT,
  NDISC_NEIGHBOUR_SOLICITATION,
  NDISC_REDIRECT,
  NDISC_ROUTER_ADVERTISEMENT,
  NDISC_ROUTER_SOLICITATION,
  icmp6RestOfHeader,
  icmpv6ChecksumOk,
  writeIcmpv6Header,
} from '../wire/icmpv6.ts';
import {
  IPV6_DEFAULT_HOP_LIMIT,
  IPV6_DST_OFFSET,
  IPV6_HEADER,
  IPV6_MIN_MTU,
  IPV6_SRC_OFFSET,
  NEXTHDR_ICMPV6,
  ip6NextHeader,
  ip6TrafficClass,
  isIpv6ExtensionHeader,
  skipIpv6ExtensionHeaders,
} from '../wire/ipv6.ts';
import { ipv6WordSum } from '../wire/addr6.ts';
import type { Ipv6Output } from './output.ts';

/** RFC 4443 §2.4 (c): an error carries as much of the offending packet as fits in the minimum MTU. */
const QUOTE_MAX = IPV6_MIN_MTU - IPV6_HEADER - ICMPV6_HEADER;

/**
 * An ICMPv6 error for the protocol its quote belongs to (tcp_v6_err,
 * icmpv6_err): `quoted` is the offending packet from its IPv6 header,
 * `innerOffset` where the quoted upper-layer header begins. Returns whether
 * a socket of that protocol took it: without one, Icmp6InErrors (as
 * tcp_v6_err and __udp6_lib_err count it).
 */
export type Icmpv6ErrorHandler = (type: number, code: number, info: number, quoted: Uint8Array, innerOffset: number) => boolean;

/** Named counters by type (snmp6 prints both Icmp6InEchos and Icmp6InType128 from one count). */
const IN_NAMED: Partial<Record<number, CounterName>> = {
  [ICMPV6_DEST_UNREACH]: 'Icmp6InDestUnreachs',
  [ICMPV6_PKT_TOOBIG]: 'Icmp6InPktTooBigs',
  [ICMPV6_TIME_EXCEED]: 'Icmp6InTimeExcds',
  [ICMPV6_PARAMPROB]: 'Icmp6InParmProblems',
  [ICMPV6_ECHO_REQUEST]: 'Icmp6InEchos',
  [ICMPV6_ECHO_REPLY]: 'Icmp6InEchoReplies',
  [ICMPV6_MGM_QUERY]: 'Icmp6InGroupMembQueries',
  [ICMPV6_MGM_REPORT]: 'Icmp6InGroupMembResponses',
  [ICMPV6_MGM_REDUCTION]: 'Icmp6InGroupMembReductions',
  [NDISC_ROUTER_SOLICITATION]: 'Icmp6InRouterSolicits',
  [NDISC_ROUTER_ADVERTISEMENT]: 'Icmp6InRouterAdvertisements',
  [NDISC_NEIGHBOUR_SOLICITATION]: 'Icmp6InNeighborSolicits',
  [NDISC_NEIGHBOUR_ADVERTISEMENT]: 'Icmp6InNeighborAdvertisements',
  [NDISC_REDIRECT]: 'Icmp6InRedirects',
  [ICMPV6_MLD2_REPORT]: 'Icmp6InMLDv2Reports',
};
const OUT_NAMED: Partial<Record<number, CounterName>> = {
  [ICMPV6_DEST_UNREACH]: 'Icmp6OutDestUnreachs',
  [ICMPV6_PKT_TOOBIG]: 'Icmp6OutPktTooBigs',
  [ICMPV6_TIME_EXCEED]: 'Icmp6OutTimeExcds',
  [ICMPV6_PARAMPROB]: 'Icmp6OutParmProblems',
  [ICMPV6_ECHO_REPLY]: 'Icmp6OutEchoReplies',
};

/** Icmp6InType<N> / Icmp6OutType<N> by type, for the types the stack keeps a counter of (no string built per message). */
const IN_BY_TYPE = countersByType('In');
const OUT_BY_TYPE = countersByType('Out');

function countersByType(direction: 'In' | 'Out'): ReadonlyArray<CounterName | undefined> {
  const known: ReadonlySet<string> = new Set(COUNTER_NAMES);
  return Array.from({ length: 256 }, (_, type) => {
    const name = `Icmp6${direction}Type${type}`;
    return known.has(name) ? (name as CounterName) : undefined;
  });
}

export class Icmpv6 {
  /** Set by the transport layers that care about ICMPv6 errors, keyed by the quoted upper-layer protocol. */
  readonly errorHandlers = new Map<number, Icmpv6ErrorHandler>();

  constructor(
    /** Our address's handle. */
    private readonly address: number,
    private readonly addresses: Ipv6AddressTable,
    private readonly clock: Clock,
    private readonly counters: Counters,
    private readonly sysctl: Sysctls,
    private readonly output: Ipv6Output,
    private readonly limiter: IcmpRateLimiter,
    private readonly trace: () => TraceSink | undefined,
  ) {}

  /** icmpv6_rcv: `packet` is the whole datagram, the message at `hl`. */
  input(packet: Uint8Array, hl: number, total: number): DropReason | undefined {
    const c = this.counters;
    c.Icmp6InMsgs++;
    const sums = ipv6WordSum(packet, IPV6_SRC_OFFSET) + ipv6WordSum(packet, IPV6_DST_OFFSET);
    if (!icmpv6ChecksumOk(packet, hl, total, sums)) {
      c.Icmp6InCsumErrors++;
      c.Icmp6InErrors++;
      return 'ICMP_CSUM';
    }
    if (total - hl < ICMPV6_HEADER) {
      c.Icmp6InErrors++;
      return 'ICMP_INVALID';
    }
    const type = packet[hl]!;
    const named = IN_NAMED[type];
    if (named !== undefined) c[named]++;
    const byType = IN_BY_TYPE[type];
    if (byType !== undefined) c[byType]++;

    switch (type) {
      case ICMPV6_ECHO_REQUEST:
        if (this.sysctl.icmpv6_echo_ignore_all === 0) this.echoReply(packet, hl, total);
        return undefined;
      case ICMPV6_ECHO_REPLY:
        return undefined; // ping_rcv: nobody pings from this stack
      case ICMPV6_PKT_TOOBIG:
      case ICMPV6_DEST_UNREACH:
      case ICMPV6_TIME_EXCEED:
      case ICMPV6_PARAMPROB:
        return this.notify(packet, hl, total);
      default:
        // Informational types (ND, MLD, anything from 128 up) are not for us
        // on a layer-3 link; an error of an unknown type still goes to the
        // protocol it quotes (RFC 4443 §2.4 (d)).
        if ((type & ICMPV6_INFOMSG_MASK) !== 0) return 'ICMP_IGNORED';
        return this.notify(packet, hl, total);
    }
  }

  /** icmpv6_notify: the quote needs its IPv6 header, any extension headers, and 8 bytes of what follows them. */
  private notify(packet: Uint8Array, hl: number, total: number): DropReason | undefined {
    const quoted = packet.subarray(hl + ICMPV6_HEADER, total);
    if (quoted.length < IPV6_HEADER) return this.inError('ICMP_INVALID');
    let next = ip6NextHeader(quoted);
    let inner = IPV6_HEADER;
    if (isIpv6ExtensionHeader(next)) {
      const walked = skipIpv6ExtensionHeaders(quoted, IPV6_HEADER, next, quoted.length);
      if (walked === undefined) return this.inError('IPV6_BAD_EXTHDR');
      next = walked.nextHeader;
      inner = walked.offset;
    }
    if (quoted.length < inner + 8) return this.inError('ICMP_INVALID');
    const message = packet.subarray(hl, total);
    const handler = this.errorHandlers.get(next);
    if (handler !== undefined && !handler(message[0]!, message[1]!, icmp6RestOfHeader(message), quoted, inner)) this.counters.Icmp6InErrors++;
    return undefined;
  }

  private inError(reason: DropReason): DropReason {
    this.counters.Icmp6InErrors++;
    return reason;
  }

  /**
   * icmpv6_echo_reply: identifier, sequence and data back, the request's
   * traffic class, from our address even when the request went to a
   * multicast group (unless echo_ignore_multicast).
   */
  private echoReply(request: Uint8Array, hl: number, total: number): void {
    if (isIpv6Multicast(request, IPV6_DST_OFFSET) && this.sysctl.icmpv6_echo_ignore_multicast !== 0) return;
    const source = this.addresses.intern(request, IPV6_SRC_OFFSET);
    // A v4-mapped or unspecified source: delivered, but no route leads back (measured on 6.18).
    if (!this.addresses.routable(source)) {
      this.counters.Ip6OutNoRoutes++;
      return;
    }
    const length = total - hl;
    const reply = this.output.allocate(this.address, source, NEXTHDR_ICMPV6, this.output.flowLabel(this.address, source), IPV6_DEFAULT_HOP_LIMIT, ip6TrafficClass(request), length, length);
    reply.set(request.subarray(hl, total), IPV6_HEADER);
    writeIcmpv6Header(reply, IPV6_HEADER, reply.length, ICMPV6_ECHO_REPLY, 0, undefined, this.sums(this.address, source));
    this.countOut(ICMPV6_ECHO_REPLY);
    this.output.send(reply);
  }

  /** icmpv6_param_prob: a parameter problem about `original`, pointing at byte `pointer`. */
  paramProblem(original: Uint8Array, code: number, pointer: number): boolean {
    return this.send(original, ICMPV6_PARAMPROB, code, pointer);
  }

  /**
   * icmp6_send: an error about `original` (from its IPv6 header). `info` is
   * the 32-bit field after the checksum (the MTU of a packet too big, the
   * pointer of a parameter problem). Returns whether one was sent.
   */
  send(original: Uint8Array, type: number, code: number, info: number): boolean {
    if (original.length < IPV6_HEADER) return false;
    // Never about a packet to a multicast group, but for Packet Too Big and
    // an unknown option whose type asks for it (RFC 4443 §2.4 (e.2, e.3)).
    if (isIpv6Multicast(original, IPV6_DST_OFFSET)) {
      const optionAsks = type === ICMPV6_PARAMPROB && code === ICMPV6_UNK_OPTION && info < original.length && (original[info]! & 0xc0) === 0x80;
      if (type !== ICMPV6_PKT_TOOBIG && !optionAsks) return false;
    }
    // Never to a source that does not name one node (§2.4 (e.5, e.6)).
    if (isIpv6Unspecified(original, IPV6_SRC_OFFSET) || isIpv6Multicast(original, IPV6_SRC_OFFSET)) return false;
    // Never about an ICMPv6 error (§2.4 (e.1)).
    if (ineligible(original)) return false;

    const now = this.clock.now();
    const destination = this.addresses.intern(original, IPV6_SRC_OFFSET);
    // No route to a v4-mapped source: icmpv6_xrlim_allow then counts it as rate-limited (measured on 6.18).
    if (!this.addresses.routable(destination)) {
      this.counters.Ip6OutNoRoutes++;
      this.counters.Icmp6OutRateLimitHost++;
      return false;
    }
    // net.ipv6.icmp.ratelimit per error and destination: measured on 6.18
    // toward a peer on a /64, a burst of 6 then one per 100 ms, so the
    // prefix-length shift of older icmpv6_xrlim_allow does not apply.
    const verdict = this.limiter.allowV6(type, this.addresses.digest(destination), this.sysctl.icmpv6_ratelimit, now);
    if (verdict !== 'ok') {
      if (verdict === 'global') this.counters.IcmpOutRateLimitGlobal++;
      else this.counters.Icmp6OutRateLimitHost++;
      this.trace()?.({ kind: 'icmp-ratelimit', t: now, type, code, to: 0, scope: verdict, to6: this.addresses.format(destination) });
      return false;
    }
    const quoteLength = Math.min(original.length, QUOTE_MAX);
    const length = ICMPV6_HEADER + quoteLength;
    // icmp6_send leaves the traffic class 0 (the ICMP socket's).
    const packet = this.output.allocate(this.address, destination, NEXTHDR_ICMPV6, this.output.flowLabel(this.address, destination), IPV6_DEFAULT_HOP_LIMIT, 0, length, quoteLength);
    packet.set(original.subarray(0, quoteLength), IPV6_HEADER + ICMPV6_HEADER);
    writeIcmpv6Header(packet, IPV6_HEADER, packet.length, type, code, info >>> 0, this.sums(this.address, destination));
    this.countOut(type);
    this.trace()?.({ kind: 'icmp-out', t: now, type, code, to: 0, to6: this.addresses.format(destination) });
    this.output.send(packet);
    return true;
  }

  private sums(a: number, b: number): number {
    return this.addresses.wordSum(a) + this.addresses.wordSum(b);
  }

  private countOut(type: number): void {
    const c = this.counters;
    c.Icmp6OutMsgs++;
    const named = OUT_NAMED[type];
    if (named !== undefined) c[named]++;
    const byType = OUT_BY_TYPE[type];
    if (byType !== undefined) c[byType]++;
  }
}

/**
 * is_ineligible: an ICMPv6 error is never answered with one. The type is
 * read where the header chain ends; a packet too short to hold it is
 * ineligible. (Linux makes an exception for a first fragment too short to
 * hold it, RFC 8200 §4.5; such a fragment is refused before anything
 * answers it here: reassembly.ts, headerChainTruncated.)
 */
function ineligible(packet: Uint8Array): boolean {
  const walked = skipIpv6ExtensionHeaders(packet, IPV6_HEADER, ip6NextHeader(packet), packet.length);
  if (walked === undefined || walked.nextHeader !== NEXTHDR_ICMPV6) return false;
  if (walked.offset >= packet.length) return true;
  return (packet[walked.offset]! & ICMPV6_INFOMSG_MASK) === 0;
}
