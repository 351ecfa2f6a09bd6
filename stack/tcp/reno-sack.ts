/**
 * Duplicate ACKs as SACKs for a peer without SACK (tcp_add_reno_sack and
 * friends in net/ipv4/tcp_input.c): each duplicate ACK counts one segment
 * as delivered (sacked_out, here renoSacked), a cumulative ACK takes them
 * back, and more duplicates than the window can explain are reordering.
 */
import type { Connection } from './connection.ts';

/**
 * tcp_limit_reno_sacked: at most packets_out − max(lost, 1) duplicate ACKs
 * can stand for delivered segments; more means the network duplicated or
 * reordered. Returns whether it had to cut.
 */
function limitRenoSacked(c: Connection): boolean {
  const packets = c.rtx.length;
  const holes = Math.min(Math.max(c.rtx.lostOut, 1), packets);
  if (c.renoSacked + holes > packets) {
    c.renoSacked = packets - holes;
    return true;
  }
  return false;
}

/** tcp_check_reno_reordering: too many duplicate ACKs were reordering (TcpExtTCPRenoReorder). */
function checkRenoReordering(c: Connection, addend: number): void {
  if (!limitRenoSacked(c)) return;
  c.reordering = Math.min(c.rtx.length + addend, c.ctx.sysctl.tcp_max_reordering);
  c.reordSeen++;
  c.ctx.counters.TcpExtTCPRenoReorder++;
}

/** tcp_add_reno_sack: each duplicate ACK means one more segment left the network. */
export function addRenoSack(c: Connection, numDupack: number): void {
  if (numDupack === 0) return;
  const prior = c.renoSacked;
  c.renoSacked += numDupack;
  checkRenoReordering(c, 0);
  const delivered = c.renoSacked - prior;
  if (delivered > 0) c.delivered += delivered;
}

/** tcp_remove_reno_sacks: a cumulative ACK of `acked` segments filled one hole; the rest had been counted as duplicates. */
export function removeRenoSacks(c: Connection, acked: number): void {
  if (acked > 0) {
    c.delivered += Math.max(acked - c.renoSacked, 1);
    if (acked - 1 >= c.renoSacked) c.renoSacked = 0;
    else c.renoSacked -= acked - 1;
  }
  checkRenoReordering(c, acked);
}

/** tcp_reset_reno_sack: the duplicate ACKs counted are forgotten. */
export function resetRenoSack(c: Connection): void {
  c.renoSacked = 0;
}
