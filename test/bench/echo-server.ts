/**
 * The kernel's side of `make bench`: a TCP echo server on Node's `net`
 * (kernel sockets), shaped like our stack's `echo` service (allowHalfOpen,
 * socket.pipe(socket): our FIN follows the peer's, after the echo).
 *
 *   node --import tsx test/bench/echo-server.ts --host 10.99.0.2 --port 7 [--max-seconds 300]
 *
 * Prints `listening HOST:PORT` once it accepts. Bounded: exits by itself after
 * --max-seconds, and at once on SIGTERM/SIGINT/SIGHUP.
 */
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '0.0.0.0' },
    port: { type: 'string', default: '7' },
    'max-seconds': { type: 'string', default: '300' },
    backlog: { type: 'string', default: '511' },
  },
});
const port = Number(values.port);
const maxSeconds = Number(values['max-seconds']);

const sockets = new Set<Socket>();
const server = createServer({ allowHalfOpen: true }, (socket) => {
  sockets.add(socket);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => sockets.delete(socket));
  socket.pipe(socket);
});
server.on('error', (error) => {
  console.error(`echo-server: ${error.message}`);
  process.exit(1);
});
server.listen({ host: values.host, port, backlog: Number(values.backlog) }, () => {
  console.log(`listening ${values.host}:${port}`);
});

function quit(): void {
  server.close();
  for (const s of sockets) s.destroy();
  process.exit(0);
}
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, quit);
setTimeout(() => {
  console.error(`echo-server: --max-seconds ${maxSeconds} reached, exiting`);
  quit();
}, maxSeconds * 1000);
