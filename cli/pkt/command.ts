/**
 * `tcpstack pkt FILE.pkt...`: packet scripts in packetdrill's syntax, run
 * against our stack in virtual time.
 */
import { existsSync, statSync } from 'node:fs';
import { parseCommandLine } from '../args.ts';
import { invokedAs } from '../program.ts';
import { UsageError, parseInteger } from '../usage.ts';
import { formatResult, formatSummary } from './report.ts';
import { DEFAULT_LOCAL_IP, DEFAULT_REMOTE_IP, runScriptFile, type RunResult } from './runner.ts';

export const PKT_HELP = `usage: tcpstack pkt [-v] [--seed N] FILE.pkt...

Runs packet scripts written in packetdrill's language against our stack, in
virtual time (a 60 s timer costs nothing), and reports PASS or FAIL per
script with the first mismatch: file:line, then the expected and the actual
segment. The same script runs unchanged under the real packetdrill against
the Linux kernel, with the same verdict.

  -v, --verbose   print every packet and call as the script runs
  --seed N        seed of the stack's randomness (ISNs, ports), 0-4294967295
                  (default 1)
  -h, --help      show this help

Each script starts from a fresh stack at ${DEFAULT_LOCAL_IP}, the remote side is
${DEFAULT_REMOTE_IP}, bind() and connect() use port 8080, the MTU is 1500, and the
settings are Linux 6.18's with packetdrill's defaults.sh applied. Back-quoted
sysctl settings of net.ipv4.* (sysctl -q/-w NAME=V, echo V > /proc/sys/...,
set_sysctls.py) are applied; other shell commands and %{ }% Python blocks are
skipped with a warning.

Exit status: 0 if every script passed; 1 if any failed (a mismatch or an
error while it ran: FAIL); 2 if any does not parse (a syntax or semantic
error: INVALID, nothing of it ran) and on misuse.`;

export function runPktCommand(argv: string[]): number {
  const { values, positionals } = parseCommandLine(
    { command: 'pkt', options: { verbose: { type: 'boolean', short: 'v' }, seed: { type: 'string' } }, positionals: true, help: PKT_HELP },
    argv,
  );
  if (positionals.length === 0) throw new UsageError(`pkt needs at least one FILE.pkt (try: ${invokedAs()} pkt --help)`);
  const seed = values.seed === undefined ? 1 : parseInteger('--seed', values.seed, 0, 4294967295);
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
  if (results.some((r) => r.invalid)) return 2;
  return results.every((r) => r.ok) ? 0 : 1;
}
