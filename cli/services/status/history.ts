/**
 * The status page's small per-connection histories: the congestion window
 * (segments) and the smoothed RTT (ms), one point per snapshot, from the
 * trace's tcp-cc samples (the state after every ACK and xmit timer). A
 * sample costs one Map write (the latest one per connection is kept, the
 * record itself: nothing is copied); tick() turns the latest into a point.
 * At most HISTORY_POINTS points per connection and MAX_CONNECTIONS
 * connections are kept, so an open page's memory is bounded whatever the
 * stack carries.
 */
import type { TcpStateSample } from '../../../stack/trace.ts';

/** Points per history: a minute at one snapshot a second. */
export const HISTORY_POINTS = 60;
/** Connections followed at once; samples of further ones are ignored until some are forgotten. */
export const MAX_CONNECTIONS = 512;

export interface History {
  cwnd: number[];
  srtt: number[];
}

export class Histories {
  private readonly latest = new Map<string, TcpStateSample>();
  private readonly points = new Map<string, History>();

  /** One tcp-cc record (the trace sink calls this for every one). */
  sample(e: TcpStateSample): void {
    if (this.latest.size >= MAX_CONNECTIONS && !this.latest.has(e.conn)) return;
    this.latest.set(e.conn, e);
  }

  /** One point per connection sampled so far: its latest state (the value holds until the next sample). */
  tick(): void {
    for (const [id, e] of this.latest) {
      let h = this.points.get(id);
      if (h === undefined) this.points.set(id, (h = { cwnd: [], srtt: [] }));
      push(h.cwnd, e.cwnd);
      push(h.srtt, Math.round(e.srtt * 1000) / 1000);
    }
  }

  get(id: string): History | undefined {
    return this.points.get(id);
  }

  ids(): IterableIterator<string> {
    return this.latest.keys();
  }

  forget(id: string): void {
    this.latest.delete(id);
    this.points.delete(id);
  }

  clear(): void {
    this.latest.clear();
    this.points.clear();
  }

  get size(): number {
    return this.latest.size;
  }
}

function push(list: number[], value: number): void {
  list.push(value);
  if (list.length > HISTORY_POINTS) list.shift();
}
