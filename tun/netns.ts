/**
 * Named network namespaces through iproute2 (`ip netns`), for tests, demos and
 * benchmarks that must keep every device and address out of the host's own
 * namespace.
 */
import { existsSync } from 'node:fs';
import { spawn, spawnSync, type SpawnSyncOptionsWithStringEncoding } from 'node:child_process';

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

/** How long one `ip` command may take: none of ours waits for anything. */
const IP_TIMEOUT_MS = 30_000;

/**
 * A failed `ip` command, as one line naming the command, ip's complaint and,
 * when it was refused a privilege, the remedy. `code` is the errno name
 * (EPERM: not root; ENOENT: iproute2 missing) or ERR_IP_COMMAND, so callers
 * can tell an environment failure from a bug.
 */
export class IpCommandError extends Error {
  override readonly name = 'IpCommandError';
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
    /** The signal that ended `ip`, when one did. */
    readonly signal?: NodeJS.Signals,
  ) {
    super(message, options);
  }
}

/** ip says "Operation not permitted" (EPERM) or "Permission denied" (EACCES) when it lacks a capability. */
const REFUSED = /Operation not permitted|Permission denied/;

/**
 * Runs `ip ARGS...`; throws an IpCommandError. It runs in a session of its
 * own (setsid), so a Ctrl-C meant for tcpstack does not kill an `ip netns
 * del` halfway through the teardown it triggered.
 */
export function runIp(args: readonly string[]): string {
  // spawnSync honours `detached` (node's spawn_sync.cc sets UV_PROCESS_DETACHED) though its type omits it.
  const options = { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], detached: true, timeout: IP_TIMEOUT_MS } as SpawnSyncOptionsWithStringEncoding;
  const r = spawnSync('ip', args, options);
  const command = `ip ${args.join(' ')}`;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new IpCommandError(`\`${command}\` failed: iproute2 (\`ip\`) is not installed`, 'ENOENT', { cause: r.error });
    if (code === 'ETIMEDOUT') throw new IpCommandError(`\`${command}\` failed: no answer within ${IP_TIMEOUT_MS / 1000} s`, 'ETIMEDOUT', { cause: r.error });
    throw new IpCommandError(`\`${command}\` failed: ${r.error.message}`, code ?? 'ERR_IP_COMMAND', { cause: r.error });
  }
  if (r.status !== 0) {
    const stderr = r.stderr.trim().replace(/\s*\n\s*/g, '; ');
    const how = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    if (REFUSED.test(stderr)) {
      const needs = args[0] === 'netns' ? 'CAP_SYS_ADMIN and CAP_NET_ADMIN' : 'CAP_NET_ADMIN';
      throw new IpCommandError(`\`${command}\` failed: ${stderr}: run as root or grant ${needs}`, 'EPERM');
    }
    throw new IpCommandError(`\`${command}\` failed (${how}): ${stderr || 'no message'}`, 'ERR_IP_COMMAND', undefined, r.signal ?? undefined);
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
