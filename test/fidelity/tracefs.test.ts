/**
 * RST reasons where the host has not mounted tracefs: the harness mounts it
 * in a private mount namespace of its own (cli/scenario/tracefs.ts), so the
 * kernel's reasons are still compared, and nothing stays mounted or traced
 * afterwards. The CLI runs in a mount namespace of this test's own in which
 * tracefs is unmounted first (unshare; the host's mount table is untouched).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { fidelitySkipReason } from '../../cli/scenario/fidelity.ts';
import { CLI } from '../helpers/interop.ts';
import { systemTool } from '../../cli/scenario/lab.ts';


function tracefsMounts(): number {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - tracefs /.test(l)).length;
}

const skip = fidelitySkipReason() ?? (systemTool('unshare') === undefined ? 'unshare is not installed (apt-get install util-linux)' : undefined);

if (skip !== undefined) {
  test.skip(`scenario run with tracefs unmounted still compares RST reasons, over IPv4 and IPv6 (skipped: ${skip})`, () => undefined);
} else {
  test('scenario run with tracefs unmounted mounts it privately and still compares RST reasons, over IPv4 and IPv6', (t) => {
    const before = tracefsMounts();
    const script = `umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null; if grep -q ' - tracefs ' /proc/self/mountinfo; then echo 'tracefs still mounted' >&2; exit 99; fi; exec "$0" scenario run no-listener --family both`;
    const r = spawnSync(systemTool('unshare')!, ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, CLI], { encoding: 'utf8', timeout: 60_000 });
    t.not(r.status, 99, 'the test could not unmount tracefs in its own mount namespace');
    t.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
    t.regex(r.stdout, /^MATCH no-listener over IPv4$/m);
    t.regex(r.stdout, /^MATCH no-listener over IPv6$/m);
    // Both RSTs of the scenario carry a reason in both runs of each family:
    // the subject's (kernel run) and the peer kernel's (both runs) came from
    // the tracepoint, which prints IPv6 addresses in brackets.
    const resets = r.stdout.split('\n').filter((l) => / R\. /.test(l));
    t.is(resets.length, 4, r.stdout);
    for (const line of resets) t.is((line.match(/ NO_SOCKET\b/g) ?? []).length, 2, line);
    t.notRegex(r.stdout, /RST reasons unknown|NOT COMPARED|PARTIAL/);
    t.is(tracefsMounts(), before, "the host's mount table is as it was");
  });
}
