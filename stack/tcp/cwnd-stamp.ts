/**
 * tp->snd_cwnd_stamp = tcp_jiffies32: cwnd was just set (the transfer's
 * start, a loss or an undo, the end of a reduction), grown or left as it is
 * by an ACK (tcp_cong_avoid), or the send buffer grew with it
 * (tcp_new_space). tcp_cwnd_validate measures from it how long a window has
 * gone unused (cwnd-limited.ts). A module of its own so that everything
 * that sets cwnd can stamp it.
 */
import type { Connection } from './connection.ts';

export function stampCwnd(c: Connection): void {
  c.cwndUse.stamp = c.now();
}
