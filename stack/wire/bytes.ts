/**
 * Big-endian 16- and 32-bit fields (network byte order, RFC 791 appendix B)
 * read from and written to a Uint8Array at a byte offset. The
 * one home of these helpers: every codec and tool uses them instead of
 * shifting bytes itself.
 *
 * They never allocate and do not check bounds: a read past the end takes
 * the missing bytes as 0, a write past the end is lost (typed-array
 * semantics). A write stores the value modulo 2^16 or 2^32, so a negative
 * sequence number lands as its unsigned 32-bit form.
 */

/** The unsigned 16-bit field at `i`. */
export const readU16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;

/** The unsigned 32-bit field at `i` (0..2^32-1, never negative). */
export const readU32 = (b: Uint8Array, i: number): number =>
  ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

// A Uint8Array store keeps the low 8 bits of the value (ToUint8), so no mask is needed.

export function writeU16(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 8;
  b[i + 1] = v;
}

export function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = v >>> 16;
  b[i + 2] = v >>> 8;
  b[i + 3] = v;
}
