/**
 * Views of buffers TCP does not own, and the bound on what they keep alive.
 *
 * Received: with TcpContext.keepsInput the receive queue holds views of the
 * link's batches (the TUN addon's read pool); sent: a zero-copy write
 * (sendmsg with `zeroCopy`) queues views of the writer's bytes. A view
 * keeps its whole buffer alive, so a queue that pins much more than it
 * holds is compacted (ByteQueue.compact: each small run copied once, as
 * Linux's tcp_collapse answers skbs whose truesize dwarfs their data):
 *
 * - the receive queue after each batch, once the readers the batch woke
 *   have read (TcpLayer.flush): a reader that keeps up holds views of
 *   batches of its own data and never comes near; one that lags behind
 *   other traffic keeps whole batches for a few bytes each;
 * - the send queue when the retransmission or the zero-window probe timer
 *   fires (timer-expiry.ts): data the peer takes promptly is let go when it
 *   is acknowledged, and what stays unacknowledged for an RTO or behind a
 *   closed window is copied, once, rather than holding its buffers for as
 *   long as the peer keeps it waiting.
 */
import type { ByteQueue } from './buffers.ts';
import type { Connection } from './connection.ts';

/** Bytes each run may pin beyond twice what the queue holds before it is compacted. */
const COMPACT_SLACK = 16 * 1024;

/** Compacts `q` if it pins more than twice what it holds plus the slack; the bytes copied. */
function compactIfPinning(q: ByteQueue): number {
  return q.pinned > 2 * q.length + COMPACT_SLACK ? q.compact(COMPACT_SLACK) : 0;
}

/** TcpLayer.flush, for each connection that queued views since the last: compact its receive queue if it pins too much. */
export function compactReceiveQueue(c: Connection): void {
  c.ctx.copied.rx += compactIfPinning(c.recvQueue);
}

/** On the RTO and the probe timer: compact the send queue if it pins too much. */
export function compactSendQueue(c: Connection): void {
  c.ctx.copied.tx += compactIfPinning(c.sendQueue);
}
