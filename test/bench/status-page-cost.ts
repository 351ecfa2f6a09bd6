/**
 * What an open status page costs the stack (a benchmark, not a test):
 *
 *   node --import tsx test/bench/status-page-cost.ts [MiB] [ROUNDS] [on|off]
 *
 * First in memory (no root; what the recording costs the thread the stack
 * runs on, undisturbed by the machine): two of our stacks in virtual time,
 * the sender's trace with no sink, with a sink that discards the records
 * (the cost of building them) and with the status page's Recorder (the
 * histories and the graph model), MiB one way, ROUNDS interleaved; then
 * the time to build and serialise one snapshot.
 *
 * Then, as root, `tcpstack up` in a throw-away namespace (offloads on or off, default on),
 * a kernel client sending MiB (default 256) into the discard service, in
 * three conditions interleaved ROUNDS times (default 3):
 *   - no page: nobody looks, the trace has no sink;
 *   - events: an /events stream open (curl -N), as a page without its graph:
 *     the trace recorded, a snapshot a second;
 *   - graph: the stream, and the transfer's own graph fetched every second,
 *     as a page with that connection's graph open.
 * Prints the goodput (the client's time from connect to the discard's FIN)
 * and up's CPU time per GiB (its /proc/PID/stat utime + stime, every
 * thread, the drawing thread's too) for each, median and spread, and up's
 * resident memory at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { TcpInfo } from '../../stack/socket/types.ts';
import type { Stack } from '../../stack/stack.ts';
import { memoryTransfer } from './memory-transfer.ts';
import type { TcpProvider } from '../../tun/node/provider.ts';
import { TraceHub } from '../../tun/trace-hub.ts';
import { Recorder } from '../../cli/services/status/recorder.ts';
import { SnapshotBuilder } from '../../cli/services/status/snapshot.ts';
import { removeNetns, startCli, uniqueNetns } from '../helpers/interop.ts';

const MIB = Number(process.argv[2] ?? 256);
const ROUNDS = Number(process.argv[3] ?? 3);
const OFFLOAD = process.argv[4] ?? 'on';
const ADDR = '198.18.0.2';

const SENDER = `
import socket, sys, time
n = ${MIB} * 1024 * 1024
s = socket.create_connection(('${ADDR}', 9), timeout=60)
print('port', s.getsockname()[1], flush=True)
sys.stdin.readline()
block = bytes(range(256)) * 256
t0 = time.monotonic()
sent = 0
while sent < n:
    s.sendall(block); sent += len(block)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print('seconds', time.monotonic() - t0, flush=True)
`;

/** MiB one way between two stacks in memory; `recordA` is called with the sender's stack before it starts. */
function inMemoryTransfer(recordA: (a: Stack) => void): { ms: number; segments: number } {
  return memoryTransfer(MIB, (a) => recordA(a));
}

function inMemory(): void {
  const recorders: Recorder[] = [];
  const variants: Array<[string, (a: Stack) => void]> = [
    ['no sink', () => {}],
    ['discarding sink', (a) => void TraceHub.of(a).attach(() => {})],
    [
      'status page recorder',
      (a) => {
        const r = new Recorder(a, () => new Set(a.tcp.connections().map((c) => `${c.localPort}-${c.remotePort}`)), { intervalMs: 1000 });
        r.watch();
        recorders.push(r);
      },
    ],
  ];
  for (const [, f] of variants) inMemoryTransfer(f); // warm-up
  const results = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, f] of variants) {
      const x = inMemoryTransfer(f);
      results.set(name, [...(results.get(name) ?? []), (x.ms * 1e6) / x.segments]);
    }
  }
  console.log(`${MIB} MiB one way between two stacks in memory, the sender's trace; ${ROUNDS} rounds, median (range), per segment the sender sent or received`);
  for (const [name, ns] of results) console.log(`${name.padEnd(22)} ${median(ns).toFixed(0).padStart(5)} ns/segment (${Math.min(...ns).toFixed(0)}-${Math.max(...ns).toFixed(0)})`);
  // One snapshot as /events sends it: 100 connections with full histories, the counters.
  const fake = { listeners: () => [], connections: () => Array.from({ length: 100 }, (_, i) => ({ ...SAMPLE_INFO, localPort: 7, remotePort: 40000 + i })) };
  const rec = new Recorder(undefined, () => new Set());
  for (let i = 0; i < 100; i++) for (let k = 0; k < 60; k++) rec.histories.sample({ kind: 'tcp-cc', t: k, conn: `7-${40000 + i}`, why: 'ack', ca: 'open', cwnd: 10 + k, ssthresh: 0x7fffffff, inflight: 1, mss: 1448, una: 0, nxt: 0, rcvNxt: 0, sndWnd: 0, rcvWnd: 0, srtt: 20 + k / 10, rttvar: 1, rto: 220, sndQ: 0, rcvQ: 0 });
  for (let k = 0; k < 60; k++) rec.histories.tick();
  const counters = Array.from({ length: 60 }, (_, i): [string, number] => [`Counter${i}`, i * 1000]);
  const builder = new SnapshotBuilder(fake as unknown as TcpProvider, () => counters, rec);
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) bytes = JSON.stringify(builder.build()).length;
  console.log(`one snapshot of 100 connections with 60-point histories and 60 counters: ${((performance.now() - t0) / 100).toFixed(2)} ms, ${(bytes / 1024).toFixed(0)} KiB`);
  for (const r of recorders) r.close();
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const SAMPLE_INFO: TcpInfo = {
  state: 'ESTABLISHED', localAddress: '198.18.0.2', localPort: 7, remoteAddress: '198.18.0.1', remotePort: 40000, recvQ: 0, sendQ: 0, rtt: 20.5, rttvar: 2.1, rto: 221,
  mss: 1448, cwnd: 42, ssthresh: 0x7fffffff, retransmits: 0, backoff: 0, sndWnd: 65535, rcvWnd: 65535, sndWscale: 10, rcvWscale: 10, timestamps: true, sack: true,
  timer: undefined, bytesSent: 123456, bytesRetrans: 0, bytesAcked: 123456, bytesReceived: 654321,
};

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime + stime of `pid`, seconds (fields 14 and 15 of /proc/PID/stat, after the command's closing parenthesis). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    queue.push(...parts);
  });
  return async () => {
    const deadline = Date.now() + 120_000;
    while (queue.length === 0) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error('the sender said nothing');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return queue.shift()!;
  };
}

type Condition = 'no page' | 'events' | 'graph';

/** The clients of the transfer under way (the stream, the sender): ended with it, or at exit. */
const running: ChildProcess[] = [];

async function transfer(netns: string, upPid: number, condition: Condition): Promise<{ seconds: number; cpu: number }> {
  const helpers = running;
  helpers.length = 0;
  let polling = true;
  try {
    if (condition !== 'no page') {
      helpers.push(spawn('ip', ['netns', 'exec', netns, 'curl', '-sN', '-o', '/dev/null', `http://${ADDR}/events`], { stdio: 'ignore' }));
      await new Promise((resolve) => setTimeout(resolve, 1500)); // the stream open and recording
    }
    const sender = spawn('ip', ['netns', 'exec', netns, 'python3', '-u', '-c', SENDER], { stdio: ['pipe', 'pipe', 'inherit'] });
    helpers.push(sender);
    const next = lines(sender);
    const port = Number((await next()).split(' ')[1]);
    const poll = async (): Promise<void> => {
      while (polling) {
        spawnSync('ip', ['netns', 'exec', netns, 'curl', '-s', '-o', '/dev/null', '--max-time', '10', `http://${ADDR}/conn/9-${port}/graph.svg?dir=in`]);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    const cpu0 = cpuSeconds(upPid);
    sender.stdin!.write('go\n');
    const poller = condition === 'graph' ? poll() : Promise.resolve();
    const seconds = Number((await next()).split(' ')[1]);
    const cpu = cpuSeconds(upPid) - cpu0;
    polling = false;
    await poller;
    return { seconds, cpu };
  } finally {
    polling = false;
    for (const h of helpers) if (h.exitCode === null) h.kill('SIGKILL');
    // Let the recording's linger pass (10 s after the last request) so the next "no page" run has no sink.
    if (condition !== 'no page') await new Promise((resolve) => setTimeout(resolve, 11_000));
  }
}

inMemory();
if (process.getuid?.() !== 0) {
  console.log('(not root: the run through up is left out)');
  process.exit(0);
}
const netns = uniqueNetns('status-cost');
const up = startCli(['up', '--netns', netns, '--services', 'discard,http', '--offload', OFFLOAD]);
// Should this process end any other way (an error, a closed stdout), its
// children end with it, by PID: up then removes the namespace it made.
process.on('exit', () => {
  for (const h of running) if (h.exitCode === null) h.kill('SIGKILL');
  if (up.child.exitCode === null) up.child.kill('SIGTERM');
});
process.stdout.on('error', () => process.exit(1));
process.stderr.on('error', () => process.exit(1));
try {
  await up.ready();
  const results = new Map<Condition, Array<{ seconds: number; cpu: number }>>();
  const conditions: Condition[] = ['no page', 'events', 'graph'];
  await transfer(netns, up.pid, 'no page'); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of conditions) {
      const x = await transfer(netns, up.pid, c);
      results.set(c, [...(results.get(c) ?? []), x]);
      console.error(`round ${r + 1} ${c}: ${(MIB / x.seconds).toFixed(0)} MiB/s, ${x.cpu.toFixed(2)} s CPU`);
    }
  }
  const med = median;
  const range = (v: number[], digits: number): string => `${Math.min(...v).toFixed(digits)}-${Math.max(...v).toFixed(digits)}`;
  console.log(`${MIB} MiB into discard through up (offload ${OFFLOAD}), ${ROUNDS} rounds interleaved, median (range)`);
  for (const [c, list] of results) {
    const mibs = list.map((x) => MIB / x.seconds);
    const cpuPerGiB = list.map((x) => (x.cpu * 1024) / MIB);
    console.log(`${c.padEnd(8)} ${med(mibs).toFixed(0).padStart(5)} MiB/s (${range(mibs, 0)})   up's CPU ${med(cpuPerGiB).toFixed(2)} s/GiB (${range(cpuPerGiB, 2)})`);
  }
  console.log(`up's resident memory at the end: ${rssMiB(up.pid).toFixed(0)} MiB`);
} finally {
  await up.stop('SIGTERM');
  removeNetns(netns);
}
