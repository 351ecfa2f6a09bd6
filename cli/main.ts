/**
 * `tcpstack`: one command, subcommands. Holds no protocol logic: it composes
 * stack/ and tun/ and reports.
 */
import { readFileSync } from 'node:fs';
import { nearNames } from './args.ts';
import { CONNECT_HELP, runConnect } from './connect.ts';
import { invokedAs } from './program.ts';
import { FatalError, UsageError } from './usage.ts';
import { runUp, UP_HELP } from './up.ts';
import { SCENARIO_HELP, runScenarioCommand } from './scenario/command.ts';
import { PKT_HELP, runPktCommand } from './pkt/command.ts';
import { TIMELINE_HELP, runTimelineCommand } from './timeline/command.ts';
import { PLOT_HELP, runPlotCommand } from './plot/command.ts';
import { NSTAT_HELP, SS_HELP, runNstatCommand, runSsCommand } from './ctl/command.ts';

const HELP = `usage: tcpstack <command> [options]
       tcpstack help COMMAND | --version

A userspace TCP/IP stack in TypeScript over a Linux TUN device.

commands:
  up        run the stack on a TUN device, with TCP services (see: tcpstack help up)
  connect   like nc: connect from the stack to HOST PORT, stdin/stdout (see: tcpstack help connect)
  scenario  the differential harness: reset/timer paths against the kernel (see: tcpstack help scenario)
  pkt       run packet scripts (packetdrill syntax) against the stack in virtual time (see: tcpstack help pkt)
  ss        connections of a running up or connect, like ss -tioa; FILTER, -K (see: tcpstack help ss)
  nstat     counters of a running up or connect that moved since the last call, like nstat (see: tcpstack help nstat)
  timeline  print a trace recorded by up or connect --trace-file (see: tcpstack help timeline)
  plot      draw a connection's time-sequence graph and cwnd/RTT panes from a trace or capture
  help      this help, or with a COMMAND that command's (the same as COMMAND --help)

  -V, --version  print the version
  -h, --help     show this help

Exit status: 0 on success, 1 when the environment fails (one line naming the
remedy), 2 on misuse (one line naming the option).

Run as root (creating a TUN device and network namespaces needs CAP_NET_ADMIN).`;

/** Each command: its help text and how it runs. */
const COMMANDS: Record<string, { help: string; run: (argv: string[]) => number | Promise<number> }> = {
  up: { help: UP_HELP, run: runUp },
  connect: { help: CONNECT_HELP, run: runConnect },
  scenario: { help: SCENARIO_HELP, run: runScenarioCommand },
  pkt: { help: PKT_HELP, run: runPktCommand },
  ss: { help: SS_HELP, run: runSsCommand },
  nstat: { help: NSTAT_HELP, run: runNstatCommand },
  timeline: { help: TIMELINE_HELP, run: runTimelineCommand },
  plot: { help: PLOT_HELP, run: runPlotCommand },
};

function commandNamed(name: string): (typeof COMMANDS)[string] {
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    const near = nearNames(name, Object.keys(COMMANDS));
    const hint = near.length > 0 ? `did you mean ${near.join(' or ')}?` : `the commands are ${Object.keys(COMMANDS).join(', ')}`;
    throw new UsageError(`unknown command ${JSON.stringify(name)}: ${hint} (try: ${invokedAs()} --help)`);
  }
  return command;
}

/** The version in package.json. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return String(pkg.version);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  switch (name) {
    case undefined:
      console.log(HELP);
      return 2;
    case '--help':
    case '-h':
      console.log(HELP);
      return 0;
    case '--version':
    case '-V':
      if (rest.length > 0) throw new UsageError(`${name} takes no arguments, got ${JSON.stringify(rest[0])}`);
      console.log(`tcpstack ${version()}`);
      return 0;
    case 'help': {
      if (rest.length > 1) throw new UsageError(`help takes one COMMAND, got ${rest.length}: ${rest.map((a) => JSON.stringify(a)).join(' ')}`);
      console.log(rest[0] === undefined ? HELP : commandNamed(rest[0]).help);
      return 0;
    }
    default: {
      if (name.startsWith('-')) throw new UsageError(`unknown option ${name} before the command (the options: -h/--help, -V/--version; try: ${invokedAs()} --help)`);
      const command = commandNamed(name);
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(command.help);
        return 0;
      }
      return command.run(rest);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`tcpstack: error: ${error.message}`);
      process.exitCode = 2;
    } else if (error instanceof FatalError) {
      console.error(`tcpstack: ${error.message}`);
      process.exitCode = 1;
    } else if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
      // Errors from the TUN addon and iproute2 carry a code and a one-line remedy.
      console.error(`tcpstack: ${error.message}`);
      process.exitCode = 1;
    } else {
      console.error('tcpstack: internal error:', error);
      process.exitCode = 70;
    }
  },
);
