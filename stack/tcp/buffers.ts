/**
 * Byte queues for one connection: the send queue (bytes from SND.UNA on,
 * acknowledged bytes dropped from the front) and the receive side (the
 * in-order queue the application reads, plus the out-of-order segments held
 * until the hole before them fills, RFC 9293 §3.10.7.4 "seventh").
 */
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from './seq.ts';

/** The chunk list of an empty queue, shared by all of them (frozen: never pushed to). */
const NO_CHUNKS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

/** A FIFO of byte chunks with cheap append, consume-from-front and random copy-out. */
export class ByteQueue {
  private chunks: Uint8Array[] = NO_CHUNKS;
  private head = 0;
  /** Bytes of chunks[head] already consumed. */
  private headOffset = 0;
  length = 0;
  /**
   * Bytes of the buffers the queued chunks are views of, each run of
   * consecutive chunks of one buffer counted once: what the queue keeps
   * alive (a view of a received batch keeps the whole batch). An estimate
   * from above: chunks of one buffer apart from each other count twice.
   */
  pinned = 0;
  private tailBuffer: ArrayBufferLike | undefined;
  /** Bytes consumed over the queue's life: offsets from the front become positions that consume() does not move. */
  private consumed = 0;
  /**
   * Where the last copyOut started: chunks[cursorIndex] begins at position
   * cursorStart. Segments are cut from the send queue in order, so the next
   * copyOut starts there or after it instead of walking every chunk from the
   * front (a window of views of 1448-byte segments is hundreds of chunks).
   * -1: none (the chunk array was replaced).
   */
  private cursorIndex = -1;
  private cursorStart = 0;

  /** Bytes left in the first chunk: the most shift() can hand out as a view. */
  get headLength(): number {
    return this.length === 0 ? 0 : this.chunks[this.head]!.length - this.headOffset;
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.chunks === NO_CHUNKS) this.chunks = [];
    this.chunks.push(data);
    this.length += data.length;
    if (data.buffer !== this.tailBuffer) {
      this.pinned += data.buffer.byteLength;
      this.tailBuffer = data.buffer;
    }
  }

  /**
   * tcp_collapse's remedy for chunks that keep much more memory alive than
   * they hold: each run of consecutive chunks of one buffer whose buffer is
   * over twice the run's bytes plus `slack` is copied into one buffer of its
   * own size, letting the big one go; a run that is most of its buffer (a
   * bulk reader's batch) stays a view. Copies each byte at most once (a copy
   * is its own buffer). Returns the bytes copied.
   */
  compact(slack: number): number {
    if (this.length === 0) return 0;
    const kept: Uint8Array[] = [];
    let copied = 0;
    let pinned = 0;
    /** Queued bytes before the run at hand. */
    let offset = 0;
    for (let i = this.head; i < this.chunks.length; ) {
      const buffer = this.chunks[i]!.buffer;
      let end = i;
      let bytes = 0;
      for (; end < this.chunks.length && this.chunks[end]!.buffer === buffer; end++) {
        bytes += this.chunks[end]!.length - (end === this.head ? this.headOffset : 0);
      }
      if (buffer.byteLength > 2 * bytes + slack) {
        const run = new Uint8Array(bytes);
        this.copyOut(offset, bytes, run, 0);
        kept.push(run);
        copied += bytes;
        pinned += bytes;
      } else {
        for (let j = i; j < end; j++) kept.push(j === this.head ? this.chunks[j]!.subarray(this.headOffset) : this.chunks[j]!);
        pinned += buffer.byteLength;
      }
      offset += bytes;
      i = end;
    }
    this.chunks = kept;
    this.cursorIndex = -1;
    this.head = 0;
    this.headOffset = 0;
    this.pinned = pinned;
    this.tailBuffer = kept[kept.length - 1]!.buffer;
    return copied;
  }

  /** Drops `n` bytes from the front. */
  consume(n: number): void {
    if (n > this.length) throw new RangeError(`consume ${n} of ${this.length}`);
    this.length -= n;
    this.consumed += n;
    while (n > 0) {
      const chunk = this.chunks[this.head]!;
      const left = chunk.length - this.headOffset;
      if (n < left) {
        this.headOffset += n;
        return;
      }
      n -= left;
      // The last chunk of a run of one buffer gone: the queue lets go of the buffer.
      const next = this.head + 1 < this.chunks.length ? this.chunks[this.head + 1]! : undefined;
      if (next === undefined || next.buffer !== chunk.buffer) this.pinned -= chunk.buffer.byteLength;
      this.chunks[this.head] = EMPTY;
      this.head++;
      this.headOffset = 0;
    }
    if (this.length === 0) {
      // Drained: drop the emptied slots (an idle connection keeps no array the size of its last burst).
      this.chunks = NO_CHUNKS;
      this.head = 0;
      this.pinned = 0;
      this.tailBuffer = undefined;
      this.cursorIndex = -1;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
      this.cursorIndex = -1;
    }
  }

  /** Copies bytes [offset, offset + n) into dst at dstOffset. */
  copyOut(offset: number, n: number, dst: Uint8Array, dstOffset: number): void {
    if (offset + n > this.length) throw new RangeError(`copyOut ${offset}+${n} of ${this.length}`);
    const position = this.consumed + offset;
    let i: number;
    let skip: number;
    if (this.cursorIndex >= this.head && this.cursorStart <= position) {
      i = this.cursorIndex;
      skip = position - this.cursorStart;
    } else {
      i = this.head;
      skip = offset + this.headOffset;
    }
    while (skip >= this.chunks[i]!.length) {
      skip -= this.chunks[i]!.length;
      i++;
    }
    this.cursorIndex = i;
    this.cursorStart = position - skip;
    while (n > 0) {
      const chunk = this.chunks[i]!;
      const take = Math.min(n, chunk.length - skip);
      dst.set(chunk.subarray(skip, skip + take), dstOffset);
      dstOffset += take;
      n -= take;
      skip = 0;
      i++;
    }
  }

  /** Removes and returns up to `max` bytes from the front (a view when it lies in one chunk). */
  shift(max: number): Uint8Array {
    const n = Math.min(max, this.length);
    if (n === 0) return EMPTY;
    const chunk = this.chunks[this.head]!;
    if (chunk.length - this.headOffset >= n) {
      const out = chunk.subarray(this.headOffset, this.headOffset + n);
      this.consume(n);
      return out;
    }
    const out = new Uint8Array(n);
    this.copyOut(0, n, out, 0);
    this.shiftCopied += n;
    this.consume(n);
    return out;
  }

  /** Bytes shift() had to copy, spanning chunks (Stack.copied). */
  shiftCopied = 0;

  clear(): void {
    this.chunks = NO_CHUNKS;
    this.cursorIndex = -1;
    this.head = 0;
    this.headOffset = 0;
    this.length = 0;
    this.pinned = 0;
    this.tailBuffer = undefined;
  }
}

const EMPTY = new Uint8Array(0);

interface OooSegment {
  seq: number;
  data: Uint8Array;
}

/** The lists of an empty out-of-order queue, shared (frozen: never pushed to). */
const NO_SEGMENTS: OooSegment[] = Object.freeze([]) as unknown as OooSegment[];
const NO_EDGES: number[] = Object.freeze([]) as unknown as number[];

/**
 * Out-of-order data, kept as non-overlapping ranges sorted by sequence
 * number (overlaps trimmed on insert, as tcp_data_queue_ofo does), with the
 * order ranges were last extended for SACK (RFC 2018 §4: the first block
 * reports the most recently received segment).
 */
export class OutOfOrderQueue {
  private segments: OooSegment[] = NO_SEGMENTS;
  bytes = 0;
  /** Left edges of blocks, most recently touched first. */
  private recent: number[] = NO_EDGES;

  get empty(): boolean {
    return this.segments.length === 0;
  }

  /** Highest sequence number held + 1, or undefined. */
  get end(): number | undefined {
    const last = this.segments[this.segments.length - 1];
    return last === undefined ? undefined : seqAdd(last.seq, last.data.length);
  }

  /**
   * Inserts [seq, seq+len) (the new bytes copied, or with `copy` false kept
   * as views of `data`); returns the bytes that were new. Each piece
   * already held is passed to `onDuplicate` as tcp_data_queue_ofo reports
   * it: `set` (tcp_dsack_set) when the held data begins before the new
   * segment or covers it, else extend (tcp_dsack_extend).
   */
  insert(seq: number, data: Uint8Array, onDuplicate?: (from: number, to: number, set: boolean) => void, copy = true): number {
    let start = seq;
    let payload = data;
    const segs = this.segments;
    const segEnd = seqAdd(seq, data.length);
    let i = 0;
    while (i < segs.length && seqLe(seqAdd(segs[i]!.seq, segs[i]!.data.length), start)) i++;
    const out: OooSegment[] = [];
    let added = 0;
    let firstOverlap = true;
    // Walk existing segments overlapping the new range; keep what they already hold.
    while (payload.length > 0) {
      const next = segs[i];
      const end = seqAdd(start, payload.length);
      if (next === undefined || seqLe(end, next.seq)) {
        out.push({ seq: start, data: copy ? payload.slice() : payload });
        added += payload.length;
        break;
      }
      if (seqLt(start, next.seq)) {
        const gap = seqDiff(next.seq, start);
        out.push({ seq: start, data: copy ? payload.slice(0, gap) : payload.subarray(0, gap) });
        added += gap;
      }
      const nextEnd = seqAdd(next.seq, next.data.length);
      if (onDuplicate) {
        const set = firstOverlap && (seqLt(next.seq, seq) || (next.seq === seq && seqLe(segEnd, nextEnd)));
        onDuplicate(seqLt(start, next.seq) ? next.seq : start, seqLt(end, nextEnd) ? end : nextEnd, set);
      }
      firstOverlap = false;
      const skip = seqDiff(nextEnd, start);
      if (skip >= payload.length) break;
      payload = payload.subarray(skip);
      start = nextEnd;
      i++;
    }
    if (added > 0) {
      if (this.segments === NO_SEGMENTS) this.segments = [];
      this.segments.push(...out);
      this.segments.sort((a, b) => seqDiff(a.seq, b.seq));
      this.bytes += added;
    }
    this.touch(seq);
    return added;
  }

  /**
   * Removes and returns the data that became in order at `rcvNxt` (and drops
   * anything now entirely before it). Held data below `rcvNxt` is passed to
   * `onDuplicate` as tcp_ofo_queue reports it: from its start to its end,
   * or to `rcvNxt` when it reaches beyond.
   */
  takeInOrder(rcvNxt: number, onDuplicate?: (from: number, to: number) => void): Uint8Array[] {
    const out: Uint8Array[] = [];
    let next = rcvNxt;
    while (this.segments.length > 0) {
      const s = this.segments[0]!;
      const end = seqAdd(s.seq, s.data.length);
      if (seqGt(s.seq, next)) break;
      // tcp_ofo_queue: a held segment now below RCV.NXT was received twice;
      // its duplicate range ends at its own end (or RCV.NXT), so a segment
      // covering two separate held ranges D-SACKs the first, and
      // tcp_dsack_extend adds a later one only where it touches it.
      if (onDuplicate && seqLt(s.seq, rcvNxt)) onDuplicate(s.seq, seqLt(end, rcvNxt) ? end : rcvNxt);
      this.segments.shift();
      this.bytes -= s.data.length;
      if (this.segments.length === 0) {
        this.segments = NO_SEGMENTS;
        this.recent = NO_EDGES;
      }
      if (seqLe(end, next)) continue;
      out.push(s.data.subarray(seqDiff(next, s.seq)));
      next = end;
    }
    return out;
  }

  /** How many SACK blocks there are to report, at most `max` (contiguous segments form one). */
  blockCount(max: number): number {
    let count = 0;
    let end: number | undefined;
    for (const s of this.segments) {
      if (end === undefined || end !== s.seq) count++;
      if (count > max) return max;
      end = seqAdd(s.seq, s.data.length);
    }
    return count;
  }

  /** SACK blocks (left, right pairs), most recently received first, at most `max`. */
  sackBlocks(max: number): number[] {
    const blocks: Array<[number, number]> = [];
    for (const s of this.segments) {
      const end = seqAdd(s.seq, s.data.length);
      const last = blocks[blocks.length - 1];
      if (last && last[1] === s.seq) last[1] = end;
      else blocks.push([s.seq, end]);
    }
    const ordered: number[] = [];
    const used = new Set<number>();
    for (const edge of this.recent) {
      const idx = blocks.findIndex(([l, r]) => seqLe(l, edge) && seqLt(edge, r));
      if (idx >= 0 && !used.has(idx)) {
        used.add(idx);
        ordered.push(blocks[idx]![0], blocks[idx]![1]);
      }
      if (ordered.length / 2 >= max) break;
    }
    for (let idx = 0; idx < blocks.length && ordered.length / 2 < max; idx++) {
      if (!used.has(idx)) ordered.push(blocks[idx]![0], blocks[idx]![1]);
    }
    return ordered;
  }

  private touch(seq: number): void {
    this.recent = [seq, ...this.recent.filter((s) => s !== seq)].slice(0, 8);
  }

  clear(): void {
    this.segments = NO_SEGMENTS;
    this.recent = NO_EDGES;
    this.bytes = 0;
  }
}

