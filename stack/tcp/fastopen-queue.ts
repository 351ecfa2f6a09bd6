/**
 * The Fast Open queue of a listening socket (struct fastopen_queue), apart
 * from the rest of Fast Open (fastopen-server.ts) so that a request sock
 * can name it without depending on connections.
 */
import type { FastOpenKey } from './fastopen-cookie.ts';

/** What tcp_check_req answers for a Fast Open child's segment that the child itself is to process (it returns the child). */
export const CHILD_PROCESSES = 'child';

/**
 * struct fastopen_queue: the socket's, not the listener's (it sits in
 * icsk_accept_queue, so a TCP_FASTOPEN set before listen() holds, and a
 * second listen() keeps it); a child does not inherit it (inet_csk_clone_lock
 * clears the accept queue).
 */
export class FastOpenQueue {
  /** TCP_FASTOPEN's queue length, min(value, somaxconn); 0: no Fast Open on this listener. */
  maxQlen = 0;
  /** Children whose handshake is not complete, and reset children still held. */
  qlen = 0;
  /** rskq_rst_head..tail: when each held reset child stops counting, oldest first. */
  readonly resetExpiries: number[] = [];
  /** TCP_FASTOPEN_KEY: this socket's keys, primary first; undefined: the namespace's (tcp_fastopen_get_ctx). */
  keys: FastOpenKey[] | undefined;
  /** TCP_FASTOPEN_NO_COOKIE (tp->fastopen_no_cookie): SYN data needs no cookie on this listener. */
  noCookie = false;

  /** reqsk_queue_alloc at listen(): nothing pending, nothing held. */
  startListening(): void {
    this.qlen = 0;
    this.resetExpiries.length = 0;
  }
}

