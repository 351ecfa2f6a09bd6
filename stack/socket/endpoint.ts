/**
 * The BSD-shaped, non-blocking socket over TCP's user-call API
 * (stack/tcp/sock.ts): what this file adds is the file-descriptor view
 * (EBADF after close), argument checks (addresses as text or numbers, port
 * ranges, integer option values) and the mapping of TCP's errno values to
 * thrown SocketErrors named after the system call. Everything a call does to
 * the protocol happens in stack/tcp.
 */
import { parseIpv4 } from '../wire/addr.ts';
import { ipv4FromMapped, isIpv6Unspecified, isIpv6V4Mapped, parseIpv6 } from '../wire/addr6.ts';
import type { ErrorQueueMessage } from '../tcp/errqueue.ts';
import type { SendFlags } from '../tcp/send-sizing.ts';
import type { TcpSock, TcpSockOption, TcpSockOptions } from '../tcp/sock.ts';
import { SocketError, type Endpoint, type ShutdownHow, type SocketErrno, type TcpInfo, type TcpInfoStruct, type TcpStateName } from './types.ts';

function check(result: SocketErrno | undefined, syscall: string): void {
  if (result !== undefined) throw new SocketError(result, syscall);
}

const isPort = (port: number, min: number): boolean => Number.isInteger(port) && port >= min && port <= 65535;

export class TcpEndpoint implements Endpoint {
  onEvent: ((endpoint: Endpoint) => void) | undefined;
  userData: unknown = undefined;
  private fdClosed = false;

  constructor(private readonly sock: TcpSock) {
    sock.events = this;
  }

  /** The socket's readiness changed (TcpSock.events): the application's onEvent hears of it. */
  deliverEvent(): void {
    this.onEvent?.(this);
  }

  get state(): TcpStateName {
    return this.sock.state;
  }

  get family(): 4 | 6 {
    return this.sock.ipv6 ? 6 : 4;
  }

  get localAddress(): string {
    return this.sock.localAddressText;
  }

  get localPort(): number {
    return this.sock.localPort;
  }

  get remoteAddress(): string {
    return this.sock.remoteAddressText;
  }

  get remotePort(): number {
    return this.sock.remotePort;
  }

  poll(): number {
    return this.sock.poll();
  }

  /** Throws EBADF once the descriptor is closed, as every call on a closed fd does. */
  private open(syscall: string): TcpSock {
    if (this.fdClosed) throw new SocketError('EBADF', syscall);
    return this.sock;
  }

  bind(address: string | number = 0, port = 0): void {
    const sock = this.open('bind');
    const addr = this.address(address, 'bind');
    if (addr === undefined || !isPort(port, 0)) throw new SocketError('EINVAL', 'bind');
    check(sock.bind(addr, port), 'bind');
  }

  /**
   * An address argument as the stack carries it (stack/address.ts): a
   * number is IPv4; text is read in the socket's family, IPv6 text giving
   * a handle, or the IPv4 address of a v4-mapped one. Text of the other
   * family is EAFNOSUPPORT; text of neither, undefined.
   */
  private address(address: string | number, syscall: string): number | undefined {
    if (typeof address === 'number') return address >>> 0;
    const v4 = parseIpv4(address);
    const v6 = v4 === undefined ? parseIpv6(address) : undefined;
    if (v4 === undefined && v6 === undefined) return undefined;
    if (this.sock.ipv6 !== (v6 !== undefined)) throw new SocketError('EAFNOSUPPORT', syscall);
    if (v4 !== undefined) return v4;
    if (isIpv6V4Mapped(v6!)) return ipv4FromMapped(v6!);
    if (isIpv6Unspecified(v6!)) return 0;
    return this.sock.internAddress(v6!);
  }

  listen(backlog: number): void {
    check(this.open('listen').listen(backlog), 'listen');
  }

  accept(): Endpoint | null {
    const child = this.open('accept').accept();
    if (child === null) return null;
    if (typeof child === 'string') throw new SocketError(child, 'accept');
    return new TcpEndpoint(child);
  }

  connect(address: string | number, port: number): void {
    const sock = this.open('connect');
    const remote = this.address(address, 'connect');
    // Already connected or listening wins over a bad address, as in tcp_v4_connect's order.
    if (sock.state !== 'CLOSED' || sock.remoteAddress !== undefined) {
      check(sock.connect(remote ?? 0, port), 'connect');
      return;
    }
    if (remote === undefined || !isPort(port, 1)) throw new SocketError('EINVAL', 'connect');
    check(sock.connect(remote, port), 'connect');
  }

  /** connect() held the SYN back for the first write (TCP_FASTOPEN_CONNECT with a cookie cached). */
  get connectDeferred(): boolean {
    return this.sock.connectDeferred;
  }

  /**
   * sendmsg(MSG_FASTOPEN) to `address`/`port` (or the first write after a
   * deferred connect()): the SYN goes with as much of `data` as Fast Open
   * allows. Returns the bytes it took, the handshake under way (a caller
   * that does not wait sees EINPROGRESS unless some were taken), or
   * 'connected' when the socket already is (an ordinary write follows).
   * `blocking`: the caller will wait for the handshake with the rest;
   * `unreadable`: `data` stands for a buffer that cannot be read (EFAULT's
   * bad pointer): no data goes in the SYN. `zerocopy`: MSG_ZEROCOPY (with
   * SO_ZEROCOPY on, the SYN's data gets a completion on the error queue).
   * Throws EOPNOTSUPP (Fast Open's client side off), EALREADY, and what
   * connect() throws.
   */
  sendFastOpen(data: Uint8Array, address: string | number, port: number, blocking: boolean, unreadable = false, zerocopy = false): { copied: number } | 'connected' {
    const sock = this.open('sendmsg');
    const remote = this.address(address, 'sendmsg');
    if (remote === undefined || !isPort(port, 1)) throw new SocketError('EINVAL', 'sendmsg');
    const result = sock.sendFastOpen(data, remote, port, blocking, unreadable, zerocopy);
    if (typeof result === 'string' && result !== 'connected') throw new SocketError(result, 'sendmsg');
    return result;
  }

  read(max = Number.MAX_SAFE_INTEGER): Uint8Array | null {
    return this.recv(max, false);
  }

  readInPlace(max = Number.MAX_SAFE_INTEGER): Uint8Array | null {
    return this.recv(max, true);
  }

  write(data: Uint8Array): number {
    return this.send(data, false);
  }

  /**
   * recv(MSG_PEEK): read(), but the bytes stay queued for the next read.
   * null, end of stream and errors as read().
   */
  peek(max = Number.MAX_SAFE_INTEGER): Uint8Array | null {
    const result = this.open('recv').recvmsg(max, false, true);
    if (typeof result === 'string') throw new SocketError(result, 'recv');
    return result;
  }

  /**
   * recv(MSG_OOB): the urgent byte (stack/tcp/urgent.ts), left for another
   * MSG_OOB read with `peek`; null at the end of the stream (0 bytes).
   * Throws EINVAL (no urgent byte to read, or SO_OOBINLINE), EAGAIN (the
   * byte announced but not arrived: this never waits), ENOTCONN.
   */
  recvOob(peek = false): number | null {
    const result = this.open('recv').recvOob(peek);
    if (result === 'eof') return null;
    if (typeof result === 'string') throw new SocketError(result, 'recv');
    return result;
  }

  /** SIOCATMARK: the next byte to read is where the urgent byte was (a read stops there). */
  atMark(): boolean {
    return this.open('ioctl').atMark();
  }

  /**
   * The in-kernel reader of splice (tcp_read_sock): `actor` gets the unread
   * bytes up to the urgent mark a received segment at a time and returns
   * how many it took (0 or less: stop). Returns the bytes taken, or the
   * actor's value when it took none; throws ENOTCONN on a listener.
   */
  readSock(actor: (chunk: Uint8Array) => number): number {
    const result = this.open('splice').readSock(actor);
    if (typeof result === 'string') throw new SocketError(result, 'splice');
    return result;
  }

  /**
   * What tcp_splice_read makes of a read that took nothing: 'zero' (the
   * stream ended), 'held' (bytes wait behind the urgent mark: a blocking
   * splice returns 0 rather than wait), 'wait' (nothing yet); throws the
   * pending error, or ENOTCONN on a closed socket.
   */
  spliceIdle(): 'zero' | 'held' | 'wait' {
    const result = this.open('splice').spliceIdle();
    if (result !== 'zero' && result !== 'held' && result !== 'wait') throw new SocketError(result, 'splice');
    return result;
  }

  /**
   * connect() with AF_UNSPEC (tcp_disconnect): the connection is aborted (a
   * RST where one is due) and the socket is unconnected again, ready for
   * connect() or listen(); a listener stops listening. The error it leaves
   * (ECONNRESET after a RST, or while connecting) comes from getError().
   */
  disconnect(): void {
    this.open('connect').disconnect();
  }

  /** SIOCINQ / FIONREAD: bytes not yet read (0 during the handshake); EINVAL on a listener. */
  inq(): number {
    const n = this.open('ioctl').inq();
    if (typeof n === 'string') throw new SocketError(n, 'ioctl');
    return n;
  }

  /** With TCP_INQ on, the TCP_CM_INQ value a recvmsg returns with its bytes (tcp_inq_hint); undefined when it is off. */
  inqHint(): number | undefined {
    return this.sock.inqHint();
  }

  writeZeroCopy(data: Uint8Array): number {
    return this.send(data, true);
  }

  /**
   * send(2) with flags, as write() otherwise: MSG_MORE (`more`) corks this
   * write's push and leaves its tail without PSH; MSG_EOR (`eor`) ends a
   * record, so later bytes never share a segment with it (tcp_sendmsg_locked);
   * MSG_OOB (`oob`) makes its last byte urgent (stack/tcp/urgent.ts).
   */
  sendmsg(data: Uint8Array, flags: SendFlags): number {
    const result = this.open('sendmsg').sendmsg(data, false, flags);
    if (typeof result === 'string') throw new SocketError(result, 'sendmsg');
    return result;
  }

  /**
   * recvmsg(MSG_ERRQUEUE): the oldest message of the error queue (a
   * MSG_ZEROCOPY completion or a transmit timestamp, stack/tcp/errqueue.ts),
   * or null when it is empty (EAGAIN). It never blocks, and a pending
   * error does not stop it (inet_recv_error).
   */
  recvErrorQueue(): ErrorQueueMessage | null {
    return this.open('recvmsg').recvErrorQueue();
  }

  /** How many times a message went to the error queue (sk_error_report: each an EPOLLERR wakeup). */
  get errorReports(): number {
    return this.sock.errorReports;
  }

  private recv(max: number, inPlace: boolean): Uint8Array | null {
    const result = this.open('read').recvmsg(max, inPlace);
    if (typeof result === 'string') throw new SocketError(result, 'read');
    return result;
  }

  private send(data: Uint8Array, zeroCopy: boolean): number {
    const result = this.open('write').sendmsg(data, zeroCopy);
    if (typeof result === 'string') throw new SocketError(result, 'write');
    return result;
  }

  shutdown(how: ShutdownHow): void {
    check(this.open('shutdown').shutdown(how), 'shutdown');
  }

  close(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    this.onEvent = undefined;
    this.userData = undefined; // the stack may hold the socket a while yet (FIN_WAIT, linger): not the application's state
    this.sock.close();
  }

  abort(): void {
    this.open('abort').abort();
  }

  getError(): SocketErrno | undefined {
    return this.sock.takeError();
  }

  // ---------------------------------------------------------------------------
  // Options

  setsockopt<K extends TcpSockOption>(name: K, value: TcpSockOptions[K]): void {
    check(this.open('setsockopt').setsockopt(name, value), 'setsockopt');
  }

  getsockopt<K extends TcpSockOption>(name: K): TcpSockOptions[K] {
    return this.open('getsockopt').getsockopt(name);
  }

  /**
   * How long a blocking call waits under SO_RCVTIMEO (receive, accept) or
   * SO_SNDTIMEO (send, connect), in µs: undefined for no timeout, 0 to
   * return at once. The caller does the waiting; this socket never blocks.
   */
  timeoutUsecs(name: 'SO_RCVTIMEO' | 'SO_SNDTIMEO'): number | undefined {
    return this.sock.timeoutUsecs(name);
  }

  /** A blocking Fast Open write stopped waiting for the handshake (TcpSock.stopWaitingForConnect). */
  stopWaitingForConnect(): void {
    this.sock.stopWaitingForConnect();
  }

  setNoDelay(on: boolean): void {
    this.setsockopt('TCP_NODELAY', on);
  }

  /** SO_KEEPALIVE, then TCP_KEEPIDLE/INTVL/CNT when given, as Node's setKeepAlive does; all checked before any is set. */
  setKeepAlive(on: boolean, idleSeconds?: number, intervalSeconds?: number, count?: number): void {
    for (const [v, max] of [
      [idleSeconds, 32767],
      [intervalSeconds, 32767],
      [count, 127],
    ] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > max)) throw new SocketError('EINVAL', 'setsockopt');
    }
    this.setsockopt('SO_KEEPALIVE', on);
    if (idleSeconds !== undefined) this.setsockopt('TCP_KEEPIDLE', idleSeconds);
    if (intervalSeconds !== undefined) this.setsockopt('TCP_KEEPINTVL', intervalSeconds);
    if (count !== undefined) this.setsockopt('TCP_KEEPCNT', count);
  }

  setLinger(on: boolean, seconds: number): void {
    this.setsockopt('SO_LINGER', { on, seconds });
  }

  setUserTimeout(ms: number): void {
    this.setsockopt('TCP_USER_TIMEOUT', ms);
  }

  setReuseAddress(on: boolean): void {
    this.setsockopt('SO_REUSEADDR', on);
  }

  setV6Only(on: boolean): void {
    check(this.open('setsockopt').setV6Only(on), 'setsockopt');
  }

  /** SO_RCVBUF: Linux doubles the value to account for overhead; we keep the doubled value as payload space. */
  setReceiveBuffer(bytes: number): void {
    this.setsockopt('SO_RCVBUF', bytes);
  }

  setSendBuffer(bytes: number): void {
    this.setsockopt('SO_SNDBUF', bytes);
  }

  get receiveBuffer(): number {
    return this.getsockopt('SO_RCVBUF');
  }

  get sendBuffer(): number {
    return this.getsockopt('SO_SNDBUF');
  }

  /** TCP_LINGER2 (seconds; negative: RST when closed in FIN_WAIT2). */
  setLinger2(seconds: number): void {
    this.setsockopt('TCP_LINGER2', seconds);
  }

  /** TCP_SYNCNT. */
  setSynCount(n: number): void {
    this.setsockopt('TCP_SYNCNT', n);
  }

  /** TCP_FASTOPEN: the Fast Open queue length of a listener (server side, fastopen-server.ts). */
  setFastOpen(qlen: number): void {
    check(this.open('setsockopt').setFastOpen(qlen), 'setsockopt');
  }

  /** getsockopt(TCP_FASTOPEN). */
  get fastOpenQueueLength(): number {
    return this.open('getsockopt').fastOpenQueueLength;
  }

  /** TCP_FASTOPEN_KEY: 16 bytes, or 32 with a backup key. */
  setFastOpenKey(bytes: Uint8Array): void {
    check(this.open('setsockopt').setFastOpenKey(bytes), 'setsockopt');
  }

  /** getsockopt(TCP_FASTOPEN_KEY): the keys in effect, 16 bytes each. */
  get fastOpenKey(): Uint8Array {
    return this.open('getsockopt').fastOpenKeyBytes;
  }

  /** TCP_CONGESTION: "cubic" or "reno" (ENOENT for a name this stack has no algorithm for). */
  setCongestionControl(name: string): void {
    this.setsockopt('TCP_CONGESTION', name);
  }

  /** TCP_CONGESTION's value: the algorithm the socket uses. */
  get congestionControl(): string {
    return this.getsockopt('TCP_CONGESTION');
  }

  /** IP_MTU / IPV6_MTU: the path MTU of the connection's route; ENOTCONN without a connection. */
  get pathMtu(): number {
    const result = this.open('getsockopt').pathMtu();
    if (typeof result === 'string') throw new SocketError(result, 'getsockopt');
    return result;
  }

  /** SIOCOUTQNSD: bytes written but not yet sent; EINVAL on a listener. */
  get unsentBytes(): number {
    const result = this.open('ioctl').unsentBytes();
    if (typeof result === 'string') throw new SocketError(result, 'ioctl');
    return result;
  }

  get writableBytes(): number {
    return this.sock.writableBytes;
  }

  get readableBytes(): number {
    return this.sock.readableBytes;
  }

  info(): TcpInfo {
    return this.sock.info();
  }

  tcpInfo(): TcpInfoStruct {
    return this.sock.tcpInfo();
  }
}
