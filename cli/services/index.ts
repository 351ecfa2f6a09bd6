/**
 * The services `tcpstack up` can run on the stack, their default ports, and
 * the parser for `--services name[:port],...`.
 */
import type { TcpProvider } from '../../stack/socket/node.ts';
import { UsageError } from '../usage.ts';
import { start as chargen } from './chargen.ts';
import { start as chat } from './chat.ts';
import { start as daytime } from './daytime.ts';
import { start as discard } from './discard.ts';
import { start as echo } from './echo.ts';
import { start as http } from './http.ts';
import type { RunningService, StackView, StartService } from './service.ts';

export type { RunningService, StackView } from './service.ts';

export interface ServiceSpec {
  name: string;
  port: number;
  description: string;
  start: StartService;
}

export const SERVICES: readonly ServiceSpec[] = [
  { name: 'echo', port: 7, description: 'RFC 862: sends back every byte it receives', start: echo },
  { name: 'discard', port: 9, description: 'RFC 863: reads and throws away everything', start: discard },
  { name: 'daytime', port: 13, description: 'RFC 867: one line with the date and time, then closes', start: daytime },
  { name: 'chargen', port: 19, description: 'RFC 864: the rotating 72-character line pattern, 1 MiB/s per connection', start: chargen },
  { name: 'chat', port: 23, description: 'a line chat for telnet: lines go to every other user; /who, /quit', start: chat },
  { name: 'http', port: 80, description: "Node's http over the stack: status page, /counters, /connections", start: http },
];

export interface ServiceChoice {
  name: string;
  port: number;
}

export const DEFAULT_SERVICES: readonly ServiceChoice[] = SERVICES.map(({ name, port }) => ({ name, port }));

/** Help text: one line per service. */
export const SERVICES_HELP = SERVICES.map((s) => `${`${s.name}:${s.port}`.padEnd(12)}${s.description}`);

/**
 * Parses `name[:port],...` ("none" for no service). Unknown names, bad ports,
 * empty entries and a port used twice are UsageErrors naming the culprit.
 */
export function parseServices(text: string): ServiceChoice[] {
  if (text.trim() === 'none') return [];
  if (text.trim() === '') throw new UsageError('--services: empty list (use "none" to run no service)');
  const known = SERVICES.map((s) => s.name).join(', ');
  const chosen: ServiceChoice[] = [];
  for (const entry of text.split(',')) {
    const item = entry.trim();
    if (item === '') throw new UsageError(`--services ${JSON.stringify(text)}: empty entry`);
    const colon = item.indexOf(':');
    const name = colon < 0 ? item : item.slice(0, colon);
    const spec = SERVICES.find((s) => s.name === name);
    if (spec === undefined) throw new UsageError(`--services: unknown service ${JSON.stringify(name)} (known: ${known})`);
    let port = spec.port;
    if (colon >= 0) {
      const portText = item.slice(colon + 1);
      if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
        throw new UsageError(`--services: ${JSON.stringify(item)}: the port must be an integer from 1 to 65535`);
      }
      port = Number(portText);
    }
    const clash = chosen.find((c) => c.port === port);
    if (clash) throw new UsageError(`--services: port ${port} is given to both ${clash.name} and ${name}`);
    chosen.push({ name, port });
  }
  return chosen;
}

/** For the ready line: "echo:7,discard:9,..." or "none". */
export function formatServices(choices: readonly ServiceChoice[]): string {
  return choices.length === 0 ? 'none' : choices.map((c) => `${c.name}:${c.port}`).join(',');
}

export interface RunningServices {
  readonly services: readonly RunningService[];
  close(): void;
}

/** Starts every choice; if one cannot listen, the ones already started are closed and the error is thrown. */
export function startServices(choices: readonly ServiceChoice[], provider: TcpProvider, stack: StackView): RunningServices {
  const services: RunningService[] = [];
  const close = (): void => {
    for (const s of services.splice(0).reverse()) s.close();
  };
  try {
    for (const choice of choices) {
      const spec = SERVICES.find((s) => s.name === choice.name)!;
      services.push(spec.start(provider, stack, choice.port));
    }
  } catch (error) {
    close();
    throw error;
  }
  return { services, close };
}
