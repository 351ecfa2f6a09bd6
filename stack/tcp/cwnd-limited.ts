/**
 * Whether the sender fills its congestion window (Linux 6.18,
 * tcp_cwnd_validate and tcp_is_cwnd_limited; RFC 7661's idea): only a
 * window in use grows. After each tcp_write_xmit that sent something or
 * stopped at cwnd, the connection records for the current round whether it
 * was cwnd-limited, or else the most packets it had out; a round ends once
 * SND.UNA passes SND.NXT of its start. In slow start the window still grows
 * while it is below twice the most packets out in the round, so that an
 * application-limited sender's cwnd follows what it really sends.
 */
import type { Connection } from './connection.ts';
import { seqLt } from './seq.ts';

/** tcp_cwnd_validate, after a transmission round of tcp_write_xmit. */
export function cwndValidate(c: Connection, cwndLimited: boolean): void {
  const u = c.cwndUse;
  const packetsOut = c.rtx.length;
  if (!seqLt(c.sndUna, u.usageSeq) || cwndLimited || (!u.limited && packetsOut > u.maxPacketsOut)) {
    u.limited = cwndLimited;
    u.maxPacketsOut = packetsOut;
    u.usageSeq = c.sndNxt;
  }
}

/** tcp_is_cwnd_limited. */
export function isCwndLimited(c: Connection): boolean {
  const u = c.cwndUse;
  if (u.limited) return true;
  const cc = c.cc;
  if (cc.cwnd < cc.ssthresh) return cc.cwnd < 2 * u.maxPacketsOut;
  return false;
}
