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
  if (r.skipped) {
    const only = r.file.endsWith('v6.pkt') ? 'v6.pkt: ipv6 only' : 'v4.pkt: ipv4 and ipv4-mapped-ipv6 only';
    lines.push(`SKIP ${r.file} (not run with --ip_version=${r.skipped}: its name ends in ${only}, as packetdrill's run_all.py selects)`);
  } else if (r.ok) {
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
  const skipped = results.filter((r) => r.skipped).length;
  const failed = results.filter((r) => !r.ok && !r.invalid && !r.skipped).length;
  const invalid = results.filter((r) => r.invalid).length;
  const n = results.length;
  const passed = results.filter((r) => r.ok).length;
  return `${n} script${n === 1 ? '' : 's'}: ${passed} passed, ${failed} failed${invalid > 0 ? `, ${invalid} invalid` : ''}${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}
