/**
 * What `tcpstack pkt` prints: one PASS/FAIL/INVALID line per script, the first
 * mismatch as `file:line: message` with the expected and actual segments
 * under it (packetdrill's own wording), the warnings, and a summary.
 */
import type { RunResult } from './runner.ts';

const vsecs = (us: number): string => {
  const s = us / 1e6;
  return s >= 1 ? `${s.toFixed(3)} s` : `${(us / 1000).toFixed(1)} ms`;
};

export function formatResult(r: RunResult): string[] {
  const lines: string[] = [];
  if (r.ok) {
    lines.push(`PASS ${r.file} (${r.events} events, ${vsecs(r.endUsecs)} virtual)`);
  } else {
    lines.push(r.invalid ? `INVALID ${r.file} (the script does not parse; nothing ran)` : `FAIL ${r.file}`);
    const e = r.error!;
    lines.push(`  ${e.headline()}`);
    for (const d of e.details) lines.push(`  ${d}`);
  }
  for (const w of r.warnings) lines.push(`  ${w}`);
  return lines;
}

export function formatSummary(results: readonly RunResult[]): string {
  const failed = results.filter((r) => !r.ok && !r.invalid).length;
  const invalid = results.filter((r) => r.invalid).length;
  const n = results.length;
  return `${n} script${n === 1 ? '' : 's'}: ${n - failed - invalid} passed, ${failed} failed${invalid > 0 ? `, ${invalid} invalid` : ''}`;
}
