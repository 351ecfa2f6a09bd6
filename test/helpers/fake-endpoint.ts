/**
 * An in-memory TCP for testing the layers above `Endpoint` without the TCP
 * core: endpoints that honour the non-blocking contract of
 * stack/socket/types.ts (bounded buffers, EAGAIN as null/0, FIN as an empty
 * read, errors thrown once as SocketError, POLL* masks), with every readiness
 * change delivered asynchronously through `onEvent` (queueMicrotask), never
 * from inside the call that caused it.
 *
 * Simplifications: a connection is one bounded buffer per direction (the
 * receiver's); handshakes complete in a microtask; there are no segments,
 * timers or retransmissions. Linux's close rules are kept: close() with
 * unread data or SO_LINGER 0 sends a RST; data arriving for a closed socket
 * is answered with a RST.
 */
import {
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  SocketError,
  type Endpoint,
  type ShutdownHow,
  type SocketErrno,
  type TcpInfo,
  type TcpStateName,
} from '../../stack/socket/types.ts';
import type { ListenerInfo, TcpProvider } from '../../tun/node/provider.ts';
import { unconnectedTcpInfo, type TcpInfoStruct } from '../../stack/tcp/tcp-info-struct.ts';

export interface FakeNetOptions {
  /** Each endpoint's receive buffer in bytes (default 64 KiB). */
  bufferSize?: number;
  /** First ephemeral port (default 40000). */
  ephemeralBase?: number;
}

/** The shared "network": listeners, port numbers, and the event scheduler. */
export class FakeNet {
  readonly bufferSize: number;
  readonly endpoints = new Set<FakeEndpoint>();
  /** connect() to these addresses fails with the given error (e.g. ETIMEDOUT, EHOSTUNREACH). */
  readonly unreachable = new Map<string, SocketErrno>();
  /** Events delivered so far (for assertions that work happened). */
  eventsDelivered = 0;
  private nextPort: number;

  constructor(options: FakeNetOptions = {}) {
    this.bufferSize = options.bufferSize ?? 64 * 1024;
    this.nextPort = options.ephemeralBase ?? 40000;
  }

  /** A TcpProvider whose sockets live on `address`. */
  host(address: string): FakeHost {
    return new FakeHost(this, address);
  }

  /** Two connected endpoints, without a listener. */
  pair(a = '198.18.0.1', b = '198.18.0.2'): [FakeEndpoint, FakeEndpoint] {
    const left = new FakeEndpoint(this, a);
    const right = new FakeEndpoint(this, b);
    left.localPort = this.ephemeralPort();
    right.localPort = this.ephemeralPort();
    left.link(right);
    return [left, right];
  }

  ephemeralPort(): number {
    return this.nextPort++;
  }

  findListener(address: string, port: number): FakeEndpoint | undefined {
    for (const ep of this.endpoints) {
      if (ep.state === 'LISTEN' && ep.localPort === port && (ep.localAddress === '0.0.0.0' || ep.localAddress === address)) return ep;
    }
    return undefined;
  }

  portInUse(address: string, port: number, except: FakeEndpoint): boolean {
    for (const ep of this.endpoints) {
      if (ep === except || !ep.bound || ep.closedByApp || ep.localPort !== port) continue;
      if (ep.localAddress === '0.0.0.0' || address === '0.0.0.0' || ep.localAddress === address) return true;
    }
    return false;
  }

  /** Queues one onEvent call for `ep` (coalesced until delivered). */
  notify(ep: FakeEndpoint): void {
    if (ep.eventQueued) return;
    ep.eventQueued = true;
    queueMicrotask(() => {
      ep.eventQueued = false;
      if (ep.closedByApp || ep.onEvent === undefined) return;
      this.eventsDelivered++;
      ep.onEvent(ep);
    });
  }
}

/** A TcpProvider bound to one address of the fake network. */
export class FakeHost implements TcpProvider {
  constructor(
    readonly net: FakeNet,
    readonly address: string,
  ) {}

  socket(): FakeEndpoint {
    return new FakeEndpoint(this.net, this.address);
  }

  connections(): TcpInfo[] {
    return [...this.net.endpoints]
      .filter((ep) => ep.hostAddress === this.address && ep.state !== 'LISTEN' && ep.state !== 'CLOSED')
      .map((ep) => ep.info());
  }

  listeners(): ListenerInfo[] {
    return [...this.net.endpoints]
      .filter((ep) => ep.hostAddress === this.address && ep.state === 'LISTEN')
      .map((ep) => ({ family: 4 as const, v6only: false, localAddress: ep.localAddress, localPort: ep.localPort, backlog: ep.backlog, acceptQueue: ep.acceptQueue.length, synQueue: 0 }));
  }
}

export class FakeEndpoint implements Endpoint {
  state: TcpStateName = 'CLOSED';
  /** The fake host speaks IPv4 only. */
  readonly family = 4;
  localAddress: string;
  localPort = 0;
  remoteAddress = '0.0.0.0';
  remotePort = 0;
  onEvent: ((endpoint: Endpoint) => void) | undefined;
  userData: unknown = undefined;

  /** Every call that changes something, in order: 'setLinger(true,0)', 'close()', 'shutdown(write)'... */
  readonly calls: string[] = [];
  /** Largest number of unread bytes ever held (the receive buffer's high-water mark). */
  peakReceiveQueue = 0;
  readonly options = {
    noDelay: false,
    keepAlive: { on: false, idle: undefined as number | undefined },
    linger: { on: false, seconds: 0 },
    reuseAddress: false,
  };

  readonly hostAddress: string;
  bound = false;
  closedByApp = false;
  eventQueued = false;
  backlog = 0;
  readonly acceptQueue: FakeEndpoint[] = [];
  private receiveCapacity: number;
  private peer: FakeEndpoint | undefined;
  private readonly receiveQueue: Uint8Array[] = [];
  private receiveBytes = 0;
  private finReceived = false;
  private finSent = false;
  private finSentFirst = false;
  private readShut = false;
  private pendingError: SocketErrno | undefined;
  private wasConnected = false;
  private bytesSent = 0;
  private bytesReceived = 0;

  constructor(
    private readonly net: FakeNet,
    address: string,
  ) {
    this.hostAddress = address;
    this.localAddress = address;
    this.receiveCapacity = net.bufferSize;
    net.endpoints.add(this);
  }

  // ---- test controls ----------------------------------------------------

  /** Makes the connection fail on this side with `code` (as a timeout or an ICMP error would). */
  fail(code: SocketErrno): void {
    this.pendingError = code;
    this.peer = undefined;
    this.state = 'CLOSED';
    this.net.notify(this);
  }

  /** The peer's view: this endpoint is reset by the other side (ECONNRESET). */
  receiveReset(): void {
    if (this.state === 'CLOSED' && !this.peer) return;
    this.peer = undefined;
    if (!this.closedByApp && this.state !== 'TIME_WAIT') this.pendingError = 'ECONNRESET';
    this.state = 'CLOSED';
    this.net.notify(this);
  }

  /** The other end of the connection, if any. */
  get remote(): FakeEndpoint | undefined {
    return this.peer;
  }

  /** Links two fresh endpoints as an established connection. */
  link(other: FakeEndpoint): void {
    this.peer = other;
    other.peer = this;
    this.remoteAddress = other.localAddress === '0.0.0.0' ? other.hostAddress : other.localAddress;
    this.remotePort = other.localPort;
    other.remoteAddress = this.localAddress === '0.0.0.0' ? this.hostAddress : this.localAddress;
    other.remotePort = this.localPort;
    this.state = other.state = 'ESTABLISHED';
    this.wasConnected = other.wasConnected = true;
    this.net.notify(this);
    this.net.notify(other);
  }

  // ---- Endpoint ---------------------------------------------------------

  poll(): number {
    if (this.state === 'LISTEN') return this.acceptQueue.length > 0 ? POLLIN : 0;
    let mask = 0;
    if (this.pendingError !== undefined) mask |= POLLERR;
    if (this.receiveBytes > 0) mask |= POLLIN;
    if (this.finReceived || this.readShut) mask |= POLLIN | POLLRDHUP;
    const connected = this.peer !== undefined && this.state !== 'SYN_SENT';
    if (connected && !this.finSent && this.writableBytes > 0) mask |= POLLOUT;
    if (this.finSent) mask |= POLLOUT; // so that writers wake up and learn EPIPE, as Linux does
    if ((this.state === 'CLOSED' && this.wasConnected) || (this.finSent && this.finReceived)) mask |= POLLHUP | POLLIN;
    return mask;
  }

  bind(address: string | number = '0.0.0.0', port = 0): void {
    this.checkOpen('bind');
    if (this.bound || this.state !== 'CLOSED') throw new SocketError('EINVAL', 'bind');
    const a = typeof address === 'number' ? (address === 0 ? '0.0.0.0' : String(address)) : address;
    if (port !== 0 && this.net.portInUse(a, port, this)) throw new SocketError('EADDRINUSE', 'bind');
    this.localAddress = a;
    this.localPort = port === 0 ? this.net.ephemeralPort() : port;
    this.bound = true;
  }

  listen(backlog: number): void {
    this.checkOpen('listen');
    if (this.state !== 'CLOSED' && this.state !== 'LISTEN') throw new SocketError('EINVAL', 'listen');
    if (!this.bound) this.bind('0.0.0.0', 0);
    this.backlog = Math.max(0, Math.min(backlog, 4096));
    this.state = 'LISTEN';
  }

  accept(): Endpoint | null {
    this.checkOpen('accept');
    if (this.state !== 'LISTEN') throw new SocketError('EINVAL', 'accept');
    return this.acceptQueue.shift() ?? null;
  }

  connect(address: string | number, port: number): void {
    this.checkOpen('connect');
    if (this.state === 'SYN_SENT') throw new SocketError('EALREADY', 'connect');
    if (this.state !== 'CLOSED' || this.wasConnected) throw new SocketError('EISCONN', 'connect');
    const target = typeof address === 'number' ? String(address) : address;
    if (!this.bound) {
      this.localPort = this.net.ephemeralPort();
      this.bound = true;
    }
    this.state = 'SYN_SENT';
    this.remoteAddress = target;
    this.remotePort = port;
    this.calls.push(`connect(${target},${port})`);
    queueMicrotask(() => {
      if (this.closedByApp || this.state !== 'SYN_SENT') return;
      const failure = this.net.unreachable.get(target);
      const listener = failure ? undefined : this.net.findListener(target, port);
      if (listener === undefined || listener.acceptQueue.length > listener.backlog) {
        this.pendingError = failure ?? 'ECONNREFUSED';
        this.state = 'CLOSED';
        this.net.notify(this);
        return;
      }
      const child = new FakeEndpoint(this.net, listener.hostAddress);
      child.localAddress = listener.localAddress === '0.0.0.0' ? listener.hostAddress : listener.localAddress;
      child.localPort = listener.localPort;
      child.receiveCapacity = listener.receiveCapacity;
      this.link(child);
      listener.acceptQueue.push(child);
      this.net.notify(listener);
    });
  }

  read(max?: number): Uint8Array | null {
    this.checkOpen('read');
    if (this.state === 'LISTEN') throw new SocketError('ENOTCONN', 'read');
    if (this.receiveBytes > 0 && !this.readShut) return this.take(max ?? this.receiveBytes);
    if (this.pendingError !== undefined) this.throwPending('read');
    if (this.finReceived || this.readShut || (this.state === 'CLOSED' && this.wasConnected)) return new Uint8Array(0);
    if (this.state === 'CLOSED') throw new SocketError('ENOTCONN', 'read');
    return null;
  }

  /** The fake keeps no segments: the same as read(). */
  readInPlace(max?: number): Uint8Array | null {
    return this.read(max);
  }

  /** The fake copies nothing it can avoid anyway: the same as write(). */
  writeZeroCopy(data: Uint8Array): number {
    return this.write(data);
  }

  write(data: Uint8Array): number {
    this.checkOpen('write');
    if (this.pendingError !== undefined) this.throwPending('write');
    if (this.state === 'SYN_SENT' || (this.state === 'CLOSED' && !this.wasConnected) || this.state === 'LISTEN') {
      throw new SocketError('ENOTCONN', 'write');
    }
    const peer = this.peer;
    if (this.finSent || peer === undefined) throw new SocketError('EPIPE', 'write');
    if (data.length === 0) return 0;
    if (peer.closedByApp) {
      // Data for a socket that was closed: it answers with a RST (TCPAbortOnData).
      queueMicrotask(() => this.receiveReset());
      this.bytesSent += data.length;
      return data.length;
    }
    const n = Math.min(data.length, this.writableBytes);
    if (n === 0) return 0;
    peer.receiveQueue.push(data.slice(0, n));
    peer.receiveBytes += n;
    peer.bytesReceived += n;
    peer.peakReceiveQueue = Math.max(peer.peakReceiveQueue, peer.receiveBytes);
    this.bytesSent += n;
    this.net.notify(peer);
    return n;
  }

  shutdown(how: ShutdownHow): void {
    this.checkOpen('shutdown');
    this.calls.push(`shutdown(${how})`);
    if (this.state === 'LISTEN' || this.state === 'SYN_SENT' || !this.wasConnected) throw new SocketError('ENOTCONN', 'shutdown');
    if (how === 'read' || how === 'both') {
      this.readShut = true;
      this.net.notify(this);
    }
    if (how === 'write' || how === 'both') this.sendFin();
  }

  close(): void {
    this.checkOpen('close');
    this.calls.push('close()');
    this.closedByApp = true;
    this.onEvent = undefined;
    if (this.state === 'LISTEN') {
      // Connections nobody accepted are reset.
      for (const child of this.acceptQueue.splice(0)) {
        child.closedByApp = true;
        child.peer?.receiveReset();
        child.state = 'CLOSED';
      }
      this.state = 'CLOSED';
    } else if (this.peer !== undefined) {
      if ((this.options.linger.on && this.options.linger.seconds === 0) || this.receiveBytes > 0) {
        this.peer.receiveReset();
        this.peer = undefined;
        this.state = 'CLOSED';
      } else {
        this.sendFin();
      }
    } else if (this.state === 'SYN_SENT') {
      this.state = 'CLOSED';
    }
    this.net.endpoints.delete(this);
    if (this.state !== 'CLOSED') this.net.endpoints.add(this); // orphans stay listed, as in ss
  }

  getError(): SocketErrno | undefined {
    const code = this.pendingError;
    this.pendingError = undefined;
    return code;
  }

  setNoDelay(on: boolean): void {
    this.calls.push(`setNoDelay(${on})`);
    this.options.noDelay = on;
  }

  setKeepAlive(on: boolean, idleSeconds?: number): void {
    this.calls.push(`setKeepAlive(${on},${idleSeconds})`);
    this.options.keepAlive = { on, idle: idleSeconds };
  }

  setLinger(on: boolean, seconds: number): void {
    this.calls.push(`setLinger(${on},${seconds})`);
    this.options.linger = { on, seconds };
  }

  setUserTimeout(ms: number): void {
    this.calls.push(`setUserTimeout(${ms})`);
  }

  setReuseAddress(on: boolean): void {
    this.options.reuseAddress = on;
  }

  setV6Only(): void {
    throw new SocketError('ENOPROTOOPT', 'setsockopt');
  }

  setReceiveBuffer(bytes: number): void {
    this.receiveCapacity = bytes * 2;
  }

  setSendBuffer(bytes: number): void {
    this.calls.push(`setSendBuffer(${bytes})`);
  }

  get receiveBuffer(): number {
    return this.receiveCapacity;
  }

  get sendBuffer(): number {
    return this.peer?.receiveCapacity ?? 0;
  }

  get writableBytes(): number {
    const peer = this.peer;
    if (peer === undefined || this.finSent || this.state === 'SYN_SENT') return 0;
    return Math.max(0, peer.receiveCapacity - peer.receiveBytes);
  }

  get readableBytes(): number {
    return this.receiveBytes;
  }

  /** A fake has no TCP: the struct of a socket without a connection, in its state. */
  tcpInfo(): TcpInfoStruct {
    return unconnectedTcpInfo(this.state, 3);
  }

  info(): TcpInfo {
    return {
      state: this.state,
      localAddress: this.localAddress,
      localPort: this.localPort,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      recvQ: this.receiveBytes,
      sendQ: 0,
      rtt: 0.25,
      rttvar: 0.125,
      rto: 201,
      mss: 1460,
      cwnd: 10,
      ssthresh: 2147483647,
      retransmits: 0,
      backoff: 0,
      sndWnd: this.writableBytes,
      rcvWnd: this.receiveCapacity - this.receiveBytes,
      sndWscale: 7,
      rcvWscale: 7,
      timestamps: true,
      sack: true,
      timer: this.state === 'TIME_WAIT' ? { on: 'timewait', expiresIn: 60000 } : undefined,
      bytesSent: this.bytesSent,
      bytesRetrans: 0,
      bytesAcked: this.bytesSent,
      bytesReceived: this.bytesReceived,
    };
  }

  // ---- internals --------------------------------------------------------

  private checkOpen(syscall: string): void {
    if (this.closedByApp) throw new SocketError('EBADF', syscall);
  }

  private throwPending(syscall: string): never {
    const code = this.pendingError!;
    this.pendingError = undefined;
    throw new SocketError(code, syscall);
  }

  private take(max: number): Uint8Array {
    const want = Math.min(max, this.receiveBytes);
    const out = new Uint8Array(want);
    let filled = 0;
    while (filled < want) {
      const head = this.receiveQueue[0]!;
      const n = Math.min(head.length, want - filled);
      out.set(head.subarray(0, n), filled);
      filled += n;
      if (n === head.length) this.receiveQueue.shift();
      else this.receiveQueue[0] = head.subarray(n);
    }
    this.receiveBytes -= want;
    // Space opened in our receive buffer: the peer may write again (a window update).
    if (this.peer) this.net.notify(this.peer);
    return out;
  }

  private sendFin(): void {
    if (this.finSent) return;
    this.finSent = true;
    if (!this.finReceived) this.finSentFirst = true;
    const peer = this.peer;
    if (peer !== undefined) {
      peer.finReceived = true;
      peer.updateState();
      this.net.notify(peer);
    }
    this.updateState();
    this.net.notify(this);
  }

  private updateState(): void {
    if (this.state === 'CLOSED' || this.state === 'LISTEN' || this.state === 'SYN_SENT') return;
    if (this.finSent && this.finReceived) this.state = this.finSentFirst ? 'TIME_WAIT' : 'CLOSED';
    else if (this.finSent) this.state = 'FIN_WAIT2';
    else if (this.finReceived) this.state = 'CLOSE_WAIT';
    if (this.state === 'CLOSED' && this.closedByApp) this.net.endpoints.delete(this);
  }
}
