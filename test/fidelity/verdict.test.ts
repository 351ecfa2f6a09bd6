/**
 * The harness's verdicts without running anything (no root needed): a
 * comparison that could not compare RST reasons is PARTIAL, never a match,
 * and the table counts it apart, saying what was not compared and why.
 */
import test from 'ava';
import { compareRuns, formatComparison, verdictLine } from '../../cli/scenario/compare.ts';
import type { ScenarioOutcome } from '../../cli/scenario/fidelity.ts';
import { normalise, type RunRecord } from '../../cli/scenario/normalise.ts';
import { findScenario } from '../../cli/scenario/registry.ts';
import { formatTable, summaryLine, tableExitCode, tableRow } from '../../cli/scenario/summary.ts';

const scenario = findScenario('no-listener')!;
const UNMOUNTED = 'tracefs is not mounted at /sys/kernel/tracing and could not be mounted in a private mount namespace: mount: permission denied';

/** A run with every step's result as Linux gives it and nothing captured. */
function run(mode: 'kernel' | 'stack', tracepointUnavailable?: string): RunRecord {
  const results = ['ECONNREFUSED', 'ok', 'ECONNREFUSED', 'ok'];
  return {
    mode,
    scenario: scenario.name,
    family: 4,
    subjectAddr: '198.19.7.2',
    peerAddr: '198.19.7.1',
    steps: results.map((result, i) => ({ index: i + 1, startUs: 1_000_000 * (i + 1), endUs: 1_000_000 * (i + 1) + 1000, result })),
    packets: [],
    resets: [],
    notes: [],
    wallMs: 100,
    ...(tracepointUnavailable === undefined ? {} : { tracepointUnavailable }),
  };
}

function compare(kernelWhy?: string, stackWhy?: string) {
  return compareRuns(scenario, normalise(run('kernel', kernelWhy), scenario), normalise(run('stack', stackWhy), scenario));
}

function outcome(c: ReturnType<typeof compare>): ScenarioOutcome {
  return { scenario, family: 4, comparison: c, seconds: 1.5 };
}

test('a comparison with RST reasons recorded on both sides and no difference is a match', (t) => {
  const c = compare();
  t.is(c.verdict, 'match');
  t.true(c.match);
  t.deepEqual(c.notCompared, []);
  t.is(verdictLine(c), 'MATCH no-listener over IPv4');
  const row = tableRow(outcome(c));
  t.is(row.status, 'match');
  t.is(summaryLine([row]), '1 of 1 scenario runs match the kernel over IPv4');
  t.is(tableExitCode([row]), 0);
});

test('without the tracepoint the verdict is PARTIAL, names what was not compared and why, and is never a match', (t) => {
  const c = compare(UNMOUNTED, UNMOUNTED);
  t.is(c.verdict, 'partial');
  t.false(c.match);
  t.deepEqual(c.notCompared, [`RST reasons (${UNMOUNTED})`]);
  t.not(c.first, 'match');
  const report = formatComparison(c);
  const last = report.trim().split('\n').at(-1)!;
  t.regex(last, /^PARTIAL no-listener over IPv4: no difference in what was compared, but not compared: RST reasons \(tracefs is not mounted/);
  t.notRegex(report, /^MATCH/m);
  t.regex(report, /NOT COMPARED: RST reasons/);
});

test('the table counts a scenario compared only in part apart from the matches, and exits 1', (t) => {
  const full = tableRow({ ...outcome(compare()), scenario: findScenario('crash')! });
  const partial = tableRow(outcome(compare(undefined, 'no tcp:tcp_send_reset tracepoint on this kernel (tracefs: a private mount)')));
  t.is(partial.status, 'partial');
  t.regex(partial.verdict, /^no difference, NOT COMPARED: RST reasons \(no tcp:tcp_send_reset tracepoint on this kernel/);
  t.notRegex(partial.verdict, /^match/);
  const summary = summaryLine([full, partial]);
  t.regex(summary, /^1 of 2 scenario runs match the kernel over IPv4; 1 not counted as matches, compared only in part \(no-listener over IPv4; not compared: RST reasons \(no tcp:tcp_send_reset tracepoint/);
  t.is(tableExitCode([full, partial]), 1);
  const lines = formatTable([full, partial]);
  t.is(lines.at(-1), summary);
  t.regex(lines.find((l) => l.startsWith('no-listener '))!, /^no-listener +\| IPv4 +\| .*\| no difference, NOT COMPARED: RST reasons/);
});

test('one side without the tracepoint is enough to leave reasons out, with that side\'s reason', (t) => {
  const c = compare(UNMOUNTED, undefined);
  t.is(c.verdict, 'partial');
  t.deepEqual(c.notCompared, [`RST reasons (${UNMOUNTED})`]);
});
