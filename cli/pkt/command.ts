/**
 * `tcpstack pkt FILE.pkt...`: packet scripts in packetdrill's syntax, run
 * against our stack in virtual time. The command line is packetdrill's
 * (options.ts), so that a suite runner's argument list runs unchanged.
 */
import { existsSync, statSync } from 'node:fs';
import { nearNames } from '../args.ts';
import { invokedAs } from '../program.ts';
import { UsageError, parseInteger } from '../usage.ts';
import { VERSION_DEFAULTS } from './ip-version.ts';
import { CommandLineError, PACKETDRILL_OPTIONS, SILENT_ON_COMMAND_LINE, applyOption, pktOptionNames, readPktCommandLine, type CommandLineProblem } from './options.ts';
import { formatResult, formatSummary } from './report.ts';
import { defaultConfig, runScriptFile, type RunResult } from './runner.ts';

const V4 = VERSION_DEFAULTS.ipv4;
const V6 = VERSION_DEFAULTS.ipv6;

export const PKT_HELP = `usage: tcpstack pkt [-v] [--seed N] [-D NAME=VALUE]... [--OPTION[=VALUE]]... FILE.pkt...

Runs packet scripts written in packetdrill's language against our stack, in
virtual time (a 60 s timer costs nothing), and reports PASS or FAIL per
script with the first mismatch: file:line, then the expected and the actual
segment. The same script runs unchanged under the real packetdrill against
the Linux kernel, with the same verdict.

  -v, --verbose   print every packet and call as the script runs
  --seed N        seed of the stack's randomness (ISNs, ports), 0-4294967295
                  (default 1)
  -h, --help      show this help

and packetdrill's own options, as it reads them (--name=value or --name
value, or a unique prefix of the name), overriding a script's option lines:

  --ip_version=V        ipv4 (default), ipv4-mapped-ipv6 (AF_INET6 sockets
                        with v4-mapped addresses, IPv4 on the wire) or ipv6
  --mtu=N               the stack's MTU (default ${V4.mtu}; ${V6.mtu} with ipv6)
  --local_ip=A, --remote_ip=A
                        the stack's and the remote side's address
  --bind_port=N, --connect_port=N
                        the port of bind() and connect() with ... (8080)
  --tolerance_usecs=N, --tolerance_percent=P
                        timing tolerance: max(N µs, P % of the gap since the
                        previous event) (4000, 12.5)
  --tcp_ts_tick_usecs=N, --tcp_ts_ecr_scaled, --strict_segments, --mss=N
                        as in packetdrill
  -D NAME=VALUE, --define=NAME=VALUE
                        NAME in the script reads as VALUE (an integer, a
                        "string", a \`command\` or a word), as packetdrill's
                        lexer substitutes it
  --gateway_ip, --netmask_ip, --send_omit_free, --speed, --debug,
  --init_scripts, --code_command, --code_format, --code_sockopt,
  --non_fatal, --dry_run, --is_anyip, --psp_udp_port, --so_filename,
  --so_flags, --wire_client, --wire_server, --wire_server_ip,
  --wire_server_at, --wire_server_port, --wire_client_dev,
  --wire_server_dev
                        packetdrill's machinery: accepted, no effect here

Each script starts from a fresh stack at ${V4.localIp} (ipv6:
${V6.localIp}), the remote side is ${V4.remoteIp} (ipv6: ${V6.remoteIp}),
bind() and connect() use port 8080, the MTU is ${V4.mtu} (ipv6: ${V6.mtu}, so
that the MSS is 1460 in every mode), as packetdrill's run_all.py runs its
suite, and the settings are Linux 6.18's with packetdrill's defaults.sh
applied. As in run_all.py, a script whose name ends in v4.pkt runs in ipv4
and ipv4-mapped-ipv6 only, one ending in v6.pkt in ipv6 only; in another
mode it is listed as SKIP. Back-quoted sysctl settings of net.ipv4.* are
applied; %{ }% Python blocks run with python3 at the end of the script
with the socket's tcp_info as packetdrill gives it; other shell commands
are skipped with a warning.

Exit status: 0 if every script run passed; 1 if any failed (a mismatch or
an error while it ran: FAIL); 2 if any does not parse (a syntax or semantic
error: INVALID, nothing of it ran) and on misuse.`;

function usageError(p: CommandLineProblem): UsageError {
  switch (p.kind) {
    case 'unknown': {
      const near = p.option.startsWith('--') ? nearNames(p.option.slice(2), pktOptionNames()) : [];
      const hint = near.length > 0 ? `did you mean ${near.map((n) => `--${n}`).join(' or ')}?` : `the options: ${invokedAs()} pkt --help`;
      return new UsageError(`pkt: unknown option ${p.option} (${hint})`);
    }
    case 'ambiguous':
      return new UsageError(`pkt: option ${p.option} is ambiguous (${p.candidates.map((n) => `--${n}`).join(', ')})`);
    case 'needs-value':
      return new UsageError(p.name === 'define' ? '-D needs a value: -D NAME=VALUE' : `--${p.name} needs a value: --${p.name}=VALUE`);
    case 'no-value':
      return new UsageError(`--${p.name} takes no value, got ${JSON.stringify(p.value)}`);
  }
}

export function runPktCommand(argv: string[]): number {
  // The reader of the report went away (`| head`): end quietly, as a C tool
  // ends on SIGPIPE (status 128 + 13), not with Node's unhandled 'error' event.
  process.stdout.once('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(141);
  });
  let cmd;
  try {
    cmd = readPktCommandLine(argv);
  } catch (e) {
    if (e instanceof CommandLineError) throw usageError(e.problem);
    throw e;
  }
  if (cmd.help) {
    console.log(PKT_HELP);
    return 0;
  }
  if (cmd.files.length === 0) throw new UsageError(`pkt needs at least one FILE.pkt (try: ${invokedAs()} pkt --help)`);
  const seed = cmd.seed === undefined ? 1 : parseInteger('--seed', cmd.seed, 0, 4294967295);
  // Checked once here, as packetdrill's process_option dies on a bad value before any script runs.
  const check = defaultConfig();
  for (const o of cmd.options) {
    const err = applyOption(check, o.name, o.value);
    if (err !== undefined) throw new UsageError(err);
  }
  // The options passed on to each script, overriding its own (parse_and_finalize_config).
  const options = cmd.options.filter((o) => !(PACKETDRILL_OPTIONS[o.name]?.ignored && SILENT_ON_COMMAND_LINE.has(o.name)));
  for (const f of cmd.files) {
    if (!existsSync(f) || !statSync(f).isFile()) throw new UsageError(`pkt: no such script file ${JSON.stringify(f)}`);
  }
  const results: RunResult[] = [];
  for (const f of cmd.files) {
    const r = runScriptFile(f, { seed, options, trace: cmd.verbose ? (line) => console.log(`  ${line}`) : undefined });
    results.push(r);
    for (const line of formatResult(r)) console.log(line);
  }
  if (results.length > 1) console.log(formatSummary(results));
  if (results.some((r) => r.invalid)) return 2;
  return results.every((r) => r.ok || r.skipped) ? 0 : 1;
}
