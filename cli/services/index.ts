/**
 * The services `tcpstack up` can run on the stack, their default ports, and
 * the parser for `--services name[:port],...`. The six standard services run
 * by default; the lab services (server programs that provoke one of Linux's
 * reset or flow-control paths) only when named, or all five as `lab`.
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import { UsageError } from '../usage.ts';
import { start as chargen } from './chargen.ts';
import { start as chat } from './chat.ts';
import { start as closeOnAccept } from './close-on-accept.ts';
import { start as daytime } from './daytime.ts';
import { start as discard } from './discard.ts';
import { start as echo } from './echo.ts';
import { start as http } from './http.ts';
import { start as linger0 } from './linger0.ts';
import { NO_ACCEPT_BACKLOG, start as noAccept } from './no-accept.ts';
import { start as noRead } from './no-read.ts';
import { start as partialRead } from './partial-read.ts';
import type { RunningService, StackView, StartService } from './service.ts';

export type { RunningService, StackView } from './service.ts';

export interface ServiceSpec {
  name: string;
  port: number;
  description: string;
  start: StartService;
  /** A lab service: not in the default set. */
  lab?: boolean;
  /** A third field NAME:PORT:VALUE the service takes (no-accept's backlog), and how to start it with one. */
  param?: {
    name: string;
    default: number;
    min: number;
    max: number;
    start: (provider: TcpProvider, stack: StackView, port: number, value: number) => RunningService;
  };
}

/** The group name that stands for every lab service. */
export const LAB_GROUP = 'lab';

export const SERVICES: readonly ServiceSpec[] = [
  { name: 'echo', port: 7, description: 'RFC 862: sends back every byte it receives', start: echo },
  { name: 'discard', port: 9, description: 'RFC 863: reads and throws away everything', start: discard },
  { name: 'daytime', port: 13, description: 'RFC 867: one line with the date and time, then closes', start: daytime },
  { name: 'chargen', port: 19, description: 'RFC 864: the rotating 72-character line pattern, 1 MiB/s per connection', start: chargen },
  { name: 'chat', port: 23, description: 'a line chat for telnet: lines go to every other user; /who, /quit', start: chat },
  { name: 'http', port: 80, description: "Node's http over the stack: status page, /counters, /connections", start: http },
  { name: 'partial-read', port: 4001, lab: true, description: 'reads 4096 bytes once, closes: RST if more was sent (TCPAbortOnClose)', start: partialRead },
  { name: 'close-on-accept', port: 4002, lab: true, description: 'accepts and closes at once (FIN)', start: closeOnAccept },
  { name: 'linger0', port: 4003, lab: true, description: 'SO_LINGER {1,0}, closes after the first read: RST (TCPAbortOnData)', start: linger0 },
  {
    name: 'no-accept',
    port: 4004,
    lab: true,
    description: `listen(BACKLOG, default ${NO_ACCEPT_BACKLOG}), never accepts: BACKLOG+1 complete, further SYNs dropped`,
    param: { name: 'BACKLOG', default: NO_ACCEPT_BACKLOG, min: 0, max: 4096, start: noAccept },
    start: noAccept,
  },
  { name: 'no-read', port: 4005, lab: true, description: 'accepts, never reads: the window closes, the peer probes, no RST', start: noRead },
];

export interface ServiceChoice {
  name: string;
  port: number;
  /** The NAME:PORT:VALUE field, present exactly for services that take one. */
  param?: number;
}

function defaultChoice(spec: ServiceSpec): ServiceChoice {
  return spec.param === undefined ? { name: spec.name, port: spec.port } : { name: spec.name, port: spec.port, param: spec.param.default };
}

export const DEFAULT_SERVICES: readonly ServiceChoice[] = SERVICES.filter((s) => !s.lab).map(defaultChoice);

/** Every lab service on its own port (what `--services lab` means). */
export const LAB_SERVICES: readonly ServiceChoice[] = SERVICES.filter((s) => s.lab).map(defaultChoice);

const helpName = (s: ServiceSpec): string => `${s.name}:${s.port}${s.param ? `[:${s.param.name}]` : ''}`;

/** Help text: one line per standard service. */
export const SERVICES_HELP = SERVICES.filter((s) => !s.lab).map((s) => `${helpName(s).padEnd(12)}${s.description}`);

/** Help text: one line per lab service. */
export const LAB_SERVICES_HELP = SERVICES.filter((s) => s.lab).map((s) => `${helpName(s).padEnd(26)}${s.description}`);

/**
 * Parses `name[:port[:value]],...` ("none" for no service, "lab" for every
 * lab service). Unknown names, bad ports or values, empty entries and a port
 * used twice are UsageErrors naming the culprit.
 */
export function parseServices(text: string): ServiceChoice[] {
  if (text.trim() === 'none') return [];
  if (text.trim() === '') throw new UsageError('--services: empty list (use "none" to run no service)');
  const known = [...SERVICES.map((s) => s.name), LAB_GROUP].join(', ');
  const chosen: ServiceChoice[] = [];
  const add = (choice: ServiceChoice): void => {
    const clash = chosen.find((c) => c.port === choice.port);
    if (clash) throw new UsageError(`--services: port ${choice.port} is given to both ${clash.name} and ${choice.name}`);
    chosen.push(choice);
  };
  for (const entry of text.split(',')) {
    const item = entry.trim();
    if (item === '') throw new UsageError(`--services ${JSON.stringify(text)}: empty entry`);
    const [name, portText, paramText, ...rest] = item.split(':') as [string, ...string[]];
    if (name === LAB_GROUP) {
      if (portText !== undefined) throw new UsageError(`--services: ${JSON.stringify(item)}: "${LAB_GROUP}" takes no port (name the lab services one by one)`);
      for (const choice of LAB_SERVICES) add({ ...choice });
      continue;
    }
    const spec = SERVICES.find((s) => s.name === name);
    if (spec === undefined) throw new UsageError(`--services: unknown service ${JSON.stringify(name)} (known: ${known})`);
    const choice = defaultChoice(spec);
    if (portText !== undefined) {
      if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
        throw new UsageError(`--services: ${JSON.stringify(item)}: the port must be an integer from 1 to 65535`);
      }
      choice.port = Number(portText);
    }
    if (paramText !== undefined || rest.length > 0) {
      const p = spec.param;
      if (p === undefined || rest.length > 0) {
        throw new UsageError(`--services: ${JSON.stringify(item)}: expected ${helpName(spec).replace(/:\d+/, ':PORT')}`);
      }
      if (!/^\d{1,9}$/.test(paramText!) || Number(paramText) < p.min || Number(paramText) > p.max) {
        throw new UsageError(`--services: ${JSON.stringify(item)}: ${p.name} must be an integer from ${p.min} to ${p.max}`);
      }
      choice.param = Number(paramText);
    }
    add(choice);
  }
  return chosen;
}

/** For the ready line: "echo:7,discard:9,...,no-accept:4004:1" or "none". */
export function formatServices(choices: readonly ServiceChoice[]): string {
  return choices.length === 0 ? 'none' : choices.map((c) => `${c.name}:${c.port}${c.param === undefined ? '' : `:${c.param}`}`).join(',');
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
      const param = spec.param;
      services.push(
        param !== undefined && choice.param !== undefined
          ? param.start(provider, stack, choice.port, choice.param)
          : spec.start(provider, stack, choice.port),
      );
    }
  } catch (error) {
    close();
    throw error;
  }
  return { services, close };
}
