/**
 * /events: the status page's snapshots as server-sent events (the HTML
 * Standard's text/event-stream: `data: JSON` and a blank line per
 * message). Each open stream keeps the recording on (Recorder.watch); the
 * recorder's ticker builds one snapshot per tick and every stream gets it.
 *
 * Bounded: a stream whose response has not drained (a client that does not
 * read, a slow link) skips snapshots rather than queue them, so what waits
 * for it in this process is at most one snapshot beyond the socket's
 * high-water mark, plus the stack's own send buffer; a stream stalled for
 * `stallMs` is ended. A stream ends when its socket closes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Recorder } from './recorder.ts';
import type { SnapshotBuilder } from './snapshot.ts';

export interface EventStreamsOptions {
  /** A stream that could not take a snapshot for this long is closed, ms (default 30 s). */
  stallMs?: number;
}

interface Stream {
  res: ServerResponse;
  /** Date.now() of the first snapshot skipped in a row, or undefined. */
  stalledSince: number | undefined;
  skipped: number;
}

export class EventStreams {
  private readonly streams = new Set<Stream>();
  private readonly stallMs: number;
  private removeTick: (() => void) | undefined;
  /** Snapshots not sent to a stream that had not drained, over all streams. */
  skipped = 0;

  constructor(
    private readonly recorder: Recorder,
    private readonly snapshots: SnapshotBuilder,
    options: EventStreamsOptions = {},
  ) {
    this.stallMs = options.stallMs ?? 30_000;
  }

  get size(): number {
    return this.streams.size;
  }

  /** Answers GET /events: the headers, a first snapshot at once, then one per tick until the socket closes. */
  open(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream: Stream = { res, stalledSince: undefined, skipped: 0 };
    this.streams.add(stream);
    const unwatch = this.recorder.watch();
    this.removeTick ??= this.recorder.onTick(() => this.broadcast());
    res.on('close', () => {
      this.streams.delete(stream);
      unwatch();
      if (this.streams.size === 0) {
        this.removeTick?.();
        this.removeTick = undefined;
      }
    });
    // EventSource reconnects after `retry` ms when the stream breaks.
    res.write(`retry: 2000\n\n`);
    this.send(stream, `data: ${JSON.stringify(this.snapshots.build())}\n\n`);
  }

  /** Bytes written to the streams and not yet taken by the stack (their responses' and sockets' buffers). */
  bufferedBytes(): number {
    let n = 0;
    for (const s of this.streams) n += s.res.writableLength;
    return n;
  }

  /** Ends every stream (the service is closing). */
  close(): void {
    for (const s of [...this.streams]) s.res.destroy();
  }

  private broadcast(): void {
    if (this.streams.size === 0) return;
    const message = `data: ${JSON.stringify(this.snapshots.build())}\n\n`;
    for (const s of [...this.streams]) this.send(s, message);
  }

  private send(s: Stream, message: string): void {
    if (!s.res.writableNeedDrain) {
      s.stalledSince = undefined;
      s.res.write(message);
      return;
    }
    s.skipped++;
    this.skipped++;
    const now = Date.now();
    s.stalledSince ??= now;
    if (now - s.stalledSince >= this.stallMs) s.res.destroy();
  }
}
