/**
 * The harness's contact with the machine, all of it confined to namespaces
 * it creates: unique namespace names and subnets, veth pairs, sysctls and
 * nftables rules set with `ip netns exec`, `ss -K`, the holder of a private
 * tracefs mount (tracefs.ts), and a registry of everything
 * created (namespaces, child PIDs, subnet leases, cleanups) so that
 * teardown removes it all, also on failure, SIGINT, SIGTERM or SIGHUP.
 *
 * Nothing here touches the host namespace's interfaces, addresses or nft
 * rules; processes are only ever signalled by the PID we started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdirSync, readFileSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, deleteNetns, execInNetns, netnsExists, runIp } from '../../tun/netns.ts';
import { familyOf, hostPrefix } from './family.ts';

// ---------------------------------------------------------------------------
// System tools by absolute path. Under npm/npx (and so under ava) PATH starts
// with node_modules/.bin, where @vercel/nft installs a program called `nft`
// that has nothing to do with nftables: every tool the harness runs is
// looked up in PATH with node_modules directories left out.

const toolCache = new Map<string, string>();

/** The absolute path of a system command, or undefined if it is not installed. */
export function systemTool(name: string): string | undefined {
  const cached = toolCache.get(name);
  if (cached !== undefined) return cached;
  const dirs = (process.env.PATH ?? '').split(':').filter((d) => d !== '' && !d.includes('node_modules'));
  for (const dir of [...dirs, '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const path = join(dir, name);
    try {
      accessSync(path, fsConstants.X_OK);
      toolCache.set(name, path);
      return path;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function tool(name: string): string {
  const path = systemTool(name);
  if (path === undefined) throw new Error(`${name} is not installed`);
  return path;
}

// ---------------------------------------------------------------------------
// Clocks. tcpdump stamps packets with CLOCK_REALTIME; our tracefs instance
// uses the 'mono' clock (CLOCK_MONOTONIC), as do performance.now() and
// process.hrtime. Everything is converted to wall-clock microseconds.

/** Wall-clock microseconds (the pcap time base). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Wall-clock µs minus CLOCK_MONOTONIC µs, for converting tracefs 'mono' timestamps. */
export function monoToWallOffsetUs(): number {
  const mono = Number(process.hrtime.bigint() / 1000n);
  return nowUs() - mono;
}

/** performance.now() milliseconds (our stack's clock) → wall-clock µs. */
export function perfMsToWallUs(ms: number): number {
  return Math.round((performance.timeOrigin + ms) * 1000);
}

// ---------------------------------------------------------------------------
// The registry of what this process created.

const namespaces = new Set<string>();
const children = new Map<number, ChildProcess>();
const leases = new Set<string>();
const cleanups = new Set<() => void>();
const runDirs = new Set<string>();

let serial = 0;
/** A namespace name unique to this process and call (≤ 64 characters). */
export function uniqueName(tag: string): string {
  return `tcpstack-fid-${tag}-${process.pid}-${++serial}`;
}

/** Creates a fresh namespace (never reuses one) with lo up. */
export function addNetns(name: string): string {
  if (netnsExists(name)) throw new Error(`network namespace ${name} already exists`);
  namespaces.add(name);
  if (!createNetns(name)) throw new Error(`network namespace ${name} appeared concurrently`);
  runIp(['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function removeNetns(name: string): void {
  deleteNetns(name);
  namespaces.delete(name);
}

function assertOwned(ns: string): void {
  if (!namespaces.has(ns)) throw new Error(`refusing to act outside a namespace of this harness (${ns})`);
}

/** Registers extra teardown work (e.g. closing a TUN device); returns its remover. */
export function onTeardown(step: () => void): () => void {
  cleanups.add(step);
  return () => cleanups.delete(step);
}

// ---------------------------------------------------------------------------
// Subnets: 198.19.N.0/24 (RFC 2544's benchmarking block, like the CLI's
// defaults) or 2001:2:0:N::/64 (RFC 5180's; family.ts), N leased through a
// lock file so that concurrent runs (ava workers, two terminals) never
// share one. Addresses in different namespaces
// could not collide anyway; the lease keeps the tcp_send_reset tracepoint
// (host-wide) unambiguous when filtered by address.

const LEASE_DIR = join(tmpdir(), 'tcpstack-fidelity-leases');

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates a lease file, making the directory first; the last run to release
 * its lease removes the directory, so a run that finds it gone between the
 * two makes it again (a few times, then the error is the caller's).
 */
function createLease(file: string): void {
  for (let attempt = 0; ; attempt++) {
    mkdirSync(LEASE_DIR, { recursive: true });
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw error;
    }
  }
}

/** Removes a lease file, and the directory once no run holds a lease in it. */
function removeLease(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
  try {
    rmdirSync(LEASE_DIR);
  } catch {
    /* other runs hold leases (ENOTEMPTY), or it is gone */
  }
}

/** Leases a /24 and returns its N (1-250). */
export function leaseSubnet(): number {
  const start = (process.pid * 7 + serial * 13) % 250;
  for (let i = 0; i < 250; i++) {
    const n = ((start + i) % 250) + 1;
    const file = join(LEASE_DIR, String(n));
    try {
      createLease(file);
      leases.add(file);
      return n;
    } catch {
      // Taken: steal it only from a process that no longer exists.
      try {
        const owner = Number(readFileSync(file, 'utf8'));
        if (owner !== process.pid && !pidAlive(owner)) {
          unlinkSync(file);
          createLease(file);
          leases.add(file);
          return n;
        }
      } catch {
        /* raced with someone else: try the next one */
      }
    }
  }
  throw new Error('no free subnet N (198.19.N.0/24, 2001:2:0:N::/64) for the harness (250 leases held)');
}

export function releaseSubnet(n: number): void {
  const file = join(LEASE_DIR, String(n));
  if (!leases.has(file)) return;
  leases.delete(file);
  removeLease(file);
}

// ---------------------------------------------------------------------------
// Commands inside our namespaces (asynchronous: a stack in this process keeps
// running while they execute).

/** Runs argv in `ns`; throws with stderr on a non-zero exit. Bounded by `timeoutMs`. */
export async function nsRun(ns: string, argv: string[], timeoutMs = 10_000): Promise<string> {
  assertOwned(ns);
  if (!argv[0]!.includes('/')) argv = [tool(argv[0]!), ...argv.slice(1)];
  const r = await execInNetns(ns, argv, { timeoutMs });
  if (r.status !== 0) {
    const why = r.timedOut ? `timed out after ${timeoutMs} ms` : `exit ${r.status ?? r.signal}`;
    throw new Error(`\`ip netns exec ${ns} ${argv.join(' ')}\` failed (${why}): ${r.stderr.trim().replace(/\s*\n\s*/g, '; ')}`);
  }
  return r.stdout;
}

/** A host route to `addr` (either family) through `dev` with `quickack 1`: no delayed ACKs towards it (RTAX_QUICKACK). */
export async function setQuickackRoute(ns: string, dev: string, addr: string): Promise<void> {
  await nsRun(ns, ['ip', 'route', 'replace', hostPrefix(addr), 'dev', dev, 'quickack', '1']);
}

export async function setSysctlIn(ns: string, name: string, value: number | string): Promise<void> {
  await nsRun(ns, [tool('sysctl'), '-q', '-w', `${name}=${value}`]);
}

/** nftables table families: both IP families, or one. */
export type NftFamily = 'inet' | 'ip' | 'ip6';

/**
 * IPv6 duplicate address detection off in `ns` (accept_dad 0 for every
 * interface there and every one made later), so that no address is
 * tentative when a run starts; addresses are added with nodad too.
 */
export async function disableDad(ns: string): Promise<void> {
  for (const conf of ['all', 'default']) await setSysctlIn(ns, `net.ipv6.conf.${conf}.accept_dad`, 0);
}

/**
 * Waits (bounded) until IPv6 on `dev` in `ns` has found its link ready:
 * addrconf_notify sets an interface up for IPv6 (its link-local address,
 * router solicitation, MLD) only once addrconf_link_ready holds, the
 * operational state up and a transmit qdisc attached, which linkwatch
 * does, at times a second after `ip link set up`. Until then the
 * interface cannot transmit: a neighbour advertisement answering the
 * peer's first solicitation was lost, and the peer asked again a second
 * later (retrans_time), in the first connect of 4 of 4 kernel runs of
 * no-listener over IPv6. The link-local address, which addrconf adds then
 * (not tentative: duplicate address detection is off), is the sign.
 */
export async function waitForIpv6Link(ns: string, dev: string, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if ((await nsRun(ns, ['ip', '-6', 'addr', 'show', 'dev', dev, 'scope', 'link'])).includes('inet6 fe80:')) return;
    if (performance.now() > deadline) throw new Error(`IPv6 on ${dev} in ${ns} not up within ${timeoutMs} ms (no link-local address)`);
    await delay(10);
  }
}

/** Replaces the nft table `table` in `ns` with `body` (chains and rules), atomically. */
export async function nftTable(ns: string, table: string, body: string, family: NftFamily = 'inet'): Promise<void> {
  assertOwned(ns);
  const file = join(tmpdir(), `tcpstack-fid-nft-${process.pid}-${++serial}.nft`);
  writeFileSync(file, `table ${family} ${table}\ndelete table ${family} ${table}\ntable ${family} ${table} {\n${body}\n}\n`);
  try {
    await nsRun(ns, [tool('nft'), '-f', file]);
  } finally {
    unlinkSync(file);
  }
}

export async function nftDeleteTable(ns: string, table: string, family: NftFamily = 'inet'): Promise<void> {
  assertOwned(ns);
  const file = join(tmpdir(), `tcpstack-fid-nft-${process.pid}-${++serial}.nft`);
  writeFileSync(file, `table ${family} ${table}\ndelete table ${family} ${table}\n`);
  try {
    await nsRun(ns, [tool('nft'), '-f', file]);
  } finally {
    unlinkSync(file);
  }
}

/**
 * A host "crash" in a kernel namespace: every TCP connection to `remote` is
 * destroyed with `ss -K` (SOCK_DESTROY) while an nft rule in the same
 * namespace drops the RSTs that this makes the kernel send, so the other side
 * learns nothing (the kernel side of the crash scenario). Listeners are not touched.
 */
export async function crashConnections(ns: string, remote: string): Promise<string> {
  await nftTable(ns, 'tcpstack_crash', `  chain out { type filter hook output priority 0; policy accept; tcp flags & rst == rst drop; }`);
  try {
    // ss reads an IPv6 address in a filter only in brackets (a bare one is taken for ADDR:PORT).
    return await nsRun(ns, [tool('ss'), '-K', '-t', '-n', 'dst', familyOf(remote) === 6 ? `[${remote}]` : remote]);
  } finally {
    await nftDeleteTable(ns, 'tcpstack_crash');
  }
}

// ---------------------------------------------------------------------------
// Child processes.

export interface Child {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
  /** Resolves when `pattern` appears on stderr (or stdout); rejects on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, stream: 'stdout' | 'stderr', timeoutMs: number): Promise<void>;
  /** Signals our child by its PID, waits (bounded), then SIGKILLs it. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

/** `ip netns exec NS argv...` (which execs in place: the PID is argv's). */
export function spawnIn(ns: string, argv: string[], stdin: 'pipe' | 'ignore' = 'ignore'): Child {
  assertOwned(ns);
  if (!argv[0]!.includes('/')) argv = [tool(argv[0]!), ...argv.slice(1)];
  return spawnTracked('ip', ['netns', 'exec', ns, ...argv], argv, stdin);
}

/**
 * A helper in a private mount namespace of its own (`unshare --mount
 * --propagation private`), outside our network namespaces and configuring
 * nothing in the host's: it holds the harness's tracefs mount (tracefs.ts).
 * Its stdin is a pipe from this process, so a holder that waits on it ends
 * with us even if we are killed.
 */
export function spawnPrivateMountHolder(argv: string[]): Child {
  const holder = spawnTracked(tool('unshare'), ['--mount', '--propagation', 'private', '--', ...argv], argv, 'pipe');
  // It lives as long as the process: it must not keep the event loop alive
  // (teardown, on 'exit', stops it).
  holder.child.unref();
  for (const stream of [holder.child.stdin, holder.child.stdout, holder.child.stderr]) (stream as Socket | null)?.unref();
  return holder;
}

function spawnTracked(command: string, args: string[], argv: string[], stdin: 'pipe' | 'ignore'): Child {
  const child = spawn(command, args, { stdio: [stdin, 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
  const pid = child.pid;
  children.set(pid, child);
  let out = '';
  let err = '';
  let running = true;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      running = false;
      children.delete(pid);
      resolve({ code, signal });
    });
    child.once('error', () => {
      running = false;
      children.delete(pid);
      resolve({ code: -1, signal: null });
    });
  });
  const waitFor = (pattern: RegExp, stream: 'stdout' | 'stderr', timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const source = stream === 'stdout' ? child.stdout! : child.stderr!;
      const text = (): string => (stream === 'stdout' ? out : err);
      const finish = (): void => {
        clearTimeout(timer);
        source.off('data', check);
      };
      const check = (): void => {
        if (pattern.test(text())) {
          finish();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${argv[0]}: no ${pattern} within ${timeoutMs} ms; stderr: ${err.trim().slice(-300)}`));
      }, timeoutMs);
      source.on('data', check);
      void exited.then(({ code, signal }) => {
        if (pattern.test(text())) return check();
        finish();
        reject(new Error(`${argv[0]} exited (${code ?? signal}) before ${pattern}; stderr: ${err.trim().slice(-300)}`));
      });
      check();
    });
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 3000): Promise<void> => {
    if (running) child.kill(signal);
    const timer = setTimeout(() => {
      if (running) child.kill('SIGKILL');
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
  };
  return { child, pid, stdout: () => out, stderr: () => err, exited, isRunning: () => running, waitFor, stop };
}

// ---------------------------------------------------------------------------
// Teardown.

/** Synchronous and idempotent: everything this process created goes. Returns problems. */
export function teardownSync(): string[] {
  const problems: string[] = [];
  for (const step of [...cleanups]) {
    cleanups.delete(step);
    try {
      step();
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
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
  for (const ns of [...namespaces]) {
    try {
      removeNetns(ns);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  for (const dir of [...runDirs]) {
    runDirs.delete(dir);
    if (!KEEP_FILES) rmSync(dir, { recursive: true, force: true });
  }
  for (const file of [...leases]) {
    leases.delete(file);
    removeLease(file);
  }
  return problems;
}

let installed = false;
/** Tears down on exit and on SIGINT/SIGTERM/SIGHUP (then exits 128+n). For the CLI. */
export function installTeardownHandlers(tag = 'tcpstack scenario'): void {
  if (installed) return;
  installed = true;
  process.once('exit', () => {
    for (const p of teardownSync()) console.error(`${tag}: teardown: ${p}`);
  });
  const numbers: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      console.error(`\n${tag}: ${sig}: stopping our processes and removing our namespaces`);
      for (const p of teardownSync()) console.error(`${tag}: teardown: ${p}`);
      process.exit(128 + numbers[sig]!);
    });
  }
}

/** Namespaces this process still owns (for checks). */
export function ownedNamespaces(): string[] {
  return [...namespaces];
}

/** A throw-away directory for this run's files (pcaps); removed by releaseRunDir or teardown. */
export function runDir(): string {
  const dir = join(tmpdir(), `tcpstack-fid-${process.pid}-${++serial}`);
  mkdirSync(dir, { recursive: true });
  runDirs.add(dir);
  return dir;
}

/** Whether captures are kept for inspection (TCPSTACK_FID_KEEP=1). */
export const KEEP_FILES = process.env.TCPSTACK_FID_KEEP === '1';

/** Removes a run directory, unless TCPSTACK_FID_KEEP=1 (then it is left and named). */
export function releaseRunDir(dir: string): string | undefined {
  runDirs.delete(dir);
  if (KEEP_FILES) return `capture kept in ${dir}`;
  rmSync(dir, { recursive: true, force: true });
  return undefined;
}

/**
 * The end of every run, kernel or stack: its namespaces deleted, its subnet
 * lease and run directory released; what went wrong (or was kept) is added
 * to `notes` rather than thrown, so the run's own result survives.
 */
export function releaseLab(notes: string[], namespaces: ReadonlyArray<string | undefined>, subnet: number, dir: string | undefined): void {
  for (const ns of namespaces) {
    if (ns === undefined) continue;
    try {
      removeNetns(ns);
    } catch (error) {
      notes.push(`teardown: ${(error as Error).message}`);
    }
  }
  releaseSubnet(subnet);
  if (dir !== undefined) {
    const kept = releaseRunDir(dir);
    if (kept) notes.push(kept);
  }
}

/** Sleeps `ms` without blocking the event loop (the stack keeps running). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
