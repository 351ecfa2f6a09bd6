/**
 * `tcpstack`: one command, subcommands. Holds no protocol logic: it composes
 * stack/ and tun/ and reports.
 */
import { CONNECT_HELP, runConnect } from './connect.ts';
import { FatalError, UsageError } from './usage.ts';
import { runUp, UP_HELP } from './up.ts';

const HELP = `usage: tcpstack <command> [options]

A userspace TCP/IP stack in TypeScript over a Linux TUN device.

commands:
  up        run the stack on a TUN device, with TCP services (see: tcpstack up --help)
  connect   like nc: connect from the stack to HOST PORT, stdin/stdout (see: tcpstack connect --help)
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
