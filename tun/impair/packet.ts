/**
 * What impairments need to know about and do to a packet, IPv4 or IPv6: read
 * the fields the rules match on (over IPv6, after the extension headers),
 * flip one bit that a checksum is sure to catch, rewrite TCP fields with the
 * checksum fixed, and craft a TCP segment. Packets are never
 * changed in place: every change is made on a copy, because the original may
 * still be referenced (a duplicate, a pcap tap, the sender's buffers).
 */
import type { Random } from '../../stack/random.ts';
import { checksum } from '../../stack/wire/checksum.ts';
import {
  IPV4_CHECKSUM_FIELD,
  IPV4_MIN_HEADER,
  IP_FLAG_MF,
  IP_OFFSET_MASK,
  PROTO_TCP,
  PROTO_UDP,
  ipDestination,
  ipFragWord,
  ipHeaderLength,
  ipProtocol,
  ipSource,
  ipTotalLength,
  ipVersion,
  writeIpv4Header,
} from '../../stack/wire/ipv4.ts';
import {
  TCP_ACK,
  TCP_DOFF_FIELD,
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_SYN,
  encodeTcpSegment,
  type TcpSegmentFields,
  setTcpAck,
  setTcpChecksum,
  setTcpChecksumSum,
  setTcpFlags,
  setTcpSeq,
  setTcpWindow,
  tcpAck,
  tcpDestinationPort,
  tcpFlags,
  tcpHeaderLength,
  tcpSeq,
  tcpSourcePort,
  tcpWindow,
} from '../../stack/wire/tcp.ts';
import { UDP_HEADER, UDP_LENGTH_FIELD, udpDestinationPort, udpSourcePort } from '../../stack/wire/udp.ts';
import { ipv6WordSum } from '../../stack/wire/addr6.ts';
import {
  FRAG_HEADER,
  IPV6_DEFAULT_HOP_LIMIT,
  IPV6_DST_OFFSET,
  IPV6_HEADER,
  IPV6_SRC_OFFSET,
  NEXTHDR_FRAGMENT,
  NEXTHDR_ICMPV6,
  NEXTHDR_NONE,
  NEXTHDR_TCP,
  NEXTHDR_UDP,
  frag6More,
  frag6NextHeader,
  frag6Offset,
  ip6NextHeader,
  ip6PayloadLength,
  ipv6ExtensionHeaderLength,
  isIpv6ExtensionHeader,
  skipIpv6ExtensionHeaders,
  writeIpv6Header,
} from '../../stack/wire/ipv6.ts';

/** The fields rules match on; `undefined` members are absent (not IP, not TCP/UDP, a later fragment). */
export interface PacketView {
  /** 4 or 6 for a well-formed IPv4 or IPv6 header, 0 for anything else (garbage). */
  version: 0 | 4 | 6;
  /**
   * The upper-layer protocol: IPv4's Protocol field; for IPv6 the Next
   * Header that ends the extension-header walk (ipv6_skip_exthdr), or, for a
   * fragment beyond the first, that of the fragmented part (as IPv4's field
   * says for any fragment). -1 when there is none: not IP, or an IPv6 chain
   * that ends in No Next Header or is cut short.
   */
  protocol: number;
  /**
   * Where the upper layer begins: after the IPv4 header, or after the IPv6
   * header and its extension headers (for a later fragment: after the
   * fragment header, where its data begins); and the end of the datagram
   * within the buffer.
   */
  hl: number;
  end: number;
  /** True when this buffer holds the transport header (not a fragment beyond the first). */
  hasTransport: boolean;
  /** True for any fragment (offset > 0 or more fragments); an IPv6 atomic fragment is not one. */
  fragment: boolean;
  srcPort: number;
  dstPort: number;
  /** TCP control bits (CWR..FIN), -1 when not TCP. */
  flags: number;
  seq: number;
  ack: number;
  /** TCP window field (unscaled), 0 when not TCP. */
  window: number;
  /** TCP data / UDP payload / bytes after the IP headers for anything else. */
  payloadLength: number;
}

/** Reads what the rules look at, without copying. */
export function viewPacket(p: Uint8Array): PacketView {
  const v: PacketView = {
    version: 0,
    protocol: -1,
    hl: 0,
    end: p.length,
    hasTransport: false,
    fragment: false,
    srcPort: -1,
    dstPort: -1,
    flags: -1,
    seq: 0,
    ack: 0,
    window: 0,
    payloadLength: p.length,
  };
  const version = p.length > 0 ? ipVersion(p) : 0;
  const transport = version === 4 ? viewIpv4(p, v) : version === 6 ? viewIpv6(p, v) : false;
  if (!transport) return v;
  const { hl, end } = v;
  if (v.protocol === PROTO_TCP && end - hl >= TCP_MIN_HEADER) {
    const seg = p.subarray(hl, end);
    v.hasTransport = true;
    v.srcPort = tcpSourcePort(seg);
    v.dstPort = tcpDestinationPort(seg);
    v.seq = tcpSeq(seg);
    v.ack = tcpAck(seg);
    v.flags = tcpFlags(seg);
    v.window = tcpWindow(seg);
    v.payloadLength = Math.max(0, seg.length - tcpHeaderLength(seg));
  } else if (v.protocol === PROTO_UDP && end - hl >= UDP_HEADER) {
    const datagram = p.subarray(hl, end);
    v.hasTransport = true;
    v.srcPort = udpSourcePort(datagram);
    v.dstPort = udpDestinationPort(datagram);
    v.payloadLength = datagram.length - UDP_HEADER;
  }
  return v;
}

/** The IPv4 layer of viewPacket; true when what follows the header may be a transport header. */
function viewIpv4(p: Uint8Array, v: PacketView): boolean {
  if (p.length < IPV4_MIN_HEADER) return false;
  const hl = ipHeaderLength(p);
  if (hl < IPV4_MIN_HEADER || hl > p.length) return false;
  v.version = 4;
  v.protocol = ipProtocol(p);
  v.hl = hl;
  v.end = Math.max(hl, Math.min(p.length, ipTotalLength(p)));
  const frag = ipFragWord(p);
  v.fragment = (frag & (IP_OFFSET_MASK | IP_FLAG_MF)) !== 0;
  v.payloadLength = v.end - hl;
  return (frag & IP_OFFSET_MASK) === 0;
}

/**
 * The IPv6 layer of viewPacket (RFC 8200 §3, §4): the upper-layer header
 * is where Linux's ipv6_skip_exthdr finds it. True when what follows may be
 * a transport header.
 */
function viewIpv6(p: Uint8Array, v: PacketView): boolean {
  if (p.length < IPV6_HEADER) return false;
  v.version = 6;
  v.hl = IPV6_HEADER;
  v.end = Math.min(p.length, IPV6_HEADER + ip6PayloadLength(p));
  v.payloadLength = v.end - IPV6_HEADER;
  const first = ip6NextHeader(p);
  const frag = ipv6FragmentHeader(p, first, v.end);
  if (frag >= 0) v.fragment = frag6Offset(p, frag) !== 0 || frag6More(p, frag);
  const chain = skipIpv6ExtensionHeaders(p, IPV6_HEADER, first, v.end);
  // No Next Header, or a chain cut short: no upper layer to name.
  if (chain === undefined) return false;
  if (chain.fragmentOffset !== 0) {
    // Data from the middle of the fragmented part: its protocol, no header.
    v.protocol = frag6NextHeader(p, chain.offset);
    v.hl = Math.min(v.end, chain.offset + FRAG_HEADER);
    v.payloadLength = v.end - v.hl;
    return false;
  }
  // A header that claims more than the packet holds (skipIpv6ExtensionHeaders steps over it).
  if (chain.offset > v.end) return false;
  v.protocol = chain.nextHeader;
  v.hl = chain.offset;
  v.payloadLength = v.end - chain.offset;
  return true;
}

/**
 * Where the fragment header of an IPv6 packet's chain is (RFC 8200 §4.5),
 * or -1: the walk of skipIpv6ExtensionHeaders, stopped at that header so
 * that a first fragment (offset 0, M set), which the walk steps over, is
 * known for one. Each header is at least 8 bytes, so the loop ends.
 */
function ipv6FragmentHeader(p: Uint8Array, nextHeader: number, end: number): number {
  let at = IPV6_HEADER;
  let nh = nextHeader;
  while (isIpv6ExtensionHeader(nh) && nh !== NEXTHDR_NONE && at + 2 <= end) {
    if (nh === NEXTHDR_FRAGMENT) return at + FRAG_HEADER <= end ? at : -1;
    const length = ipv6ExtensionHeaderLength(p, at, nh);
    nh = p[at]!;
    at += length;
  }
  return -1;
}

const IPV4_ADDRESS_FIELDS = { src: 12, dst: 16, length: 4 } as const;
const IPV6_ADDRESS_FIELDS = { src: IPV6_SRC_OFFSET, dst: IPV6_DST_OFFSET, length: 16 } as const;

/** Where the source and destination addresses are, and their length in bytes, for an IP version (RFC 791 §3.1, RFC 8200 §3). */
export function addressFields(version: 4 | 6): { readonly src: number; readonly dst: number; readonly length: number } {
  return version === 4 ? IPV4_ADDRESS_FIELDS : IPV6_ADDRESS_FIELDS;
}

/** Sequence space a TCP segment occupies: its data, plus one each for SYN and FIN (RFC 9293 §3.4). */
export function segmentLength(v: PacketView): number {
  return v.payloadLength + (v.flags & TCP_SYN ? 1 : 0) + (v.flags & TCP_FIN ? 1 : 0);
}

/**
 * A copy of `p` with exactly one bit flipped, chosen uniformly among the bits
 * that only a checksum protects, so the receiver's checksum always catches it
 * (the Internet checksum detects every single-bit error) and the packet is
 * counted by a checksum counter, ours or the kernel's:
 * - the bit is in the upper layer (transport header and data), never in the
 *   IP header, whose version/IHL nibble is checked before the header
 *   checksum, nor in IPv6 extension headers, which no checksum covers;
 * - for TCP, never in the data-offset nibble, and for UDP, never in the length
 *   field: both are validated before the checksum (tcp_v4_rcv, tcp_v6_rcv,
 *   __udp4_lib_rcv, __udp6_lib_rcv);
 * - an IPv4 datagram with no payload gets the flip in its header checksum
 *   field.
 * IPv6 has no header checksum (RFC 8200 §3), so an IPv6 packet is changed
 * only when its upper layer is TCP, UDP or ICMPv6, whose checksums cover
 * their pseudo header and all their bytes (RFC 8200 §8.1); a fragment beyond
 * the first is changed in its data, which the reassembled datagram's
 * checksum covers. A UDP datagram over IPv4 sent without a checksum (0)
 * cannot be caught. Returns undefined for what is left alone (not IP; IPv6
 * with nothing a checksum covers).
 */
export function flipOneBit(p: Uint8Array, random: Random & { below(n: number): number }): Uint8Array | undefined {
  const v = viewPacket(p);
  if (v.version === 0) return undefined;
  const start = v.hl;
  const bits = (v.end - start) * 8;
  if (v.version === 6 && (bits === 0 || !CHECKSUMMED_6.has(v.protocol))) return undefined;
  const copy = p.slice();
  if (bits === 0) {
    copy[IPV4_CHECKSUM_FIELD + random.below(2)]! ^= 1 << random.below(8);
    return copy;
  }
  // Bit ranges [from, from + n) relative to `start` that must not be flipped, ascending.
  const excluded: Array<[number, number]> = [];
  if (v.hasTransport && v.protocol === PROTO_TCP) excluded.push([TCP_DOFF_FIELD * 8, 4]);
  if (v.hasTransport && v.protocol === PROTO_UDP) excluded.push([UDP_LENGTH_FIELD * 8, 16]);
  let bit = random.below(bits - excluded.reduce((n, [, len]) => n + len, 0));
  for (const [from, len] of excluded) if (bit >= from) bit += len;
  copy[start + (bit >> 3)]! ^= 0x80 >> (bit & 7);
  return copy;
}

/** The upper layers over IPv6 whose checksum covers every byte of theirs (RFC 8200 §8.1). */
const CHECKSUMMED_6: ReadonlySet<number> = new Set([NEXTHDR_TCP, NEXTHDR_UDP, NEXTHDR_ICMPV6]);

/** A value to write into a 32-bit sequence field: absolute, or relative to what is there (or to a base). */
export type SeqValue = { absolute: number } | { relative: number };

export interface TcpRewrite {
  window?: number;
  flags?: number;
  seq?: SeqValue;
  ack?: SeqValue;
}

/** The 32-bit value `value` stands for, given what is there (or a base) for a relative one. */
export const applySeq = (value: SeqValue, base: number): number => ('absolute' in value ? value.absolute : base + value.relative) >>> 0;

/**
 * A copy of a TCP packet with fields replaced and the TCP checksum recomputed
 * over the pseudo header of its family (RFC 9293 §3.1, RFC 8200 §8.1; the
 * TCP header found after any IPv6 extension headers); undefined when `p` is
 * not a whole TCP segment (not TCP, a fragment).
 */
export function rewriteTcp(p: Uint8Array, change: TcpRewrite): Uint8Array | undefined {
  const v = viewPacket(p);
  if (!v.hasTransport || v.protocol !== PROTO_TCP || v.fragment) return undefined;
  const copy = p.slice(0, v.end);
  const seg = copy.subarray(v.hl, v.end);
  if (change.seq !== undefined) setTcpSeq(seg, applySeq(change.seq, v.seq));
  if (change.ack !== undefined) setTcpAck(seg, applySeq(change.ack, v.ack));
  if (change.flags !== undefined) setTcpFlags(seg, change.flags);
  if (change.window !== undefined) setTcpWindow(seg, change.window);
  if (v.version === 4) setTcpChecksum(seg, ipSource(copy), ipDestination(copy));
  else setTcpChecksumSum(seg, ipv6WordSum(copy, IPV6_SRC_OFFSET) + ipv6WordSum(copy, IPV6_DST_OFFSET));
  return copy;
}

export interface CraftedSegment {
  source: number;
  destination: number;
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  data?: Uint8Array;
  ttl?: number;
}

/** The TCP header of a crafted segment: no options, the ACK field 0 unless ACK is set. */
function bareTcpFields(s: Omit<CraftedSegment, 'source' | 'destination'>, data: Uint8Array): TcpSegmentFields {
  return { sourcePort: s.sourcePort, destinationPort: s.destinationPort, seq: s.seq, ack: s.flags & TCP_ACK ? s.ack : 0, flags: s.flags, window: s.window, payload: data };
}

/** A bare TCP segment (no options) in a 20-byte IPv4 header, DF set, both checksums right. */
export function craftTcp(s: CraftedSegment): Uint8Array {
  const data = s.data ?? new Uint8Array(0);
  const total = IPV4_MIN_HEADER + TCP_MIN_HEADER + data.length;
  const p = new Uint8Array(total);
  writeIpv4Header(p, 0, {
    totalLength: total,
    id: 0,
    dontFragment: true,
    ttl: s.ttl ?? 64,
    protocol: PROTO_TCP,
    source: s.source,
    destination: s.destination,
  });
  encodeTcpSegment(p, IPV4_MIN_HEADER, bareTcpFields(s, data), s.source, s.destination);
  return p;
}

/** True when the IPv4 header checksum verifies (tests use it to check rewrites). */
export function ipHeaderChecksumOk(p: Uint8Array): boolean {
  return checksum(p, 0, ipHeaderLength(p)) === 0;
}

/** The fields of craftTcp but for IPv6 addresses; the hop limit in place of the TTL. */
export interface CraftedSegment6 extends Omit<CraftedSegment, 'source' | 'destination' | 'ttl'> {
  /** 16 bytes each. */
  source: Uint8Array;
  destination: Uint8Array;
  hopLimit?: number;
}

/**
 * A bare TCP segment (no options) after a 40-byte IPv6 header with no
 * extension headers, traffic class and flow label 0, the TCP checksum over
 * the pseudo header of RFC 8200 §8.1.
 */
export function craftTcp6(s: CraftedSegment6): Uint8Array {
  const data = s.data ?? new Uint8Array(0);
  const length = TCP_MIN_HEADER + data.length;
  const p = new Uint8Array(IPV6_HEADER + length);
  writeIpv6Header(p, 0, length, NEXTHDR_TCP, s.hopLimit ?? IPV6_DEFAULT_HOP_LIMIT, 0, 0, s.source, 0, s.destination, 0);
  encodeTcpSegment(p, IPV6_HEADER, bareTcpFields(s, data), 0, 0);
  // encodeTcpSegment summed an IPv4 pseudo header of zero addresses: redo it over IPv6's.
  setTcpChecksumSum(p.subarray(IPV6_HEADER), ipv6WordSum(s.source, 0) + ipv6WordSum(s.destination, 0));
  return p;
}
