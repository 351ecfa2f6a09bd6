/**
 * TCP's constants and the two small formulas several modules share, in one
 * place, under the names include/net/tcp.h gives them.
 */
import type { Sysctls } from '../sysctl.ts';
import { TCP_MAX_WSCALE, TCPOLEN_TSTAMP_ALIGNED } from '../wire/tcp.ts';

/** Initial RTO, and the RTO after a handshake whose SYN was retransmitted with no RTT sample (RFC 6298 §5.7). */
export const TCP_TIMEOUT_INIT = 1000;
export const TCP_TIMEOUT_FALLBACK = 3000;
/** The RTO floor and the backoff cap (defaults of tcp_rto_min_us and tcp_rto_max_ms). */
export const TCP_RTO_MIN = 200;
export const TCP_RTO_MAX = 120_000;
/** TCP_RESOURCE_PROBE_INTERVAL (HZ/2): the retry interval after a send failed for local congestion (tcp_send_probe0, tcp_retransmit_timer). */
export const TCP_RESOURCE_PROBE_INTERVAL = 500;
/** TCP_TIMEOUT_MIN: the shortest timer the kernel arms, 2 jiffies (8 ms at HZ 250, jiffies.ts). */
export const TCP_TIMEOUT_MIN = 8;
/** TCP_TIMEWAIT_LEN: how long TIME_WAIT lasts; orphans with a longer FIN_WAIT2 time keep a full socket for the excess. */
export const TCP_TIMEWAIT_LEN = 60_000;
/** TCP_DELACK_MIN: the shortest delayed-ACK timeout. */
export const TCP_DELACK_MIN = 40;
/** TCP_ATO_MIN (HZ/25): the ACK timeout a receiver starts with and falls back to. */
export const TCP_ATO_MIN = 40;
/** TCP_DELACK_MAX (HZ/5): the longest delayed-ACK timeout (icsk_delack_max's default). */
export const TCP_DELACK_MAX = 200;
/** TCP_MAX_QUICKACKS: the most segments a quick-ack episode ACKs at once. */
export const TCP_MAX_QUICKACKS = 16;
/** TCP_MIN_MSS: the floor of the receiver's MSS estimate (icsk_ack.rcv_mss). */
export const TCP_MIN_MSS = 88;
/** tcp_min_snd_mss: the smallest MSS we send with, whatever the peer said. */
export const TCP_MIN_SND_MSS = 48;
/** The MSS assumed for a peer whose SYN had none (RFC 9293 §3.7.1). */
export const TCP_DEFAULT_MSS = 536;
/** Bytes the timestamp option takes on every segment once negotiated (NOP, NOP, TS). */
export const TCP_TS_OPTION_BYTES = TCPOLEN_TSTAMP_ALIGNED;
/** TCP_DEFAULT_SCALING_RATIO: a window is half its memory until a segment is measured (tcp_win_from_space). */
export const TCP_DEFAULT_SCALING_RATIO = 128;
/** The largest value of the 16-bit window field; also the largest window a SYN may carry (RFC 7323 §2.2: never scaled). */
export const MAX_WINDOW_FIELD = 65535;
export const MAX_SYN_WINDOW = MAX_WINDOW_FIELD;

/**
 * net.core.rmem_max as Linux 6.18 has it (4194304, what `sysctl
 * net.core.rmem_max` shows in a fresh namespace; not a tunable of the
 * stack): SO_RCVBUF takes no more, and tcp_select_initial_window chooses a
 * window scale that can offer it even when tcp_rmem[2] is smaller.
 */
export const NET_CORE_RMEM_MAX = 4 * 1024 * 1024;
/** net.core.wmem_max as Linux 6.18 has it in a fresh namespace (4194304): SO_SNDBUF takes no more. */
export const NET_CORE_WMEM_MAX = 4 * 1024 * 1024;

/**
 * The window scale we offer (tcp_select_initial_window): the shift that lets
 * the largest receive buffer (tcp_rmem[2] or net.core.rmem_max, whichever is
 * larger) be advertised, at most 14 (RFC 7323 §2.3); 0 when window scaling
 * is off. A buffer fixed by SO_RCVBUF may need less (rcvbuf.ts).
 */
export function offeredWindowScale(sysctl: Sysctls): number {
  if (sysctl.tcp_window_scaling === 0) return 0;
  const largest = Math.max(sysctl.tcp_rmem[2], NET_CORE_RMEM_MAX);
  return Math.min(Math.max(Math.floor(Math.log2(largest)) - 15, 0), TCP_MAX_WSCALE);
}

/** Our TSval: 1 ms ticks plus the connection's random offset (RFC 7323 §5.4, secure_tcp_ts_off). */
export function tsValAt(now: number, offset: number): number {
  return (Math.floor(now) + offset) >>> 0;
}
