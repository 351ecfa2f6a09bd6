/**
 * The benchmark's C programs (test/bench/c) for a test: built (test files
 * run in parallel, so the build holds a lock, flock on build/.lock: two
 * compilers writing one binary at once could leave a broken file), and a
 * server among them started in a namespace.
 */
import { spawn, spawnSync } from 'node:child_process';
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

/** A server started in a namespace: its output so far, and its exit. */
export interface BenchServer {
  output(): string;
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `argv` in `netns` and waits (up to 10 s) for its `ready` line; it is
 * killed at teardown if still running. Throws with its output if not ready.
 */
export async function startBenchServer(t: { teardown: (fn: () => void) => void }, netns: string, argv: string[]): Promise<BenchServer> {
  const proc = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void proc.kill('SIGKILL'));
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('close', resolve));
  const deadline = Date.now() + 10_000;
  while (!out.includes('ready') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!out.includes('ready')) throw new Error(`${argv[0]} not ready: ${out}`);
  return {
    output: () => out,
    stop: (signal) => {
      proc.kill(signal);
      return exited;
    },
  };
}
