/**
 * IPv4 header (RFC 791 §3.1), read in place.
 *
 * The accessors take the packet as a Uint8Array whose byte 0 is the first
 * byte of the IP header (a TUN device in IFF_NO_PI mode hands us exactly
 * that) and never copy. They do no validation: `ip/input.ts` checks the
 * header before anything else reads it. `ip-packet` is the oracle for this
 * codec in the tests; it is not on the hot path (see the README for the
 * measured difference).
 */
import { readIpv4, writeIpv4, type Ipv4Address } from './addr.ts';
import * as bytes from './bytes.ts';
import { checksum } from './checksum.ts';

// Module-local bindings of the byte helpers, as in tcp.ts (an imported
// binding is read through the module's import cell at every call).
const { readU16, writeU16 } = bytes;

export const IPV4_MIN_HEADER = 20;
/** Byte position of the header checksum (RFC 791 §3.1). */
export const IPV4_CHECKSUM_FIELD = 10;
export const IPV4_MAX_PACKET = 65535;

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** Flag bits of the 16-bit flags/fragment-offset word. */
export const IP_FLAG_RESERVED = 0x8000;
export const IP_FLAG_DF = 0x4000;
export const IP_FLAG_MF = 0x2000;
export const IP_OFFSET_MASK = 0x1fff;

export const ipVersion = (b: Uint8Array): number => b[0]! >> 4;
/** Header length in bytes (IHL × 4). */
export const ipHeaderLength = (b: Uint8Array): number => (b[0]! & 15) << 2;
export const ipTos = (b: Uint8Array): number => b[1]!;
export const ipTotalLength = (b: Uint8Array): number => readU16(b, 2);
export const ipId = (b: Uint8Array): number => readU16(b, 4);
/** Flags and fragment offset as one word; see the IP_FLAG_* masks. */
export const ipFragWord = (b: Uint8Array): number => readU16(b, 6);
/** Fragment offset in bytes. */
export const ipFragOffset = (b: Uint8Array): number => (ipFragWord(b) & IP_OFFSET_MASK) << 3;
export const ipMoreFragments = (b: Uint8Array): boolean => (b[6]! & 0x20) !== 0;
export const ipTtl = (b: Uint8Array): number => b[8]!;
export const ipProtocol = (b: Uint8Array): number => b[9]!;
export const ipChecksum = (b: Uint8Array): number => readU16(b, 10);
export const ipSource = (b: Uint8Array): Ipv4Address => readIpv4(b, 12);
export const ipDestination = (b: Uint8Array): Ipv4Address => readIpv4(b, 16);

/** A decoded header, for tests, traces and tools (the hot path uses the accessors). */
export interface Ipv4Header {
  version: number;
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** Fragment offset in bytes. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  source: Ipv4Address;
  destination: Ipv4Address;
}

export function decodeIpv4Header(b: Uint8Array): Ipv4Header {
  const word = ipFragWord(b);
  return {
    version: ipVersion(b),
    headerLength: ipHeaderLength(b),
    tos: ipTos(b),
    totalLength: ipTotalLength(b),
    id: ipId(b),
    dontFragment: (word & IP_FLAG_DF) !== 0,
    moreFragments: (word & IP_FLAG_MF) !== 0,
    fragmentOffset: (word & IP_OFFSET_MASK) << 3,
    ttl: ipTtl(b),
    protocol: ipProtocol(b),
    checksum: ipChecksum(b),
    source: ipSource(b),
    destination: ipDestination(b),
  };
}

export interface Ipv4HeaderFields {
  tos?: number;
  /** Total length of the packet, header included. */
  totalLength: number;
  id: number;
  dontFragment: boolean;
  moreFragments?: boolean;
  /** Fragment offset in bytes; a multiple of 8. */
  fragmentOffset?: number;
  ttl: number;
  protocol: number;
  source: Ipv4Address;
  destination: Ipv4Address;
}

/**
 * The header of a whole (unfragmented) datagram, from positional fields:
 * what IP output writes for every locally generated packet, with no object
 * per packet on the hot path. A 20-byte header (no options) at `offset`,
 * checksum included.
 */
export function writeIpv4DatagramHeader(
  b: Uint8Array,
  offset: number,
  totalLength: number,
  tos: number,
  id: number,
  dontFragment: boolean,
  ttl: number,
  protocol: number,
  source: Ipv4Address,
  destination: Ipv4Address,
): void {
  b[offset] = 0x45;
  b[offset + 1] = tos;
  writeU16(b, offset + 2, totalLength);
  writeU16(b, offset + 4, id);
  writeU16(b, offset + 6, dontFragment ? IP_FLAG_DF : 0);
  b[offset + 8] = ttl;
  b[offset + 9] = protocol;
  b[offset + 10] = 0;
  b[offset + 11] = 0;
  writeIpv4(b, offset + 12, source);
  writeIpv4(b, offset + 16, destination);
  writeU16(b, offset + IPV4_CHECKSUM_FIELD, checksum(b, offset, offset + IPV4_MIN_HEADER));
}

/** Writes a 20-byte header (no options) at `offset` with its checksum. */
export function writeIpv4Header(b: Uint8Array, offset: number, h: Ipv4HeaderFields): void {
  b[offset] = 0x45;
  b[offset + 1] = h.tos ?? 0;
  writeU16(b, offset + 2, h.totalLength);
  writeU16(b, offset + 4, h.id);
  writeU16(
    b,
    offset + 6,
    (h.dontFragment ? IP_FLAG_DF : 0) | (h.moreFragments ? IP_FLAG_MF : 0) | (((h.fragmentOffset ?? 0) >>> 3) & IP_OFFSET_MASK),
  );
  b[offset + 8] = h.ttl;
  b[offset + 9] = h.protocol;
  b[offset + 10] = 0;
  b[offset + 11] = 0;
  writeIpv4(b, offset + 12, h.source);
  writeIpv4(b, offset + 16, h.destination);
  writeU16(b, offset + IPV4_CHECKSUM_FIELD, checksum(b, offset, offset + IPV4_MIN_HEADER));
}

/**
 * Rewrites the total length and the flags/fragment-offset word of the header
 * at byte 0 (its options left as they are) and its checksum: what
 * fragmentation and reassembly change in a header they copy (ip_fragment,
 * ip_frag_reasm).
 */
export function rewriteIpv4Fragment(b: Uint8Array, totalLength: number, fragWord: number): void {
  const hl = ipHeaderLength(b);
  writeU16(b, 2, totalLength);
  writeU16(b, 6, fragWord);
  writeU16(b, IPV4_CHECKSUM_FIELD, 0);
  writeU16(b, IPV4_CHECKSUM_FIELD, checksum(b, 0, hl));
}
