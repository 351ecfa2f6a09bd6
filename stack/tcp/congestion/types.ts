/**
 * The congestion-control interface (Linux's tcp_congestion_ops in miniature):
 * the connection tells the algorithm what happened, the algorithm owns cwnd
 * and ssthresh, counted in segments as Linux counts them.
 */
import type { Counters } from '../../counters.ts';

/** The names `net.ipv4.tcp_congestion_control` and TCP_CONGESTION take. */
export const CONGESTION_CONTROLS = ['cubic', 'reno'] as const;
export type CongestionControlName = (typeof CONGESTION_CONTROLS)[number];

export function isCongestionControlName(name: string): name is CongestionControlName {
  return (CONGESTION_CONTROLS as readonly string[]).includes(name);
}

/** What an algorithm may read of its connection: the virtual clock, SND.NXT, counters. */
export interface CongestionHost {
  /** Virtual time in ms (the stack's clock, never a real one). */
  now(): number;
  readonly sndNxt: number;
  readonly ctx: { readonly counters: Counters };
}

export interface CongestionControl {
  readonly name: CongestionControlName;
  /** Congestion window, segments. */
  cwnd: number;
  ssthresh: number;
  /**
   * New data acknowledged outside a reduction (cong_avoid); `cwndLimited`
   * is tcp_is_cwnd_limited: a window the sender does not fill does not grow.
   */
  onAck(ackedSegments: number, cwndLimited: boolean): void;
  /**
   * pkts_acked: an ACK moving SND.UNA to `sndUna` took `rttUs` µs for the
   * newest never-retransmitted segment it covers (negative when there is no
   * sample); `mss` and `srttUs` give the pacing rate HyStart's ACK-train
   * threshold uses.
   */
  onRttSample(rttUs: number, sndUna: number, mss: number, srttUs: number): void;
  /**
   * A cwnd reduction begins (tcp_init_cwnd_reduction calls ca->ssthresh):
   * ssthresh drops; cwnd is left as it is, for PRR to bring down (prr.ts).
   */
  onEnterRecovery(inFlight: number): void;
  /** The reduction is over (tcp_end_cwnd_reduction): cwnd = ssthresh. */
  onExitRecovery(): void;
  /** An RTO fired (RFC 5681 §3.1, eq. 4): loss window. */
  onTimeout(inFlight: number): void;
  /**
   * tcp_set_ca_state(TCP_CA_Loss) without tcp_enter_loss (tcp_simple_retransmit
   * after a path MTU drop): the algorithm's set_state hook only, cwnd and
   * ssthresh untouched.
   */
  onLossState(): void;
  /** A data segment is about to leave with `inFlight` segments outstanding (tcp_event_data_sent). */
  onDataSent(inFlight: number): void;
  /** undo_cwnd: the window to restore when a reduction proves spurious. */
  undoCwnd(priorCwnd: number): number;
  /** tp->snd_cwnd_cnt = 0 from outside the algorithm (tcp_mtup_probe_success sets a new cwnd). */
  clearCwndCount(): void;
}
