/** Discard (RFC 863, port 9): reads and throws away everything; closes after the peer's FIN. */
import type { TcpProvider } from '../../tun/node/provider.ts';
import { listenService, type RunningService, type StackView } from './service.ts';

export function start(provider: TcpProvider, _stack: StackView, port = 9): RunningService {
  return listenService('discard', provider, port, {}, (socket) => socket.resume());
}
