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
  | { kind: 'internal-error'; t: number; message: string }
  | {
      kind: 'tcp-rst';
      t: number;
      /** The reset path (stack/tcp/reset.ts RESET_PATHS) and the kernel function it mirrors. */
      path: string;
      linux: string;
      reason: string;
      generator: 'R1' | 'R2';
      seq: number;
      ack: number;
      flags: number;
      local: number;
      remote: number;
    }
  | { kind: 'tcp-state'; t: number; conn: string; from: string; to: string }
  | { kind: 'tcp-timer'; t: number; conn: string; timer: string; action: 'fire' }
  | { kind: 'tcp-challenge-ack'; t: number; conn: string; why: string }
  | { kind: 'tcp-error'; t: number; conn: string; errno: string }
  | { kind: 'host-crash'; t: number; forgotten: number };

export type TraceSink = (event: TraceEvent) => void;
