/**
 * The memory figure's client in `make bench`: Node's `net` on kernel
 * sockets, run inside a namespace with `ip netns exec`, holding many idle
 * connections to an echo server (ours or lwIP's over a TUN, the kernel's
 * over veth). The other figures use the C client (test/bench/c/echo-client.c).
 * Bounded in count and in time (--max-seconds).
 *
 *   echo-client.ts hold --host H [--port 7] [--count 10000] [--concurrency 100]
 *       opens --count connections (1 byte each way on each, so the server has
 *       surely accepted them), prints `held N SECONDS`, keeps them idle until
 *       SIGTERM or --max-seconds, then closes them (FIN, in slices), waits
 *       (bounded) for the server to close each, and prints `result {json}`.
 */
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string' },
    port: { type: 'string', default: '7' },
    count: { type: 'string' },
    concurrency: { type: 'string' },
    'max-seconds': { type: 'string', default: '30' },
  },
});
const mode = positionals[0];
const host = values.host;
const port = Number(values.port);
const maxMs = Number(values['max-seconds']) * 1000;
if (host === undefined || mode !== 'hold') {
  console.error('usage: echo-client.ts hold --host H [--port P] [--count N] [--concurrency N] [--max-seconds S]');
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

hold().catch((e: Error) => fail(e.message));
