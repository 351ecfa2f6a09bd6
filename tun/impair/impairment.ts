/**
 * The impairment core, sans-I/O: packets go in with `push(direction, packet)`,
 * come out with `takeDue(direction)` once their release time has come, and
 * the host asks `nextDeadline()` when to look again. Time comes from the
 * injected clock and every random choice from streams seeded by
 * `config.seed`, so the same seed and the same packets at the same (virtual)
 * times give the same faults.
 *
 * Each packet, per direction (in = towards the stack, out = from it):
 *   1. blackout windows (static, and those a rule started): dropped
 *   2. MTU clamp: dropped when longer than the clamp
 *   3. the rules, in file order (drop, rewrite, delay, duplicate, corrupt,
 *      inject, blackout)
 *   4. loss
 *   5. duplication (the copy goes through 6-8 on its own)
 *   6. corruption (one bit flip the checksum catches, on a copy)
 *   7. rate limit: serialisation behind the packets before it, tail drop
 *      when the queue is full
 *   8. delay with jitter (order kept unless asked otherwise), then --reorder
 *      holding a packet back so later ones overtake it; a rule's delay adds
 *      on top, outside the ordering
 *
 * An observer, when set, is told each of these verdicts with its packet
 * (tun/impair/verdict.ts).
 */
import type { Clock } from '../../stack/clock.ts';
import { ImpairCounters } from './counters.ts';
import { flipOneBit } from './packet.ts';
import { RandomFaults, type DirectionFaults } from './random-faults.ts';
import { RuleEngine, type Direction } from './rule-engine.ts';
import type { Rule } from './rules.ts';
import { Schedule } from './schedule.ts';
import { firstDifferingBit, type ImpairCopy, type ImpairObserver } from './verdict.ts';

export type { Direction } from './rule-engine.ts';

export interface ImpairConfig {
  /** Seeds every random choice (a uint32). */
  seed: number;
  /** Faults in both directions; `in` and `out` override them field by field. */
  both?: DirectionFaults;
  /** Towards the stack (what the link receives). */
  in?: DirectionFaults;
  /** From the stack (what the stack sends). */
  out?: DirectionFaults;
  /** Targeted faults (tun/impair/rules.ts). */
  rules?: Rule[];
}

export const DIRECTIONS: readonly Direction[] = ['in', 'out'];

/** The faults a config gives one direction. */
export function directionFaults(config: ImpairConfig, dir: Direction): DirectionFaults {
  return { ...config.both, ...config[dir] };
}

/** True when the config does anything at all. */
export function isActive(config: ImpairConfig): boolean {
  if ((config.rules?.length ?? 0) > 0) return true;
  return DIRECTIONS.some((d) => Object.values(directionFaults(config, d)).some((v) => v !== undefined && v !== 0 && !(Array.isArray(v) && v.length === 0)));
}

export class Impairment {
  readonly counters: ImpairCounters;
  /** Clock reading at creation: blackout windows and rule time windows count from here. */
  readonly start: number;
  readonly seed: number;
  private readonly faults: Record<Direction, RandomFaults>;
  private readonly engine: RuleEngine | undefined;
  private readonly queues: Record<Direction, Schedule> = { in: new Schedule(), out: new Schedule() };
  /** End of the blackout a rule started, per direction. */
  private readonly blackoutUntil: Record<Direction, number> = { in: -Infinity, out: -Infinity };
  /**
   * Told every verdict with its packet when set (tun/impair/verdict.ts; a
   * pcapng capture's comments). Unset, the verdicts are neither built nor
   * told: the optional calls below skip their arguments.
   */
  observer: ImpairObserver | undefined;

  constructor(
    readonly config: ImpairConfig,
    private readonly clock: Clock,
  ) {
    this.seed = config.seed >>> 0;
    this.start = clock.now();
    const rules = config.rules ?? [];
    this.counters = new ImpairCounters(rules.length);
    this.faults = {
      in: new RandomFaults(directionFaults(config, 'in'), this.seed, 'in'),
      out: new RandomFaults(directionFaults(config, 'out'), this.seed, 'out'),
    };
    this.engine = rules.length > 0 ? new RuleEngine(rules, this.counters, this.start) : undefined;
  }

  /** Takes one packet travelling in `dir` (the caller gives it up: it may be held and released later). */
  push(dir: Direction, packet: Uint8Array): void {
    const now = this.clock.now();
    const c = this.counters[dir];
    const f = this.faults[dir];
    c.ImpairPackets++;
    if (now < this.blackoutUntil[dir] || f.inBlackout(now - this.start)) {
      c.ImpairBlackoutDrops++;
      this.observer?.({ kind: 'drop', dir, packet, cause: 'blackout' });
      return;
    }
    if (f.tooLong(packet)) {
      c.ImpairMtuDrops++;
      this.observer?.({ kind: 'drop', dir, packet, cause: 'mtu' });
      return;
    }
    if (this.engine === undefined) {
      this.fault(dir, packet, now, 0, false, 0, packet, undefined);
      return;
    }
    const o = this.engine.apply(dir, packet, now);
    for (const b of o.blackouts) {
      for (const d of DIRECTIONS) if (b.direction === 'both' || b.direction === d) this.blackoutUntil[d] = Math.max(this.blackoutUntil[d], b.until);
    }
    if (o.packet !== undefined) this.fault(dir, o.packet, now, o.copies, o.corrupt, o.delayMs, packet, o.rewrittenBy);
    else this.observer?.({ kind: 'drop', dir, packet, cause: 'rule', rule: o.droppedBy });
    // After the matched packet: an injection due at the same time leaves behind it.
    for (const inj of o.injections) {
      this.queues[inj.dir].add(now + inj.delayMs, inj.packet);
      this.observer?.({ kind: 'inject', dir: inj.dir, packet: inj.packet, rule: inj.rule, trigger: packet, heldMs: inj.delayMs });
    }
  }

  /**
   * Steps 4-8 for a packet the rules let through (`packet`, rewritten or
   * not); `pushed` is the packet as it came, which the observer is told of.
   */
  private fault(
    dir: Direction,
    packet: Uint8Array,
    now: number,
    copies: number,
    corruptAll: boolean,
    ruleDelay: number,
    pushed: Uint8Array,
    rewrittenBy: readonly number[] | undefined,
  ): void {
    const c = this.counters[dir];
    const f = this.faults[dir];
    if (f.lose()) {
      c.ImpairLossDrops++;
      this.observer?.({ kind: 'drop', dir, packet: pushed, cause: 'loss' });
      return;
    }
    if (f.duplicate()) {
      copies++;
      c.ImpairDuplicated++;
    }
    for (let i = 0; i <= copies; i++) {
      let p = packet;
      let flippedBit = -1;
      // Drawn for every copy, even one a rule corrupts anyway, so the stream stays in step.
      const randomCorrupt = f.corrupt();
      if (corruptAll || randomCorrupt) {
        const flipped = flipOneBit(p, f.stream(corruptAll ? 'ruleCorruptBit' : 'corruptBit'));
        if (flipped !== undefined) {
          if (this.observer !== undefined) flippedBit = firstDifferingBit(p, flipped);
          p = flipped;
          c.ImpairCorrupted++;
        }
      }
      let depart = now;
      if (f.rate !== undefined) {
        const d = f.rate.admit(now, p.length);
        if (d === undefined) {
          c.ImpairRateDrops++;
          this.observer?.({ kind: 'drop', dir, packet: pushed, cause: 'rate', copy: copyOf(i, p, rewrittenBy, flippedBit) });
          continue;
        }
        depart = d;
      }
      const a = f.arrival(depart);
      if (a.delayed) c.ImpairDelayed++;
      if (a.reordered) c.ImpairReordered++;
      this.queues[dir].add(a.at + ruleDelay, p);
      this.observer?.({ kind: 'queue', dir, packet: pushed, copy: copyOf(i, p, rewrittenBy, flippedBit), heldMs: a.at + ruleDelay - now, reordered: a.reordered });
    }
  }

  /** The earliest time a held packet is due (clock ms), or Infinity. */
  nextDeadline(): number {
    return Math.min(this.queues.in.next(), this.queues.out.next());
  }

  /** Removes and returns the packets of `dir` that are due now, in release order. */
  takeDue(dir: Direction): Uint8Array[] {
    const due = this.queues[dir].takeDue(this.clock.now());
    this.counters[dir].ImpairDelivered += due.length;
    return due;
  }

  /** Packets held in `dir`. */
  pending(dir: Direction): number {
    return this.queues[dir].size;
  }

  /** Forgets every held packet (the link closed). */
  clear(): void {
    this.queues.in.clear();
    this.queues.out.clear();
  }
}

/** An observer's view of one copy (flippedBit -1: not corrupted). */
function copyOf(index: number, bytes: Uint8Array, rewrittenBy: readonly number[] | undefined, flippedBit: number): ImpairCopy {
  const copy: ImpairCopy = { index, bytes };
  if (rewrittenBy !== undefined) copy.rewrittenBy = rewrittenBy;
  if (flippedBit >= 0) copy.corruptedBit = flippedBit;
  return copy;
}
