/**
 * `struct tcp_info` as Linux 6.18's getsockopt(TCP_INFO) fills it
 * (tcp_get_info in net/ipv4/tcp.c, the struct in
 * include/uapi/linux/tcp.h): every field by its Linux name, in Linux's
 * units (µs for rto, ato, rtt, rttvar, rcv_rtt, min_rtt and the chrono
 * times; ms for the last_* ages; bytes per second for the rates), computed
 * from a connection's state. info.ts is the `ss -ti` view of the same
 * state; this one is the binary struct an application (a packet script's
 * Python block) reads.
 *
 * Fields the stack keeps no state for are listed in `notModelled` with the
 * reason, and hold 0: a reader must not take that 0 for Linux's value.
 */
import { totalRtoTime } from './rto-stats.ts';
import { chronoStats } from './chrono.ts';
import { jiffiesAt, JIFFY_MS } from './jiffies.ts';
import { TCP_DEFAULT_MSS, TCP_DELACK_MAX, TCP_MIN_MSS, TCP_TIMEOUT_INIT } from './constants.ts';
import { INFINITE_SSTHRESH, INITIAL_CWND } from './congestion/newreno.ts';
import type { Connection } from './connection.ts';
import { probesOut } from './info.ts';
import type { TcpStateName } from './types.ts';
import type { CaStateName } from '../trace.ts';

/** The fields, in the order of struct tcp_info (6.18). */
export const TCP_INFO_FIELDS = [
  'tcpi_state',
  'tcpi_ca_state',
  'tcpi_retransmits',
  'tcpi_probes',
  'tcpi_backoff',
  'tcpi_options',
  'tcpi_snd_wscale',
  'tcpi_rcv_wscale',
  'tcpi_delivery_rate_app_limited',
  'tcpi_fastopen_client_fail',
  'tcpi_rto',
  'tcpi_ato',
  'tcpi_snd_mss',
  'tcpi_rcv_mss',
  'tcpi_unacked',
  'tcpi_sacked',
  'tcpi_lost',
  'tcpi_retrans',
  'tcpi_fackets',
  'tcpi_last_data_sent',
  'tcpi_last_ack_sent',
  'tcpi_last_data_recv',
  'tcpi_last_ack_recv',
  'tcpi_pmtu',
  'tcpi_rcv_ssthresh',
  'tcpi_rtt',
  'tcpi_rttvar',
  'tcpi_snd_ssthresh',
  'tcpi_snd_cwnd',
  'tcpi_advmss',
  'tcpi_reordering',
  'tcpi_rcv_rtt',
  'tcpi_rcv_space',
  'tcpi_total_retrans',
  'tcpi_pacing_rate',
  'tcpi_max_pacing_rate',
  'tcpi_bytes_acked',
  'tcpi_bytes_received',
  'tcpi_segs_out',
  'tcpi_segs_in',
  'tcpi_notsent_bytes',
  'tcpi_min_rtt',
  'tcpi_data_segs_in',
  'tcpi_data_segs_out',
  'tcpi_delivery_rate',
  'tcpi_busy_time',
  'tcpi_rwnd_limited',
  'tcpi_sndbuf_limited',
  'tcpi_delivered',
  'tcpi_delivered_ce',
  'tcpi_bytes_sent',
  'tcpi_bytes_retrans',
  'tcpi_dsack_dups',
  'tcpi_reord_seen',
  'tcpi_rcv_ooopack',
  'tcpi_snd_wnd',
  'tcpi_rcv_wnd',
  'tcpi_rehash',
  'tcpi_total_rto',
  'tcpi_total_rto_recoveries',
  'tcpi_total_rto_time',
  'tcpi_received_ce',
  'tcpi_delivered_e1_bytes',
  'tcpi_delivered_e0_bytes',
  'tcpi_delivered_ce_bytes',
  'tcpi_received_e1_bytes',
  'tcpi_received_e0_bytes',
  'tcpi_received_ce_bytes',
  'tcpi_ecn_mode',
  'tcpi_accecn_opt_seen',
  'tcpi_accecn_fail_mode',
  'tcpi_options2',
] as const;

export type TcpInfoField = (typeof TCP_INFO_FIELDS)[number];

export interface TcpInfoStruct {
  /** Every field; u64 ones that can exceed 2^53 (the pacing rates' ~0ULL) as bigint. */
  values: Record<TcpInfoField, number | bigint>;
  /** Fields the stack does not keep, with why: they read 0 here, which is not Linux's value. */
  notModelled: ReadonlyMap<TcpInfoField, string>;
}

/** enum tcp_state (include/net/tcp_states.h): the numbers tcpi_state reports. */
export const TCP_STATE_NUMBERS: Readonly<Record<TcpStateName, number>> = {
  ESTABLISHED: 1,
  SYN_SENT: 2,
  SYN_RECV: 3,
  FIN_WAIT1: 4,
  FIN_WAIT2: 5,
  TIME_WAIT: 6,
  CLOSED: 7,
  CLOSE_WAIT: 8,
  LAST_ACK: 9,
  LISTEN: 10,
  CLOSING: 11,
};

/** enum tcp_ca_state. */
export const TCP_CA_STATE_NUMBERS: Readonly<Record<CaStateName, number>> = { open: 0, disorder: 1, cwr: 2, recovery: 3, loss: 4 };

/** The TCPI_OPT_* bits of tcpi_options (include/uapi/linux/tcp.h). */
export const TCPI_OPT = {
  TIMESTAMPS: 1,
  SACK: 2,
  WSCALE: 4,
  ECN: 8,
  ECN_SEEN: 16,
  SYN_DATA: 32,
  USEC_TS: 64,
  TFO_CHILD: 128,
} as const;

/**
 * What Fast Open adds to a connection, read when present (a connection
 * without these properties has used no Fast Open): tp->syn_data_acked (the
 * data of our SYN was acknowledged: TCPI_OPT_SYN_DATA),
 * tp->syn_fastopen_child (a passive Fast Open child: TCPI_OPT_TFO_CHILD),
 * tp->fastopen_client_fail (enum tfo_client_fail).
 */
export interface FastOpenInfoHooks {
  synDataAcked?: boolean;
  synFastopenChild?: boolean;
  fastopenClientFail?: number;
}

/** ~0ULL: sk_pacing_rate and sk_max_pacing_rate unset (~0UL). */
const U64_MAX = 0xffffffffffffffffn;
/** ~0U: tcp_min_rtt before the first sample. */
const U32_MAX = 0xffffffff;

/** Why each field the stack does not keep reads 0. */
const NOT_MODELLED: ReadonlyArray<readonly [TcpInfoField, string]> = [
  ['tcpi_delivery_rate_app_limited', 'the stack keeps no delivery rate samples (tcp_rate.c)'],
  ['tcpi_delivery_rate', 'the stack keeps no delivery rate samples (tcp_rate.c)'],
  ['tcpi_received_ce', 'the stack has no Accurate ECN counters'],
  ['tcpi_delivered_e1_bytes', 'the stack has no Accurate ECN counters'],
  ['tcpi_delivered_e0_bytes', 'the stack has no Accurate ECN counters'],
  ['tcpi_delivered_ce_bytes', 'the stack has no Accurate ECN counters'],
  ['tcpi_received_e1_bytes', 'the stack has no Accurate ECN counters'],
  ['tcpi_received_e0_bytes', 'the stack has no Accurate ECN counters'],
  ['tcpi_received_ce_bytes', 'the stack has no Accurate ECN counters'],
  ['tcpi_ecn_mode', 'the stack has no Accurate ECN'],
  ['tcpi_accecn_opt_seen', 'the stack has no Accurate ECN'],
  ['tcpi_accecn_fail_mode', 'the stack has no Accurate ECN'],
  ['tcpi_options2', 'the stack has no Accurate ECN'],
];

function emptyValues(): Record<TcpInfoField, number | bigint> {
  const v = {} as Record<TcpInfoField, number | bigint>;
  for (const f of TCP_INFO_FIELDS) v[f] = 0;
  return v;
}

/** jiffies_to_msecs(tcp_jiffies32 - then): an age in whole jiffies, as ms. */
function ageMs(nowMs: number, thenMs: number): number {
  return ((jiffiesAt(nowMs) - jiffiesAt(thenMs)) >>> 0) * JIFFY_MS;
}

/**
 * What a TCP socket without a connection reports (tcp_get_info of a
 * socket fresh from tcp_init_sock, or a listener): the state, the pacing
 * rates, reordering and cwnd; a listener's unacked and sacked are its
 * accept queue's length and its backlog (the "aliased fields").
 */
export function unconnectedTcpInfo(
  state: TcpStateName,
  reordering: number,
  listener?: { queued: number; backlog: number },
): TcpInfoStruct {
  const v = emptyValues();
  v.tcpi_state = TCP_STATE_NUMBERS[state];
  v.tcpi_pacing_rate = U64_MAX;
  v.tcpi_max_pacing_rate = U64_MAX;
  v.tcpi_reordering = reordering;
  v.tcpi_snd_cwnd = INITIAL_CWND;
  if (listener) {
    v.tcpi_unacked = listener.queued;
    v.tcpi_sacked = listener.backlog;
    return { values: v, notModelled: new Map() };
  }
  // The rest of tcp_init_sock's defaults, read by the rest of tcp_get_info.
  v.tcpi_rto = TCP_TIMEOUT_INIT * 1000;
  v.tcpi_snd_mss = 536; // TCP_MSS_DEFAULT
  v.tcpi_rttvar = (TCP_TIMEOUT_INIT * 1000) >>> 2; // mdev_us = TCP_TIMEOUT_INIT
  v.tcpi_snd_ssthresh = INFINITE_SSTHRESH;
  v.tcpi_min_rtt = U32_MAX;
  return { values: v, notModelled: new Map(NOT_MODELLED) };
}

/** tcp_get_info of a connection. */
export function connectionTcpInfo(c: Connection): TcpInfoStruct {
  const v = emptyValues();
  const fo = c as Connection & FastOpenInfoHooks;
  const now = c.now();
  v.tcpi_state = TCP_STATE_NUMBERS[c.state];
  // sk_pacing_rate: ~0UL until tcp_update_pacing_rate first sets it; no SO_MAX_PACING_RATE.
  const rate = c.writeQueue.pacingRate;
  v.tcpi_pacing_rate = rate === Number.POSITIVE_INFINITY ? U64_MAX : rate;
  v.tcpi_max_pacing_rate = U64_MAX;
  v.tcpi_reordering = c.reordering;
  v.tcpi_snd_cwnd = c.cc.cwnd;

  v.tcpi_ca_state = TCP_CA_STATE_NUMBERS[c.caState];
  v.tcpi_retransmits = c.retransmits;
  // icsk_probes_out counts zero-window probes and keepalive probes alike.
  v.tcpi_probes = probesOut(c);
  v.tcpi_backoff = c.backoff;

  let options = 0;
  if (c.tsOk) options |= TCPI_OPT.TIMESTAMPS;
  if (c.sackOk) options |= TCPI_OPT.SACK;
  if (c.wscaleOk) {
    options |= TCPI_OPT.WSCALE;
    v.tcpi_snd_wscale = c.sndWscale;
    v.tcpi_rcv_wscale = c.rcvWscale;
  }
  if (c.ecnOk) options |= TCPI_OPT.ECN;
  if (c.ecnSeen) options |= TCPI_OPT.ECN_SEEN;
  if (fo.synDataAcked) options |= TCPI_OPT.SYN_DATA;
  // TCPI_OPT_USEC_TS: the stack's timestamps tick in ms (no TCP_NTOP_USEC_TS route feature).
  if (fo.synFastopenChild) options |= TCPI_OPT.TFO_CHILD;
  v.tcpi_options = options;
  v.tcpi_fastopen_client_fail = fo.fastopenClientFail ?? 0;

  // jiffies_to_usecs of icsk_rto and of min(icsk_ack.ato, tcp_delack_max()): both whole jiffies.
  v.tcpi_rto = c.rtt.rto * 1000;
  v.tcpi_ato = Math.min(c.ato, TCP_DELACK_MAX) * 1000;
  v.tcpi_snd_mss = c.mss;
  // icsk_ack.rcv_mss: tcp_initialize_rcv_mss's value from the handshake on (the stack computes it when first needed).
  v.tcpi_rcv_mss = c.rcvMss !== 0 ? c.rcvMss : Math.max(Math.min(c.advMss, c.mss, Math.floor(c.rcvWnd / 2), TCP_DEFAULT_MSS), TCP_MIN_MSS);

  v.tcpi_unacked = c.rtx.length; // packets_out
  // sacked_out: SACKed segments, or without SACK the duplicate ACKs counted in their stead (tcp_add_reno_sack).
  v.tcpi_sacked = c.sackOk ? c.rtx.sackedOut : c.renoSacked;
  v.tcpi_lost = c.rtx.lostOut;
  v.tcpi_retrans = c.rtx.retransOut;
  // tcpi_fackets and tcpi_last_ack_sent: 0 in Linux too (no longer kept).

  // tp->lsndtime: the last data sent, else the handshake (tcp_finish_connect, tcp_create_openreq_child); 0 before it.
  const lsndtime = c.lsndtime ?? c.synchronizedAt;
  v.tcpi_last_data_sent = lsndtime === undefined ? (jiffiesAt(now) >>> 0) * JIFFY_MS : ageMs(now, lsndtime);
  v.tcpi_last_data_recv = ageMs(now, c.lastDataTime); // icsk_ack.lrcvtime
  v.tcpi_last_ack_recv = ageMs(now, c.lastRcvTime); // tp->rcv_tstamp

  v.tcpi_pmtu = c.pmtuCookie;
  v.tcpi_rcv_ssthresh = c.rcvSsthresh;
  v.tcpi_rtt = c.rtt.srttUsScaled >>> 3; // srtt_us >> 3, µs
  v.tcpi_rttvar = Math.round(c.rtt.rttvar * 1000); // mdev_us >> 2, µs
  v.tcpi_snd_ssthresh = c.cc.ssthresh;
  v.tcpi_advmss = c.tpAdvMss();
  v.tcpi_rcv_rtt = c.rcvRttUs8 >>> 3;
  v.tcpi_rcv_space = c.rcvqSpace;
  v.tcpi_total_retrans = c.totalRetrans;
  v.tcpi_bytes_acked = c.bytesAcked;
  v.tcpi_bytes_received = c.bytesReceived;
  v.tcpi_rehash = c.timeoutRehash; // plb_rehash + timeout_rehash, no PLB
  v.tcpi_total_rto = c.totalRto;
  v.tcpi_total_rto_recoveries = c.totalRtoRecoveries;
  v.tcpi_total_rto_time = totalRtoTime(c);
  v.tcpi_segs_out = c.segsOut;
  v.tcpi_segs_in = c.segsIn;
  v.tcpi_data_segs_in = c.dataSegsIn;
  v.tcpi_data_segs_out = c.dataSegsOut;
  v.tcpi_notsent_bytes = Math.max(0, c.unsentBytes()); // write_seq - snd_nxt
  v.tcpi_min_rtt = c.minRtt.value === Infinity ? U32_MAX : c.minRtt.value;
  v.tcpi_delivered = c.delivered;
  v.tcpi_delivered_ce = c.deliveredCe;
  v.tcpi_rcv_ooopack = c.rcvOoopack;
  v.tcpi_bytes_sent = c.bytesSent;
  v.tcpi_bytes_retrans = c.bytesRetrans;
  v.tcpi_dsack_dups = c.dsackDups;
  v.tcpi_reord_seen = c.reordSeen;
  // tcp_get_info_chrono_stats: busy time and the parts of it the window and the send buffer held back, µs.
  const chrono = chronoStats(c);
  v.tcpi_busy_time = chrono.busy;
  v.tcpi_rwnd_limited = chrono.rwndLimited;
  v.tcpi_sndbuf_limited = chrono.sndbufLimited;
  v.tcpi_snd_wnd = c.sndWnd;
  v.tcpi_rcv_wnd = c.rcvWnd;
  return { values: v, notModelled: new Map(NOT_MODELLED) };
}
