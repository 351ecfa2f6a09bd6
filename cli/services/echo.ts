/** Echo (RFC 862, port 7): every byte received is sent back; our FIN follows the peer's, after the echo. */
import type { TcpProvider } from '../../tun/node/provider.ts';
import { listenService, type RunningService, type StackView } from './service.ts';

export function start(provider: TcpProvider, _stack: StackView, port = 7): RunningService {
  // pipe() applies backpressure both ways: a client that does not read stops being read.
  return listenService('echo', provider, port, { allowHalfOpen: true }, (socket) => socket.pipe(socket));
}
