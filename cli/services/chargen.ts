/**
 * Character generator (RFC 864, port 19): the 95 printable ASCII characters
 * in 72-character lines, each line starting one character further along,
 * CRLF-terminated, until the client closes. Every connection has a token
 * bucket (default 1 MiB/s, burst 64 KiB) and honours backpressure: nothing
 * more is written until the socket drains.
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import type { TcpSocket } from '../../tun/node/socket.ts';
import { listenService, type RunningService, type StackView } from './service.ts';

const FIRST = 0x20;
const PRINTABLE = 95;
const LINE = 72;
/** One full rotation: 95 lines of 72 characters + CRLF. */
export const CHARGEN_CYCLE = PRINTABLE * (LINE + 2);

function buildCycle(): Buffer {
  const cycle = Buffer.allocUnsafe(CHARGEN_CYCLE * 2);
  let o = 0;
  for (let copy = 0; copy < 2; copy++) {
    for (let line = 0; line < PRINTABLE; line++) {
      for (let i = 0; i < LINE; i++) cycle[o++] = FIRST + ((line + i) % PRINTABLE);
      cycle[o++] = 13;
      cycle[o++] = 10;
    }
  }
  return cycle;
}

/** Two rotations back to back: any window of up to one rotation is one subarray. */
const CYCLE = buildCycle();

/** Bytes `offset`..`offset+length` of the endless chargen stream (length ≤ one rotation). */
export function chargenBytes(offset: number, length: number): Buffer {
  const start = offset % CHARGEN_CYCLE;
  return CYCLE.subarray(start, start + Math.min(length, CHARGEN_CYCLE));
}

/** Time for the token bucket, injectable so tests can count refills without sleeping. */
export interface PacingClock {
  now(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const REAL_CLOCK: PacingClock = {
  now: () => performance.now(),
  setTimer: (callback, ms) => setTimeout(callback, ms),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ChargenOptions {
  /** Bytes per second per connection (default 1 MiB/s). */
  rate?: number;
  /** Bucket size in bytes: the most sent at once after an idle spell (default 64 KiB). */
  burst?: number;
  clock?: PacingClock;
}

/** Largest single write (a few segments; keeps each chunk within one rotation). */
const CHUNK = 4096;

/** The generator of one connection. */
class Generator {
  sent = 0;
  private tokens: number;
  private last: number;
  private timer: unknown;
  private waitingDrain = false;

  constructor(
    private readonly socket: TcpSocket,
    private readonly rate: number,
    private readonly burst: number,
    private readonly clock: PacingClock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
    socket.on('drain', () => {
      this.waitingDrain = false;
      this.pump();
    });
    socket.on('close', () => this.stop());
  }

  pump(): void {
    if (this.waitingDrain || this.timer !== undefined) return;
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    while (this.socket.writable && !this.socket.destroyed) {
      const n = Math.min(CHUNK, Math.floor(this.tokens));
      if (n < Math.min(CHUNK, this.burst)) {
        // Wait until a full chunk (or the whole bucket, if smaller) is available.
        const wait = Math.max(1, Math.ceil(((Math.min(CHUNK, this.burst) - this.tokens) * 1000) / this.rate));
        this.timer = this.clock.setTimer(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      const chunk = chargenBytes(this.sent, n);
      this.tokens -= n;
      this.sent += n;
      if (!this.socket.write(chunk)) {
        this.waitingDrain = true;
        return;
      }
    }
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }
}

export function start(
  provider: TcpProvider,
  _stack: StackView,
  port = 19,
  options: ChargenOptions = {},
): RunningService & { bytesGenerated(): number } {
  const rate = options.rate ?? 1024 * 1024;
  const burst = options.burst ?? 64 * 1024;
  const clock = options.clock ?? REAL_CLOCK;
  if (!(rate > 0) || !(burst >= 1)) throw new RangeError('chargen: rate and burst must be positive');
  const generators = new Set<Generator>();
  let finished = 0;
  const service = listenService('chargen', provider, port, {}, (socket) => {
    socket.resume(); // input is discarded; the client's FIN ends the stream (and us: no half-open)
    const generator = new Generator(socket, rate, burst, clock);
    generators.add(generator);
    socket.on('end', () => generator.stop());
    socket.on('close', () => {
      generators.delete(generator);
      finished += generator.sent;
    });
    generator.pump();
  });
  /** Bytes handed to sockets over the service's life. */
  const bytesGenerated = (): number => finished + [...generators].reduce((sum, g) => sum + g.sent, 0);
  return Object.assign(service, { bytesGenerated });
}
