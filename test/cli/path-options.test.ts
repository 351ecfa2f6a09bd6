/**
 * The options that name a path tcpstack writes (--ctl, --pcap, --trace-file)
 * never harm what is there: a path that exists and is not ours to replace, a
 * missing directory or a path too long for a socket address is refused with
 * one line naming the option, exit 2, before any device, namespace or file is
 * made. Only a stale control socket (nobody answers on it) is taken over.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctlRequest } from '../../cli/ctl/client.ts';
import { netnsExists } from '../../tun/netns.ts';
import { CLI, interopSkipReason, removeNetns, startCli, uniqueNetns } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`path option tests that start up skipped: ${skip}`);

/** A fresh directory for one test, removed afterwards; `precious` holds a file tcpstack must not touch. */
function workDir(t: { teardown: (fn: () => void) => void }): { dir: string; precious: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-paths-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const precious = join(dir, 'precious.txt');
  writeFileSync(precious, 'keep me\n');
  return { dir, precious };
}

/** Runs the CLI to completion in `cwd`, bounded in time. */
function run(args: string[], cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(CLI, args, { encoding: 'utf8', timeout: 20_000, cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2, exactly `line` on stderr, nothing on stdout, no namespace made. */
function refused(t: import('ava').ExecutionContext, args: string[], line: string, cwd?: string): void {
  const netns = uniqueNetns('paths');
  t.teardown(() => removeNetns(netns));
  const r = run(['up', '--netns', netns, ...args], cwd);
  t.is(r.code, 2, r.stderr);
  t.is(r.stderr, `tcpstack: error: ${line}\n`);
  t.is(r.stdout, '', 'nothing started');
  t.false(netnsExists(netns), 'no namespace was created');
}

test('--ctl naming an existing file refuses it, exit 2, and the file is intact', (t) => {
  const { dir, precious } = workDir(t);
  refused(t, ['--ctl', 'precious.txt'], '--ctl precious.txt: exists and is a regular file, not a socket: it is left alone', dir);
  refused(t, ['--ctl', precious], `--ctl ${precious}: exists and is a regular file, not a socket: it is left alone`);
  refused(t, ['--ctl', dir], `--ctl ${dir}: exists and is a directory, not a socket: it is left alone`);
  t.is(readFileSync(precious, 'utf8'), 'keep me\n');
  t.deepEqual(readdirSync(dir), ['precious.txt']);
});

test('--ctl in a missing directory is refused, and the directory is not created', (t) => {
  const { dir } = workDir(t);
  const path = join(dir, 'no', 'such', 'x.sock');
  refused(t, ['--ctl', path], `--ctl ${path}: directory ${join(dir, 'no', 'such')} does not exist (it is not created)`);
  t.deepEqual(readdirSync(dir), ['precious.txt'], 'no directory was made');
});

test('--ctl longer than a unix socket address is refused with the limit, and no truncated socket is left', (t) => {
  const { dir } = workDir(t);
  const path = join(dir, `${'s'.repeat(120 - dir.length)}.sock`);
  refused(t, ['--ctl', path], `--ctl ${path}: ${Buffer.byteLength(path)} bytes long; a unix socket path holds at most 107`);
  t.deepEqual(readdirSync(dir), ['precious.txt']);
});

test('--ctl on a socket another program answers on is refused; the socket stays', async (t) => {
  const { dir } = workDir(t);
  const path = join(dir, 'busy.sock');
  const server: Server = createServer((c) => c.end());
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => server.close());
  // The CLI runs asynchronously so that this process can keep answering.
  const netns = uniqueNetns('paths');
  t.teardown(() => removeNetns(netns));
  const child = spawn(CLI, ['up', '--netns', netns, '--ctl', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  t.is(code, 2, stderr);
  t.is(stderr, `tcpstack: error: --ctl ${path}: a live socket: another tcpstack up (or another program) answers on it\n`);
  t.is(stdout, '');
  t.true(lstatSync(path).isSocket(), 'the live socket is still there');
  t.false(netnsExists(netns));
});

test('--pcap and --trace-file refuse a missing directory and a file that is not regular, naming the option', (t) => {
  const { dir, precious } = workDir(t);
  const missing = join(dir, 'no', 'x.pcap');
  refused(t, ['--pcap', missing], `--pcap ${missing}: directory ${join(dir, 'no')} does not exist (it is not created)`);
  refused(t, ['--trace-file', missing], `--trace-file ${missing}: directory ${join(dir, 'no')} does not exist (it is not created)`);
  refused(t, ['--pcap', dir], `--pcap ${dir}: a directory, not a regular file: tcpstack writes only regular files`);
  const fifo = join(dir, 'fifo');
  t.is(spawnSync('mkfifo', [fifo]).status, 0);
  refused(t, ['--trace-file', fifo], `--trace-file ${fifo}: a FIFO, not a regular file: tcpstack writes only regular files`);
  refused(t, ['--pcap', '/dev/null'], '--pcap /dev/null: a character device, not a regular file: tcpstack writes only regular files');
  const both = join(dir, 'both.out');
  refused(t, ['--pcap', both, '--trace-file', both], `--pcap and --trace-file name the same file ${both}`);
  refused(t, ['--pcap', ''], '--pcap needs a file name');
  t.is(readFileSync(precious, 'utf8'), 'keep me\n');
  t.deepEqual(readdirSync(dir).sort(), ['fifo', 'precious.txt']);
});

test('--pcap and --trace-file refuse an existing regular file: nothing is overwritten', (t) => {
  const { dir, precious } = workDir(t);
  refused(t, ['--pcap', precious], `--pcap ${precious}: exists; tcpstack does not overwrite files (remove it or name a new file)`);
  refused(t, ['--trace-file', 'precious.txt'], '--trace-file precious.txt: exists; tcpstack does not overwrite files (remove it or name a new file)', dir);
  t.is(readFileSync(precious, 'utf8'), 'keep me\n');
  t.deepEqual(readdirSync(dir), ['precious.txt']);
});

test('connect refuses --pcap in a missing directory before creating anything', (t) => {
  const { dir } = workDir(t);
  const netns = uniqueNetns('paths');
  t.teardown(() => removeNetns(netns));
  const missing = join(dir, 'no', 'x.pcap');
  const r = run(['connect', '--netns', netns, '--pcap', missing, '198.18.0.1', '7']);
  t.is(r.code, 2, r.stderr);
  t.is(r.stderr, `tcpstack: error: --pcap ${missing}: directory ${join(dir, 'no')} does not exist (it is not created)\n`);
  t.false(netnsExists(netns));
});

test('connect refuses --trace-file naming an existing file, or the file of --pcap, before creating anything', (t) => {
  const { dir, precious } = workDir(t);
  const netns = uniqueNetns('paths');
  t.teardown(() => removeNetns(netns));
  const existing = run(['connect', '--netns', netns, '--trace-file', precious, '198.18.0.1', '7']);
  t.is(existing.code, 2, existing.stderr);
  t.is(existing.stderr, `tcpstack: error: --trace-file ${precious}: exists; tcpstack does not overwrite files (remove it or name a new file)\n`);
  const both = join(dir, 'both.out');
  const same = run(['connect', '--netns', netns, '--pcap', both, '--trace-file', both, '198.18.0.1', '7']);
  t.is(same.code, 2, same.stderr);
  t.is(same.stderr, `tcpstack: error: --pcap and --trace-file name the same file ${both}\n`);
  t.false(netnsExists(netns));
  t.is(readFileSync(precious, 'utf8'), 'keep me\n');
  t.deepEqual(readdirSync(dir), ['precious.txt']);
});

test('ss and nstat --ctl refuse a path that cannot be a control socket, exit 2', (t) => {
  const { dir, precious } = workDir(t);
  const long = join(dir, `${'s'.repeat(120 - dir.length)}.sock`);
  const cases: Array<[string[], string]> = [
    [['ss', '--ctl', precious], `--ctl ${precious}: a regular file, not a socket (the ctl=PATH of up's ready line is)`],
    [['nstat', '--ctl', dir], `--ctl ${dir}: a directory, not a socket (the ctl=PATH of up's ready line is)`],
    [['ss', '--ctl', long], `--ctl ${long}: ${Buffer.byteLength(long)} bytes long; a unix socket path holds at most 107`],
  ];
  for (const [args, line] of cases) {
    const r = run(args);
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr, `tcpstack: error: ${line}\n`);
  }
  t.is(readFileSync(precious, 'utf8'), 'keep me\n');
});

interop('a second up on the same --ctl is refused while the first runs; a stale socket is taken over and removed at exit', async (t) => {
  const { dir } = workDir(t);
  const path = join(dir, 'up.sock');
  const first = uniqueNetns('paths');
  const second = uniqueNetns('paths');
  const a = startCli(['up', '--netns', first, '--services', 'none', '--ctl', path]);
  t.teardown(async () => {
    await a.stop('SIGKILL');
    removeNetns(first);
    removeNetns(second);
  });
  t.regex(await a.ready(), new RegExp(`ctl=${path}$`));

  const r = run(['up', '--netns', second, '--services', 'none', '--ctl', path]);
  t.is(r.code, 2, r.stderr);
  t.is(r.stderr, `tcpstack: error: --ctl ${path}: a live socket: another tcpstack up (or another program) answers on it\n`);
  t.false(netnsExists(second), 'the refused up created no namespace');

  // Killed without its cleanup: the socket file stays, and nobody answers on it.
  await a.stop('SIGKILL');
  t.true(lstatSync(path).isSocket());
  const b = startCli(['up', '--netns', second, '--services', 'none', '--ctl', path]);
  t.teardown(() => b.stop('SIGKILL').then(() => undefined));
  t.regex(await b.ready(), new RegExp(`ctl=${path}$`));
  // An answer on the socket it took over; it also means up's loop runs past the ready line (its signal handlers are set).
  const [info] = await ctlRequest(path, [{ cmd: 'info' }]);
  t.like(info, { ok: true, pid: b.pid });
  const exit = await b.stop('SIGTERM');
  t.is(exit.code, 0, `${exit.signal} ${exit.stderr}`);
  t.false(existsSync(path), 'the socket it took over is removed at exit');
  t.deepEqual(readdirSync(dir), ['precious.txt'], 'nothing is left behind');
});
