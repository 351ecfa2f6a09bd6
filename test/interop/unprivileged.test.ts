/**
 * `up` and `connect` run by an unprivileged user (uid/gid 65534 through
 * setpriv, no capabilities): every way they can be refused (creating a
 * namespace, entering one that exists, creating or attaching a TUN device)
 * ends as one line naming the remedy and exit status 1, never a stack trace,
 * and leaves no namespace behind. Needs root to drop to that user.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createNetns, netnsExists } from '../../tun/netns.ts';
import { CLI, interopSkipReason, removeNetns, uniqueNetns } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'setpriv']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`unprivileged tests skipped: ${skip}`);

function runAsNobody(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', CLI, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interop('not root: every refusal of up and connect is one line naming the remedy, exit 1, and no namespace is left', (t) => {
  const missing = uniqueNetns('nobody');
  const existing = uniqueNetns('nobody');
  createNetns(existing);
  try {
    const cases: string[][] = [
      ['up', '--netns', missing],
      ['up', '--attach', '--netns', missing],
      ['up', '--netns', existing],
      ['up', '--attach', '--netns', existing],
      ['up'],
      ['up', '--attach'],
      ['connect', '--netns', missing, '198.18.0.1', '7'],
      ['connect', '--attach', '--netns', missing, '198.18.0.1', '7'],
      ['connect', '--netns', existing, '198.18.0.1', '7'],
      ['connect', '198.18.0.1', '7'],
      ['connect', '--attach', '198.18.0.1', '7'],
    ];
    for (const args of cases) {
      const what = `tcpstack ${args.join(' ')}`;
      const r = runAsNobody(args);
      t.is(r.code, 1, `${what}: ${r.stderr}`);
      t.is(r.stdout, '', what);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      t.is(lines.length, 1, `${what}: one line, got ${JSON.stringify(r.stderr)}`);
      t.regex(lines[0] ?? '', /^tcpstack: .*run as root or grant CAP_/, what);
      t.false(netnsExists(missing), `${what}: no namespace created`);
      t.true(netnsExists(existing), `${what}: the existing namespace is left`);
    }
  } finally {
    removeNetns(missing);
    removeNetns(existing);
  }
});
