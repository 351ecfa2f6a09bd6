/**
 * Faults that hold packets instead of dropping them: a delay on everything
 * the peer sends to the subject (a path with a round-trip time, so that the
 * stack's processing time, a few milliseconds, weighs as little against it as
 * the kernel's few microseconds), and a segment of the subject's held back
 * until later ones have passed (reordering). This kernel has neither netem
 * nor nft's queue statement, so an iptables NFQUEUE rule in the PEER
 * namespace (ip6tables over IPv6) hands the packets to nfqueue.py, which
 * gives them back later; both runs meet the same rule, the same program,
 * on the same kernel.
 *
 * Where the hook sits against the capture (tcpdump on the peer's interface):
 * the output hook comes before it, so the capture shows the peer's packets
 * when they leave, after the delay (as the subject sees them); the input
 * hook comes after it, so the capture shows the subject's segments in the
 * order sent, and the peer's SACKs show the order the peer's TCP got them.
 */
import { fileURLToPath } from 'node:url';
import { familyOf, type Family } from './family.ts';
import { nsRun, spawnIn, type Child } from './lab.ts';
import type { SegmentTarget } from './segment-faults.ts';

const NFQUEUE_PY = fileURLToPath(new URL('./nfqueue.py', import.meta.url));

/** A running queue fault: its iptables rule and its nfqueue.py. */
export interface QueueFault {
  /** Removes the rule, then lets the program go (it accepts what it still holds: nothing queued is lost). */
  stop(): Promise<void>;
}

let nextQueue = 1;

async function startQueue(ns: string, family: Family, mode: string[], chain: 'INPUT' | 'OUTPUT', match: string[]): Promise<QueueFault> {
  const iptables = family === 4 ? 'iptables' : 'ip6tables';
  const queue = nextQueue++;
  const proc: Child = spawnIn(ns, ['python3', NFQUEUE_PY, String(queue), ...mode]);
  try {
    await proc.waitFor(/^ready$/m, 'stdout', 10_000);
  } catch (error) {
    await proc.stop('SIGKILL');
    throw error;
  }
  const rule = [chain, ...match, '-j', 'NFQUEUE', '--queue-num', String(queue)];
  try {
    await nsRun(ns, [iptables, '-w', '-A', ...rule]);
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return {
    async stop(): Promise<void> {
      // The rule first: with nobody bound to the queue, its packets would be dropped.
      await nsRun(ns, [iptables, '-w', '-D', ...rule]);
      await proc.stop('SIGTERM', 3000);
      const summary = /held (\d+) released (\d+)/.exec(proc.stdout());
      if (!summary || summary[1] !== summary[2]) throw new Error(`nfqueue.py ${mode.join(' ')}: ${proc.stdout().trim() || proc.stderr().trim() || 'no summary'}`);
    },
  };
}

/** Everything the peer sends to `subjectAddr` leaves `ms` milliseconds late, in order. */
export function startDelay(ns: string, subjectAddr: string, ms: number): Promise<QueueFault> {
  if (!Number.isInteger(ms) || ms < 1 || ms > 1000) throw new Error(`delay fault: ms must be 1-1000, not ${ms}`);
  return startQueue(ns, familyOf(subjectAddr), ['delay', String(ms)], 'OUTPUT', ['-d', subjectAddr, '-p', 'tcp']);
}

/**
 * The segments starting at `seqs` (with `t.carrying`, the packets carrying
 * those bytes), on their first pass, reach the peer's TCP
 * after `after` later data segments of the connection have.
 */
export function startReorder(ns: string, t: SegmentTarget, seqs: number[], after: number): Promise<QueueFault> {
  if (!Number.isInteger(after) || after < 1 || after > 64) throw new Error(`reorder fault: after must be 1-64, not ${after}`);
  const match = ['-s', t.subjectAddr, '-d', t.peerAddr, '-p', 'tcp', '--sport', String(t.subjectPort), '--dport', String(t.peerPort)];
  // Payload only (20 bytes of IP header, or 40 of IPv6's, and at most 60 of
  // TCP), as the segment faults match: a bare ACK neither waits nor counts.
  // The length match counts the IPv6 fixed header too (length_mt6).
  const family = t.family ?? 4;
  match.push('-m', 'length', '--length', `${family === 4 ? 81 : 101}:65535`);
  return startQueue(ns, family, [t.carrying === true ? 'reorder-carrying' : 'reorder', String(after), ...seqs.map(String)], 'INPUT', match);
}
