/**
 * D-SACK (RFC 2883) with tcp_dsack=1: the receiver reports a duplicate in
 * the first SACK block of its next ACK (tcp_dsack_set, tcp_dsack_extend in
 * net/ipv4/tcp_input.c), and the sender tells such a block from a SACK of
 * new data (tcp_check_dsack, tcp_dsack_seen).
 */
import type { Connection } from './connection.ts';
import type { Segment } from './segment.ts';
import { seqGt, seqLe, seqLt } from './seq.ts';
import { onDsackOfRetransmission } from './undo.ts';

/** tcp_dsack_set: owe the peer a D-SACK for [seq, end), counted as old or out-of-order by where it starts. */
export function dsackSet(c: Connection, seq: number, end: number): void {
  if (!c.sackOk || c.ctx.sysctl.tcp_dsack === 0) return;
  if (seqLt(seq, c.rcvNxt)) c.ctx.counters.TcpExtTCPDSACKOldSent++;
  else c.ctx.counters.TcpExtTCPDSACKOfoSent++;
  c.dsackPending = true;
  c.dsackStart = seq;
  c.dsackEnd = end;
}

/**
 * tcp_dsack_extend: with no D-SACK owed, set one; otherwise widen the owed
 * block when [seq, end) touches it (tcp_sack_extend), else keep it as it is.
 */
export function dsackExtend(c: Connection, seq: number, end: number): void {
  if (!c.dsackPending) {
    dsackSet(c, seq, end);
    return;
  }
  if (seqGt(seq, c.dsackEnd) || seqGt(c.dsackStart, end)) return;
  if (seqLt(seq, c.dsackStart)) c.dsackStart = seq;
  if (seqGt(end, c.dsackEnd)) c.dsackEnd = end;
}

// checkDsack's verdict, as bits of tcp_sacktag_state.flag.
/** Block 0 is an accepted D-SACK: the caller must not take it as a SACK of new data. */
export const FLAG_DSACKING_ACK = 1;
/** A D-SACK of at most one segment ending at the tail loss probe's SND.NXT (tlp_high_seq). */
export const FLAG_DSACK_TLP = 2;

/**
 * tcp_check_dsack: the first SACK block is a D-SACK when it starts below
 * the ACK (TCPDSACKRecv) or lies inside the second block (TCPDSACKOfoRecv).
 * tcp_dsack_seen then drops it as dubious (TCPDSACKIgnoredDubious) when it
 * is empty, wider than the largest window the peer offered, or reports
 * more duplicates than we ever retransmitted; before that last test it
 * notes FLAG_DSACK_TLP. Returns the FLAG_* bits (0: no D-SACK).
 */
export function checkDsack(c: Connection, seg: Segment): number {
  const b = seg.options.sackBlocks;
  const start0 = b[0]!;
  const end0 = b[1]!;
  const mib = c.ctx.counters;
  if (seqLt(start0, seg.ack)) mib.TcpExtTCPDSACKRecv++;
  else if (seg.options.sackCount > 1) {
    if (seqGt(end0, b[3]!) || seqLt(start0, b[2]!)) return 0;
    mib.TcpExtTCPDSACKOfoRecv++;
  } else return 0;

  let flag = 0;
  let dubious = !seqLt(start0, end0);
  let dupSegs = 0;
  if (!dubious) {
    const len = (end0 - start0) >>> 0;
    if (len > c.maxSndWnd) dubious = true;
    else {
      dupSegs = len > c.mss ? Math.ceil(len / c.mss) : 1;
      if (len <= c.mss && end0 === c.tlpHighSeq) flag |= FLAG_DSACK_TLP;
      c.dsackDups += dupSegs;
      // Duplicates of segments we never sent twice: the peer's doing, not ours.
      if (c.dsackDups > c.totalRetrans) dubious = true;
    }
  }
  if (dubious) {
    mib.TcpExtTCPDSACKIgnoredDubious++;
    return flag;
  }
  mib.TcpExtTCPDSACKRecvSegs += dupSegs;
  // D-SACK for data already acknowledged (its records are gone): counted toward undo as it stands (undo.ts).
  if (seqLe(end0, c.sndUna)) onDsackOfRetransmission(c, end0, dupSegs);
  // tcp_dsack_seen: RACK widens its reordering window after D-SACKs once
  // reordering was seen, except for the D-SACK of a tail loss probe; the
  // duplicates count as delivered (sack_delivered).
  if (c.reordSeen > 0 && !(flag & FLAG_DSACK_TLP)) c.rack.dsackSeen = true;
  c.delivered += dupSegs;
  return flag | FLAG_DSACKING_ACK;
}
