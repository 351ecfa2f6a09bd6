/** The TCP core as the Node-shaped sockets (socket.ts, server.ts, agent.ts) see it. */
import type { Endpoint, ListenerInfo, TcpInfo } from '../../stack/socket/types.ts';

export type { ListenerInfo };

/** What this layer needs from the TCP core: `stack.tcp` satisfies it, and so do test fakes. */
export interface TcpProvider {
  /** A new unbound endpoint. */
  socket(): Endpoint;
  /** Every connection, listeners excluded (`ss -ti`). */
  connections(): TcpInfo[];
  listeners(): ListenerInfo[];
}
