/**
 * `tcpstack pkt FILE.pkt...`: packet scripts in packetdrill's syntax, run
 * against our stack in virtual time.
 */
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../usage.ts';
import { formatResult, formatSummary } from './report.ts';
import { DEFAULT_LOCAL_IP, DEFAULT_REMOTE_IP, runScriptFile, type RunResult } from './runner.ts';

export const PKT_HELP = `usage: tcpstack pkt [-v] [--seed N] FILE.pkt...

Runs packet scripts written in packetdrill's language against our stack, in
virtual time (a 60 s timer costs nothing), and reports PASS or FAIL per
script with the first mismatch: file:line, then the expected and the actual
segment. The same script runs unchanged under the real packetdrill against
the Linux kernel, with the same verdict.

  -v, --verbose   print every packet and call as the script runs
  --seed N        seed of the stack's randomness (ISNs, ports; default 1)

Each script starts from a fresh stack at ${DEFAULT_LOCAL_IP}, the remote side is
${DEFAULT_REMOTE_IP}, bind() and connect() use port 8080, the MTU is 1500, and the
settings are Linux 6.18's with packetdrill's defaults.sh applied. Back-quoted
sysctl settings of net.ipv4.* (sysctl -q/-w NAME=V, echo V > /proc/sys/...,
set_sysctls.py) are applied; other shell commands and %{ }% Python blocks are
skipped with a warning.

Exit status: 0 if every script passed, 1 if any failed, 2 on misuse.`;

export function runPktCommand(argv: string[]): number {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { verbose: { type: 'boolean', short: 'v' }, seed: { type: 'string' } },
    }));
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (try: tcpstack pkt --help)`);
  }
  if (positionals.length === 0) throw new UsageError('pkt needs at least one FILE.pkt (try: tcpstack pkt --help)');
  let seed = 1;
  if (values.seed !== undefined) {
    if (!/^\d+$/.test(values.seed)) throw new UsageError(`--seed expects a non-negative integer, got ${JSON.stringify(values.seed)}`);
    seed = Number(values.seed);
  }
  for (const f of positionals) {
    if (!existsSync(f) || !statSync(f).isFile()) throw new UsageError(`pkt: no such script file ${JSON.stringify(f)}`);
  }
  const results: RunResult[] = [];
  for (const f of positionals) {
    const r = runScriptFile(f, { seed, trace: values.verbose ? (line) => console.log(`  ${line}`) : undefined });
    results.push(r);
    for (const line of formatResult(r)) console.log(line);
  }
  if (results.length > 1) console.log(formatSummary(results));
  return results.every((r) => r.ok) ? 0 : 1;
}
