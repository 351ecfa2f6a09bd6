/**
 * The trace sink of a running command (`up --trace [FILTER]`, `--trace-file
 * FILE`): prints the timeline and/or records every event as a JSON line.
 * Output is buffered and written once per turn of the event loop, so a burst
 * of segments costs one write, not one per line.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Stack } from '../../stack/stack.ts';
import type { TraceEvent, TraceSink } from '../../stack/trace.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { FatalError } from '../usage.ts';
import { TraceHub } from '../../tun/trace-hub.ts';
import { matches, type TimelineFilter } from './filter.ts';
import { TimelinePrinter, type TraceHeader } from './format.ts';
import { isoMicro, type TimeFormat } from './time.ts';

/** Lines collected and written in one piece on the next macrotask (or at flush()). */
class BufferedLines {
  private pending: string[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly write: (text: string) => void) {}

  push(line: string): void {
    this.pending.push(line);
    if (this.scheduled === undefined) this.scheduled = setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.write(text);
  }
}

export interface LiveTraceOptions {
  /** Print the timeline of the events matching this filter to `out`. */
  print?: TimelineFilter;
  /** Append every event to this file as one JSON line (the file is truncated first). */
  file?: string;
  /** Where the timeline goes (default: stdout). */
  out?: (text: string) => void;
  /** The timeline's TIME column (default rel: seconds since the trace started). */
  time?: TimeFormat;
}

export interface LiveTrace {
  /** Writes what is buffered (call before printing anything else that must come after). */
  flush(): void;
  /** Uninstalls the sink, flushes and closes the file. */
  close(): void;
}

/**
 * The header line of a trace file for `stack`, starting now. `wall` is to the
 * microsecond (performance.timeOrigin + now(): the real-time clock a capture's
 * timestamps come from, read with the monotonic clock's resolution), so the
 * timeline's wall-clock column can be set beside tcpdump's.
 */
export function traceHeader(stack: Stack): TraceHeader {
  const addr6 = stack.address6 === undefined ? {} : { addr6: stack.addresses.format(stack.address6) };
  const t = stack.clock.now();
  return { kind: 'trace-start', t, version: 1, addr: formatIpv4(stack.address), ...addr6, wall: isoMicro(performance.timeOrigin + performance.now()) };
}

/** Attaches the sink to `stack`'s trace (beside any other listener: tun/trace-hub.ts). */
export function installLiveTrace(stack: Stack, options: LiveTraceOptions): LiveTrace {
  const header = traceHeader(stack);
  let fileOut: BufferedLines | undefined;
  let fd: number | undefined;
  if (options.file !== undefined) {
    try {
      fd = openSync(options.file, 'wx'); // O_EXCL: never overwrites a file
    } catch (error) {
      throw new FatalError(`--trace-file ${options.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const descriptor = fd;
    fileOut = new BufferedLines((text) => writeSync(descriptor, text));
    fileOut.push(JSON.stringify(header));
  }
  const filter = options.print;
  const printer = new TimelinePrinter({ start: header.t, time: options.time });
  printer.note(header);
  const out = options.out ?? ((text: string) => process.stdout.write(text));
  const printOut = filter !== undefined ? new BufferedLines(out) : undefined;

  const sink: TraceSink = (e: TraceEvent) => {
    fileOut?.push(JSON.stringify(e));
    if (filter === undefined) return;
    if (matches(filter, e)) printOut!.push(printer.format(e)!);
    else printer.note(e);
  };
  const detach = TraceHub.of(stack).attach(sink);
  let closed = false;
  return {
    flush() {
      printOut?.flush();
      fileOut?.flush();
    },
    close() {
      if (closed) return;
      closed = true;
      detach();
      printOut?.flush();
      fileOut?.flush();
      if (fd !== undefined) closeSync(fd);
    },
  };
}
