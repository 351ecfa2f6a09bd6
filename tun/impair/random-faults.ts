/**
 * The random faults of one direction, each drawn from its own seeded stream
 * (so adding --dup does not change which packets --loss drops), and the
 * deterministic ones (rate, MTU clamp, blackout windows).
 */
import { SeededRandom } from '../../stack/random.ts';

export interface DelayFault {
  /** Base one-way delay, ms. */
  ms: number;
  /** Uniform jitter: each packet's delay is in [ms - jitterMs, ms + jitterMs] (never below 0). */
  jitterMs?: number;
  /**
   * true (default): a packet never leaves before the one sent ahead of it
   * (jitter stretches gaps, as on one path); false: each packet keeps its own
   * delay, so jitter larger than the gap between packets reorders them.
   */
  ordered?: boolean;
}

export interface ReorderFault {
  probability: number;
  /** A reordered packet is held back a further uniform 1 ms to holdMs (default 10) while later ones overtake it. */
  holdMs?: number;
}

export interface RateFault {
  /** Serialisation rate: a packet of n bytes occupies the link 8n/bitsPerSecond seconds. */
  bitsPerSecond: number;
  /** Tail drop when this many packets are queued (the one being sent included); default 1000. */
  queuePackets?: number;
  /** Tail drop when the queued bytes would exceed this (instead of a packet count). */
  queueBytes?: number;
}

/** [from, until) in ms since the impairment started. */
export interface Window {
  from: number;
  until: number;
}

export interface DirectionFaults {
  /** Probabilities in [0, 1]. */
  loss?: number;
  dup?: number;
  corrupt?: number;
  delay?: DelayFault;
  reorder?: ReorderFault;
  rate?: RateFault;
  /** Drop packets longer than this many bytes. */
  mtu?: number;
  blackouts?: Window[];
}

export const DEFAULT_QUEUE_PACKETS = 1000;
export const DEFAULT_REORDER_HOLD_MS = 10;

/** The fault kinds that draw random numbers, each with its own stream. */
const STREAMS = ['loss', 'dup', 'corrupt', 'corruptBit', 'delay', 'reorder', 'reorderHold', 'ruleCorruptBit'] as const;
export type StreamName = (typeof STREAMS)[number];

/** The seed of one stream: the run's seed mixed with the direction and the fault (murmur3's finaliser). */
export function streamSeed(seed: number, dir: 'in' | 'out', stream: StreamName): number {
  let h = (seed >>> 0) ^ Math.imul((dir === 'in' ? 0 : 16) + STREAMS.indexOf(stream) + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The serialisation queue of a rate limit: departure times of what is queued, FIFO. */
export class RateQueue {
  private readonly departs: number[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  private lastDepart = -Infinity;

  constructor(private readonly rate: RateFault) {}

  /** The time the packet has left the bottleneck, or undefined for a tail drop. */
  admit(now: number, size: number): number | undefined {
    while (this.head < this.departs.length && this.departs[this.head]! <= now) {
      this.bytes -= this.sizes[this.head]!;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.departs.length) {
      this.departs.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
    const queued = this.departs.length - this.head;
    if (this.rate.queueBytes !== undefined) {
      if (this.bytes + size > this.rate.queueBytes) return undefined;
    } else if (queued >= (this.rate.queuePackets ?? DEFAULT_QUEUE_PACKETS)) {
      return undefined;
    }
    const depart = Math.max(now, this.lastDepart) + (size * 8 * 1000) / this.rate.bitsPerSecond;
    this.lastDepart = depart;
    this.departs.push(depart);
    this.sizes.push(size);
    this.bytes += size;
    return depart;
  }
}

/** One direction's faults with their random streams. */
export class RandomFaults {
  readonly rate: RateQueue | undefined;
  private readonly rng = new Map<StreamName, SeededRandom>();
  /** Release time of the last packet that keeps order (ordered delay). */
  private lastAt = -Infinity;

  constructor(
    readonly faults: DirectionFaults,
    seed: number,
    dir: 'in' | 'out',
  ) {
    for (const s of STREAMS) this.rng.set(s, new SeededRandom(streamSeed(seed, dir, s)));
    this.rate = faults.rate ? new RateQueue(faults.rate) : undefined;
  }

  stream(name: StreamName): SeededRandom {
    return this.rng.get(name)!;
  }

  /** True when a draw of the stream falls below p (no draw at all when p is 0). */
  private chance(name: StreamName, p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.stream(name).float() < p;
  }

  inBlackout(t: number): boolean {
    const windows = this.faults.blackouts;
    if (windows === undefined) return false;
    for (const w of windows) if (t >= w.from && t < w.until) return true;
    return false;
  }

  tooLong(packet: Uint8Array): boolean {
    return this.faults.mtu !== undefined && packet.length > this.faults.mtu;
  }

  lose(): boolean {
    return this.chance('loss', this.faults.loss);
  }

  duplicate(): boolean {
    return this.chance('dup', this.faults.dup);
  }

  corrupt(): boolean {
    return this.chance('corrupt', this.faults.corrupt);
  }

  /**
   * When a packet that left the bottleneck at `depart` arrives, and whether
   * --reorder held it back.
   */
  arrival(depart: number): { at: number; delayed: boolean; reordered: boolean } {
    let at = depart;
    let delayed = false;
    const d = this.faults.delay;
    if (d !== undefined) {
      const jitter = d.jitterMs ?? 0;
      const ms = jitter > 0 ? Math.max(0, d.ms - jitter + 2 * jitter * this.stream('delay').float()) : d.ms;
      at += ms;
      delayed = ms > 0;
    }
    const r = this.faults.reorder;
    if (r !== undefined && this.chance('reorder', r.probability)) {
      const hold = r.holdMs ?? DEFAULT_REORDER_HOLD_MS;
      return { at: at + 1 + (hold - 1) * this.stream('reorderHold').float(), delayed, reordered: true };
    }
    if (d === undefined || d.ordered !== false) {
      if (at < this.lastAt) at = this.lastAt;
      this.lastAt = at;
    }
    return { at, delayed, reordered: false };
  }
}
