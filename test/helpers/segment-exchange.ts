/**
 * Exchanges counted in whole segments, for loss-recovery tests (undo,
 * F-RTO): one-segment writes of `seg` bytes, each flushed, and peer ACKs up
 * to a segment index, with what the stack sent answered as [index, length]
 * pairs relative to the first data byte.
 */
import { seqDiff } from '../../stack/tcp/seq.ts';
import { pattern, type Opened, type Opts, type Seen } from './tcp-peer.ts';

export interface SegmentExchange {
  /** Sequence number of the start of segment i. */
  edge(i: number): number;
  /** Segment index and length of each segment sent. */
  idx(sent: Seen[]): number[][];
  /** n more one-segment writes, each flushed: what left at once. */
  writes(n: number): number[][];
  /** The peer's ACK up to segment `upTo` at time `at`; what the stack sent in answer. */
  ack(at: number, upTo: number, opts?: Opts): number[][];
}

export function segmentExchange(opened: Opened, seg: number): SegmentExchange {
  const { peer: p, ep } = opened;
  const edge = (i: number) => p.our(1 + seg * i);
  const idx = (sent: Seen[]) => sent.map((x) => [seqDiff(x.seq, edge(0)) / seg, x.len]);
  let written = 0;
  const writes = (n: number) => {
    const out: Seen[] = [];
    for (let i = 0; i < n; i++, written++) {
      ep.write(pattern(seg, seg * written));
      out.push(...p.flush());
    }
    return idx(out);
  };
  const ack = (at: number, upTo: number, opts?: Opts) => {
    p.quietUntil(at);
    return idx(p.send({ flags: '.', seq: p.their(1), ack: edge(upTo), opts }));
  };
  return { edge, idx, writes, ack };
}
