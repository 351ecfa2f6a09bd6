/**
 * The reordering degree (tp->reordering) as SACK-based detection measures
 * it (net/ipv4/tcp_input.c): how far above a hole the highest SACK reached
 * when the hole's original transmission arrived after all.
 */
import { recordEnd, type Connection } from './connection.ts';
import { seqLt } from './seq.ts';

/**
 * tcp_highest_sack_seq: the end of the highest SACKed record (SND.UNA with
 * none SACKed); "fack" in the reordering metric.
 */
export function highestSackSeq(c: Connection): number {
  if (c.rtx.sackedOut === 0) return c.sndUna;
  for (let i = c.rtx.length - 1; i >= 0; i--) {
    const r = c.rtx.at(i)!;
    if (r.sacked) return recordEnd(r);
  }
  return c.sndUna;
}

/**
 * tcp_check_sack_reordering: a hole starting at `lowSeq` below fack was
 * filled by the original transmission: that was reordering, not loss. The
 * degree grows to the distance in segments (at most tcp_max_reordering);
 * reord_seen counts the event (TcpExtTCPSACKReorder, or TCPTSReorder when
 * the timestamps showed it).
 */
export function checkSackReordering(c: Connection, lowSeq: number, ts: boolean): void {
  const fack = highestSackSeq(c);
  if (!seqLt(lowSeq, fack)) return;
  const metric = (fack - lowSeq) >>> 0;
  const mss = c.mss;
  if (mss > 0 && metric > c.reordering * mss) {
    c.reordering = Math.min(Math.ceil(metric / mss), c.ctx.sysctl.tcp_max_reordering);
  }
  c.reordSeen++;
  if (ts) c.ctx.counters.TcpExtTCPTSReorder++;
  else c.ctx.counters.TcpExtTCPSACKReorder++;
}
