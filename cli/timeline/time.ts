/**
 * The timeline's TIME column, in one of three clocks:
 *
 *   rel    seconds since the trace started, to the millisecond: 12.345 (default)
 *   wall   local wall-clock time as tcpdump prints it: 22:59:01.123456
 *   epoch  seconds since 1970 as tcpdump -tt prints them: 1733439541.123456
 *
 * wall and epoch line a trace up with a capture of the same run. Records
 * carry the stack's clock (ms); the trace's header carries the wall-clock
 * time at its own `t` (cli/timeline/live.ts), and in `up` and `connect` the
 * stack's clock runs in real time, so a record's wall-clock time is
 * header.wall + (t − header.t).
 */
import { UsageError } from '../usage.ts';

export type TimeFormat = 'rel' | 'wall' | 'epoch';
export const TIME_FORMATS: readonly TimeFormat[] = ['rel', 'wall', 'epoch'];

/** Where the stack's clock meets the wall clock: at stack time `t` (ms), `wallMs` since 1970 (ms, with a fraction). */
export interface WallAnchor {
  t: number;
  wallMs: number;
}

/** `--time WORD` / `--trace-time WORD`. */
export function parseTimeFormat(word: string, option: string): TimeFormat {
  if ((TIME_FORMATS as readonly string[]).includes(word)) return word as TimeFormat;
  throw new UsageError(`${option}: ${JSON.stringify(word)} is not a clock (known: ${TIME_FORMATS.join(', ')})`);
}

/** Seconds with milliseconds: 0.000, 12.345 (negative never happens for one clock; clamped anyway). */
export function formatTime(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

/** ISO 8601 in UTC to the microsecond (toISOString stops at the millisecond): 2026-12-05T22:59:01.123456Z. */
export function isoMicro(wallMs: number): string {
  const us = Math.floor(wallMs * 1000);
  return `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;
}

/** An ISO 8601 time as ms since 1970, keeping the digits beyond the millisecond that Date.parse drops; undefined if it is none. */
export function parseWall(text: string): number | undefined {
  const fraction = /\.(\d+)/.exec(text);
  const whole = Date.parse(fraction === null ? text : text.replace(fraction[0], ''));
  if (Number.isNaN(whole)) return undefined;
  return fraction === null ? whole : whole + Number(`0.${fraction[1]}`) * 1000;
}

const two = (n: number): string => String(n).padStart(2, '0');

/** tcpdump's default timestamp (ts_format's local time): HH:MM:SS.ffffff. */
export function formatWall(wallMs: number): string {
  const us = Math.floor(wallMs * 1000);
  const d = new Date(Math.floor(us / 1000));
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(us % 1_000_000).padStart(6, '0')}`;
}

/** tcpdump -tt: seconds.microseconds since 1970. */
export function formatEpoch(wallMs: number): string {
  const us = Math.floor(wallMs * 1000);
  return `${Math.floor(us / 1_000_000)}.${String(us % 1_000_000).padStart(6, '0')}`;
}
