/**
 * close-on-accept (lab, port 4002): accepts and closes at once, an orderly
 * close (FIN) as long as the client has not sent anything yet. The client
 * reads EOF; our side goes FIN_WAIT → TIME_WAIT.
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import { listenEndpoints, type EndpointService } from './endpoint-service.ts';
import type { StackView } from './service.ts';

export function start(provider: TcpProvider, _stack: StackView, port = 4002): EndpointService {
  return listenEndpoints('close-on-accept', provider, port, {}, (endpoint, release) => release(endpoint));
}
