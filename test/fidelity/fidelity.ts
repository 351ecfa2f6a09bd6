/**
 * Shared by the test/fidelity/*.test.ts files: one ava test per scenario
 * and family, each running the scenario against the kernel and against our
 * stack (cli/scenario/) and asserting that they match. The scenarios are spread
 * over a few files so that ava's parallel workers share the time; every run
 * leases its own namespaces, subnet and tracefs instance, so they never
 * collide.
 *
 * KNOWN_DIFFERENCES lists the scenarios where our stack is known to differ
 * from Linux (in one family, or both), with the expected first difference and the diagnosis (the
 * project's convention for behaviour not yet matched, like test.failing, but
 * precise): such a test passes while exactly that difference remains, and
 * fails — asking for its entry to be removed — once the scenario matches,
 * unless the entry says why the difference shows in some runs only
 * (`intermittent`): then a match passes too, and says so in the log.
 */
import type { TestFn } from 'ava';
import { formatComparison } from '../../cli/scenario/compare.ts';
import { fidelitySkipReason, runScenario } from '../../cli/scenario/fidelity.ts';
import { familyName, type Family } from '../../cli/scenario/family.ts';
import { teardownSync } from '../../cli/scenario/lab.ts';
import { findScenario } from '../../cli/scenario/registry.ts';

/** By scenario name; `family` limits an entry to one family (else both). */
export const KNOWN_DIFFERENCES: Record<string, { first: RegExp; why: string; intermittent?: string; family?: Family }> = {};

let exitHook = false;

/**
 * `offload`: both runs with segmentation offloads, as `up` runs by default
 * (our TUN device with IFF_VNET_HDR, the kernel subject's veth with TSO and
 * GSO on): super-segments on the wire, segment faults on the packet that
 * carries the segment (cli/scenario/segment-faults.ts). `family`: over IPv4
 * (the default) or IPv6.
 */
export function fidelityTests(test: TestFn, names: readonly string[], options: { offload?: boolean; family?: Family } = {}): void {
  const offload = options.offload ?? false;
  const family = options.family ?? 4;
  const skip = fidelitySkipReason();
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => teardownSync());
  }
  test.after.always('remove what the harness created', () => {
    const problems = teardownSync();
    if (problems.length > 0) console.error(`fidelity teardown: ${problems.join('; ')}`);
  });
  for (const name of names) {
    const scenario = findScenario(name, family);
    if (!scenario) throw new Error(`no scenario ${name}`);
    const title = `${name} over ${familyName(family)}${offload ? ' (offloads on)' : ''}: ${scenario.title}`;
    if (skip !== undefined) {
      test.skip(`${title} (skipped: ${skip})`, () => undefined);
      continue;
    }
    test.serial(title, async (t) => {
      const outcome = await runScenario(scenario, 'both', { offload, family });
      t.log(`kernel ${(outcome.kernel!.wallMs / 1000).toFixed(1)} s, stack ${(outcome.stack!.wallMs / 1000).toFixed(1)} s`);
      if (outcome.error !== undefined) {
        for (const run of [outcome.kernel, outcome.stack]) {
          if (!run) continue;
          t.log(`${run.mode} run steps: ${run.steps.map((s) => `${s.index}:${s.result}`).join(' ')}; notes: ${run.notes.join('; ')}`);
        }
        return t.fail(`harness failure: ${outcome.error}`);
      }
      const c = outcome.comparison!;
      const entry = KNOWN_DIFFERENCES[name];
      const known = offload || (entry?.family !== undefined && entry.family !== family) ? undefined : entry;
      if (known === undefined) {
        if (!c.match) t.log(formatComparison(c));
        t.true(c.match, c.first);
        return;
      }
      if (c.match && known.intermittent !== undefined) {
        t.log(`matched this time; known to differ in some runs (${known.intermittent})`);
        return t.pass();
      }
      if (c.match) return t.fail(`${name} now matches the kernel: remove it from KNOWN_DIFFERENCES (${known.why})`);
      if (!known.first.test(c.first)) t.log(formatComparison(c));
      t.regex(c.first, known.first, `the known difference (${known.why}) is no longer the first one`);
      t.log(`known difference: ${c.first}`);
    });
  }
}
