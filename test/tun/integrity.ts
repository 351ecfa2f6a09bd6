/**
 * Integrity under faults, in virtual time: 20 MiB each way at once through two
 * of our stacks joined by a wire with 5 % loss, 2 % reordering, 1 %
 * duplication and 0.5 % corruption in both directions; every byte arrives
 * (SHA-256), and every corrupted packet is caught by the receiver's checksum.
 * The seeds are spread over several test files so that ava runs them in
 * parallel.
 */
import type { ExecutionContext } from 'ava';
import type { ImpairConfig } from '../../tun/impair/impairment.ts';
import { World } from '../helpers/world.ts';
import { payload, transfer } from './transfer.ts';

export const MiB = 1024 * 1024;
export const INTEGRITY_BYTES = 20 * MiB;

export const integrityFaults = (seed: number): ImpairConfig => ({
  seed,
  both: { loss: 0.05, reorder: { probability: 0.02 }, dup: 0.01, corrupt: 0.005 },
});

export function integrityRun(t: ExecutionContext, seed: number, bytes = INTEGRITY_BYTES): void {
  const started = performance.now();
  const w = new World({ seed, impair: { a: integrityFaults(seed) } });
  const r = transfer(w, payload(seed, bytes), payload(seed + 1_000_000, bytes));
  t.is(r.up.bytes, bytes, 'A → B: every byte');
  t.is(r.down.bytes, bytes, 'B → A: every byte');
  t.is(r.up.got, r.up.sent, 'A → B: SHA-256 matches');
  t.is(r.down.got, r.down.sent, 'B → A: SHA-256 matches');
  // Let the held (reordered) packets and the closing segments land, then account for every corruption.
  w.run(w.clock.now() + 5_000);
  const c = w.impairA!.impairment.counters;
  t.true(c.total('ImpairLossDrops') > 0 && c.total('ImpairReordered') > 0 && c.total('ImpairDuplicated') > 0);
  t.true(w.a.counters.TcpInCsumErrors > 0 && w.b.counters.TcpInCsumErrors > 0, 'corrupted packets reached both receivers');
  t.is(w.a.counters.TcpInCsumErrors, c.in.ImpairCorrupted, 'every corrupted packet towards A failed its checksum at A');
  t.is(w.b.counters.TcpInCsumErrors, c.out.ImpairCorrupted, 'every corrupted packet towards B failed its checksum at B');
  t.is(w.a.counters.IpInHdrErrors + w.b.counters.IpInHdrErrors, 0);
  t.is(w.a.drops.INTERNAL_ERROR + w.b.drops.INTERNAL_ERROR, 0);
  t.log(
    `seed ${seed}: ${(performance.now() - started).toFixed(0)} ms wall, ${(r.virtualMs / 1000).toFixed(1)} s virtual; ` +
      `lost ${c.total('ImpairLossDrops')}, reordered ${c.total('ImpairReordered')}, duplicated ${c.total('ImpairDuplicated')}, ` +
      `corrupted ${c.total('ImpairCorrupted')} (caught ${w.a.counters.TcpInCsumErrors} + ${w.b.counters.TcpInCsumErrors}), ` +
      `retransmitted ${w.a.counters.TcpRetransSegs} + ${w.b.counters.TcpRetransSegs}`,
  );
}

/** Registers one test per seed in [from, to]. */
export function integritySeeds(test: (title: string, fn: (t: ExecutionContext) => void) => void, from: number, to: number): void {
  for (let seed = from; seed <= to; seed++) {
    test(`integrity: seed ${seed}, 20 MiB each way through 5% loss, 2% reorder, 1% dup, 0.5% corruption, SHA-256 intact`, (t) => integrityRun(t, seed));
  }
}
