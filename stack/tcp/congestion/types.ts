/**
 * The congestion-control interface (Linux's tcp_congestion_ops in miniature):
 * the connection tells the algorithm what happened, the algorithm owns cwnd
 * and ssthresh, counted in segments as Linux counts them.
 */
export interface CongestionControl {
  readonly name: string;
  /** Congestion window, segments. */
  cwnd: number;
  ssthresh: number;
  /** New data acknowledged outside recovery. */
  onAck(ackedSegments: number, inFlightBefore: number): void;
  /** Entering fast recovery (RFC 5681 §3.2 step 2 / RFC 6675): returns the new ssthresh. */
  onEnterRecovery(inFlight: number): void;
  /** Recovery finished with a full ACK (RFC 6582 §3.2 step 3). */
  onExitRecovery(): void;
  /** An RTO fired (RFC 5681 §3.1, eq. 4): loss window. */
  onTimeout(inFlight: number): void;
}
