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
  readonly listener: Endpoint;
  /** Connections accepted over the service's life. */
  accepted(): number;
}

/**
 * Listens on `port` (all addresses, SO_REUSEADDR like every server) and calls
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
  const listener = provider.socket();
  try {
    listener.setReuseAddress(true);
    listener.bind('0.0.0.0', port);
    listener.listen(options.backlog ?? 511);
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
    listener.onEvent = () => {
      // Each accept() takes one connection off the queue, so this ends.
      while (!closed) {
        const endpoint = listener.accept();
        if (endpoint === null) return;
        accepted++;
        open.add(endpoint);
        onAccept(endpoint, release);
      }
    };
  }

  return {
    name,
    port,
    listener,
    accepted: () => accepted,
    connections: () => open.size,
    close() {
      if (closed) return;
      closed = true;
      listener.onEvent = undefined;
      listener.close(); // connections never accepted are reset, as Linux does
      for (const endpoint of [...open]) release(endpoint);
    },
  };
}
