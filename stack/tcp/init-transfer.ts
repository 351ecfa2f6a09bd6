/**
 * tcp_init_transfer's steps that read the route, when a connection becomes
 * established (tcp_finish_connect, tcp_rcv_state_process in SYN_RECV, a
 * Fast Open child): tcp_mtup_init now that the peer's MSS is known, the
 * route checked again (rebuild_header: a route changed since connect() or
 * the SYN is looked up anew), and the first congestion window from it
 * (tcp_init_cwnd: the route's initcwnd, else 10).
 */
import type { Connection } from './connection.ts';
import { checkDst, initCwnd } from './dst.ts';
import { mtupInit } from './mtu-probe.ts';

export function initTransferRoute(c: Connection): void {
  mtupInit(c);
  checkDst(c);
  c.cc.cwnd = initCwnd(c);
}
