/**
 * The client of `make bench`: Node's `net` on kernel sockets, run inside a
 * namespace with `ip netns exec`, against an echo server (ours over the TUN,
 * or the kernel's over veth). Every mode is bounded in count and in time
 * (--max-seconds), and prints one line `result {json}` (or `held ...` first
 * for mode hold).
 *
 *   echo-client.ts throughput --host H --port 7 [--bytes 104857600]
 *       one connection; writes --bytes (a 64 KiB pattern) while reading the
 *       echo; timed from the first byte written to the last byte read back;
 *       verifies the count and the content.
 *   echo-client.ts latency --host H [--size 64] [--count 5000] [--warmup 500]
 *       one connection (TCP_NODELAY), ping-pong of --size bytes; p50/p99 µs.
 *   echo-client.ts cps --host H [--count 3000] [--concurrency 1]
 *       connect, 1 byte each way, close (client FIN first), --concurrency
 *       workers each doing that sequentially, until --count or --max-seconds.
 *   echo-client.ts hold --host H [--count 10000] [--concurrency 100]
 *       opens --count connections (1 byte each way on each, so the server has
 *       surely accepted them), prints `held N SECONDS`, keeps them idle until
 *       SIGTERM or --max-seconds, then closes them (FIN, in slices) and waits
 *       (bounded) for the server to close each.
 */
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string' },
    port: { type: 'string', default: '7' },
    bytes: { type: 'string', default: String(100 * 1024 * 1024) },
    size: { type: 'string', default: '64' },
    count: { type: 'string' },
    warmup: { type: 'string', default: '500' },
    concurrency: { type: 'string' },
    'max-seconds': { type: 'string', default: '30' },
  },
});
const mode = positionals[0];
const host = values.host;
const port = Number(values.port);
const maxMs = Number(values['max-seconds']) * 1000;
if (host === undefined || !['throughput', 'latency', 'cps', 'hold'].includes(mode ?? '')) {
  console.error('usage: echo-client.ts throughput|latency|cps|hold --host H [--port P] [options]');
  process.exit(2);
}

const now = (): bigint => process.hrtime.bigint();
const msSince = (t0: bigint): number => Number(now() - t0) / 1e6;

function report(result: Record<string, unknown>): void {
  console.log(`result ${JSON.stringify(result)}`);
}

/** Fails the run (one line on stderr, exit 1) without hanging. */
function fail(message: string, extra: Record<string, unknown> = {}): never {
  report({ ok: false, error: message, ...extra });
  console.error(`echo-client ${mode}: ${message}`);
  process.exit(1);
}

/** The whole run is bounded: past --max-seconds we report what we have and exit 1. */
let onDeadline: () => Record<string, unknown> = () => ({});
setTimeout(() => fail(`--max-seconds ${maxMs / 1000} reached`, onDeadline()), maxMs).unref();

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: host!, port });
    const onError = (e: Error): void => reject(e);
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}

async function throughput(): Promise<void> {
  const total = Number(values.bytes);
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7 + (i >> 8)) & 255;
  const s = await open();
  let sent = 0;
  let received = 0;
  let mismatches = 0;
  let t1: bigint | undefined;
  onDeadline = () => ({ sent, received });
  const done = new Promise<void>((resolve, reject) => {
    s.on('data', (chunk: Buffer) => {
      // Verify content against the pattern at this offset (memcmp per piece).
      let off = 0;
      while (off < chunk.length) {
        const at = (received + off) % block.length;
        const n = Math.min(chunk.length - off, block.length - at);
        if (chunk.compare(block, at, at + n, off, off + n) !== 0) mismatches++;
        off += n;
      }
      received += chunk.length;
      if (received >= total && t1 === undefined) t1 = now();
    });
    s.once('end', () => resolve());
    s.once('error', reject);
  });
  const t0 = now();
  while (sent < total) {
    const n = Math.min(block.length, total - sent);
    sent += n;
    if (!s.write(n === block.length ? block : block.subarray(0, n))) {
      await new Promise<void>((resolve) => s.once('drain', resolve));
    }
  }
  s.end();
  await done;
  s.destroy();
  if (t1 === undefined) fail(`short echo: ${received} of ${total} bytes`, { sent, received });
  const seconds = Number(t1 - t0) / 1e9;
  const ok = received === total && mismatches === 0;
  report({ ok, bytes: total, received, mismatches, seconds, mibps: total / 1048576 / seconds });
  if (!ok) process.exit(1);
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latency(): Promise<void> {
  const size = Number(values.size);
  const count = Number(values.count ?? 5000);
  const warmup = Number(values.warmup);
  const msg = Buffer.alloc(size, 0x61);
  const s = await open();
  s.setNoDelay(true);
  const rtts = new Float64Array(count);
  let round = 0;
  let pending = 0;
  let t0 = now();
  onDeadline = () => ({ rounds: round });
  await new Promise<void>((resolve, reject) => {
    s.on('data', (chunk: Buffer) => {
      pending += chunk.length;
      while (pending >= size) {
        pending -= size;
        const t = now();
        if (round >= warmup) rtts[round - warmup] = Number(t - t0) / 1e3;
        round++;
        if (round >= warmup + count) return resolve();
        t0 = now();
        s.write(msg);
      }
    });
    s.once('end', () => reject(new Error(`server closed after ${round} rounds`)));
    s.once('error', reject);
    t0 = now();
    s.write(msg);
  }).catch((e: Error) => fail(e.message, { rounds: round }));
  s.destroy();
  const sorted = rtts.slice().sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  report({
    ok: true,
    count,
    warmup,
    size,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    mean: sum / count,
  });
}

/** connect, 1 byte each way, client FIN, wait for the socket to close (server FIN seen). */
function oneConnection(timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: host!, port });
    s.setNoDelay(true);
    let got = false;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('connection timed out'));
    }, timeoutMs);
    s.once('connect', () => s.write('x'));
    s.on('data', (d: Buffer) => {
      if (!got && d.length > 0) {
        got = true;
        s.end();
      }
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.once('close', (hadError) => {
      clearTimeout(timer);
      if (!hadError && got) resolve();
      else if (!hadError) reject(new Error('closed without the echo'));
    });
  });
}

async function cps(): Promise<void> {
  const count = Number(values.count ?? 3000);
  const concurrency = Number(values.concurrency ?? 1);
  // Stop starting new connections a little before the hard deadline.
  const budgetMs = Math.max(1000, maxMs - 2000);
  let started = 0;
  let ok = 0;
  const errors = new Map<string, number>();
  const t0 = now();
  onDeadline = () => ({ completed: ok, errors: Object.fromEntries(errors) });
  const worker = async (): Promise<void> => {
    while (started < count && msSince(t0) < budgetMs) {
      started++;
      try {
        await oneConnection(5000);
        ok++;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        errors.set(code, (errors.get(code) ?? 0) + 1);
        if ([...errors.values()].reduce((a, b) => a + b, 0) > 50) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = msSince(t0) / 1000;
  report({ ok: errors.size === 0, completed: ok, attempted: started, concurrency, seconds, cps: ok / seconds, errors: Object.fromEntries(errors) });
}

async function hold(): Promise<void> {
  const count = Number(values.count ?? 10000);
  const concurrency = Number(values.concurrency ?? 100);
  const sockets: Socket[] = [];
  let started = 0;
  const errors = new Map<string, number>();
  const t0 = now();
  onDeadline = () => ({ held: sockets.length, errors: Object.fromEntries(errors) });
  const openOne = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect({ host: host!, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error('timed out'));
      }, 10_000);
      s.once('connect', () => s.write('x'));
      s.once('data', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        s.on('error', () => {});
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  const worker = async (): Promise<void> => {
    while (started < count) {
      started++;
      try {
        sockets.push(await openOne());
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        errors.set(code, (errors.get(code) ?? 0) + 1);
        if ([...errors.values()].reduce((a, b) => a + b, 0) > 50) return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = msSince(t0) / 1000;
  console.log(`held ${sockets.length} ${seconds.toFixed(3)}`);
  // Close gracefully and in slices (CLOSE_SLICE every 10 ms), waiting for the
  // server's FIN: exiting with 10,000 sockets open would send 10,000 FINs at
  // once from orphaned sockets, which with tcp_max_tw_buckets=0 are then
  // answered with RSTs, and whose burst can overflow a TUN queue.
  const CLOSE_SLICE = 500;
  let closing = false;
  const closeAll = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    const t1 = now();
    let open = sockets.length;
    const allClosed = new Promise<void>((resolve) => {
      if (open === 0) resolve();
      for (const s of sockets) s.once('close', () => --open === 0 && resolve());
    });
    for (let i = 0; i < sockets.length; i += CLOSE_SLICE) {
      for (const s of sockets.slice(i, i + CLOSE_SLICE)) s.end();
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.race([allClosed, new Promise((r) => setTimeout(r, 10_000))]);
    for (const s of sockets) s.destroy();
    const ok = sockets.length === count && open === 0;
    report({ ok, held: sockets.length, openSeconds: seconds, closeSeconds: msSince(t1) / 1000, notClosedByServer: open, errors: Object.fromEntries(errors) });
    process.exit(ok ? 0 : 1);
  };
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void closeAll());
}

const modes = { throughput, latency, cps, hold } as const;
modes[mode as keyof typeof modes]().then(
  () => {
    if (mode !== 'hold') process.exit(0);
  },
  (e: Error) => fail(e.message),
);
