/**
 * `make bench`: our stack over the TUN against the Linux kernel over veth, in
 * one run, in throw-away network namespaces.
 *
 *   node --import tsx test/bench/run.ts
 *
 * Figures (each measured ROUNDS times, interleaved stack, kernel, stack,
 * kernel, ...; median and min–max reported; see docs/measurements.md):
 *   1. echo throughput, one connection, 100 MiB each way (MiB/s, first byte
 *      written to last byte read back, every byte compared);
 *   2. 1-byte ping-pong RTT p50/p99 over one connection (TCP_NODELAY),
 *      unpinned and with every process we start pinned to CPU 0
 *      (`taskset -c 0`);
 *   3. connections per second, sequential (concurrency 1): connect, 1 byte
 *      each way, client FIN first, unpinned and on CPU 0; the client
 *      namespaces run with net.ipv4.tcp_max_tw_buckets=0, so that the client
 *      kernel's TIME_WAIT sockets do not make it scan its port table after
 *      ~32k connections;
 *   4. memory for 10,000 idle connections: VmRSS growth of the tcpstack
 *      process; for the kernel, growth of `Slab:` in /proc/meminfo attributable
 *      to the server side (kernel-pair Δ minus the client-only Δ seen in the
 *      same round's stack run); and what is left of that growth 2 s after the
 *      client has closed them all (ours: VmRSS; kernel: Slab, both ends);
 *   5. goodput under loss (test/bench/goodput.ts): 20 MiB one way to a kernel
 *      receiver through 1 % loss and 10 ms of delay each way (tun/impair/,
 *      seeded: round r uses seed r for both), our stack as the sender
 *      (`tcpstack connect`) against a kernel sender whose packets cross the
 *      same impairment code (test/bench/impair-forward.ts between two TUN
 *      devices); CUBIC on both, BENCH_GOODPUT_ROUNDS rounds (default 2), each
 *      transfer run to its end (cut at BENCH_GOODPUT_S seconds, default 60,
 *      only as a bound); the senders' retransmission counters beside it.
 *
 * Figures 1-3 set three servers side by side, each answered by the C client
 * (test/bench/c/echo-client.c, kernel sockets): ours, `cli/tcpstack up
 * --netns NS --services echo:7`, client in NS at 198.18.0.1 → 198.18.0.2;
 * lwIP 2.1.3 (test/bench/c/lwip-echo.c, Debian's liblwip-dev) on a TUN
 * device of its own in namespace L, 10.77.0.1 → 10.77.0.2, skipped with a
 * note when liblwip-dev is missing; the kernel, test/bench/c/kernel-echo.c
 * (epoll) in namespace S (10.99.0.2), client in namespace C (10.99.0.1),
 * joined by veth. Figure 4 holds its connections with the Node client
 * (test/bench/echo-client.ts) against ours and the kernel's.
 *
 * Each step also estimates the CPU that other processes used meanwhile (these
 * VMs are shared) and flags the steps where it was >= 10 %; the stack's exit
 * report is scanned for retransmissions, drops and aborts, printed as notes.
 *
 * Bounded: a global budget (BENCH_BUDGET_S, default 230 s) beyond which steps
 * are skipped, and one of its own for the goodput figure (rounds × 2 ×
 * (BENCH_GOODPUT_S + 5) s at most; the transfers take 20–40 s each here);
 * every child has its own time limit. Namespaces are unique to
 * this process and removed on exit, failure, SIGINT, SIGTERM and SIGHUP; only
 * processes we started are signalled, by PID.
 *
 * Environment: BENCH_ROUNDS (default 3), BENCH_RESULTS (unset: stdout only;
 * "1": also write bench-results.txt in the project root; a path: write there),
 * BENCH_ONLY ("echo": figures 1-4 only; "goodput": figure 5 only),
 * BENCH_GOODPUT_ROUNDS (1-9, default 2), BENCH_GOODPUT_S (per-transfer
 * bound, 3-90 s, default 60), BENCH_GOODPUT_CC
 * ("cubic", the default, "reno", or "cubic,reno": one row each; the goodput
 * budget grows with it), BENCH_GOODPUT_BYTES (default 20 MiB).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ctlRequest } from '../../cli/ctl/client.ts';
import { GOODPUT_COUNTERS, kernelTransfer, pattern, stackTransfer, type CongestionControl, type GoodputResult } from './goodput.ts';
import {
  addNetns,
  addVethPair,
  installTeardownHandlers,
  livePids,
  ownedNamespaces,
  start,
  sysctlInNetns,
  teardown,
  uniqueName,
  type Started,
  type VethPair,
} from './netlab.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'cli', 'tcpstack');
const LOADER = `file://${join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')}`;
const CLIENT = join(ROOT, 'test', 'bench', 'echo-client.ts');
const C_DIR = join(ROOT, 'test', 'bench', 'c');
const C_CLIENT = join(C_DIR, 'build', 'echo-client');
const KERNEL_ECHO = join(C_DIR, 'build', 'kernel-echo');
const LWIP_ECHO = join(C_DIR, 'build', 'lwip-echo');
const LWIP_HEADERS = '/usr/include/lwip/lwipopts.h';

const ROUNDS = intEnv('BENCH_ROUNDS', 3, 1, 9);
const ONLY = choiceEnv('BENCH_ONLY', ['', 'echo', 'goodput']);
const GOODPUT_S = intEnv('BENCH_GOODPUT_S', 60, 3, 90);
const GOODPUT_ROUNDS = intEnv('BENCH_GOODPUT_ROUNDS', 2, 1, 9);
const GOODPUT_BYTES = intEnv('BENCH_GOODPUT_BYTES', 20 * 1024 * 1024, 1024, 200 * 1024 * 1024);
const GOODPUT_CCS = listEnv('BENCH_GOODPUT_CC', ['cubic', 'reno'], ['cubic']) as CongestionControl[];
const GOODPUT_IMPAIR = ['--loss', '1%', '--delay', '10ms'];
/** What one transfer may take beyond its cut: namespaces, the forwarder's start, the exits. */
const GOODPUT_OVERHEAD_MS = 5_000;
const BUDGET_MS = intEnv('BENCH_BUDGET_S', 230, 30, 250) * 1000;
const BYTES = 100 * 1024 * 1024;
const RTT_COUNT = 5000;
const CPS_COUNT = 3000;
const CPS_SECONDS = 10;
const HOLD_COUNT = 10_000;
const NOFILE = 65536;
/** The first line of a results file (BENCH_RESULTS): what lets a later run replace it. */
const RESULTS_MARK = '# tcpstack make bench results';

const STACK_ADDR = '198.18.0.2';
const KERNEL_SERVER = '10.99.0.2';
const KERNEL_CLIENT = '10.99.0.1';
const LWIP_ADDR = '10.77.0.2';
const LWIP_PEER = '10.77.0.1/24';
const PORT = 7;

function intEnv(name: string, dflt: number, min: number, max: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`bench: ${name}=${v}: expected an integer in ${min}..${max}`);
    process.exit(2);
  }
  return n;
}

function choiceEnv(name: string, choices: string[]): string {
  const v = process.env[name] ?? '';
  if (!choices.includes(v)) {
    console.error(`bench: ${name}=${v}: expected one of ${choices.filter((c) => c !== '').join(', ')}`);
    process.exit(2);
  }
  return v;
}

function listEnv(name: string, choices: string[], dflt: string[]): string[] {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const items = v.split(',');
  if (items.some((i) => !choices.includes(i)) || new Set(items).size !== items.length) {
    console.error(`bench: ${name}=${v}: expected a comma list of ${choices.join(', ')}`);
    process.exit(2);
  }
  return items;
}

const t0 = Date.now();
const elapsed = (): number => Date.now() - t0;
const remaining = (): number => BUDGET_MS - elapsed();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (msg: string): void => console.log(`[${(elapsed() / 1000).toFixed(1).padStart(5)} s] ${msg}`);

// ---------------------------------------------------------------- processes

type Side = 'stack' | 'kernel' | 'lwip';

/** argv running a Node program (tsx) inside `ns`, with raised fd limit, optionally pinned to CPU 0. */
function nodeIn(ns: string, script: string, args: string[], pinned: boolean): string[] {
  return [
    ...(pinned ? ['taskset', '-c', '0'] : []),
    'ip', 'netns', 'exec', ns,
    // Raise the fd limit in the child only (to the hard limit if that is lower:
    // root without CAP_SYS_RESOURCE cannot go beyond it); `exec` keeps the PID,
    // so the PID we hold is node's.
    'sh', '-c', `{ ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; } && exec "$@"`, 'sh',
    process.execPath, '--import', LOADER, script, ...args,
  ];
}

/** A C echo server (kernel-echo, lwip-echo) in `ns`, optionally pinned to CPU 0, once it says `ready`. */
async function startCServer(ns: string, argv: string[], pinned: boolean): Promise<Started> {
  const p = start([...(pinned ? ['taskset', '-c', '0'] : []), 'ip', 'netns', 'exec', ns, 'sh', '-c', `{ ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; } && exec "$@"`, 'sh', ...argv]);
  try {
    await p.line(/^ready/, 15_000);
  } catch (error) {
    await p.stop('SIGTERM');
    throw error;
  }
  return p;
}

/**
 * Runs `fn` with our stack's, lwIP's (when available) and the kernel's echo
 * servers up; all are stopped afterwards, whatever happens. `gcMetric`, if
 * given, records the p99 GC pause of our stack's exit report.
 */
async function withServers(lab: Lab, pinned: boolean, label: string, gcMetric: Metric | undefined, fn: (stack: Started, kernel: Started, lwip: Started | undefined) => Promise<void>): Promise<void> {
  const taskset = pinned ? ['taskset', '-c', '0'] : [];
  const stack = start([...taskset, CLI, 'up', '--netns', lab.stackNs, '--services', `echo:${PORT}`]);
  // The same stack with TUN offloads off, in a namespace of its own: every packet wire-sized.
  const plain = start([...taskset, CLI, 'up', '--netns', lab.plainNs, '--offload', 'off', '--services', `echo:${PORT}`]);
  let kernel: Started | undefined;
  let lwip: Started | undefined;
  try {
    const ready = await stack.line(/^ready /, 20_000);
    if (!/\boffload=on\b/.test(ready)) throw new Error(`our stack came up without offloads: ${ready}`);
    await plain.line(/^ready /, 20_000);
    kernel = await startCServer(lab.pair.server, [KERNEL_ECHO, '--addr', KERNEL_SERVER, '--port', String(PORT)], pinned);
    if (lab.lwipNs !== undefined) lwip = await startCServer(lab.lwipNs, [LWIP_ECHO, '--tun', 'lw0', '--addr', LWIP_ADDR, '--port', String(PORT)], pinned);
    await fn(stack, kernel, lwip);
  } finally {
    await lwip?.stop();
    await kernel?.stop();
    await stopStack(plain, `${label} (offload off)`, undefined);
    await stopStack(stack, label, gcMetric);
  }
}

/** Interesting counters from the stack's exit report (retransmissions, drops, aborts). */
const stackNotes: string[] = [];
async function stopStack(p: Started, label: string, gcMetric: Metric | undefined): Promise<void> {
  await p.stop('SIGTERM', 10_000);
  const lines = p.stdout().split('\n').map((l) => l.trim());
  const picked = lines.filter((l) => /^(drop \S+|Tcp\S*(Retrans|Timeouts|Abort|Lost|Reset|Drop|Overflow|Fail)\S*|TcpExtListen\S*|TcpExtTCPBacklog\S*)\s+\d+$/.test(l));
  const relevant = picked.filter((l) => !/^drop UNHANDLED_PROTO\b/.test(l)); // IPv6 router solicitations etc.
  if (relevant.length > 0) stackNotes.push(`${label}: ${relevant.map((l) => l.replace(/\s+/g, '=')).join(' ')}`);
  // The exit report's GC line (cli/gc-pauses.ts): the p99 pause over this phase.
  const gc = /^gc pauses since ready: (\d+)(?:, p50 [\d.]+ ms, p99 ([\d.]+) ms)?/m.exec(p.stdout());
  if (gc !== null && gcMetric !== undefined) record('stack', gcMetric, Number(gc[2] ?? 0));
  if (p.stderr().trim() !== '') stackNotes.push(`${label}: stderr: ${p.stderr().trim().split('\n').slice(-3).join(' | ')}`);
}

type Result = Record<string, any>;

/** Runs the C client once (bounded): `mode` echo, rtt or conn with its count; returns its JSON line or throws. */
async function runCClient(ns: string, host: string, mode: 'echo' | 'rtt' | 'conn', count: number, pinned: boolean, maxSeconds: number): Promise<Result> {
  const seconds = Math.max(5, Math.min(maxSeconds, Math.floor(remaining() / 1000) - 5));
  const p = start([...(pinned ? ['taskset', '-c', '0'] : []), 'ip', 'netns', 'exec', ns, C_CLIENT, '--max-seconds', String(seconds), mode, host, String(PORT), String(count)]);
  const timer = setTimeout(() => void p.stop('SIGKILL'), (seconds + 10) * 1000);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  const line = p.stdout().split('\n').find((l) => l.startsWith('{'));
  if (code !== 0 || line === undefined) throw new Error(`${mode} client exited ${code ?? signal}: ${p.stderr().trim().split('\n').slice(-2).join(' | ')}`);
  return JSON.parse(line) as Result;
}

// ---------------------------------------------------------------- samples

type Metric =
  | 'mibps'
  | 'mibpsPinned'
  | 'mibpsNoOffload'
  | 'mibpsPinnedNoOffload'
  | 'syscallsPerMiB'
  | 'copiesInPerByte'
  | 'copiesOutPerByte'
  | 'gcP99'
  | 'gcP99Pinned'
  | 'rttP50'
  | 'rttP99'
  | 'rttP50Pinned'
  | 'rttP99Pinned'
  | 'cps'
  | 'cpsPinned'
  | 'memMiB'
  | 'memPerConn'
  | 'memClosedMiB'
  | 'serverRssMiB'
  | `gp:${CongestionControl}:${'mibps' | 'lossDrops' | (typeof GOODPUT_COUNTERS)[number]}`;
const samples: Record<Side, Map<Metric, number[]>> = { stack: new Map(), kernel: new Map(), lwip: new Map() };
const failures: string[] = [];
const skipped = new Set<string>();

function record(side: Side, metric: Metric, value: number): void {
  const list = samples[side].get(metric) ?? [];
  list.push(value);
  samples[side].set(metric, list);
}

// ---------------------------------------------------------------- other load

/**
 * CPU used on the machine by processes that are not ours, to flag figures
 * taken while something else ran (these VMs are shared): busy ticks from
 * /proc/stat (user+nice+system) minus the ticks of this process, of its reaped
 * children (cutime/cstime) and of its live children. Softirq time is left out
 * on both sides. A rough, 10 ms-tick estimate, in % of all CPUs.
 */
interface CpuSample {
  busy: number;
  ours: number;
  at: number;
}
const NCPU = cpus().length;
const TICKS_PER_S = 100; // USER_HZ

function procTicks(pid: number | 'self', withChildren: boolean): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
    // f[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17.
    return f[11]! + f[12]! + (withChildren ? f[13]! + f[14]! : 0);
  } catch {
    return 0; // exited meanwhile: its ticks are in our cutime now
  }
}

function cpuSample(): CpuSample {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  let ours = procTicks('self', true);
  for (const pid of livePids()) ours += procTicks(pid, true);
  return { busy: f[0]! + f[1]! + f[2]!, ours, at: performance.now() };
}

/** % of all CPUs used by other processes between two samples. */
function foreignPercent(a: CpuSample, b: CpuSample): number {
  const ticks = (b.at - a.at) / 1000 * TICKS_PER_S * NCPU;
  if (ticks <= 0) return 0;
  return Math.max(0, ((b.busy - a.busy) - (b.ours - a.ours)) / ticks * 100);
}

const contended: string[] = [];
const CONTENDED_PERCENT = 10;

/** Runs one measurement step unless the budget is spent; failures are recorded, not fatal. */
async function step(label: string, needMs: number, fn: () => Promise<void>, left: () => number = remaining): Promise<void> {
  if (left() < needMs) {
    skipped.add(label.replace(/^r\d+ /, ''));
    log(`${label}: skipped (budget: ${(left() / 1000).toFixed(0)} s left)`);
    return;
  }
  const before = cpuSample();
  try {
    await fn();
  } catch (error) {
    const msg = `${label}: ${(error as Error).message}`;
    failures.push(msg);
    log(`FAILED ${msg}`);
  }
  const other = foreignPercent(before, cpuSample());
  if (other >= CONTENDED_PERCENT) {
    contended.push(`${label} (${other.toFixed(0)}%)`);
    log(`  note: other processes used ~${other.toFixed(0)}% of the ${NCPU} CPUs during this step`);
  }
}

function meminfo(): { slab: number; sunreclaim: number } {
  const text = readFileSync('/proc/meminfo', 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { slab: kb('Slab'), sunreclaim: kb('SUnreclaim') };
}

function vmRssKiB(pid: number): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(text)?.[1] ?? NaN);
}

// ---------------------------------------------------------------- the run

interface Lab {
  stackNs: string;
  /** Our stack with `--offload off`, for the throughput rows without offloads. */
  plainNs: string;
  pair: VethPair;
  /** lwIP's namespace with its TUN lw0, when liblwip-dev is installed. */
  lwipNs: string | undefined;
}

/** The servers figures 1-3 compare, each with the namespace its client runs in and the address it answers on. */
function ends(lab: Lab): Array<[Side, string, string]> {
  return [
    ['stack', lab.stackNs, STACK_ADDR],
    ...(lab.lwipNs !== undefined ? [['lwip', lab.lwipNs, LWIP_ADDR] as [Side, string, string]] : []),
    ['kernel', lab.pair.client, KERNEL_SERVER],
  ];
}

/** Our stack's Io* counters (cli/io-counters.ts), through its control socket (the ready line's ctl=). */
async function ioCounters(stack: Started): Promise<Map<string, number>> {
  const path = /\bctl=(\S+)/.exec(stack.stdout())?.[1];
  if (path === undefined) throw new Error('our stack printed no ctl= on its ready line');
  const [response] = await ctlRequest(path, [{ cmd: 'nstat', absolute: true, noUpdate: true }]);
  if (response === undefined || !response.ok || !('rows' in response)) throw new Error(`nstat over ${path}: ${JSON.stringify(response)}`);
  return new Map(response.rows.filter(([name]) => name.startsWith('Io')).map(([name, value]) => [name, value]));
}

/**
 * The rows of note [4]: over one echo of `bytes` each way, TUN system calls
 * per MiB carried (both ways: 2·bytes), and how many times each payload
 * byte was copied in user space on the way in (TCP's receive copies: the
 * addon reads into memory JavaScript owns) and on the way out (TCP's
 * send-queue and segment copies).
 */
function recordIo(before: Map<string, number>, after: Map<string, number>, bytes: number): void {
  const delta = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const mib = (2 * bytes) / (1024 * 1024);
  record('stack', 'syscallsPerMiB', (delta('IoTunReadCalls') + delta('IoTunWriteCalls')) / mib);
  record('stack', 'copiesInPerByte', delta('IoTcpCopiedRxBytes') / bytes);
  record('stack', 'copiesOutPerByte', delta('IoTcpCopiedTxBytes') / bytes);
}

async function unpinnedPhase(lab: Lab, r: number): Promise<void> {
  await withServers(lab, false, `r${r} unpinned stack`, 'gcP99', async (stack) => {
    for (const [side, ns, host] of ends(lab)) {
      await step(`r${r} throughput ${side}`, 15_000, async () => {
        const before = side === 'stack' ? await ioCounters(stack) : undefined;
        const res = await runCClient(ns, host, 'echo', BYTES, false, 60);
        record(side, 'mibps', res.mibps);
        if (before !== undefined) recordIo(before, await ioCounters(stack), res.bytes);
        log(`r${r} throughput ${side}: ${res.mibps.toFixed(1)} MiB/s (${res.bytes} bytes back, ${res.seconds.toFixed(3)} s)`);
      });
    }
    await step(`r${r} throughput stack, offload off`, 15_000, async () => {
      const res = await runCClient(lab.plainNs, STACK_ADDR, 'echo', BYTES, false, 60);
      record('stack', 'mibpsNoOffload', res.mibps);
      log(`r${r} throughput stack, offload off: ${res.mibps.toFixed(1)} MiB/s (${res.bytes} bytes back, ${res.seconds.toFixed(3)} s)`);
    });
    for (const [side, ns, host] of ends(lab)) {
      await step(`r${r} rtt ${side}`, 10_000, async () => {
        const res = await runCClient(ns, host, 'rtt', RTT_COUNT, false, 30);
        record(side, 'rttP50', res.p50_us);
        record(side, 'rttP99', res.p99_us);
        log(`r${r} rtt ${side}: p50 ${res.p50_us.toFixed(1)} µs p99 ${res.p99_us.toFixed(1)} µs`);
      });
    }
    for (const [side, ns, host] of ends(lab)) {
      await step(`r${r} conn/s ${side}`, CPS_SECONDS * 1000 + 8_000, async () => {
        const res = await runCClient(ns, host, 'conn', CPS_COUNT, false, CPS_SECONDS + 2);
        record(side, 'cps', res.per_second);
        log(`r${r} conn/s ${side}: ${res.per_second.toFixed(0)} (${res.count} in ${res.seconds.toFixed(2)} s)`);
      });
    }
  });
}

async function pinnedPhase(lab: Lab, r: number): Promise<void> {
  await withServers(lab, true, `r${r} CPU0 stack`, 'gcP99Pinned', async () => {
    for (const [side, ns, host] of ends(lab)) {
      await step(`r${r} throughput CPU0 ${side}`, 15_000, async () => {
        const res = await runCClient(ns, host, 'echo', BYTES, true, 60);
        record(side, 'mibpsPinned', res.mibps);
        log(`r${r} throughput CPU0 ${side}: ${res.mibps.toFixed(1)} MiB/s (${res.bytes} bytes back, ${res.seconds.toFixed(3)} s)`);
      });
    }
    await step(`r${r} throughput CPU0 stack, offload off`, 15_000, async () => {
      const res = await runCClient(lab.plainNs, STACK_ADDR, 'echo', BYTES, true, 60);
      record('stack', 'mibpsPinnedNoOffload', res.mibps);
      log(`r${r} throughput CPU0 stack, offload off: ${res.mibps.toFixed(1)} MiB/s (${res.bytes} bytes back, ${res.seconds.toFixed(3)} s)`);
    });
    for (const [side, ns, host] of ends(lab)) {
      await step(`r${r} rtt CPU0 ${side}`, 10_000, async () => {
        const res = await runCClient(ns, host, 'rtt', RTT_COUNT, true, 30);
        record(side, 'rttP50Pinned', res.p50_us);
        record(side, 'rttP99Pinned', res.p99_us);
        log(`r${r} rtt CPU0 ${side}: p50 ${res.p50_us.toFixed(1)} µs p99 ${res.p99_us.toFixed(1)} µs`);
      });
    }
    for (const [side, ns, host] of ends(lab)) {
      await step(`r${r} conn/s CPU0 ${side}`, CPS_SECONDS * 1000 + 8_000, async () => {
        const res = await runCClient(ns, host, 'conn', CPS_COUNT, true, CPS_SECONDS + 2);
        record(side, 'cpsPinned', res.per_second);
        log(`r${r} conn/s CPU0 ${side}: ${res.per_second.toFixed(0)} (${res.count} in ${res.seconds.toFixed(2)} s)`);
      });
    }
  });
}

/**
 * Opens HOLD_COUNT idle connections from `ns` to host and measures around it.
 * Returns the Slab Δ (KiB) and `measure`'s before/after difference with the
 * connections open, and both again once the client has closed them all and
 * exited (AFTER_CLOSE_MS later: what the server still holds).
 */
async function hold(
  label: string,
  ns: string,
  host: string,
  measure: () => number,
): Promise<{ slabKiB: number; deltaKiB: number; openSeconds: number; closedSlabKiB: number; closedDeltaKiB: number }> {
  await sleep(500);
  const m0 = meminfo();
  const before = measure();
  const client = start(nodeIn(ns, CLIENT, ['hold', '--host', host, '--port', String(PORT), '--count', String(HOLD_COUNT), '--concurrency', '100', '--max-seconds', '90'], false));
  let open: { slabKiB: number; deltaKiB: number; openSeconds: number };
  try {
    const held = await client.line(/^held \d+/, Math.max(5_000, Math.min(75_000, remaining() - 5_000)));
    const [, n, secs] = held.split(' ');
    if (Number(n) !== HOLD_COUNT) throw new Error(`only ${n} of ${HOLD_COUNT} connections opened; ${client.stderr().trim()}`);
    await sleep(1000); // let the server settle (accept, echo, timers)
    const after = measure();
    const m1 = meminfo();
    open = { slabKiB: m1.slab - m0.slab, deltaKiB: after - before, openSeconds: Number(secs) };
  } finally {
    await client.stop('SIGTERM', 15_000);
    const result = client.stdout().split('\n').find((l) => l.startsWith('result '));
    if (result !== undefined) {
      const r = JSON.parse(result.slice(7)) as Result;
      if (typeof r.closeSeconds === 'number') log(`  ${label}: the client's graceful close of all of them took ${r.closeSeconds.toFixed(2)} s`);
      if (!r.ok) closeNotes.push(`${label}: ${result.slice(7)}`);
    }
  }
  await sleep(AFTER_CLOSE_MS);
  return { ...open, closedSlabKiB: meminfo().slab - m0.slab, closedDeltaKiB: measure() - before };
}
/** How long after the client's exit the "after they close" figures are read (the server's last ACKs are in by then). */
const AFTER_CLOSE_MS = 2000;
const closeNotes: string[] = [];

const clientSlabKiB: number[] = [];
async function memoryPhase(lab: Lab, r: number): Promise<void> {
  await withServers(lab, false, `r${r} memory stack`, undefined, async (stack, kernel, lwip) => {
    let stackSlab: number | undefined;
    await step(`r${r} memory stack`, 40_000, async () => {
      const pid = stack.child.pid!;
      const res = await hold(`r${r} memory stack`, lab.stackNs, STACK_ADDR, () => vmRssKiB(pid));
      stackSlab = res.slabKiB;
      clientSlabKiB.push(res.slabKiB);
      record('stack', 'memMiB', res.deltaKiB / 1024);
      record('stack', 'memPerConn', (res.deltaKiB * 1024) / HOLD_COUNT);
      record('stack', 'memClosedMiB', res.closedDeltaKiB / 1024);
      log(`r${r} memory stack: VmRSS +${(res.deltaKiB / 1024).toFixed(1)} MiB for ${HOLD_COUNT} idle connections (${((res.deltaKiB * 1024) / HOLD_COUNT).toFixed(0)} B each; opened in ${res.openSeconds.toFixed(2)} s); kernel Slab +${(res.slabKiB / 1024).toFixed(1)} MiB (client side); after they close: VmRSS +${(res.closedDeltaKiB / 1024).toFixed(1)} MiB`);
      await sleep(500); // let the client's closes drain before the kernel run
    });
    await step(`r${r} memory kernel`, 40_000, async () => {
      const pid = kernel.child.pid!;
      const res = await hold(`r${r} memory kernel`, lab.pair.client, KERNEL_SERVER, () => vmRssKiB(pid));
      record('kernel', 'serverRssMiB', res.deltaKiB / 1024);
      record('kernel', 'memClosedMiB', res.closedSlabKiB / 1024);
      if (stackSlab !== undefined) {
        const serverSide = res.slabKiB - stackSlab;
        record('kernel', 'memMiB', serverSide / 1024);
        record('kernel', 'memPerConn', (serverSide * 1024) / HOLD_COUNT);
      }
      log(`r${r} memory kernel: Slab +${(res.slabKiB / 1024).toFixed(1)} MiB (both ends)${stackSlab !== undefined ? `, server side ≈ +${((res.slabKiB - stackSlab) / 1024).toFixed(1)} MiB` : ''}; kernel-echo's VmRSS +${(res.deltaKiB / 1024).toFixed(1)} MiB (opened in ${res.openSeconds.toFixed(2)} s); after they close: Slab +${(res.closedSlabKiB / 1024).toFixed(1)} MiB (both ends)`);
      await sleep(500);
    });
    if (lwip === undefined || lab.lwipNs === undefined) return;
    const lwipNs = lab.lwipNs;
    await step(`r${r} memory lwip`, 40_000, async () => {
      const pid = lwip.child.pid!;
      const res = await hold(`r${r} memory lwip`, lwipNs, LWIP_ADDR, () => vmRssKiB(pid));
      record('lwip', 'memMiB', res.deltaKiB / 1024);
      record('lwip', 'memPerConn', (res.deltaKiB * 1024) / HOLD_COUNT);
      record('lwip', 'memClosedMiB', res.closedDeltaKiB / 1024);
      log(`r${r} memory lwip: VmRSS +${(res.deltaKiB / 1024).toFixed(1)} MiB for ${HOLD_COUNT} idle connections (${((res.deltaKiB * 1024) / HOLD_COUNT).toFixed(0)} B each; opened in ${res.openSeconds.toFixed(2)} s); after they close: VmRSS +${(res.closedDeltaKiB / 1024).toFixed(1)} MiB`);
    });
  });
}

/** Goodput under loss (figure 5): rounds of ours, kernel, ours, kernel, … per congestion control. */
async function goodputPhase(): Promise<void> {
  const budgetMs = GOODPUT_ROUNDS * 2 * GOODPUT_CCS.length * (GOODPUT_S * 1000 + GOODPUT_OVERHEAD_MS);
  const phaseStart = elapsed();
  const left = (): number => budgetMs - (elapsed() - phaseStart);
  const data = pattern(GOODPUT_BYTES);
  log(`goodput: ${fmtBytes(GOODPUT_BYTES)} one way, ${GOODPUT_IMPAIR.join(' ')} (both ways), cut at ${GOODPUT_S} s, ${GOODPUT_CCS.join(' and ')}; budget ${(budgetMs / 1000).toFixed(0)} s`);
  for (let r = 1; r <= GOODPUT_ROUNDS; r++) {
    for (const cc of GOODPUT_CCS) {
      for (const side of ['stack', 'kernel'] as const) {
        await step(`r${r} goodput ${cc} ${side}`, GOODPUT_S * 1000 + 2_000, async () => {
          const setup = { bytes: GOODPUT_BYTES, seconds: GOODPUT_S, impair: GOODPUT_IMPAIR, seed: r, cc };
          const res = side === 'stack' ? await stackTransfer(setup, data) : await kernelTransfer(setup, data);
          recordGoodput(side, cc, res);
          const c = res.counters;
          log(
            `r${r} goodput ${cc} ${side}: ${res.mibps.toFixed(2)} MiB/s (${fmtBytes(res.bytes)} in ${res.seconds.toFixed(1)} s${res.complete ? '' : ', cut'}; seed ${r}); ` +
              `retransmitted ${c.TcpRetransSegs} (fast ${c.TcpExtTCPFastRetrans}, RTO ${c.TcpExtTCPTimeouts}, probes ${c.TcpExtTCPLossProbes}); impairment dropped ${res.lossDrops} of ${res.packets} packets`,
          );
        }, left);
      }
    }
  }
}

function recordGoodput(side: Side, cc: CongestionControl, res: GoodputResult): void {
  record(side, `gp:${cc}:mibps`, res.mibps);
  record(side, `gp:${cc}:lossDrops`, res.lossDrops);
  for (const name of GOODPUT_COUNTERS) record(side, `gp:${cc}:${name}`, res.counters[name] ?? 0);
}

const fmtBytes = (n: number): string => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : `${n} B`);

// ---------------------------------------------------------------- report

function stats(values: number[] | undefined): { median: number; min: number; max: number; n: number } | undefined {
  if (!values || values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 10_000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function cell(values: number[] | undefined, count: boolean, rounds: number): string {
  const s = stats(values);
  if (!s) return 'n/a';
  const f = count ? fmtCount : fmt;
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})${s.n < rounds ? ` n=${s.n}` : ''}`;
}

/** A count (a counter's median is whole, or half-way between two). */
const fmtCount = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(1));
/** Goodput rows other than the goodput itself hold counts. */
const isCount = (metric: Metric): boolean => metric.startsWith('gp:') && !metric.endsWith(':mibps');

/** Footnote [3] and the senders' recovery counters (medians), for the goodput rows. */
function goodputNotes(): string[] {
  const notes = [
    `[3] ${fmtBytes(GOODPUT_BYTES)} one way to a kernel receiver (test/bench/bulk.py), goodput at the receiver from accept() to EOF,`,
    `    (a transfer still running at ${GOODPUT_S} s is cut there and marked); ${GOODPUT_IMPAIR.join(' ')} in both directions by tun/impair/,`,
    '    seed r in round r for both. Ours: `tcpstack connect --loss 1% --delay 10ms --seed r` sending its stdin. Kernel:',
    '    a kernel sender (TCP_CONGESTION set per socket) in another namespace, the two joined by two TUN devices and',
    '    test/bench/impair-forward.ts, the same impairment code with the same seed. Counters are the sender\'s.',
  ];
  for (const cc of GOODPUT_CCS) {
    for (const side of ['stack', 'kernel'] as const) {
      const parts = GOODPUT_COUNTERS.map((n) => [n, stats(samples[side].get(`gp:${cc}:${n}`))?.median] as const)
        .filter(([, v]) => v !== undefined && v !== 0)
        .map(([n, v]) => `${n.replace(/^TcpExt/, '')} ${fmtCount(v!)}`);
      notes.push(`    ${cc}, ${side === 'stack' ? 'ours' : 'kernel'} (medians): ${parts.join(', ') || 'n/a'}`);
    }
  }
  return notes;
}

function table(): string {
  const echo: Array<[string, Metric]> = [
    ['echo throughput, 1 conn, 100 MiB each way, unpinned (MiB/s)', 'mibps'],
    ['echo throughput, all on CPU 0 (MiB/s)', 'mibpsPinned'],
    ['  ours with TUN offloads off, unpinned (MiB/s) [5]', 'mibpsNoOffload'],
    ['  ours with TUN offloads off, all on CPU 0 (MiB/s) [5]', 'mibpsPinnedNoOffload'],
    ['  TUN read()+write() calls per MiB echoed, unpinned [4]', 'syscallsPerMiB'],
    ['  user-space copies of each byte received, unpinned [4]', 'copiesInPerByte'],
    ['  user-space copies of each byte sent, unpinned [4]', 'copiesOutPerByte'],
    ['RTT 1 B p50, unpinned (µs)', 'rttP50'],
    ['RTT 1 B p99, unpinned (µs)', 'rttP99'],
    ['RTT 1 B p50, all on CPU 0 (µs)', 'rttP50Pinned'],
    ['RTT 1 B p99, all on CPU 0 (µs)', 'rttP99Pinned'],
    ['conn/s, sequential, unpinned', 'cps'],
    ['conn/s, sequential, all on CPU 0', 'cpsPinned'],
    ['GC pause p99 of our stack over figures 1-3, unpinned (ms)', 'gcP99'],
    ['GC pause p99 of our stack over figures 1-3, all on CPU 0 (ms)', 'gcP99Pinned'],
    ['memory, 10k idle conns (MiB) [1]', 'memMiB'],
    ['  per connection (bytes) [1]', 'memPerConn'],
    ['  left after they close (MiB) [2]', 'memClosedMiB'],
  ];
  const goodput: Array<[string, Metric]> = GOODPUT_CCS.flatMap((cc): Array<[string, Metric]> => [
    [`goodput, 1 % loss, 10 ms each way, ${cc} (MiB/s) [3]`, `gp:${cc}:mibps`],
    ['  retransmitted segments (TcpRetransSegs)', `gp:${cc}:TcpRetransSegs`],
    ['  RTO timeouts (TcpExtTCPTimeouts)', `gp:${cc}:TcpExtTCPTimeouts`],
    ['  packets the impairment dropped', `gp:${cc}:lossDrops`],
  ]);
  const rows = [...(ONLY !== 'goodput' ? echo : []), ...(ONLY !== 'echo' ? goodput : [])];
  const withLwip = ONLY !== 'goodput';
  const header = [
    'measure',
    'our stack (TUN)',
    ...(withLwip ? ['lwIP (TUN)'] : []),
    ONLY === 'goodput' ? 'Linux kernel' : 'Linux kernel (veth)',
    ...(withLwip ? ['stack/lwIP'] : []),
    'stack/kernel',
  ];
  const ratio = (metric: Metric, other: Side): string => {
    const a = stats(samples.stack.get(metric));
    // Ours without offloads against the others' one figure (they have no such switch).
    const theirs = metric === 'mibpsNoOffload' ? 'mibps' : metric === 'mibpsPinnedNoOffload' ? 'mibpsPinned' : metric;
    const b = stats(samples[other].get(theirs));
    // A ratio to nothing, or to a negative growth (memory handed back), says nothing.
    return a && b && b.median > 0 ? `${(a.median / b.median).toFixed(2)}×` : 'n/a';
  };
  const body = rows.map(([label, metric]) => {
    const rounds = metric.startsWith('gp:') ? GOODPUT_ROUNDS : ROUNDS;
    const c = (side: Side): string => cell(samples[side].get(metric), isCount(metric), rounds);
    return [label, c('stack'), ...(withLwip ? [c('lwip')] : []), c('kernel'), ...(withLwip ? [ratio(metric, 'lwip')] : []), ratio(metric, 'kernel')];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cols: string[]): string => `| ${cols.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)];
  const serverRss = stats(samples.kernel.get('serverRssMiB'));
  const client = stats(clientSlabKiB.map((k) => k / 1024));
  const rounds = ONLY === 'goodput' ? `${GOODPUT_ROUNDS}` : ONLY === 'echo' ? `${ROUNDS}` : `${ROUNDS} (goodput: ${GOODPUT_ROUNDS})`;
  out.push('', `median (min–max) of ${rounds} interleaved rounds (stack, lwIP, kernel, stack, ...); ratio of medians.`);
  if (ONLY !== 'goodput') out.push(
    'Client: test/bench/c/echo-client.c (kernel sockets; every echoed byte compared). Servers: ours, `cli/tcpstack up',
    '--services echo:7`; lwIP 2.1.3 (Debian liblwip-dev), test/bench/c/lwip-echo.c on its own TUN device; the kernel,',
    'test/bench/c/kernel-echo.c (epoll) across a veth pair. "all on CPU 0": server and client under `taskset -c 0`.',
    `conn/s: one connection at a time, connect + 1 byte each way + client FIN, ${CPS_COUNT} in at most ${CPS_SECONDS} s,`,
    'tcp_max_tw_buckets=0 in the client namespaces. Memory [1][2]: 10k connections held by the Node client',
    '(test/bench/echo-client.ts hold), 100 opening at a time.',
    '[1] 1 s after the last one opened. Ours: VmRSS growth of the tcpstack process (its TCP state, the echo',
    "    service's Endpoints, and what V8 has not collected or handed back of the opening burst's garbage);",
    '    lwIP: VmRSS growth of lwip-echo (its pcbs and buffers, from malloc).',
    '    kernel: growth of /proc/meminfo Slab during the kernel-pair run minus the growth during our run',
    `    (which holds only the client's 10k kernel sockets: ${client ? `${fmt(client.median)} MiB` : 'n/a'}), i.e. the server side's sockets,`,
    '    files, inodes and epoll items; system-wide, so other activity on the machine adds noise.',
    `    The kernel-side echo server's own VmRSS grew ${serverRss ? `${fmt(serverRss.median)} MiB (${fmt(serverRss.min)}–${fmt(serverRss.max)})` : 'n/a'} on top.`,
    `[2] the same growth ${AFTER_CLOSE_MS / 1000} s after the client closed them all (FIN first) and exited; kernel: Slab, both ends.`,
    '    Ours is what V8 has not handed back yet (garbage not yet collected, committed heap pages it keeps),',
    '    not connection state: the stack holds nothing per connection once they are closed (test/tcp/release.test.ts).',
    '[4] ours, over each unpinned echo, from its Io* counters (cli/io-counters.ts) read through its control socket:',
    '    TUN read() and write() calls (epoll_wait not counted) per MiB carried both ways; copies: TCP\'s (the addon reads into',
    "    memory JavaScript owns); received, into the receive queue when it compacts or joins; sent, into each segment and,",
    '    for a write not handed over (writeZeroCopy) or compacted at an RTO, into the send queue.',
    '[5] ours is `up` with its default TUN offloads (super-segments of up to 64 KiB both ways, docs/offloads.md); these',
    '    rows are a second instance with `--offload off` (every packet wire-sized), compared with the same lwIP and kernel figures.',
  );
  if (ONLY !== 'echo') out.push(...goodputNotes());
  return out.join('\n');
}

// ---------------------------------------------------------------- main

function preflight(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (TUN devices and network namespaces)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun on this machine';
  if (!existsSync(join(ROOT, 'tun', 'build', 'Release', 'tun.node'))) return 'the TUN addon is not built (run make)';
  const tools: Array<readonly [string, string]> = [['ip', '/usr/sbin/ip'], ['taskset', '/usr/bin/taskset']];
  if (ONLY !== 'echo') tools.push(['python3', '/usr/bin/python3'], ['nstat', '/usr/sbin/nstat']);
  if (ONLY !== 'goodput') tools.push(['gcc', '/usr/bin/gcc'], ['make', '/usr/bin/make']);
  for (const [cmd, path] of tools) {
    const found = (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, cmd))) || existsSync(path);
    if (!found) return `${cmd} is not installed`;
  }
  const hard = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  if (hard !== 'unlimited' && Number(hard) < HOLD_COUNT + 100) {
    return `the hard limit on open files (${hard}) is below the ${HOLD_COUNT} connections of the memory figure`;
  }
  return undefined;
}

async function main(): Promise<number> {
  const why = preflight();
  if (why !== undefined) {
    console.error(`bench: cannot run: ${why}`);
    return 1;
  }
  installTeardownHandlers();
  log(`tcpstack bench: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${ROUNDS} rounds, budget ${BUDGET_MS / 1000} s`);
  const runStart = cpuSample();
  if (ONLY !== 'goodput') await echoPhases();
  if (ONLY !== 'echo') await goodputPhase();
  return report(runStart);
}

/**
 * Builds the C client and servers (make -C test/bench/c); lwIP's only when
 * liblwip-dev is installed (`make tools` installs it as root). Returns
 * whether lwIP can run, and says why not.
 */
function buildCPrograms(): boolean {
  const lwip = existsSync(LWIP_HEADERS);
  const targets = ['build/echo-client', 'build/kernel-echo', ...(lwip ? ['build/lwip-echo'] : [])];
  const r = spawnSync('make', ['-s', '-C', C_DIR, ...targets], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building ${targets.join(', ')}: ${r.stderr || r.error?.message}`);
  if (!lwip) {
    skipped.add('lwIP (liblwip-dev is not installed: `make tools` installs it as root)');
    log('lwIP: skipped, liblwip-dev is not installed (`make tools` installs it as root)');
  }
  return lwip;
}

/** lwIP's namespace: TUN lw0 with the kernel's side at 10.77.0.1/24; lwip-echo attaches to it. */
function addLwipNamespace(): string {
  const ns = addNetns(uniqueName('lwip'));
  sysctlInNetns(ns, 'net.ipv4.tcp_max_tw_buckets', 0);
  for (const args of [
    ['netns', 'exec', ns, 'ip', 'tuntap', 'add', 'dev', 'lw0', 'mode', 'tun'],
    ['-n', ns, 'addr', 'add', LWIP_PEER, 'dev', 'lw0'],
    ['-n', ns, 'link', 'set', 'lw0', 'up'],
  ]) {
    const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`);
  }
  return ns;
}

/** Figures 1-4: the echo service, ours and lwIP's over TUN, the kernel's over veth. */
async function echoPhases(): Promise<void> {
  const lwip = buildCPrograms();
  const stackNs = addNetns(uniqueName('tun'));
  sysctlInNetns(stackNs, 'net.ipv4.tcp_max_tw_buckets', 0);
  const plainNs = addNetns(uniqueName('plain'));
  const pair = addVethPair('v', KERNEL_CLIENT, KERNEL_SERVER);
  sysctlInNetns(pair.client, 'net.ipv4.tcp_max_tw_buckets', 0);
  const lwipNs = lwip ? addLwipNamespace() : undefined;
  log(`namespaces: ${stackNs} (TUN), ${plainNs} (TUN, offloads off), ${lwipNs !== undefined ? `${lwipNs} (lwIP's TUN), ` : ''}${pair.client} ↔ ${pair.server} (veth ${KERNEL_CLIENT} → ${KERNEL_SERVER})`);
  const lab: Lab = { stackNs, plainNs, pair, lwipNs };

  for (let r = 1; r <= ROUNDS; r++) {
    for (const [name, phase, needMs] of [
      ['unpinned', unpinnedPhase, 20_000],
      ['CPU0', pinnedPhase, 20_000],
      ['memory', memoryPhase, 45_000],
    ] as const) {
      if (remaining() < needMs) {
        skipped.add(`${name} phase`);
        log(`r${r} ${name} phase: skipped (budget: ${(remaining() / 1000).toFixed(0)} s left)`);
        continue;
      }
      try {
        await phase(lab, r);
      } catch (error) {
        const msg = `r${r} ${name} phase: ${(error as Error).message}`;
        failures.push(msg);
        log(`FAILED ${msg}`);
      }
    }
  }
}

async function report(runStart: CpuSample): Promise<number> {
  const runOther = foreignPercent(runStart, cpuSample());
  const problems = await teardown();
  const leftovers = ownedNamespaces();

  const text = table();
  const notes: string[] = [];
  if (failures.length > 0) notes.push('failures:', ...failures.map((f) => `  ${f}`));
  if (skipped.size > 0) notes.push(`skipped for lack of budget: ${[...skipped].join(', ')}`);
  notes.push(`other processes used ~${runOther.toFixed(0)}% of the ${NCPU} CPUs over the run (load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}).`);
  if (contended.length > 0) notes.push(`steps during which other processes used >= ${CONTENDED_PERCENT}% of the CPUs (figures disturbed): ${contended.join(', ')}`);
  if (closeNotes.length > 0) notes.push('closing the 10k idle connections did not complete cleanly:', ...closeNotes.map((n) => `  ${n}`));
  if (stackNotes.length > 0) notes.push('stack counters of note (from its exit report):', ...stackNotes.map((n) => `  ${n}`));
  if (problems.length > 0 || leftovers.length > 0) notes.push(`teardown problems: ${[...problems, ...leftovers].join('; ')}`);
  const report = [text, ...(notes.length ? ['', ...notes] : [])].join('\n');
  console.log(`\n${report}\n`);
  log(`done; namespaces removed: ${leftovers.length === 0 ? 'yes' : 'NO'}`);

  const target = process.env.BENCH_RESULTS;
  if (target !== undefined && target !== '' && target !== '0') {
    const path = target === '1' ? join(ROOT, 'bench-results.txt') : isAbsolute(target) ? target : join(process.cwd(), target);
    // Replaces only a results file an earlier bench wrote (its first line is
    // RESULTS_MARK); any other file there is left alone.
    if (existsSync(path) && !readFileSync(path, 'utf8').startsWith(RESULTS_MARK)) {
      log(`NOT written: ${path} exists and is not a results file of make bench (remove it or name another path)`);
      return 1;
    }
    writeFileSync(path, `${RESULTS_MARK}\n${report}\n`);
    log(`written to ${path}`);
  }
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`bench: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
