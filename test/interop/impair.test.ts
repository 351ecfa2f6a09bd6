/**
 * Impairments on a real TUN device with the Linux kernel as the peer, each
 * test in its own network namespace: the same faults as the virtual-time
 * integrity tests at 5 MiB each way through echo, with the corrupted packets
 * caught by both checksums (ours and the kernel's); a rule file; and
 * `tcpstack connect` with impairments.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, execInNetns } from '../../tun/netns.ts';
import { echoShaScript, pipeThroughCli, interopSkipReason, parseCounters, removeNetns, startCli, uniqueNetns, type RunningStack } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'python3', 'curl']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`interop impairment tests skipped: ${skip}`);

const ADDR = '198.18.0.2';
const ADDR6 = '2001:2::2';
const PEER = '198.18.0.1';
const FAULTS = ['--loss', '5%', '--reorder', '2%', '--dup', '1%', '--corrupt', '0.5%'];
const EXAMPLES = new URL('../../tun/impair/examples/', import.meta.url).pathname;

type Teardown = { teardown: (fn: () => void | Promise<void>) => void };

/**
 * A namespace made by the test (so it outlives `up`, and the kernel's
 * counters can be read after the stack stopped), and `up` in it.
 */
async function stackInNetns(t: Teardown, extra: string[]): Promise<{ netns: string; stack: RunningStack; ready: string }> {
  const netns = uniqueNetns('impair');
  createNetns(netns);
  t.teardown(() => removeNetns(netns));
  const stack = startCli(['up', '--netns', netns, ...extra]);
  t.teardown(async () => {
    await stack.stop('SIGTERM'); // a graceful exit removes its control socket; stop() falls back to SIGKILL
  });
  const ready = await stack.ready();
  return { netns, stack, ready };
}

async function python(netns: string, code: string, timeoutMs = 120_000): Promise<string> {
  const r = await execInNetns(netns, ['python3', '-c', code], { timeoutMs });
  if (r.status !== 0) throw new Error(`python failed (${r.status}${r.timedOut ? ', timed out' : ''}): ${r.stderr}`);
  return r.stdout;
}

/** The kernel's Tcp counters in the namespace (/proc/net/snmp is per namespace). */
async function kernelTcp(netns: string): Promise<Map<string, number>> {
  const r = await execInNetns(netns, ['cat', '/proc/net/snmp']);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return new Map(names.map((n, i) => [n, values[i]!]));
}

/**
 * Stops `up` and reads what became of the packets the impairments
 * corrupted: how many there were (its exit report), and how many our TCP
 * checksum and the kernel's caught (TcpInCsumErrors, Tcp InCsumErrors).
 */
async function stopAndCountCorruption(
  t: ExecutionContext,
  stack: RunningStack,
  netns: string,
): Promise<{ ours: Map<string, number>; corrupted: number; caughtByUs: number; caughtByKernel: number }> {
  const exited = await stack.stop('SIGTERM');
  t.is(exited.code, 0, exited.stderr);
  const ours = parseCounters(exited.stdout);
  const kernel = await kernelTcp(netns);
  return { ours, corrupted: ours.get('ImpairCorrupted') ?? 0, caughtByUs: ours.get('TcpInCsumErrors') ?? 0, caughtByKernel: kernel.get('InCsumErrors') ?? 0 };
}

const ECHO_5MIB = echoShaScript(ADDR, 5);

interop('5 MiB each way through echo with 5% loss, 2% reorder, 1% dup, 0.5% corruption: SHA-256 matching, corruption caught by both checksums', async (t) => {
  const { netns, stack, ready } = await stackInNetns(t, [...FAULTS, '--seed', '7']);
  t.regex(ready, / seed=7( |$)/);
  t.regex(stack.stdout, /^impairments: both: loss 5%, dup 1%, reorder 2% hold<=10ms, corrupt 0\.5%; seed 7 \(--seed 7 repeats them\)$/m);
  const started = Date.now();
  const out = await python(netns, ECHO_5MIB);
  const elapsed = Date.now() - started;
  t.is(out.trim(), `${5 * 1024 * 1024} ${5 * 1024 * 1024} True`);
  // The status page shows the impairment counters next to the stack's.
  const page = await execInNetns(netns, ['curl', '-sS', '--max-time', '20', '--retry', '3', `http://${ADDR}/counters`], { timeoutMs: 90_000 });
  t.regex(page.stdout, /^ImpairCorrupted\s+\d+$/m);

  const { ours, corrupted, caughtByUs, caughtByKernel } = await stopAndCountCorruption(t, stack, netns);
  t.log(`5 MiB each way in ${elapsed} ms; corrupted ${corrupted}: caught by our stack ${caughtByUs}, by the kernel ${caughtByKernel}; lost ${ours.get('ImpairLossDrops')}, reordered ${ours.get('ImpairReordered')}, duplicated ${ours.get('ImpairDuplicated')}`);
  t.true(caughtByUs > 0, 'corrupted packets reached our stack and its checksum caught them');
  t.true(caughtByKernel > 0, 'corrupted packets reached the kernel and its checksum caught them');
  t.is(caughtByUs + caughtByKernel, corrupted, 'every corrupted packet was caught by one of the two');
  t.is(ours.get('IpInHdrErrors') ?? 0, 0);
  for (const name of ['ImpairLossDrops', 'ImpairReordered', 'ImpairDuplicated']) t.true((ours.get(name) ?? 0) > 0, name);
});

interop('over IPv6: 5 MiB each way through echo with the same faults and a rule matching an IPv6 prefix; corruption caught by both checksums', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-impair6-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rules = join(dir, 'v6.json');
  // The third data segment from the kernel to the echo service over IPv6: what an IPv4 connection sends never matches.
  writeFileSync(rules, JSON.stringify({ rules: [{ match: { version: 6, src: '2001:2::/64', dstPort: 7, length: { min: 1 }, nth: 3 }, action: 'drop' }] }));
  const { netns, stack } = await stackInNetns(t, [...FAULTS, '--seed', '11', '--faults', rules]);
  t.is((await python(netns, echoShaScript('198.18.0.2', 1))).trim(), `${1024 * 1024} ${1024 * 1024} True`);
  const page = await execInNetns(netns, ['curl', '-sS', '--max-time', '20', '--retry', '3', `http://${ADDR}/counters`], { timeoutMs: 90_000 });
  t.regex(page.stdout, /^ImpairPackets\s+\d+$/m);
  t.notRegex(page.stdout, /^ImpairRule1Hits/m, 'IPv4 never matches the rule');
  t.is((await python(netns, echoShaScript(ADDR6, 5))).trim(), `${5 * 1024 * 1024} ${5 * 1024 * 1024} True`);
  const { ours, corrupted, caughtByUs, caughtByKernel } = await stopAndCountCorruption(t, stack, netns);
  t.log(`corrupted ${corrupted}: caught by our stack ${caughtByUs}, by the kernel ${caughtByKernel}`);
  t.true(caughtByUs > 0 && caughtByKernel > 0, 'both ends caught some');
  t.is(caughtByUs + caughtByKernel, corrupted, 'every corrupted packet was caught by one of the two');
  t.is(ours.get('Ip6InHdrErrors') ?? 0, 0);
  t.is(ours.get('ImpairRule1Hits'), 1);
  t.true((ours.get('Ip6InReceives') ?? 0) > 3000);
});

interop('--faults: the first SYN-ACK dropped, the kernel connects when it retransmits its SYN after 1 s', async (t) => {
  const { netns, stack } = await stackInNetns(t, ['--faults', `${EXAMPLES}drop-first-synack.json`, '--services', 'echo']);
  t.regex(stack.stdout, /rules: 1 from .*drop-first-synack\.json; seed \d+/);
  const out = await python(
    netns,
    `
import socket, time
t0 = time.monotonic()
s = socket.create_connection(('${ADDR}', 7), timeout=10)
t1 = time.monotonic()
s.sendall(b'ping'); got = s.recv(10); s.close()
t2 = time.monotonic()
s = socket.create_connection(('${ADDR}', 7), timeout=10)
t3 = time.monotonic(); s.close()
print(round((t1 - t0) * 1000), got.decode(), round((t3 - t2) * 1000))
`,
  );
  const [first, echoed, second] = out.trim().split(' ');
  t.true(Number(first) >= 900 && Number(first) < 3000, `first connect took ${first} ms`);
  t.is(echoed, 'ping');
  t.true(Number(second) < 500, `the second connect is not touched (${second} ms)`);
  const counters = parseCounters((await stack.stop()).stdout);
  t.is(counters.get('ImpairRule1Hits'), 1);
  t.is(counters.get('ImpairRuleDrops'), 1);
});

interop('tcpstack connect with impairments: 1 MiB to a kernel server intact, the seed and (--counters) the counters on stderr', async (t) => {
  const netns = uniqueNetns('impair-connect');
  createNetns(netns);
  t.teardown(() => removeNetns(netns));
  const server = spawn(
    'ip',
    [
      'netns',
      'exec',
      netns,
      'python3',
      '-c',
      `
import socket, hashlib
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', 5555)); l.listen(1)
print('listening', flush=True)
c, _ = l.accept(); c.settimeout(60); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    h.update(d); n += len(d)
c.sendall(('%d %s\\n' % (n, h.hexdigest())).encode()); c.close()
`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => void server.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 10_000);
    server.stdout.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const input = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < input.length; i++) input[i] = (i * 31 + (i >> 10)) & 255;
  const { code, stdout, stderr } = await pipeThroughCli(t, ['connect', '-v', '--counters', '--netns', netns, ...FAULTS, '--seed', '99', PEER, '5555'], input, 90_000);
  t.is(code, 0, stderr);
  t.is(stdout.trim(), `${input.length} ${createHash('sha256').update(input).digest('hex')}`);
  t.regex(stderr, /^tcpstack: impairments: both: loss 5%, dup 1%, reorder 2% hold<=10ms, corrupt 0\.5%; seed 99 \(--seed 99 repeats them\)$/m);
  t.regex(stderr, /^tcpstack: impairments: ImpairPackets \d+, .*ImpairLossDrops \d+/m);
  // --counters: the stack's counters in nstat's layout, then the impairments', on stderr.
  t.regex(stderr, /^counters that moved:\nIpInReceives +\d+$/m);
  t.regex(stderr, /^TcpActiveOpens +1$/m);
  t.regex(stderr, /^TcpRetransSegs +[1-9]\d*$/m, '5% loss both ways: the sender retransmitted');
  t.regex(stderr, /^impairments \(seed 99\):\nImpairPackets +\d+$/m);
});
