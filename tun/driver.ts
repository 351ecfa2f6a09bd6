/**
 * The real-time driver: joins a sans-I/O Stack to a Link and to the host's
 * clock. One host timer is armed for the stack's earliest deadline, however
 * many timers the stack holds; every received batch is processed and answered
 * with one flush.
 */
import { randomFillSync } from 'node:crypto';
import type { Clock } from '../stack/clock.ts';
import type { Link } from '../stack/link.ts';
import type { Random } from '../stack/random.ts';
import type { Stack } from '../stack/stack.ts';

/**
 * Monotonic milliseconds since process start (never jumps with the wall
 * clock). While the driver works through a batch read from the device it
 * holds now() at each packet's stamp (RealtimeDriver, PACKET_SPACING_MS).
 */
export class MonotonicClock implements Clock {
  private held: number | undefined;
  /** The latest time answered or held: now() never goes below it, so time never runs backwards. */
  private floor = 0;

  now(): number {
    if (this.held !== undefined) return this.held;
    const t = performance.now();
    if (t > this.floor) this.floor = t;
    return this.floor;
  }

  /** now() as it would answer, without moving the floor: for the driver's own use. */
  peek(): number {
    if (this.held !== undefined) return this.held;
    const t = performance.now();
    return t > this.floor ? t : this.floor;
  }

  /** The latest time answered or held so far. */
  latest(): number {
    return this.floor;
  }

  /** now() answers `t` (not below latest()) until release(). */
  hold(t: number): void {
    if (t < this.floor) t = this.floor;
    this.held = t;
    this.floor = t;
  }

  release(): void {
    this.held = undefined;
  }
}

/**
 * The stamps of a batch read from the device: the time it was read, then
 * one microsecond more for each packet, in arrival order. The kernel stamps
 * each packet as it processes it (tcp_mstamp_refresh), microseconds apart
 * for packets that arrived together; read from the wall clock while Node
 * works through the batch, the stamps would carry the milliseconds that
 * work takes into RTT samples, transmit times, RACK's order of
 * transmissions and the 1 ms tests of tcp_tso_should_defer.
 *
 * A backlogged batch (stack/link.ts: read at once after the previous one was
 * handled) came while the stack worked on the previous one, after the read
 * that took it: its stamps go on from the previous batch's, the earliest
 * time it can have arrived, as though that work had taken the kernel's
 * microseconds. Stamped at its read instead, the milliseconds of that work
 * were added to it: ACKs that arrived within microseconds of each other, one
 * flight's, fell either side of a millisecond. In a steady stream every
 * batch is backlogged, and the stamps lag the clock by the work on one
 * batch at most: each batch starts from the previous batch's read.
 */
const PACKET_SPACING_MS = 0.001;

/** Randomness for real deployments: ISNs and ports must not be predictable (RFC 6528). */
export class CryptoRandom implements Random {
  private readonly pool = new Uint32Array(256);
  private next = this.pool.length;

  u32(): number {
    if (this.next === this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    return this.pool[this.next++]!;
  }
}

/**
 * Something besides the stack that needs waking at a deadline, such as an
 * impaired link holding delayed packets. The driver arms its one host timer
 * for the earliest deadline of the stack and every source.
 */
export interface DeadlineSource {
  /** The earliest deadline (clock ms), or Infinity. */
  nextDeadline(): number;
  /** Does what is due at the clock's now. */
  runTimers(): unknown;
  /** Set by the driver: call it when the deadline moved outside the driver's own calls. */
  onDeadlineChanged: (() => void) | undefined;
}

export class RealtimeDriver {
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private stopped = false;
  private flushScheduled = false;
  /** > 0 while a batch or a timer run is being handled: it ends with a flush, so no other is scheduled meanwhile. */
  private working = 0;
  /** When the last batch was read (performance.now()). */
  private lastRead = -Infinity;
  batches = 0;

  constructor(
    private readonly stack: Stack,
    link: Link,
    private readonly clock: Clock,
    private readonly sources: readonly DeadlineSource[] = [],
  ) {
    for (const source of sources) source.onDeadlineChanged = () => this.rearm();
    link.onReceive((batch, backlogged, rxMeta) => {
      this.batches++;
      this.working++;
      try {
        if (clock instanceof MonotonicClock) this.inputStamped(batch, clock, backlogged === true, rxMeta);
        else this.stack.inputBatch(batch, rxMeta);
      } finally {
        this.working--;
      }
      this.rearm();
    });
    // Application calls between batches (a write, a close) flush once, on the
    // next microtask. What a batch or a timer run itself queues (every
    // segment received marks its connection) is left to the flush they end
    // with: no microtask and no second flush per batch.
    stack.onFlushNeeded = () => {
      if (this.flushScheduled || this.stopped || this.working > 0) return;
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.kick();
      });
    };
    // An exception from an application's callback reaches Node as uncaught, as from any event handler.
    stack.onApplicationError = (error) =>
      queueMicrotask(() => {
        throw error;
      });
    this.rearm();
  }

  /** Stack.inputBatch, each packet at its stamp (PACKET_SPACING_MS); the flush after the last. */
  private inputStamped(batch: readonly Uint8Array[], clock: MonotonicClock, backlogged: boolean, rxMeta: Uint32Array | undefined): void {
    const read = performance.now();
    // hold() keeps every stamp at or above the latest time the stack was told.
    const t0 = backlogged ? Math.max(this.lastRead, clock.latest() + PACKET_SPACING_MS) : clock.now();
    this.lastRead = read;
    try {
      for (let i = 0; i < batch.length; i++) {
        clock.hold(t0 + i * PACKET_SPACING_MS);
        this.stack.input(batch[i]!, rxMeta === undefined ? 0 : rxMeta[i]!);
      }
      clock.hold(t0 + batch.length * PACKET_SPACING_MS);
      this.stack.flush();
    } finally {
      clock.release();
    }
  }

  /** Call after the application acted on the stack (wrote, closed...): flushes and re-arms. */
  kick(): void {
    if (this.stopped) return;
    this.stack.flush();
    this.rearm();
  }

  stop(): void {
    this.stopped = true;
    for (const source of this.sources) source.onDeadlineChanged = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private rearm(): void {
    if (this.stopped) return;
    let deadline = this.stack.nextDeadline();
    for (const source of this.sources) deadline = Math.min(deadline, source.nextDeadline());
    // The host timer moves only when the deadline moves earlier. One armed
    // for an earlier time fires, finds nothing due and is armed then for the
    // deadline of that moment: an RTO or delayed ACK pushed later by every
    // batch costs no clearTimeout/setTimeout (and no Timeout object) each
    // time. With no deadline at all it stays, unreferenced, so as not to keep
    // Node running: a request-response exchange leaves none between its
    // batches (the ACK cancels the RTO, the reply, a microtask later, arms
    // it again), which would otherwise clear and set it once per round trip.
    if (deadline >= this.armedFor) {
      if (this.timer !== undefined) {
        if (deadline === Infinity) this.timer.unref();
        else this.timer.ref();
      }
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = deadline;
    // Not now(): an answer raises the clock's floor, and the stamps of a
    // backlogged batch may go on from the last time the stack itself was given.
    const now = this.clock instanceof MonotonicClock ? this.clock.peek() : this.clock.now();
    const delay = Math.max(0, deadline - now);
    this.timer = setTimeout(this.onTimer, Math.ceil(delay));
  }

  private readonly onTimer = (): void => this.fire();

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    this.working++;
    try {
      this.stack.runTimers();
      for (const source of this.sources) source.runTimers();
      // What the sources' work queued (stack.runTimers flushed before it).
      if (this.sources.length > 0) this.stack.flush();
    } finally {
      this.working--;
    }
    this.rearm();
  }
}
