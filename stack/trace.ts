/**
 * A typed trace of what the stack did and why: the record tests assert on and
 * the CLI prints as a timeline. Emitting costs one branch when nobody listens.
 */
import type { DropReason } from './drop.ts';

export type TraceEvent =
  | { kind: 'drop'; t: number; reason: DropReason; detail?: string }
  | { kind: 'icmp-out'; t: number; type: number; code: number; to: number }
  | { kind: 'icmp-ratelimit'; t: number; type: number; code: number; to: number; scope: 'host' | 'global' }
  | { kind: 'reasm-timeout'; t: number; source: number; id: number }
  | { kind: 'internal-error'; t: number; message: string };

export type TraceSink = (event: TraceEvent) => void;
