/**
 * Node-shaped sockets over the BSD-shaped `Endpoint` (the role gVisor's gonet
 * plays for Go): `TcpSocket` is a `stream.Duplex` with the events and methods
 * of Node's `net.Socket`, `TcpServer` an EventEmitter shaped like `net.Server`.
 * Node's own `http` runs over them unchanged:
 *
 *   const server = http.createServer(handler);
 *   new TcpServer(tcp, (socket) => server.emit('connection', socket)).listen(80);
 *   http.request({ createConnection: () => TcpSocket.connect(tcp, 80, '198.18.0.1'), ... });
 *   // or, with keep-alive and pooling: http.get({ agent: new TcpAgent(tcp, { keepAlive: true }), ... })
 *
 * Everything is driven by readiness: reads pull with `endpoint.read()` while
 * the stream wants data and resume on POLLIN; writes hand each chunk to
 * `endpoint.write()` and call back only once the endpoint took all of it
 * (POLLOUT), so a fast writer is held at the stream's highWaterMark plus the
 * endpoint's send buffer. Endpoint errors (SocketError) surface as 'error'
 * events carrying the errno name in `code`, as Node's system errors do.
 */
import { Duplex } from 'node:stream';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';
import { POLLERR, SocketError, type Endpoint, type TcpInfo, type TcpStateName } from '../../stack/socket/types.ts';
import { asError, codeOf, endedByPeerError, guardEvent, systemError, validatePort } from './errors.ts';
import type { TcpProvider } from './provider.ts';

/** Largest chunk pulled from the endpoint at once (libuv reads 64 KiB too). */
const READ_CHUNK = 64 * 1024;

export interface TcpSocketOptions {
  /** Wrap this endpoint (accepted, or created by the caller); otherwise connect() creates one. */
  endpoint?: Endpoint;
  /** Where connect() gets a new endpoint. */
  provider?: TcpProvider;
  /** Keep our side writable after the peer's FIN (default false: end() follows the peer's FIN). */
  allowHalfOpen?: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  /** ms; 0 or absent: the keepalive sysctl default. */
  keepAliveInitialDelay?: number;
}

export interface TcpConnectOptions {
  port: number;
  /** An IPv4 or IPv6 literal (the stack has no resolver): its family is the socket's. */
  host: string;
  localAddress?: string;
  localPort?: number;
  /** setTimeout(timeout) on the socket (idle timeout, ms). */
  timeout?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

/** A family as Node 18.4 and later name it in `address()`, `remoteFamily` and `localFamily`. */
export type NodeFamily = 'IPv4' | 'IPv6';

/** An Endpoint's family in Node's words. */
export const nodeFamily = (family: 4 | 6): NodeFamily => (family === 6 ? 'IPv6' : 'IPv4');

type PendingWrite = { data: Uint8Array; offset: number; callback: (error?: Error | null) => void };
type Listener = (...args: any[]) => void;

/** The server that accepted a socket, told when the socket is gone (TcpServer). */
export interface SocketOwner {
  _socketClosed(socket: TcpSocket): void;
}

/**
 * net.Socket over an Endpoint. Events: 'connect', 'ready', 'data', 'end',
 * 'finish', 'close' (hadError), 'error' (code/syscall), 'timeout', 'drain'.
 */
export class TcpSocket extends Duplex {
  /** True from connect() until the handshake completes or fails, as net.Socket. */
  connecting = false;
  /** ms given to setTimeout (0: none), as net.Socket exposes it. */
  timeout = 0;
  /** Set by servers (ours, and Node's http which overwrites it), like net.Socket. */
  server: unknown = null;
  _server: SocketOwner | null = null;
  /** Read by Node's http client. */
  _hadError = false;

  private endpoint: Endpoint | undefined;
  private readonly provider: TcpProvider | undefined;
  private noDelay: boolean | undefined;
  private keepAlive: { enable: boolean; delayMs: number } | undefined;

  private local: { address: string; port: number; family: NodeFamily } | undefined;
  private remote: { address: string; port: number; family: NodeFamily } | undefined;
  private connectTarget: { address: string; port: number } | undefined;

  private readCount = 0;
  private writeCount = 0;
  /** The stream asked for data and push() has not said "enough" yet. */
  private wantRead = false;
  private readDone = false;
  private pendingWrite: PendingWrite | undefined;
  private resetOnDestroy = false;
  private idleTimer: NodeJS.Timeout | undefined;

  private servicing = false;
  private serviceAgain = false;
  private pumpingRead = false;

  constructor(options: TcpSocketOptions = {}) {
    super({
      allowHalfOpen: Boolean(options.allowHalfOpen),
      // net.Socket's choices: 'close' is ours to emit (with hadError), strings are
      // not decoded to Buffers twice, and the socket goes when both sides are done.
      emitClose: false,
      autoDestroy: true,
      decodeStrings: false,
      ...(options.readableHighWaterMark === undefined ? {} : { readableHighWaterMark: options.readableHighWaterMark }),
      ...(options.writableHighWaterMark === undefined ? {} : { writableHighWaterMark: options.writableHighWaterMark }),
    });
    this.provider = options.provider;
    if (options.noDelay !== undefined) this.noDelay = options.noDelay;
    if (options.keepAlive) this.keepAlive = { enable: true, delayMs: options.keepAliveInitialDelay ?? 0 };
    // A socket that does not allow half-open refuses writes after the peer's FIN with EPIPE.
    this.on('end', () => {
      if (!this.allowHalfOpen) this.write = writeAfterFin as Duplex['write'];
    });
    if (options.endpoint) {
      this.attach(options.endpoint);
      const state = options.endpoint.state;
      if (state === 'SYN_SENT') {
        this.connecting = true;
      } else if (state !== 'CLOSED' && state !== 'LISTEN') {
        this.captureAddresses();
      }
      this.applyOptions();
    }
  }

  /** Creates a socket and starts connecting, like net.connect(). */
  static connect(provider: TcpProvider, options: TcpConnectOptions & TcpSocketOptions, connectListener?: () => void): TcpSocket;
  static connect(provider: TcpProvider, port: number, host: string, connectListener?: () => void): TcpSocket;
  static connect(
    provider: TcpProvider,
    portOrOptions: number | (TcpConnectOptions & TcpSocketOptions),
    hostOrListener?: string | (() => void),
    connectListener?: () => void,
  ): TcpSocket {
    const socketOptions: TcpSocketOptions = typeof portOrOptions === 'object' ? { ...portOrOptions } : {};
    socketOptions.provider = provider;
    const socket = new TcpSocket(socketOptions);
    if (typeof portOrOptions === 'object') {
      return socket.connect(portOrOptions, typeof hostOrListener === 'function' ? hostOrListener : connectListener);
    }
    return socket.connect(portOrOptions, hostOrListener as string, connectListener);
  }

  /** Starts an active open. Failure is reported as 'error' (code ECONNREFUSED, ETIMEDOUT, ...). */
  connect(options: TcpConnectOptions, connectListener?: () => void): this;
  connect(port: number, host: string, connectListener?: () => void): this;
  connect(portOrOptions: number | TcpConnectOptions, hostOrListener?: string | (() => void), connectListener?: () => void): this {
    const options: TcpConnectOptions =
      typeof portOrOptions === 'object' ? portOrOptions : { port: portOrOptions, host: hostOrListener as string };
    const listener = typeof portOrOptions === 'object' ? (hostOrListener as (() => void) | undefined) : connectListener;
    if (this.connecting || (this.endpoint !== undefined && this.endpoint.state !== 'CLOSED')) {
      throw Object.assign(new Error('Socket is already connected or connecting'), { code: 'ERR_SOCKET_CONNECTING' });
    }
    if (this.destroyed) throw Object.assign(new Error('Socket is closed'), { code: 'ERR_SOCKET_CLOSED' });
    const port = validatePort(options.port, 'Port');
    const host = options.host;
    if (typeof listener === 'function') this.once('connect', listener);
    if (options.timeout !== undefined) this.setTimeout(options.timeout);
    if (options.noDelay !== undefined) this.noDelay = options.noDelay;
    if (options.keepAlive) this.keepAlive = { enable: true, delayMs: options.keepAliveInitialDelay ?? 0 };
    this.connecting = true;
    this.connectTarget = { address: host, port };

    // A literal's family picks the socket's, as net.connect's lookup does (net.isIP).
    const family = typeof host !== 'string' ? undefined : parseIpv4(host) !== undefined ? 4 : parseIpv6(host) !== undefined ? 6 : undefined;
    if (family === undefined) {
      // No resolver in this stack: a name fails as an unknown host would.
      process.nextTick(() => this.destroy(systemError('ENOTFOUND', 'getaddrinfo', String(host))));
      return this;
    }
    if (port === 0) {
      process.nextTick(() => this.destroy(systemError('EADDRNOTAVAIL', 'connect', host, port)));
      return this;
    }
    let endpoint = this.endpoint;
    try {
      if (endpoint === undefined) {
        if (this.provider === undefined) throw new TypeError('TcpSocket.connect needs a TcpProvider (options.provider)');
        endpoint = this.provider.socket(family);
        this.attach(endpoint);
      }
      this.applyOptions();
      if (options.localAddress !== undefined || options.localPort !== undefined) {
        endpoint.bind(options.localAddress ?? (family === 6 ? '::' : '0.0.0.0'), options.localPort ?? 0);
      }
      endpoint.connect(host, port);
    } catch (thrown) {
      if (codeOf(thrown) !== 'EINPROGRESS') {
        const error = asError(thrown, 'connect', host, port);
        process.nextTick(() => this.destroy(error));
        return this;
      }
    }
    // The outcome arrives through onEvent; look once in case it is already known.
    queueMicrotask(() => this.service());
    return this;
  }

  // ---- net.Socket surface ------------------------------------------------

  get pending(): boolean {
    return this.endpoint === undefined || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  get bytesRead(): number {
    return this.readCount;
  }

  /** Bytes the endpoint has taken (queued in or sent by the stack). */
  get bytesWritten(): number {
    return this.writeCount;
  }

  get bufferSize(): number {
    return this.writableLength;
  }

  get remoteAddress(): string | undefined {
    return this.remote?.address;
  }

  get remotePort(): number | undefined {
    return this.remote?.port;
  }

  /** 'IPv6' for an IPv6 socket, its IPv4 peers v4-mapped included, as Node reports them. */
  get remoteFamily(): NodeFamily | undefined {
    return this.remote?.family;
  }

  get localAddress(): string | undefined {
    return this.local?.address;
  }

  get localPort(): number | undefined {
    return this.local?.port;
  }

  get localFamily(): NodeFamily | undefined {
    return this.local?.family;
  }

  /** The endpoint's TCP state ('CLOSED' once destroyed). */
  get tcpState(): TcpStateName {
    return this.endpoint?.state ?? 'CLOSED';
  }

  /** `ss -ti` figures for this connection, while it has an endpoint. */
  info(): TcpInfo | undefined {
    return this.endpoint?.info();
  }

  address(): { address: string; family: NodeFamily; port: number } | Record<string, never> {
    if (this.local === undefined && this.endpoint !== undefined) this.captureAddresses();
    return this.local ? { address: this.local.address, family: this.local.family, port: this.local.port } : {};
  }

  setNoDelay(enable = true): this {
    this.noDelay = Boolean(enable);
    if (this.endpoint && !this.destroyed) this.guard(() => this.endpoint!.setNoDelay(this.noDelay!));
    return this;
  }

  /** SO_KEEPALIVE; initialDelay in ms (0: keep the default), as net.Socket. */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.keepAlive = { enable: Boolean(enable), delayMs: initialDelay };
    if (this.endpoint && !this.destroyed) this.applyKeepAlive();
    return this;
  }

  /** Idle timeout: 'timeout' after `ms` without reads or writes (0 turns it off). The socket stays open. */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
      throw Object.assign(new RangeError(`The value of "msecs" is out of range. Received ${String(ms)}`), {
        code: 'ERR_OUT_OF_RANGE',
      });
    }
    if (!Number.isFinite(ms)) ms = 0; // as Node: Infinity turns the timeout off
    if (this.destroyed) return this;
    this.timeout = ms;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (ms === 0) {
      if (callback) this.removeListener('timeout', callback);
      return this;
    }
    this.idleTimer = setTimeout(() => this.emit('timeout'), ms);
    this.idleTimer.unref();
    if (callback) this.once('timeout', callback);
    return this;
  }

  /** Node's name for "activity: restart the idle timer" (http calls it). */
  _unrefTimer(): void {
    this.idleTimer?.refresh();
  }

  /** The stack keeps the process alive through its device; these exist for API compatibility. */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** end(), then destroy once everything queued was taken by the endpoint. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Closes with a RST (SO_LINGER 0, then close), discarding anything queued. */
  resetAndDestroy(): this {
    if (this.endpoint === undefined) {
      this.destroy(Object.assign(new Error('Socket is closed'), { code: 'ERR_SOCKET_CLOSED' }));
    } else if (this.connecting) {
      this.once('connect', () => this.resetAndDestroy());
    } else {
      this.resetOnDestroy = true;
      this.destroy();
    }
    return this;
  }

  // ---- stream implementation ---------------------------------------------

  override _read(): void {
    this.wantRead = true;
    this.pumpRead();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    this.pendingWrite = { data, offset: 0, callback };
    this.pumpWrite();
  }

  override _writev(chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>, callback: (error?: Error | null) => void): void {
    const buffers = chunks.map(({ chunk, encoding }) => (typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk));
    this.pendingWrite = { data: buffers.length === 1 ? buffers[0]! : Buffer.concat(buffers), offset: 0, callback };
    this.pumpWrite();
  }

  /** After every queued write was taken by the endpoint: our FIN (shutdown write). */
  override _final(callback: (error?: Error | null) => void): void {
    if (this.connecting) {
      this.once('connect', () => this._final(callback));
      return;
    }
    const endpoint = this.endpoint;
    if (endpoint === undefined) return callback();
    try {
      endpoint.shutdown('write');
    } catch (thrown) {
      const code = codeOf(thrown);
      // Already shut, or the connection is gone: nothing left to half-close.
      if (code === 'ENOTCONN' || code === 'EPIPE') return callback();
      return callback(asError(thrown, 'shutdown'));
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.connecting = false;
    this.wantRead = false;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const pending = this.pendingWrite;
    this.pendingWrite = undefined;
    const endpoint = this.endpoint;
    this.endpoint = undefined;
    if (endpoint !== undefined) {
      endpoint.onEvent = undefined;
      try {
        if (this.resetOnDestroy) endpoint.setLinger(true, 0);
        endpoint.close();
      } catch {
        // close() of an endpoint that is already gone has nothing to report.
      }
    }
    if (error) this._hadError = true;
    // A write still waiting for send-buffer space is abandoned with the stream.
    if (pending) {
      const abandoned = Object.assign(new Error('Cannot call write after a stream was destroyed'), { code: 'ERR_STREAM_DESTROYED' });
      process.nextTick(pending.callback, error ?? abandoned);
    }
    callback(error);
    process.nextTick(() => this.emit('close', Boolean(error)));
    if (this._server) this._server._socketClosed(this);
  }

  // ---- readiness ----------------------------------------------------------

  private attach(endpoint: Endpoint): void {
    this.endpoint = endpoint;
    endpoint.onEvent = () => guardEvent(() => this.service());
  }

  /** Everything that readiness can unblock. Re-entrant calls fold into the running one. */
  private service(): void {
    if (this.servicing) {
      this.serviceAgain = true;
      return;
    }
    this.servicing = true;
    try {
      do {
        this.serviceAgain = false;
        if (this.destroyed || this.endpoint === undefined) return;
        if (this.connecting) this.checkConnect();
        if (this.destroyed || this.connecting) return;
        if (this.wantRead) this.pumpRead();
        if (this.pendingWrite) this.pumpWrite();
      } while (this.serviceAgain);
    } finally {
      this.servicing = false;
    }
  }

  private checkConnect(): void {
    const endpoint = this.endpoint!;
    const state = endpoint.state;
    const mask = endpoint.poll();
    if (state === 'SYN_SENT' && (mask & POLLERR) === 0) return;
    if ((mask & POLLERR) !== 0 || state === 'CLOSED') {
      const code = endpoint.getError();
      const target = this.connectTarget;
      this.destroy(systemError(code ?? 'ECONNABORTED', 'connect', target?.address, target?.port));
      return;
    }
    // ESTABLISHED, or already further along (a FIN may have come with the data).
    this.connecting = false;
    this.captureAddresses();
    this._unrefTimer();
    this.emit('connect');
    this.emit('ready');
  }

  private pumpRead(): void {
    if (this.pumpingRead) return; // the running loop sees wantRead
    this.pumpingRead = true;
    try {
      while (this.wantRead && !this.readDone && !this.destroyed && !this.connecting && this.endpoint !== undefined) {
        let data: Uint8Array | null;
        try {
          data = this.endpoint.read(READ_CHUNK);
        } catch (thrown) {
          this.wantRead = false;
          this.destroy(asError(thrown, 'read'));
          return;
        }
        if (data === null) return; // EAGAIN: POLLIN will call service()
        if (data.length === 0) {
          this.readDone = true;
          this.wantRead = false;
          this.push(null);
          return;
        }
        this.readCount += data.length;
        this._unrefTimer();
        const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        this.wantRead = this.push(buffer);
      }
    } finally {
      this.pumpingRead = false;
    }
  }

  private pumpWrite(): void {
    const pending = this.pendingWrite;
    if (pending === undefined || this.connecting || this.endpoint === undefined) return;
    while (pending.offset < pending.data.length) {
      let taken: number;
      try {
        taken = this.endpoint.write(pending.offset === 0 ? pending.data : pending.data.subarray(pending.offset));
      } catch (thrown) {
        this.pendingWrite = undefined;
        pending.callback(asError(thrown, 'write'));
        return;
      }
      if (taken <= 0) return; // send buffer full: POLLOUT will call service()
      pending.offset += taken;
      this.writeCount += taken;
      this._unrefTimer();
    }
    this.pendingWrite = undefined;
    pending.callback();
  }

  private captureAddresses(): void {
    const endpoint = this.endpoint;
    if (endpoint === undefined) return;
    const family = nodeFamily(endpoint.family);
    if (endpoint.localPort !== 0) this.local = { address: endpoint.localAddress, port: endpoint.localPort, family };
    if (endpoint.remotePort !== 0) this.remote = { address: endpoint.remoteAddress, port: endpoint.remotePort, family };
  }

  private applyOptions(): void {
    if (this.noDelay !== undefined) this.guard(() => this.endpoint!.setNoDelay(this.noDelay!));
    if (this.keepAlive !== undefined) this.applyKeepAlive();
  }

  private applyKeepAlive(): void {
    const { enable, delayMs } = this.keepAlive!;
    const idleSeconds = Math.floor(delayMs / 1000);
    this.guard(() => this.endpoint!.setKeepAlive(enable, enable && idleSeconds > 0 ? idleSeconds : undefined));
  }

  /** Socket options on a connection that is already gone are not worth an 'error'. */
  private guard(apply: () => void): void {
    try {
      apply();
    } catch (thrown) {
      if (!(thrown instanceof SocketError)) throw thrown;
    }
  }

  /** @internal test and diagnostics hook: the wrapped endpoint (undefined once destroyed). */
  get _endpoint(): Endpoint | undefined {
    return this.endpoint;
  }
}

/** Installed as `write` after the peer's FIN when half-open is not allowed (Node's writeAfterFIN). */
function writeAfterFin(this: TcpSocket, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  if (!this.writableEnded) {
    return (Duplex.prototype.write as (...args: unknown[]) => boolean).call(this, chunk, encoding, callback);
  }
  const cb = typeof encoding === 'function' ? encoding : callback;
  const error = endedByPeerError();
  if (typeof cb === 'function') process.nextTick(cb as Listener, error);
  this.destroy(error);
  return false;
}
