/**
 * One scenario against the kernel and against our stack, normalised and
 * compared; what the CLI, `make fidelity` and test/fidelity share.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { havePython } from './agent.ts';
import { systemTool } from './lab.ts';
import { compareRuns, type Comparison } from './compare.ts';
import { kernelRun } from './kernel-run.ts';
import { normalise, type RunRecord } from './normalise.ts';
import { stackRun } from './stack-run.ts';
import type { Family } from './family.ts';
import type { Scenario } from './types.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Why the harness cannot run here (one line naming the remedy), or undefined. */
export function fidelitySkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, a TUN device, nftables, tracefs)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun on this machine';
  if (!existsSync(join(ROOT, 'tun', 'build', 'Release', 'tun.node'))) return 'the TUN addon is not built (run make)';
  const tools: Array<[string, string]> = [
    ['ip', 'iproute2'],
    ['ss', 'iproute2'],
    ['tcpdump', 'tcpdump'],
    ['nft', 'nftables'],
    ['ethtool', 'ethtool'],
    ['iptables', 'iptables'],
    ['ip6tables', 'iptables'],
    ['sysctl', 'procps'],
  ];
  for (const [cmd, pkg] of tools) if (systemTool(cmd) === undefined) return `${cmd} is not installed (apt-get install ${pkg}; make installs it as root)`;
  if (!havePython()) return 'python3 is not installed (apt-get install python3)';
  return undefined;
}

export type Against = 'kernel' | 'stack' | 'both';

export interface ScenarioOutcome {
  scenario: Scenario;
  family: Family;
  kernel?: RunRecord;
  stack?: RunRecord;
  comparison?: Comparison;
  /** A run that could not complete: a harness or environment failure, not a difference. */
  error?: string;
  seconds: number;
}

export interface RunOptions {
  /** Both runs with segmentation offloads (docs/offloads.md); default off. */
  offload?: boolean;
  /** The address family of both runs (default 4); `scenario` must be the one registry.ts built for it. */
  family?: Family;
}

export async function runScenario(scenario: Scenario, against: Against = 'both', options: RunOptions = {}): Promise<ScenarioOutcome> {
  const t0 = performance.now();
  const offload = options.offload ?? false;
  const family = options.family ?? 4;
  const out: ScenarioOutcome = { scenario, family, seconds: 0 };
  if (against !== 'stack') out.kernel = await kernelRun(scenario, offload, family);
  if (against !== 'kernel') out.stack = await stackRun(scenario, offload, family);
  const errors = [out.kernel, out.stack].filter((r) => r?.error !== undefined).map((r) => `${r!.mode} run: ${r!.error}`);
  if (errors.length > 0) out.error = errors.join('; ');
  if (against === 'both' && out.kernel && out.stack && out.error === undefined) {
    out.comparison = compareRuns(scenario, normalise(out.kernel, scenario), normalise(out.stack, scenario));
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}
