/**
 * `up --offload on|off` (cli/device.ts). Misuse is one line naming --offload,
 * exit status 2, before anything is created: a value other than on/off, and
 * `on` with an impairment (impairments act on wire-sized packets). And the
 * ready line says what the device got: `offload=on` by default, `offload=off`
 * with an impairment or `--offload off`. Each `up` runs in its own throw-away
 * namespace, is stopped by SIGINT to its PID, and the namespace is removed in
 * teardown, also when a test fails.
 */
import test from 'ava';
import { netnsExists } from '../../tun/netns.ts';
import { interopSkipReason, removeNetns, runCli, startCli, uniqueNetns } from '../helpers/interop.ts';

const misuse: Array<[string[], RegExp]> = [
  [['--offload', 'maybe'], /^tcpstack: error: --offload "maybe": expected on or off\n$/],
  [['--offload', 'on', '--loss', '1%'], /^tcpstack: error: --offload on: [^\n]*impairments[^\n]*\n$/],
  [['--offload', 'on', '--delay', '10ms'], /^tcpstack: error: --offload on: [^\n]*impairments[^\n]*\n$/],
];

for (const [args, line] of misuse) {
  test(`up ${args.join(' ')} → exit 2, one line naming --offload`, (t) => {
    // A namespace name, so that were the misuse not caught nothing would touch the host's namespace.
    const netns = uniqueNetns('offload-misuse');
    t.teardown(() => removeNetns(netns));
    const r = runCli(['up', '--netns', netns, ...args]);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, line);
    t.is(r.stdout, '');
    t.false(netnsExists(netns), 'nothing was created');
  });
}

const skip = interopSkipReason(['ip']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`up --offload ready-line tests skipped: ${skip}`);

const ready: Array<[string[], string]> = [
  [[], 'offload=on'], // the default where the kernel grants it (it does on the kernels we run on)
  [['--loss', '1%'], 'offload=off'], // an impairment turns the default off
  [['--offload', 'off'], 'offload=off'],
  [['--offload', 'off', '--loss', '1%'], 'offload=off'], // off with an impairment is no misuse
];

for (const [args, field] of ready) {
  interop(`up ${args.join(' ') || '(no options)'}: the ready line says ${field}`, async (t) => {
    const netns = uniqueNetns('offload-up');
    t.teardown(() => removeNetns(netns));
    const up = startCli(['up', '--netns', netns, ...args]);
    t.teardown(() => up.stop('SIGTERM').then(() => undefined)); // a no-op unless a failure left it running
    const line = await up.ready();
    t.true(line.split(' ').includes(field), line);
    const exited = await up.stop('SIGINT');
    t.is(exited.code, 0, exited.stderr);
    t.false(netnsExists(netns), 'up removed the namespace it made');
  });
}
