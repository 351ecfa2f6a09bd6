/**
 * TCP Fast Open cookies as Linux computes them (net/ipv4/tcp_fastopen.c,
 * RFC 7413 §4.1.2): SipHash-2-4 keyed with the server's Fast Open key, over
 * the SYN's source and destination addresses as they sit in its IP header
 * (__tcp_fastopen_cookie_gen_cipher), the 64-bit result stored little-endian
 * (cpu_to_le64 on the kernel's little-endian machines). So the cookie a
 * given key yields for a given pair of addresses is the kernel's, byte for
 * byte, and packet scripts can name it (packetdrill's TFO_COOKIE).
 *
 * Keys are the `net.ipv4.tcp_fastopen_key` sysctl's and TCP_FASTOPEN_KEY's:
 * a primary and optionally a backup, each 16 bytes, written as four 32-bit
 * words in hex (`a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4`, proc_tcp_fastopen_key),
 * each word stored little-endian.
 */

/** One SipHash key: 16 bytes (siphash_key_t, two little-endian 64-bit words). */
export type FastOpenKey = Uint8Array;

/** TCP_FASTOPEN_KEY_LENGTH. */
export const TCP_FASTOPEN_KEY_LENGTH = 16;
/** TCP_FASTOPEN_KEY_MAX: the primary and a backup. */
export const TCP_FASTOPEN_KEY_MAX = 2;
/** TCP_FASTOPEN_COOKIE_SIZE: the cookies Linux makes are 8 bytes. */
export const TCP_FASTOPEN_COOKIE_SIZE = 8;

const MASK64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & MASK64;

function readU64le(b: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]!);
  return v;
}

/** SipHash-2-4 of `data` under the 16-byte `key` (Aumasson and Bernstein; lib/siphash.c). */
export function siphash24(key: Uint8Array, data: Uint8Array): bigint {
  const k0 = readU64le(key, 0);
  const k1 = readU64le(key, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = (): void => {
    v0 = (v0 + v1) & MASK64;
    v1 = rotl(v1, 13n) ^ v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK64;
    v3 = rotl(v3, 16n) ^ v2;
    v0 = (v0 + v3) & MASK64;
    v3 = rotl(v3, 21n) ^ v0;
    v2 = (v2 + v1) & MASK64;
    v1 = rotl(v1, 17n) ^ v2;
    v2 = rotl(v2, 32n);
  };
  const whole = data.length & ~7;
  for (let i = 0; i < whole; i += 8) {
    const m = readU64le(data, i);
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let last = BigInt(data.length & 0xff) << 56n;
  for (let i = whole; i < data.length; i++) last |= BigInt(data[i]!) << BigInt(8 * (i - whole));
  v3 ^= last;
  round();
  round();
  v0 ^= last;
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  return (v0 ^ v1 ^ v2 ^ v3) & MASK64;
}

/**
 * The cookie for a SYN from `source` to `destination` (4 or 16 bytes each,
 * network order, as in the IP header): SipHash over source then
 * destination, little-endian.
 */
export function fastOpenCookie(key: FastOpenKey, source: Uint8Array, destination: Uint8Array): Uint8Array {
  const data = new Uint8Array(source.length + destination.length);
  data.set(source, 0);
  data.set(destination, source.length);
  let h = siphash24(key, data);
  const out = new Uint8Array(TCP_FASTOPEN_COOKIE_SIZE);
  for (let i = 0; i < TCP_FASTOPEN_COOKIE_SIZE; i++, h >>= 8n) out[i] = Number(h & 0xffn);
  return out;
}

/**
 * proc_tcp_fastopen_key's input: `%x-%x-%x-%x` and optionally
 * `,%x-%x-%x-%x` for the backup. Returns the keys, or undefined when the
 * text is not of that form (the sysctl write then fails with EINVAL).
 */
export function parseFastOpenKeys(text: string): FastOpenKey[] | undefined {
  const parts = text.trim().split(',');
  if (parts.length < 1 || parts.length > TCP_FASTOPEN_KEY_MAX) return undefined;
  const keys: FastOpenKey[] = [];
  for (const part of parts) {
    const words = part.split('-');
    if (words.length !== 4 || !words.every((w) => /^(0x)?[0-9a-fA-F]{1,8}$/.test(w))) return undefined;
    const key = new Uint8Array(TCP_FASTOPEN_KEY_LENGTH);
    const view = new DataView(key.buffer);
    words.forEach((w, i) => view.setUint32(4 * i, parseInt(w, 16), true));
    keys.push(key);
  }
  return keys;
}

/** proc_tcp_fastopen_key's output: each key as `%08x-%08x-%08x-%08x`, the backup after a comma. */
export function formatFastOpenKeys(keys: readonly FastOpenKey[]): string {
  return keys
    .map((key) => {
      const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
      return [0, 1, 2, 3].map((i) => view.getUint32(4 * i, true).toString(16).padStart(8, '0')).join('-');
    })
    .join(',');
}
