/**
 * The per-connection state of loss detection and the cwnd reduction that
 * the control block holds, kept apart from the modules that act on it
 * (rack.ts, prr.ts) so that connection.ts imports none of them.
 */

/** struct tcp_rack (rack.ts). */
export class RackState {
  /** (Re)sent time of the most recently sent segment delivered (µs; 0: none yet). */
  mstamp = 0;
  /** Its end sequence number. */
  endSeq = 0;
  /** RTT of the last delivered segment that advanced RACK (µs). */
  rttUs = 0;
  /** tp->delivered when the window was last widened. */
  lastDelivered = 0;
  /** Multiples of min_rtt/4 the reordering window spans (1 to 255). */
  reoWndSteps = 1;
  /** Recoveries left before a widened window returns to one step. */
  reoWndPersist = 0;
  /** A D-SACK arrived since the window was last adjusted. */
  dsackSeen = false;
  /** RACK advanced since the last scan of the queue. */
  advanced = false;
}


/** State of one cwnd reduction (prr.ts; tp->prior_cwnd, prr_delivered, prr_out). */
export interface PrrState {
  /** cwnd before the reduction (tp->prior_cwnd); also what undo.ts restores, set by tcp_enter_loss too. */
  priorCwnd: number;
  /** Segments the peer delivered (ACKed or SACKed) since the reduction began. */
  delivered: number;
  /** Segments sent (retransmitted or new) since it began. */
  out: number;
}

