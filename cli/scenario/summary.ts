/**
 * `tcpstack scenario table`: one row per scenario and family, and the
 * closing count.
 * A scenario whose comparison left something out (verdict 'partial', e.g.
 * RST reasons without the tcp_send_reset tracepoint) is never counted as a
 * match: its row says what was not compared and why, and the count lists it
 * apart.
 */
import { familyName, type Family } from './family.ts';
import type { ScenarioOutcome } from './fidelity.ts';

export type RowStatus = 'match' | 'partial' | 'difference' | 'error';

export interface TableRow {
  name: string;
  family: Family;
  docs: string;
  seconds: number;
  status: RowStatus;
  /** The table's last column: 'match', what was not compared, the first difference, or the error. */
  verdict: string;
}

export function tableRow(o: ScenarioOutcome): TableRow {
  const base = { name: o.scenario.name, family: o.family, docs: o.scenario.docs.join(', '), seconds: o.seconds };
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
  const lines = [`${'scenario'.padEnd(w1)} | family | ${'docs'.padEnd(w2)} | time    | match`, `${'-'.repeat(w1)}-|--------|-${'-'.repeat(w2)}-|---------|------`];
  for (const r of rows) lines.push(`${r.name.padEnd(w1)} | ${familyName(r.family)}   | ${r.docs.padEnd(w2)} | ${r.seconds.toFixed(1).padStart(5)} s | ${r.verdict}`);
  lines.push(summaryLine(rows));
  return lines;
}

/**
 * e.g. '12 of 14 scenario runs match the kernel (7 of 7 over IPv4, 5 of 7
 * over IPv6); 2 not counted: compared only in part (RST reasons ...)'. A
 * row is one scenario over one family; the count per family is given when
 * the table has more than one.
 */
export function summaryLine(rows: readonly TableRow[]): string {
  const count = (s: RowStatus, of: readonly TableRow[] = rows): number => of.filter((r) => r.status === s).length;
  const families = [...new Set(rows.map((r) => r.family))].sort();
  let line = `${count('match')} of ${rows.length} scenario runs match the kernel`;
  if (families.length > 1) {
    const per = families.map((f) => {
      const of = rows.filter((r) => r.family === f);
      return `${count('match', of)} of ${of.length} over ${familyName(f)}`;
    });
    line += ` (${per.join(', ')})`;
  } else if (families.length === 1) line += ` over ${familyName(families[0]!)}`;
  const partial = rows.filter((r) => r.status === 'partial');
  if (partial.length > 0) {
    const what = [...new Set(partial.map((r) => r.verdict.replace(/^no difference, NOT COMPARED: /, '')))];
    line += `; ${partial.length} not counted as matches, compared only in part (${partial.map((r) => `${r.name} over ${familyName(r.family)}`).join(', ')}; not compared: ${what.join('; ')})`;
  }
  if (count('difference') > 0) line += `; ${count('difference')} differ`;
  if (count('error') > 0) line += `; ${count('error')} could not run`;
  return line;
}

/** 0 only when every scenario matched in full. */
export function tableExitCode(rows: readonly TableRow[]): number {
  return rows.every((r) => r.status === 'match') ? 0 : 1;
}
