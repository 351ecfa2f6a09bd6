/**
 * Echo (RFC 862, port 7): every byte received is sent back; our FIN follows
 * the peer's, after the echo.
 *
 * Written on the BSD-shaped Endpoint, as an epoll server or lwIP's raw-API
 * echo is written, not on TcpServer/TcpSocket: it is the server `make bench`
 * sets beside those two, and a Node Duplex per connection (its stream state,
 * its listeners, pipe()) would be measured with it. Like the kernel's echo
 * server there (test/bench/c/kernel-echo.c) it reads up to 64 KiB at a time
 * (in place: a view of the segment it came in, never joined with the next)
 * and writes what it read; what a write did not take waits for POLLOUT
 * before anything more is read, so a client that does not read stops being
 * read (backpressure both ways).
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { listenEndpoints, type EndpointService } from './endpoint-service.ts';
import type { StackView } from './service.ts';

/** The most one read takes (kernel-echo.c's buffer). */
const CHUNK = 64 * 1024;

export function start(provider: TcpProvider, _stack: StackView, port = 7): EndpointService {
  return listenEndpoints('echo', provider, port, {}, (endpoint, release) => {
    const connection = new EchoConnection(endpoint, release);
    endpoint.userData = connection;
    endpoint.onEvent = echoEvent;
    connection.step();
  });
}

/** Every echo connection's onEvent: one function, the connection found in userData (no closure per connection). */
function echoEvent(endpoint: Endpoint): void {
  (endpoint.userData as EchoConnection).step();
}

class EchoConnection {
  /** Read, and not yet taken by the send buffer. */
  private pending: Uint8Array | null = null;
  private ended = false;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly release: (endpoint: Endpoint) => void,
  ) {}

  /** On every readiness change: move what can be moved; at the end of the stream, close (FIN after the echo). */
  step(): void {
    const ep = this.endpoint;
    try {
      for (;;) {
        if (this.pending !== null) {
          const taken = ep.writeZeroCopy(this.pending); // a view of what came in: nobody writes it again
          if (taken < this.pending.length) {
            this.pending = this.pending.subarray(taken);
            return; // the rest waits for POLLOUT
          }
          this.pending = null;
        }
        if (this.ended) break;
        const data = ep.readInPlace(CHUNK); // a view of the received segment: sent back without being joined first
        if (data === null) return; // nothing more yet
        if (data.length === 0) this.ended = true; // the peer's FIN
        else this.pending = data;
      }
    } catch {
      // ECONNRESET, ETIMEDOUT, EPIPE: the connection is gone; let go of it.
    }
    // Everything read was echoed (or cannot be): close() sends our FIN after it.
    this.release(ep);
  }
}
