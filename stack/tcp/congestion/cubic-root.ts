/**
 * The cube root CUBIC's K comes from, computed as Linux's cubic_root
 * (net/ipv4/tcp_cubic.c): a 64-entry table gives the leading bits, one
 * Newton-Raphson step refines them (x = (2x + a/x²) / 3, with x(x-1) for x²
 * and ×341/1024 for /3). Integer results identical to the kernel's, so K (and
 * every cwnd that follows from it) matches to the segment. BigInt: the
 * argument is a u64 (cube_factor × (W_max - cwnd)); this runs once per epoch.
 */

/** cbrt(x) MSB values for x in [0..63]: v = cbrt(x << 18) - 1, refined by hand (the kernel's table). */
const V: readonly number[] = [
  0, 54, 54, 54, 118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156, 157, 161, 164, 168, 170, 173, 176, 179, 181, 185, 187, 190,
  192, 194, 197, 199, 200, 202, 204, 206, 209, 211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229, 231, 232, 234, 236, 237, 239, 240,
  242, 244, 245, 246, 248, 250, 251, 252, 254,
];

const U32 = 0xffffffffn;
const U64 = (1n << 64n) - 1n;

/** fls64: index of the most significant set bit, 1-based (0 for 0). */
function fls64(a: bigint): number {
  return a === 0n ? 0 : a.toString(2).length;
}

export function cubicRoot(input: bigint): number {
  const a = input & U64;
  let b = fls64(a);
  if (b < 7) return (V[Number(a)]! + 35) >> 6;
  b = ((b * 84) >> 8) - 1;
  const shift = Number(a >> BigInt(b * 3));
  let x = BigInt((((V[shift]! + 10) << b) >>> 0) >>> 6);
  // x = 2x + a / (x (x - 1)), in u32 as the kernel's (u32)div64_u64.
  x = (2n * x + ((a / (x * (x - 1n))) & U32)) & U32;
  x = ((x * 341n) & U32) >> 10n;
  return Number(x);
}
