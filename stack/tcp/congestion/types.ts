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
  /** New data acknowledged outside recovery (cong_avoid). */
  onAck(ackedSegments: number, inFlightBefore: number): void;
  /**
   * pkts_acked: an ACK moving SND.UNA to `sndUna` took `rttUs` µs for the
   * newest never-retransmitted segment it covers (negative when there is no
   * sample); `mss` and `srttUs` give the pacing rate HyStart's ACK-train
   * threshold uses.
   */
  onRttSample(rttUs: number, sndUna: number, mss: number, srttUs: number): void;
  /** Entering fast recovery (RFC 5681 §3.2 step 2 / RFC 6675): ssthresh and cwnd drop. */
  onEnterRecovery(inFlight: number): void;
  /** Recovery finished with a full ACK (RFC 6582 §3.2 step 3). */
  onExitRecovery(): void;
  /** An RTO fired (RFC 5681 §3.1, eq. 4): loss window. */
  onTimeout(inFlight: number): void;
  /**
   * ssthresh() for a window reduction that does not set cwnd itself
   * (tcp_init_cwnd_reduction, entering CWR on an ECN echo): the new
   * ssthresh, with the algorithm's own bookkeeping (CUBIC's W_max, epoch)
   * and the additive-increase counter reset.
   */
  reductionSsthresh(): number;
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
}
