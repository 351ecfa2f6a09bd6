/**
 * Time as the stack sees it: milliseconds on a monotonic scale, injected so
 * that every timer (RTO, keepalive, FIN_WAIT2, TIME_WAIT, reassembly) can be
 * driven in virtual time by tests and packet scripts.
 */
export interface Clock {
  now(): number;
}

/** A clock that only moves when told to: the basis of every deterministic test. */
export class VirtualClock implements Clock {
  private t: number;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  /** Moves time forward to `t`; time never goes backwards. */
  set(t: number): void {
    if (t < this.t) throw new RangeError(`virtual time cannot go back from ${this.t} to ${t}`);
    this.t = t;
  }

  advance(ms: number): void {
    this.set(this.t + ms);
  }
}
