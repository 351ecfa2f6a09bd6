/**
 * ICMP for IPv4 (RFC 792), read in place from the ICMP message (byte 0 is the
 * ICMP type). Echo carries an identifier and sequence number; the error
 * messages carry a 4-byte field (unused, or the next-hop MTU for
 * "fragmentation needed", RFC 1191) followed by the quoted datagram.
 */
import * as bytes from './bytes.ts';
import { checksum } from './checksum.ts';

// A module-local binding, as in tcp.ts (an imported one is read through the
// module's import cell at every call).
const { readU16, readU32, writeU16, writeU32 } = bytes;

export const ICMP_HEADER = 8;

export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;
export const ICMP_TIMESTAMP = 13;
export const ICMP_TIMESTAMP_REPLY = 14;

/** Destination-unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812). */
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;
export const ICMP_PKT_FILTERED = 13;

/** Time-exceeded codes. */
export const ICMP_EXC_TTL = 0;
export const ICMP_EXC_FRAGTIME = 1;

export const icmpType = (m: Uint8Array): number => m[0]!;
export const icmpCode = (m: Uint8Array): number => m[1]!;
export const icmpChecksum = (m: Uint8Array): number => readU16(m, 2);
export const icmpEchoId = (m: Uint8Array): number => readU16(m, 4);
export const icmpEchoSequence = (m: Uint8Array): number => readU16(m, 6);
/** The next-hop MTU of a "fragmentation needed" message (RFC 1191 §4). */
export const icmpNextHopMtu = (m: Uint8Array): number => readU16(m, 6);
/** The quoted original datagram of an error message. */
export const icmpQuoted = (m: Uint8Array): Uint8Array => m.subarray(ICMP_HEADER);

/** True for the types RFC 1122 §3.2.2 calls error messages (never answered by another error). */
export function isIcmpError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACH ||
    type === ICMP_SOURCE_QUENCH ||
    type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED ||
    type === ICMP_PARAMETER_PROBLEM
  );
}

/** The 4-byte field after the checksum: echo id and sequence, the pointer of a parameter problem, the next-hop MTU. */
export const icmpRestOfHeader = (m: Uint8Array): number => readU32(m, 4);

/** Writes type, code and the rest-of-header field of the message at `offset`, then its checksum over [offset, end). */
export function writeIcmpHeader(b: Uint8Array, offset: number, end: number, type: number, code: number, rest?: number): void {
  b[offset] = type;
  b[offset + 1] = code;
  writeU16(b, offset + 2, 0);
  if (rest !== undefined) writeU32(b, offset + 4, rest);
  writeU16(b, offset + 2, checksum(b, offset, end));
}
