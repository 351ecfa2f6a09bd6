/**
 * How a MSG_ZEROCOPY write fills skbs (tcp_sendmsg_locked's zerocopy path,
 * skb_zerocopy_iter_stream → __zerocopy_sg_from_iter): the user's pages
 * become the skb's frags instead of being copied, one frag per page each
 * buffer of the iovec touches, and an skb holds at most MAX_SKB_FRAGS of
 * them. When the next buffer finds no frag left (-EMSGSIZE) the skb is
 * marked PSH (tcp_mark_push) and a new one begins.
 *
 * Where a buffer starts within its page is the allocator's choice: here
 * each buffer starts a page, so a buffer of n bytes takes ceil(n / 4096)
 * frags (a buffer of up to a page, the common case, takes one either way).
 */
import type { UnsentSkb } from './write-queue.ts';

/** MAX_SKB_FRAGS (CONFIG_MAX_SKB_FRAGS's default). */
export const MAX_SKB_FRAGS = 17;
const PAGE_SIZE = 4096;

/** The frags an skb already holds: its zerocopy frags, or one page frag for copied bytes. */
function fragsUsed(skb: UnsentSkb): number {
  if (skb.zerocopyFrags > 0) return skb.zerocopyFrags;
  return skb.len > 0 ? 1 : 0;
}

/** Walks a zerocopy write's buffers (the iovec's lengths) as they go into skbs. */
export class FragCursor {
  private piece = 0;
  private offset = 0;

  constructor(private readonly pieces: readonly number[]) {}

  /** Whether the next byte of the write has a frag left in `skb` (else -EMSGSIZE: a new skb). */
  fits(skb: UnsentSkb): boolean {
    return fragsUsed(skb) < MAX_SKB_FRAGS;
  }

  /**
   * Puts up to `max` bytes into `skb` (which fits): whole pages of
   * buffers while frags are left. Returns the bytes taken (at least one).
   */
  take(skb: UnsentSkb, max: number): number {
    let frags = fragsUsed(skb);
    let taken = 0;
    while (taken < max && frags < MAX_SKB_FRAGS && this.piece < this.pieces.length) {
      const left = this.pieces[this.piece]! - this.offset;
      if (left <= 0) {
        this.piece++;
        this.offset = 0;
        continue;
      }
      // The rest of this buffer's current page, or less.
      const inPage = PAGE_SIZE - (this.offset % PAGE_SIZE);
      const n = Math.min(left, inPage, max - taken);
      taken += n;
      this.offset += n;
      frags++;
      if (this.offset >= this.pieces[this.piece]!) {
        this.piece++;
        this.offset = 0;
      }
    }
    // Bytes beyond the buffers the runner described (none when they add up) count as one more buffer.
    if (taken === 0) {
      taken = max;
      frags++;
    }
    skb.zerocopyFrags = frags;
    return taken;
  }
}
