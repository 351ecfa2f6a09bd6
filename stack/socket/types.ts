/**
 * The BSD-shaped socket API every other layer is built on (the Node-shaped
 * TcpSocket/TcpServer, the CLI services, packet scripts, scenarios). It is
 * non-blocking: calls return at once; readiness is learned from `poll()` and
 * the `onEvent` callback, exactly like a socket with O_NONBLOCK and epoll.
 */

import type { ListenerInfo, ShutdownHow, TcpErrno, TcpInfo, TcpStateName } from '../tcp/types.ts';
import type { TcpInfoStruct } from '../tcp/tcp-info-struct.ts';

export type { ListenerInfo, ShutdownHow, TcpInfo, TcpInfoStruct, TcpStateName };
/** errno names, as Linux reports them to applications. */
export type SocketErrno = TcpErrno;

/** A failed socket call. `code` is the errno name (like Node's system errors). */
export class SocketError extends Error {
  override readonly name = 'SocketError';
  constructor(
    readonly code: SocketErrno,
    readonly syscall: string,
  ) {
    super(`${syscall} ${code}`);
  }
}

export { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP } from '../tcp/types.ts';

/**
 * The BSD socket, non-blocking. Every method is synchronous; output it causes
 * leaves when the stack next flushes (the real-time driver does that right
 * after the call returns to the event loop).
 */
export interface Endpoint {
  readonly state: TcpStateName;
  /**
   * 4 for an AF_INET socket, 6 for an AF_INET6 one: IPv6 peers, and IPv4
   * ones shown v4-mapped ('::ffff:198.18.0.1') unless it is v6-only.
   */
  readonly family: 4 | 6;
  /**
   * Unconnected: localAddress is the bound address ('0.0.0.0', or '::' for
   * an IPv6 socket, when unbound) and remoteAddress is '' with port 0.
   */
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;

  /**
   * Called whenever readiness may have changed (readable, writable, connected,
   * a connection to accept, an error, closed). Never called from inside
   * segment processing: the stack delivers these after each input batch or
   * timer run, so the callback may call back into the endpoint freely.
   */
  onEvent: ((endpoint: Endpoint) => void) | undefined;
  /**
   * The application's own pointer, never read by the stack (Linux's
   * sk_user_data): one onEvent handler shared by every connection finds the
   * connection's state here, where a closure per connection would cost about
   * a hundred bytes each (docs/measurements.md).
   */
  userData: unknown;
  /** The poll(2) mask: POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP. */
  poll(): number;

  /**
   * Address 0 / '0.0.0.0' (an IPv6 socket: '::') = any; port 0 = an
   * ephemeral port. An IPv6 socket takes IPv6 text, '::ffff:a.b.c.d' for
   * our IPv4 address; a number is always an IPv4 address. Throws
   * EADDRINUSE, EADDRNOTAVAIL, EINVAL, EAFNOSUPPORT (text of the other family).
   */
  bind(address?: string | number, port?: number): void;
  /** Throws EADDRINUSE (port taken), EINVAL (connected). backlog as Linux: min(backlog, somaxconn). */
  listen(backlog: number): void;
  /** A connection from the accept queue, or null when it is empty (EAGAIN). */
  accept(): Endpoint | null;
  /**
   * Starts an active open (sends the SYN). Completion shows as POLLOUT and
   * state ESTABLISHED, failure as POLLERR with the error thrown by the next
   * read/write or returned by getError(). Throws EISCONN, EALREADY,
   * EADDRNOTAVAIL (no ephemeral port), EINVAL.
   */
  connect(address: string | number, port: number): void;
  /**
   * Up to `max` bytes (default: everything readable); the returned bytes
   * belong to the caller. null: nothing to read
   * yet (EAGAIN). An empty array: end of stream (the peer's FIN, or after an
   * error was reported once). Throws the pending error once (ECONNRESET,
   * ETIMEDOUT, ...), as Linux's recv does.
   */
  read(max?: number): Uint8Array | null;
  /**
   * read(), but no further than the end of the first segment still queued
   * (or of a run of segments the stack copied together), so that the bytes
   * are always a view of the buffer they arrived in, never a copy: for a
   * reader that takes data in pieces anyway (an echo, a proxy), segments
   * need not be joined. Returns less than read() would when more than one
   * segment is queued; null, end of stream and errors as read().
   */
  readInPlace(max?: number): Uint8Array | null;
  /**
   * Copies bytes into the send queue; returns how many were taken (0 when the
   * send buffer is full, or while the handshake is still under way: EAGAIN,
   * as Linux answers a non-blocking socket). The caller may reuse `data` on
   * return. Throws the pending error first (ECONNRESET...), then EPIPE after
   * shutdown(write) or once the connection is gone; EPIPE on a socket that
   * was never connected.
   */
  write(data: Uint8Array): number;
  /**
   * write(), but the send queue keeps views of `data` rather than copies
   * (Linux's MSG_ZEROCOPY, with the garbage collector in place of the
   * completion notification): the caller hands the bytes over and must not
   * change them afterwards. For bytes nobody writes again, such as what
   * readInPlace() returned. Data still unacknowledged when the RTO or the
   * zero-window probe timer fires is copied then, so a slow peer does not
   * keep the caller's buffers alive.
   */
  writeZeroCopy(data: Uint8Array): number;
  shutdown(how: ShutdownHow): void;
  /**
   * close(2): the application lets go. Linux's rules apply: unread data →
   * RST (TCPAbortOnClose), SO_LINGER 0 → RST, otherwise FIN after the queued
   * data and the connection lives on as an orphan.
   */
  close(): void;
  /** SO_ERROR: the pending error, cleared by reading it. */
  getError(): SocketErrno | undefined;

  setNoDelay(on: boolean): void;
  /** SO_KEEPALIVE, with TCP_KEEPIDLE/INTVL/CNT in seconds (unset = the sysctl defaults). */
  setKeepAlive(on: boolean, idleSeconds?: number, intervalSeconds?: number, count?: number): void;
  /** SO_LINGER. */
  setLinger(on: boolean, seconds: number): void;
  /** TCP_USER_TIMEOUT in ms (0 = off). */
  setUserTimeout(ms: number): void;
  setReuseAddress(on: boolean): void;
  /** IPV6_V6ONLY, before bind or connect: EINVAL after, ENOPROTOOPT on an IPv4 socket. */
  setV6Only(on: boolean): void;
  /** SO_RCVBUF / SO_SNDBUF in bytes (doubled as Linux does). */
  setReceiveBuffer(bytes: number): void;
  setSendBuffer(bytes: number): void;
  /** SO_RCVBUF / SO_SNDBUF as getsockopt reads them: the buffers' sizes now (sk_rcvbuf, sk_sndbuf), grown by autotuning unless set. */
  readonly receiveBuffer: number;
  readonly sendBuffer: number;

  /** Free send-buffer memory (sk_stream_wspace): about what write() would accept now (stack/tcp/sndbuf.ts). */
  readonly writableBytes: number;
  /** Bytes that read() would return now. */
  readonly readableBytes: number;
  info(): TcpInfo;
  /**
   * getsockopt(TCP_INFO): struct tcp_info as Linux fills it, every field
   * by its Linux name and in its units, with the fields the stack keeps no
   * state for named (tcp-info-struct.ts).
   */
  tcpInfo(): TcpInfoStruct;
}
