/**
 * The values Linux 6.18 takes for each tunable of stack/sysctl.ts: the bounds
 * of its proc handler (proc_dointvec_minmax, proc_dou8vec_minmax, the jiffies
 * conversions), as a write to /proc/sys in a fresh namespace of this kernel
 * (CONFIG_HZ=250) accepts or refuses with EINVAL. A value outside them is
 * refused here too, so `--sysctl` and a packet script's `sysctl -w` fail where
 * Linux's would.
 */
import { CONGESTION_CONTROLS } from './tcp/congestion/types.ts';

const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);
/** proc_dointvec_jiffies: seconds times HZ (250) must fit an int; negatives are taken. */
const JIFFIES: readonly [number, number] = [-Math.floor(INT_MAX / 250), Math.floor(INT_MAX / 250)];
/** proc_dou8vec_minmax without bounds of its own: a u8. */
const U8: readonly [number, number] = [0, 255];
/** proc_dointvec_minmax with extra1 = SYSCTL_ZERO. */
const NON_NEGATIVE: readonly [number, number] = [0, INT_MAX];
/** proc_dointvec: any int. */
const ANY_INT: readonly [number, number] = [INT_MIN, INT_MAX];

/** [min, max] of each value (of each element, for the lists); stack/sysctl.ts's calls check that every tunable has its range. */
export const SYSCTL_RANGES = {
  ip_default_ttl: [1, 255],
  ipfrag_time: JIFFIES,
  // extra1 is ipfrag_low_thresh, 3 MiB by default.
  ipfrag_high_thresh: [3 * 1024 * 1024, Number.MAX_SAFE_INTEGER],
  icmp_echo_ignore_all: [0, 1],
  icmp_ratelimit: NON_NEGATIVE,
  icmp_msgs_per_sec: NON_NEGATIVE,
  icmp_msgs_burst: NON_NEGATIVE,
  // proc_dointvec_minmax, extra1 = ip_min_valid_pmtu (68)
  route_min_pmtu: [68, INT_MAX],
  route_mtu_expires: JIFFIES,
  ip6frag_time: JIFFIES,
  // extra1 is ip6frag_low_thresh, 3 MiB by default.
  ip6frag_high_thresh: [3 * 1024 * 1024, Number.MAX_SAFE_INTEGER],
  // proc_dointvec_ms_jiffies
  icmpv6_ratelimit: ANY_INT,
  icmpv6_echo_ignore_all: [0, 1],
  icmpv6_echo_ignore_multicast: [0, 1],
  max_hbh_opts_number: ANY_INT,
  max_dst_opts_number: ANY_INT,
  max_hbh_length: ANY_INT,
  max_dst_opts_length: ANY_INT,
  ip6_route_mtu_expires: JIFFIES,
  ip6_route_min_adv_mss: ANY_INT,
  // ipv4_local_port_range: the low end not below ip_unprivileged_port_start (1024), checked with the order below.
  ip_local_port_range: [1024, 65535],
  somaxconn: NON_NEGATIVE,
  tcp_timestamps: U8,
  tcp_sack: U8,
  tcp_stdurg: U8,
  tcp_dsack: U8,
  tcp_window_scaling: U8,
  // proc_dou8vec_minmax, extra2 = SYSCTL_TWO on 6.18 (3 and above are refused: no AccECN modes)
  tcp_ecn: [0, 2],
  tcp_ecn_fallback: [0, 1],
  tcp_rmem: [1, INT_MAX],
  tcp_moderate_rcvbuf: U8,
  tcp_wmem: [1, INT_MAX],
  // MAX_TCP_SYNCNT
  tcp_syn_retries: [1, 127],
  tcp_syn_linear_timeouts: [0, 127],
  tcp_synack_retries: U8,
  // proc_dou8vec_minmax, extra2 = SYSCTL_FOUR
  tcp_early_retrans: [0, 4],
  // proc_dou8vec_minmax without bounds: 255 is taken, 256 and -1 refused.
  tcp_frto: U8,
  tcp_slow_start_after_idle: [0, 1],
  // proc_dou8vec_minmax without bounds of its own.
  tcp_recovery: U8,
  // extra1 SYSCTL_ONE, extra2 tcp_max_reordering (300 by default; a write of 301 is refused).
  tcp_reordering: [1, 300],
  tcp_max_reordering: [1, INT_MAX],
  // extra2 one_day_secs.
  tcp_min_rtt_wlen: [0, 86400],
  tcp_retries1: U8,
  tcp_retries2: U8,
  tcp_orphan_retries: U8,
  tcp_fin_timeout: JIFFIES,
  tcp_keepalive_time: JIFFIES,
  tcp_keepalive_intvl: JIFFIES,
  tcp_keepalive_probes: U8,
  tcp_rfc1337: U8,
  tcp_abort_on_overflow: U8,
  tcp_syncookies: U8,
  tcp_max_syn_backlog: ANY_INT,
  // proc_dointvec_ms_jiffies
  tcp_invalid_ratelimit: NON_NEGATIVE,
  tcp_challenge_ack_limit: ANY_INT,
  tcp_rto_min_us: [1, INT_MAX],
  // TCP_RTO_MAX_MIN_SEC to TCP_RTO_MAX_SEC, in ms
  tcp_rto_max_ms: [1000, 120000],
  tcp_max_tw_buckets: ANY_INT,
  tcp_max_orphans: ANY_INT,
  tcp_fastopen: ANY_INT,
  tcp_fastopen_blackhole_timeout_sec: NON_NEGATIVE,
  // proc_douintvec
  tcp_notsent_lowat: [0, 0xffffffff],
  // proc_dou8vec_minmax without bounds; proc_dointvec; extra1 tcp_min_snd_mss_min; proc_dointvec;
  // proc_douintvec_minmax, extra2 UINT_MAX / HZ (HZ 250).
  tcp_mtu_probing: U8,
  tcp_base_mss: ANY_INT,
  tcp_mtu_probe_floor: [48, INT_MAX],
  tcp_probe_threshold: ANY_INT,
  tcp_probe_interval: [0, 17179869],
} as const satisfies Record<string, readonly [number, number]>;

/** Why Linux would refuse `values` for `key` (EINVAL), or undefined when it takes them. */
export function sysctlRangeProblem(key: keyof typeof SYSCTL_RANGES, values: readonly number[]): string | undefined {
  const [min, max] = SYSCTL_RANGES[key];
  const outside = values.find((v) => v < min || v > max);
  if (outside !== undefined) return `${outside} is out of range: Linux takes ${min} to ${max} (EINVAL)`;
  if (key === 'ip_local_port_range' && values[0]! > values[1]!) return `the low end ${values[0]} is above the high end ${values[1]} (EINVAL)`;
  return undefined;
}

/** The tunables that take a name, and the names Linux would take (the algorithms this stack implements). */
export const SYSCTL_CHOICES = {
  tcp_congestion_control: CONGESTION_CONTROLS,
} as const satisfies Record<string, readonly string[]>;
export type SysctlChoiceKey = keyof typeof SYSCTL_CHOICES;

/** Why Linux would refuse `value` for `key` (ENOENT: no such algorithm registered), or undefined. */
export function sysctlChoiceProblem(key: SysctlChoiceKey, value: string): string | undefined {
  const choices: readonly string[] = SYSCTL_CHOICES[key];
  if (choices.includes(value)) return undefined;
  return `${JSON.stringify(value)} is not available: this stack has ${choices.join(', ')} (ENOENT)`;
}
