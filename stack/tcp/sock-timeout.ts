/**
 * SO_RCVTIMEO and SO_SNDTIMEO as net/core/sock.c keeps them: the socket's
 * sk_rcvtimeo / sk_sndtimeo in jiffies (HZ 250), set from and read back as
 * a struct __kernel_old_timeval, which on x86-64 is two little-endian
 * longs, tv_sec then tv_usec (16 bytes). The blocking calls wait at most
 * that long (sock_rcvtimeo, sock_sndtimeo); the waiting itself is the
 * caller's (the socket layer is non-blocking).
 *
 * Jiffies are bigints: a tv_sec close to LONG_MAX / HZ still counts
 * exactly, as the kernel's longs do.
 */
import { HZ, jiffiesToMsecs } from './jiffies.ts';

/** MAX_SCHEDULE_TIMEOUT (LONG_MAX): no timeout, what a new socket has. */
export const MAX_SCHEDULE_TIMEOUT = 0x7fffffffffffffffn;

/** sizeof(struct __kernel_old_timeval) on x86-64. */
export const TIMEVAL_SIZE = 16;

const USEC_PER_SEC = 1_000_000n;
const BIG_HZ = BigInt(HZ);

export interface Timeval {
  sec: bigint;
  usec: bigint;
}

/** sock_copy_user_timeval (old_timeval, not compat): fewer than 16 bytes is EINVAL; more are ignored. */
export function timevalFromBytes(bytes: Uint8Array): Timeval | 'EINVAL' {
  if (bytes.length < TIMEVAL_SIZE) return 'EINVAL';
  const view = new DataView(bytes.buffer, bytes.byteOffset, TIMEVAL_SIZE);
  return { sec: view.getBigInt64(0, true), usec: view.getBigInt64(8, true) };
}

/** The 16 bytes of a struct __kernel_old_timeval (what sock_get_timeout copies out). */
export function timevalBytes(tv: Timeval): Uint8Array {
  const bytes = new Uint8Array(TIMEVAL_SIZE);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, tv.sec, true);
  view.setBigInt64(8, tv.usec, true);
  return bytes;
}

/**
 * sock_set_timeout: tv_usec outside [0, 1e6) is EDOM; a negative tv_sec
 * is a zero timeout (the call returns at once, as a non-blocking one);
 * {0, 0}, or a tv_sec of LONG_MAX / HZ - 1 or more, is no timeout; else
 * tv_sec whole seconds of jiffies and tv_usec rounded up to whole jiffies
 * (DIV_ROUND_UP by USEC_PER_SEC / HZ).
 */
export function timeoutFromTimeval(tv: Timeval): bigint | 'EDOM' {
  if (tv.usec < 0n || tv.usec >= USEC_PER_SEC) return 'EDOM';
  if (tv.sec < 0n) return 0n;
  if ((tv.sec === 0n && tv.usec === 0n) || tv.sec >= MAX_SCHEDULE_TIMEOUT / BIG_HZ - 1n) return MAX_SCHEDULE_TIMEOUT;
  const tick = USEC_PER_SEC / BIG_HZ;
  return tv.sec * BIG_HZ + (tv.usec + tick - 1n) / tick;
}

/** sock_get_timeout: {0, 0} for none, else whole seconds and the rest in µs (a zero timeout reads as {0, 0} too). */
export function timevalFromTimeout(timeo: bigint): Timeval {
  if (timeo === MAX_SCHEDULE_TIMEOUT) return { sec: 0n, usec: 0n };
  return { sec: timeo / BIG_HZ, usec: ((timeo % BIG_HZ) * USEC_PER_SEC) / BIG_HZ };
}

/**
 * The longest a blocking call waits, in µs: undefined for no timeout, 0
 * for none at all (it returns what a non-blocking call would).
 */
export function timeoutUsecs(timeo: bigint): number | undefined {
  if (timeo === MAX_SCHEDULE_TIMEOUT) return undefined;
  return jiffiesToMsecs(Number(timeo)) * 1000;
}
