/**
 * packetdrill's options (config.c): the one table a script's own option
 * lines (`--tolerance_usecs=10000` before the first event) and the command
 * line of `tcpstack pkt` are read with, what each sets, and getopt_long's
 * way of reading a command line, so that `tcpstack pkt` takes every
 * argument list packetdrill takes (run_all.py's, ksft_runner.sh's):
 *
 *   --name=value, --name value, --name (flags), a unique prefix of a name,
 *   -D NAME=VALUE, -DNAME=VALUE, --define=NAME=VALUE, -v, --verbose,
 *
 * plus our own `--seed N` and `-h`/`--help`. Options about packetdrill's
 * machinery (the wire server, the tun device's gateway and netmask, code
 * generation, shared-object plugins) are accepted and mean nothing here.
 */
import { IP_VERSIONS, parseIpVersion } from './ip-version.ts';

export interface OptionSpec {
  /** The option takes an argument (getopt_long's has_arg). */
  arg: boolean;
  /** Accepted and meaningless for the runner: a script's use of it warns. */
  ignored?: boolean;
}

/** config.c's `options[]`, by name. */
export const PACKETDRILL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  ip_version: { arg: true },
  bind_port: { arg: true },
  code_command: { arg: true, ignored: true },
  code_format: { arg: true, ignored: true },
  code_sockopt: { arg: true, ignored: true },
  connect_port: { arg: true },
  remote_ip: { arg: true },
  local_ip: { arg: true },
  gateway_ip: { arg: true, ignored: true },
  netmask_ip: { arg: true, ignored: true },
  speed: { arg: true, ignored: true },
  mss: { arg: true },
  mtu: { arg: true },
  init_scripts: { arg: true, ignored: true },
  tolerance_usecs: { arg: true },
  tolerance_percent: { arg: true },
  wire_client: { arg: false, ignored: true },
  wire_server: { arg: false, ignored: true },
  wire_server_ip: { arg: true, ignored: true },
  wire_server_at: { arg: true, ignored: true },
  wire_server_port: { arg: true, ignored: true },
  wire_client_dev: { arg: true, ignored: true },
  wire_server_dev: { arg: true, ignored: true },
  so_filename: { arg: true, ignored: true },
  so_flags: { arg: true, ignored: true },
  tcp_ts_ecr_scaled: { arg: false },
  tcp_ts_tick_usecs: { arg: true },
  strict_segments: { arg: false },
  non_fatal: { arg: true, ignored: true },
  dry_run: { arg: false, ignored: true },
  is_anyip: { arg: false, ignored: true },
  send_omit_free: { arg: false, ignored: true },
  psp_udp_port: { arg: true, ignored: true },
  debug: { arg: false },
  define: { arg: true },
  verbose: { arg: false },
};

/**
 * Options that say how packetdrill reaches the kernel (its tun device's
 * gateway and netmask; send() of a buffer it does not free): the suites'
 * runners pass them for every script, and they have no counterpart here,
 * so on the command line they are taken silently (in a script they warn).
 */
export const SILENT_ON_COMMAND_LINE: ReadonlySet<string> = new Set(['gateway_ip', 'netmask_ip', 'send_omit_free']);

/** The settings an option sets (packetdrill's struct config, the part the runner uses). */
export interface OptionTarget {
  toleranceUsecs: number;
  tolerancePercent: number;
  /** --mss: the GSO size packetdrill gives injected TCP packets (the virtio header's gso_size); 0: none. */
  mss: number;
  /** --mtu; undefined until finalized: the IP version's (VERSION_DEFAULTS). */
  mtu: number | undefined;
  /** µs per outbound TS val tick; 0 (the default) leaves TS val unchecked. */
  tsTickUsecs: number;
  /** --local_ip and --remote_ip as given (undefined: the IP version's), read in the wire's family once the options are all in. */
  localIpText: string | undefined;
  remoteIpText: string | undefined;
  bindPort: number;
  connectPort: number;
  tsEcrScaled: boolean;
  strictSegments: boolean;
}

/**
 * A definition's NAME and VALUE (process_option's OPT_DEFINE): the text up
 * to the first `=` and the rest; undefined when there is no `=` or nothing
 * before it ("bad definition").
 */
export function splitDefinition(text: string): { name: string; value: string } | undefined {
  const eq = text.indexOf('=');
  if (eq <= 0) return undefined;
  return { name: text.slice(0, eq), value: text.slice(eq + 1) };
}

/**
 * Applies one known option with its value (process_option); returns the
 * error message (`bad --mtu: x`), or undefined. The IP version and the
 * definitions are read by the parser (they decide how the events read),
 * so here they are only checked.
 */
export function applyOption(c: OptionTarget, name: string, value: string | undefined): string | undefined {
  const v = value ?? '';
  const bad = `bad --${name}: ${v}`;
  const int = (min: number, max: number): number | undefined => {
    const n = Number(v);
    return /^-?\d+$/.test(v) && n >= min && n <= max ? n : undefined;
  };
  const set = (n: number | undefined, to: (n: number) => void): string | undefined => {
    if (n === undefined) return bad;
    to(n);
    return undefined;
  };
  switch (name) {
    case 'tolerance_usecs':
      return set(int(1, Number.MAX_SAFE_INTEGER), (n) => (c.toleranceUsecs = n));
    case 'tolerance_percent': {
      const n = Number(v);
      return set(v.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 100 ? n : undefined, (p) => (c.tolerancePercent = p));
    }
    case 'mss':
      return set(int(1, 65535), (n) => (c.mss = n));
    case 'mtu':
      return set(int(68, 65535), (n) => (c.mtu = n));
    case 'tcp_ts_tick_usecs':
      return set(int(0, 1000000), (n) => (c.tsTickUsecs = n));
    case 'bind_port':
      return set(int(1, 65535), (n) => (c.bindPort = n));
    case 'connect_port':
      return set(int(1, 65535), (n) => (c.connectPort = n));
    case 'local_ip':
      c.localIpText = v;
      return undefined;
    case 'remote_ip':
      c.remoteIpText = v;
      return undefined;
    case 'tcp_ts_ecr_scaled':
      c.tsEcrScaled = true;
      return undefined;
    case 'strict_segments':
      c.strictSegments = true;
      return undefined;
    case 'ip_version':
      return parseIpVersion(v) === undefined ? `--ip_version expects one of ${IP_VERSIONS.join(', ')}, got ${JSON.stringify(v)}` : undefined;
    case 'define':
      return splitDefinition(v) === undefined ? `bad definition: ${v}` : undefined;
    default:
      return undefined; // verbose, debug, and the ignored ones
  }
}

// ---------------------------------------------------------------------------
// The command line, read as getopt_long(argc, argv, "vD:", options) reads it.

export interface PktCommandLine {
  /** packetdrill's options in command-line order, `-D X=Y` as `define`. */
  options: Array<{ name: string; value: string | undefined }>;
  files: string[];
  seed: string | undefined;
  verbose: boolean;
  help: boolean;
}

/** The runner's own options beside packetdrill's. */
const OWN: Readonly<Record<string, OptionSpec>> = { seed: { arg: true }, help: { arg: false } };

export type CommandLineProblem =
  | { kind: 'unknown'; option: string }
  | { kind: 'ambiguous'; option: string; candidates: string[] }
  | { kind: 'needs-value'; name: string }
  | { kind: 'no-value'; name: string; value: string };

export class CommandLineError extends Error {
  constructor(readonly problem: CommandLineProblem) {
    super(problem.kind);
  }
}

/** getopt_long's long-option lookup: the exact name, else the only name it is a prefix of. */
function lookup(name: string, table: Readonly<Record<string, OptionSpec>>): string {
  if (table[name] !== undefined) return name;
  const candidates = Object.keys(table).filter((k) => k.startsWith(name));
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) throw new CommandLineError({ kind: 'ambiguous', option: `--${name}`, candidates });
  throw new CommandLineError({ kind: 'unknown', option: `--${name}` });
}

/**
 * Reads `tcpstack pkt`'s arguments as packetdrill's getopt_long does:
 * options and script paths in any order (getopt permutes), `--` ends the
 * options, an option's argument is the next word whatever it starts with.
 */
export function readPktCommandLine(argv: readonly string[]): PktCommandLine {
  const table: Record<string, OptionSpec> = { ...PACKETDRILL_OPTIONS, ...OWN };
  const out: PktCommandLine = { options: [], files: [], seed: undefined, verbose: false, help: false };
  const take = (name: string, value: string | undefined): void => {
    if (name === 'seed') out.seed = value;
    else if (name === 'help') out.help = true;
    else {
      if (name === 'verbose') out.verbose = true;
      out.options.push({ name, value });
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.files.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = lookup(eq < 0 ? a.slice(2) : a.slice(2, eq), table);
      const spec = table[name]!;
      let value = eq < 0 ? undefined : a.slice(eq + 1);
      if (!spec.arg && value !== undefined) throw new CommandLineError({ kind: 'no-value', name, value });
      if (spec.arg && value === undefined) {
        if (i + 1 >= argv.length) throw new CommandLineError({ kind: 'needs-value', name });
        value = argv[++i]!;
      }
      take(name, value);
    } else if (a.startsWith('-') && a.length > 1) {
      // Short options, clustered as getopt allows: -v, -h, -D X=Y, -DX=Y, -vDX=Y.
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        if (c === 'v') take('verbose', undefined);
        else if (c === 'h') take('help', undefined);
        else if (c === 'D') {
          let value = a.slice(j + 1);
          if (value === '') {
            if (i + 1 >= argv.length) throw new CommandLineError({ kind: 'needs-value', name: 'define' });
            value = argv[++i]!;
          }
          take('define', value);
          break;
        } else throw new CommandLineError({ kind: 'unknown', option: `-${c}` });
      }
    } else {
      out.files.push(a);
    }
  }
  return out;
}

/** Every long option `tcpstack pkt` takes (for hints). */
export function pktOptionNames(): string[] {
  return [...Object.keys(PACKETDRILL_OPTIONS), ...Object.keys(OWN)];
}
