/**
 * What the impairment decided for each packet, told to an optional observer
 * (Impairment.observer): a capture uses it to say, beside each packet, that
 * it was lost, which rule dropped or injected it, which bit was flipped, how
 * long it was held. Nothing is built when no observer is set.
 */
import type { Direction } from './rule-engine.ts';

/** Why a packet (or one copy of it) went no further. */
export type ImpairDropCause = 'blackout' | 'mtu' | 'rule' | 'loss' | 'rate';

/** One copy of a packet that passed the rules: the packet itself (index 0) or a duplicate. */
export interface ImpairCopy {
  /** 0 the packet itself, 1, 2... the duplicates (--dup, the duplicate action). */
  index: number;
  /** What travels on: the pushed packet itself, or a rewritten or corrupted copy of it (a new buffer). */
  bytes: Uint8Array;
  /** The rules that rewrote it, in order (1 is the first rule). */
  rewrittenBy?: readonly number[];
  /** The bit flipped, counted from the packet's first bit (the IP header's), most significant bit of each byte first. */
  corruptedBit?: number;
}

export type ImpairVerdict =
  /**
   * `packet` (as pushed) was dropped: whole before any copy was made
   * (blackout, MTU clamp, a rule, loss), or one copy of it by the rate
   * queue's tail drop (`copy` says which).
   */
  | { kind: 'drop'; dir: Direction; packet: Uint8Array; cause: ImpairDropCause; rule?: number; copy?: ImpairCopy }
  /**
   * A copy of `packet` was queued; it leaves `heldMs` from now (0: at once),
   * after the rate queue, the delay and its jitter, --reorder's hold-back
   * (`reordered`) and a rule's delay.
   */
  | { kind: 'queue'; dir: Direction; packet: Uint8Array; copy: ImpairCopy; heldMs: number; reordered: boolean }
  /** Rule `rule` crafted `packet` from `trigger` (as pushed); it leaves in `dir` `heldMs` from now. */
  | { kind: 'inject'; dir: Direction; packet: Uint8Array; rule: number; trigger: Uint8Array; heldMs: number };

export type ImpairObserver = (verdict: ImpairVerdict) => void;

/** The bit where `a` and `b` (same length) first differ, numbered as ImpairCopy.corruptedBit; -1 when equal. */
export function firstDifferingBit(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return -1;
}
