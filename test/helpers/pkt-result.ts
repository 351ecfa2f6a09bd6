/** How the packet-script tests read a run's verdict (cli/pkt/runner.ts RunResult). */
import type { ExecutionContext } from 'ava';
import type { RunResult } from '../../cli/pkt/runner.ts';

/** The failure's headline and details as the runner prints them; throws if the script passed. */
export function failure(r: RunResult): string {
  if (r.ok) throw new Error('the script passed');
  return [r.error!.headline(), ...r.error!.details].join('\n');
}

/** Asserts the script passed, showing the runner's report when it did not. */
export function passes(t: ExecutionContext, r: RunResult): void {
  t.true(r.ok, r.ok ? '' : failure(r));
}
