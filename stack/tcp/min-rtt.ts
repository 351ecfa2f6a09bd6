/**
 * The windowed minimum RTT (tp->rtt_min, read by tcp_min_rtt): Kathleen
 * Nichols' running min-filter of lib/minmax.c (minmax_running_min) over
 * net.ipv4.tcp_min_rtt_wlen seconds (300 by default). It keeps the best,
 * second-best and third-best samples of the window, so the minimum ages out
 * in steps instead of sticking forever. RACK's reordering window is a
 * quarter of it (tcp_rack_reo_wnd).
 */

/** The three samples as plain numbers (when taken, ms; RTT, µs): no object per ACK. */
export class MinRttFilter {
  private t0 = 0;
  private v0 = Infinity;
  private t1 = 0;
  private v1 = Infinity;
  private t2 = 0;
  private v2 = Infinity;

  /** tcp_min_rtt: the minimum in µs, or Infinity (~0U) before the first sample. */
  get value(): number {
    return this.v0;
  }

  /** minmax_running_min(&tp->rtt_min, wlen, now, rtt_us). */
  update(nowMs: number, windowMs: number, rttUs: number): void {
    // A new minimum, nothing in the window, or the window has passed: reset all three.
    if (this.v0 === Infinity || rttUs <= this.v0 || nowMs - this.t2 > windowMs) {
      this.t0 = this.t1 = this.t2 = nowMs;
      this.v0 = this.v1 = this.v2 = rttUs;
      return;
    }
    if (rttUs <= this.v1) {
      this.t1 = this.t2 = nowMs;
      this.v1 = this.v2 = rttUs;
    } else if (rttUs <= this.v2) {
      this.t2 = nowMs;
      this.v2 = rttUs;
    }
    this.subwinUpdate(windowMs, nowMs, rttUs);
  }

  /** minmax_subwin_update: age the best samples out by quarters of the window. */
  private subwinUpdate(win: number, t: number, v: number): void {
    const dt = t - this.t0;
    if (dt > win) {
      // The best has expired: the second and third take its place.
      this.shift(t, v);
      if (t - this.t0 > win) this.shift(t, v);
    } else if (this.t1 === this.t0 && dt > win / 4) {
      // A quarter of the window passed without a second choice: take one.
      this.t1 = this.t2 = t;
      this.v1 = this.v2 = v;
    } else if (this.t2 === this.t1 && dt > win / 2) {
      // Half of it passed without a third choice.
      this.t2 = t;
      this.v2 = v;
    }
  }

  /** s[0] = s[1]; s[1] = s[2]; s[2] = the new sample. */
  private shift(t: number, v: number): void {
    this.t0 = this.t1;
    this.v0 = this.v1;
    this.t1 = this.t2;
    this.v1 = this.v2;
    this.t2 = t;
    this.v2 = v;
  }
}
