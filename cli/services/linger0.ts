/**
 * linger0 (lab, port 4003): docs/linux-behaviour.md, SO_LINGER 0. Accepts, sets
 * SO_LINGER {on, 0}, reads once (everything that has arrived, as soon as
 * anything has, or the end of the stream) and closes: an abortive close, a RST
 * (RST,ACK seq=snd_nxt ack=rcv_nxt, TcpExtTCPAbortOnData), whatever the client
 * sent. The client's recv() sees ECONNRESET.
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import { listenEndpoints, type EndpointService } from './endpoint-service.ts';
import type { StackView } from './service.ts';

export function start(provider: TcpProvider, _stack: StackView, port = 4003): EndpointService & { bytesRead(): number } {
  let bytesRead = 0;
  const service = listenEndpoints('linger0', provider, port, {}, (endpoint, release) => {
    endpoint.setLinger(true, 0);
    const step = (): void => {
      let data: Uint8Array | null;
      try {
        data = endpoint.read(); // all that is readable: nothing is left unread to turn this into TCPAbortOnClose
      } catch {
        release(endpoint); // the client reset first
        return;
      }
      if (data === null) return; // EAGAIN: wait for the first data
      bytesRead += data.length;
      release(endpoint);
    };
    endpoint.onEvent = step;
    step();
  });
  return Object.assign(service, { bytesRead: () => bytesRead });
}
