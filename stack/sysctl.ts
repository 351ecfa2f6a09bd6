/**
 * The stack's tunables, under Linux's sysctl names and with the defaults of a
 * fresh Linux 6.18 network namespace (listed in docs/linux-behaviour.md,
 * Tunables). `setSysctl(s, 'net.ipv4.tcp_fin_timeout', '3')` is how the
 * CLI's `--sysctl` and packet scripts' `sysctl -w` reach them.
 */
import { sysctlChoiceProblem, sysctlRangeProblem, type SysctlChoiceKey } from './sysctl-ranges.ts';
import type { CongestionControlName } from './tcp/congestion/types.ts';
import { formatFastOpenKeys, parseFastOpenKeys } from './tcp/fastopen-cookie.ts';

export interface Sysctls {
  ip_default_ttl: number;
  /** Seconds a fragment queue may wait for its missing pieces. */
  ipfrag_time: number;
  /** Bytes of reassembly memory above which fragments are refused. */
  ipfrag_high_thresh: number;
  icmp_echo_ignore_all: number;
  /** Milliseconds of token per ICMP error to one destination. */
  icmp_ratelimit: number;
  icmp_msgs_per_sec: number;
  icmp_msgs_burst: number;
  /** net.ipv4.route.min_pmtu: the lowest path MTU "fragmentation needed" can set (lower ones lock the route at it). */
  route_min_pmtu: number;
  /** net.ipv4.route.mtu_expires: seconds a learnt path MTU lasts. */
  route_mtu_expires: number;
  /** net.ipv6.ip6frag_time: seconds an IPv6 fragment queue may wait. */
  ip6frag_time: number;
  /** net.ipv6.ip6frag_high_thresh: bytes of IPv6 reassembly memory above which fragments are refused. */
  ip6frag_high_thresh: number;
  /** net.ipv6.icmp.ratelimit: milliseconds of token per ICMPv6 error to one destination (icmpv6_xrlim_allow). */
  icmpv6_ratelimit: number;
  icmpv6_echo_ignore_all: number;
  /** net.ipv6.icmp.echo_ignore_multicast: 1 leaves echo requests to a multicast group unanswered. */
  icmpv6_echo_ignore_multicast: number;
  /**
   * net.ipv6.max_hbh_opts_number / max_dst_opts_number: the most options a
   * hop-by-hop or destination options header may carry (ip6_parse_tlv); a
   * negative value also refuses any unknown option.
   */
  max_hbh_opts_number: number;
  max_dst_opts_number: number;
  /** net.ipv6.max_hbh_length / max_dst_opts_length: the longest such header, in bytes. */
  max_hbh_length: number;
  max_dst_opts_length: number;
  /** net.ipv6.route.mtu_expires: seconds a path MTU learnt from Packet Too Big lasts. */
  ip6_route_mtu_expires: number;
  /** net.ipv6.route.min_adv_mss: the least MSS advertised over IPv6 (ip6_default_advmss). */
  ip6_route_min_adv_mss: number;
  ip_local_port_range: [number, number];
  somaxconn: number;
  tcp_timestamps: number;
  tcp_sack: number;
  /** Urgent pointer interpretation (tcp_check_urg): 0, the default, is BSD's (it points one past the urgent byte, RFC 6093 §2); 1 is RFC 1122's (it points at it). */
  tcp_stdurg: number;
  /** Report duplicates with D-SACK blocks (RFC 2883) when SACK is on. */
  tcp_dsack: number;
  tcp_window_scaling: number;
  /** ECN (RFC 3168): 0 off, 1 asked for on connect and accepted, 2 (default) only accepted when the peer asks. */
  tcp_ecn: number;
  /** 1 (default): a retransmitted SYN no longer asks for ECN (RFC 3168 §6.1.1.1). */
  tcp_ecn_fallback: number;
  /** min, default, max receive buffer (bytes): a socket starts at the default, autotuning grows it up to max, which also decides the window scale we offer. */
  tcp_rmem: [number, number, number];
  /** 1: receive-buffer autotuning (tcp_rcv_space_adjust, tcp_rcvbuf_grow); 0: the buffer stays at tcp_rmem[1]. */
  tcp_moderate_rcvbuf: number;
  tcp_wmem: [number, number, number];
  tcp_syn_retries: number;
  tcp_syn_linear_timeouts: number;
  tcp_synack_retries: number;
  /** 3 (default): tail loss probe (RFC 8985 §7) on; 0: off (tcp_schedule_loss_probe). */
  tcp_early_retrans: number;
  /** F-RTO (RFC 5682, frto.ts) after an RTO: any non-zero value (Linux's default 2) turns it on, 0 off. */
  tcp_frto: number;
  /** RFC 2861 cwnd restart after an idle period longer than the RTO (cwnd-limited.ts). */
  tcp_slow_start_after_idle: number;
  /**
   * RACK's options (net/ipv4/tcp_recovery.c): 0x2 keeps the reordering
   * window at min_rtt/4, 0x4 drops its DUPACK-threshold shortcut; 0x1 (RACK
   * itself) has no effect since Linux 6.17: RACK is the only SACK loss detection.
   */
  tcp_recovery: number;
  /** Initial reordering degree in segments (tp->reordering): the DUPACK threshold. */
  tcp_reordering: number;
  /** The most the reordering degree may grow to. */
  tcp_max_reordering: number;
  /** Window of the minimum-RTT filter, seconds (tp->rtt_min). */
  tcp_min_rtt_wlen: number;
  /** RTOs after which an established connection suspects a black hole: MTU probing's tcp_mtu_probing (mtu-probe.ts). */
  tcp_retries1: number;
  tcp_retries2: number;
  tcp_orphan_retries: number;
  tcp_fin_timeout: number;
  tcp_keepalive_time: number;
  tcp_keepalive_intvl: number;
  tcp_keepalive_probes: number;
  tcp_rfc1337: number;
  tcp_abort_on_overflow: number;
  /** 1: answer with SYN cookies when the SYN queue is full; 0: drop; 2: always cookies. */
  tcp_syncookies: number;
  tcp_max_syn_backlog: number;
  tcp_invalid_ratelimit: number;
  tcp_challenge_ack_limit: number;
  tcp_rto_min_us: number;
  tcp_rto_max_ms: number;
  tcp_max_tw_buckets: number;
  tcp_max_orphans: number;
  /** Unsent bytes above which a socket without TCP_NOTSENT_LOWAT is not writable (tcp_stream_memory_free; UINT_MAX: no limit). */
  tcp_notsent_lowat: number;
  /**
   * Path MTU probing (RFC 4821, mtu-probe.ts): 0 off, 1 only once a black
   * hole is suspected (tcp_retries1 RTOs), 2 always from the start.
   */
  tcp_mtu_probing: number;
  /** The MSS probing starts its search from (search_low), and the most a black hole lowers it to. */
  tcp_base_mss: number;
  /** The least MSS a black hole lowers the search to (tcp_mtu_probing). */
  tcp_mtu_probe_floor: number;
  /** Probing stops when the search range is narrower than this many bytes. */
  tcp_probe_threshold: number;
  /** Seconds after which a finished search starts again (tcp_mtu_check_reprobe). */
  tcp_probe_interval: number;
  /** The congestion control new sockets start with (TCP_CONGESTION changes one socket's). */
  tcp_congestion_control: CongestionControlName;
  /**
   * TCP Fast Open (RFC 7413), a bit mask as Linux reads it (tcp_fastopen.c,
   * TFO_* in include/net/tcp.h): 0x1 client, 0x2 server, 0x4 client sends
   * SYN data without a cookie, 0x200 server accepts SYN data without a
   * cookie, 0x400 every listener is a Fast Open one (no TCP_FASTOPEN
   * needed), its queue length its listen() backlog (inet_listen; the bits
   * from 0x10000 up, once TFO_SERVER_WO_SOCKOPT2's queue length, are read
   * by no 6.18 code). Default 1.
   */
  tcp_fastopen: number;
  /**
   * The server's Fast Open keys as proc_tcp_fastopen_key writes them
   * (`%08x-%08x-%08x-%08x`, a backup after a comma), or '' while none was
   * set: the stack then draws a random one the first time it needs one
   * (tcp_fastopen_init_key_once).
   */
  tcp_fastopen_key: string;
  /**
   * Seconds active Fast Open stays off after a SYN data looked blackholed,
   * doubling with each new detection (tcp_fastopen_active_disable); 0
   * (the default since Linux 5.14) never turns it off.
   */
  tcp_fastopen_blackhole_timeout_sec: number;
}

/**
 * Names accepted (so scripts written for Linux, like packetdrill's
 * defaults.sh, run unchanged) whose setting changes nothing here, and why.
 * `setSysctl` takes them; `--help` and the README list them as such.
 */
export const SYSCTL_NOT_MODELLED: Readonly<Partial<Record<keyof Sysctls, string>>> = Object.freeze({
  tcp_max_syn_backlog: 'only bounds SYNs with tcp_syncookies=0; the SYN queue is bounded by the backlog',
  tcp_challenge_ack_limit: 'the per-namespace limit is off by default on Linux (INT_MAX); only the per-socket 500 ms limit is modelled',
  tcp_max_tw_buckets: 'no limit on TIME_WAIT minisocks',
  tcp_max_orphans: 'no limit on orphaned sockets',
});

export const SYSCTL_DEFAULTS: Readonly<Sysctls> = Object.freeze({
  ip_default_ttl: 64,
  ipfrag_time: 30,
  ipfrag_high_thresh: 4 * 1024 * 1024,
  icmp_echo_ignore_all: 0,
  icmp_ratelimit: 1000,
  icmp_msgs_per_sec: 1000,
  icmp_msgs_burst: 50,
  route_min_pmtu: 552,
  route_mtu_expires: 600,
  ip6frag_time: 60,
  ip6frag_high_thresh: 4 * 1024 * 1024,
  icmpv6_ratelimit: 100,
  icmpv6_echo_ignore_all: 0,
  icmpv6_echo_ignore_multicast: 0,
  // IP6_DEFAULT_MAX_{HBH,DST}_OPTS_CNT and _LEN (include/net/ipv6.h)
  max_hbh_opts_number: 8,
  max_dst_opts_number: 8,
  max_hbh_length: 2147483647,
  max_dst_opts_length: 2147483647,
  ip6_route_mtu_expires: 600,
  ip6_route_min_adv_mss: 1220,
  ip_local_port_range: [32768, 60999],
  somaxconn: 4096,
  tcp_timestamps: 1,
  tcp_sack: 1,
  tcp_stdurg: 0,
  tcp_dsack: 1,
  tcp_window_scaling: 1,
  tcp_ecn: 2,
  tcp_ecn_fallback: 1,
  tcp_rmem: [4096, 131072, 33554432],
  tcp_moderate_rcvbuf: 1,
  tcp_wmem: [4096, 16384, 4194304],
  tcp_syn_retries: 6,
  tcp_syn_linear_timeouts: 4,
  tcp_synack_retries: 5,
  tcp_early_retrans: 3,
  tcp_frto: 2,
  tcp_slow_start_after_idle: 1,
  tcp_recovery: 1,
  tcp_reordering: 3,
  tcp_max_reordering: 300,
  tcp_min_rtt_wlen: 300,
  tcp_retries1: 3,
  tcp_retries2: 15,
  tcp_orphan_retries: 0,
  tcp_fin_timeout: 60,
  tcp_keepalive_time: 7200,
  tcp_keepalive_intvl: 75,
  tcp_keepalive_probes: 9,
  tcp_rfc1337: 0,
  tcp_abort_on_overflow: 0,
  tcp_syncookies: 1,
  tcp_max_syn_backlog: 2048,
  tcp_invalid_ratelimit: 500,
  tcp_challenge_ack_limit: 2147483647,
  tcp_rto_min_us: 200000,
  tcp_rto_max_ms: 120000,
  tcp_max_tw_buckets: 131072,
  tcp_max_orphans: 131072,
  tcp_notsent_lowat: 0xffffffff,
  // TCP_BASE_MSS, TCP_PROBE_THRESHOLD, TCP_PROBE_INTERVAL, TCP_MIN_SND_MSS (include/net/tcp.h); probing off.
  tcp_mtu_probing: 0,
  tcp_base_mss: 1024,
  tcp_mtu_probe_floor: 48,
  tcp_probe_threshold: 8,
  tcp_probe_interval: 600,
  // tcp_cong.c: cubic is the default congestion control a kernel with it built in (CONFIG_DEFAULT_CUBIC) starts with.
  tcp_congestion_control: 'cubic',
  tcp_fastopen: 1, // TFO_CLIENT_ENABLE
  tcp_fastopen_key: '',
  tcp_fastopen_blackhole_timeout_sec: 0,
} as Sysctls);

export function defaultSysctls(): Sysctls {
  return structuredClone(SYSCTL_DEFAULTS) as Sysctls;
}

const PREFIXES: Partial<Record<keyof Sysctls, string>> = { somaxconn: 'net.core.' };
/** Names that are not prefix + key: the route tunables live in net.ipv4.route, IPv6's in net.ipv6. */
const FULL_NAMES: Partial<Record<keyof Sysctls, string>> = {
  route_min_pmtu: 'net.ipv4.route.min_pmtu',
  route_mtu_expires: 'net.ipv4.route.mtu_expires',
  ip6frag_time: 'net.ipv6.ip6frag_time',
  ip6frag_high_thresh: 'net.ipv6.ip6frag_high_thresh',
  icmpv6_ratelimit: 'net.ipv6.icmp.ratelimit',
  icmpv6_echo_ignore_all: 'net.ipv6.icmp.echo_ignore_all',
  icmpv6_echo_ignore_multicast: 'net.ipv6.icmp.echo_ignore_multicast',
  max_hbh_opts_number: 'net.ipv6.max_hbh_opts_number',
  max_dst_opts_number: 'net.ipv6.max_dst_opts_number',
  max_hbh_length: 'net.ipv6.max_hbh_length',
  max_dst_opts_length: 'net.ipv6.max_dst_opts_length',
  ip6_route_mtu_expires: 'net.ipv6.route.mtu_expires',
  ip6_route_min_adv_mss: 'net.ipv6.route.min_adv_mss',
};
const fullNameOf = (key: keyof Sysctls): string => FULL_NAMES[key] ?? (PREFIXES[key] ?? 'net.ipv4.') + key;

/** Every settable name, fully qualified. */
export function sysctlNames(): string[] {
  return (Object.keys(SYSCTL_DEFAULTS) as Array<keyof Sysctls>).map(fullNameOf);
}

/** Full Linux name ("net.ipv4.tcp_fin_timeout", or a /proc/sys path) → our key. */
export function sysctlKey(fullName: string): keyof Sysctls | undefined {
  const normalized = fullName.trim().replace(/^\/?proc\/sys\//, '').replace(/\//g, '.');
  for (const key of Object.keys(SYSCTL_DEFAULTS) as Array<keyof Sysctls>) {
    if (normalized === fullNameOf(key)) return key;
  }
  return undefined;
}

/** Applies "name=value" with Linux's names; throws a one-line Error on a bad name or value. */
export function setSysctl(target: Sysctls, fullName: string, value: string): void {
  const key = sysctlKey(fullName);
  if (key === undefined) throw new Error(`unknown sysctl ${fullName} (known: ${sysctlNames().join(', ')})`);
  if (key === 'tcp_congestion_control') {
    setChoice(target, key, fullName, value.trim());
    return;
  }
  if (key === 'tcp_fastopen_key') {
    // proc_tcp_fastopen_key: sscanf of one or two keys, else EINVAL; stored as it prints them.
    const keys = parseFastOpenKeys(value);
    if (keys === undefined) throw new Error(`sysctl ${fullName}: ${JSON.stringify(value)} is not a key (%x-%x-%x-%x, a backup after a comma) (EINVAL)`);
    target.tcp_fastopen_key = formatFastOpenKeys(keys);
    return;
  }
  const parts = value.trim().split(/\s+/);
  const numbers = parts.map(Number);
  if (numbers.some((n) => !Number.isInteger(n))) {
    throw new Error(`sysctl ${fullName}: ${JSON.stringify(value)} is not an integer${parts.length > 1 ? ' list' : ''}`);
  }
  const outOfRange = sysctlRangeProblem(key as Exclude<keyof Sysctls, SysctlChoiceKey | 'tcp_fastopen_key'>, numbers);
  if (outOfRange !== undefined) throw new Error(`sysctl ${fullName}: ${outOfRange}`);
  const current = target[key];
  if (Array.isArray(current)) {
    if (numbers.length !== current.length) throw new Error(`sysctl ${fullName} takes ${current.length} integers`);
    (target as unknown as Record<string, number[]>)[key] = numbers;
  } else {
    if (numbers.length !== 1) throw new Error(`sysctl ${fullName} takes one integer`);
    (target as unknown as Record<string, number>)[key] = numbers[0]!;
  }
}

/** A tunable that takes a name (proc_tcp_congestion_control: the name of a registered algorithm, else ENOENT). */
function setChoice(target: Sysctls, key: SysctlChoiceKey, fullName: string, value: string): void {
  const problem = sysctlChoiceProblem(key, value);
  if (problem !== undefined) throw new Error(`sysctl ${fullName}: ${problem}`);
  (target as unknown as Record<string, string>)[key] = value;
}
