/**
 * The benchmark's lwIP peer (test/bench/c/lwip-echo.c: Debian's lwIP 2.1.3,
 * raw API, on a TUN device) answers the C client's three measures correctly
 * inside a throw-away network namespace, and refuses a TUN device that does
 * not exist rather than creating one. Timings are printed, never asserted.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createNetns } from '../../tun/netns.ts';
import { BENCH_C_DIR as DIR, buildBenchPrograms, startBenchServer } from '../helpers/bench-c.ts';
import { interopSkipReason, removeNetns, uniqueNetns } from '../helpers/interop.ts';

const CLIENT = join(DIR, 'build', 'echo-client');
const SERVER = join(DIR, 'build', 'lwip-echo');
const skip =
  interopSkipReason(['ip', 'gcc', 'make', 'flock']) ?? (existsSync('/usr/include/lwip/lwipopts.h') ? undefined : 'liblwip-dev is not installed (make test installs it as root)');
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`lwIP peer tests skipped: ${skip}`);

test.before(() => {
  if (skip === undefined) buildBenchPrograms(['build/echo-client', 'build/lwip-echo']);
});

/** A namespace with TUN lw0 (10.77.0.1/24 on the kernel's side), removed by teardown. */
function tunNamespace(t: { teardown: (fn: () => void) => void }): string {
  const netns = uniqueNetns('lwip');
  createNetns(netns);
  t.teardown(() => removeNetns(netns));
  for (const args of [
    ['netns', 'exec', netns, 'ip', 'tuntap', 'add', 'dev', 'lw0', 'mode', 'tun'],
    ['-n', netns, 'addr', 'add', '10.77.0.1/24', 'dev', 'lw0'],
    ['-n', netns, 'link', 'set', 'lw0', 'up'],
    ['-n', netns, 'link', 'set', 'lo', 'up'],
  ]) {
    const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }
  return netns;
}

function client(netns: string, args: string[]): Record<string, number | string> {
  const r = spawnSync('ip', ['netns', 'exec', netns, CLIENT, '--max-seconds', '60', ...args], { encoding: 'utf8', timeout: 90_000 });
  if (r.status !== 0) throw new Error(`echo-client ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number | string>;
}

interop('lwIP over TUN: 32 MiB echoed byte for byte, 1-byte round trips, 500 connections', async (t) => {
  const netns = tunNamespace(t);
  const running = await startBenchServer(t, netns, [SERVER, '--tun', 'lw0', '--addr', '10.77.0.2', '--port', '7']);

  const echo = client(netns, ['echo', '10.77.0.2', '7', String(32 << 20)]);
  t.deepEqual([echo.mode, echo.bytes], ['echo', 32 << 20]);
  const rtt = client(netns, ['rtt', '10.77.0.2', '7', '1000']);
  t.deepEqual([rtt.mode, rtt.count], ['rtt', 1000]);
  const conn = client(netns, ['conn', '10.77.0.2', '7', '500']);
  t.deepEqual([conn.mode, conn.count], ['conn', 500]);
  t.log(`lwIP: echo ${echo.mibps} MiB/s, RTT p50 ${rtt.p50_us} µs p99 ${rtt.p99_us} µs, ${conn.per_second} connections/s (2 CPUs, unpinned)`);

  t.is(await running.stop('SIGTERM'), 0, `SIGTERM ends it with status 0: ${running.output()}`);
});

interop('lwip-echo refuses a TUN device that does not exist, creating none', (t) => {
  const netns = tunNamespace(t);
  const r = spawnSync('ip', ['netns', 'exec', netns, SERVER, '--tun', 'nosuch0', '--addr', '10.77.0.2', '--port', '7'], { encoding: 'utf8', timeout: 10_000 });
  t.is(r.status, 1);
  t.is(r.stderr, 'lwip-echo: no TUN device nosuch0\n');
  const links = spawnSync('ip', ['-n', netns, '-br', 'link'], { encoding: 'utf8', timeout: 10_000 }).stdout;
  t.false(links.includes('nosuch0'), links);
});
