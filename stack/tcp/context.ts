/**
 * What a connection, listener or TIME_WAIT sock needs from the TCP layer
 * around it. Keeping it an interface keeps connection.ts free of the tables
 * and lets the tests see exactly which services a connection uses.
 */
import type { Clock } from '../clock.ts';
import type { Counters } from '../counters.ts';
import type { Random } from '../random.ts';
import type { Sysctls } from '../sysctl.ts';
import type { TimerQueue } from '../timers.ts';
import type { TraceSink } from '../trace.ts';
import type { ResetEnvironment } from './reset.ts';

export interface TcpContext extends ResetEnvironment {
  readonly clock: Clock;
  readonly counters: Counters;
  readonly sysctl: Sysctls;
  readonly timers: TimerQueue;
  readonly random: Random;
  /** The stack's address. */
  readonly address: number;
  /** MSS we advertise: link MTU − 40. */
  readonly advMss: number;
  trace: TraceSink | undefined;
  /** Hands a finished IPv4 packet to IP output. */
  send(packet: Uint8Array): void;
  now(): number;
}
