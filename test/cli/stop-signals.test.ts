/**
 * A stop signal that kills an `ip` of start-up (Ctrl-C to the process group
 * while the `ip` is still being forked, before its setsid) is the user's
 * stop, not a start-up failure (cli/stop-signals.ts interruptedBy).
 */
import test from 'ava';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interruptedBy } from '../../cli/stop-signals.ts';
import { IpCommandError, runIp } from '../../tun/netns.ts';

test('an ip command killed by SIGINT reports the signal, and start-up takes it as a stop', (t) => {
  // A stand-in `ip` that dies of SIGINT, first on PATH for this one call.
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-fake-ip-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fake = join(dir, 'ip');
  writeFileSync(fake, '#!/bin/sh\nkill -INT $$\n');
  chmodSync(fake, 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${dir}:${path ?? ''}`;
  let error: unknown;
  try {
    runIp(['link', 'show']);
  } catch (e) {
    error = e;
  } finally {
    process.env.PATH = path;
  }
  t.true(error instanceof IpCommandError);
  t.is((error as IpCommandError).signal, 'SIGINT');
  t.is(interruptedBy(error), 'SIGINT');
});

test('other failures are not a stop', (t) => {
  t.is(interruptedBy(new IpCommandError('`ip link` failed (killed by SIGKILL)', 'ERR_IP_COMMAND', undefined, 'SIGKILL')), undefined);
  t.is(interruptedBy(new IpCommandError('`ip link` failed (exit 1)', 'ERR_IP_COMMAND')), undefined);
  t.is(interruptedBy(Object.assign(new Error('no such device'), { code: 'ENODEV' })), undefined);
});
