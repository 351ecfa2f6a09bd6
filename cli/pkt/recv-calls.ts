/**
 * The receive calls of packet scripts (read, readv, recv, recvfrom,
 * recvmsg) as tcp_recvmsg_locked carries them out on our Endpoint: the
 * flags MSG_PEEK (the bytes stay queued), MSG_TRUNC (TCP discards the bytes
 * and returns their count), MSG_WAITALL and MSG_DONTWAIT, the target a
 * blocking read waits for (sock_rcvlowat: the whole count under
 * MSG_WAITALL, else SO_RCVLOWAT's mark, at most the count), and recvmsg's
 * control messages: TCP_CM_INQ on a TCP_INQ socket, put as put_cmsg puts
 * it (MSG_CTRUNC when the script's msg_control has no room for it).
 *
 * A blocking attempt that would wait returns undefined; the runner attempts
 * it again whenever the stack changed (syscalls.ts), and once more when
 * SO_RCVTIMEO's time is up, when the call returns what it has as a
 * non-blocking one would (sock-timeouts.ts).
 */
import type { Deadline } from './sock-timeouts.ts';
import { SYMBOLS } from './symbols.ts';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { POLLERR, POLLHUP, POLLIN, POLLRDHUP, SocketError, type Endpoint } from '../../stack/socket/types.ts';

export interface RecvOutcome {
  ret: number;
  errno?: string;
  /** msg_flags the call sets (MSG_OOB, and MSG_TRUNC for a 0-byte MSG_OOB read). */
  msgFlags?: number;
}

const MSG_PEEK = SYMBOLS.MSG_PEEK!;
const MSG_TRUNC = SYMBOLS.MSG_TRUNC!;
const MSG_DONTWAIT = SYMBOLS.MSG_DONTWAIT!;
const MSG_WAITALL = SYMBOLS.MSG_WAITALL!;
const MSG_NOSIGNAL = SYMBOLS.MSG_NOSIGNAL!;
const MSG_CMSG_CLOEXEC = SYMBOLS.MSG_CMSG_CLOEXEC!;
const MSG_OOB = SYMBOLS.MSG_OOB!;
export const MSG_CTRUNC = SYMBOLS.MSG_CTRUNC!;

/** The flags a receive call may carry here; MSG_NOSIGNAL and MSG_CMSG_CLOEXEC change nothing a script sees. */
export const RECV_FLAGS = MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT | MSG_WAITALL | MSG_NOSIGNAL | MSG_CMSG_CLOEXEC | MSG_OOB;

export interface RecvRequest {
  ep: Endpoint;
  /** Bytes asked for (the buffer's length, or the iovecs' sum). */
  count: number;
  flags: number;
  /** When the call stops waiting: at once (O_NONBLOCK, MSG_DONTWAIT, a zero SO_RCVTIMEO) or when SO_RCVTIMEO is up. */
  deadline: Deadline;
  /** The buffer is NULL: copying into it faults (EFAULT), unless MSG_TRUNC means nothing is copied. */
  isNull: boolean;
}

/** SO_RCVLOWAT of a TCP endpoint (1 for any other). */
function rcvLowat(ep: Endpoint): number {
  return ep instanceof TcpEndpoint ? ep.getsockopt('SO_RCVLOWAT') : 1;
}

/** MSG_PEEK, which only a TCP endpoint offers (the runner's endpoints all are). */
function peekOf(ep: Endpoint, count: number): Uint8Array | null {
  if (!(ep instanceof TcpEndpoint)) throw new TypeError('MSG_PEEK needs a TCP endpoint');
  return ep.peek(count);
}

function failed(e: unknown): RecvOutcome {
  if (e instanceof SocketError) return { ret: -1, errno: e.code };
  throw e;
}

/**
 * recv(MSG_OOB) (tcp_recv_urg): the urgent byte, 1 byte (none copied under
 * MSG_TRUNC; a NULL buffer faults after the byte was taken), or 0 with
 * MSG_TRUNC for a 0-byte buffer; msg_flags get MSG_OOB. It never waits:
 * its errnos are the stack's (EINVAL, EAGAIN, ENOTCONN).
 */
function oobAttempt(r: RecvRequest): () => RecvOutcome {
  const { ep, count, flags } = r;
  return () => {
    if (!(ep instanceof TcpEndpoint)) throw new TypeError('MSG_OOB needs a TCP endpoint');
    let byte: number | null;
    try {
      byte = ep.recvOob((flags & MSG_PEEK) !== 0);
    } catch (e) {
      return failed(e);
    }
    if (byte === null) return { ret: 0 };
    if (count <= 0) return { ret: 0, msgFlags: MSG_OOB | MSG_TRUNC };
    if (r.isNull && (flags & MSG_TRUNC) === 0) return { ret: -1, errno: 'EFAULT' };
    return { ret: 1, msgFlags: MSG_OOB };
  };
}

/**
 * One receive call's attempts. Bytes read by an attempt that then waits stay
 * read (tcp_recvmsg_locked copies what is there before it sleeps, and
 * tcp_cleanup_rbuf may announce the room that made); the next attempt
 * carries on from there.
 */
export function recvAttempts(r: RecvRequest): () => RecvOutcome | undefined {
  const { ep, count, flags } = r;
  if (flags & MSG_OOB) return oobAttempt(r);
  const peek = (flags & MSG_PEEK) !== 0;
  const trunc = (flags & MSG_TRUNC) !== 0;
  // sock_rcvlowat: MSG_WAITALL waits for everything, else min(SO_RCVLOWAT, len), at least 1.
  const target = (flags & MSG_WAITALL) !== 0 ? count : Math.min(rcvLowat(ep), count) || 1;
  const faults = r.isNull && !trunc;
  let got = 0;
  let waited = false;
  return () => {
    if (count <= 0) return { ret: 0 };
    // tcp_recvmsg_locked at its timeout (timeo 0, as a non-blocking call's):
    // what is queued is copied, then the call returns what it has, or EAGAIN.
    const nonblock = r.deadline.nonblocking();
    if (peek) {
      // peek_seq: nothing is consumed, so each attempt looks at the queue afresh.
      const avail = ep.readableBytes;
      // Short of the target, a blocking peek waits, unless the stream has ended or failed.
      if (avail > 0 && avail < target && !nonblock && (ep.poll() & (POLLRDHUP | POLLERR | POLLHUP)) === 0) return undefined;
      let data: Uint8Array | null;
      try {
        data = faults && avail > 0 ? null : peekOf(ep, count);
      } catch (e) {
        return failed(e);
      }
      if (faults && avail > 0) return { ret: -1, errno: 'EFAULT' };
      if (data === null) return nonblock ? { ret: -1, errno: 'EAGAIN' } : undefined;
      return { ret: data.length };
    }
    // A reader that waits is woken by tcp_data_ready only once SO_RCVLOWAT's
    // mark is queued anew (tcp_epollin_ready: what it already took does not
    // count), or by the end of the stream or an error: what poll() says.
    if (waited && !nonblock && (ep.poll() & (POLLIN | POLLERR | POLLHUP)) === 0) return undefined;
    waited = true;
    for (;;) {
      if (faults && ep.readableBytes > 0) return got > 0 ? { ret: got } : { ret: -1, errno: 'EFAULT' };
      let data: Uint8Array | null;
      try {
        data = ep.read(count - got);
      } catch (e) {
        if (got > 0) return { ret: got };
        return failed(e);
      }
      if (data === null) {
        if (got > 0 && nonblock) return { ret: got };
        return nonblock ? { ret: -1, errno: 'EAGAIN' } : undefined;
      }
      if (data.length === 0) return { ret: got };
      got += data.length;
      if (got >= count || got >= target) return { ret: got };
    }
  };
}

/** CMSG_LEN / CMSG_SPACE on x86-64: a 16-byte cmsghdr, data aligned to 8 bytes. */
export const cmsgLen = (dataLen: number): number => 16 + dataLen;
export const cmsgSpace = (dataLen: number): number => 16 + Math.ceil(dataLen / 8) * 8;

/** A control message as recvmsg returns it (only TCP_CM_INQ's int is made here). */
export interface Cmsg {
  level: number;
  type: number;
  len: number;
  data: number;
}

/**
 * The control messages and msg_flags a finished recvmsg returns, for a
 * control buffer of `controllen` bytes: tcp_recvmsg puts TCP_CM_INQ (an
 * int) when TCP_INQ is on and the call did not fail; put_cmsg sets
 * MSG_CTRUNC and puts nothing when the buffer cannot hold a cmsghdr, and
 * cuts the message short (MSG_CTRUNC again) when it cannot hold it whole.
 */
export function recvmsgControl(inq: number | undefined, controllen: number): { cmsgs: Cmsg[]; flags: number } {
  if (inq === undefined) return { cmsgs: [], flags: 0 };
  if (controllen < 16) return { cmsgs: [], flags: MSG_CTRUNC };
  const len = cmsgLen(4);
  if (controllen < len) return { cmsgs: [{ level: SYMBOLS.SOL_TCP!, type: SYMBOLS.TCP_CM_INQ!, len: controllen, data: inq }], flags: MSG_CTRUNC };
  return { cmsgs: [{ level: SYMBOLS.SOL_TCP!, type: SYMBOLS.TCP_CM_INQ!, len, data: inq }], flags: 0 };
}
