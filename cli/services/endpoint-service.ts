/**
 * What the lab services share: they are written on the BSD-shaped Endpoint (not
 * on TcpServer/TcpSocket) because each imitates, call by call, the server side
 * of one of the Linux behaviours in docs/linux-behaviour.md: accept, a read of
 * a given size, SO_LINGER, close. This is their listening loop: a listening
 * endpoint that accepts every queued connection on its readiness event and
 * hands each to the service, plus the set of endpoints still open so that
 * close() can let go of them all.
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import type { RunningService } from './service.ts';

export interface EndpointServiceOptions {
  /** listen(2)'s backlog (default 511, as Node and most servers use). */
  backlog?: number;
  /** false: listen but never accept (the no-accept service). */
  accept?: boolean;
}

export interface EndpointService extends RunningService {
  /** The IPv4 listener (0.0.0.0). */
  readonly listener: Endpoint;
  /** The IPv6 one ([::], v6-only), when the stack has IPv6. */
  readonly listener6: Endpoint | undefined;
  /** Connections accepted over the service's life. */
  accepted(): number;
}

/** A listener on `port` at `address`, SO_REUSEADDR as every server; closed again if it cannot listen. */
function listenOn(provider: TcpProvider, family: 4 | 6, port: number, backlog: number): Endpoint {
  const listener = provider.socket(family);
  try {
    // The IPv6 listener takes IPv6 only: IPv4 clients keep meeting an IPv4 socket, as before.
    if (family === 6) listener.setV6Only(true);
    listener.setReuseAddress(true);
    listener.bind(family === 6 ? '::' : '0.0.0.0', port);
    listener.listen(backlog);
  } catch (error) {
    listener.close();
    throw error;
  }
  return listener;
}

/**
 * Listens on `port` (all addresses of both families: 0.0.0.0 and, when the
 * stack has IPv6, [::] v6-only; SO_REUSEADDR like every server) and calls
 * `onAccept(endpoint, release)` for each accepted connection. `release(endpoint)`
 * closes the endpoint (close(2): FIN, or RST under Linux's rules) and forgets
 * it; it is one function for every connection (no closure per connection).
 * Throws the endpoint's SocketError (EADDRINUSE...) if it cannot listen.
 */
export function listenEndpoints(
  name: string,
  provider: TcpProvider,
  port: number,
  options: EndpointServiceOptions,
  onAccept: (endpoint: Endpoint, release: (endpoint: Endpoint) => void) => void,
): EndpointService {
  const backlog = options.backlog ?? 511;
  const listener = listenOn(provider, 4, port, backlog);
  let listener6: Endpoint | undefined;
  try {
    if (provider.ipv6 === true) listener6 = listenOn(provider, 6, port, backlog);
  } catch (error) {
    listener.close();
    throw error;
  }
  const open = new Set<Endpoint>();
  let accepted = 0;
  let closed = false;

  const release = (endpoint: Endpoint): void => {
    if (!open.delete(endpoint)) return;
    endpoint.onEvent = undefined;
    endpoint.close();
  };

  if (options.accept !== false) {
    const acceptAll = (from: Endpoint): void => {
      // Each accept() takes one connection off the queue, so this ends.
      while (!closed) {
        const endpoint = from.accept();
        if (endpoint === null) return;
        accepted++;
        open.add(endpoint);
        onAccept(endpoint, release);
      }
    };
    listener.onEvent = acceptAll;
    if (listener6 !== undefined) listener6.onEvent = acceptAll;
  }

  return {
    name,
    port,
    listener,
    listener6,
    accepted: () => accepted,
    connections: () => open.size,
    close() {
      if (closed) return;
      closed = true;
      for (const l of [listener, listener6]) {
        if (l === undefined) continue;
        l.onEvent = undefined;
        l.close(); // connections never accepted are reset, as Linux does
      }
      for (const endpoint of [...open]) release(endpoint);
    },
  };
}
