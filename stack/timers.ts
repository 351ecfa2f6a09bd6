/**
 * The stack's one timer queue: every timer of every connection (RTO, delayed
 * ACK, persist, keepalive, FIN_WAIT2, TIME_WAIT, SYN-ACK, reassembly) lives
 * here, and the driver arms a single host timer for `nextDeadline()`.
 *
 * Why a binary heap and not a hashed wheel: deadlines are exact (virtual-time
 * tests assert segments at the millisecond, which a wheel's slot granularity
 * would blur), ties fire in the order they were armed (deterministic), and arm,
 * re-arm and cancel are O(log n) through the index each Timer keeps of its heap
 * slot. Linux's wheel wins when millions of timers are re-armed per second;
 * at the scale of a userspace stack (10^4–10^5 connections) the heap is
 * measured cheaper than the bookkeeping it saves.
 */
/** What the TimerQueue holds: a deadline and a heap slot; what firing does is the subclass's. */
export abstract class QueuedTimer {
  /** Absolute deadline in clock milliseconds; Infinity while disarmed. */
  deadline = Infinity;
  /** Position in the heap, -1 while disarmed (owned by TimerQueue). */
  index = -1;
  /** Arming order, to break ties between equal deadlines deterministically. */
  order = 0;

  constructor(
    /** What the timer is, for traces ("rto", "keepalive", "reasm"...). */
    readonly kind: string,
  ) {}

  abstract fire(): void;

  get armed(): boolean {
    return this.index >= 0;
  }
}

/** A timer that runs a callback. Per-connection timers subclass QueuedTimer instead, and keep no closure each. */
export class Timer extends QueuedTimer {
  constructor(
    kind: string,
    private readonly callback: () => void,
  ) {
    super(kind);
  }

  fire(): void {
    this.callback();
  }
}

export class TimerQueue {
  private readonly heap: QueuedTimer[] = [];
  private armedCount = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Arms (or re-arms) `timer` to fire at `deadline`. */
  arm(timer: QueuedTimer, deadline: number): void {
    timer.deadline = deadline;
    timer.order = ++this.armedCount;
    if (timer.index >= 0) {
      this.siftUp(timer.index);
      this.siftDown(timer.index);
    } else {
      timer.index = this.heap.length;
      this.heap.push(timer);
      this.siftUp(timer.index);
    }
  }

  cancel(timer: QueuedTimer): void {
    this.detach(timer);
    timer.deadline = Infinity;
  }

  /** Takes the timer out of the heap; its deadline stays readable (a firing timer sees when it was due). */
  private detach(timer: QueuedTimer): void {
    const i = timer.index;
    if (i < 0) return;
    const last = this.heap.pop()!;
    if (last !== timer) {
      this.heap[i] = last;
      last.index = i;
      this.siftUp(i);
      this.siftDown(last.index);
    }
    timer.index = -1;
  }

  /** The earliest deadline, or Infinity when nothing is armed. */
  nextDeadline(): number {
    return this.heap.length > 0 ? this.heap[0]!.deadline : Infinity;
  }

  /**
   * Fires, in deadline order, every timer due at or before `now`, including
   * timers that callbacks arm for a time <= now. Returns how many fired.
   */
  runDue(now: number): number {
    let fired = 0;
    while (this.heap.length > 0 && this.heap[0]!.deadline <= now) {
      const t = this.heap[0]!;
      this.detach(t);
      fired++;
      t.fire();
    }
    return fired;
  }

  private before(a: QueuedTimer, b: QueuedTimer): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.before(t, parent)) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = t;
    t.index = i;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.before(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!this.before(child, t)) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = t;
    t.index = i;
  }
}
