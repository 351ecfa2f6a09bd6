/**
 * Network namespaces for `make bench`: unique names, a veth pair joining two
 * of them (created directly inside them: nothing is ever configured in the
 * host's namespace), sysctls set inside a namespace, and a registry of what
 * this process created (namespaces, child PIDs) so that teardown removes it
 * all, also on failure, SIGINT, SIGTERM or SIGHUP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createNetns, deleteNetns, netnsExists, runIp } from '../../tun/netns.ts';

let serial = 0;
/** A namespace name unique to this process and call (≤ 64 characters). */
export function uniqueName(tag: string): string {
  return `tcpstack-bench-${tag}-${process.pid}-${++serial}`;
}

const namespaces = new Set<string>();
const children = new Map<number, ChildProcess>();

/** Creates a fresh namespace (throws if the name is taken: never reuse someone else's) with lo up. */
export function addNetns(name: string): string {
  if (netnsExists(name)) throw new Error(`network namespace ${name} already exists`);
  namespaces.add(name);
  if (!createNetns(name)) throw new Error(`network namespace ${name} appeared concurrently`);
  runIp(['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/** Deletes one namespace this process created (and forgets it); teardown would otherwise at the end. */
export function removeNetns(name: string): void {
  if (!namespaces.has(name)) throw new Error(`refusing to delete ${name}: not a bench namespace of this process`);
  deleteNetns(name);
  namespaces.delete(name);
}

export interface VethPair {
  client: string;
  server: string;
  clientAddr: string;
  serverAddr: string;
}

/**
 * Two fresh namespaces joined by a veth pair. The pair is created inside the
 * client namespace (`ip -n`) with its peer placed straight into the server
 * namespace; both ends go with their namespaces.
 */
export function addVethPair(tag: string, clientAddr = '10.99.0.1', serverAddr = '10.99.0.2', prefix = 24): VethPair {
  const client = addNetns(uniqueName(`${tag}c`));
  const server = addNetns(uniqueName(`${tag}s`));
  runIp(['-n', client, 'link', 'add', 'bench0', 'type', 'veth', 'peer', 'name', 'bench1', 'netns', server]);
  runIp(['-n', client, 'addr', 'add', `${clientAddr}/${prefix}`, 'dev', 'bench0']);
  runIp(['-n', server, 'addr', 'add', `${serverAddr}/${prefix}`, 'dev', 'bench1']);
  runIp(['-n', client, 'link', 'set', 'bench0', 'up']);
  runIp(['-n', server, 'link', 'set', 'bench1', 'up']);
  return { client, server, clientAddr, serverAddr };
}

/** `sysctl -w NAME=VALUE` inside namespace `ns` (never the host's). */
export function sysctlInNetns(ns: string, name: string, value: string | number): void {
  if (!namespaces.has(ns)) throw new Error(`refusing to set ${name} outside a bench namespace (${ns})`);
  const r = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${name}=${value}`], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`sysctl ${name}=${value} in ${ns} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** Records a child we started so that teardown can end it (by PID, only it). */
export function track(child: ChildProcess): ChildProcess {
  if (child.pid !== undefined) {
    const pid = child.pid;
    children.set(pid, child);
    child.once('exit', () => children.delete(pid));
  }
  return child;
}

export interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stdout line matching `pattern`; rejects on exit or timeout. */
  line(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Signals our child by its PID and waits (bounded), then SIGKILLs it. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

/** Spawns argv (tracked) with piped output. */
export function start(argv: readonly string[], opts: { stdin?: 'pipe' | 'ignore' } = {}): Started {
  const child = track(spawn(argv[0]!, argv.slice(1), { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: -1, signal: null }));
  });
  let done = false;
  void exited.then(() => (done = true));
  const line = (pattern: RegExp, timeoutMs: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const find = (): string | undefined => out.split('\n').find((l) => pattern.test(l));
      const finish = (): void => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
      };
      const onData = (): void => {
        const l = find();
        if (l !== undefined) {
          finish();
          resolve(l);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${argv.join(' ')}: no line ${pattern} within ${timeoutMs} ms; stderr: ${err.trim().slice(-500)}`));
      }, timeoutMs);
      child.stdout!.on('data', onData);
      void exited.then(({ code, signal }) => {
        if (find() !== undefined) return onData();
        finish();
        reject(new Error(`${argv.join(' ')} exited (${code ?? signal}) before ${pattern}; stderr: ${err.trim().slice(-500)}`));
      });
      onData();
    });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> => {
    if (!done && child.pid !== undefined) child.kill(signal);
    const timer = setTimeout(() => {
      if (!done) child.kill('SIGKILL');
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
  };
  return { child, stdout: () => out, stderr: () => err, exited, line, stop };
}

/** Synchronous and idempotent: SIGKILLs our children still running (by PID), deletes our namespaces. */
export function teardownSync(): string[] {
  const problems: string[] = [];
  for (const [pid, child] of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children.clear();
  for (const ns of namespaces) {
    try {
      deleteNetns(ns);
      namespaces.delete(ns);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems;
}

/** Ends our children gracefully first (SIGTERM, bounded), then tears down. */
export async function teardown(graceMs = 3_000): Promise<string[]> {
  const pending = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of pending) c.kill('SIGTERM');
  await Promise.race([
    Promise.all(pending.map((c) => new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()))))),
    new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
  ]);
  return teardownSync();
}

let installed = false;
/** Tears down on exit and on SIGINT/SIGTERM/SIGHUP (then exits 128+n). */
export function installTeardownHandlers(): void {
  if (installed) return;
  installed = true;
  process.once('exit', () => {
    for (const p of teardownSync()) console.error(`bench: teardown: ${p}`);
  });
  const numbers: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      console.error(`\nbench: ${sig}: stopping our processes and removing our namespaces`);
      void teardown(2_000).finally(() => process.exit(128 + numbers[sig]!));
      // A second signal, or a hung teardown, still ends us (the exit handler sweeps).
      setTimeout(() => process.exit(128 + numbers[sig]!), 5_000).unref();
    });
  }
}

/** PIDs of our children still running (for CPU accounting). */
export function livePids(): number[] {
  return [...children.entries()].filter(([, c]) => c.exitCode === null && c.signalCode === null).map(([pid]) => pid);
}

/** The namespaces this process still owns (for the final check). */
export function ownedNamespaces(): string[] {
  return [...namespaces];
}
