/**
 * The quantities impairments are written in, on the command line and in rule
 * files: probabilities (`5%`, `0.05`), times (`50ms`, `1.5s`), rates
 * (`20mbit`, `2mbps`) and sizes (`64kb`). Every parser returns the value or
 * throws an `ImpairSyntaxError` whose message completes "VALUE: ..." and is
 * one line.
 */

/** A malformed impairment value or rule: its message is one line, ready to be prefixed with where it came from. */
export class ImpairSyntaxError extends Error {
  override readonly name = 'ImpairSyntaxError';
}

const NUMBER = '(\\d+(?:\\.\\d+)?|\\.\\d+)';

/** `5%`, `0.5%` or a fraction `0.05`: a probability in [0, 1]. */
export function parseProbability(text: string): number {
  const percent = new RegExp(`^${NUMBER}%$`).exec(text);
  if (percent) {
    const p = Number(percent[1]) / 100;
    if (p > 1) throw new ImpairSyntaxError(`${JSON.stringify(text)}: a percentage is at most 100%`);
    return p;
  }
  if (new RegExp(`^${NUMBER}$`).test(text)) {
    const p = Number(text);
    if (p > 1) throw new ImpairSyntaxError(`${JSON.stringify(text)}: write a percentage (${text}%) or a fraction from 0 to 1`);
    return p;
  }
  throw new ImpairSyntaxError(`${JSON.stringify(text)}: expected a probability like 5% or 0.05`);
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, sec: 1000, min: 60_000, m: 60_000 };

/**
 * A time in milliseconds: `50ms`, `1.5s`, `250us`, `2min`. A bare number is
 * accepted only when `bareMs` is set (rule files, where JSON numbers are ms).
 */
export function parseTime(text: string, bareMs = false): number {
  const m = new RegExp(`^${NUMBER}(us|ms|s|sec|min|m)?$`).exec(text.trim());
  if (!m || (m[2] === undefined && !bareMs)) {
    throw new ImpairSyntaxError(`${JSON.stringify(text)}: expected a time like 50ms or 1.5s`);
  }
  return Number(m[1]) * TIME_UNITS[m[2] ?? 'ms']!;
}

/** A time given in a rule file: a number of milliseconds or a string with a unit. */
export function timeValue(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') return parseTime(value, true);
  throw new ImpairSyntaxError(`${JSON.stringify(value)}: expected a time like "50ms", "3s" or a number of milliseconds`);
}

const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** A rate in bits per second, in tc's units: `20mbit`, `500kbit` (bits/s), `2mbps` (bytes/s). */
export function parseRate(text: string): number {
  const m = new RegExp(`^${NUMBER}(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$`, 'i').exec(text.trim());
  if (!m) throw new ImpairSyntaxError(`${JSON.stringify(text)}: expected a rate like 20mbit, 500kbit or 2mbps (bytes/s)`);
  const bits = Number(m[1]) * RATE_UNITS[m[2]!.toLowerCase()]!;
  if (bits < 8) throw new ImpairSyntaxError(`${JSON.stringify(text)}: a rate must be at least 8bit (one byte a second)`);
  return bits;
}

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2 };

/** A size in bytes: `64kb`, `1mb`, `1500b` (kb = 1024 bytes, as tc counts them). */
export function parseSize(text: string): number {
  const m = /^(\d+)(b|k|kb|m|mb)$/i.exec(text.trim());
  if (!m) throw new ImpairSyntaxError(`${JSON.stringify(text)}: expected a size like 64kb, 1mb or 1500b`);
  return Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
}

/** `5%` for 0.05, as the summary line and the help print probabilities. */
export function formatProbability(p: number): string {
  return `${Number((p * 100).toPrecision(6))}%`;
}

export function formatTime(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${Number(ms.toPrecision(6))}ms`;
}

export function formatRate(bitsPerSecond: number): string {
  for (const [unit, scale] of [
    ['gbit', 1e9],
    ['mbit', 1e6],
    ['kbit', 1e3],
  ] as const) {
    if (bitsPerSecond >= scale) return `${Number((bitsPerSecond / scale).toPrecision(6))}${unit}`;
  }
  return `${bitsPerSecond}bit`;
}
