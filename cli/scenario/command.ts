/**
 * `tcpstack scenario list | run NAME | table`: the differential harness from
 * the command line.
 */
import { parseCommandLine } from '../args.ts';
import { invokedAs } from '../program.ts';
import { FatalError, UsageError } from '../usage.ts';
import { formatComparison } from './compare.ts';
import { fidelitySkipReason, runScenario, type Against, type ScenarioOutcome } from './fidelity.ts';
import { installTeardownHandlers } from './lab.ts';
import { formatEvent, normalise } from './normalise.ts';
import { SCENARIOS, findScenario } from './registry.ts';
import { describeStep } from './types.ts';

export const SCENARIO_HELP = `usage: tcpstack scenario list
       tcpstack scenario run NAME [--against kernel|stack|both] [--all]
       tcpstack scenario table [NAME...]

The differential harness: each scenario (one reset or timer path of Linux,
written once as data: application steps for a "subject" and a "peer",
sysctls, wire faults) runs against the Linux kernel (two namespaces joined
by a veth pair, both sides Python agents) and against our stack (a TUN
device in the peer's namespace, the subject played by the stack in this
process). Both are captured by tcpdump on the peer's interface, normalised
(relative seq/ack, connection labels, time as step + offset, RST reasons
from the tcp_send_reset tracepoint and from our stack's trace) and compared.

  list                  the scenarios, each with the docs/ section that describes
                        the Linux behaviour it checks
  run NAME              run one; with both (the default) print the two runs side
                        by side with the differences marked, exit 0 on a match
                        and 1 on a difference
    --against WHAT      kernel, stack or both (default both)
    --all               also list every captured segment of each run
  table [NAME...]       run every scenario (or those named) and print
                        scenario | docs | match or the first difference;
                        exit 1 if any differs ('make fidelity')

Needs root, /dev/net/tun, tcpdump, nft, ethtool, ss and python3. Everything
runs in namespaces created for the purpose and removed afterwards (also on
SIGINT); nothing is configured in the host's namespace.`;

function requireEnvironment(): void {
  const why = fidelitySkipReason();
  if (why !== undefined) throw new FatalError(`scenario: ${why}`);
  installTeardownHandlers();
}

export async function runScenarioCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'list':
      if (rest.length > 0) throw new UsageError(`scenario list takes no arguments, got ${rest.map((a) => JSON.stringify(a)).join(' ')}`);
      for (const s of SCENARIOS) console.log(`${s.name.padEnd(18)} ${s.title} (${s.docs.join(', ')})`);
      return 0;
    case 'run':
      return runOne(rest);
    case 'table':
      return runTable(rest);
    case undefined:
      throw new UsageError(`scenario needs list, run NAME or table (try: ${invokedAs()} scenario --help)`);
    default:
      throw new UsageError(`unknown scenario subcommand ${JSON.stringify(sub)}: expected list, run NAME or table (try: ${invokedAs()} scenario --help)`);
  }
}

function scenarioNamed(name: string) {
  const s = findScenario(name);
  if (!s) throw new UsageError(`no scenario ${JSON.stringify(name)} (${invokedAs()} scenario list shows them)`);
  return s;
}

async function runOne(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    { command: 'scenario run', options: { against: { type: 'string' }, all: { type: 'boolean' } }, positionals: true, help: SCENARIO_HELP },
    argv,
  );
  if (positionals.length !== 1) {
    throw new UsageError(`scenario run takes one NAME, got ${positionals.length === 0 ? 'none' : positionals.length} (${invokedAs()} scenario list shows them)`);
  }
  const against = (values.against ?? 'both') as Against;
  if (!['kernel', 'stack', 'both'].includes(against)) throw new UsageError(`--against ${JSON.stringify(values.against)}: expected kernel, stack or both`);
  const scenario = scenarioNamed(positionals[0]!);
  requireEnvironment();
  const outcome = await runScenario(scenario, against);
  if (outcome.comparison) {
    console.log(formatComparison(outcome.comparison, { all: values.all }));
    console.log(`(${outcome.seconds.toFixed(1)} s: kernel ${(outcome.kernel!.wallMs / 1000).toFixed(1)} s, stack ${(outcome.stack!.wallMs / 1000).toFixed(1)} s)`);
    return outcome.comparison.match ? 0 : 1;
  }
  for (const record of [outcome.kernel, outcome.stack]) {
    if (!record) continue;
    const norm = normalise(record, scenario);
    console.log(`scenario ${scenario.name}, ${record.mode} run (${(record.wallMs / 1000).toFixed(1)} s)`);
    scenario.steps.forEach((step, i) => {
      const r = record.steps[i];
      console.log(`  ${String(i + 1).padStart(2)} ${describeStep(step).padEnd(48)} ${r ? `${r.result} (${Math.round((r.endUs - r.startUs) / 1000)} ms)` : '—'}`);
    });
    for (const e of norm.events) console.log(`  ${e.compared ? '*' : ' '} ${formatEvent(e)}`);
    for (const r of norm.offWire) console.log(`  RST not on the wire: ${r.src}:${r.sport}>${r.dst}:${r.dport} ${r.reason}`);
    for (const n of record.notes) console.log(`  note: ${n}`);
  }
  if (outcome.error) {
    console.log(`ERROR ${scenario.name}: ${outcome.error}`);
    return 1;
  }
  return 0;
}

/** One table row: the first difference shortened to fit. */
function tableRow(o: ScenarioOutcome): { verdict: string; ok: boolean } {
  if (o.error) return { verdict: `ERROR ${o.error}`, ok: false };
  if (!o.comparison) return { verdict: 'not compared', ok: false };
  return o.comparison.match ? { verdict: 'match', ok: true } : { verdict: o.comparison.first, ok: false };
}

async function runTable(argv: string[]): Promise<number> {
  const { positionals: names } = parseCommandLine({ command: 'scenario table', options: {}, positionals: true, help: SCENARIO_HELP }, argv);
  const scenarios = names.length > 0 ? names.map(scenarioNamed) : [...SCENARIOS];
  requireEnvironment();
  const rows: Array<{ name: string; docs: string; seconds: number; verdict: string; ok: boolean }> = [];
  for (const s of scenarios) {
    const o = await runScenario(s, 'both');
    const row = { name: s.name, docs: s.docs.join(', '), seconds: o.seconds, ...tableRow(o) };
    rows.push(row);
    console.error(`${row.ok ? 'match' : 'DIFF '} ${s.name} (${o.seconds.toFixed(1)} s)`);
    if (!row.ok && o.comparison) console.error(formatComparison(o.comparison));
  }
  const w1 = Math.max(8, ...rows.map((r) => r.name.length));
  const w2 = Math.max(4, ...rows.map((r) => r.docs.length));
  console.log(`${'scenario'.padEnd(w1)} | ${'docs'.padEnd(w2)} | time    | match`);
  console.log(`${'-'.repeat(w1)}-|-${'-'.repeat(w2)}-|---------|------`);
  for (const r of rows) console.log(`${r.name.padEnd(w1)} | ${r.docs.padEnd(w2)} | ${r.seconds.toFixed(1).padStart(5)} s | ${r.verdict}`);
  const bad = rows.filter((r) => !r.ok).length;
  console.log(`${rows.length - bad} of ${rows.length} scenarios match the kernel`);
  return bad === 0 ? 0 : 1;
}
