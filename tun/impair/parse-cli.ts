/**
 * The impairment options of `tcpstack up` and `tcpstack connect` (declared
 * and validated in cli/device.ts through this module), their help text, and
 * the one-line summary printed with the seed.
 *
 *   --loss 5%  --delay 50ms~10ms  --dup 1%  --reorder 2%  --corrupt 0.5%
 *   --rate 20mbit  --mtu-clamp 1400  --blackout 2s-5s  --faults rules.json  --seed 42
 *
 * Each applies to both directions unless its value starts with "in:" (towards
 * the stack) or "out:" (from the stack), e.g. `--loss in:5% --loss out:1%`;
 * each may be given once per direction (--blackout any number of times).
 */
import { randomInt } from 'node:crypto';
import { isActive, type ImpairConfig } from './impairment.ts';
import { DEFAULT_QUEUE_PACKETS, DEFAULT_REORDER_HOLD_MS, type DirectionFaults, type Window } from './random-faults.ts';
import { loadRules } from './rules.ts';
import { ImpairSyntaxError, formatProbability, formatRate, formatTime, parseProbability, parseRate, parseSize, parseTime } from './units.ts';

/** `parseArgs` declarations (spread into DEVICE_OPTIONS). */
export const IMPAIR_OPTIONS = {
  loss: { type: 'string', multiple: true },
  delay: { type: 'string', multiple: true },
  dup: { type: 'string', multiple: true },
  reorder: { type: 'string', multiple: true },
  corrupt: { type: 'string', multiple: true },
  rate: { type: 'string', multiple: true },
  'mtu-clamp': { type: 'string', multiple: true },
  blackout: { type: 'string', multiple: true },
  faults: { type: 'string' },
  seed: { type: 'string' },
} as const;

export interface ImpairValues {
  loss?: string[];
  delay?: string[];
  dup?: string[];
  reorder?: string[];
  corrupt?: string[];
  rate?: string[];
  'mtu-clamp'?: string[];
  blackout?: string[];
  faults?: string;
  seed?: string;
}

export const IMPAIR_HELP = `impairments (on the device; each applies to both directions, or to one when
its value starts with in: = towards the stack or out: = from the stack, e.g.
--loss in:5%; each may be given once per direction):
  --loss [DIR:]P        drop a packet with probability P (5% or 0.05)
  --delay [DIR:]T[~J][,unordered]
                        delay every packet by T with uniform jitter +-J, e.g.
                        50ms~10ms; order is kept (a packet never passes the one
                        ahead of it) unless ,unordered
  --dup [DIR:]P         send a packet twice with probability P
  --reorder [DIR:]P[,hold=T]
                        hold a packet back 1 ms to T (default ${DEFAULT_REORDER_HOLD_MS}ms) with
                        probability P, so the ones behind it overtake it
  --corrupt [DIR:]P     flip one bit of the transport header or data with
                        probability P; the receiver's checksum always catches
                        it (counted in its *InCsumErrors)
  --rate [DIR:]R[,queue=N|SIZE]
                        serialise packets at R (bit, kbit, mbit, gbit per
                        second; bps, kbps, mbps bytes per second), queueing at
                        most N packets (default ${DEFAULT_QUEUE_PACKETS}) or SIZE bytes (e.g. 64kb),
                        dropping at the tail beyond
  --mtu-clamp [DIR:]N   drop every packet longer than N bytes, silently (a path
                        MTU black hole: no ICMP "fragmentation needed")
  --blackout [DIR:]T1-T2
                        drop everything from T1 to T2 after start, e.g. 2s-5s;
                        repeatable
  --faults FILE         targeted faults from a JSON rule file: match direction,
                        IP version, addresses or prefixes (IPv4 or IPv6),
                        protocol, TCP flags, ports, payload length, the Nth or
                        every Nth packet, a time window; drop, delay, duplicate,
                        corrupt, rewrite, inject, blackout (docs/impairments.md)
  --seed N              seed of the random faults, 0-4294967295 (default: a
                        random one, printed; the same seed repeats the faults)`;

const DIR_PREFIX = /^(in|out):(.*)$/s;
type Dir = 'in' | 'out';

/** Splits "in:5%" into its directions and value. */
function splitDirection(value: string): { dirs: Dir[]; rest: string } {
  const m = DIR_PREFIX.exec(value);
  return m ? { dirs: [m[1] as Dir], rest: m[2]! } : { dirs: ['in', 'out'], rest: value };
}

/** "50ms~10ms,unordered" → main "50ms~10ms", modifiers ["unordered"]. */
function splitModifiers(text: string): { main: string; modifiers: string[] } {
  const [main, ...modifiers] = text.split(',');
  return { main: main!, modifiers };
}

function onlyModifiers(option: string, modifiers: string[], known: string[]): void {
  for (const m of modifiers) {
    const key = m.split('=')[0]!;
    if (!known.includes(key)) {
      throw new ImpairSyntaxError(
        known.length === 0 ? `${option} takes no ",${m}"` : `${option}: unknown ",${m}" (known: ${known.map((k) => `,${k}`).join(' ')})`,
      );
    }
  }
}

function parseMtuClamp(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 68 || Number(text) > 65535) {
    throw new ImpairSyntaxError(`${JSON.stringify(text)}: expected a packet size from 68 to 65535 bytes`);
  }
  return Number(text);
}

function parseWindow(text: string): Window {
  const m = /^([^-]+)-([^-]+)$/.exec(text);
  if (!m) throw new ImpairSyntaxError(`${JSON.stringify(text)}: expected T1-T2, e.g. 2s-5s`);
  const from = parseTime(m[1]!);
  const until = parseTime(m[2]!);
  if (until <= from) throw new ImpairSyntaxError(`${JSON.stringify(text)}: the window ends before it starts`);
  return { from, until };
}

type Setter = (faults: DirectionFaults, text: string, option: string) => void;

const SETTERS: Record<Exclude<keyof ImpairValues, 'faults' | 'seed' | 'blackout'>, Setter> = {
  loss: (f, text, option) => {
    onlyModifiers(option, splitModifiers(text).modifiers, []);
    f.loss = parseProbability(text);
  },
  dup: (f, text, option) => {
    onlyModifiers(option, splitModifiers(text).modifiers, []);
    f.dup = parseProbability(text);
  },
  corrupt: (f, text, option) => {
    onlyModifiers(option, splitModifiers(text).modifiers, []);
    f.corrupt = parseProbability(text);
  },
  reorder: (f, text, option) => {
    const { main, modifiers } = splitModifiers(text);
    onlyModifiers(option, modifiers, ['hold']);
    f.reorder = { probability: parseProbability(main) };
    for (const m of modifiers) {
      const hold = parseTime(m.slice('hold='.length));
      if (hold < 1) throw new ImpairSyntaxError(`${JSON.stringify(m)}: the hold is at least 1ms`);
      f.reorder.holdMs = hold;
    }
  },
  delay: (f, text, option) => {
    const { main, modifiers } = splitModifiers(text);
    onlyModifiers(option, modifiers, ['unordered', 'ordered']);
    const [base, jitter, extra] = main.split('~');
    if (extra !== undefined || jitter === '') throw new ImpairSyntaxError(`${JSON.stringify(main)}: expected T or T~J, e.g. 50ms~10ms`);
    f.delay = { ms: parseTime(base!), jitterMs: jitter === undefined ? 0 : parseTime(jitter), ordered: !modifiers.includes('unordered') };
  },
  rate: (f, text, option) => {
    const { main, modifiers } = splitModifiers(text);
    onlyModifiers(option, modifiers, ['queue']);
    f.rate = { bitsPerSecond: parseRate(main) };
    for (const m of modifiers) {
      const q = m.slice('queue='.length);
      if (/^\d+$/.test(q)) {
        if (Number(q) < 1) throw new ImpairSyntaxError(`${JSON.stringify(m)}: the queue holds at least 1 packet`);
        f.rate.queuePackets = Number(q);
      } else if (/^\d+[a-z]+$/i.test(q)) {
        f.rate.queueBytes = parseSize(q);
      } else {
        throw new ImpairSyntaxError(`${JSON.stringify(m)}: expected queue=N (packets) or queue=SIZE (bytes, e.g. 64kb)`);
      }
    }
  },
  'mtu-clamp': (f, text, option) => {
    onlyModifiers(option, splitModifiers(text).modifiers, []);
    f.mtu = parseMtuClamp(text);
  },
};

export interface ParsedImpairment {
  config: ImpairConfig;
  /** True when --seed chose the seed (false: drawn at random, to be printed). */
  seedGiven: boolean;
  faultsFile: string | undefined;
}

/**
 * Validates the impairment options; undefined when none is given. Throws an
 * ImpairSyntaxError whose message is one line starting with the option.
 */
export function parseImpairOptions(values: ImpairValues, pickSeed: () => number = () => randomInt(0, 2 ** 32)): ParsedImpairment | undefined {
  const dirs: Record<Dir, DirectionFaults> = { in: {}, out: {} };
  const given = new Set<string>();
  for (const key of Object.keys(SETTERS) as Array<keyof typeof SETTERS>) {
    const option = `--${key}`;
    for (const value of values[key] ?? []) {
      const { dirs: which, rest } = splitDirection(value);
      for (const d of which) {
        if (given.has(`${key}/${d}`)) throw new ImpairSyntaxError(`${option}: given twice for direction ${d} (once for both, or once each with in: and out:)`);
        given.add(`${key}/${d}`);
      }
      try {
        for (const d of which) SETTERS[key](dirs[d], rest, option);
      } catch (error) {
        if (error instanceof ImpairSyntaxError && !error.message.startsWith('--')) throw new ImpairSyntaxError(`${option} ${error.message}`);
        throw error;
      }
    }
  }
  for (const value of values.blackout ?? []) {
    const { dirs: which, rest } = splitDirection(value);
    let w: Window;
    try {
      w = parseWindow(rest);
    } catch (error) {
      throw new ImpairSyntaxError(`--blackout ${(error as Error).message}`);
    }
    for (const d of which) (dirs[d].blackouts ??= []).push(w);
  }
  let rules;
  if (values.faults !== undefined) {
    try {
      rules = loadRules(values.faults);
    } catch (error) {
      if (error instanceof ImpairSyntaxError) throw new ImpairSyntaxError(`--faults ${values.faults}: ${error.message}`);
      throw error;
    }
  }
  let seed: number | undefined;
  if (values.seed !== undefined) {
    if (!/^\d+$/.test(values.seed) || Number(values.seed) > 0xffffffff) {
      throw new ImpairSyntaxError(`--seed expects an integer from 0 to 4294967295, got ${JSON.stringify(values.seed)}`);
    }
    seed = Number(values.seed);
  }
  const config: ImpairConfig = { seed: seed ?? 0, in: dirs.in, out: dirs.out, rules };
  if (!isActive(config) && values.faults === undefined) {
    if (seed !== undefined) throw new ImpairSyntaxError('--seed only applies with an impairment (--loss, --delay, --dup, --reorder, --corrupt, ...)');
    return undefined;
  }
  if (seed === undefined) config.seed = pickSeed();
  return { config, seedGiven: seed !== undefined, faultsFile: values.faults };
}

function describeFaults(f: DirectionFaults): string[] {
  const parts: string[] = [];
  if (f.loss) parts.push(`loss ${formatProbability(f.loss)}`);
  if (f.delay) {
    const jitter = f.delay.jitterMs ? `~${formatTime(f.delay.jitterMs)}` : '';
    parts.push(`delay ${formatTime(f.delay.ms)}${jitter}${f.delay.ordered === false ? ' unordered' : ''}`);
  }
  if (f.dup) parts.push(`dup ${formatProbability(f.dup)}`);
  if (f.reorder) parts.push(`reorder ${formatProbability(f.reorder.probability)} hold<=${formatTime(f.reorder.holdMs ?? DEFAULT_REORDER_HOLD_MS)}`);
  if (f.corrupt) parts.push(`corrupt ${formatProbability(f.corrupt)}`);
  if (f.rate) {
    const q = f.rate.queueBytes !== undefined ? `${f.rate.queueBytes}B` : `${f.rate.queuePackets ?? DEFAULT_QUEUE_PACKETS}p`;
    parts.push(`rate ${formatRate(f.rate.bitsPerSecond)} queue ${q}`);
  }
  if (f.mtu !== undefined) parts.push(`mtu-clamp ${f.mtu}`);
  for (const w of f.blackouts ?? []) parts.push(`blackout ${formatTime(w.from)}-${formatTime(w.until)}`);
  return parts;
}

/**
 * One line: "both: loss 5%, dup 1%; rules: 4 from rules.json; seed 42".
 * Directions with the same faults are shown once as "both".
 */
export function describeImpairment(parsed: ParsedImpairment): string {
  const { config } = parsed;
  const inParts = describeFaults({ ...config.both, ...config.in });
  const outParts = describeFaults({ ...config.both, ...config.out });
  const sections: string[] = [];
  if (inParts.join() === outParts.join()) {
    if (inParts.length > 0) sections.push(`both: ${inParts.join(', ')}`);
  } else {
    if (inParts.length > 0) sections.push(`in: ${inParts.join(', ')}`);
    if (outParts.length > 0) sections.push(`out: ${outParts.join(', ')}`);
  }
  if (parsed.faultsFile !== undefined) sections.push(`rules: ${config.rules?.length ?? 0} from ${parsed.faultsFile}`);
  sections.push(`seed ${config.seed}`);
  return sections.join('; ');
}
