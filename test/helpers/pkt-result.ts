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

/**
 * A passive open, as most test scripts begin (no timestamps, no window
 * scaling; MSS 1460 in every IP version): fd 3 listens, fd 4 is the
 * accepted connection at 0.1 s.
 */
export const PASSIVE_OPEN = `
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
+.1 < . 1:1(0) ack 1 win 1000
+0 accept(3, ..., ...) = 4
`;
