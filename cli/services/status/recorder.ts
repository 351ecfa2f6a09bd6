/**
 * The status page's recording of the stack's trace: attached to the stack
 * (TraceHub) only while someone looks. An /events stream watches for as
 * long as it is open; a page or graph request keeps the recording on for
 * `lingerMs` after it (a reload, a page without JavaScript refreshing
 * itself). With nobody looking the sink is detached, everything recorded
 * is dropped and the ticker stops: the stack's trace costs its one branch
 * per event again (tun/trace-hub.ts).
 *
 * While on, every `intervalMs` the ticker adds a point to each
 * connection's history and runs the tick listeners (the /events streams);
 * connections closed for `forgetMs` are forgotten.
 */
import type { TraceEvent } from '../../../stack/trace.ts';
import { TraceHub, type TraceHost } from '../../../tun/trace-hub.ts';
import { Histories } from './history.ts';
import { GraphRecords } from './graph-records.ts';

export interface RecorderOptions {
  /** Snapshot period, ms (default 1000). */
  intervalMs?: number;
  /** How long a page or graph request keeps the recording on, ms (default 10 s). */
  lingerMs?: number;
  /** How long a closed connection's history and graph stay, ms (default 30 s). */
  forgetMs?: number;
}

export class Recorder {
  readonly histories = new Histories();
  readonly graphs = new GraphRecords();
  readonly intervalMs: number;
  private readonly lingerMs: number;
  private readonly forgetMs: number;
  private watchers = 0;
  private detach: (() => void) | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private lingering: { timer: NodeJS.Timeout; unwatch: () => void } | undefined;
  private readonly listeners = new Set<() => void>();
  /** When each connection no longer open was first seen gone (Date.now()). */
  private readonly gone = new Map<string, number>();

  private readonly sink = (e: TraceEvent): void => {
    if (e.kind === 'tcp-cc') this.histories.sample(e);
    this.graphs.push(e);
  };

  /**
   * `host`: the stack whose trace is recorded (undefined: a view without a
   * trace, nothing is recorded); `openIds`: the connections open now, as
   * the trace names them (LOCALPORT-REMOTEPORT).
   */
  constructor(
    private readonly host: TraceHost | undefined,
    private readonly openIds: () => Set<string>,
    options: RecorderOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.lingerMs = options.lingerMs ?? 10_000;
    this.forgetMs = options.forgetMs ?? 30_000;
  }

  /** True while the trace is being recorded. */
  get on(): boolean {
    return this.watchers > 0;
  }

  /** Starts recording if it was off; the returned function ends this watch (once). */
  watch(): () => void {
    if (this.watchers++ === 0) this.start();
    let watching = true;
    return () => {
      if (!watching) return;
      watching = false;
      if (--this.watchers === 0) this.stop();
    };
  }

  /** A page or graph was requested: record for lingerMs more (one timer, moved on each request). */
  touch(): void {
    if (this.lingering === undefined) {
      const unwatch = this.watch();
      this.lingering = { unwatch, timer: this.lingerTimer() };
    } else {
      clearTimeout(this.lingering.timer);
      this.lingering.timer = this.lingerTimer();
    }
  }

  /** Runs `listener` after each tick while on; returns its removal. */
  onTick(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ends the recording whoever watches (the service is closing). */
  close(): void {
    if (this.lingering !== undefined) clearTimeout(this.lingering.timer);
    this.lingering = undefined;
    this.listeners.clear();
    if (this.watchers > 0) {
      this.watchers = 0;
      this.stop();
    }
  }

  private lingerTimer(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      const l = this.lingering;
      this.lingering = undefined;
      l?.unwatch();
    }, this.lingerMs);
    timer.unref();
    return timer;
  }

  private start(): void {
    if (this.host !== undefined) this.detach = TraceHub.of(this.host).attach(this.sink);
    this.ticker = setInterval(() => this.tick(), this.intervalMs);
    this.ticker.unref();
  }

  private stop(): void {
    this.detach?.();
    this.detach = undefined;
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.histories.clear();
    this.graphs.clear();
    this.gone.clear();
  }

  /** One point per history, closed connections forgotten after forgetMs, then the listeners. */
  tick(): void {
    this.histories.tick();
    const open = this.openIds();
    const now = Date.now();
    for (const id of new Set([...this.histories.ids(), ...this.graphs.ids()])) {
      if (open.has(id)) {
        this.gone.delete(id);
        continue;
      }
      const since = this.gone.get(id);
      if (since === undefined) this.gone.set(id, now);
      else if (now - since >= this.forgetMs) {
        this.histories.forget(id);
        this.graphs.forget(id);
        this.gone.delete(id);
      }
    }
    for (const listener of [...this.listeners]) listener();
  }
}
