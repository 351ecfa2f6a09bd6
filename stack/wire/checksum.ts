/**
 * The Internet checksum (RFC 1071): the 16-bit one's complement of the one's
 * complement sum of the data taken as big-endian 16-bit words.
 *
 * Sums are kept as plain numbers and folded once at the end: a 64 KiB
 * datagram adds at most 32768 words of 0xffff, far below 2^53, so no
 * intermediate fold is needed.
 */

/** Adds bytes [start, end) of `b` as big-endian 16-bit words to `sum`. */
export function sumWords(b: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  const pairsEnd = end - ((end - start) & 1);
  for (; i < pairsEnd; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8; // an odd trailing byte is padded with zero
  return sum;
}

/** Folds a running sum into 16 bits with end-around carry. */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for bytes [start, end) plus an initial sum. */
export function checksum(b: Uint8Array, start: number, end: number, initial = 0): number {
  return ~fold(sumWords(b, start, end, initial)) & 0xffff;
}

/**
 * True when bytes [start, end), checksum field included, verify: the folded
 * sum of a correct packet is all ones (RFC 1071 §1, "checking").
 */
export function verifies(b: Uint8Array, start: number, end: number, initial = 0): boolean {
  return fold(sumWords(b, start, end, initial)) === 0xffff;
}

/** The sum of the IPv4 pseudo header used by TCP and UDP (RFC 9293 §3.1, RFC 768). */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (
    (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length
  );
}
