/**
 * The kernel's own TCP clients against our stack's services, and our stack's
 * active open against a kernel server, through a real TUN device in a
 * throw-away network namespace per test.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, execInNetns } from '../../tun/netns.ts';
import { CLI, Interactive, echoShaScript, interopSkipReason, pipeThroughCli, parseCounters, removeNetns, startCli, uniqueNetns, type RunningStack } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'telnet', 'nc', 'curl', 'python3']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`interop TCP tests skipped: ${skip}`);

const ADDR = '198.18.0.2';
const PEER = '198.18.0.1';

type Teardown = { teardown: (fn: () => void | Promise<void>) => void };

async function stackInNetns(t: Teardown, extra: string[] = []): Promise<{ netns: string; stack: RunningStack }> {
  const netns = uniqueNetns('tcp');
  const stack = startCli(['up', '--netns', netns, ...extra]);
  t.teardown(async () => {
    await stack.stop('SIGTERM'); // a graceful exit removes its control socket; stop() falls back to SIGKILL
    removeNetns(netns);
  });
  await stack.ready();
  return { netns, stack };
}

/** Runs python3 code inside the namespace; resolves with its stdout (bounded in time). */
async function python(netns: string, code: string, timeoutMs = 120_000): Promise<string> {
  const r = await execInNetns(netns, ['python3', '-c', code], { timeoutMs });
  if (r.status !== 0) throw new Error(`python failed (${r.status}${r.timedOut ? ', timed out' : ''}): ${r.stderr}`);
  return r.stdout;
}

interop('telnet to echo (7) and chat (23): a real telnet client converses with the stack', async (t) => {
  const { netns } = await stackInNetns(t);
  const echo = new Interactive(netns, ['telnet', ADDR, '7']);
  t.teardown(() => void echo.child.kill('SIGKILL'));
  await echo.waitFor(/Escape character/);
  echo.send('hello from telnet\r\n');
  // The echo comes back once (telnet with a pipe for stdin does not echo locally).
  await echo.waitFor(/hello from telnet/);
  await echo.end();

  const alice = new Interactive(netns, ['telnet', ADDR, '23']);
  const bob = new Interactive(netns, ['telnet', ADDR, '23']);
  t.teardown(() => {
    alice.child.kill('SIGKILL');
    bob.child.kill('SIGKILL');
  });
  await alice.waitFor(/Escape character[\s\S]*\S/);
  await bob.waitFor(/Escape character[\s\S]*\S/);
  alice.send('hi bob\r\n');
  const seen = await bob.waitFor(/198\.18\.0\.1:\d+.*hi bob/);
  t.regex(seen, /hi bob/);
  await alice.end();
  await bob.end();
});

interop('nc to discard (9): 1 MiB sent, all of it counted by the stack', async (t) => {
  const { netns, stack } = await stackInNetns(t);
  const r = await execInNetns(netns, ['sh', '-c', `head -c 1048576 /dev/zero | nc -N -w 10 ${ADDR} 9`], { timeoutMs: 30_000 });
  t.is(r.status, 0, r.stderr);
  const counters = parseCounters((await stack.stop()).stdout);
  t.true((counters.get('IpExtInOctets') ?? 0) > 1048576);
  t.is(counters.get('TcpPassiveOpens'), 1);
});

interop('curl to http (80): the status page with live counters, over Node\'s http on our TCP', async (t) => {
  const { netns } = await stackInNetns(t);
  const page = await execInNetns(netns, ['curl', '-sS', '--max-time', '10', `http://${ADDR}/`], { timeoutMs: 20_000 });
  t.is(page.status, 0, page.stderr);
  t.regex(page.stdout, /TcpPassiveOpens/);
  t.regex(page.stdout, /<td>ESTAB<\/td>/, 'the state as ss prints it');
  const counters = await execInNetns(netns, ['curl', '-sS', '--max-time', '10', `http://${ADDR}/counters`], { timeoutMs: 20_000 });
  t.regex(counters.stdout, /^TcpPassiveOpens\s+\d+$/m);
});

interop('Python: 50 MiB each way through echo (7), SHA-256 matching', async (t) => {
  const { netns } = await stackInNetns(t);
  const out = await python(netns, echoShaScript(ADDR, 50));
  t.is(out.trim(), `${50 * 1024 * 1024} ${50 * 1024 * 1024} True`);
});

interop('200 concurrent connections to echo, each answered', async (t) => {
  const { netns, stack } = await stackInNetns(t);
  const out = await python(
    netns,
    `
import socket, selectors
socks = [socket.create_connection(('${ADDR}', 7), timeout=30) for _ in range(200)]
for i, s in enumerate(socks): s.sendall(b'conn %d\\n' % i)
ok = 0
for i, s in enumerate(socks):
    want = b'conn %d\\n' % i; got = b''
    while len(got) < len(want):
        d = s.recv(100)
        if not d: break
        got += d
    ok += got == want
for s in socks: s.close()
print(ok)
`,
  );
  t.is(out.trim(), '200');
  const counters = parseCounters((await stack.stop()).stdout);
  t.is(counters.get('TcpPassiveOpens'), 200);
});

interop('tcpstack connect: our active open to a kernel server, stdin up and the reply down', async (t) => {
  const netns = uniqueNetns('connect');
  createNetns(netns);
  t.teardown(() => removeNetns(netns));
  // The kernel server: reads to EOF, answers with the SHA-256 of what it got, closes.
  const server = new Interactive(netns, [
    'python3',
    '-c',
    `
import socket, hashlib, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', 5555)); l.listen(1)
print('listening', flush=True)
c, _ = l.accept(); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    h.update(d); n += len(d)
c.sendall(('%d %s\\n' % (n, h.hexdigest())).encode()); c.close()
print('served', n, flush=True)
`,
  ]);
  t.teardown(() => void server.child.kill('SIGKILL'));
  await server.waitFor(/listening/);

  const input = Buffer.alloc(300_000, 'tcpstack connect test ');
  const traceDir = mkdtempSync(join(tmpdir(), 'tcpstack-connect-'));
  t.teardown(() => rmSync(traceDir, { recursive: true, force: true }));
  const traceFile = join(traceDir, 'trace.jsonl');
  const { code, stdout, stderr } = await pipeThroughCli(t, ['connect', '--netns', netns, '--trace-file', traceFile, PEER, '5555'], input, 60_000);
  t.is(code, 0, stderr);
  const { createHash } = await import('node:crypto');
  t.is(stdout.trim(), `${input.length} ${createHash('sha256').update(input).digest('hex')}`);
  await server.waitFor(/served 300000/);
  // --trace-file recorded the connection from SYN to the end: its states, as the timeline prints them.
  const timeline = spawnSync(CLI, ['timeline', traceFile, '--kind', 'state'], { encoding: 'utf8', timeout: 20_000 });
  t.is(timeline.status, 0, timeline.stderr);
  const states = timeline.stdout.split('\n').flatMap((l) => /(\S+ → \S+)$/.exec(l)?.[1] ?? []);
  t.deepEqual(states, ['UNCONN → SYN-SENT', 'SYN-SENT → ESTAB', 'ESTAB → FIN-WAIT-1', 'FIN-WAIT-1 → FIN-WAIT-2', 'FIN-WAIT-2 → TIME-WAIT'], timeline.stdout);
});
