/** The TCP core as the Node-shaped sockets (socket.ts, server.ts, agent.ts) see it. */
import type { Endpoint, ListenerInfo, TcpInfo } from '../../stack/socket/types.ts';

export type { ListenerInfo };

/** What this layer needs from the TCP core: `stack.tcp` satisfies it, and so do test fakes. */
export interface TcpProvider {
  /** A new unbound endpoint: AF_INET (4, the default) or AF_INET6 (6). */
  socket(family?: 4 | 6): Endpoint;
  /** The stack has an IPv6 address (absent: it has not): servers may listen on [::] too. */
  readonly ipv6?: boolean;
  /** Every connection, listeners excluded (`ss -ti`). */
  connections(): TcpInfo[];
  listeners(): ListenerInfo[];
}
