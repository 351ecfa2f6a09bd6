/**
 * `tcpstack scenario table`: one row per scenario and the closing count.
 * A scenario whose comparison left something out (verdict 'partial', e.g.
 * RST reasons without the tcp_send_reset tracepoint) is never counted as a
 * match: its row says what was not compared and why, and the count lists it
 * apart.
 */
import type { ScenarioOutcome } from './fidelity.ts';

export type RowStatus = 'match' | 'partial' | 'difference' | 'error';

export interface TableRow {
  name: string;
  docs: string;
  seconds: number;
  status: RowStatus;
  /** The table's last column: 'match', what was not compared, the first difference, or the error. */
  verdict: string;
}

export function tableRow(o: ScenarioOutcome): TableRow {
  const base = { name: o.scenario.name, docs: o.scenario.docs.join(', '), seconds: o.seconds };
  if (o.error !== undefined) return { ...base, status: 'error', verdict: `ERROR ${o.error}` };
  const c = o.comparison;
  if (!c) return { ...base, status: 'error', verdict: 'ERROR not compared (one side did not run)' };
  if (c.verdict === 'partial') return { ...base, status: 'partial', verdict: `no difference, NOT COMPARED: ${c.notCompared.join('; ')}` };
  return { ...base, status: c.verdict, verdict: c.first };
}

/** The table and its closing count, as printed. */
export function formatTable(rows: readonly TableRow[]): string[] {
  const w1 = Math.max(8, ...rows.map((r) => r.name.length));
  const w2 = Math.max(4, ...rows.map((r) => r.docs.length));
  const lines = [`${'scenario'.padEnd(w1)} | ${'docs'.padEnd(w2)} | time    | match`, `${'-'.repeat(w1)}-|-${'-'.repeat(w2)}-|---------|------`];
  for (const r of rows) lines.push(`${r.name.padEnd(w1)} | ${r.docs.padEnd(w2)} | ${r.seconds.toFixed(1).padStart(5)} s | ${r.verdict}`);
  lines.push(summaryLine(rows));
  return lines;
}

/** e.g. '12 of 14 scenarios match the kernel; 2 not counted: compared only in part (RST reasons ...)'. */
export function summaryLine(rows: readonly TableRow[]): string {
  const count = (s: RowStatus): number => rows.filter((r) => r.status === s).length;
  let line = `${count('match')} of ${rows.length} scenarios match the kernel`;
  const partial = rows.filter((r) => r.status === 'partial');
  if (partial.length > 0) {
    const what = [...new Set(partial.map((r) => r.verdict.replace(/^no difference, NOT COMPARED: /, '')))];
    line += `; ${partial.length} not counted as matches, compared only in part (${partial.map((r) => r.name).join(', ')}; not compared: ${what.join('; ')})`;
  }
  if (count('difference') > 0) line += `; ${count('difference')} differ`;
  if (count('error') > 0) line += `; ${count('error')} could not run`;
  return line;
}

/** 0 only when every scenario matched in full. */
export function tableExitCode(rows: readonly TableRow[]): number {
  return rows.every((r) => r.status === 'match') ? 0 : 1;
}
