/** The client side of the control socket: one request, one response, bounded in time. */
import { createConnection } from 'node:net';
import { FatalError } from '../usage.ts';
import type { ControlRequest, ControlResponse } from './protocol.ts';

/** Sends `requests` on one connection and resolves with their responses, in order. */
export function ctlRequest(path: string, requests: ControlRequest[], timeoutMs = 5000): Promise<ControlResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    const responses: ControlResponse[] = [];
    let buffer = '';
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(responses);
    };
    const timer = setTimeout(() => finish(new FatalError(`control socket ${path}: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(requests.map((r) => `${JSON.stringify(r)}\n`).join('')));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          responses.push(JSON.parse(line) as ControlResponse);
        } catch {
          finish(new FatalError(`control socket ${path}: answered something that is not JSON`));
          return;
        }
        if (responses.length === requests.length) finish();
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
          ? `no tcpstack up or connect is listening on ${path} (${error.code})`
          : `control socket ${path}: ${error.code ?? error.message}`;
      finish(new FatalError(why));
    });
    socket.on('close', () => finish(responses.length === requests.length ? undefined : new FatalError(`control socket ${path}: closed before answering`)));
  });
}
