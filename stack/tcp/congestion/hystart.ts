/**
 * HyStart as CUBIC runs it in Linux (hystart_update in
 * net/ipv4/tcp_cubic.c, defaults hystart=1, hystart_detect=3): slow start
 * ends (ssthresh = cwnd) when, within one round of the send sequence, either
 * the ACKs arriving in a train (each within hystart_ack_delta_us of the last)
 * span more than half of delay_min plus hystart_ack_delay, or the minimum RTT
 * of the round's first HYSTART_MIN_SAMPLES samples exceeds delay_min by
 * delay_min/8 clamped to 4..16 ms. The clock is µs of the stack's virtual time.
 */
import { seqGt } from '../seq.ts';
import type { CongestionHost } from './types.ts';

export const HYSTART_LOW_WINDOW = 16;
export const HYSTART_ACK_DELTA_US = 2000;
export const HYSTART_MIN_SAMPLES = 8;
const HYSTART_DELAY_MIN_US = 4000;
const HYSTART_DELAY_MAX_US = 16000;
/** sk_gso_max_size of a device without a larger GSO limit (GSO_LEGACY_MAX_SIZE). */
const GSO_MAX_SIZE = 65536;

export class HyStart {
  readonly lowWindow = HYSTART_LOW_WINDOW;
  /** The exit point is found (ca->found): no more detection until a loss resets it. */
  found = false;
  roundStart = 0;
  endSeq = 0;
  lastAck = 0;
  /** The minimum RTT of this round, µs (~0U at the round's start). */
  currRtt = 0xffffffff;
  sampleCnt = 0;

  /**
   * Whether a round has begun. Linux's cubictcp_init starts the first round
   * when the connection is established (tcp_init_transfer); the stack makes
   * the algorithm with the socket, before SND.NXT has its ISS, so the first
   * round starts with the first sample instead.
   */
  private started = false;

  constructor(private readonly host: CongestionHost) {}

  /** bictcp_clock_us. */
  private clockUs(): number {
    return Math.floor(this.host.now() * 1000) >>> 0;
  }

  /** bictcp_hystart_reset: a new round ends when snd_una passes today's snd_nxt. */
  reset(): void {
    this.started = true;
    this.roundStart = this.lastAck = this.clockUs();
    this.endSeq = this.host.sndNxt;
    this.currRtt = 0xffffffff;
    this.sampleCnt = 0;
  }

  /**
   * hystart_ack_delay: a cushion for TSO/GRO aggregation, the time four
   * GSO-sized packets take at the pacing rate (tcp_update_pacing_rate's 200%
   * of cwnd × mss / srtt in slow start), at most 1 ms; 0 before an RTT is known.
   */
  private ackDelayUs(cwnd: number, mss: number, srttUs: number): number {
    if (srttUs <= 0) return 0;
    const rate = Math.floor((2 * mss * cwnd * 1_000_000) / srttUs);
    if (rate <= 0) return 0;
    return Math.min(1000, Math.floor((GSO_MAX_SIZE * 4 * 1_000_000) / rate));
  }

  /** hystart_update: returns whether slow start ends now (the counters are counted here). */
  update(delay: number, delayMin: number, sndUna: number, cwnd: number, mss: number, srttUs: number): boolean {
    if (!this.started || seqGt(sndUna, this.endSeq)) this.reset();
    const counters = this.host.ctx.counters;
    let exit = false;
    const now = this.clockUs();
    if (((now - this.lastAck) | 0) <= HYSTART_ACK_DELTA_US) {
      this.lastAck = now;
      // No pacing (SK_PACING_NONE): half of delay_min (plus the cushion).
      const threshold = (delayMin + this.ackDelayUs(cwnd, mss, srttUs)) >>> 1;
      if (((now - this.roundStart) | 0) > threshold) {
        this.found = true;
        counters.TcpExtTCPHystartTrainDetect++;
        counters.TcpExtTCPHystartTrainCwnd += cwnd;
        exit = true;
      }
    }
    if (this.currRtt > delay) this.currRtt = delay;
    if (this.sampleCnt < HYSTART_MIN_SAMPLES) {
      this.sampleCnt++;
    } else {
      const thresh = Math.min(Math.max(delayMin >>> 3, HYSTART_DELAY_MIN_US), HYSTART_DELAY_MAX_US);
      if (this.currRtt > delayMin + thresh) {
        this.found = true;
        counters.TcpExtTCPHystartDelayDetect++;
        counters.TcpExtTCPHystartDelayCwnd += cwnd;
        exit = true;
      }
    }
    return exit;
  }
}
