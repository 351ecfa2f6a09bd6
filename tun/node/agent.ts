/**
 * `TcpAgent`: Node's http client over the stack, with its pooling and keep-alive.
 */
import { Agent, type AgentOptions, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TcpProvider } from './provider.ts';
import { TcpSocket } from './socket.ts';

/**
 * An http.Agent whose sockets are TcpSockets on the stack: pooling and
 * keep-alive work as with Node's own agent.
 *   http.get({ host: '198.18.0.1', port: 80, agent: new TcpAgent(tcp, { keepAlive: true }) }, ...)
 */
export class TcpAgent extends Agent {
  constructor(
    private readonly provider: TcpProvider,
    options?: AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: ClientRequestArgs, _callback?: (error: Error | null, stream: Duplex) => void): Duplex {
    const host = options.host ?? options.hostname;
    const socket = TcpSocket.connect(this.provider, {
      port: Number(options.port ?? 80),
      host: host ?? '',
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
    return socket; // the agent takes a returned socket (the callback form is not needed)
  }
}
