/**
 * The benchmark's kernel echo server (test/bench/c/kernel-echo.c: epoll on
 * the kernel's sockets, the ceiling beside our stack and lwIP) answers the C
 * client's three measures across a veth pair between two throw-away
 * namespaces, and loses nothing when the client stops reading its echo for a
 * while (backpressure). Timings are printed, never asserted.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createNetns } from '../../tun/netns.ts';
import { BENCH_C_DIR, buildBenchPrograms, startBenchServer } from '../helpers/bench-c.ts';
import { interopSkipReason, removeNetns, uniqueNetns } from '../helpers/interop.ts';

const CLIENT = join(BENCH_C_DIR, 'build', 'echo-client');
const SERVER = join(BENCH_C_DIR, 'build', 'kernel-echo');
const skip = interopSkipReason(['ip', 'gcc', 'make', 'flock', 'python3']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`kernel echo server tests skipped: ${skip}`);

test.before(() => {
  if (skip === undefined) buildBenchPrograms(['build/echo-client', 'build/kernel-echo']);
});

/** Client and server namespaces joined by a veth pair (10.98.0.1 → 10.98.0.2), removed by teardown. */
function vethPair(t: { teardown: (fn: () => void) => void }): { client: string; server: string } {
  const client = uniqueNetns('kec');
  const server = uniqueNetns('kes');
  createNetns(client);
  t.teardown(() => removeNetns(client));
  createNetns(server);
  t.teardown(() => removeNetns(server));
  for (const args of [
    ['-n', client, 'link', 'add', 'ke0', 'type', 'veth', 'peer', 'name', 'ke1', 'netns', server],
    ['-n', client, 'addr', 'add', '10.98.0.1/24', 'dev', 'ke0'],
    ['-n', server, 'addr', 'add', '10.98.0.2/24', 'dev', 'ke1'],
    ['-n', client, 'link', 'set', 'ke0', 'up'],
    ['-n', server, 'link', 'set', 'ke1', 'up'],
  ]) {
    const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }
  return { client, server };
}

function run(netns: string, argv: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', netns, ...argv], { encoding: 'utf8', timeout: 90_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Sends 32 MiB without reading for half a second: more than the kernel's
 * buffers on both sides hold, so the send stops short, which happens only
 * once the server has stopped reading (its echo blocked). Then reads the
 * echo back whole while sending the rest.
 */
const BACKPRESSURE = `
import socket, threading, time
data = bytes(i % 251 for i in range(32 << 20))
s = socket.create_connection(('10.98.0.2', 7), timeout=30)
s.setblocking(False)
sent = 0
deadline = time.time() + 0.5
while time.time() < deadline and sent < len(data):
    try: sent += s.send(data[sent:sent + 65536])
    except BlockingIOError: time.sleep(0.01)
s.setblocking(True); s.settimeout(30)
got = bytearray()
def read():
    while True:
        d = s.recv(1 << 20)
        if not d: break
        got.extend(d)
reader = threading.Thread(target=read); reader.start()
s.sendall(data[sent:]); s.shutdown(socket.SHUT_WR)
reader.join(30)
print('stalled after', sent, 'of', len(data), 'echoed', len(got), 'equal', bytes(got) == data)
`;

interop('kernel-echo over veth: 32 MiB echoed byte for byte, 1-byte round trips, 500 connections, and a client that stops reading', async (t) => {
  const { client, server } = vethPair(t);
  const running = await startBenchServer(t, server, [SERVER, '--addr', '10.98.0.2', '--port', '7']);

  const figures: Array<Record<string, number | string>> = [];
  for (const args of [
    ['echo', '10.98.0.2', '7', String(32 << 20)],
    ['rtt', '10.98.0.2', '7', '1000'],
    ['conn', '10.98.0.2', '7', '500'],
  ]) {
    const r = run(client, [CLIENT, '--max-seconds', '60', ...args]);
    t.is(r.code, 0, r.stderr);
    figures.push(JSON.parse(r.stdout) as Record<string, number | string>);
  }
  const [echo, rtt, conn] = figures as [Record<string, number | string>, Record<string, number | string>, Record<string, number | string>];
  t.deepEqual([echo.mode, echo.bytes, rtt.mode, rtt.count, conn.mode, conn.count], ['echo', 32 << 20, 'rtt', 1000, 'conn', 500]);
  t.log(`kernel over veth: echo ${echo.mibps} MiB/s, RTT p50 ${rtt.p50_us} µs p99 ${rtt.p99_us} µs, ${conn.per_second} connections/s (2 CPUs, unpinned)`);

  const stalled = run(client, ['python3', '-c', BACKPRESSURE]);
  t.is(stalled.code, 0, stalled.stderr);
  const m = /^stalled after (\d+) of 33554432 echoed 33554432 equal True\n$/.exec(stalled.stdout);
  t.truthy(m, stalled.stdout);
  t.true(Number(m?.[1]) < 32 << 20, 'the send stopped short: the server had stopped reading');

  t.is(await running.stop('SIGTERM'), 0, `SIGTERM ends it with status 0: ${running.output()}`);
});

interop('kernel-echo misuse: one usage line, exit 2', (t) => {
  for (const args of [[], ['--addr', '10.98.0.2'], ['--addr', 'x', '--port', '7'], ['--addr', '10.98.0.2', '--port', '0'], ['--port', '7', '--bogus', '1']]) {
    const r = spawnSync(SERVER, args, { encoding: 'utf8', timeout: 10_000 });
    t.is(r.status, 2, args.join(' '));
    t.is(r.stderr, 'usage: kernel-echo --addr A.B.C.D --port N\n');
  }
});
