/**
 * `tcpstack plot FILE`: a connection's time-sequence graph, with the
 * sender's congestion window, RTT and in-flight panes on the same time axis
 * when FILE is a trace (`up --trace-file`, `connect --trace-file`); the wire
 * alone from a capture (pcap or pcapng). SVG or PNG, by the output's name.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseCommandLine } from '../args.ts';
import { checkOutputFile } from '../output-file.ts';
import { invokedAs } from '../program.ts';
import { FatalError, UsageError } from '../usage.ts';
import { parseRecord } from '../timeline/command.ts';
import { loadCapture } from './capture.ts';
import { TraceModel, type ConnectionSummary } from './model.ts';
import { PANES, type Pane } from './spec.ts';

export const PLOT_HELP = `usage: tcpstack plot FILE [-o OUT.svg|OUT.png] [--conn PORT|ID] [--dir out|in]
                    [--from S] [--to S] [--width PX] [--height PX] [--panes LIST] [--list]

Draws one connection of FILE: a time-sequence graph (data segments as
vertical bars, retransmissions coloured by mechanism, the ACK line, the
receive-window line, SACK blocks, RSTs with their reasons) and, when FILE
is a trace, the sender's congestion window and ssthresh, RTT samples with
SRTT and RTO, and segments in flight on the same time axis, Recovery and
Loss shaded. FILE is a trace recorded by 'tcpstack up --trace-file' or
'connect --trace-file', or a capture (pcap or pcapng: the wire alone; a
pcapng packet's comment is marked on the graph).

  -o, --output OUT  write OUT: SVG (zoom it in a browser) or PNG, by its
                    name's ending; a new file (its directory must exist)
  --conn PORT|ID    the connection: a port at either end, or LOCALPORT-
                    REMOTEPORT (default: the one that carried the most data)
  --dir out|in      whose data: our stack's (out) or the peer's (in)
                    (default: the direction that carried more)
  --from S, --to S  the time range, seconds since the trace began
  --width PX        the graphs' width (default 900); --height PX the
                    time-sequence graph's (default 420; each pane a third)
  --panes LIST      which graphs, top to bottom, comma-separated: tsg (the
                    time-sequence graph), cwnd, rtt, inflight (default: all
                    that FILE has data for)
  --list            list the connections of FILE and exit
  -h, --help        show this help

Exit status: 0, 1 if FILE cannot be read, 2 on misuse.
Example: tcpstack plot /tmp/run.trace --conn 7 -o /tmp/run.svg`;

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  conn: { type: 'string' },
  dir: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  panes: { type: 'string' },
  list: { type: 'boolean' },
} as const;

export interface PlotConfig {
  file: string;
  output: string | undefined;
  conn: string | undefined;
  dir: 'out' | 'in' | undefined;
  from: number | undefined;
  to: number | undefined;
  width: number | undefined;
  height: number | undefined;
  panes: Pane[] | undefined;
  list: boolean;
}

function seconds(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${option}: ${JSON.stringify(text)} is not a time in seconds (e.g. 1.5)`);
  return n;
}

function pixels(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 100 || n > 20000) throw new UsageError(`${option}: ${JSON.stringify(text)} is not a size in pixels (100-20000)`);
  return n;
}

function parsePanes(text: string): Pane[] {
  const words = text.split(',').map((w) => w.trim());
  for (const w of words) if (!(PANES as readonly string[]).includes(w)) throw new UsageError(`--panes: unknown pane ${JSON.stringify(w)} (known: ${PANES.join(', ')})`);
  return words as Pane[];
}

export function parsePlotArgs(argv: string[]): PlotConfig {
  const { values, positionals } = parseCommandLine({ command: 'plot', options: OPTIONS, positionals: true, help: PLOT_HELP }, argv);
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0 ? `plot needs FILE (try: ${invokedAs()} plot --help)` : `plot takes one FILE, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(' ')}`,
    );
  }
  const list = values.list === true;
  if (!list && values.output === undefined) throw new UsageError('plot needs -o OUT.svg or -o OUT.png (or --list)');
  if (values.output !== undefined && !/\.(svg|png)$/i.test(values.output)) throw new UsageError(`-o: ${JSON.stringify(values.output)} must end in .svg or .png`);
  if (values.dir !== undefined && values.dir !== 'out' && values.dir !== 'in') throw new UsageError(`--dir: ${JSON.stringify(values.dir)} is neither out nor in`);
  if (values.conn !== undefined && !/^\d{1,5}(-\d{1,5})?$/.test(values.conn)) throw new UsageError(`--conn: ${JSON.stringify(values.conn)} is neither a port nor LOCALPORT-REMOTEPORT`);
  const from = seconds('--from', values.from);
  const to = seconds('--to', values.to);
  if (from !== undefined && to !== undefined && to <= from) throw new UsageError(`--to ${to} must be after --from ${from}`);
  if (values.output !== undefined) checkOutputFile('-o', values.output);
  return {
    file: positionals[0]!,
    output: values.output,
    conn: values.conn,
    dir: values.dir as 'out' | 'in' | undefined,
    from,
    to,
    width: pixels('--width', values.width),
    height: pixels('--height', values.height),
    panes: values.panes === undefined ? undefined : parsePanes(values.panes),
    list,
  };
}

/** Reads FILE (a trace, or a capture told by its first bytes) into a model. */
export async function loadFile(file: string): Promise<TraceModel> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new FatalError(`plot: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new FatalError(`plot: cannot read ${file}: EISDIR`);
  }
  const head = Buffer.alloc(4);
  const got = readSync(fd, head, 0, 4, 0);
  const model = new TraceModel();
  if (got === 4 && [0x0a0d0d0a, 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(head.readUInt32LE(0))) {
    closeSync(fd);
    try {
      loadCapture(file, model);
    } catch (error) {
      throw new FatalError(`plot: ${file}: ${(error as Error).message}`);
    }
    return model;
  }
  const lines = createInterface({ input: createReadStream('', { fd, encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    try {
      model.push(parseRecord(line) as Parameters<TraceModel['push']>[0]);
    } catch (error) {
      throw new FatalError(`plot: ${file}:${n}: ${(error as Error).message} (a trace from --trace-file, or a pcap/pcapng capture)`);
    }
  }
  return model;
}

/** The connection `--conn` names, or the one with the most data; a UsageError when the choice is ambiguous or empty. */
export function pickConnection(conns: ConnectionSummary[], conn: string | undefined, file: string): ConnectionSummary {
  const bytes = (c: ConnectionSummary): number => c.bytesOut + c.bytesIn;
  const matching =
    conn === undefined
      ? conns
      : conns.filter((c) => {
          if (conn.includes('-')) return c.id === conn;
          const [l, r] = c.id.split('-');
          return l === conn || r === conn;
        });
  if (matching.length === 0) throw new FatalError(`plot: ${file}: no connection${conn === undefined ? '' : ` matches --conn ${conn}`} (see: ${invokedAs()} plot ${file} --list)`);
  const sorted = [...matching].sort((a, b) => bytes(b) - bytes(a));
  if (conn !== undefined && !conn.includes('-') && sorted.length > 1 && bytes(sorted[0]!) === bytes(sorted[1]!)) {
    throw new UsageError(`--conn ${conn}: ${sorted.length} connections match (${sorted.map((c) => c.id).join(', ')}): give LOCALPORT-REMOTEPORT`);
  }
  return sorted[0]!;
}

export function formatConnectionList(conns: ConnectionSummary[]): string {
  const rows = conns.map((c) => `${c.id.padEnd(12)} ${c.name.padEnd(48)} ${String(c.segments).padStart(8)} ${String(c.bytesOut).padStart(12)} ${String(c.bytesIn).padStart(12)}  ${c.start.toFixed(3)}-${c.end.toFixed(3)}`);
  return [`${'ID'.padEnd(12)} ${'CONNECTION'.padEnd(48)} ${'SEGMENTS'.padStart(8)} ${'BYTES OUT'.padStart(12)} ${'BYTES IN'.padStart(12)}  TIME (s)`, ...rows].join('\n');
}

export async function runPlotCommand(argv: string[]): Promise<number> {
  const config = parsePlotArgs(argv);
  const model = await loadFile(config.file);
  const conns = model.connections();
  if (config.list) {
    process.stdout.write(`${formatConnectionList(conns)}\n`);
    return 0;
  }
  const chosen = pickConnection(conns, config.conn, config.file);
  const series = model.series(chosen.id, config.dir)!;
  // Loaded here: Vega and resvg take a while to load, and no other command needs them.
  const { renderSvg, svgToPng } = await import('./render.ts');
  const svg = await renderSvg(series, { from: config.from, to: config.to, width: config.width, height: config.height, panes: config.panes });
  const out = config.output!;
  const body = /\.png$/i.test(out) ? svgToPng(svg, 2) : svg;
  try {
    writeFileSync(out, body, { flag: 'wx' }); // O_EXCL: never overwrites
  } catch (error) {
    throw new FatalError(`plot: cannot write ${out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  // What else FILE holds, when plot chose: the other connections, the other direction's data (an echo sends both ways).
  const hints: string[] = [];
  if (config.conn === undefined && conns.length > 1) hints.push(`the busiest of ${conns.length} connections (--list; --conn to choose)`);
  const otherBytes = series.sending === 'out' ? chosen.bytesIn : chosen.bytesOut;
  if (config.dir === undefined && otherBytes > 0) hints.push(`${series.sending === 'out' ? "the peer's" : 'our'} ${otherBytes} bytes with --dir ${series.sending === 'out' ? 'in' : 'out'}`);
  process.stderr.write(
    `${out}: ${chosen.name}, ${series.sending === 'out' ? 'our' : "the peer's"} data, ${series.bars.length} segments, ${series.samples.length} state samples${hints.length > 0 ? `; ${hints.join('; ')}` : ''}\n`,
  );
  return 0;
}
