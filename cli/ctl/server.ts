/**
 * The control socket of a running `up`: a unix socket (mode 0600, in a 0700
 * directory) answering the requests of cli/ctl/protocol.ts. It never keeps
 * the process alive on its own, and close() removes the socket file.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { ControlHandler, MAX_REQUEST, type ControlTarget } from './protocol.ts';
import { claimSocketPath } from './socket-path.ts';

export class ControlServer {
  private readonly sockets = new Set<Socket>();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly server: Server,
  ) {}

  /**
   * Listens on `path`. Only a stale socket there is replaced (cli/ctl/socket-path.ts);
   * anything else is refused with a ControlPathError. With `createDirectory`
   * the last component of its directory is made (mode 0700) when missing: the
   * run directory is tcpstack's own; a directory the user named never is.
   */
  static async listen(path: string, handler: ControlHandler | ControlTarget, options: { createDirectory?: boolean } = {}): Promise<ControlServer> {
    const h = handler instanceof ControlHandler ? handler : new ControlHandler(handler);
    if (options.createDirectory) {
      try {
        mkdirSync(dirname(path), { mode: 0o700 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    await claimSocketPath(path);
    const server = createServer();
    const control = new ControlServer(path, server);
    server.on('connection', (socket) => control.serve(socket, h));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    server.unref();
    return control;
  }

  private serve(socket: Socket, handler: ControlHandler): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.unref();
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() !== '') socket.write(`${handler.handleLine(line)}\n`);
      }
      if (buffer.length > MAX_REQUEST) {
        socket.end(`${JSON.stringify({ ok: false, error: `bad request: longer than ${MAX_REQUEST} bytes` })}\n`);
        buffer = '';
      }
    });
    socket.on('end', () => {
      if (buffer.trim() !== '') socket.write(`${handler.handleLine(buffer)}\n`);
      socket.end();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** Stops listening, drops open connections and removes the socket file; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    for (const s of this.sockets) s.destroy();
    try {
      // Only the socket this server made: a file put there since is not touched.
      if (lstatSync(this.path).isSocket()) unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}
