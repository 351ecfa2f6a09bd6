/**
 * `tcpstack up`: the stack on a TUN device, with its TCP services, until
 * SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { counterDeltas, formatCounters, newCounters } from '../stack/counters.ts';
import { formatSs } from './ss.ts';
import { DROP_REASONS } from '../stack/drop.ts';
import { SocketError } from '../stack/socket/types.ts';
import { DEFAULT_ADDR, DEVICE_HELP, DEVICE_OPTIONS, argsError, bringUp, deviceConfig, type DeviceConfig } from './device.ts';
import { DEFAULT_SERVICES, SERVICES_HELP, formatServices, parseServices, startServices, type ServiceChoice } from './services/index.ts';
import { FatalError } from './usage.ts';

export { DEFAULT_ADDR, DEFAULT_MTU, DEFAULT_PEER, DEFAULT_TUN } from './device.ts';

export const UP_HELP = `usage: tcpstack up [options]

Runs the stack on a TUN device until SIGINT or SIGTERM, then prints the
counters that moved. Prints one line starting with "ready" once packets flow.

${DEVICE_HELP}
services:
  --services LIST       the TCP services to run: NAME[:PORT],... or "none"
                        (default: all of them, on their usual ports)
${SERVICES_HELP.map((line) => `                          ${line}`).join('\n')}
  -h, --help            show this help

Defaults come from 198.18.0.0/15 (RFC 2544, reserved for benchmarking), so they
are unlikely to collide with a LAN. Example, from two shells:
  tcpstack up --netns lab
  ip netns exec lab ping ${DEFAULT_ADDR}
  ip netns exec lab telnet ${DEFAULT_ADDR} 23`;

export interface UpConfig extends DeviceConfig {
  services: ServiceChoice[];
}

export function parseUpArgs(argv: string[]): UpConfig {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { ...DEVICE_OPTIONS, services: { type: 'string' } },
    }));
  } catch (error) {
    throw argsError('up', error);
  }
  const device = deviceConfig(values);
  const services = values.services === undefined ? [...DEFAULT_SERVICES] : parseServices(values.services);
  return { ...device, services };
}

export async function runUp(argv: string[]): Promise<number> {
  const config = parseUpArgs(argv);
  const up = bringUp(config);
  try {
    const { stack } = up;
    const start = newCounters();

    try {
      const running = startServices(config.services, stack.tcp, stack);
      // Closing sends FINs/RSTs: flush them before the device goes.
      up.onCleanup(() => {
        running.close();
        stack.flush();
      });
    } catch (error) {
      if (error instanceof SocketError) throw new FatalError(`--services: cannot listen: ${error.code}`);
      throw error;
    }

    console.log(`ready ${[...up.fields, `services=${formatServices(config.services)}`].join(' ')}`);

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, () => resolve(s));
    });
    const listing = formatSs(stack.tcp.connections(), stack.tcp.listeners());
    up.cleanup();
    console.log(`stopped by ${signal}; connections at that moment (ss -ti):`);
    console.log(listing);
    console.log('counters that moved:');
    console.log(formatCounters(counterDeltas(start, stack.counters)));
    const drops = DROP_REASONS.filter((r) => stack.drops[r] > 0).map((r) => [`drop ${r}`, stack.drops[r]] as const);
    if (drops.length > 0) console.log(formatCounters(drops));
    return 0;
  } catch (error) {
    up.cleanup();
    throw error;
  }
}
