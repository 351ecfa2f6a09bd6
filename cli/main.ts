/**
 * `tcpstack`: one command, subcommands. Holds no protocol logic: it composes
 * stack/ and tun/ and reports.
 */
import { CONNECT_HELP, runConnect } from './connect.ts';
import { FatalError, UsageError } from './usage.ts';
import { runUp, UP_HELP } from './up.ts';
import { SCENARIO_HELP, runScenarioCommand } from './scenario/command.ts';
import { PKT_HELP, runPktCommand } from './pkt/command.ts';
import { TIMELINE_HELP, runTimelineCommand } from './timeline/command.ts';
import { NSTAT_HELP, SS_HELP, runNstatCommand, runSsCommand } from './ctl/command.ts';

const HELP = `usage: tcpstack <command> [options]

A userspace TCP/IP stack in TypeScript over a Linux TUN device.

commands:
  up        run the stack on a TUN device, with TCP services (see: tcpstack up --help)
  connect   like nc: connect from the stack to HOST PORT, stdin/stdout (see: tcpstack connect --help)
  scenario  the differential harness: reset/timer paths against the kernel (see: tcpstack scenario --help)
  pkt       run packet scripts (packetdrill syntax) against the stack in virtual time (see: tcpstack pkt --help)
  ss        connections of a running up, like ss -tio (see: tcpstack ss --help)
  nstat     counters of a running up that moved since the last call, like nstat (see: tcpstack nstat --help)
  timeline  print a trace recorded by up --trace-file (see: tcpstack timeline --help)
  help      show this help

Run as root (creating a TUN device and network namespaces needs CAP_NET_ADMIN).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return command === undefined ? 2 : 0;
    case 'up':
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(UP_HELP);
        return 0;
      }
      return runUp(rest);
    case 'connect':
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(CONNECT_HELP);
        return 0;
      }
      return runConnect(rest);
    case 'scenario':
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(SCENARIO_HELP);
        return 0;
      }
      return runScenarioCommand(rest);
    case 'pkt':
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(PKT_HELP);
        return 0;
      }
      return runPktCommand(rest);
    case 'ss':
    case 'nstat':
    case 'timeline': {
      const commands: Record<string, [string, (argv: string[]) => Promise<number>]> = {
        ss: [SS_HELP, runSsCommand],
        nstat: [NSTAT_HELP, runNstatCommand],
        timeline: [TIMELINE_HELP, runTimelineCommand],
      };
      const [help, run] = commands[command]!;
      if (rest.includes('--help') || rest.includes('-h')) {
        console.log(help);
        return 0;
      }
      return run(rest);
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)} (try: tcpstack --help)`);
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
