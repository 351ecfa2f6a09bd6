/**
 * no-read (lab, port 4005): accepts and never reads (nor writes, nor
 * closes). The receive buffer fills, our window closes to zero, the client
 * sends zero-window probes that we answer; nothing is reset. A connection the
 * client resets is let go.
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import { listenEndpoints, type EndpointService } from './endpoint-service.ts';
import type { StackView } from './service.ts';

export function start(provider: TcpProvider, _stack: StackView, port = 4005): EndpointService {
  return listenEndpoints('no-read', provider, port, {}, (endpoint, release) => {
    endpoint.onEvent = () => {
      if (endpoint.state === 'CLOSED') release(endpoint);
    };
  });
}
