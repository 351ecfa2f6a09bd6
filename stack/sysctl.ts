/**
 * The stack's tunables, under Linux's sysctl names and with the defaults of a
 * fresh Linux 6.18 network namespace (../shared/docs/linux-tcp-paths.md,
 * "Defaults"). `setSysctl('net.ipv4.tcp_fin_timeout', '3')` is how the CLI's
 * `--sysctl` and packet scripts' `sysctl -w` reach them.
 */
export interface Sysctls {
  ip_default_ttl: number;
  /** Seconds a fragment queue may wait for its missing pieces. */
  ipfrag_time: number;
  /** Bytes of reassembly memory above which new fragment queues are refused. */
  ipfrag_high_thresh: number;
  icmp_echo_ignore_all: number;
  /** Minimum milliseconds between ICMP errors to one destination (token refill period). */
  icmp_ratelimit: number;
  /** Global ICMP error budget per second, and its burst. */
  icmp_msgs_per_sec: number;
  icmp_msgs_burst: number;
}

export const SYSCTL_DEFAULTS: Readonly<Sysctls> = Object.freeze({
  ip_default_ttl: 64,
  ipfrag_time: 30,
  ipfrag_high_thresh: 4 * 1024 * 1024,
  icmp_echo_ignore_all: 0,
  icmp_ratelimit: 1000,
  icmp_msgs_per_sec: 1000,
  icmp_msgs_burst: 50,
});

/** Full Linux names → our keys. */
const PREFIX = 'net.ipv4.';

export function sysctlKey(fullName: string): keyof Sysctls | undefined {
  const normalized = fullName.replace(/\//g, '.').replace(/^\.?proc\.sys\./, '');
  if (!normalized.startsWith(PREFIX)) return undefined;
  const key = normalized.slice(PREFIX.length);
  return Object.prototype.hasOwnProperty.call(SYSCTL_DEFAULTS, key) ? (key as keyof Sysctls) : undefined;
}

/** Applies "name=value" with Linux's names; throws a one-line Error on a bad name or value. */
export function setSysctl(target: Sysctls, fullName: string, value: string): void {
  const key = sysctlKey(fullName);
  if (key === undefined) {
    throw new Error(`unknown sysctl ${fullName} (known: ${Object.keys(SYSCTL_DEFAULTS).map((k) => PREFIX + k).join(', ')})`);
  }
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < 0) throw new Error(`sysctl ${fullName}: ${JSON.stringify(value)} is not a non-negative integer`);
  target[key] = n;
}
