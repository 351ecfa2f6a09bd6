/**
 * `tcpstack plot`: what the graph shows is what was sent. From a trace made
 * in virtual time (a tail loss probe, two RTOs, then an abort's RST) and
 * from a capture of two stacks in memory, the SVG's marks are read back by
 * their descriptions (aria-labels) and compared with the segments; PNG is a
 * PNG; the command line refuses misuse and existing files.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { VirtualClock } from '../../stack/clock.ts';
import { SeededRandom } from '../../stack/random.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { Stack } from '../../stack/stack.ts';
import type { TcpSegmentEvent } from '../../stack/trace.ts';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { memoryLinkPair } from '../../tun/memory-link.ts';
import { PcapTap, PcapWriter } from '../../tun/pcap.ts';
import { TraceModel } from '../../cli/plot/model.ts';
import { loadCapture } from '../../cli/plot/capture.ts';
import { renderSvg, svgToPng } from '../../cli/plot/render.ts';
import { CLI } from '../helpers/interop.ts';
import { passiveOpen, pattern } from '../helpers/tcp-peer.ts';

const MSS = 1448;

function labels(svg: string): string[] {
  return [...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

/** The TLP/RTO exchange of test/tcp/trace-state.test.ts, then close() with SO_LINGER {1, 0}: a RST. */
function lossThenAbort() {
  const o = passiveOpen({ rtt: 50 });
  o.peer.quietUntil(100);
  o.ep.write(pattern(2 * MSS));
  o.peer.flush();
  o.peer.runUntil(1000);
  o.ep.setLinger(true, 0);
  o.ep.close();
  o.peer.flush();
  return o;
}

test('from a trace: every data segment sent is a bar with its range and mechanism, the RST carries its reason, the panes the cwnd the stack had', async (t) => {
  const o = lossThenAbort();
  const model = new TraceModel();
  for (const e of o.s.trace) model.push(e);
  const [conn] = model.connections();
  t.truthy(conn);
  const series = model.series(conn!.id, 'out')!;
  const svg = await renderSvg(series);
  const marks = labels(svg);
  const base = o.peer.our(0);
  const sent = o.s.trace.filter((e): e is TcpSegmentEvent => e.kind === 'tcp-seg' && e.dir === 'out' && e.len > 0);
  t.is(sent.length, 5, 'two segments, the probe, two RTOs');
  for (const s of sent) {
    const start = (s.seq - base) >>> 0;
    const kind = s.rtx === undefined ? 'new data' : `retransmission (${s.rtx})`;
    const label = `${kind} ${start}:${start + s.len} at ${(s.t / 1000).toFixed(6)} s`;
    t.true(marks.includes(label), `${label} in ${marks.filter((m) => m.includes(':')).join(' | ')}`);
  }
  t.is(marks.filter((m) => /^(new data|retransmission)/.test(m)).length, sent.length + 1, 'and the SYN-ACK, one sequence number');
  t.true(
    marks.some((m) => /^RST by the sender at 1\.000000 s: lingerZero, TCP_STATE$/.test(m)),
    marks.filter((m) => m.startsWith('RST')).join(' | '),
  );
  t.true(marks.includes('cwnd 1 at 0.460000 s'), 'the cwnd after the first RTO');
  t.true(marks.some((m) => /^loss from 0\.460000/.test(m)), 'the Loss period shaded');
});

test('PNG: the same graph rasterised', async (t) => {
  const o = lossThenAbort();
  const model = new TraceModel();
  for (const e of o.s.trace) model.push(e);
  const png = svgToPng(await renderSvg(model.series(model.connections()[0]!.id)!));
  t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  t.true(png.readUInt32BE(16) >= 900, 'IHDR width: at least the chart width');
});

test('from a capture: the wire alone, the bars are the data segments captured, the RST the receiver sent is marked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-plot-'));
  try {
    const file = join(dir, 'run.pcap');
    const clock = new VirtualClock(0);
    const [la, lb] = memoryLinkPair(1500);
    const tap = new PcapTap(la, new PcapWriter(file, () => Math.round(clock.now() * 1000)));
    const a = new Stack({ address: parseIpv4('198.18.0.1')!, clock, random: new SeededRandom(1), link: tap });
    const b = new Stack({ address: parseIpv4('198.18.0.2')!, clock, random: new SeededRandom(2), link: lb });
    tap.onReceive((batch) => a.inputBatch(batch));
    lb.onReceive((batch) => b.inputBatch(batch));
    const server = b.tcp.socket();
    server.bind(0, 9);
    server.listen(8);
    let child: Endpoint | null = null;
    server.onEvent = () => {
      child ??= server.accept();
    };
    const client = a.tcp.socket();
    let written = 0;
    client.onEvent = (ep: Endpoint) => {
      if (ep.state === 'ESTABLISHED' && written === 0) written = ep.write(pattern(20_000));
    };
    client.connect('198.18.0.2', 9);
    for (let i = 0; i < 1000; i++) {
      a.flush();
      b.flush();
      if (la.deliver() + lb.deliver() > 0) continue;
      if (child !== null && written > 0 && client.state === 'ESTABLISHED' && a.tcp.connections()[0]?.sendQ === 0) {
        (child as Endpoint).close(); // unread data: a RST (closeWithUnread)
        child = null;
        written = -1;
        continue;
      }
      const next = Math.min(a.nextDeadline(), b.nextDeadline(), clock.now() + 10);
      if (next === Infinity || clock.now() > 5000) break;
      clock.set(Math.max(clock.now() + 1, next));
      a.runTimers();
      b.runTimers();
    }
    tap.close();
    const model = new TraceModel();
    loadCapture(file, model);
    const conns = model.connections();
    t.is(conns.length, 1);
    const series = model.series(conns[0]!.id)!;
    t.is(series.samples.length, 0, 'no state from a capture');
    const bytes = series.bars.reduce((n, b) => n + (b.end - b.start), 0);
    t.is(bytes, 20_000 + 1, 'every data byte, and the SYN');
    const marks = labels(await renderSvg(series));
    t.is(marks.filter((m) => m.startsWith('new data')).length, series.bars.length);
    t.true(marks.some((m) => m.startsWith('RST by the receiver')), marks.filter((m) => m.startsWith('RST')).join(' | '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the command: --list, an SVG and a PNG written as new files; misuse is one line and exit 2; an existing file is never overwritten', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-plot-'));
  try {
    const o = lossThenAbort();
    const trace = join(dir, 'run.trace');
    writeFileSync(trace, `${JSON.stringify({ kind: 'trace-start', t: 0, version: 1, addr: '198.18.0.2', wall: new Date(0).toISOString() })}\n${o.s.trace.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const run = (...args: string[]) => spawnSync(CLI, ['plot', ...args], { encoding: 'utf8', timeout: 60_000 });
    const list = run(trace, '--list');
    t.is(list.status, 0, list.stderr);
    t.regex(list.stdout, /^80-40000 /m);
    const svg = join(dir, 'g.svg');
    const made = run(trace, '--conn', '80', '-o', svg);
    t.is(made.status, 0, made.stderr);
    t.true(readFileSync(svg, 'utf8').includes('retransmission (tlp)'));
    const png = join(dir, 'g.png');
    t.is(run(trace, '-o', png).status, 0);
    t.true(existsSync(png));
    const again = run(trace, '-o', svg);
    t.is(again.status, 2);
    t.regex(again.stderr, /-o/);
    for (const args of [[trace], [trace, '-o', join(dir, 'x.gif')], [trace, '-o', join(dir, 'y.svg'), '--dir', 'up'], [trace, '-o', join(dir, 'z.svg'), '--from', '2', '--to', '1']]) {
      const r = run(...args);
      t.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    t.is(run(join(dir, 'missing.trace'), '-o', join(dir, 'm.svg')).status, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
