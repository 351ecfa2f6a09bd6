/**
 * partial-read (lab, port 4001): docs/linux-behaviour.md, Close with unread
 * data. Accepts, waits until 4096 bytes (or the end of the stream) have
 * arrived, reads exactly up to 4096 of them once, and closes. A client that
 * sent more sees our close() with unread data: a RST (RST,ACK seq=snd_nxt
 * ack=rcv_nxt, TcpExtTCPAbortOnClose) and recv() ECONNRESET.
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import { POLLERR, POLLHUP, POLLRDHUP } from '../../stack/socket/types.ts';
import { listenEndpoints, type EndpointService } from './endpoint-service.ts';
import type { StackView } from './service.ts';

/** The size of the one read (the server's recv(4096)). */
export const PARTIAL_READ_BYTES = 4096;

export function start(provider: TcpProvider, _stack: StackView, port = 4001): EndpointService & { bytesRead(): number } {
  let bytesRead = 0;
  const service = listenEndpoints('partial-read', provider, port, {}, (endpoint, release) => {
    const step = (): void => {
      // Like recv(4096, MSG_WAITALL): the whole 4096 bytes, unless the stream ends or fails first.
      const ended = (endpoint.poll() & (POLLRDHUP | POLLHUP | POLLERR)) !== 0;
      if (endpoint.readableBytes < PARTIAL_READ_BYTES && !ended) return;
      try {
        bytesRead += endpoint.read(PARTIAL_READ_BYTES)?.length ?? 0;
      } catch {
        // ECONNRESET...: the client went first; close all the same.
      }
      release(endpoint);
    };
    endpoint.onEvent = step;
    step();
  });
  return Object.assign(service, { bytesRead: () => bytesRead });
}
