/**
 * Named network namespaces through iproute2 (`ip netns`), for tests, demos and
 * benchmarks that must keep every device and address out of the host's own
 * namespace.
 */
import { existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Throws unless `name` is a safe netns name (letters, digits, '-', '_', '.'; max 64). */
export function assertNetnsName(name: string): void {
  if (!NETNS_NAME.test(name) || name === '.' || name === '..') {
    throw new Error(
      `invalid network namespace name ${JSON.stringify(name)}: 1-64 letters, digits, '-', '_' or '.'`,
    );
  }
}

export function netnsPath(name: string): string {
  assertNetnsName(name);
  return `/run/netns/${name}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

/** Runs `ip ARGS...`; throws one line naming the command and ip's stderr. */
export function runIp(args: readonly string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const command = `ip ${args.join(' ')}`;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'iproute2 (`ip`) is not installed' : r.error.message;
    throw new Error(`\`${command}\` failed: ${why}`, { cause: r.error });
  }
  if (r.status !== 0) {
    const stderr = r.stderr.trim().replace(/\s*\n\s*/g, '; ');
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    throw new Error(`\`${command}\` failed (${how}): ${stderr || 'no message'}`);
  }
  return r.stdout;
}

/** `ip netns add NAME`; returns false (and does nothing) if it already exists. */
export function createNetns(name: string): boolean {
  if (netnsExists(name)) return false;
  runIp(['netns', 'add', name]);
  return true;
}

/** `ip netns del NAME`; a namespace that does not exist is not an error. */
export function deleteNetns(name: string): void {
  if (!netnsExists(name)) return;
  try {
    runIp(['netns', 'del', name]);
  } catch (err) {
    if (netnsExists(name)) throw err;
  }
}

/** Names of the named namespaces (`ip netns list`). */
export function listNetns(): string[] {
  return runIp(['netns', 'list'])
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

export interface ExecResult {
  /** Exit status, or null if the process was ended by a signal. */
  status: number | null;
  signal: NodeJS.Signals | null;
  /** True if it was killed (SIGKILL, by its PID) for exceeding `timeoutMs`. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the child after this long (default 30 s): nothing here waits forever. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Called with the child's PID once it has started. */
  onSpawn?: (pid: number) => void;
}

/**
 * Runs `ip netns exec NAME argv...` without blocking the event loop (so a TUN
 * responder in this process keeps working) and resolves when it exits. A
 * non-zero exit is not an error: callers assert on `status`. Rejects only if
 * the command could not be started.
 */
export function execInNetns(name: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  assertNetnsName(name);
  if (argv.length === 0) return Promise.reject(new Error('execInNetns: empty argv'));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    // `ip netns exec` execs the command in place, so the PID is the command's.
    const child = spawn('ip', ['netns', 'exec', name, ...argv], {
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('spawn', () => {
      if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`\`ip netns exec ${name} ${argv.join(' ')}\` failed: ${err.message}`, { cause: err }));
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, timedOut, stdout, stderr });
    });
  });
}
