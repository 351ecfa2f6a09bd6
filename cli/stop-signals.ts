/**
 * The stop signals of the commands that create things in the system (`up`,
 * `connect`: a namespace, a TUN device, a control socket): SIGINT, SIGTERM
 * and SIGHUP. The handlers go in first thing, before anything is created,
 * and stay for the life of the process, so no stop signal ever meets Node's
 * default action (death on the spot) while something created is still
 * there: one that arrives during start-up stops the command as soon as
 * start-up is done, and one that arrives again during teardown is noted on
 * stderr and changes nothing. Node's signal watchers do not keep the event
 * loop alive, so leaving them installed does not delay the exit.
 */

import { IpCommandError } from '../tun/netns.ts';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Signal numbers on Linux, for the shell's convention of exit status 128 + signo. */
export const SIGNAL_NUMBERS: Readonly<Record<StopSignal, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export interface StopSignals {
  /** The first stop signal received, or undefined while there has been none. */
  readonly received: StopSignal | undefined;
  /** Resolves with the first stop signal. */
  readonly stopped: Promise<StopSignal>;
  /** Calls `handler` once with the first stop signal (at once if it has already come). */
  onStop(handler: (signal: StopSignal) => void): void;
}

/**
 * The stop signal that made start-up fail, if one did. A Ctrl-C at a
 * terminal signals the whole process group; an `ip` that is being forked
 * then, before its setsid (tun/netns.ts runIp), is still in the group and
 * dies of it. Our own handler sees the same signal a moment later: the
 * failure is the user's stop, not an error to report.
 */
export function interruptedBy(error: unknown): StopSignal | undefined {
  if (!(error instanceof IpCommandError)) return undefined;
  return STOP_SIGNALS.find((s) => s === error.signal);
}

let installed: StopSignals | undefined;

/** Installs the handlers (once per process; later calls return the same watcher). */
export function watchStopSignals(): StopSignals {
  if (installed !== undefined) return installed;
  let received: StopSignal | undefined;
  let resolveStopped!: (signal: StopSignal) => void;
  const stopped = new Promise<StopSignal>((resolve) => (resolveStopped = resolve));
  const onFirst: Array<(signal: StopSignal) => void> = [];
  for (const signal of STOP_SIGNALS) {
    process.on(signal, () => {
      if (received !== undefined) {
        process.stderr.write(`tcpstack: ${signal} again: already stopping (stopped by ${received}), cleaning up\n`);
        return;
      }
      received = signal;
      resolveStopped(signal);
      for (const handler of onFirst.splice(0)) handler(signal);
    });
  }
  installed = {
    get received() {
      return received;
    },
    stopped,
    onStop(handler) {
      if (received !== undefined) handler(received);
      else onFirst.push(handler);
    },
  };
  return installed;
}
