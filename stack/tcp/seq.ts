/**
 * 32-bit sequence-number arithmetic (RFC 9293 §3.4): every comparison of
 * sequence numbers in the stack goes through here, so wrap-around is handled
 * in exactly one place. `(a - b) | 0` is the signed distance modulo 2^32,
 * which is what "a is before b" means as long as the two are within 2^31.
 */
export const seqAdd = (a: number, n: number): number => (a + n) >>> 0;
/** Signed distance a − b. */
export const seqDiff = (a: number, b: number): number => (a - b) | 0;
export const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
export const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;
export const seqGt = (a: number, b: number): boolean => ((a - b) | 0) > 0;
export const seqGe = (a: number, b: number): boolean => ((a - b) | 0) >= 0;
export const seqMax = (a: number, b: number): number => (seqGt(a, b) ? a : b);
export const seqMin = (a: number, b: number): number => (seqLt(a, b) ? a : b);
/** lo <= x <= hi, modulo 2^32. */
export const seqBetween = (lo: number, x: number, hi: number): boolean => seqLe(lo, x) && seqLe(x, hi);
