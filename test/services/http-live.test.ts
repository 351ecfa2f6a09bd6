/**
 * The live status page over the fake network: the trace is recorded only
 * while someone looks (an /events stream, or a page request lingering),
 * /events streams snapshots with rates and per-connection histories from
 * tcp-cc records, a client that does not read is skipped rather than
 * queued for, closed connections are forgotten, /conn/ID/graph.svg draws
 * what was recorded with plot's renderer, and the page shows the run.
 */
import test from 'ava';
import http from 'node:http';
import { newCounters } from '../../stack/counters.ts';
import { SYSCTL_DEFAULTS, setSysctl, type Sysctls } from '../../stack/sysctl.ts';
import type { TcpSegmentEvent, TcpStateSample, TraceSink } from '../../stack/trace.ts';
import { TcpSocket } from '../../tun/node/socket.ts';
import { TraceHub } from '../../tun/trace-hub.ts';
import { start as startHttp, type CountersView } from '../../cli/services/http.ts';
import { HISTORY_POINTS } from '../../cli/services/status/history.ts';
import { appliedSysctls, shellLine } from '../../cli/services/status/run-info.ts';
import type { Snapshot } from '../../cli/services/status/snapshot.ts';
import { sparkline } from '../../cli/services/status/tables.ts';
import { CLIENT, SERVER, fakeNet } from '../helpers/service-client.ts';
import type { FakeHost } from '../helpers/fake-endpoint.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function get(client: FakeHost, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: SERVER, port: 80, path, createConnection: () => TcpSocket.connect(client, 80, SERVER) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An /events client: the snapshots as they come; close() ends the request (and its socket). */
function events(client: FakeHost): { snapshots: Snapshot[]; raw: () => string; close: () => void } {
  const snapshots: Snapshot[] = [];
  let raw = '';
  const req = http.request({ host: SERVER, port: 80, path: '/events', createConnection: () => TcpSocket.connect(client, 80, SERVER) }, (res) => {
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (c: string) => {
      raw += c;
      buffer += c;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = message.split('\n').find((l) => l.startsWith('data: '));
        if (data !== undefined) snapshots.push(JSON.parse(data.slice(6)) as Snapshot);
      }
    });
  });
  req.on('error', () => {});
  req.end();
  return { snapshots, raw: () => raw, close: () => req.destroy() };
}

/** A stack-like view: counters, and a trace host whose sink the test calls as the stack would. */
function view(): CountersView & { traceHost: { trace: TraceSink | undefined } } {
  const counters = newCounters();
  counters.TcpInSegs = 100;
  return { counters, traceHost: { trace: undefined } };
}

function cc(conn: string, t: number, cwnd: number, srtt: number): TcpStateSample {
  return { kind: 'tcp-cc', t, conn, why: 'ack', ca: 'open', cwnd, ssthresh: 0x7fffffff, inflight: 1, mss: 1448, una: 1, nxt: 1, rcvNxt: 1, sndWnd: 65535, rcvWnd: 65535, srtt, rttvar: 1, rto: 201, sndQ: 0, rcvQ: 0 };
}

test('the trace is recorded only while an /events stream is open; the stack has no sink before and after', async (t) => {
  const { server, client } = fakeNet();
  const v = view();
  const service = startHttp(server, v, 80, { intervalMs: 20 });
  t.teardown(() => service.close());
  // /counters and /connections do not start a recording.
  await get(client, '/counters');
  await get(client, '/connections');
  t.is(v.traceHost.trace, undefined, 'nobody looks: no sink');
  t.is(TraceHub.of(v.traceHost).size, 0);

  const stream = events(client);
  await until('the first snapshot', () => stream.snapshots.length >= 1);
  t.is(TraceHub.of(v.traceHost).size, 1, 'one sink while the stream is open');
  t.is(typeof v.traceHost.trace, 'function');
  t.true(stream.snapshots[0]!.recording);
  t.regex(stream.raw(), /^retry: 2000\n\ndata: \{/);

  stream.close();
  await until('the stream to end on the server', () => service.events.size === 0);
  t.is(v.traceHost.trace, undefined, 'the sink is detached when the last stream closes');
  t.false(service.recorder.on);
});

test('snapshots: counters with rates between snapshots, connections with cwnd and srtt histories from tcp-cc', async (t) => {
  const { net, server, client } = fakeNet();
  const v = view();
  const service = startHttp(server, v, 80, { intervalMs: 30 });
  t.teardown(() => service.close());
  const idle = TcpSocket.connect(net.host(CLIENT), 80, SERVER);
  await new Promise((resolve) => idle.once('connect', resolve));
  t.teardown(() => idle.destroy());
  const id = `80-${idle.localPort}`;

  const stream = events(client);
  await until('the first snapshot', () => stream.snapshots.length >= 1);
  const first = stream.snapshots[0]!;
  t.is(first.interval, null);
  t.deepEqual(first.counters.find(([n]) => n === 'TcpInSegs'), ['TcpInSegs', 100, null], 'no rate before a previous snapshot');

  // The stack samples its state: cwnd grows 10 → 20 → 40, srtt 5 ms.
  const sink = v.traceHost.trace!;
  sink(cc(id, 1, 10, 5));
  sink(cc(id, 2, 20, 5));
  const before = stream.snapshots.length;
  await until('a tick after the samples', () => stream.snapshots.length >= before + 1);
  v.counters.TcpInSegs += 300;
  sink(cc(id, 3, 40, 4.5));
  const seq = stream.snapshots.at(-1)!.seq;
  await until('two more snapshots', () => stream.snapshots.length >= 2 && stream.snapshots.at(-1)!.seq >= seq + 2);

  const moved = stream.snapshots.find((s) => s.seq > seq && (s.counters.find(([n]) => n === 'TcpInSegs')?.[1] ?? 0) === 400)!;
  t.truthy(moved, 'the counter moved in a later snapshot');
  const [, value, rate] = moved.counters.find(([n]) => n === 'TcpInSegs')!;
  t.is(value, 400);
  t.true(rate !== null && Math.abs(rate - 300 / moved.interval!) < 0.01, `rate ${rate} = 300 / ${moved.interval} s`);
  t.true(stream.snapshots.map((s) => s.counters.find(([n]) => n === 'TcpInSegs')![1]).some((x) => x !== 400), 'two different values over time');

  const last = stream.snapshots.at(-1)!;
  const conn = last.connections.find((c) => c.id === id)!;
  t.truthy(conn, 'the connection by the id the trace gives it');
  t.is(conn.cells[0], 'ESTAB');
  // Samples 1 and 2 fell in one interval: its point is the latest (20).
  t.deepEqual(conn.cwnd.slice(0, 2), [20, 40]);
  t.true(conn.cwnd.slice(2).every((x) => x === 40), 'the value holds until the next sample');
  t.is(conn.srtt[1], 4.5);
  t.regex(conn.sparks[0], /^<svg class="spark"[^>]*aria-label="cwnd 40 \(\d+ points, 20 to 40\)"><polyline /);
  stream.close();
});

test('a history keeps its last HISTORY_POINTS points', async (t) => {
  const { server, client } = fakeNet();
  const v = view();
  const service = startHttp(server, v, 80, { intervalMs: 60_000 });
  t.teardown(() => service.close());
  const stream = events(client);
  await until('the first snapshot', () => stream.snapshots.length >= 1);
  for (let i = 0; i < HISTORY_POINTS + 25; i++) {
    v.traceHost.trace!(cc('7-4000', i, i, 1));
    service.recorder.tick();
  }
  const h = service.recorder.histories.get('7-4000')!;
  t.is(h.cwnd.length, HISTORY_POINTS);
  t.is(h.cwnd[0], 25);
  t.is(h.cwnd.at(-1), HISTORY_POINTS + 24);
  stream.close();
});

test('a client that does not read: snapshots are skipped, not queued; a stalled stream is ended and the sink detached', async (t) => {
  const { server, client } = fakeNet(16 * 1024);
  // Big snapshots: 300 extra counter rows, some 10 KB each.
  const v = { ...view(), extraCounters: () => Array.from({ length: 300 }, (_, i): [string, number] => [`PaddingCounterNumber${i}`, i + 1]) };
  const service = startHttp(server, v, 80, { intervalMs: 5, stallMs: 1500 });
  t.teardown(() => service.close());
  const socket = TcpSocket.connect(client, 80, SERVER);
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET /events HTTP/1.1\r\nHost: tcpstack\r\n\r\n');
  socket.pause(); // never reads: the fake connection's 16 KiB fill, then the server's stream
  // Until 20 snapshots were skipped, or (were they queued) 200 KB wait.
  await until('snapshots skipped', () => service.events.skipped >= 20 || service.events.bufferedBytes() > 200_000);
  const ticks = service.events.skipped;
  // Each tick's snapshot is some 10 KB: queued, they would be hundreds of KB by now.
  const waiting = service.events.bufferedBytes();
  t.true(waiting > 0, 'the stream has bytes waiting: the client is not reading');
  t.true(waiting <= 16 * 1024 + 12 * 1024, `bytes waiting for the stream after ${ticks} skipped snapshots: ${waiting} (the socket's high-water mark and one snapshot at most)`);
  await until('the stalled stream ended', () => service.events.size === 0, 5_000);
  t.is(v.traceHost.trace, undefined, 'nobody looks any more: no sink');
});

test('a page request keeps the recording on for lingerMs; closed connections are forgotten after forgetMs', async (t) => {
  const { net, server, client } = fakeNet();
  const v = view();
  const service = startHttp(server, v, 80, { intervalMs: 10, lingerMs: 300, forgetMs: 100 });
  t.teardown(() => service.close());
  const page = await get(client, '/');
  t.is(page.status, 200);
  t.true(service.recorder.on, 'recording after a page request');
  const other = TcpSocket.connect(net.host(CLIENT), 80, SERVER);
  await new Promise((resolve) => other.once('connect', resolve));
  const id = `80-${other.localPort}`;
  v.traceHost.trace!(cc(id, 1, 10, 1));
  await until('a point', () => (service.recorder.histories.get(id)?.cwnd.length ?? 0) >= 1);
  other.destroy();
  await until('the closed connection forgotten', () => service.recorder.histories.get(id) === undefined, 2_000);
  await until('the recording to stop after the linger', () => !service.recorder.on, 2_000);
  t.is(v.traceHost.trace, undefined);
});

function segment(conn: string, t: number, dir: 'in' | 'out', flags: number, seq: number, ack: number, len: number, options = ''): TcpSegmentEvent {
  const [localPort, remotePort] = conn.split('-').map(Number) as [number, number];
  return { kind: 'tcp-seg', t, dir, conn, local: 0xc6120002, remote: 0xc6120001, localPort, remotePort, flags, seq, ack, len, win: 502, options } as TcpSegmentEvent;
}

test('/conn/ID/graph.svg draws the recorded segments (plot renderer); /conn/ID is the page; 404 before any segment', async (t) => {
  const { server, client } = fakeNet();
  const v = view();
  const service = startHttp(server, v, 80, { intervalMs: 1000 });
  t.teardown(() => service.close());
  t.is((await get(client, '/conn/7-5000/graph.svg')).status, 404, 'nothing recorded yet');
  t.is((await get(client, '/conn/7-5000/graph.svg?dir=up')).status, 400);
  const sink = v.traceHost.trace!; // the request above started a recording
  sink(segment('7-5000', 10, 'in', 0x02, 999, 0, 0, 'mss 1460,sackOK,TS,nop,wscale 7'));
  sink(segment('7-5000', 11, 'out', 0x12, 5000, 1000, 0, 'mss 1460,sackOK,TS,nop,wscale 10'));
  sink(segment('7-5000', 12, 'in', 0x10, 1000, 5001, 0));
  for (let i = 0; i < 3; i++) sink(segment('7-5000', 20 + i, 'out', 0x18, 5001 + i * 1448, 1000, 1448));
  sink(segment('7-5000', 30, 'in', 0x10, 1000, 5001 + 3 * 1448, 0));
  const svg = await get(client, '/conn/7-5000/graph.svg');
  t.is(svg.status, 200);
  t.is(svg.headers['content-type'], 'image/svg+xml');
  t.is(svg.headers['x-graph-dir'], 'out', 'our data: the direction that carried it');
  t.is(svg.headers['x-graph-version'], '7');
  const bars = [...svg.body.matchAll(/aria-label="new data (\d+):(\d+) at/g)].map((m) => `${m[1]}:${m[2]}`);
  t.deepEqual(bars, ['0:1', '1:1449', '1449:2897', '2897:4345'], 'the SYN and the three data segments, relative to our ISN');
  const again = await get(client, '/conn/7-5000/graph.svg');
  t.is(again.body, svg.body, 'nothing new: the same drawing');
  const page = await get(client, '/conn/7-5000');
  t.regex(page.body, /<h1>Connection 7-5000: our data<\/h1>/);
  t.true(page.body.includes('aria-label="new data 1:1449'), 'the page has the graph inline');
  t.regex(page.body, /<a href="\/conn\/7-5000\?dir=in">the peer's data<\/a>/);
});

test('the page shows how the run was started; the sysctls that differ from the defaults; command lines quoted for a shell', async (t) => {
  const sysctl: Sysctls = structuredClone(SYSCTL_DEFAULTS) as Sysctls;
  setSysctl(sysctl, 'net.ipv4.tcp_sack', '0');
  setSysctl(sysctl, 'net.ipv4.tcp_rmem', '4096 65536 1000000');
  t.deepEqual(appliedSysctls(sysctl), [
    ['net.ipv4.tcp_sack', '0'],
    ['net.ipv4.tcp_rmem', '4096 65536 1000000'],
  ]);
  t.deepEqual(appliedSysctls(SYSCTL_DEFAULTS), []);
  t.is(shellLine(['tcpstack', 'up', '--loss', '1%', '--sysctl', 'net.ipv4.tcp_rmem=4096 65536 1000000', "it's"]), `tcpstack up --loss 1% --sysctl 'net.ipv4.tcp_rmem=4096 65536 1000000' 'it'\\''s'`);

  const { server, client } = fakeNet();
  const v: CountersView = { ...view(), run: { command: 'tcpstack up --loss 1% --seed 7', fields: ['tun=tcp0', 'mtu=1500'], sysctls: [['net.ipv4.tcp_sack', '0']], impairments: 'both: loss 1%; seed 7', seed: 7 } };
  const service = startHttp(server, v, 80);
  t.teardown(() => service.close());
  const page = (await get(client, '/')).body;
  t.regex(page, /<dt>command<\/dt><dd>tcpstack up --loss 1% --seed 7<\/dd>/);
  t.regex(page, /<dt>run<\/dt><dd>tun=tcp0 mtu=1500<\/dd>/);
  t.regex(page, /<dt>sysctls<\/dt><dd>net\.ipv4\.tcp_sack=0<\/dd>/);
  t.regex(page, /<dt>impairments<\/dt><dd>both: loss 1%; seed 7<\/dd>/);
  t.regex(page, /<dt>seed<\/dt><dd>7<\/dd>/);
  t.regex(page, /<noscript><meta http-equiv="refresh" content="2"><\/noscript>/, 'without JavaScript the page reloads itself');
  t.regex(page, /<script src="\/live\.js"><\/script>/);
  const js = await get(client, '/live.js');
  t.regex(String(js.headers['content-type']), /^text\/javascript/);
  t.regex(js.body, /new EventSource\('\/events'\)/);
});

test('sparkline: one polyline scaled from the least to the greatest value, labelled with the last', (t) => {
  t.is(sparkline([], 'cwnd'), '');
  const svg = sparkline([10, 20, 40], 'cwnd', 90, 18);
  t.regex(svg, /aria-label="cwnd 40 \(3 points, 10 to 40\)"/);
  t.regex(svg, /points="1\.0,17\.0 45\.0,11\.7 89\.0,1\.0"/);
});
