/**
 * The services of `tcpstack up` as the applications of one host, and the
 * host faults `up` injects on signals:
 *
 * - crashAndRestart() (SIGUSR1): the TCP layer forgets everything silently
 *   (TcpApi.crash), the old service instances are disposed of (their
 *   endpoints are dead: closing them sends nothing, and no event reaches them
 *   any more), and the services start again on the same ports, as they would
 *   after a reboot.
 * - freeze() / unfreeze() (SIGUSR2): the applications stop acting while the
 *   stack runs on (AppGate).
 */
import type { TcpApi } from '../../stack/stack.ts';
import type { ForgottenCounts } from '../../stack/trace.ts';
import { AppGate } from './gate.ts';
import { startServices, type RunningServices, type ServiceChoice } from './index.ts';
import type { RunningService, StackView } from './service.ts';

/** What the host needs of the stack's TCP: `stack.tcp` satisfies it. */
export type HostTcp = Pick<TcpApi, 'socket' | 'connections' | 'listeners' | 'crash'>;

export interface CrashReport {
  /** What the stack forgot, as TcpApi.crash() reports it (and the host-crash trace event). */
  forgotten: ForgottenCounts;
  /** The applications were frozen when the host crashed (the restarted ones are not). */
  wasFrozen: boolean;
}

export class ServiceHost {
  private gate: AppGate;
  private running: RunningServices;
  private closed = false;

  /** Starts the services; throws the SocketError of one that cannot listen (the others are closed again). */
  constructor(
    private readonly choices: readonly ServiceChoice[],
    private readonly tcp: HostTcp,
    private readonly stack: StackView,
  ) {
    this.gate = new AppGate(tcp);
    this.running = startServices(choices, this.gate.provider, stack);
  }

  get services(): readonly RunningService[] {
    return this.running.services;
  }

  get frozen(): boolean {
    return this.gate.frozen;
  }

  freeze(): void {
    this.gate.freeze();
  }

  /** Resumes the applications; returns how many deferred calls and events ran. */
  unfreeze(): number {
    return this.gate.unfreeze();
  }

  /** Crashes the host and restarts every service; throws if a service cannot listen again. */
  crashAndRestart(): CrashReport {
    const wasFrozen = this.gate.frozen;
    const forgotten = this.tcp.crash();
    // The old applications died with the host: the events they missed are dropped,
    // and disposing of them acts on forgotten endpoints only (no segment, no event).
    this.gate.discard();
    this.running.close();
    this.gate = new AppGate(this.tcp);
    this.running = startServices(this.choices, this.gate.provider, this.stack);
    return { forgotten, wasFrozen };
  }

  /** Stops every service (idempotent). Frozen applications do not wake up: the closes they deferred run now, the rest is dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.gate.discard();
    this.running.close();
  }
}
