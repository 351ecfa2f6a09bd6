/**
 * `tcpstack pkt FILE.pkt...`: packet scripts in packetdrill's syntax, run
 * against our stack in virtual time.
 */
import { existsSync, statSync } from 'node:fs';
import { parseCommandLine } from '../args.ts';
import { invokedAs } from '../program.ts';
import { UsageError, parseInteger } from '../usage.ts';
import { IP_VERSIONS, VERSION_DEFAULTS, parseIpVersion } from './ip-version.ts';
import { formatResult, formatSummary } from './report.ts';
import { runScriptFile, type RunResult } from './runner.ts';

const V4 = VERSION_DEFAULTS.ipv4;
const V6 = VERSION_DEFAULTS.ipv6;

export const PKT_HELP = `usage: tcpstack pkt [-v] [--seed N] [--ip_version=V] [--mtu=N] FILE.pkt...

Runs packet scripts written in packetdrill's language against our stack, in
virtual time (a 60 s timer costs nothing), and reports PASS or FAIL per
script with the first mismatch: file:line, then the expected and the actual
segment. The same script runs unchanged under the real packetdrill against
the Linux kernel, with the same verdict.

  -v, --verbose   print every packet and call as the script runs
  --seed N        seed of the stack's randomness (ISNs, ports), 0-4294967295
                  (default 1)
  --ip_version=V  ${IP_VERSIONS.join(', ')} (default ipv4), as packetdrill's:
                  ipv4-mapped-ipv6 has AF_INET6 sockets with v4-mapped
                  addresses and IPv4 on the wire; overrides a script's own
  --mtu=N         the stack's MTU (default ${V4.mtu}; ${V6.mtu} with ipv6)
  -h, --help      show this help

Each script starts from a fresh stack at ${V4.localIp} (ipv6:
${V6.localIp}), the remote side is ${V4.remoteIp} (ipv6: ${V6.remoteIp}),
bind() and connect() use port 8080, the MTU is ${V4.mtu} (ipv6: ${V6.mtu}, so
that the MSS is 1460 in every mode), as packetdrill's run_all.py runs its
suite, and the settings are Linux 6.18's with packetdrill's defaults.sh
applied. As in run_all.py, a script whose name ends in v4.pkt runs in ipv4
and ipv4-mapped-ipv6 only, one ending in v6.pkt in ipv6 only; in another
mode it is listed as SKIP. Back-quoted sysctl settings of net.ipv4.*
(sysctl -q/-w NAME=V, echo V > /proc/sys/..., set_sysctls.py) are applied;
other shell commands and %{ }% Python blocks are skipped with a warning.

Exit status: 0 if every script run passed; 1 if any failed (a mismatch or
an error while it ran: FAIL); 2 if any does not parse (a syntax or semantic
error: INVALID, nothing of it ran) and on misuse.`;

export function runPktCommand(argv: string[]): number {
  const { values, positionals } = parseCommandLine(
    {
      command: 'pkt',
      options: { verbose: { type: 'boolean', short: 'v' }, seed: { type: 'string' }, ip_version: { type: 'string' }, mtu: { type: 'string' } },
      positionals: true,
      help: PKT_HELP,
    },
    argv,
  );
  if (positionals.length === 0) throw new UsageError(`pkt needs at least one FILE.pkt (try: ${invokedAs()} pkt --help)`);
  const seed = values.seed === undefined ? 1 : parseInteger('--seed', values.seed, 0, 4294967295);
  // packetdrill's own options, passed on to override the scripts' (parse_and_finalize_config).
  const options: Array<{ name: string; value: string }> = [];
  if (values.ip_version !== undefined) {
    const version = parseIpVersion(values.ip_version);
    if (version === undefined) throw new UsageError(`--ip_version expects one of ${IP_VERSIONS.join(', ')}, got ${JSON.stringify(values.ip_version)}`);
    options.push({ name: 'ip_version', value: version });
  }
  if (values.mtu !== undefined) options.push({ name: 'mtu', value: String(parseInteger('--mtu', values.mtu, 68, 65535)) });
  for (const f of positionals) {
    if (!existsSync(f) || !statSync(f).isFile()) throw new UsageError(`pkt: no such script file ${JSON.stringify(f)}`);
  }
  const results: RunResult[] = [];
  for (const f of positionals) {
    const r = runScriptFile(f, { seed, options, trace: values.verbose ? (line) => console.log(`  ${line}`) : undefined });
    results.push(r);
    for (const line of formatResult(r)) console.log(line);
  }
  if (results.length > 1) console.log(formatSummary(results));
  if (results.some((r) => r.invalid)) return 2;
  return results.every((r) => r.ok || r.skipped) ? 0 : 1;
}
