/**
 * The trace options `up` and `connect` share: --trace [FILTER] (the live
 * timeline), --trace-time CLOCK (its TIME column) and --trace-file FILE
 * (every record, as JSON lines); parsed before anything is created, and
 * started on the running device so that the trace ends after the last
 * segment of the teardown.
 */
import type { RunningDevice } from '../device.ts';
import { checkOutputFile } from '../output-file.ts';
import { UsageError } from '../usage.ts';
import { wrapWords } from '../wrap.ts';
import { KINDS, QUIET_KINDS, parseTraceFilter, type TimelineFilter } from './filter.ts';
import { installLiveTrace } from './live.ts';
import { parseTimeFormat, type TimeFormat } from './time.ts';

export const TRACE_OPTIONS = { trace: { type: 'string' }, 'trace-time': { type: 'string' }, 'trace-file': { type: 'string' } } as const;

export interface TraceConfig {
  /** Print the timeline of the events this filter lets through (--trace). */
  print: TimelineFilter | undefined;
  /** The live timeline's TIME column (--trace-time). */
  time: TimeFormat;
  /** Record every event to this file (--trace-file). */
  file: string | undefined;
}

/** One option of a help text: the name in 24 columns, its text wrapped beside it. */
function helpEntry(name: string, text: string): string {
  const pad = ' '.repeat(24);
  return wrapWords(text, 24)
    .map((l, i) => (i === 0 ? `  ${name.padEnd(22)}${l}` : `${pad}${l}`))
    .join('\n');
}

/**
 * The help lines of the three options. `joined`: FILTER only as
 * --trace=FILTER (connect, whose HOST PORT would otherwise be read as one);
 * `where`: where the timeline is printed.
 */
export function traceHelp(options: { joined: boolean; where: string }): string {
  const kinds = KINDS.filter((k) => !QUIET_KINDS.includes(k)).join(', ');
  const filter = options.joined ? '--trace[=FILTER]' : '--trace [FILTER]';
  const example = options.joined ? '--trace=7,seg,rst' : '--trace 7,seg,rst';
  return [
    helpEntry(
      filter,
      `print ${options.where} a timeline of what the stack does, one line per event: segments in (<) and out (>), state changes, timers, RSTs with the path and Linux's reason, errors, drops. FILTER (optional${options.joined ? ', after =' : ''}): a comma-separated list of kinds (${kinds}; ${QUIET_KINDS.join(' and ')}, the state after each ACK and each timer armed, only when named) and connections (a port, or LOCALPORT-REMOTEPORT), e.g. ${example}`,
    ),
    helpEntry(
      '--trace-time CLOCK',
      "the timeline's TIME column: rel (seconds since the trace started, the default), wall (local time as tcpdump prints it, 22:59:01.123456, to set beside a capture), epoch (tcpdump -tt's seconds since 1970)",
    ),
    helpEntry('--trace-file FILE', 'record every event to FILE, one JSON object a line (print it later: tcpstack timeline FILE); its directory must exist and FILE must not'),
  ].join('\n');
}

/**
 * `--trace` takes an optional FILTER: `--trace`, `--trace FILTER` and
 * `--trace=FILTER` become `--trace=FILTER` ('' for all) for parseArgs. With
 * `nextWord`, a word after `--trace` is its filter unless it starts with '-'
 * (for up, which takes no positional arguments, nothing else could be
 * meant); without (connect), only `--trace=FILTER` gives one.
 */
export function normaliseTrace(argv: string[], nextWord: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a !== '--trace') {
      out.push(a);
      continue;
    }
    const next = argv[i + 1];
    if (nextWord && next !== undefined && !next.startsWith('-')) {
      out.push(`--trace=${next}`);
      i++;
    } else {
      out.push('--trace=');
    }
  }
  return out;
}

/** Checks the three options (the file must be free to create) and returns what to start. */
export function parseTraceOptions(values: { trace?: string; 'trace-time'?: string; 'trace-file'?: string }): TraceConfig {
  const print = values.trace === undefined ? undefined : parseTraceFilter(values.trace);
  const timeWord = values['trace-time'];
  if (timeWord !== undefined && print === undefined) throw new UsageError("--trace-time needs --trace (it is the live timeline's TIME column; a trace file is printed with: tcpstack timeline FILE --time CLOCK)");
  const time = timeWord === undefined ? 'rel' : parseTimeFormat(timeWord, '--trace-time');
  const file = values['trace-file'];
  if (file !== undefined) checkOutputFile('--trace-file', file);
  return { print, time, file };
}

/** Starts what `config` asks for on `up`; it stops at teardown, after what is registered later (the last segments are traced). */
export function startTrace(up: RunningDevice, config: TraceConfig, out?: (text: string) => void): void {
  if (config.print === undefined && config.file === undefined) return;
  const live = installLiveTrace(up.stack, { print: config.print, file: config.file, time: config.time, ...(out === undefined ? {} : { out }) });
  up.onCleanup(() => live.close());
}
