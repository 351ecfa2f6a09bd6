/**
 * What every service shares: the view of the stack it needs, the handle it
 * returns, and the listening loop (accept → a TcpSocket with an error handler,
 * tracked so that close() can end them all).
 */
import type { Counters } from '../../stack/counters.ts';
import type { DropCounters } from '../../stack/drop.ts';
import type { TcpProvider } from '../../tun/node/provider.ts';
import type { TcpSocket } from '../../tun/node/socket.ts';
import { TcpServer, type TcpServerOptions } from '../../tun/node/server.ts';

/** The parts of a Stack the services read (a real Stack satisfies it). */
export interface StackView {
  readonly counters: Counters;
  readonly drops?: DropCounters;
}

export interface RunningService {
  readonly name: string;
  readonly port: number;
  /** Connections currently open. */
  connections(): number;
  /** Stops listening and destroys every open connection. Idempotent. */
  close(): void;
}

/** A service's entry point: listens at once; throws the endpoint's SocketError (EADDRINUSE...) if it cannot. */
export type StartService = (provider: TcpProvider, stack: StackView, port: number) => RunningService;

/**
 * Listens on `port` (all addresses of both families, as endpoint-service.ts
 * does) and hands each accepted socket, already
 * given an 'error' handler (a peer's RST must not take the process down), to
 * `onConnection`.
 */
export function listenService(
  name: string,
  provider: TcpProvider,
  port: number,
  options: TcpServerOptions,
  onConnection: (socket: TcpSocket) => void,
): RunningService & { server: TcpServer; errors: () => number } {
  const sockets = new Set<TcpSocket>();
  let errors = 0;
  const serve = (server: TcpServer): TcpServer => {
    server.on('connection', (socket: TcpSocket) => {
      sockets.add(socket);
      socket.on('error', () => errors++);
      socket.on('close', () => sockets.delete(socket));
      onConnection(socket);
    });
    server.on('error', () => errors++);
    return server;
  };
  const server = serve(new TcpServer(provider, options));
  server.listenNow(port);
  // With IPv6, a second listener on [::], v6-only: IPv4 clients keep meeting the IPv4 one.
  let server6: TcpServer | undefined;
  if (provider.ipv6 === true) {
    server6 = serve(new TcpServer(provider, options));
    try {
      server6.listenNow(port, '::', undefined, true);
    } catch (error) {
      server.close();
      throw error;
    }
  }
  let closed = false;
  return {
    name,
    port,
    server,
    errors: () => errors,
    connections: () => sockets.size,
    close() {
      if (closed) return;
      closed = true;
      server.close();
      server6?.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
