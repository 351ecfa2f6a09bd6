/**
 * `TcpServer`: a listening Endpoint shaped like Node's `net.Server`, handing
 * out accepted connections as TcpSockets.
 */
import { EventEmitter } from 'node:events';
import { SocketError, type Endpoint } from '../../stack/socket/types.ts';
import { asError, codeOf, guardEvent, validatePort } from './errors.ts';
import type { TcpProvider } from './provider.ts';
import { TcpSocket, nodeFamily } from './socket.ts';

export interface TcpServerOptions {
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused (no reads until resume()). */
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  highWaterMark?: number;
}

export interface TcpListenOptions {
  port?: number;
  /** An IPv6 host ('::', '2001:2::2') makes an IPv6 listener, dual-stack unless ipv6Only, as net.Server. */
  host?: string;
  backlog?: number;
  /** IPV6_V6ONLY on an IPv6 listener (net.Server's option of that name). */
  ipv6Only?: boolean;
}

/**
 * net.Server over a listening Endpoint. 'listening', 'connection' (TcpSocket),
 * 'error', 'close' (after close() and once every connection has closed),
 * 'drop' (a connection refused by maxConnections).
 */
export class TcpServer extends EventEmitter {
  /** Connections beyond this are closed as soon as they are accepted. */
  maxConnections: number | undefined;
  private readonly options: TcpServerOptions;
  private endpoint: Endpoint | undefined;
  private readonly sockets = new Set<TcpSocket>();
  private closing = false;
  private closeCallbacks: Array<(error?: Error) => void> = [];
  private accepting = false;

  constructor(provider: TcpProvider, connectionListener?: (socket: TcpSocket) => void);
  constructor(provider: TcpProvider, options?: TcpServerOptions, connectionListener?: (socket: TcpSocket) => void);
  constructor(
    private readonly provider: TcpProvider,
    optionsOrListener?: TcpServerOptions | ((socket: TcpSocket) => void),
    connectionListener?: (socket: TcpSocket) => void,
  ) {
    super();
    const listener = typeof optionsOrListener === 'function' ? optionsOrListener : connectionListener;
    this.options = typeof optionsOrListener === 'object' ? { ...optionsOrListener } : {};
    if (listener) this.on('connection', listener);
  }

  get listening(): boolean {
    return this.endpoint !== undefined;
  }

  /**
   * listen(port, host?, backlog?, cb?) or listen({ port, host, backlog }, cb?).
   * Errors (EADDRINUSE...) arrive as 'error' events, as with net.Server.
   */
  listen(port?: number, host?: string, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, host?: string, listeningListener?: () => void): this;
  listen(port?: number, backlog?: number, listeningListener?: () => void): this;
  listen(port?: number, listeningListener?: () => void): this;
  listen(options: TcpListenOptions, listeningListener?: () => void): this;
  listen(...args: unknown[]): this {
    const callback = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
    let options: TcpListenOptions;
    if (typeof args[0] === 'object' && args[0] !== null) {
      options = args[0] as TcpListenOptions;
    } else {
      options = { port: args[0] as number | undefined };
      if (typeof args[1] === 'string') {
        options.host = args[1];
        if (typeof args[2] === 'number') options.backlog = args[2];
      } else if (typeof args[1] === 'number') {
        options.backlog = args[1];
      }
    }
    if (callback) this.once('listening', callback);
    try {
      this.listenNow(options.port ?? 0, options.host, options.backlog, options.ipv6Only === true);
    } catch (thrown) {
      if (!(thrown instanceof SocketError)) throw thrown;
      const error = asError(thrown, 'listen', options.host ?? '0.0.0.0', options.port ?? 0);
      if (callback) this.removeListener('listening', callback);
      process.nextTick(() => this.emit('error', error));
      return this;
    }
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /**
   * The synchronous core of listen(): binds and listens now and throws the
   * endpoint's SocketError (EADDRINUSE, EINVAL...) instead of emitting it.
   * Emits nothing; 'connection' events follow.
   */
  listenNow(port: number, host = '0.0.0.0', backlog = 511, ipv6Only = false): void {
    if (this.endpoint !== undefined) {
      throw Object.assign(new Error('Listen method has been called more than once without closing.'), {
        code: 'ERR_SERVER_ALREADY_LISTEN',
      });
    }
    validatePort(port, 'options.port');
    const endpoint = this.provider.socket(host.includes(':') ? 6 : 4);
    try {
      if (ipv6Only) endpoint.setV6Only(true);
      endpoint.setReuseAddress(true); // libuv sets SO_REUSEADDR on every TCP bind
      endpoint.bind(host, port);
      endpoint.listen(backlog);
    } catch (thrown) {
      try {
        endpoint.close();
      } catch {
        /* never bound */
      }
      throw thrown;
    }
    this.closing = false;
    this.endpoint = endpoint;
    endpoint.onEvent = () => guardEvent(() => this.acceptAll());
    // Connections may be queued already (the stack delivers their event before we listened).
    queueMicrotask(() => this.acceptAll());
  }

  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } | null {
    const endpoint = this.endpoint;
    return endpoint ? { address: endpoint.localAddress, family: nodeFamily(endpoint.family), port: endpoint.localPort } : null;
  }

  /** Stops accepting now; 'close' (and callback) once every connection has closed. */
  close(callback?: (error?: Error) => void): this {
    const endpoint = this.endpoint;
    if (endpoint === undefined) {
      if (callback) {
        const error = Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' });
        process.nextTick(callback, error);
      }
      return this;
    }
    if (callback) this.closeCallbacks.push(callback);
    this.endpoint = undefined;
    this.closing = true;
    endpoint.onEvent = undefined;
    try {
      endpoint.close(); // connections still in the accept queue are reset, as Linux does
    } catch {
      /* already gone */
    }
    this.emitCloseIfDrained();
    return this;
  }

  getConnections(callback: (error: Error | null, count: number) => void): this {
    process.nextTick(callback, null, this.sockets.size);
    return this;
  }

  /** The accepted sockets that are still open. */
  activeSockets(): TcpSocket[] {
    return [...this.sockets];
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** @internal called by an accepted TcpSocket when it is destroyed. */
  _socketClosed(socket: TcpSocket): void {
    if (this.sockets.delete(socket)) this.emitCloseIfDrained();
  }

  private acceptAll(): void {
    if (this.accepting) return;
    this.accepting = true;
    try {
      while (this.endpoint !== undefined) {
        let accepted: Endpoint | null;
        try {
          accepted = this.endpoint.accept();
        } catch (thrown) {
          // A connection reset while queued (ECONNABORTED) is skipped, as servers do.
          if (codeOf(thrown) === 'ECONNABORTED') continue;
          this.emit('error', asError(thrown, 'accept'));
          return;
        }
        if (accepted === null) return;
        this.handleAccepted(accepted);
      }
    } finally {
      this.accepting = false;
    }
  }

  private handleAccepted(endpoint: Endpoint): void {
    if (this.maxConnections !== undefined && this.sockets.size >= this.maxConnections) {
      const info = {
        localAddress: endpoint.localAddress,
        localPort: endpoint.localPort,
        localFamily: nodeFamily(endpoint.family),
        remoteAddress: endpoint.remoteAddress,
        remotePort: endpoint.remotePort,
        remoteFamily: nodeFamily(endpoint.family),
      };
      try {
        endpoint.close();
      } catch {
        /* already gone */
      }
      this.emit('drop', info);
      return;
    }
    const o = this.options;
    const socket = new TcpSocket({
      endpoint,
      allowHalfOpen: Boolean(o.allowHalfOpen),
      ...(o.highWaterMark === undefined ? {} : { readableHighWaterMark: o.highWaterMark, writableHighWaterMark: o.highWaterMark }),
      ...(o.noDelay === undefined ? {} : { noDelay: o.noDelay }),
      ...(o.keepAlive === undefined ? {} : { keepAlive: o.keepAlive }),
      ...(o.keepAliveInitialDelay === undefined ? {} : { keepAliveInitialDelay: o.keepAliveInitialDelay }),
    });
    socket.server = this;
    socket._server = this;
    this.sockets.add(socket);
    if (o.pauseOnConnect) socket.pause();
    this.emit('connection', socket);
  }

  private emitCloseIfDrained(): void {
    if (!this.closing || this.endpoint !== undefined || this.sockets.size > 0) return;
    this.closing = false;
    const callbacks = this.closeCallbacks;
    this.closeCallbacks = [];
    process.nextTick(() => {
      for (const cb of callbacks) cb();
      this.emit('close');
    });
  }
}
