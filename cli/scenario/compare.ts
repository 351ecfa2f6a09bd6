/**
 * Kernel run vs stack run. The rule, the same for every scenario:
 *
 * MUST MATCH EXACTLY
 * - Every step's result: errno names, 'EOF', 'timeout', byte counts.
 * - The connections: how many, in which order, who opened each, on which of
 *   the scenario's ports; the payload bytes carried each way.
 * - Every compared segment (normalise.ts: SYN, FIN, RST, probes, dup ACKs,
 *   retransmissions), in capture order, on: direction, connection, kind,
 *   flags (PSH ignored: where Linux sets it is a send-path detail), seq and
 *   ack as normalised (so "seq 0" vs "seq = SEG.ACK" vs "seq = SND.NXT"),
 *   zero window or not for RSTs, the options (exact list on SYNs, presence
 *   of mss/sackOK/ts/wscale on others: SACK blocks, D-SACK included, are
 *   left out), the RST reason. Payload length only for SYN and RST; a
 *   FIN's position (seq + payload) is compared, not how much data it rode on.
 *
 * MUST MATCH WITHIN A TOLERANCE: time
 * - Each compared segment is placed by the step it fell in and its offset
 *   from that step's start; a blocking step (connect, accept, read, write)
 *   by how long it took to return — unless it returned 'timeout': then the
 *   duration is the scenario's own bound plus scheduling, and says nothing
 *   about TCP (under load an agent's 200 ms timeout can return at 400 ms). Two
 *   times agree when |a - b| <= max(100 ms, 10% of the larger). Why this
 *   rule: anchoring to the step removes the harness's own jitter (agent
 *   round trips, nft/ss invocations) that accumulates over a scenario. The
 *   shortest Linux timer that any compared segment depends on is the 200 ms
 *   minimum RTO (a tail loss probe, the subject's or the peer's, fires
 *   2·SRTT + 8 ms after a flight, i.e. at once on a veth, or with one
 *   packet in flight at the RTO; delayed-ACK timing is noise), so a 100 ms floor still tells "at once" from "after an RTO"
 *   and an RTO from its doubled successor, while absorbing what scheduling
 *   does to a loaded 2-CPU machine (a run beside two busy loops delayed an
 *   in-process connect by ~90 ms). The 10% keeps the longer timers apart —
 *   SYN and SYN-ACK retries 1 s apart or doubling, keepalive and FIN_WAIT2
 *   times in whole seconds, RTO backoff 200/400/800 ms — while tolerating
 *   Linux's timer slack (a 3 s keepalive measured at 3.05 s). A segment in
 *   a neighbouring step also agrees if its offsets from the earlier step's
 *   start, or the absolute times, are within the 100 ms floor (a packet
 *   racing a step boundary: the stack's write of a bulk transfer returns
 *   after ~25 ms, the kernel's after 1 ms).
 *
 * ORDER ACROSS DIRECTIONS: within REACTION_MS, not compared, where a
 * scenario asks (Scenario.reactionWindow: the loss scenarios)
 * - Segments are compared in capture order within each direction. A
 *   segment of the subject captured less than REACTION_MS after segments of
 *   the peer is compared as if it came before them: how quickly the subject
 *   answers is microseconds for the kernel and milliseconds for our stack
 *   in Node, so a retransmission triggered by the third of ten duplicate
 *   ACKs arriving together is captured after the third in the kernel run
 *   and after the tenth in ours. The order still counts beyond that window,
 *   and so does each direction's own order.
 *
 * NOISE, NOT COMPARED (but printed as counts)
 * - Bare ACKs that acknowledge new data or a FIN (delayed-ACK and quick-ACK
 *   policy, ACK coalescing), and how bulk data is cut into segments.
 *
 * A scenario may accept named differences (types.ts Allowance) only where
 * Linux's own behaviour makes them unavoidable; each is printed with its
 * reason.
 *
 * NOT COMPARED, AND SAID SO
 * - What a run could not record: RST reasons without the kernel's
 *   tcp_send_reset tracepoint (tracefs.ts says why). Such a scenario is
 *   never a match: its verdict is 'partial', naming what was left out and
 *   why, and it counts apart from the matches.
 */
import type { Scenario, StepRecord } from './types.ts';
import { describeStep } from './types.ts';
import { formatEvent, type ConnSummary, type NormEvent, type NormRun } from './normalise.ts';
import { compareCounters, type CounterRow } from './counters.ts';
import { familyName } from './family.ts';

export const TIME_FLOOR_MS = 100;
/**
 * See ORDER ACROSS DIRECTIONS above: the subject's reaction time the order
 * of the capture may carry. Below the loss scenarios' 50 ms path, so no
 * answer of the peer to a subject's segment falls inside it; 25 ms was
 * passed once by our stack's retransmission (27 ms) in a full `make test`
 * on a fresh clone, where other tests share the two CPUs.
 */
export const REACTION_MS = 40;

/**
 * A run's compared segments in comparison order: capture order, except that
 * each segment of the subject moves ahead of the peer's segments captured
 * less than REACTION_MS before it (both runs get the same treatment).
 */
export function comparisonOrder(events: readonly NormEvent[]): NormEvent[] {
  const out: NormEvent[] = [];
  for (const e of events) {
    let at = out.length;
    if (e.dir === 'S>P') {
      while (at > 0 && out[at - 1]!.dir === 'P>S' && e.tMs - out[at - 1]!.tMs < REACTION_MS) at--;
    }
    out.splice(at, 0, e);
  }
  return out;
}
export const TIME_RATIO = 0.1;

export function timesAgree(a: number, b: number): boolean {
  return Math.abs(a - b) <= Math.max(TIME_FLOOR_MS, TIME_RATIO * Math.max(Math.abs(a), Math.abs(b)));
}

const BLOCKING = new Set(['connect', 'accept', 'read', 'write']);

function optionKey(e: NormEvent): string {
  if (e.kind === 'SYN') return e.opts.join(',');
  const keep = ['mss', 'sackOK', 'ts', 'wscale'];
  return keep.filter((k) => e.opts.includes(k)).join(',');
}

/** The fields that must be equal (everything but time). */
export function eventKey(e: NormEvent, bulk: boolean, reasons = true): string {
  const flags = e.flags.replace('P', '');
  // A D-SACK of the peer is compared on the duplicate it reports, not on its
  // ACK number: whether the segments after the duplicate had arrived when it
  // was answered is timing (a copy through the peer's loopback device).
  const numbers = e.kind === 'dsack' ? `dsack ${e.dsack}` : bulk && e.kind !== 'SYN' ? '~' : `${e.seq}:${e.ack}`;
  const len = e.kind === 'SYN' || e.kind === 'RST' ? ` len${e.len}` : '';
  const win = e.kind === 'RST' ? (e.win === 0 ? ' win0' : ' win>0') : '';
  const reason = e.reason !== undefined && reasons ? ` ${e.reason}` : '';
  return `${e.dir} ${e.conn} ${e.kind} ${flags} ${numbers}${len}${win} [${optionKey(e)}]${reason}`;
}

/**
 * `gapA`/`gapB`: time since the packet before it on the same connection
 * (compared or noise). Agreeing there also counts: that gap is the timer
 * that fired (an RTO or zero-window probe after the ACK that closed the
 * window, a keepalive probe after the last data), while the offset from
 * the step's start also carries how long the bulk transfer before it took,
 * which is the Node process's speed, not TCP's (scenario app-blocked).
 */
export function eventTimesAgree(a: NormEvent, b: NormEvent, gapA?: number, gapB?: number, fromEarlierStep?: { a: number; b: number }): boolean {
  if (a.step === b.step && timesAgree(a.offsetMs, b.offsetMs)) return true;
  if (gapA !== undefined && gapB !== undefined && a.step === b.step && timesAgree(gapA, gapB)) return true;
  // A packet racing a step boundary: in neighbouring steps, the two agree
  // when their offsets from the earlier step's start (each in its own run)
  // are within the floor. From the scenario's start instead, the harness's
  // own jitter of every step before (nft and agent round trips) would count.
  if (fromEarlierStep !== undefined && Math.abs(a.step - b.step) === 1 && Math.abs(fromEarlierStep.a - fromEarlierStep.b) <= TIME_FLOOR_MS) return true;
  return Math.abs(a.tMs - b.tMs) <= TIME_FLOOR_MS;
}

/** An event's offset (ms) from the start of step `step` of its own run. */
function offsetFromStep(run: NormRun, e: NormEvent, step: number): number | undefined {
  const steps = run.record.steps;
  const at = steps[step - 1]?.startUs;
  const t0 = steps[0]?.startUs;
  if (at === undefined || t0 === undefined) return undefined;
  return e.tMs - (at - t0) / 1000;
}

/** For each event, the time since the previous packet of its connection (undefined for the first). */
function gapsWithinConnection(events: readonly NormEvent[]): Map<NormEvent, number> {
  const last = new Map<string, number>();
  const gaps = new Map<NormEvent, number>();
  for (const e of events) {
    const before = last.get(e.conn);
    if (before !== undefined) gaps.set(e, e.tMs - before);
    last.set(e.conn, e.tMs);
  }
  return gaps;
}

export interface EventRow {
  kernel?: NormEvent;
  stack?: NormEvent;
  ok: boolean;
  why?: string;
}

export interface StepRow {
  index: number;
  text: string;
  kernel?: StepRecord;
  stack?: StepRecord;
  ok: boolean;
  why?: string;
}

/** match: everything compared and equal; partial: no difference, but something could not be compared. */
export type Verdict = 'match' | 'partial' | 'difference';

export interface Comparison {
  scenario: Scenario;
  verdict: Verdict;
  /** verdict === 'match'. */
  match: boolean;
  /** One line: the first difference, what was not compared (partial), or 'match'. */
  first: string;
  /** What could not be compared, each with why (e.g. 'RST reasons (no tcp:tcp_send_reset tracepoint on this kernel ...)'). */
  notCompared: string[];
  steps: StepRow[];
  events: EventRow[];
  conns: Array<{ kernel?: ConnSummary; stack?: ConnSummary; ok: boolean; why?: string }>;
  /** The scenario's counters of the subject at the end (empty when it lists none). */
  counters: CounterRow[];
  allowances: string[];
  kernel: NormRun;
  stack: NormRun;
}

/** Longest common subsequence alignment of two key lists (a few hundred at most). */
function align(a: string[], b: string[]): Array<[number | undefined, number | undefined]> {
  const n = a.length;
  const m = b.length;
  const dp: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i]![j] = a[i] === b[j] ? dp[i + 1]![j + 1]! + 1 : Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!);
    }
  }
  const out: Array<[number | undefined, number | undefined]> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push([i++, j++]);
    } else if (j < m && (i >= n || dp[i]![j + 1]! >= dp[i + 1]![j]!)) {
      out.push([undefined, j++]);
    } else {
      out.push([i++, undefined]);
    }
  }
  // Pair up a lone kernel row with a lone stack row next to it: one differing
  // field reads better as one row than as a deletion plus an insertion.
  const merged: Array<[number | undefined, number | undefined]> = [];
  for (let k = 0; k < out.length; k++) {
    const cur = out[k]!;
    const next = out[k + 1];
    if (next && cur[0] !== undefined && cur[1] === undefined && next[0] === undefined && next[1] !== undefined) {
      merged.push([cur[0], next[1]]);
      k++;
    } else if (next && cur[0] === undefined && cur[1] !== undefined && next[0] !== undefined && next[1] === undefined) {
      merged.push([next[0], cur[1]]);
      k++;
    } else {
      merged.push(cur);
    }
  }
  return merged;
}

function stripBytes(result: string): string {
  return result.replace(/\(\d+\)$/, '(N)');
}

export function compareRuns(scenario: Scenario, kernel: NormRun, stack: NormRun): Comparison {
  if (kernel.record.family !== stack.record.family) throw new Error(`compareRuns: a kernel run over IPv${kernel.record.family} against a stack run over IPv${stack.record.family}`);
  const bulk = (scenario.allow ?? []).some((a) => a.kind === 'bulk-bytes');
  const allowances = (scenario.allow ?? []).map((a) => `${a.kind}: ${a.why}`);
  const diffs: string[] = [];

  // Steps.
  const steps: StepRow[] = scenario.steps.map((step, i) => {
    const k = kernel.record.steps[i];
    const s = stack.record.steps[i];
    const row: StepRow = { index: i + 1, text: describeStep(step), kernel: k, stack: s, ok: true };
    if (!k || !s) {
      row.ok = false;
      row.why = 'step not run';
    } else {
      const kr = bulk ? stripBytes(k.result) : k.result;
      const sr = bulk ? stripBytes(s.result) : s.result;
      const kd = (k.endUs - k.startUs) / 1000;
      const sd = (s.endUs - s.startUs) / 1000;
      if (kr !== sr) {
        row.ok = false;
        row.why = `result ${k.result} vs ${s.result}`;
      } else if (BLOCKING.has(step.op) && !k.result.startsWith('timeout') && !timesAgree(kd, sd)) {
        row.ok = false;
        row.why = `returned after ${Math.round(kd)} ms vs ${Math.round(sd)} ms`;
      }
    }
    if (!row.ok) diffs.push(`step ${row.index} (${row.text.trim().replace(/\s+/g, ' ')}): ${row.why}`);
    return row;
  });

  // Compared segments.
  const order = scenario.reactionWindow ? comparisonOrder : (es: NormEvent[]) => es;
  const ke = order(kernel.events.filter((e) => e.compared));
  const se = order(stack.events.filter((e) => e.compared));
  // Without the tracepoint in either run the kernel's RST reasons are unknown: not compared, and said so.
  const unavailable = [...new Set([kernel.record.tracepointUnavailable, stack.record.tracepointUnavailable].filter((w) => w !== undefined))];
  const reasons = unavailable.length === 0;
  const notCompared = reasons ? [] : [`RST reasons (${unavailable.join('; ')})`];
  const kk = ke.map((e) => eventKey(e, bulk, reasons));
  const sk = se.map((e) => eventKey(e, bulk, reasons));
  const fromEarlier = (k: NormEvent, s: NormEvent): { a: number; b: number } | undefined => {
    const step = Math.min(k.step, s.step);
    if (step < 1) return undefined;
    const a = offsetFromStep(kernel, k, step);
    const b = offsetFromStep(stack, s, step);
    return a === undefined || b === undefined ? undefined : { a, b };
  };
  const kernelGaps = gapsWithinConnection(kernel.events);
  const stackGaps = gapsWithinConnection(stack.events);
  const events: EventRow[] = align(kk, sk).map(([i, j]) => {
    const k = i === undefined ? undefined : ke[i];
    const s = j === undefined ? undefined : se[j];
    const row: EventRow = { kernel: k, stack: s, ok: true };
    if (!k || !s) {
      row.ok = false;
      row.why = k ? 'only in the kernel run' : 'only in the stack run';
    } else if (kk[i!] !== sk[j!]) {
      row.ok = false;
      row.why = fieldDiff(k, s, bulk, reasons);
    } else if (!eventTimesAgree(k, s, kernelGaps.get(k), stackGaps.get(s), fromEarlier(k, s))) {
      row.ok = false;
      row.why = `time s${k.step}+${Math.round(k.offsetMs)}ms vs s${s.step}+${Math.round(s.offsetMs)}ms`;
    }
    if (!row.ok) diffs.push(`segment ${formatEvent((k ?? s)!).trim()}: ${row.why}`);
    return row;
  });

  // Connections.
  const n = Math.max(kernel.conns.length, stack.conns.length);
  const conns: Comparison['conns'] = [];
  for (let i = 0; i < n; i++) {
    const k = kernel.conns[i];
    const s = stack.conns[i];
    const row = { kernel: k, stack: s, ok: true, why: undefined as string | undefined };
    if (!k || !s) {
      row.ok = false;
      row.why = k ? 'connection only in the kernel run' : 'connection only in the stack run';
    } else if (k.shape !== s.shape) {
      row.ok = false;
      row.why = `${k.shape} vs ${s.shape}`;
    } else if (!bulk && (k.bytes['P>S'] !== s.bytes['P>S'] || k.bytes['S>P'] !== s.bytes['S>P'])) {
      row.ok = false;
      row.why = `bytes P>S ${k.bytes['P>S']}/${s.bytes['P>S']}, S>P ${k.bytes['S>P']}/${s.bytes['S>P']}`;
    }
    if (!row.ok) diffs.push(`connection ${k?.conn ?? s?.conn}: ${row.why}`);
    conns.push(row);
  }

  // The subject's counters at the end, where the scenario lists some.
  const counters = compareCounters(scenario.counters ?? [], kernel.record.counters, stack.record.counters, kernel.record.family);
  for (const r of counters) if (!r.ok) diffs.push(`counter ${r.name}: ${r.why}`);

  // An exception inside our stack is a bug whatever the wire showed.
  for (const note of stack.record.notes) if (note.includes('INTERNAL_ERROR')) diffs.push(note);

  const verdict: Verdict = diffs.length > 0 ? 'difference' : notCompared.length > 0 ? 'partial' : 'match';
  return {
    scenario,
    verdict,
    match: verdict === 'match',
    first: diffs[0] ?? (verdict === 'partial' ? `no difference, but not compared: ${notCompared.join('; ')}` : 'match'),
    notCompared,
    steps,
    events,
    conns,
    counters,
    allowances,
    kernel,
    stack,
  };
}

function fieldDiff(k: NormEvent, s: NormEvent, bulk: boolean, reasons: boolean): string {
  const parts: string[] = [];
  if (k.dir !== s.dir || k.conn !== s.conn) parts.push(`${k.dir} ${k.conn} vs ${s.dir} ${s.conn}`);
  if (k.kind !== s.kind) parts.push(`kind ${k.kind} vs ${s.kind}`);
  if (k.flags.replace('P', '') !== s.flags.replace('P', '')) parts.push(`flags ${k.flags} vs ${s.flags}`);
  if (k.kind === 'dsack' && s.kind === 'dsack' && k.dsack !== s.dsack) parts.push(`D-SACK ${k.dsack} vs ${s.dsack}`);
  if (!bulk && k.seq !== s.seq) parts.push(`seq ${k.seq} vs ${s.seq}`);
  if (!bulk && k.ack !== s.ack) parts.push(`ack ${k.ack} vs ${s.ack}`);
  if ((k.kind === 'SYN' || k.kind === 'RST') && k.len !== s.len) parts.push(`len ${k.len} vs ${s.len}`);
  if (k.kind === 'RST' && (k.win === 0) !== (s.win === 0)) parts.push(`window ${k.win} vs ${s.win}`);
  if (optionKey(k) !== optionKey(s)) parts.push(`options [${k.opts.join(',')}] vs [${s.opts.join(',')}]`);
  if (reasons && k.reason !== s.reason) parts.push(`reason ${k.reason} vs ${s.reason}`);
  return parts.join('; ') || 'differs';
}

// ---------------------------------------------------------------------------
// Printing.

const COL = 66;

function cell(text: string, width = COL): string {
  return text.length > width ? text.slice(0, width - 1) + '…' : text.padEnd(width);
}

function stepCell(r: StepRecord | undefined): string {
  if (!r) return '—';
  return `${r.result} (${Math.round((r.endUs - r.startUs) / 1000)} ms)`;
}

/** The side-by-side report. */
export function formatComparison(c: Comparison, opts: { all?: boolean } = {}): string {
  const sc = c.scenario;
  const lines: string[] = [];
  lines.push(`scenario ${sc.name} over ${familyName(c.kernel.record.family)}: ${sc.title}`);
  lines.push(`Linux behaviour: ${sc.docs.join(', ')}`);
  if (sc.sysctls?.subject) lines.push(`subject sysctls: ${Object.entries(sc.sysctls.subject).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (sc.sysctls?.peer) lines.push(`peer sysctls: ${Object.entries(sc.sysctls.peer).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  lines.push('');
  lines.push(`   ${'step'.padEnd(48)} ${'kernel'.padEnd(24)} stack`);
  for (const r of c.steps) {
    const mark = r.ok ? '  ' : '≠ ';
    lines.push(`${mark}${String(r.index).padStart(2)} ${cell(r.text, 46)} ${cell(stepCell(r.kernel), 24)} ${stepCell(r.stack)}${r.ok ? '' : `   ← ${r.why}`}`);
  }
  lines.push('');
  lines.push(`   segments compared (peer's view: tcpdump on the peer's interface; time = step + offset)`);
  lines.push(`   ${'kernel'.padEnd(COL)} | stack`);
  for (const r of c.events) {
    const mark = r.ok ? '  ' : '≠ ';
    lines.push(`${mark} ${cell(r.kernel ? formatEvent(r.kernel) : '')} | ${r.stack ? formatEvent(r.stack) : ''}`);
    if (!r.ok) lines.push(`     ↑ ${r.why}`);
  }
  if (c.events.length === 0) lines.push('   (none)');
  lines.push('');
  lines.push('   connections (each figure kernel/stack)  bytes P>S     bytes S>P     data segs P>S S>P  rexmits P>S S>P  noise ACKs P>S S>P');
  for (const r of c.conns) {
    const k = r.kernel;
    const s = r.stack;
    const pair = (f: (x: ConnSummary) => number | string): string => `${k ? f(k) : '—'}/${s ? f(s) : '—'}`;
    const dirs = (f: (x: ConnSummary, d: 'P>S' | 'S>P') => number): string => `${pair((x) => f(x, 'P>S'))} ${pair((x) => f(x, 'S>P'))}`;
    lines.push(
      `${r.ok ? '  ' : '≠ '} ${cell(`${(k ?? s)!.conn} ${(k ?? s)!.shape}`, 38)} ${cell(pair((x) => x.bytes['P>S']), 13)} ${cell(pair((x) => x.bytes['S>P']), 13)} ${cell(dirs((x, d) => x.segments[d].data), 18)} ${cell(dirs((x, d) => x.segments[d].rexmit), 16)} ${dirs((x, d) => x.segments[d].acks)}${r.ok ? '' : `   ← ${r.why}`}`,
    );
  }
  if (c.counters.length > 0) {
    lines.push('');
    lines.push(`   subject counters at the end ${''.padEnd(20)} kernel  stack`);
    for (const r of c.counters) {
      lines.push(`${r.ok ? '  ' : '≠ '} ${r.name.padEnd(46)} ${String(r.kernel ?? '—').padStart(6)}  ${String(r.stack ?? '— (not kept)').padStart(5)}${r.ok ? '' : `   ← ${r.why}`}`);
    }
  }
  for (const [name, run] of [
    ['kernel', c.kernel],
    ['stack', c.stack],
  ] as const) {
    if (run.offWire.length > 0) {
      lines.push(`   ${name}: RSTs sent but not on the wire (dropped in the sender's namespace): ${run.offWire.map((r) => `${r.src}:${r.sport}>${r.dst}:${r.dport} ${r.reason}`).join(', ')}`);
    }
    const raced = run.events.filter((e) => e.racedAckMs !== undefined);
    if (raced.length > 0) {
      lines.push(`   ${name}: ${raced.length} peer retransmission(s) not compared, each racing a prompt ACK of the subject (probe-race.ts): ${raced.map((e) => `s${e.step}+${Math.round(e.offsetMs)}ms ${e.seq}`).join(', ')}`);
    }
    for (const note of run.record.notes) lines.push(`   ${name}: ${note}`);
  }
  if (c.allowances.length > 0) {
    lines.push('');
    for (const a of c.allowances) lines.push(`   allowed difference: ${a}`);
  }
  if (opts.all) {
    for (const [name, run] of [
      ['kernel', c.kernel],
      ['stack', c.stack],
    ] as const) {
      lines.push('');
      lines.push(`   every segment, ${name} run:`);
      for (const e of run.events) lines.push(`   ${e.compared ? '*' : ' '} ${formatEvent(e)}`);
    }
  }
  for (const what of c.notCompared) lines.push(`   NOT COMPARED: ${what}`);
  lines.push('');
  lines.push(verdictLine(c));
  return lines.join('\n');
}

/** The last line of a report: MATCH, PARTIAL (never a match: what was not compared and why) or DIFFERENCE, with the scenario and its family. */
export function verdictLine(c: Comparison): string {
  const name = `${c.scenario.name} over ${familyName(c.kernel.record.family)}`;
  switch (c.verdict) {
    case 'match':
      return `MATCH ${name}`;
    case 'partial':
      return `PARTIAL ${name}: no difference in what was compared, but not compared: ${c.notCompared.join('; ')}`;
    case 'difference':
      return `DIFFERENCE ${name}: ${c.first}`;
  }
}
