/**
 * `tcpstack scenario list | run NAME | table`: the differential harness from
 * the command line.
 */
import { parseCommandLine } from '../args.ts';
import { invokedAs } from '../program.ts';
import { FatalError, UsageError } from '../usage.ts';
import { formatComparison } from './compare.ts';
import { fidelitySkipReason, runScenario, type Against } from './fidelity.ts';
import { installTeardownHandlers } from './lab.ts';
import { FAMILIES, familyName, type Family } from './family.ts';
import { formatEvent, normalise } from './normalise.ts';
import { SCENARIOS, findScenario } from './registry.ts';
import { formatTable, tableExitCode, tableRow, type TableRow } from './summary.ts';
import { describeStep } from './types.ts';

export const SCENARIO_HELP = `usage: tcpstack scenario list
       tcpstack scenario run NAME [--against kernel|stack|both] [--family 4|6|both] [--all] [--offload on|off]
       tcpstack scenario table [NAME...] [--family 4|6|both] [--offload on|off]

The differential harness: each scenario (one reset or timer path of Linux,
written once as data: application steps for a "subject" and a "peer",
sysctls, wire faults) runs against the Linux kernel (two namespaces joined
by a veth pair, both sides Python agents) and against our stack (a TUN
device in the peer's namespace, the subject played by the stack in this
process), over IPv4 and over IPv6. Both are captured by tcpdump on the
peer's interface, normalised (relative seq/ack, connection labels, time as
step + offset, RST reasons from the tcp_send_reset tracepoint and from our
stack's trace) and compared.

  list                  the scenarios, each with the docs/ section that describes
                        the Linux behaviour it checks
  run NAME              run one; with both (the default) print the two runs side
                        by side with the differences marked, exit 0 on a match
                        and 1 otherwise: a difference, or PARTIAL when something
                        could not be compared (RST reasons without the kernel's
                        tcp_send_reset tracepoint; the output says why)
    --against WHAT      kernel, stack or both (default both)
    --family 4|6|both   over IPv4, over IPv6, or over each in turn (the
                        default): AF_INET or AF_INET6 sockets on both sides,
                        the addresses, capture, faults and counters of the
                        family
    --all               also list every captured segment of each run
    --offload on|off    on: both runs with segmentation offloads, the stack
                        run's TUN device as \`up\` opens it by default and the
                        kernel subject's veth with TSO and GSO (super-segments
                        on the wire, segment faults on the packet carrying
                        the segment); off (the default): wire-sized packets
                        in both; see docs/offloads.md
  table [NAME...]       run every scenario (or those named) in each family
                        and print scenario | family | docs | time | match or
                        the first difference; a scenario compared only in
                        part is listed, and counted, apart from the matches;
                        exit 1 unless every scenario matches in full in
                        every family ('make fidelity'); takes --family and
                        --offload as run does

Needs root, /dev/net/tun, tcpdump, nft, iptables, ip6tables, ethtool, ss and python3. Everything
runs in namespaces created for the purpose and removed afterwards (also on
SIGINT); nothing is configured in the host's namespace. Where the host has
not mounted tracefs, it is mounted in a private mount namespace of the
harness's own (unshare), never in the host's.`;

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

/** Checks a scenario name (the same in every family); the scenario is built per family by findScenario. */
function scenarioNamed(name: string): string {
  if (!findScenario(name)) throw new UsageError(`no scenario ${JSON.stringify(name)} (${invokedAs()} scenario list shows them)`);
  return name;
}

/** --family 4|6|both (default both): the families to run, in order. */
function familyOption(value: string | undefined): readonly Family[] {
  if (value === undefined || value === 'both') return FAMILIES;
  if (value === '4') return [4];
  if (value === '6') return [6];
  throw new UsageError(`--family ${JSON.stringify(value)}: expected 4, 6 or both`);
}

/** --offload on|off (default off): both runs with segmentation offloads (our TUN as `up` opens it, the kernel's veth with TSO and GSO). */
function offloadOption(value: string | undefined): boolean {
  if (value === undefined || value === 'off') return false;
  if (value === 'on') return true;
  throw new UsageError(`--offload ${JSON.stringify(value)}: expected on or off`);
}

async function runOne(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    { command: 'scenario run', options: { against: { type: 'string' }, family: { type: 'string' }, all: { type: 'boolean' }, offload: { type: 'string' } }, positionals: true, help: SCENARIO_HELP },
    argv,
  );
  if (positionals.length !== 1) {
    throw new UsageError(`scenario run takes one NAME, got ${positionals.length === 0 ? 'none' : positionals.length} (${invokedAs()} scenario list shows them)`);
  }
  const against = (values.against ?? 'both') as Against;
  if (!['kernel', 'stack', 'both'].includes(against)) throw new UsageError(`--against ${JSON.stringify(values.against)}: expected kernel, stack or both`);
  const name = scenarioNamed(positionals[0]!);
  const families = familyOption(values.family);
  const offload = offloadOption(values.offload);
  requireEnvironment();
  let status = 0;
  for (const family of families) {
    const scenario = findScenario(name, family)!;
    const outcome = await runScenario(scenario, against, { offload, family });
    if (outcome.comparison) {
      console.log(formatComparison(outcome.comparison, { all: values.all }));
      console.log(`(${outcome.seconds.toFixed(1)} s: kernel ${(outcome.kernel!.wallMs / 1000).toFixed(1)} s, stack ${(outcome.stack!.wallMs / 1000).toFixed(1)} s)`);
      if (!outcome.comparison.match) status = 1;
      continue;
    }
    for (const record of [outcome.kernel, outcome.stack]) {
      if (!record) continue;
      const norm = normalise(record, scenario);
      console.log(`scenario ${scenario.name} over ${familyName(family)}, ${record.mode} run (${(record.wallMs / 1000).toFixed(1)} s)`);
      scenario.steps.forEach((step, i) => {
        const r = record.steps[i];
        console.log(`  ${String(i + 1).padStart(2)} ${describeStep(step).padEnd(48)} ${r ? `${r.result} (${Math.round((r.endUs - r.startUs) / 1000)} ms)` : '—'}`);
      });
      for (const e of norm.events) console.log(`  ${e.compared ? '*' : ' '} ${formatEvent(e)}`);
      for (const r of norm.offWire) console.log(`  RST not on the wire: ${r.src}:${r.sport}>${r.dst}:${r.dport} ${r.reason}`);
      for (const n of record.notes) console.log(`  note: ${n}`);
    }
    if (outcome.error) {
      console.log(`ERROR ${scenario.name} over ${familyName(family)}: ${outcome.error}`);
      status = 1;
    }
  }
  return status;
}

async function runTable(argv: string[]): Promise<number> {
  const { values, positionals: names } = parseCommandLine(
    { command: 'scenario table', options: { family: { type: 'string' }, offload: { type: 'string' } }, positionals: true, help: SCENARIO_HELP },
    argv,
  );
  const offload = offloadOption(values.offload);
  const families = familyOption(values.family);
  const chosen = names.length > 0 ? names.map(scenarioNamed) : SCENARIOS.map((s) => s.name);
  requireEnvironment();
  const rows: TableRow[] = [];
  // Each scenario in each family in turn: a difference of one family shows next to the other's result.
  for (const name of chosen) {
    for (const family of families) {
      const o = await runScenario(findScenario(name, family)!, 'both', { offload, family });
      const row = tableRow(o);
      rows.push(row);
      console.error(`${row.status.padEnd(10)} ${name} over ${familyName(family)} (${o.seconds.toFixed(1)} s)`);
      if (row.status === 'difference' && o.comparison) console.error(formatComparison(o.comparison));
    }
  }
  for (const line of formatTable(rows)) console.log(line);
  return tableExitCode(rows);
}
