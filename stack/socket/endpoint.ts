/**
 * The BSD-shaped, non-blocking socket over the TCP layer: bind/listen/
 * accept/connect/read/write/shutdown/close with Linux's errno semantics
 * (tcp_recvmsg, tcp_sendmsg, sk_stream_wait_connect, inet_csk_bind_conflict,
 * __tcp_close). Everything protocol-related happens in stack/tcp; this file
 * decides what the application is told.
 */
import { formatIpv4, parseIpv4 } from '../wire/addr.ts';
import { Connection } from '../tcp/connection.ts';
import { Listener } from '../tcp/listener.ts';
import * as timers from '../tcp/conn-timers.ts';
import { connectionInfo, stateOnlyInfo, type TcpLayer, type Wakeable } from '../tcp/tcp.ts';
import type { PortOwner } from '../tcp/tables.ts';
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
} from './types.ts';

const EMPTY = new Uint8Array(0);

interface BoundPort extends PortOwner {
  port: number;
  /** Bound implicitly by connect() (may share a port with other connects, never with bind()). */
  autobound: boolean;
}

export class TcpEndpoint implements Endpoint, Wakeable {
  onEvent: ((endpoint: Endpoint) => void) | undefined;
  private conn: Connection | undefined;
  private listener: Listener | undefined;
  private bound: BoundPort | undefined;
  private fdClosed = false;
  private reuseAddress = false;
  private nodelay = false;
  private keepalive: { on: boolean; idle?: number; intvl?: number; cnt?: number } = { on: false };
  private linger = { on: false, seconds: 0 };
  private userTimeout = 0;
  private rcvBuf: number | undefined;
  private sndBuf: number | undefined;

  constructor(private readonly layer: TcpLayer) {}

  /** An endpoint for a child connection taken from an accept queue. */
  static forChild(layer: TcpLayer, conn: Connection): TcpEndpoint {
    const ep = new TcpEndpoint(layer);
    ep.conn = conn;
    conn.owner = ep;
    return ep;
  }

  deliverEvent(): void {
    this.onEvent?.(this);
  }

  get state(): TcpStateName {
    if (this.listener) return 'LISTEN';
    return this.conn?.state ?? 'CLOSED';
  }

  get localAddress(): string {
    if (this.conn) return formatIpv4(this.conn.local);
    return formatIpv4(this.bound?.bindAddress ?? 0);
  }

  get localPort(): number {
    return this.conn?.localPort ?? this.bound?.port ?? 0;
  }

  get remoteAddress(): string {
    return this.conn ? formatIpv4(this.conn.remote) : '';
  }

  get remotePort(): number {
    return this.conn?.remotePort ?? 0;
  }

  poll(): number {
    if (this.listener) return this.listener.acceptQueue.length > 0 ? POLLIN : 0;
    const c = this.conn;
    if (c === undefined) return POLLOUT | POLLHUP;
    let mask = 0;
    if (c.pendingError !== undefined) mask |= POLLERR;
    const closed = c.state === 'CLOSED';
    if (closed || (c.shutWr && c.finReceived)) mask |= POLLHUP;
    if (c.finReceived || c.shutRd) mask |= POLLIN | POLLRDHUP;
    if (c.recvQueue.length > 0) mask |= POLLIN;
    if (closed) mask |= POLLIN;
    const connected = c.state !== 'SYN_SENT' && c.state !== 'SYN_RECV';
    if (connected && (c.shutWr || closed || c.sndBuf - c.sendQueue.length > 0)) mask |= POLLOUT;
    return mask;
  }

  // ---------------------------------------------------------------------------
  // Binding and opening

  bind(address: string | number = 0, port = 0): void {
    if (this.fdClosed) throw new SocketError('EBADF', 'bind');
    if (this.bound || this.conn || this.listener) throw new SocketError('EINVAL', 'bind');
    const addr = typeof address === 'number' ? address >>> 0 : parseIpv4(address);
    if (addr === undefined || !Number.isInteger(port) || port < 0 || port > 65535) throw new SocketError('EINVAL', 'bind');
    if (addr !== 0 && addr !== this.layer.ctx.address) throw new SocketError('EADDRNOTAVAIL', 'bind');
    const candidate: BoundPort = { bindAddress: addr, reuseAddress: this.reuseAddress, listening: false, port, autobound: false };
    if (port === 0) {
      const picked = this.layer.pickBindPort(candidate);
      if (picked === undefined) throw new SocketError('EADDRINUSE', 'bind');
      candidate.port = picked;
    } else if (this.layer.binds.conflicts(port, candidate)) {
      throw new SocketError('EADDRINUSE', 'bind');
    }
    this.layer.binds.add(candidate.port, candidate);
    this.bound = candidate;
  }

  listen(backlog: number): void {
    if (this.fdClosed) throw new SocketError('EBADF', 'listen');
    const somaxconn = this.layer.ctx.sysctl.somaxconn;
    // __sys_listen: an unsigned comparison, so a negative backlog means somaxconn.
    const effective = backlog < 0 || backlog > somaxconn ? somaxconn : Math.floor(backlog);
    if (this.listener) {
      this.listener.backlog = effective;
      return;
    }
    if (this.conn) throw new SocketError('EINVAL', 'listen');
    if (!this.bound) this.bind(0, 0);
    const b = this.bound!;
    // inet_csk_listen_start re-checks the port against everyone else.
    b.listening = true;
    if (this.layer.binds.conflicts(b.port, b)) {
      b.listening = false;
      throw new SocketError('EADDRINUSE', 'listen');
    }
    const l = new Listener(this.layer, b.bindAddress, b.port, effective, b.reuseAddress);
    l.owner = this;
    this.listener = l;
    this.layer.listenerTable.add(b.port, l);
  }

  accept(): Endpoint | null {
    if (this.fdClosed) throw new SocketError('EBADF', 'accept');
    const l = this.listener;
    if (!l) throw new SocketError('EINVAL', 'accept');
    const child = l.acceptQueue.shift();
    if (!child) return null;
    const ep = TcpEndpoint.forChild(this.layer, child);
    ep.inheritOptions(this);
    return ep;
  }

  private inheritOptions(parent: TcpEndpoint): void {
    this.nodelay = parent.nodelay;
    this.keepalive = { ...parent.keepalive };
    this.linger = { ...parent.linger };
    this.userTimeout = parent.userTimeout;
    this.rcvBuf = parent.rcvBuf;
    this.sndBuf = parent.sndBuf;
    this.applyOptions();
  }

  connect(address: string | number, port: number): void {
    if (this.fdClosed) throw new SocketError('EBADF', 'connect');
    if (this.listener) throw new SocketError('EISCONN', 'connect');
    if (this.conn) {
      throw new SocketError(this.conn.state === 'SYN_SENT' ? 'EALREADY' : 'EISCONN', 'connect');
    }
    const remote = typeof address === 'number' ? address >>> 0 : parseIpv4(address);
    if (remote === undefined || !Number.isInteger(port) || port <= 0 || port > 65535) throw new SocketError('EINVAL', 'connect');
    const layer = this.layer;
    let b = this.bound;
    if (b === undefined) {
      const picked = layer.pickConnectPort(remote, port);
      if (picked === undefined) throw new SocketError('EADDRNOTAVAIL', 'connect');
      b = { bindAddress: 0, reuseAddress: this.reuseAddress, listening: false, port: picked, autobound: true };
      layer.binds.add(picked, b);
      this.bound = b;
    } else if (layer.connections.get(remote, port, b.port) || layer.timewaits.get(remote, port, b.port)) {
      throw new SocketError('EADDRNOTAVAIL', 'connect');
    }
    const c = new Connection(layer.ctx, layer, layer.ctx.address, b.port, remote, port);
    c.owner = this;
    this.conn = c;
    this.applyOptions();
    layer.connections.set(remote, port, b.port, c);
    layer.connOwners.set(c, { port: b.port, owner: b });
    c.connect(layer.isn(remote, port, b.port));
  }

  // ---------------------------------------------------------------------------
  // Data

  read(max = Number.MAX_SAFE_INTEGER): Uint8Array | null {
    if (this.fdClosed) throw new SocketError('EBADF', 'read');
    const c = this.conn;
    if (!c) throw new SocketError('ENOTCONN', 'read');
    if (c.recvQueue.length > 0) {
      const data = c.read(max);
      return data;
    }
    // tcp_recvmsg: a FIN already seen means EOF, even if a RST came after it (G7).
    if (c.finReceived) return EMPTY;
    if (c.pendingError !== undefined) throw this.takeError('read');
    if (c.state === 'CLOSED' || c.shutRd) return EMPTY;
    return null; // EAGAIN, also while the handshake is under way
  }

  write(data: Uint8Array): number {
    if (this.fdClosed) throw new SocketError('EBADF', 'write');
    const c = this.conn;
    if (!c) throw new SocketError(this.listener ? 'ENOTCONN' : 'EPIPE', 'write');
    if (c.pendingError !== undefined) throw this.takeError('write');
    if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV') return 0;
    if (c.shutWr || (c.state !== 'ESTABLISHED' && c.state !== 'CLOSE_WAIT')) throw new SocketError('EPIPE', 'write');
    if (data.length === 0) return 0;
    return c.write(data);
  }

  private takeError(syscall: string): SocketError {
    const c = this.conn!;
    const code = c.pendingError!;
    c.pendingError = undefined;
    c.errorReported = true;
    return new SocketError(code, syscall);
  }

  shutdown(how: ShutdownHow): void {
    if (this.fdClosed) throw new SocketError('EBADF', 'shutdown');
    const c = this.conn;
    if (c?.state === 'SYN_SENT') {
      // inet_shutdown: a socket still connecting is disconnected whatever `how`
      // says (tcp_disconnect from SYN_SENT): nothing is sent, sk_err = ECONNRESET.
      c.pendingError = 'ECONNRESET';
      c.done();
      return;
    }
    if (!c || c.state === 'CLOSED') {
      if (this.listener && how !== 'write') {
        this.closeListener();
        return;
      }
      throw new SocketError('ENOTCONN', 'shutdown');
    }
    if (how === 'read' || how === 'both') {
      c.shutRd = true;
      this.layer.wake(c);
    }
    if (how === 'write' || how === 'both') c.closeSending();
  }

  close(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    this.onEvent = undefined;
    if (this.listener) {
      this.closeListener();
      return;
    }
    const c = this.conn;
    if (c) {
      c.owner = undefined;
      c.close();
    } else if (this.bound) {
      this.layer.binds.remove(this.bound.port, this.bound);
    }
  }

  private closeListener(): void {
    const l = this.listener!;
    this.listener = undefined;
    this.layer.listenerTable.remove(l.port, l);
    l.close();
    if (this.bound) this.layer.binds.remove(this.bound.port, this.bound);
    this.bound = undefined;
  }

  getError(): SocketErrno | undefined {
    const c = this.conn;
    if (!c || c.pendingError === undefined) return undefined;
    const code = c.pendingError;
    c.pendingError = undefined;
    return code;
  }

  // ---------------------------------------------------------------------------
  // Options

  private applyOptions(): void {
    const c = this.conn;
    if (!c) return;
    c.nodelay = this.nodelay;
    const wasKeepalive = c.keepalive;
    c.keepalive = this.keepalive.on;
    c.keepIdle = this.keepalive.idle;
    c.keepIntvl = this.keepalive.intvl;
    c.keepCnt = this.keepalive.cnt;
    c.lingerOn = this.linger.on;
    c.lingerSeconds = this.linger.seconds;
    c.userTimeout = this.userTimeout;
    if (this.rcvBuf !== undefined) c.rcvBuf = this.rcvBuf;
    if (this.sndBuf !== undefined) c.sndBuf = this.sndBuf;
    const synchronized = c.state !== 'CLOSED' && c.state !== 'SYN_SENT' && c.state !== 'LISTEN';
    if (c.keepalive && synchronized && (!wasKeepalive || !c.keepaliveTimer.armed)) timers.armKeepalive(c);
    if (!c.keepalive && wasKeepalive && c.keepaliveTimer.armed && !c.orphan) c.ctx.timers.cancel(c.keepaliveTimer);
    this.layer.dirty(c);
  }

  setNoDelay(on: boolean): void {
    this.nodelay = on;
    this.applyOptions();
  }

  setKeepAlive(on: boolean, idleSeconds?: number, intervalSeconds?: number, count?: number): void {
    for (const [v, max] of [
      [idleSeconds, 32767],
      [intervalSeconds, 32767],
      [count, 127],
    ] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > max)) throw new SocketError('EINVAL', 'setsockopt');
    }
    this.keepalive = {
      on,
      idle: idleSeconds ?? this.keepalive.idle,
      intvl: intervalSeconds ?? this.keepalive.intvl,
      cnt: count ?? this.keepalive.cnt,
    };
    this.applyOptions();
    // keepalive_time_set (TCP_KEEPIDLE on a live keepalive socket): the timer is
    // re-armed for what is left of the new idle time, measured from the last
    // segment received.
    const c = this.conn;
    if (idleSeconds !== undefined && c && c.keepalive && !c.orphan && c.state !== 'CLOSED' && c.state !== 'SYN_SENT' && c.state !== 'LISTEN') {
      const elapsed = c.now() - c.lastRcvTime;
      timers.armKeepalive(c, Math.max(0, idleSeconds * 1000 - elapsed));
    }
  }

  setLinger(on: boolean, seconds: number): void {
    this.linger = { on, seconds: Math.max(0, Math.floor(seconds)) };
    this.applyOptions();
  }

  setUserTimeout(ms: number): void {
    if (!Number.isInteger(ms) || ms < 0) throw new SocketError('EINVAL', 'setsockopt');
    this.userTimeout = ms;
    this.applyOptions();
  }

  setReuseAddress(on: boolean): void {
    this.reuseAddress = on;
    if (this.bound) this.bound.reuseAddress = on;
  }

  /** SO_RCVBUF: Linux doubles the value to account for overhead; we keep the doubled value as payload space. */
  setReceiveBuffer(bytes: number): void {
    this.rcvBuf = Math.max(2304, Math.min(bytes, 0x7fffffff / 2) * 2);
    this.applyOptions();
  }

  setSendBuffer(bytes: number): void {
    this.sndBuf = Math.max(4608, Math.min(bytes, 0x7fffffff / 2) * 2);
    this.applyOptions();
  }

  /** TCP_LINGER2 (seconds; negative: RST when closed in FIN_WAIT2). */
  setLinger2(seconds: number): void {
    if (this.conn) this.conn.linger2 = seconds;
  }

  /** TCP_SYNCNT. */
  setSynCount(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > 127) throw new SocketError('EINVAL', 'setsockopt');
    if (this.conn) this.conn.synRetries = n;
  }

  get writableBytes(): number {
    const c = this.conn;
    if (!c) return 0;
    return Math.max(0, c.sndBuf - c.sendQueue.length);
  }

  get readableBytes(): number {
    return this.conn?.recvQueue.length ?? 0;
  }

  info(): TcpInfo {
    if (this.conn) return connectionInfo(this.conn);
    return stateOnlyInfo({
      state: this.state,
      localAddress: this.localAddress,
      localPort: this.localPort,
      recvQ: this.listener?.acceptQueue.length ?? 0,
      sendQ: this.listener?.backlog ?? 0,
    });
  }
}
