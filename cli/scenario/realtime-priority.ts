/**
 * The stack run's scheduling. In the stack run our stack answers from this
 * Node process, which shares the machine's CPUs with tcpdump, the peer's
 * agent and the NFQUEUE helper; under the default policy its wake-ups vary
 * by milliseconds, and those milliseconds enter its RTT samples and its
 * decisions that compare times to 1 ms (tcp_tso_should_defer's "next ACK
 * within min(1 ms, SRTT/2)", docs/differential-harness.md). For the run,
 * the thread that runs the stack gets SCHED_FIFO (chrt; the harness runs as
 * root), and its policy is restored afterwards.
 *
 * Measured in loss-lost-rexmit-reno, at the first duplicate ACK: how far the
 * next ACK was expected (SRTT less the time since the hole was sent) ranged
 * over −2.7…+1.1 ms in 12 runs under the default policy (3 sent at once
 * where the kernel defers) and over −0.9…−0.3 ms under SCHED_FIFO (every run
 * deferred, as the kernel's did).
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';

/** A priority in the middle of the real-time range: above every normal task, below the kernel's own threads. */
const FIFO_PRIORITY = 20;

/** This thread's id (the main thread's is the process id; a worker thread has its own). */
function threadId(): string {
  try {
    return readlinkSync('/proc/thread-self').split('/').pop() ?? String(process.pid);
  } catch {
    return String(process.pid);
  }
}

/**
 * Puts this thread under SCHED_FIFO; returns the function that puts it back
 * under SCHED_OTHER. When that is refused (no CAP_SYS_NICE, no chrt), a note
 * says so and the run goes on under the default policy.
 */
export function runRealtime(notes: string[]): () => void {
  const tid = threadId();
  const raised = spawnSync('chrt', ['-f', '-p', String(FIFO_PRIORITY), tid], { encoding: 'utf8' });
  if (raised.error !== undefined || raised.status !== 0) {
    const why = raised.error?.message ?? raised.stderr.trim();
    notes.push(`the stack ran under the default scheduling policy (chrt -f refused: ${why})`);
    return () => undefined;
  }
  return () => {
    spawnSync('chrt', ['-o', '-p', '0', tid]);
  };
}
