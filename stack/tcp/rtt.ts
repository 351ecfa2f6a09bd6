/**
 * Round-trip time estimation and the retransmission timeout as Linux's
 * tcp_rtt_estimator and __tcp_set_rto compute them (RFC 6298 with
 * Jacobson's integer arithmetic and Linux's own choices), in the kernel's
 * units: srtt_us is 8·SRTT and mdev_us 4·mean deviation, both in µs.
 *
 * - A sample below SRTT moves the deviation with gain 1/32, not 1/4
 *   (Eifel-like: a falling RTT must not inflate the RTO).
 * - RTTVAR (rttvar_us) follows the largest deviation seen in the last round
 *   trip (mdev_max_us), at least rto_min, and decays by a quarter of the
 *   excess once per round trip (when snd_una passes rtt_seq): the RTO
 *   rises at once and falls slowly.
 * - RTO = SRTT + RTTVAR rounded up to whole jiffies (usecs_to_jiffies), at
 *   most rto_max (tcp_bound_rto): rto_min floors the variance term, not
 *   the whole RTO (RFC 6298's 1 s floor is what Linux deliberately does not
 *   use). Initial RTO 1 s; 3 s after a handshake whose SYN had to be
 *   retransmitted with no RTT sample (RFC 6298 §5.7, TCP_TIMEOUT_FALLBACK).
 */
import { TCP_RTO_MAX, TCP_RTO_MIN, TCP_TIMEOUT_INIT } from './constants.ts';
import { JIFFY_MS, jiffiesToMsecs, usecsToJiffies } from './jiffies.ts';
import type { RouteMetrics } from '../ip/route-metrics.ts';
import { seqGt } from './seq.ts';

export class RttEstimator {
  /** tp->srtt_us: 8·SRTT in µs; 0 until the first sample. */
  private srttUs = 0;
  /** tp->mdev_us: 4·mean deviation in µs. */
  private mdevUs = 0;
  /** tp->mdev_max_us: the largest mdev_us of the current round trip. */
  private mdevMaxUs = 0;
  /** tp->rttvar_us: the variance term of the RTO, at least rto_min. */
  private rttvarUs = 0;
  /** tp->rtt_seq: snd_nxt when the round trip being measured began. */
  private rttSeq = 0;
  /** The RTO before backoff, in ms (icsk_rto: a whole number of jiffies). */
  rto = TCP_TIMEOUT_INIT;
  samples = 0;
  /** The last sample, ms (the trace's state samples report it with the ACK that gave it). */
  lastSample = 0;
  /** Smallest sample in ms (the windowed tcp_min_rtt is min-rtt.ts). */
  minRtt: number | undefined;

  constructor(
    /** The RTO's variance floor (tcp_rto_min_us), in ms: the socket's, or its route's rto_min (dst.ts). */
    public rtoMin = TCP_RTO_MIN,
    /** The backoff cap (icsk_rto_max; tcp_rto_max_ms, 120 s by default). */
    readonly rtoMax = TCP_RTO_MAX,
  ) {}

  /** Smoothed RTT in ms (srtt_us >> 3); 0 until the first sample. */
  get srtt(): number {
    return (this.srttUs >>> 3) / 1000;
  }

  /** The smoothed RTT in µs scaled by 8, as tp->srtt_us (the tail loss probe and pacing use it). */
  get srttUsScaled(): number {
    return this.srttUs;
  }

  /** The mean deviation in ms (tcpi_rttvar: mdev_us >> 2). */
  get rttvar(): number {
    return (this.mdevUs >>> 2) / 1000;
  }

  /**
   * tcp_rtt_estimator then tcp_set_rto, for a sample of `rttMs`, with
   * snd_una and snd_nxt as they are after this ACK (tcp_ack updates snd_una
   * before tcp_clean_rtx_queue takes the sample).
   */
  sample(rttMs: number, sndUna: number, sndNxt: number): void {
    const mUs = Math.max(0, Math.round(rttMs * 1000));
    this.lastSample = mUs / 1000;
    if (this.minRtt === undefined || rttMs < this.minRtt) this.minRtt = Math.max(rttMs, 0.001);
    const rtoMinUs = Math.round(this.rtoMin * 1000);
    let srtt = this.srttUs;
    if (srtt !== 0) {
      let m = mUs - (srtt >>> 3); // the error in the estimate
      srtt += m; // srtt = 7/8 srtt + 1/8 sample
      if (m < 0) {
        m = -m - (this.mdevUs >> 2);
        if (m > 0) m >>= 3; // a falling RTT: gain 1/32
      } else {
        m -= this.mdevUs >> 2;
      }
      this.mdevUs += m; // mdev = 3/4 mdev + 1/4 |error|
      if (this.mdevUs > this.mdevMaxUs) {
        this.mdevMaxUs = this.mdevUs;
        if (this.mdevMaxUs > this.rttvarUs) this.rttvarUs = this.mdevMaxUs;
      }
      if (seqGt(sndUna, this.rttSeq)) {
        // A round trip ended: RTTVAR decays towards its largest deviation.
        if (this.mdevMaxUs < this.rttvarUs) this.rttvarUs -= (this.rttvarUs - this.mdevMaxUs) >> 2;
        this.rttSeq = sndNxt;
        this.mdevMaxUs = rtoMinUs;
      }
    } else {
      srtt = mUs * 8; // the first measurement is the RTT
      this.mdevUs = mUs * 2; // and RTO = 3·RTT
      this.rttvarUs = Math.max(this.mdevUs, rtoMinUs);
      this.mdevMaxUs = this.rttvarUs;
      this.rttSeq = sndNxt;
    }
    this.srttUs = Math.max(1, srtt);
    this.samples++;
    this.rto = Math.min(this.rtoMax, jiffiesToMsecs(usecsToJiffies((this.srttUs >>> 3) + this.rttvarUs)));
  }
}

/**
 * tcp_ack_update_rtt's sample from an echoed timestamp, in ms, given our
 * timestamp clock now: none (-1) for a zero echo or one from the future;
 * a zero difference counts as 1 ms (the clock's resolution).
 */
export function timestampRtt(tsNow: number, tsEcr: number): number {
  if (tsEcr === 0) return -1;
  const delta = (tsNow - tsEcr) >>> 0;
  if (delta >= 0x7fffffff / 1000) return -1;
  return Math.max(delta, 1);
}

/**
 * tcp_rto_min: a route's rto_min (always locked by ip route; dst_metric_rtt
 * makes it whole jiffies, rounded up) when it has one, else the socket's
 * `socketMs` (icsk_rto_min).
 */
export function routeRtoMin(m: RouteMetrics, socketMs: number): number {
  return m.rtoMin !== 0 ? Math.ceil(m.rtoMin / JIFFY_MS) * JIFFY_MS : socketMs;
}
