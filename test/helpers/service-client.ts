/** Clients for service tests over the fake network: the server lives at 198.18.0.2, clients at 198.18.0.1. */
import { TcpSocket } from '../../tun/node/socket.ts';
import type { PacingClock } from '../../cli/services/chargen.ts';
import { FakeNet } from './fake-endpoint.ts';

export const SERVER = '198.18.0.2';
export const CLIENT = '198.18.0.1';

export function fakeNet(bufferSize?: number): { net: FakeNet; server: ReturnType<FakeNet['host']>; client: ReturnType<FakeNet['host']> } {
  const net = new FakeNet(bufferSize === undefined ? {} : { bufferSize });
  return { net, server: net.host(SERVER), client: net.host(CLIENT) };
}

/** Lets queued microtasks, nextTicks and one round of immediates run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A connected client that accumulates everything it receives. */
export class Client {
  readonly socket: TcpSocket;
  received = Buffer.alloc(0);
  ended = false;
  closed: Promise<boolean>;
  private waiters: Array<() => void> = [];

  constructor(net: FakeNet, port: number, options: { allowHalfOpen?: boolean; paused?: boolean } = {}) {
    this.socket = TcpSocket.connect(net.host(CLIENT), { port, host: SERVER, allowHalfOpen: options.allowHalfOpen ?? false });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', resolve));
    this.socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    if (options.paused) this.socket.pause();
  }

  get text(): string {
    return this.received.toString('utf8');
  }

  /** Resolves once the received text matches (or the stream ends: then it rejects). */
  async waitFor(pattern: RegExp | ((text: string) => boolean)): Promise<string> {
    const test = typeof pattern === 'function' ? pattern : (t: string) => pattern.test(t);
    while (!test(this.text)) {
      if (this.ended) throw new Error(`stream ended before ${String(pattern)}; got ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.text;
  }

  async waitEnd(): Promise<Buffer> {
    while (!this.ended) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.received;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** A PacingClock that moves only when told to, firing due timers in order. */
export class ManualClock implements PacingClock {
  t = 0;
  fired = 0;
  private timers: Array<{ at: number; callback: () => void; id: number }> = [];
  private nextId = 1;

  now(): number {
    return this.t;
  }

  setTimer(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, callback, id });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing each due timer at its own instant and letting I/O settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      this.fired++;
      next.callback();
      await settle();
    }
    this.t = end;
    await settle();
  }
}
