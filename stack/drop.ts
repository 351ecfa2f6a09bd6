/**
 * Why a packet was dropped, named after Linux's `enum skb_drop_reason`
 * (include/net/dropreason-core.h), the reasons `perf`/`dropwatch` print for
 * kfree_skb. Every input that is not consumed ends in exactly one of these,
 * which is what lets the tests account for every packet.
 */
export const DROP_REASONS = [
  /** Shorter than a header, or than its own length field says (ip_rcv_core). */
  'PKT_TOO_SMALL',
  /** Bad version, header length, total length or options (ip_rcv_core inhdr_error). */
  'IP_INHDR',
  /** IPv4 header checksum failed. */
  'IP_CSUM',
  /** Not addressed to us and we do not forward (ip_error with forwarding off). */
  'IP_INADDRERRORS',
  /** Martian source: multicast, broadcast, loopback or zero source address. */
  'IP_INVALID_SOURCE',
  /** Broadcast or multicast we have no listener for. */
  'OTHERHOST',
  /** An L3 protocol we do not implement (IPv6, or a version nibble that is neither). */
  'UNHANDLED_PROTO',
  /** IPv6 is off: the stack has no IPv6 address (ip6_rcv_core with disable_ipv6). */
  'IPV6DISABLED',
  /**
   * A malformed extension header, or one we refuse (SKB_DROP_REASON_IPV6_BAD_EXTHDR):
   * bad or too many options, an unknown option that says discard, a routing
   * header with segments left, a first fragment without the whole header chain.
   */
  'IPV6_BAD_EXTHDR',
  /** More extension headers than IP6_MAX_EXT_HDRS_CNT (12) in one packet (Ip6InDiscards). */
  'IPV6_TOO_MANY_EXTHDRS',
  /** An IP protocol number nobody registered (answered with ICMP protocol unreachable). */
  'IP_NOPROTO',
  /** Reassembly: the datagram timed out before it was complete. */
  'FRAG_REASM_TIMEOUT',
  /** Reassembly: a fragment entirely inside data already held (ignored, queue kept). */
  'DUP_FRAG',
  /** Reassembly: overlapping fragments; the whole datagram is discarded (RFC 5722 as Linux applies it to IPv4). */
  'IP_FRAG_OVERLAP',
  /** Reassembly: malformed fragment (zero length, beyond 64 KiB, past the known end). */
  'IP_FRAG_INVALID',
  /** Reassembly memory above ipfrag_high_thresh. */
  'FRAG_MEM_LIMIT',
  'ICMP_CSUM',
  /** An ICMP message too short for its type. */
  'ICMP_INVALID',
  /** An ICMP type we count but do not act on (timestamps, redirects...). */
  'ICMP_IGNORED',
  'UDP_CSUM',
  /** UDP length field inconsistent with the datagram. */
  'UDP_INVALID',
  /** No socket for the segment or datagram (a RST or ICMP port unreachable was sent where Linux sends one). */
  'NO_SOCKET',
  'TCP_CSUM',
  /** TCP header length or options malformed. */
  'TCP_INVALID',
  /** Options tcp_do_parse_auth_options refuses: a second signature option, an MD5 one not 18 bytes long, a bad length while 18 bytes or more remain (tcp_inbound_hash). */
  'TCP_AUTH_HDR',
  /** An MD5-signed segment (RFC 2385) for a socket without a key (tcp_inbound_md5_hash, TcpExtTCPMD5Unexpected). */
  'TCP_MD5UNEXPECTED',
  'TCP_FLAGS',
  'TCP_RFC7323_PAWS',
  'TCP_INVALID_SEQUENCE',
  /** Ends beyond the window while unread data is queued (tcp_sequence, 6.18). */
  'TCP_INVALID_END_SEQUENCE',
  'TCP_INVALID_ACK_SEQUENCE',
  /** Data already received and read past (tcp_data_queue). */
  'TCP_OLD_DATA',
  /** A segment ending before RCV.WUP, e.g. a keepalive or zero-window probe (tcp_sequence). */
  'TCP_OLD_SEQUENCE',
  'TCP_OVERWINDOW',
  'TCP_ZEROWINDOW',
  'TCP_RESET',
  'TCP_INVALID_SYN',
  'TCP_CLOSE',
  'TCP_OLD_ACK',
  'TCP_TOO_OLD_ACK',
  'TCP_ACK_UNSENT_DATA',
  'TCP_OFO_DROP',
  /** Out-of-order data we already hold, wholly (tcp_data_queue_ofo). */
  'TCP_OFOMERGE',
  /** The receive buffer is full (tcp_try_rmem_schedule failed). */
  'PROTO_MEM',
  'TCP_LISTEN_OVERFLOW',
  'TCP_ABORT_ON_DATA',
  /** Dropped without a reason of its own: TCP_DEFER_ACCEPT's bare third ACK (tcp_check_req returns no socket and names none). */
  'NOT_SPECIFIED',
  /** The stack itself failed on this packet: a bug; tests assert it never happens. */
  'INTERNAL_ERROR',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounters = Record<DropReason, number>;

export function newDropCounters(): DropCounters {
  const d = {} as DropCounters;
  for (const r of DROP_REASONS) d[r] = 0;
  return d;
}
