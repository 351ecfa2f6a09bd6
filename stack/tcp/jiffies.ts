/**
 * The kernel's clock for TCP's timers: jiffies at CONFIG_HZ 250, the value
 * of the kernel this stack follows (6.18 as configured on the project's
 * machines). Linux keeps the RTO, the tail-loss-probe timeout, the delayed
 * ACK's timeout and ATO, and several "how long ago" tests in jiffies, so a
 * duration there is a whole number of 4 ms ticks, rounded up from
 * microseconds by usecs_to_jiffies. Durations here are kept as that many
 * ticks; a timer still fires exactly its duration after it was armed (the
 * phase of the kernel's tick against a packet's arrival is not modelled,
 * see docs/linux-behaviour.md, "Timers in jiffies").
 */

/** CONFIG_HZ: tcp_jiffies32 ticks per second. */
export const HZ = 250;
/** One jiffy in ms. */
export const JIFFY_MS = 1000 / HZ;
/** INITIAL_JIFFIES: jiffies start 5 minutes before wrapping, so 0 never means "now" at boot. */
const INITIAL_JIFFIES = (-300 * HZ) >>> 0;

/** tcp_jiffies32 at virtual time `ms`. */
export function jiffiesAt(ms: number): number {
  return (INITIAL_JIFFIES + Math.floor((ms * HZ) / 1000)) >>> 0;
}

/**
 * usecs_to_jiffies: whole ticks, rounding up, of a whole number of µs (the
 * kernel's argument is an integer: a difference of fractional virtual times
 * such as 8.000000000000002 ms must not become a third jiffy).
 */
export function usecsToJiffies(us: number): number {
  return Math.ceil(Math.round(us) / (1_000_000 / HZ));
}

/** msecs_to_jiffies: whole ticks, rounding up. */
export function msecsToJiffies(ms: number): number {
  return usecsToJiffies(ms * 1000);
}

/** A duration in ms rounded up to whole jiffies (usecs_to_jiffies, then back to ms). */
export function roundUpToJiffies(ms: number): number {
  return jiffiesToMsecs(usecsToJiffies(ms * 1000));
}

/** jiffies_to_msecs. */
export function jiffiesToMsecs(j: number): number {
  return j * JIFFY_MS;
}
