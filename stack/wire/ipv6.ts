/**
 * IPv6 header (RFC 8200 §3) and extension headers (RFC 8200 §4), read in
 * place.
 *
 * The accessors take the packet as a Uint8Array whose byte 0 is the first
 * byte of the IPv6 header (what a TUN device in IFF_NO_PI mode hands us) and
 * never copy. Like the IPv4 accessors they do no validation: IPv6 input
 * checks the version, the payload length and the extension-header chain
 * before anything else reads them. Addresses stay in the packet and are
 * read through addr6.ts at IPV6_SRC_OFFSET and IPV6_DST_OFFSET.
 *
 * The extension-header walk follows Linux's ipv6_skip_exthdr
 * (net/ipv6/exthdrs_core.c) and the header-length rules ipv6_optlen and
 * ipv6_authlen (include/net/ipv6.h), so that we find the upper-layer header
 * where Linux finds it.
 */
import { copyIpv6 } from './addr6.ts';
import * as bytes from './bytes.ts';

// Module-local bindings of the byte helpers, as in tcp.ts (an imported
// binding is read through the module's import cell at every call).
const { readU16, readU32, writeU16, writeU32 } = bytes;

/** The fixed header; extension headers follow it (RFC 8200 §3). */
export const IPV6_HEADER = 40;
/** Every link must carry packets of this size (RFC 8200 §5). */
export const IPV6_MIN_MTU = 1280;
/** The largest payload length field; bigger needs a jumbogram (RFC 2675). */
export const IPV6_MAX_PAYLOAD = 65535;
/** The Hop Limit of what a host sends: Linux's default for a device (net.ipv6.conf.*.hop_limit). */
export const IPV6_DEFAULT_HOP_LIMIT = 64;
export const IPV6_SRC_OFFSET = 8;
export const IPV6_DST_OFFSET = 24;
/** The fragment header is always 8 bytes (RFC 8200 §4.5). */
export const FRAG_HEADER = 8;

/** Next Header values (IANA protocol numbers; Linux's NEXTHDR_* in include/net/ipv6.h). */
export const NEXTHDR_HOP = 0; // Hop-by-Hop Options, RFC 8200 §4.3
export const NEXTHDR_TCP = 6;
export const NEXTHDR_UDP = 17;
export const NEXTHDR_ROUTING = 43; // RFC 8200 §4.4
export const NEXTHDR_FRAGMENT = 44; // RFC 8200 §4.5
export const NEXTHDR_ESP = 50; // RFC 4303
export const NEXTHDR_AUTH = 51; // RFC 4302
export const NEXTHDR_ICMPV6 = 58; // RFC 4443
export const NEXTHDR_NONE = 59; // RFC 8200 §4.7
export const NEXTHDR_DEST = 60; // Destination Options, RFC 8200 §4.6
export const NEXTHDR_MOBILITY = 135; // RFC 6275 §6.1

/** Option types of Hop-by-Hop and Destination Options headers (RFC 8200 §4.2). */
export const IPV6_TLV_PAD1 = 0;
export const IPV6_TLV_PADN = 1;
export const IPV6_TLV_ROUTERALERT = 5; // RFC 2711
export const IPV6_TLV_JUMBO = 0xc2; // RFC 2675

/** Masks of the fragment header's offset word (RFC 8200 §4.5): offset in 8-byte units in the top 13 bits, M in bit 0. */
export const IP6_OFFSET_MASK = 0xfff8;
export const IP6_MF = 1;

export const ip6Version = (b: Uint8Array): number => b[0]! >> 4;
/** The 8-bit Traffic Class (DSCP and ECN, RFC 2474, RFC 3168), across bytes 0 and 1. */
export const ip6TrafficClass = (b: Uint8Array): number => ((b[0]! & 0x0f) << 4) | (b[1]! >> 4);
/** The 20-bit Flow Label (RFC 6437). */
export const ip6FlowLabel = (b: Uint8Array): number => ((b[1]! & 0x0f) << 16) | (b[2]! << 8) | b[3]!;
/** Bytes after the fixed header, extension headers included. */
export const ip6PayloadLength = (b: Uint8Array): number => readU16(b, 4);
export const ip6NextHeader = (b: Uint8Array): number => b[6]!;
export const ip6HopLimit = (b: Uint8Array): number => b[7]!;

/**
 * The length in bytes of the extension header of type `nextHeader` at `at`:
 * 8 for a fragment header; (Payload Len + 2) × 4 for an authentication
 * header, whose length counts 32-bit words minus 2 (RFC 4302 §2.2,
 * ipv6_authlen); otherwise (Hdr Ext Len + 1) × 8, the rule of the
 * Hop-by-Hop, Routing, Destination Options (RFC 8200 §4.3, 4.4, 4.6) and
 * Mobility (RFC 6275 §6.1.1) headers (ipv6_optlen). Reads byte at + 1 with
 * no bounds check: the caller checks that the header lies in the packet.
 */
export function ipv6ExtensionHeaderLength(b: Uint8Array, at: number, nextHeader: number): number {
  if (nextHeader === NEXTHDR_FRAGMENT) return FRAG_HEADER;
  if (nextHeader === NEXTHDR_AUTH) return (b[at + 1]! + 2) << 2;
  return (b[at + 1]! + 1) << 3;
}

/**
 * True for the Next Header values Linux's ipv6_ext_hdr() takes for an
 * extension header rather than an upper layer: Hop-by-Hop, Routing,
 * Fragment, AH, Destination Options and No Next Header. ESP is not one (it
 * encrypts what follows, so there is nothing to skip to), nor is Mobility.
 */
export function isIpv6ExtensionHeader(nextHeader: number): boolean {
  return (
    nextHeader === NEXTHDR_HOP ||
    nextHeader === NEXTHDR_ROUTING ||
    nextHeader === NEXTHDR_FRAGMENT ||
    nextHeader === NEXTHDR_AUTH ||
    nextHeader === NEXTHDR_NONE ||
    nextHeader === NEXTHDR_DEST
  );
}

export interface SkippedExtensionHeaders {
  /** Where the header of type `nextHeader` starts. */
  offset: number;
  nextHeader: number;
  /**
   * The fragment offset in bytes of a fragment header that stopped the walk;
   * 0 when the walk reached an upper-layer header.
   */
  fragmentOffset: number;
}

/**
 * Walks the extension headers from `start` (the byte after the fixed
 * header) whose type is `nextHeader`, as Linux's ipv6_skip_exthdr does, to
 * the first header that is not one (isIpv6ExtensionHeader); that header's
 * type and offset are returned, with fragmentOffset 0. Two cases end early:
 *   - No Next Header (RFC 8200 §4.7): undefined, where Linux returns -1;
 *   - a fragment header with a non-zero offset: what follows it is the
 *     middle of the upper-layer data, not a header, so the walk stops at the
 *     fragment header itself. As in Linux (which leaves *nexthdrp at
 *     NEXTHDR_FRAGMENT and reports the offset word through frag_offp), the
 *     result is offset = the fragment header, nextHeader = NEXTHDR_FRAGMENT
 *     and fragmentOffset = its offset in bytes; the type of the fragmented
 *     payload is frag6NextHeader(b, offset). A first fragment (offset 0) is
 *     skipped like any other header.
 * Undefined too when the two bytes Linux reads of a header (its Next
 * Header and length; the offset word of a fragment header) are not before
 * `end`. A header that claims more bytes than remain is still stepped over,
 * as Linux does: the result's offset then lies past `end`, which callers
 * judge (a first fragment without its whole header chain, RFC 8200 §4.5).
 * Every header is at least 8 bytes long, so the walk always advances and
 * takes at most (end - start) / 8 + 1 steps.
 */
export function skipIpv6ExtensionHeaders(
  b: Uint8Array,
  start: number,
  nextHeader: number,
  end: number,
): SkippedExtensionHeaders | undefined {
  let at = start;
  let nh = nextHeader;
  while (isIpv6ExtensionHeader(nh)) {
    if (nh === NEXTHDR_NONE) return undefined;
    // Linux reads only the two bytes it needs (Next Header, Hdr Ext Len), and the fragment word.
    if (at + 2 > end) return undefined;
    if (nh === NEXTHDR_FRAGMENT) {
      if (at + 4 > end) return undefined;
      const fragmentOffset = readU16(b, at + 2) & IP6_OFFSET_MASK;
      if (fragmentOffset !== 0) return { offset: at, nextHeader: NEXTHDR_FRAGMENT, fragmentOffset };
    }
    // The header may claim more than there is: the offset then lies past `end`, as in Linux.
    const length = ipv6ExtensionHeaderLength(b, at, nh);
    nh = b[at]!;
    at += length;
  }
  return { offset: at, nextHeader: nh, fragmentOffset: 0 };
}

/** The Next Header of the fragment header at `at` (RFC 8200 §4.5): the type of the fragmented part. */
export const frag6NextHeader = (b: Uint8Array, at: number): number => b[at]!;
/** The Fragment Offset in bytes, 0..65528. */
export const frag6Offset = (b: Uint8Array, at: number): number => readU16(b, at + 2) & IP6_OFFSET_MASK;
/** The M flag: more fragments follow. */
export const frag6More = (b: Uint8Array, at: number): boolean => (b[at + 3]! & IP6_MF) !== 0;
/** The Identification, unsigned 32-bit. */
export const frag6Id = (b: Uint8Array, at: number): number => readU32(b, at + 4);

/**
 * Writes a fragment header at `at` (RFC 8200 §4.5): the reserved byte and
 * the two reserved bits zero, as ip6_fragment does. `offsetBytes` is a
 * multiple of 8.
 */
export function writeFragmentHeader(
  b: Uint8Array,
  at: number,
  nextHeader: number,
  offsetBytes: number,
  more: boolean,
  id: number,
): void {
  b[at] = nextHeader;
  b[at + 1] = 0;
  writeU16(b, at + 2, (offsetBytes & IP6_OFFSET_MASK) | (more ? IP6_MF : 0));
  writeU32(b, at + 4, id);
}

/**
 * Writes the 40-byte fixed header at `offset` from positional fields: what
 * IPv6 output writes for every packet, with no object per packet. The
 * addresses are copied from src at srcOffset and dst at dstOffset (they may
 * be the packet's own address fields of a packet being answered, but must
 * not overlap the header being written at a different position).
 */
export function writeIpv6Header(
  b: Uint8Array,
  offset: number,
  payloadLength: number,
  nextHeader: number,
  hopLimit: number,
  trafficClass: number,
  flowLabel: number,
  src: Uint8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
): void {
  b[offset] = 0x60 | ((trafficClass >>> 4) & 0x0f);
  b[offset + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  b[offset + 2] = flowLabel >>> 8;
  b[offset + 3] = flowLabel;
  writeU16(b, offset + 4, payloadLength);
  b[offset + 6] = nextHeader;
  b[offset + 7] = hopLimit;
  copyIpv6(b, offset + IPV6_SRC_OFFSET, src, srcOffset);
  copyIpv6(b, offset + IPV6_DST_OFFSET, dst, dstOffset);
}

/** A decoded fixed header, for tests, traces and tools (the hot path uses the accessors). */
export interface Ipv6Header {
  version: number;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  nextHeader: number;
  hopLimit: number;
  /** A copy of the source address. */
  source: Uint8Array;
  /** A copy of the destination address. */
  destination: Uint8Array;
}

export function decodeIpv6Header(b: Uint8Array): Ipv6Header {
  return {
    version: ip6Version(b),
    trafficClass: ip6TrafficClass(b),
    flowLabel: ip6FlowLabel(b),
    payloadLength: ip6PayloadLength(b),
    nextHeader: ip6NextHeader(b),
    hopLimit: ip6HopLimit(b),
    source: b.slice(IPV6_SRC_OFFSET, IPV6_SRC_OFFSET + 16),
    destination: b.slice(IPV6_DST_OFFSET, IPV6_DST_OFFSET + 16),
  };
}

/** writeIpv6Header from an object, for tools and tests; version 6 is implied. */
export function writeIpv6HeaderFields(b: Uint8Array, offset: number, h: Omit<Ipv6Header, 'version'>): void {
  writeIpv6Header(
    b,
    offset,
    h.payloadLength,
    h.nextHeader,
    h.hopLimit,
    h.trafficClass,
    h.flowLabel,
    h.source,
    0,
    h.destination,
    0,
  );
}

/**
 * The sum of the upper-layer pseudo header of RFC 8200 §8.1, unfolded
 * (checksum() and verifies() in checksum.ts fold it): the two addresses
 * (`addressSums` is ipv6WordSum of the source plus that of the
 * destination), the 32-bit upper-layer packet length as two 16-bit words,
 * three zero bytes and the next header (that of the upper layer, not of an
 * extension header before it).
 */
export function pseudoHeaderSum6(addressSums: number, nextHeader: number, upperLength: number): number {
  return addressSums + (upperLength >>> 16) + (upperLength & 0xffff) + nextHeader;
}
