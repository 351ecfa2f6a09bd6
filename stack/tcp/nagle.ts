/**
 * Nagle's algorithm and corking as Linux 6.18 keeps them in tp->nonagle
 * (net/ipv4/tcp.c, tcp_output.c):
 *
 * - TCP_NAGLE_OFF is TCP_NODELAY; TCP_NAGLE_CORK is TCP_CORK; TCP_NAGLE_PUSH
 *   pushes once, Nagle aside, and is cleared when the next skb is queued
 *   (tcp_skb_entail). Setting TCP_NODELAY sets OFF and PUSH and pushes;
 *   clearing TCP_CORK pushes, with PUSH when TCP_NODELAY is on
 *   (__tcp_sock_set_nodelay, __tcp_sock_set_cork).
 * - A write's final push (tcp_push) uses tp->nonagle, or TCP_NAGLE_CORK for
 *   that one push when the write had MSG_MORE; pushes in the middle of a
 *   write use TCP_NAGLE_PUSH, the loss probe TCP_NAGLE_OFF.
 * - tcp_nagle_check holds a sub-MSS tail while corked, or, with no flag at
 *   all, while a sub-MSS segment is unacknowledged (Minshall's variant of
 *   RFC 896). tcp_nagle_test lets TCP_NAGLE_PUSH and the FIN through first.
 *
 * What is held with nothing in flight goes when the zero-window probe timer
 * fires (tcp_check_probe_timer: max(RTO, 200 ms)), as tcp_write_wakeup: the
 * "200 ms ceiling" of TCP_CORK.
 */
import type { Connection } from './connection.ts';
import { seqGt } from './seq.ts';

export const TCP_NAGLE_OFF = 1;
export const TCP_NAGLE_CORK = 2;
export const TCP_NAGLE_PUSH = 4;

/** tcp_nagle_check: a partial (sub-MSS) segment is held. */
export function nagleCheck(c: Connection, partial: boolean, nonagle: number): boolean {
  if (!partial || c.finQueued) return false;
  if (nonagle & TCP_NAGLE_CORK) return true;
  return nonagle === 0 && c.rtx.length > 0 && seqGt(c.sndSml, c.sndUna);
}

/** tcp_nagle_test's answer inverted: whether the tail skb is held back. */
export function nagleHolds(c: Connection, partial: boolean, nonagle: number): boolean {
  if (nonagle & TCP_NAGLE_PUSH) return false;
  return nagleCheck(c, partial, nonagle);
}

/** The nonagle of a new connection from its socket's TCP_NODELAY and TCP_CORK. */
export function initialNonagle(nodelay: boolean, cork: boolean): number {
  return (nodelay ? TCP_NAGLE_OFF | TCP_NAGLE_PUSH : 0) | (cork ? TCP_NAGLE_CORK : 0);
}

/** __tcp_sock_set_nodelay: on, PUSH too and what is queued goes (tcp_push_pending_frames). */
export function setNodelay(c: Connection, on: boolean): void {
  if (on) {
    c.nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH;
    c.hooks.dirty(c);
  } else {
    c.nonagle &= ~TCP_NAGLE_OFF;
  }
}

/** __tcp_sock_set_cork: off pushes what was held, Nagle aside when TCP_NODELAY is on. */
export function setCork(c: Connection, on: boolean): void {
  if (on) {
    c.nonagle |= TCP_NAGLE_CORK;
    return;
  }
  c.nonagle &= ~TCP_NAGLE_CORK;
  if (c.nonagle & TCP_NAGLE_OFF) c.nonagle |= TCP_NAGLE_PUSH;
  c.hooks.dirty(c);
}
