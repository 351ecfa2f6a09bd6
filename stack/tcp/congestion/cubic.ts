/**
 * CUBIC (RFC 9438) as Linux's net/ipv4/tcp_cubic.c with its default module
 * parameters: beta 717/1024, C = 0.4 (bic_scale 41), fast convergence, TCP
 * friendliness (the Reno-estimate tcp_cwnd), HyStart (ACK-train and delay
 * detection). The kernel's integer arithmetic is kept, in its units: the
 * cubic function runs on jiffies (HZ 250, from INITIAL_JIFFIES) scaled to
 * 1/1024 s, HyStart on a µs clock, both derived from the stack's virtual
 * time. Slow start and the additive increase are tcp_slow_start and
 * tcp_cong_avoid_ai; the window drops to ssthresh on entering recovery (this
 * stack does not model PRR's gradual reduction).
 */
import { INFINITE_SSTHRESH, INITIAL_CWND } from './newreno.ts';
import { cubicRoot } from './cubic-root.ts';
import { HyStart } from './hystart.ts';
import type { CongestionControl, CongestionHost } from './types.ts';
import { HZ, jiffiesAt, usecsToJiffies } from '../jiffies.ts';

const BICTCP_BETA_SCALE = 1024;
/** 2^BICTCP_HZ units per second for the cubic function's time. */
const BICTCP_HZ = 10;
export const BETA = 717;
const BIC_SCALE = 41;
/** cubictcp_register: 1024*c/rtt, beta_scale and 2^40 / (bic_scale*10). */
const CUBE_RTT_SCALE = BigInt(BIC_SCALE * 10);
const BETA_SCALE = Math.floor(Math.floor((8 * (BICTCP_BETA_SCALE + BETA)) / 3) / (BICTCP_BETA_SCALE - BETA));
export const CUBE_FACTOR = (1n << BigInt(10 + 3 * BICTCP_HZ)) / BigInt(BIC_SCALE * 10);

const s32 = (v: number): number => v | 0;

export class Cubic implements CongestionControl {
  readonly name = 'cubic';
  cwnd = INITIAL_CWND;
  ssthresh = INFINITE_SSTHRESH;
  /** snd_cwnd_cnt. */
  private cwndCount = 0;
  /** struct bictcp, the part bictcp_reset zeroes. */
  cnt = 0;
  lastMaxCwnd = 0;
  private lastCwnd = 0;
  private lastTime = 0;
  originPoint = 0;
  /** bic_K, in 1/1024 s. */
  k = 0;
  delayMin = 0;
  epochStart = 0;
  private ackCnt = 0;
  /** The Reno estimate (TCP friendliness). */
  tcpCwnd = 0;
  private readonly hystart: HyStart;
  /** tp->lsndtime, jiffies of the last data sent. */
  private lsndtime = 0;

  constructor(private readonly host: CongestionHost) {
    // cubictcp_init's bictcp_hystart_reset happens at the first sample (HyStart.started).
    this.hystart = new HyStart(host);
    this.lsndtime = jiffiesAt(host.now());
  }

  private jiffies(): number {
    return jiffiesAt(this.host.now());
  }

  /** bictcp_reset: clears the epoch, W_max, delay_min and HyStart's found flag. */
  private reset(): void {
    this.cnt = 0;
    this.lastMaxCwnd = 0;
    this.lastCwnd = 0;
    this.lastTime = 0;
    this.originPoint = 0;
    this.k = 0;
    this.delayMin = 0;
    this.epochStart = 0;
    this.ackCnt = 0;
    this.tcpCwnd = 0;
    this.hystart.found = false;
  }

  /** cubictcp_cong_avoid. */
  onAck(acked: number, cwndLimited: boolean): void {
    if (!cwndLimited) return;
    if (this.cwnd < this.ssthresh) {
      // tcp_slow_start
      const grown = Math.min(this.cwnd + acked, this.ssthresh);
      acked -= grown - this.cwnd;
      this.cwnd = grown;
      if (acked <= 0) return;
    }
    this.update(this.cwnd, acked);
    this.congAvoidAi(this.cnt, acked);
  }

  /** tcp_cong_avoid_ai: one segment per `w` acknowledged. */
  private congAvoidAi(w: number, acked: number): void {
    if (this.cwndCount >= w) {
      this.cwndCount = 0;
      this.cwnd++;
    }
    this.cwndCount += acked;
    if (this.cwndCount >= w) {
      const delta = Math.floor(this.cwndCount / w);
      this.cwndCount -= delta * w;
      this.cwnd += delta;
    }
  }

  clearCwndCount(): void {
    this.cwndCount = 0;
  }

  /** bictcp_update: the target window and ca->cnt, at most once per jiffy. */
  private update(cwnd: number, acked: number): void {
    const now = this.jiffies();
    this.ackCnt = (this.ackCnt + acked) >>> 0;
    if (this.lastCwnd === cwnd && s32(now - this.lastTime) <= Math.floor(HZ / 32)) return;
    if (!(this.epochStart !== 0 && now === this.lastTime)) {
      this.lastCwnd = cwnd;
      this.lastTime = now;
      if (this.epochStart === 0) {
        this.epochStart = now;
        this.ackCnt = acked;
        this.tcpCwnd = cwnd;
        if (this.lastMaxCwnd <= cwnd) {
          this.k = 0;
          this.originPoint = cwnd;
        } else {
          this.k = cubicRoot(CUBE_FACTOR * BigInt(this.lastMaxCwnd - cwnd));
          this.originPoint = this.lastMaxCwnd;
        }
      }
      // t = time since the epoch plus one delay_min, in 1/1024 s.
      let t = s32(now - this.epochStart) + usecsToJiffies(this.delayMin);
      t = Math.floor((t * 2 ** BICTCP_HZ) / HZ);
      const offs = BigInt(t < this.k ? this.k - t : t - this.k);
      const delta = Number(((CUBE_RTT_SCALE * offs * offs * offs) >> BigInt(10 + 3 * BICTCP_HZ)) & 0xffffffffn);
      const target = (t < this.k ? this.originPoint - delta : this.originPoint + delta) >>> 0;
      this.cnt = target > cwnd ? Math.floor(cwnd / (target - cwnd)) : 100 * cwnd;
      // Initial growth with the bandwidth still unknown: at least 5% per RTT.
      if (this.lastMaxCwnd === 0 && this.cnt > 20) this.cnt = 20;
    }
    // TCP friendliness: grow no slower than Reno would with beta 0.7.
    const perSegment = (cwnd * BETA_SCALE) >>> 3;
    if (perSegment > 0 && this.ackCnt > perSegment) {
      const steps = Math.floor((this.ackCnt - 1) / perSegment);
      this.ackCnt -= steps * perSegment;
      this.tcpCwnd += steps;
    }
    if (this.tcpCwnd > cwnd) {
      const maxCnt = Math.floor(cwnd / (this.tcpCwnd - cwnd));
      if (this.cnt > maxCnt) this.cnt = maxCnt;
    }
    // At most one segment per two acknowledged: 1.5x per RTT.
    this.cnt = Math.max(this.cnt, 2);
  }

  /** cubictcp_recalc_ssthresh: ends the epoch, records W_max (reduced further by fast convergence). */
  private recalcSsthresh(): number {
    this.epochStart = 0;
    if (this.cwnd < this.lastMaxCwnd) this.lastMaxCwnd = Math.floor((this.cwnd * (BICTCP_BETA_SCALE + BETA)) / (2 * BICTCP_BETA_SCALE));
    else this.lastMaxCwnd = this.cwnd;
    return Math.max(Math.floor((this.cwnd * BETA) / BICTCP_BETA_SCALE), 2);
  }

  /** cubictcp_acked: delay_min, then HyStart while in slow start above hystart_low_window. */
  onRttSample(rttUs: number, sndUna: number, mss: number, srttUs: number): void {
    if (rttUs < 0) return;
    // Discard delay samples right after fast recovery.
    if (this.epochStart !== 0 && s32(this.jiffies() - this.epochStart) < HZ) return;
    const delay = Math.max(1, Math.floor(rttUs));
    if (this.delayMin === 0 || this.delayMin > delay) this.delayMin = delay;
    if (!this.hystart.found && this.cwnd < this.ssthresh && this.cwnd >= this.hystart.lowWindow) {
      if (this.hystart.update(delay, this.delayMin, sndUna, this.cwnd, mss, srttUs)) this.ssthresh = this.cwnd;
    }
  }

  /** cubictcp_recalc_ssthresh at tcp_init_cwnd_reduction; cwnd comes down by PRR (prr.ts). */
  onEnterRecovery(): void {
    this.ssthresh = this.recalcSsthresh();
    this.cwndCount = 0;
  }

  onExitRecovery(): void {
    this.cwnd = this.ssthresh;
  }

  /** tcp_enter_loss: ssthresh from the CC, a loss window of one, then cubictcp_state(TCP_CA_Loss) resets the state. */
  onTimeout(): void {
    this.ssthresh = this.recalcSsthresh();
    this.cwnd = 1;
    this.cwndCount = 0;
    this.reset();
    this.hystart.reset();
  }

  /** cubictcp_state(TCP_CA_Loss): a new epoch and a new HyStart round. */
  onLossState(): void {
    this.reset();
    this.hystart.reset();
  }

  /**
   * tcp_event_data_sent: with nothing in flight it is CA_EVENT_TX_START, and
   * cubictcp_cwnd_event shifts the epoch by the idle time so an
   * application-limited pause does not count as growth time.
   */
  onDataSent(inFlight: number): void {
    const now = this.jiffies();
    if (inFlight === 0) {
      const delta = s32(now - this.lsndtime);
      if (this.epochStart !== 0 && delta > 0) {
        this.epochStart = (this.epochStart + delta) >>> 0;
        if (s32(this.epochStart - now) > 0) this.epochStart = now;
      }
    }
    this.lsndtime = now;
  }

  /** cubic uses tcp_reno_undo_cwnd. */
  undoCwnd(priorCwnd: number): number {
    return Math.max(this.cwnd, priorCwnd);
  }
}
