/**
 * ICMPv6 (RFC 4443), read in place from the message (byte 0 is the ICMPv6
 * type). Every message starts with type, code and checksum (§2.1); the next
 * 4 bytes are the echo identifier and sequence (§4.1, §4.2), the MTU of a
 * Packet Too Big (§3.2), the pointer of a Parameter Problem (§3.4), or
 * unused, and the error messages then quote as much of the offending packet
 * as fits in the minimum MTU (§2.4 (c)).
 *
 * Unlike ICMP for IPv4, the checksum covers the IPv6 pseudo header (§2.3,
 * RFC 8200 §8.1) with Next Header 58, so the writer and the check take the
 * address sums (ipv6WordSum of source plus destination).
 *
 * Names follow Linux's include/uapi/linux/icmpv6.h and, for Neighbor
 * Discovery (RFC 4861), include/net/ndisc.h.
 */
import * as bytes from './bytes.ts';
import { checksum, verifies } from './checksum.ts';
import { NEXTHDR_ICMPV6, pseudoHeaderSum6 } from './ipv6.ts';

// Module-local bindings of the byte helpers, as in tcp.ts (an imported
// binding is read through the module's import cell at every call).
const { readU16, readU32, writeU16, writeU32 } = bytes;

export const ICMPV6_HEADER = 8;

/** Error messages (RFC 4443 §3): types 0..127. */
export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PKT_TOOBIG = 2;
export const ICMPV6_TIME_EXCEED = 3;
export const ICMPV6_PARAMPROB = 4;

/** Informational messages (RFC 4443 §4 and others): types 128..255. */
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
/** Multicast Listener Discovery (RFC 2710 §3). */
export const ICMPV6_MGM_QUERY = 130;
export const ICMPV6_MGM_REPORT = 131;
export const ICMPV6_MGM_REDUCTION = 132;
/** Neighbor Discovery (RFC 4861 §4). */
export const NDISC_ROUTER_SOLICITATION = 133;
export const NDISC_ROUTER_ADVERTISEMENT = 134;
export const NDISC_NEIGHBOUR_SOLICITATION = 135;
export const NDISC_NEIGHBOUR_ADVERTISEMENT = 136;
export const NDISC_REDIRECT = 137;
/** MLDv2 report (RFC 3810 §5.2). */
export const ICMPV6_MLD2_REPORT = 143;

/** The type bit that marks an informational message (RFC 4443 §2.1). */
export const ICMPV6_INFOMSG_MASK = 0x80;

/** Destination Unreachable codes (RFC 4443 §3.1). */
export const ICMPV6_NOROUTE = 0;
export const ICMPV6_ADM_PROHIBITED = 1;
/** "Beyond scope of source address". */
export const ICMPV6_NOT_NEIGHBOUR = 2;
export const ICMPV6_ADDR_UNREACH = 3;
export const ICMPV6_PORT_UNREACH = 4;
export const ICMPV6_POLICY_FAIL = 5;
export const ICMPV6_REJECT_ROUTE = 6;

/** Time Exceeded codes (RFC 4443 §3.3). */
export const ICMPV6_EXC_HOPLIMIT = 0;
export const ICMPV6_EXC_FRAGTIME = 1;

/** Parameter Problem codes (RFC 4443 §3.4; code 3 from RFC 7112 §5). */
export const ICMPV6_HDR_FIELD = 0;
export const ICMPV6_UNK_NEXTHDR = 1;
export const ICMPV6_UNK_OPTION = 2;
export const ICMPV6_HDR_INCOMP = 3;

export const icmp6Type = (m: Uint8Array): number => m[0]!;
export const icmp6Code = (m: Uint8Array): number => m[1]!;
export const icmp6Checksum = (m: Uint8Array): number => readU16(m, 2);
/** The 4-byte field after the checksum: the MTU of a Packet Too Big, the pointer of a Parameter Problem. */
export const icmp6RestOfHeader = (m: Uint8Array): number => readU32(m, 4);
export const icmp6EchoId = (m: Uint8Array): number => readU16(m, 4);
export const icmp6EchoSequence = (m: Uint8Array): number => readU16(m, 6);

/**
 * True for error messages, the types with the high-order bit clear
 * (RFC 4443 §2.1). §2.4 (e) forbids answering one with another error.
 */
export function isIcmpv6Error(type: number): boolean {
  return (type & ICMPV6_INFOMSG_MASK) === 0;
}

/**
 * Writes type, code and, when given, the 32-bit rest-of-header field of the
 * message at `offset`, then its checksum over [offset, end) with the IPv6
 * pseudo header (RFC 4443 §2.3): upper-layer length end - offset, Next
 * Header 58. `addressSums` is ipv6WordSum(source) + ipv6WordSum(destination).
 */
export function writeIcmpv6Header(
  b: Uint8Array,
  offset: number,
  end: number,
  type: number,
  code: number,
  rest: number | undefined,
  addressSums: number,
): void {
  b[offset] = type;
  b[offset + 1] = code;
  writeU16(b, offset + 2, 0);
  if (rest !== undefined) writeU32(b, offset + 4, rest);
  writeU16(b, offset + 2, checksum(b, offset, end, pseudoHeaderSum6(addressSums, NEXTHDR_ICMPV6, end - offset)));
}

/** True when the message in [offset, end), checksum field included, verifies with the IPv6 pseudo header. */
export function icmpv6ChecksumOk(b: Uint8Array, offset: number, end: number, addressSums: number): boolean {
  return verifies(b, offset, end, pseudoHeaderSum6(addressSums, NEXTHDR_ICMPV6, end - offset));
}
