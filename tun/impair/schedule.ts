/**
 * Packets waiting to be released, ordered by release time; ties leave in the
 * order they were scheduled (a binary heap keyed by time, then a serial).
 */
interface Entry {
  at: number;
  serial: number;
  packet: Uint8Array;
}

const before = (a: Entry, b: Entry): boolean => a.at < b.at || (a.at === b.at && a.serial < b.serial);

export class Schedule {
  private readonly heap: Entry[] = [];
  private serial = 0;

  get size(): number {
    return this.heap.length;
  }

  /** The earliest release time, or Infinity when empty. */
  next(): number {
    return this.heap.length === 0 ? Infinity : this.heap[0]!.at;
  }

  add(at: number, packet: Uint8Array): void {
    const h = this.heap;
    const e: Entry = { at, serial: this.serial++, packet };
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(e, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = e;
  }

  /** Removes and returns every packet due at `now`, in release order. */
  takeDue(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (this.heap.length > 0 && this.heap[0]!.at <= now) out.push(this.pop().packet);
    return out;
  }

  clear(): void {
    this.heap.length = 0;
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
