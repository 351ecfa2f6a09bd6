/**
 * NewReno (RFC 5681 and RFC 6582) in segments: slow start below ssthresh
 * (cwnd += acked, as Linux's tcp_slow_start), congestion avoidance above it
 * (one segment per window of ACKs, tcp_cong_avoid_ai), halving on entering
 * recovery, a loss window of one segment after an RTO. Linux calls it
 * "reno" (tcp_reno_cong_avoid, tcp_reno_ssthresh, tcp_reno_undo_cwnd).
 */
import type { CongestionControl } from './types.ts';

/** RFC 6928 / TCP_INIT_CWND. */
export const INITIAL_CWND = 10;
/** Linux's "infinite" initial ssthresh (TCP_INFINITE_SSTHRESH). */
export const INFINITE_SSTHRESH = 0x7fffffff;

export class NewReno implements CongestionControl {
  readonly name = 'reno';
  cwnd = INITIAL_CWND;
  ssthresh = INFINITE_SSTHRESH;
  /** Acked segments accumulated towards the next +1 in congestion avoidance. */
  private cwndCount = 0;

  /** tcp_reno_cong_avoid. */
  onAck(acked: number, cwndLimited: boolean): void {
    // RFC 5681 §3.1 / tcp_is_cwnd_limited: don't grow a window the sender isn't using.
    if (!cwndLimited) return;
    if (this.cwnd < this.ssthresh) {
      const room = this.ssthresh - this.cwnd;
      const grow = Math.min(acked, room);
      this.cwnd += grow;
      acked -= grow;
      if (acked <= 0) return;
    }
    this.cwndCount += acked;
    if (this.cwndCount >= this.cwnd) {
      this.cwndCount -= this.cwnd;
      this.cwnd += 1;
    }
  }

  /**
   * tcp_reno_ssthresh: half the congestion window (Linux halves cwnd, not
   * RFC 5681's FlightSize); cwnd comes down by PRR (prr.ts).
   */
  onEnterRecovery(): void {
    this.ssthresh = Math.max(this.cwnd >> 1, 2);
    this.cwndCount = 0;
  }

  clearCwndCount(): void {
    this.cwndCount = 0;
  }

  onExitRecovery(): void {
    this.cwnd = this.ssthresh;
  }

  /** tcp_enter_loss: ssthresh from tcp_reno_ssthresh, then a loss window of one. */
  onTimeout(): void {
    this.ssthresh = Math.max(this.cwnd >> 1, 2);
    this.cwnd = 1;
    this.cwndCount = 0;
  }

  onRttSample(): void {}


  /** Reno has no set_state hook. */
  onLossState(): void {}

  onDataSent(): void {}

  /** tcp_reno_undo_cwnd. */
  undoCwnd(priorCwnd: number): number {
    return Math.max(this.cwnd, priorCwnd);
  }
}
