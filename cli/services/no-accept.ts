/**
 * no-accept (lab, port 4004): docs/linux-behaviour.md, Accept-queue overflow
 * and Listener close. Listens with a small backlog (default 1) and never
 * accepts: backlog + 1 handshakes complete and wait in the accept queue,
 * further SYNs are dropped (TcpExtListenOverflows, TcpExtListenDrops) and their
 * clients time out. Stopping the service closes the listener, which resets the
 * queued connections.
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import { listenEndpoints, type EndpointService } from './endpoint-service.ts';
import type { StackView } from './service.ts';

export const NO_ACCEPT_BACKLOG = 1;

export function start(provider: TcpProvider, _stack: StackView, port = 4004, backlog = NO_ACCEPT_BACKLOG): EndpointService {
  return listenEndpoints('no-accept', provider, port, { backlog, accept: false }, () => {});
}
