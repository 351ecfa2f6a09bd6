/**
 * A line chat on port 23, usable from plain `telnet`: a welcome banner, each
 * line broadcast to the other users prefixed with its sender's address:port,
 * `/who` and `/quit`. Telnet commands (IAC ...) are stripped, lines end with
 * CR LF, CR NUL, a lone CR or a lone LF, and control characters are removed
 * before a line reaches anyone else's terminal.
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import type { TcpSocket } from '../../tun/node/socket.ts';
import { listenService, type RunningService, type StackView } from './service.ts';

const IAC = 255;
const SB = 250;
const SE = 240;
const WILL = 251;
const DONT = 254;
const CR = 13;
const LF = 10;
const NUL = 0;

/**
 * Splits a telnet byte stream into lines, removing telnet commands: IAC
 * followed by a two-byte command, IAC WILL/WONT/DO/DONT option, IAC SB ...
 * IAC SE, and IAC IAC (a data byte 255, which is not text either).
 */
export class TelnetLineDecoder {
  private state: 'data' | 'iac' | 'option' | 'sb' | 'sb-iac' = 'data';
  private afterCr = false;
  private line: number[] = [];

  /** Longer lines are cut at this many bytes (the rest until the end of line is dropped). */
  constructor(private readonly maxLine = 1024) {}

  feed(chunk: Uint8Array): Buffer[] {
    const lines: Buffer[] = [];
    for (const byte of chunk) {
      switch (this.state) {
        case 'data':
          if (byte === IAC) {
            this.state = 'iac';
          } else if (this.afterCr && (byte === LF || byte === NUL)) {
            this.afterCr = false; // the second half of CR LF / CR NUL
          } else if (byte === CR || byte === LF) {
            this.afterCr = byte === CR;
            lines.push(Buffer.from(this.line));
            this.line = [];
          } else {
            this.afterCr = false;
            if (this.line.length < this.maxLine) this.line.push(byte);
          }
          break;
        case 'iac':
          if (byte >= WILL && byte <= DONT) this.state = 'option';
          else if (byte === SB) this.state = 'sb';
          else this.state = 'data'; // IAC IAC, or a two-byte command (NOP, AYT, IP, GA...)
          break;
        case 'option':
          this.state = 'data';
          break;
        case 'sb':
          if (byte === IAC) this.state = 'sb-iac';
          break;
        case 'sb-iac':
          this.state = byte === SE ? 'data' : 'sb';
          break;
      }
    }
    return lines;
  }
}

/** Removes C0 controls (except TAB) and DEL: nobody's terminal gets escape sequences. */
function printable(line: Buffer): string {
  return line
    .toString('utf8')
    .replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '')
    .trim();
}

export interface ChatOptions {
  /** A user whose unsent output exceeds this many bytes misses messages (default 64 KiB). */
  maxBacklog?: number;
}

interface User {
  socket: TcpSocket;
  name: string;
}

export function start(provider: TcpProvider, _stack: StackView, port = 23, options: ChatOptions = {}): RunningService & { dropped(): number } {
  const maxBacklog = options.maxBacklog ?? 64 * 1024;
  const users = new Set<User>();
  let dropped = 0;

  const send = (user: User, text: string): void => {
    if (!user.socket.writable) return;
    if (user.socket.writableLength > maxBacklog) {
      dropped++;
      return;
    }
    user.socket.write(`${text}\r\n`);
  };
  const broadcast = (from: User, text: string): void => {
    for (const user of users) if (user !== from) send(user, text);
  };

  const service = listenService('chat', provider, port, {}, (socket) => {
    const user: User = { socket, name: `${socket.remoteAddress}:${socket.remotePort}` };
    const others = users.size;
    users.add(user);
    send(
      user,
      `Welcome to the tcpstack chat at ${socket.localAddress}:${socket.localPort}. You are ${user.name}; ` +
        `${others} other${others === 1 ? '' : 's'} here. Commands: /who, /quit.`,
    );
    broadcast(user, `* ${user.name} joined`);

    const decoder = new TelnetLineDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const raw of decoder.feed(chunk)) {
        if (!users.has(user)) return;
        const text = printable(raw);
        if (text === '') continue;
        if (text === '/quit') {
          send(user, 'bye');
          leave();
          socket.end();
        } else if (text === '/who') {
          send(user, `${users.size} here:`);
          for (const u of users) send(user, `  ${u.name}${u === user ? ' (you)' : ''}`);
        } else if (text.startsWith('/')) {
          send(user, `unknown command ${text.split(/\s/)[0]}; try /who or /quit`);
        } else {
          broadcast(user, `${user.name}: ${text}`);
        }
      }
    });
    const leave = (): void => {
      if (users.delete(user)) broadcast(user, `* ${user.name} left`);
    };
    socket.on('end', leave);
    socket.on('close', leave);
  });
  return Object.assign(service, { dropped: () => dropped });
}
