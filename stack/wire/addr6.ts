/**
 * IPv6 addresses (RFC 4291 §2) as 16 bytes in network order.
 *
 * An address is carried as a Uint8Array plus a byte offset, so that the
 * predicates and comparisons read it where it lies in a packet (the source
 * at IPV6_SRC_OFFSET, the destination at IPV6_DST_OFFSET) without a copy.
 * Only the text parser, the constructors and the constants allocate.
 *
 * Text goes in and out exactly as glibc does it, because the addresses we
 * print are compared with what `ip`, `ss` and Node's socket.remoteAddress
 * print, and the addresses we accept should be those a C program given the
 * same text would accept:
 *   - parseIpv6 is glibc's inet_pton6 (resolv/inet_pton.c);
 *   - formatIpv6 is glibc's inet_ntop6 (resolv/inet_ntop.c, from BIND).
 * inet_ntop6 is close to RFC 5952 but not the same: it also prints the
 * deprecated IPv4-compatible form (RFC 4291 §2.5.5.1) with a dotted tail,
 * so 0:0:0:0:0:0:1:0 is "::0.1.0.0" and not RFC 5952's "::1:0".
 */
import { formatIpv4, parseIpv4, type Ipv4Address } from './addr.ts';
import * as bytes from './bytes.ts';

// Module-local bindings of the byte helpers, as in tcp.ts (an imported
// binding is read through the module's import cell at every call).
const { readU16, readU32, writeU32 } = bytes;

/** The length of an address in bytes. */
export const IPV6_ADDRESS_LENGTH = 16;

/**
 * The unspecified address :: (RFC 4291 §2.5.2). Shared: callers must not
 * write to it (a non-empty typed array cannot be frozen).
 */
export const IPV6_ANY: Uint8Array = new Uint8Array(16);

/** The loopback address ::1 (RFC 4291 §2.5.3). Shared: callers must not write to it. */
export const IPV6_LOOPBACK: Uint8Array = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

/** The link-local all-nodes group ff02::1 (RFC 4291 §2.7.1). Shared: callers must not write to it. */
export const IPV6_ALL_NODES: Uint8Array = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

/** The link-local all-routers group ff02::2 (RFC 4291 §2.7.1). Shared: callers must not write to it. */
export const IPV6_ALL_ROUTERS: Uint8Array = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);

/** The value of an ASCII hex digit, or -1 (glibc's hex_digit_value). */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30; // 0-9
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10; // a-f
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10; // A-F
  return -1;
}

const COLON = 0x3a;
const DOT = 0x2e;

/**
 * Parses the text form of RFC 4291 §2.2 into 16 bytes; undefined for
 * anything glibc's inet_pton(AF_INET6) rejects. This is a port of its
 * inet_pton6, rule for rule:
 *   - one to four hex digits per group, either case;
 *   - at most one "::", which must stand for at least one zero group
 *     ("1::2:3:4:5:6:7:8" is rejected, "1:2:3:4:5:6:7::" is accepted);
 *   - a single leading or trailing ":" is rejected;
 *   - a dotted quad may end the text, as inet_pton(AF_INET) reads it (no
 *     leading zeros, parseIpv4), and then fills the last 32 bits;
 *   - nothing else: no zone ("%eth0"), brackets, prefix or whitespace.
 */
export function parseIpv6(text: string): Uint8Array | undefined {
  const end = text.length;
  if (end === 0) return undefined;
  const out = new Uint8Array(16);
  let tp = 0; // next byte of `out` to fill
  let colonp = -1; // where the "::" stands in `out`, if one was seen
  let i = 0;
  // A leading "::" is the one place two colons start the text; a single
  // leading colon is an error.
  if (text.charCodeAt(0) === COLON) {
    i = 1;
    if (i === end || text.charCodeAt(i) !== COLON) return undefined;
  }
  let curtok = i; // start of the current group, where a dotted quad would begin
  let digits = 0; // hex digits seen since the last colon
  let val = 0;
  while (i < end) {
    const c = text.charCodeAt(i++);
    const d = hexDigit(c);
    if (d >= 0) {
      if (digits === 4) return undefined;
      val = (val << 4) | d;
      digits++;
      continue;
    }
    if (c === COLON) {
      curtok = i;
      if (digits === 0) {
        if (colonp >= 0) return undefined; // a second "::", or ":::"
        colonp = tp;
        continue;
      }
      if (i === end) return undefined; // a trailing single colon
      if (tp + 2 > 16) return undefined;
      out[tp++] = val >>> 8;
      out[tp++] = val;
      digits = 0;
      val = 0;
      continue;
    }
    if (c === DOT && tp + 4 <= 16) {
      // inet_pton6 hands the rest of the text, from the start of this
      // group, to inet_pton4: the quad must run to the end.
      const v4 = parseIpv4(text.slice(curtok));
      if (v4 === undefined) return undefined;
      writeU32(out, tp, v4);
      tp += 4;
      digits = 0;
      break;
    }
    return undefined;
  }
  if (digits > 0) {
    if (tp + 2 > 16) return undefined;
    out[tp++] = val >>> 8;
    out[tp++] = val;
  }
  if (colonp >= 0) {
    // "::" must expand to at least one zero group.
    if (tp === 16) return undefined;
    const n = tp - colonp;
    out.copyWithin(16 - n, colonp, tp);
    out.fill(0, colonp, 16 - n);
    tp = 16;
  }
  return tp === 16 ? out : undefined;
}

/**
 * The text glibc's inet_ntop(AF_INET6) prints (inet_ntop6, from BIND):
 * lowercase hex without leading zeros; the longest run of two or more zero
 * groups (the first of equal runs) as "::"; and a dotted-quad tail when the
 * run is the first six groups (the IPv4-compatible form, RFC 4291 §2.5.5.1)
 * or the first five followed by ffff (v4-mapped, §2.5.5.2). "::" and "::1"
 * have a run of eight or seven, so they are not written as dotted quads;
 * ::ffff:0:0/96 (RFC 6052's translated form) is printed in plain hex.
 */
export function formatIpv6(b: Uint8Array, offset = 0): string {
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (readU16(b, offset + 2 * i) === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase >= 0) {
      if (bestBase < 0 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && (bestBase < 0 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase >= 0 && bestLen < 2) bestBase = -1; // a single zero group is never compressed

  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && readU16(b, offset + 10) === 0xffff))) {
      s += formatIpv4(readU32(b, offset + 12));
      break;
    }
    s += readU16(b, offset + 2 * i).toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ':';
  return s;
}

export interface Ipv6Prefix {
  address: Uint8Array;
  /** Prefix length in bits, 0..128. */
  length: number;
}

const PREFIX_LENGTH = /^(?:0|[1-9][0-9]{0,2})$/;

/**
 * Parses "address/N" (RFC 4291 §2.3), N decimal 0..128 without leading
 * zeros. The address is kept as written: bits past the prefix are not
 * cleared (ipv6InPrefix ignores them).
 */
export function parseIpv6Prefix(text: string): Ipv6Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseIpv6(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (address === undefined || !PREFIX_LENGTH.test(lengthText)) return undefined;
  const length = Number(lengthText);
  if (length > 128) return undefined;
  return { address, length };
}

/** True when the first p.length bits of the address at `aOffset` are those of p.address (Linux's ipv6_prefix_equal). */
export function ipv6InPrefix(a: Uint8Array, aOffset: number, p: Ipv6Prefix): boolean {
  const whole = p.length >>> 3;
  const q = p.address;
  for (let i = 0; i < whole; i++) if (a[aOffset + i] !== q[i]) return false;
  const bits = p.length & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((a[aOffset + whole]! ^ q[whole]!) & mask) === 0;
}

/** ff00::/8 (RFC 4291 §2.7). */
export const isIpv6Multicast = (b: Uint8Array, offset = 0): boolean => b[offset] === 0xff;

/**
 * The scope of a multicast address: the low nibble of its second byte
 * (RFC 4291 §2.7; 1 interface-local, 2 link-local, 5 site-local, 0xe global).
 */
export const ipv6MulticastScope = (b: Uint8Array, offset = 0): number => b[offset + 1]! & 0x0f;

/** True when bytes [offset, offset + n) are all zero. */
function zeroBytes(b: Uint8Array, offset: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (b[offset + i] !== 0) return false;
  return true;
}

/** ::1 (RFC 4291 §2.5.3). */
export const isIpv6Loopback = (b: Uint8Array, offset = 0): boolean => zeroBytes(b, offset, 15) && b[offset + 15] === 1;

/** :: (RFC 4291 §2.5.2). */
export const isIpv6Unspecified = (b: Uint8Array, offset = 0): boolean => zeroBytes(b, offset, 16);

/** ::ffff:0:0/96, an IPv4 address in IPv6 form (RFC 4291 §2.5.5.2). */
export const isIpv6V4Mapped = (b: Uint8Array, offset = 0): boolean =>
  zeroBytes(b, offset, 10) && b[offset + 10] === 0xff && b[offset + 11] === 0xff;

/** fe80::/10 (RFC 4291 §2.5.6). */
export const isIpv6LinkLocal = (b: Uint8Array, offset = 0): boolean =>
  b[offset] === 0xfe && (b[offset + 1]! & 0xc0) === 0x80;

/** True when the 16 bytes at aOffset in a equal the 16 at bOffset in b. */
export function ipv6Equal(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number): boolean {
  for (let i = 0; i < 16; i++) if (a[aOffset + i] !== b[bOffset + i]) return false;
  return true;
}

/**
 * Copies the 16 bytes at srcOffset in src to dstOffset in dst, byte by byte:
 * no subarray is made, so nothing is allocated. The ranges must not overlap
 * unless they are the same.
 */
export function copyIpv6(dst: Uint8Array, dstOffset: number, src: Uint8Array, srcOffset: number): void {
  for (let i = 0; i < 16; i++) dst[dstOffset + i] = src[srcOffset + i]!;
}

/** A fresh copy of the address at `offset`. */
export const readIpv6 = (b: Uint8Array, offset = 0): Uint8Array => b.slice(offset, offset + 16);

/**
 * The solicited-node multicast group of an address (RFC 4291 §2.7.1):
 * ff02::1:ff00:0/104 with the low 24 bits of the address, which Neighbor
 * Discovery solicits (RFC 4861 §7.2.2; Linux's addrconf_addr_solict_mult).
 */
export function solicitedNodeMulticast(a: Uint8Array, offset = 0): Uint8Array {
  const m = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0);
  m[13] = a[offset + 13]!;
  m[14] = a[offset + 14]!;
  m[15] = a[offset + 15]!;
  return m;
}

/** ::ffff:a.b.c.d for an IPv4 address (RFC 4291 §2.5.5.2). */
export function v4MappedIpv6(v4: Ipv4Address): Uint8Array {
  const m = new Uint8Array(16);
  m[10] = 0xff;
  m[11] = 0xff;
  writeU32(m, 12, v4);
  return m;
}

/** The low 32 bits of the address, unsigned: the IPv4 address of a v4-mapped one. */
export const ipv4FromMapped = (b: Uint8Array, offset = 0): Ipv4Address => readU32(b, offset + 12);

/**
 * The plain (unfolded) sum of the address's eight big-endian 16-bit words:
 * what one address adds to the pseudo-header sum of RFC 8200 §8.1
 * (pseudoHeaderSum6 takes the sum of both). At most 8 × 0xffff.
 */
export function ipv6WordSum(b: Uint8Array, offset: number): number {
  return (
    readU16(b, offset) +
    readU16(b, offset + 2) +
    readU16(b, offset + 4) +
    readU16(b, offset + 6) +
    readU16(b, offset + 8) +
    readU16(b, offset + 10) +
    readU16(b, offset + 12) +
    readU16(b, offset + 14)
  );
}
