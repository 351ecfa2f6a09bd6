/**
 * The chronographs of a sender's time (Linux 6.18's tcp_chrono_start,
 * tcp_chrono_stop and tcp_get_info_chrono_stats in tcp_output.c and tcp.c):
 * how long the connection had data to send (busy), and of that how long
 * the peer's window held it back (rwnd-limited) or the send buffer did
 * (sndbuf-limited). One chronograph runs at a time, the most interesting
 * one (the higher kind): starting a higher kind stops the running one;
 * stopping the running kind falls back to busy while data is queued, and
 * every stop with both queues empty ends timing. Times are counted in
 * jiffies (tcp_jiffies32), as Linux counts them, and reported in µs.
 */
import type { Connection } from './connection.ts';
import { HZ, jiffiesAt } from './jiffies.ts';

/** enum tcp_chrono: UNSPEC (not timing), BUSY, RWND_LIMITED, SNDBUF_LIMITED. */
export const CHRONO_UNSPEC = 0;
export const CHRONO_BUSY = 1;
export const CHRONO_RWND_LIMITED = 2;
export const CHRONO_SNDBUF_LIMITED = 3;
export type ChronoKind = typeof CHRONO_BUSY | typeof CHRONO_RWND_LIMITED | typeof CHRONO_SNDBUF_LIMITED;

/** tcp_chrono_set: the running kind's time is banked, `kind` runs from now. */
function set(c: Connection, kind: number): void {
  const ch = c.chrono;
  const now = jiffiesAt(c.now());
  if (ch.type > CHRONO_UNSPEC) ch.stat[ch.type - 1] = (ch.stat[ch.type - 1]! + ((now - ch.start) >>> 0)) >>> 0;
  ch.start = now;
  ch.type = kind;
}

/** tcp_chrono_start: a higher kind takes over from the one running. */
export function chronoStart(c: Connection, kind: ChronoKind): void {
  if (kind > c.chrono.type) set(c, kind);
}

/** tcp_chrono_stop: both queues empty, timing ends; else the running `kind` gives way to busy. */
export function chronoStop(c: Connection, kind: ChronoKind): void {
  if (queuesEmpty(c)) set(c, CHRONO_UNSPEC);
  else if (kind === c.chrono.type) set(c, CHRONO_BUSY);
}

/** tcp_rtx_and_write_queues_empty: nothing unacknowledged, nothing unsent (a FIN waiting counts). */
function queuesEmpty(c: Connection): boolean {
  return c.rtx.length === 0 && c.unsentBytes() <= 0 && !(c.finQueued && !c.finSent);
}

/** tcp_get_info_chrono_stats: µs per kind, the running one up to now; busy_time is their sum. */
export function chronoStats(c: Connection): { busy: number; rwndLimited: number; sndbufLimited: number } {
  const ch = c.chrono;
  const now = jiffiesAt(c.now());
  const us = [0, 0, 0].map((_, i) => {
    let j = ch.stat[i]!;
    if (i + 1 === ch.type) j = (j + ((now - ch.start) >>> 0)) >>> 0;
    return j * (1_000_000 / HZ);
  });
  return { busy: us[0]! + us[1]! + us[2]!, rwndLimited: us[1]!, sndbufLimited: us[2]! };
}
