/**
 * The windowed minimum RTT (tp->rtt_min, read by tcp_min_rtt): Kathleen
 * Nichols' running min-filter of lib/minmax.c (minmax_running_min) over
 * net.ipv4.tcp_min_rtt_wlen seconds (300 by default). It keeps the best,
 * second-best and third-best samples of the window, so the minimum ages out
 * in steps instead of sticking forever. RACK's reordering window is a
 * quarter of it (tcp_rack_reo_wnd).
 */

interface Sample {
  /** When the sample was taken (ms). */
  t: number;
  /** RTT in µs. */
  v: number;
}

export class MinRttFilter {
  private s: [Sample, Sample, Sample] = [
    { t: 0, v: Infinity },
    { t: 0, v: Infinity },
    { t: 0, v: Infinity },
  ];

  /** tcp_min_rtt: the minimum in µs, or Infinity (~0U) before the first sample. */
  get value(): number {
    return this.s[0].v;
  }

  /** minmax_running_min(&tp->rtt_min, wlen, now, rtt_us). */
  update(nowMs: number, windowMs: number, rttUs: number): void {
    const val: Sample = { t: nowMs, v: rttUs };
    const s = this.s;
    // A new minimum, nothing in the window, or the window has passed: reset all three.
    if (s[0].v === Infinity || val.v <= s[0].v || val.t - s[2].t > windowMs) {
      this.s = [val, { ...val }, { ...val }];
      return;
    }
    if (val.v <= s[1].v) s[2] = s[1] = val;
    else if (val.v <= s[2].v) s[2] = val;
    this.subwinUpdate(windowMs, val);
  }

  /** minmax_subwin_update: age the best samples out by quarters of the window. */
  private subwinUpdate(win: number, val: Sample): void {
    const s = this.s;
    const dt = val.t - s[0].t;
    if (dt > win) {
      // The best has expired: the second and third take its place.
      s[0] = s[1];
      s[1] = s[2];
      s[2] = val;
      if (val.t - s[0].t > win) {
        s[0] = s[1];
        s[1] = s[2];
        s[2] = val;
      }
    } else if (s[1].t === s[0].t && dt > win / 4) {
      // A quarter of the window passed without a second choice: take one.
      s[2] = s[1] = val;
    } else if (s[2].t === s[1].t && dt > win / 2) {
      // Half of it passed without a third choice.
      s[2] = val;
    }
  }
}
