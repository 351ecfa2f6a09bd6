/**
 * The goodput figure of `make bench`: a one-way bulk transfer from a sender
 * to a kernel receiver through the same seeded impairments (loss and delay
 * both ways, tun/impair/), our stack as the sender against the kernel as the
 * sender.
 *
 *   ours:   kernel receiver (test/bench/bulk.py) in namespace N;
 *           `cli/tcpstack connect --netns N --loss … --delay … --seed S
 *           --counters 198.18.0.1 PORT` with the data on its stdin; the
 *           impairment sits on the stack's TUN device.
 *   kernel: sender (bulk.py send, TCP_CONGESTION set on its socket) in
 *           namespace A, receiver in namespace B, joined by two TUN devices
 *           and test/bench/impair-forward.ts, which runs the same Impairment
 *           with the same options and seed between them: the sender's
 *           packets are its "out" direction, as our stack's are.
 *
 * Both use 198.18.0.2 → 198.18.0.1, MTU 1500, a TUN txqueuelen of 10,000.
 * Every transfer gets fresh namespaces (no tcp_metrics carried over from an
 * earlier one) and a fresh impairment (the seed starts over), is bounded in
 * time, and its namespaces are removed afterwards, also on failure.
 * Goodput is measured at the receiver: bytes read from accept() to EOF, or
 * in the first `seconds` if the transfer has not ended by then.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addNetns, removeNetns, start, uniqueName, type Started } from './netlab.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'cli', 'tcpstack');
const LOADER = `file://${join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')}`;
const BULK = join(ROOT, 'test', 'bench', 'bulk.py');
const FORWARDER = join(ROOT, 'test', 'bench', 'impair-forward.ts');
const RECEIVER_ADDR = '198.18.0.1';
const PORT = 5001;

export type CongestionControl = 'cubic' | 'reno';

export interface GoodputSetup {
  bytes: number;
  /** The receiver stops reading this long after accept() if EOF has not come. */
  seconds: number;
  /** Impairment options, as `tcpstack connect` takes them, e.g. ['--loss', '1%', '--delay', '10ms']. */
  impair: string[];
  seed: number;
  cc: CongestionControl;
}

/** Counters compared between the two senders (nstat names). */
export const GOODPUT_COUNTERS = [
  'TcpRetransSegs',
  'TcpExtTCPFastRetrans',
  'TcpExtTCPTimeouts',
  'TcpExtTCPLossProbes',
  'TcpExtTCPSackRecovery',
  'TcpExtTCPLostRetransmit',
  'TcpExtTCPSpuriousRTOs',
  'TcpExtTCPFullUndo',
  'TcpExtTCPPartialUndo',
  'TcpExtTCPDSACKUndo',
  'TcpExtTCPLossUndo',
] as const;

export interface GoodputResult {
  mibps: number;
  bytes: number;
  seconds: number;
  /** The transfer ended (EOF) before the receiver's time ran out. */
  complete: boolean;
  /** The sender's counters for this transfer. */
  counters: Record<string, number>;
  /** Packets the impairment dropped for loss, both directions. */
  lossDrops: number;
  packets: number;
}

const expectedDigests = new Map<number, string>();
/** bulk.py's pattern (bytes 0..250 repeated), first `n` bytes. */
export function pattern(n: number): Buffer {
  const block = Buffer.from(Array.from({ length: 251 }, (_, i) => i));
  const out = Buffer.allocUnsafe(n);
  for (let o = 0; o < n; o += block.length) block.copy(out, o, 0, Math.min(block.length, n - o));
  return out;
}
function digestOf(data: Buffer, n: number): string {
  let d = expectedDigests.get(n);
  if (d === undefined) {
    d = createHash('sha256').update(data.subarray(0, n)).digest('hex');
    expectedDigests.set(n, d);
  }
  return d;
}

type Json = Record<string, unknown>;
function resultLine(p: Started, who: string): Json {
  const line = p.stdout().split('\n').find((l) => l.startsWith('result '));
  if (line === undefined) throw new Error(`${who}: no result; stderr: ${p.stderr().trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(line.slice(7)) as Json;
}

/** nstat-layout rows ("Name   value ...") into a map. */
export function parseCounterRows(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = /^([A-Za-z][\w.]*)\s+(\d+)\b/.exec(line.trim());
    if (f) m.set(f[1]!, Number(f[2]));
  }
  return m;
}

function pick(m: Map<string, number>): Record<string, number> {
  return Object.fromEntries(GOODPUT_COUNTERS.map((n) => [n, m.get(n) ?? 0]));
}

/** Waits for `p` to exit within `ms`, else SIGTERM (then SIGKILL). */
async function bounded(p: Started, ms: number): Promise<void> {
  const timer = setTimeout(() => void p.stop('SIGTERM', 5_000), ms);
  await p.exited;
  clearTimeout(timer);
}

function startReceiver(ns: string, setup: GoodputSetup): Started {
  return start([
    'ip', 'netns', 'exec', ns, 'python3', BULK, 'receive',
    '--port', String(PORT), '--seconds', String(setup.seconds), '--max-seconds', String(setup.seconds + 20),
  ]);
}

function checkReceived(r: Json, data: Buffer): { bytes: number; seconds: number; complete: boolean } {
  if (r.ok !== true) throw new Error(`receiver: ${JSON.stringify(r)}`);
  const bytes = Number(r.bytes);
  if (bytes > data.length || r.sha256 !== digestOf(data, bytes)) throw new Error(`receiver: ${bytes} bytes that are not the pattern sent`);
  const complete = r.complete === true;
  if (complete && bytes !== data.length) throw new Error(`receiver: EOF after ${bytes} of ${data.length} bytes`);
  return { bytes, seconds: Number(r.seconds), complete };
}

/** One transfer with our stack as the sender. */
export async function stackTransfer(setup: GoodputSetup, data: Buffer): Promise<GoodputResult> {
  const ns = addNetns(uniqueName('gp'));
  let receiver: Started | undefined;
  let sender: Started | undefined;
  try {
    receiver = startReceiver(ns, setup);
    await receiver.line(/^listening/, 15_000);
    sender = start(
      [
        CLI, 'connect', '--netns', ns, '--counters', ...setup.impair, '--seed', String(setup.seed),
        ...(setup.cc === 'reno' ? ['--sysctl', 'net.ipv4.tcp_congestion_control=reno'] : []),
        RECEIVER_ADDR, String(PORT),
      ],
      { stdin: 'pipe' },
    );
    // The receiver may reset the connection before all is taken: connect then exits, and our pipe breaks.
    sender.child.stdin!.on('error', () => {});
    sender.child.stdin!.end(data);
    // connect exits only after the receiver has closed; exiting first, it failed (a refused option, no connection).
    const first = await Promise.race([receiver.exited.then(() => 'receiver'), sender.exited.then(() => 'sender')]);
    if (first === 'sender') {
      await bounded(receiver, 2_000);
      if (!receiver.stdout().includes('result ')) throw new Error(`connect exited first: ${sender.stderr().trim().split('\n').slice(-2).join(' | ')}`);
    }
    await bounded(receiver, (setup.seconds + 25) * 1000);
    const got = checkReceived(resultLine(receiver, 'receiver'), data);
    // connect exits once the receiver has closed (EOF, or its RST when the time ran out).
    await bounded(sender, 10_000);
    const err = sender.stderr();
    if (!/^counters that moved:/m.test(err)) throw new Error(`connect printed no counters: ${err.trim().split('\n').slice(-3).join(' | ')}`);
    const [stackPart, impairPart = ''] = err.split(/^impairments \(seed/m);
    const counters = parseCounterRows(stackPart!);
    const impair = parseCounterRows(impairPart);
    return { ...got, mibps: got.bytes / got.seconds / 1048576, counters: pick(counters), lossDrops: impair.get('ImpairLossDrops') ?? 0, packets: impair.get('ImpairPackets') ?? 0 };
  } finally {
    await sender?.stop('SIGTERM', 5_000);
    await receiver?.stop('SIGTERM', 2_000);
    removeNetns(ns);
  }
}

/** The sender namespace's counters, absolute (nstat -a, no history kept): the namespace is fresh. */
function nstatIn(ns: string): Map<string, number> {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nstat', '-asz'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`nstat in ${ns}: ${(r.stderr || r.error?.message || '').trim()}`);
  return parseCounterRows(r.stdout);
}

/** One transfer kernel to kernel through the forwarder. */
export async function kernelTransfer(setup: GoodputSetup, data: Buffer): Promise<GoodputResult> {
  const a = addNetns(uniqueName('gpa'));
  let b: string | undefined;
  let forwarder: Started | undefined;
  let receiver: Started | undefined;
  let sender: Started | undefined;
  try {
    b = addNetns(uniqueName('gpb'));
    forwarder = start([
      process.execPath, '--import', LOADER, FORWARDER, '--sender', a, '--receiver', b,
      ...setup.impair, '--seed', String(setup.seed), '--max-seconds', String(setup.seconds + 60),
    ]);
    await forwarder.line(/^ready /, 20_000);
    receiver = startReceiver(b, setup);
    await receiver.line(/^listening/, 15_000);
    sender = start([
      'ip', 'netns', 'exec', a, 'python3', BULK, 'send', '--host', RECEIVER_ADDR, '--port', String(PORT),
      '--bytes', String(data.length), '--cc', setup.cc, '--max-seconds', String(setup.seconds + 20),
    ]);
    await bounded(receiver, (setup.seconds + 25) * 1000);
    const got = checkReceived(resultLine(receiver, 'receiver'), data);
    await bounded(sender, 10_000);
    const sent = resultLine(sender, 'sender');
    if (sent.ok !== true) throw new Error(`sender: ${JSON.stringify(sent)}`);
    if (sent.cc !== setup.cc) throw new Error(`sender ran ${String(sent.cc)}, not ${setup.cc}`);
    const counters = pick(nstatIn(a));
    await forwarder.stop('SIGTERM', 5_000);
    const impair = parseCounterRows(forwarder.stdout());
    return { ...got, mibps: got.bytes / got.seconds / 1048576, counters, lossDrops: impair.get('ImpairLossDrops') ?? 0, packets: impair.get('ImpairPackets') ?? 0 };
  } finally {
    await sender?.stop('SIGTERM', 2_000);
    await receiver?.stop('SIGTERM', 2_000);
    await forwarder?.stop('SIGTERM', 5_000);
    if (b !== undefined) removeNetns(b);
    removeNetns(a);
  }
}
