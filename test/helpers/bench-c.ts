/**
 * Builds the benchmark's C programs (test/bench/c) for a test. Test files
 * run in parallel, so the build holds a lock (flock on build/.lock): two
 * compilers writing one binary at once could leave a broken file.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './interop.ts';

export const BENCH_C_DIR = join(ROOT, 'test', 'bench', 'c');

/** `make` of `targets` (relative to test/bench/c, e.g. build/echo-client); throws with make's output on failure. */
export function buildBenchPrograms(targets: string[]): void {
  const build = join(BENCH_C_DIR, 'build');
  mkdirSync(build, { recursive: true });
  const r = spawnSync('flock', [join(build, '.lock'), 'make', '-s', '-C', BENCH_C_DIR, ...targets], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building ${targets.join(', ')}: ${r.stderr || r.error?.message}`);
}
