/**
 * The RTO statistics struct tcp_info reports since Linux 6.7
 * (tcpi_total_rto, tcpi_total_rto_recoveries, tcpi_total_rto_time): every
 * RTO counts, the first of an episode (icsk_retransmits 0) starts a
 * recovery and its clock, which stops when the ACKs take the connection
 * out of Loss (tcp_update_rto_time); tcp_get_info adds the time of a
 * recovery still under way.
 */
import type { Connection } from './connection.ts';

/** tcp_update_rto_stats, before icsk_retransmits is incremented. */
export function updateRtoStats(c: Connection): void {
  if (c.retransmits === 0) {
    c.totalRtoRecoveries++;
    c.rtoStamp = c.now();
  }
  c.totalRto++;
}

/** tcp_update_rto_time: an RTO recovery is over; its time is added up. */
export function updateRtoTime(c: Connection): void {
  if (c.rtoStamp === undefined) return;
  c.totalRtoTime += c.now() - c.rtoStamp;
  c.rtoStamp = undefined;
}

/** tcpi_total_rto_time: the recoveries' time in ms, the one under way included. */
export function totalRtoTime(c: Connection): number {
  return c.totalRtoTime + (c.rtoStamp === undefined ? 0 : c.now() - c.rtoStamp);
}
