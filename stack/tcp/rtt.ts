/**
 * Round-trip time estimation and the retransmission timeout (RFC 6298, with
 * Linux's choices from tcp_rtt_estimator/tcp_set_rto): SRTT and RTTVAR with
 * α = 1/8, β = 1/4; RTO = SRTT + max(4·RTTVAR, rto_min) where rto_min
 * (200 ms) floors the variance term rather than the whole RTO (RFC 6298's
 * 1 s floor is what Linux deliberately does not use); initial RTO 1 s; cap
 * 120 s; 3 s after a handshake whose SYN had to be retransmitted with no RTT
 * sample (RFC 6298 §5.7, TCP_TIMEOUT_FALLBACK).
 */
import { TCP_RTO_MAX, TCP_RTO_MIN, TCP_TIMEOUT_INIT } from './constants.ts';

export class RttEstimator {
  /** Smoothed RTT in ms; 0 until the first sample. */
  srtt = 0;
  rttvar = 0;
  /** The RTO before backoff. */
  rto = TCP_TIMEOUT_INIT;
  samples = 0;
  /** Smallest sample in ms (tcp_min_rtt; Linux's 300 s window is not modelled). */
  minRtt: number | undefined;

  constructor(
    readonly rtoMin = TCP_RTO_MIN,
    /** The backoff cap (icsk_rto_max; tcp_rto_max_ms, 120 s by default). */
    readonly rtoMax = TCP_RTO_MAX,
  ) {}

  sample(rtt: number): void {
    const r = Math.max(rtt, 0.001);
    if (this.minRtt === undefined || r < this.minRtt) this.minRtt = r;
    if (this.samples === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.samples++;
    // __tcp_set_rto works in jiffies: the RTO is a whole number of milliseconds (HZ=1000), rounded up.
    this.rto = Math.min(this.rtoMax, Math.ceil(this.srtt + Math.max(4 * this.rttvar, this.rtoMin)));
  }
}
