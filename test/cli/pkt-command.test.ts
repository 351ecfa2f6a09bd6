/**
 * `tcpstack pkt`'s exit status: 0 when every script passed, 1 when one
 * failed (a mismatch), 2 when one does not parse (nothing of it ran) and on
 * misuse; `pkt --help` says so. The scripts live in a temporary directory
 * removed after each test.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, runCli } from '../helpers/interop.ts';

const GOOD = '0 < S 0:0(0) win 1000\n+0 > R. 0:0(0) ack 1 win 0\n';
const MISMATCH = '0 < S 0:0(0) win 1000\n+0 > R. 1:1(0) ack 1 win 0\n';
/** "wn" for "win": the parser refuses it (packetdrill: the window must be given for an inbound packet). */
const SYNTAX = '0 < S 0:0(0) wn 1000\n';

function scripts(t: { teardown: (fn: () => void) => void }): { good: string; mismatch: string; syntax: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-pkt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  return { good: file('good.pkt', GOOD), mismatch: file('mismatch.pkt', MISMATCH), syntax: file('syntax.pkt', SYNTAX) };
}

test('a script that does not parse: INVALID, exit 2, even beside a mismatch; a mismatch alone: FAIL, exit 1', (t) => {
  const { good, mismatch, syntax } = scripts(t);
  const alone = runCli(['pkt', syntax]);
  t.is(alone.code, 2, alone.stdout + alone.stderr);
  t.is(alone.stdout, `INVALID ${syntax} (the script does not parse; nothing ran)\n  ${syntax}:1: semantic error: window must be specified for inbound packets\n`);
  const all = runCli(['pkt', good, mismatch, syntax]);
  t.is(all.code, 2);
  t.regex(all.stdout, /\n3 scripts: 1 passed, 1 failed, 1 invalid\n$/);
  const failed = runCli(['pkt', good, mismatch]);
  t.is(failed.code, 1, failed.stderr);
  t.regex(failed.stdout, new RegExp(`FAIL ${mismatch}\\n`));
  t.regex(failed.stdout, /\n2 scripts: 1 passed, 1 failed\n$/);
  t.is(runCli(['pkt', good]).code, 0);
});

test('pkt --help documents the three exit statuses', (t) => {
  const help = runCli(['pkt', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /Exit status: 0 if every script run passed; 1 if any failed \(a mismatch or\nan error while it ran: FAIL\); 2 if any does not parse \(a syntax or semantic\nerror: INVALID, nothing of it ran\) and on misuse\./);
});

test('a reader that goes away (`| head -1`): the report stops quietly with status 141, as on SIGPIPE, no stack trace', async (t) => {
  const { good } = scripts(t);
  // Enough scripts that the report outlives its reader.
  const child = spawn(CLI, ['pkt', ...Array.from({ length: 400 }, () => good)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.regex(first, /^PASS /);
  t.is(code, 141);
  t.is(stderr, '');
});
