/**
 * The cost of `tcpstack plot` on a big trace (a benchmark, not a test):
 *
 *   node --import tsx test/bench/plot-cost.ts [MB] [LOSS%] [OUT_DIR]
 *
 * Two of our stacks in memory, in virtual time (test/helpers/world.ts), A
 * sending MB megabytes (default 10) to B through the impairment layer on
 * A's end: LOSS % (default 1) of what A sends lost, 10 ms each way, 100
 * Mbit/s out. A's trace is written as a trace file (the header and JSON
 * lines, as `up --trace-file` writes them) to OUT_DIR (a new temporary
 * directory by default), then drawn by `cli/tcpstack plot` to SVG and PNG;
 * we print the trace's records and size, each drawing's wall time, the
 * bars drawn against the segments sent, and the output sizes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceEvent } from '../../stack/trace.ts';
import { World, connected, transferAll } from '../helpers/world.ts';

const MB = Number(process.argv[2] ?? 10);
const LOSS = Number(process.argv[3] ?? 1) / 100;
const dir = process.argv[4] ?? mkdtempSync(join(tmpdir(), 'tcpstack-plot-cost-'));
const CLI = new URL('../../cli/tcpstack', import.meta.url).pathname;

const events: TraceEvent[] = [];
const w = new World({
  a: { trace: (e) => events.push(e) },
  impair: { a: { seed: 42, out: { loss: LOSS, delay: { ms: 10 }, rate: { bitsPerSecond: 100e6 } }, in: { delay: { ms: 10 } } } },
});
const { client, server } = connected(w);
const data = new Uint8Array(MB * 1_000_000);
const t0 = performance.now();
const got = transferAll(w, client, server, data);
if (got.length !== data.length) throw new Error(`transfer: ${got.length} of ${data.length} bytes`);
const simMs = performance.now() - t0;

const trace = join(dir, `transfer-${MB}MB.trace`);
const lines = [JSON.stringify({ kind: 'trace-start', t: 0, version: 1, addr: '198.18.0.1', wall: new Date(0).toISOString() }), ...events.map((e) => JSON.stringify(e))];
writeFileSync(trace, `${lines.join('\n')}\n`);
const count = (k: string): number => events.filter((e) => e.kind === k).length;
const dataOut = events.filter((e) => e.kind === 'tcp-seg' && e.dir === 'out' && e.len > 0);
const rtx = dataOut.filter((e) => e.kind === 'tcp-seg' && e.rtx !== undefined).length;
console.log(`transfer: ${MB} MB in ${(w.clock.now() / 1000).toFixed(2)} virtual s (${(simMs / 1000).toFixed(1)} s to simulate)`);
console.log(`trace: ${events.length} records, ${(statSync(trace).size / 1e6).toFixed(1)} MB (${count('tcp-seg')} tcp-seg of which ${dataOut.length} data out, ${rtx} retransmitted; ${count('tcp-cc')} tcp-cc; ${count('tcp-ca')} tcp-ca) -> ${trace}`);

for (const [name, extra] of [
  ['svg', []],
  ['png', []],
  ['zoom.svg', ['--from', '1', '--to', '1.5']],
] as const) {
  const out = join(dir, `transfer-${MB}MB.${name}`);
  const start = performance.now();
  const r = spawnSync(CLI, ['plot', trace, '-o', out, ...extra], { encoding: 'utf8' });
  const s = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`plot ${name}: ${r.stderr}`);
  console.log(`plot -o ${name} ${extra.join(' ')}: ${s.toFixed(2)} s wall, ${(statSync(out).size / 1e6).toFixed(2)} MB; ${r.stderr.trim()}`);
}
