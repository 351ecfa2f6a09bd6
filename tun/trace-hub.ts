/**
 * Several listeners on one stack's trace: the live timeline and trace file,
 * the status page's per-connection histories, a pcapng capture's comments.
 * The stack has one sink (Stack.trace); the hub installs a fan-out while at
 * least one listener is attached and removes it when the last one leaves,
 * so a stack nobody listens to pays one branch per event, as before.
 */
import type { TraceEvent, TraceSink } from '../stack/trace.ts';

/** What the hub needs of a stack: its one trace sink. */
export interface TraceHost {
  trace: TraceSink | undefined;
}

const hubs = new WeakMap<TraceHost, TraceHub>();

export class TraceHub {
  private sinks: TraceSink[] = [];
  private readonly fanOut: TraceSink = (e: TraceEvent) => {
    const sinks = this.sinks;
    for (let i = 0; i < sinks.length; i++) sinks[i]!(e);
  };

  private constructor(private readonly host: TraceHost) {}

  /** The hub of `host` (one per stack, made on first use). */
  static of(host: TraceHost): TraceHub {
    let hub = hubs.get(host);
    if (hub === undefined) {
      hub = new TraceHub(host);
      hubs.set(host, hub);
    }
    return hub;
  }

  /** Attaches `sink`; the returned function detaches it (once; later calls do nothing). */
  attach(sink: TraceSink): () => void {
    // A new array each time: a sink attached or detached while an event is
    // being delivered takes effect from the next event.
    this.sinks = [...this.sinks, sink];
    this.host.trace = this.fanOut;
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.sinks = this.sinks.filter((s) => s !== sink);
      if (this.sinks.length === 0 && this.host.trace === this.fanOut) this.host.trace = undefined;
    };
  }

  /** How many sinks are attached. */
  get size(): number {
    return this.sinks.length;
  }
}
