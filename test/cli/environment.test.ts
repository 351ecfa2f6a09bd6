/**
 * An environment failure is one line naming the remedy, exit status 1, never
 * a stack trace: here the TUN addon missing from a copy of the sources (the
 * remedy names the directory to run make in, wherever the command is called
 * from).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsExists } from '../../tun/netns.ts';
import { ROOT, interopSkipReason, removeNetns, uniqueNetns } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip']);
const interop = skip === undefined ? test.serial : test.skip;

interop('without the TUN addon, up says where to run make, in one line, exit 1', (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'tcpstack-noaddon-'));
  t.teardown(() => rmSync(copy, { recursive: true, force: true }));
  for (const dir of ['cli', 'stack', 'package.json']) cpSync(join(ROOT, dir), join(copy, dir), { recursive: true });
  cpSync(join(ROOT, 'tun'), join(copy, 'tun'), { recursive: true, filter: (src) => !src.startsWith(join(ROOT, 'tun', 'build')) });
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  const netns = uniqueNetns('noaddon');
  t.teardown(() => removeNetns(netns));
  const r = spawnSync(join(copy, 'cli', 'tcpstack'), ['up', '--netns', netns], { encoding: 'utf8', timeout: 20_000, cwd: tmpdir() });
  t.is(r.status, 1, r.stderr);
  t.is(r.stderr, `tcpstack: the TUN addon is not built: run make in ${copy} (node-gyp build of tun/)\n`);
  t.false(netnsExists(netns), 'no namespace is left');
});
