/**
 * `tcpstack timeline FILE`: prints a trace recorded with `up --trace-file
 * FILE` as the same timeline `up --trace` prints live, filtered by connection
 * and kind.
 */
import { closeSync, createReadStream, fstatSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseCommandLine } from '../args.ts';
import { invokedAs } from '../program.ts';
import { FatalError, UsageError } from '../usage.ts';
import { KINDS, matches, parseFilterOptions, type TimelineFilter } from './filter.ts';
import { NoWallClockError, TimelinePrinter, type TimelineRecord } from './format.ts';
import { parseTimeFormat, type TimeFormat } from './time.ts';

export const TIMELINE_HELP = `usage: tcpstack timeline FILE [--conn PORT|ID,...] [--kind KIND,...]
                         [--time rel|wall|epoch]

Prints a trace recorded by 'tcpstack up --trace-file FILE' or 'tcpstack
connect --trace-file FILE' (JSON lines, one event a line; '-' reads stdin)
as a timeline, one line per event:

  TIME  CONNECTION                      WHAT
  0.000 198.18.0.2:7>198.18.0.1:41234 < S 0:0(0) win 64240 <mss 1460,sackOK,TS,nop,wscale 10>
  0.000 198.18.0.2:7>198.18.0.1:41234 SYN-RECV → ESTAB
  2.031 198.18.0.2:4001>198.18.0.1:39000 RST via closeWithUnread (tcp_send_active_reset, TCP_ABORT_ON_CLOSE) in __tcp_close (data_was_unread)

TIME is seconds since the trace started (see --time). Segments read like
tcpdump's: '<' received, '>' sent, the flags as tcpdump and packetdrill
write them (S, S., ., P., F., FP., R, R.: '.' is the ACK), sequence
numbers relative to each direction's first, ack, the window field, the
options, and for a retransmission what sent it: (RTO retransmit), (fast
retransmit), (TLP retransmit)...

  --conn LIST   only these connections: a port (either end) or an id
                LOCALPORT-REMOTEPORT; comma-separated, repeatable
  --kind LIST   only these kinds (${KINDS.join(', ')});
                comma-separated, repeatable
  --time CLOCK  the TIME column: rel, seconds since the trace started
                (default); wall, local time as tcpdump prints it
                (22:59:01.123456), to set beside a capture of the same run;
                epoch, seconds since 1970 as tcpdump -tt prints them
  -h, --help    show this help

Exit status: 0, 1 if FILE cannot be read or is not a trace, 2 on misuse.`;

export interface TimelineConfig {
  file: string;
  filter: TimelineFilter;
  time: TimeFormat;
}

export function parseTimelineArgs(argv: string[]): TimelineConfig {
  const { values, positionals } = parseCommandLine(
    { command: 'timeline', options: { conn: { type: 'string', multiple: true }, kind: { type: 'string', multiple: true }, time: { type: 'string' } }, positionals: true, help: TIMELINE_HELP },
    argv,
  );
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? `timeline needs FILE (try: ${invokedAs()} timeline --help)`
        : `timeline takes one FILE, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(' ')}`,
    );
  }
  return { file: positionals[0]!, filter: parseFilterOptions(values.kind, values.conn), time: values.time === undefined ? 'rel' : parseTimeFormat(values.time, '--time') };
}

/** Parses one line of a trace file; throws a message for the caller to place. */
export function parseRecord(line: string): TimelineRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error('not JSON');
  }
  if (typeof value !== 'object' || value === null || typeof (value as { kind?: unknown }).kind !== 'string' || typeof (value as { t?: unknown }).t !== 'number') {
    throw new Error('not a trace event (an object with "kind" and "t")');
  }
  return value as TimelineRecord;
}

/** Formats the records of `lines` through `filter`; calls `emit` for each line printed. */
export async function printTimeline(lines: AsyncIterable<string> | Iterable<string>, filter: TimelineFilter, emit: (line: string) => void, name = 'trace', time: TimeFormat = 'rel'): Promise<number> {
  const printer = new TimelinePrinter({ time });
  let n = 0;
  let printed = 0;
  for await (const raw of lines) {
    n++;
    if (raw.trim() === '') continue;
    let record: TimelineRecord;
    try {
      record = parseRecord(raw);
    } catch (error) {
      throw new FatalError(`timeline: ${name}:${n}: ${(error as Error).message}`);
    }
    if (record.kind === 'trace-start' || !matches(filter, record)) {
      printer.note(record);
      continue;
    }
    let line: string;
    try {
      line = printer.format(record)!;
    } catch (error) {
      if (error instanceof NoWallClockError) throw new FatalError(`timeline: ${name}:${n}: ${error.message}`);
      throw error;
    }
    emit(line);
    printed++;
  }
  return printed;
}

export async function runTimelineCommand(argv: string[]): Promise<number> {
  const config = parseTimelineArgs(argv);
  let input: NodeJS.ReadableStream = process.stdin;
  if (config.file !== '-') {
    let fd: number;
    try {
      fd = openSync(config.file, 'r');
    } catch (error) {
      throw new FatalError(`timeline: cannot read ${config.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw new FatalError(`timeline: cannot read ${config.file}: EISDIR`);
    }
    input = createReadStream('', { fd, encoding: 'utf8' });
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let buffer: string[] = [];
  const out = (line: string): void => {
    buffer.push(line);
    if (buffer.length >= 512) {
      process.stdout.write(`${buffer.join('\n')}\n`);
      buffer = [];
    }
  };
  try {
    await printTimeline(lines, config.filter, out, config.file === '-' ? 'stdin' : config.file, config.time);
  } finally {
    if (buffer.length > 0) process.stdout.write(`${buffer.join('\n')}\n`);
  }
  return 0;
}
