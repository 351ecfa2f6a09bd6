/**
 * SO_RCVTIMEO and SO_SNDTIMEO in packet scripts. The option is a struct
 * timeval, which a script writes as a string of escaped bytes
 * (packetdrill's unescape_cstring_expression makes any byte of \xhh):
 * `"\x01\x00\x00\x00\x00\x00\x00\x00\x20\xa1\x07\x00\x00\x00\x00\x00"` is
 * {tv_sec=1, tv_usec=500000}, two little-endian longs. The stack keeps it
 * (stack/tcp/sock-timeout.ts); here are the script's side of setsockopt
 * and getsockopt, and the deadline a blocking call gets from the timeout.
 */
import type { Expr } from './ast.ts';
import { SyscallError, type Outcome, type Prepared } from './call-types.ts';
import { cStringBytes, printableBytes } from './cstring.ts';
import type { SyscallHost } from './sockets.ts';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { SocketError, type Endpoint } from '../../stack/socket/types.ts';
import { TIMEVAL_SIZE } from '../../stack/tcp/sock-timeout.ts';

export type TimeoutOption = 'SO_RCVTIMEO' | 'SO_SNDTIMEO';

function tcpOf(ep: Endpoint, option: TimeoutOption): TcpEndpoint {
  if (!(ep instanceof TcpEndpoint)) throw new SyscallError(`${option} needs a TCP endpoint`);
  return ep;
}

/**
 * setsockopt(SO_RCVTIMEO or SO_SNDTIMEO): the first optlen bytes of the
 * script's value, as the kernel copies them. Fewer than 16 is EINVAL
 * (sock_copy_user_timeval) whatever the value; an int's [N] with 16 or
 * more, or a string shorter than what the kernel reads, would hand it
 * bytes of packetdrill's own memory, so those are refused.
 */
export function timeoutSetter(ep: Endpoint, option: TimeoutOption, val: Expr, optlen: number): () => void {
  const tcp = tcpOf(ep, option);
  const einval = (): never => {
    throw new SocketError('EINVAL', 'setsockopt');
  };
  if (optlen < TIMEVAL_SIZE && (val.type === 'string' || val.type === 'list')) return einval;
  if (val.type === 'list') throw new SyscallError(`setsockopt(${option}) with an int is not supported by tcpstack pkt (a struct timeval is 16 bytes: write it as a string, "\\x01\\x00..." )`);
  if (val.type !== 'string') throw new SyscallError(`unsupported setsockopt value type: ${val.type}`);
  const bytes = cStringBytes(val.value);
  // syscall_setsockopt hands over the string's buffer, calloc'ed to the
  // escaped text's length plus a NUL: zero up to there, unknown beyond.
  if (TIMEVAL_SIZE > val.value.length + 1) {
    throw new SyscallError(`setsockopt(${option}) with ${bytes.length} bytes of string is not supported by tcpstack pkt: the kernel reads ${TIMEVAL_SIZE}`);
  }
  const optval = new Uint8Array(TIMEVAL_SIZE);
  optval.set(bytes.subarray(0, TIMEVAL_SIZE));
  return () => tcp.setsockopt(option, optval);
}

const s32le = (b: Uint8Array): number => (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) | 0;

/**
 * getsockopt(SO_RCVTIMEO or SO_SNDTIMEO): sk_getsockopt copies
 * min(optlen, 16) bytes of the struct timeval (sock_get_timeout) and
 * returns that length; a negative optlen is EINVAL. packetdrill then
 * checks the length, and the bytes against a string of optlen bytes, or
 * the first 4 as an int against `[N]` (optlen 4 only).
 */
export function timeoutGetter(ep: Endpoint, option: TimeoutOption, val: Expr, optlen: number, expectedInt: () => number): Prepared {
  const tcp = tcpOf(ep, option);
  if (val.type !== 'string' && val.type !== 'list') throw new SyscallError(`unsupported getsockopt value type: ${val.type}`);
  let live: Uint8Array = new Uint8Array(0);
  const step = (): Outcome => {
    if (optlen < 0) return { ret: -1, errno: 'EINVAL' };
    try {
      live = tcp.getsockopt(option).subarray(0, Math.min(optlen, TIMEVAL_SIZE));
    } catch (e) {
      if (e instanceof SocketError) return { ret: -1, errno: e.code };
      throw e;
    }
    return { ret: 0 };
  };
  const after = (o: Outcome): void => {
    if (o.ret < 0) return;
    if (live.length !== optlen) throw new SyscallError(`Bad getsockopt optlen: expected: ${optlen} actual: ${live.length}`);
    if (val.type === 'list') {
      if (optlen !== 4) throw new SyscallError(`Unsupported getsockopt optlen: ${optlen}`);
      const want = expectedInt();
      if (s32le(live) !== want) throw new SyscallError(`Bad getsockopt optval: expected: ${want} actual: ${s32le(live)}`);
      return;
    }
    const want = cStringBytes(val.value);
    if (want.length !== optlen) {
      throw new SyscallError(
        `Bad getsockopt optval: expected optlen (${optlen} bytes) does not match length of expected optval string '${printableBytes(want)}' (${want.length} bytes)`,
      );
    }
    if (want.some((b, i) => b !== live[i])) throw new SyscallError(`Bad getsockopt optval: expected: '${printableBytes(want)}' actual: '${printableBytes(live)}'`);
  };
  return { mode: 'exact', step, wakeAt: undefined, after };
}

/**
 * How long a blocking call may wait, taken when it starts as the kernel
 * takes sock_rcvtimeo / sock_sndtimeo (0 for a non-blocking call). A zero
 * timeout returns at once as a non-blocking call does; otherwise the call
 * gives up `timeout` after it started: the kernel's waits count down one
 * timeo across every sleep of the call (sk_wait_data, sk_stream_wait_memory,
 * inet_wait_for_connect, inet_csk_wait_for_connect), and in virtual time
 * the call spends no time awake.
 */
export interface Deadline {
  /** µs at which the call gives up; undefined: it waits for as long as it takes (or does not wait). */
  readonly at: number | undefined;
  /** True when the call must not wait (any more): non-blocking, a zero timeout, or the timeout reached. */
  nonblocking(): boolean;
  /** The timeout is over (not merely a non-blocking call). */
  expired(): boolean;
}

export function callDeadline(host: SyscallHost, ep: Endpoint, option: TimeoutOption, nonblock: boolean): Deadline {
  const us = nonblock ? 0 : ep instanceof TcpEndpoint ? ep.timeoutUsecs(option) : undefined;
  const at = us === undefined || us === 0 ? undefined : host.now() + us;
  const expired = (): boolean => at !== undefined && host.now() >= at;
  return { at, expired, nonblocking: () => us === 0 || expired() };
}
