/**
 * The SYN-ACK of a Fast Open active open (tcp_rcv_fastopen_synack in
 * net/ipv4/tcp_input.c, RFC 7413 §4.2.2): its MSS and cookie go to the
 * per-destination cache, with the bookkeeping of SYN-data losses and of
 * the experimental option's fallback (tcp_fastopen_cache_set); data the
 * SYN carried but the SYN-ACK did not acknowledge is marked lost and sent
 * again at once, without a congestion response; otherwise data the SYN-ACK
 * carries is queued (tcp_fastopen_add_skb).
 */
import type { DropReason } from '../drop.ts';
import type { Connection } from './connection.ts';
import { TFO_DATA_NOT_ACKED, TFO_SYN_RETRANSMITTED, cacheSet, type FastOpenCookie } from './fastopen-client.ts';
import { nonCongestionLossRetransmit } from './pmtu.ts';
import { markSkbLost } from './recovery.ts';
import { receive } from './receive.ts';
import type { Segment } from './segment.ts';
import { TCP_FIN } from '../wire/tcp.ts';

/**
 * tcp_rcv_fastopen_synack, after the SYN-ACK's ACK was processed: true when
 * SYN data had to be sent again (the retransmission carries the handshake's
 * ACK). `verdict` receives what queueing the SYN-ACK's own data said.
 */
export function rcvFastOpenSynAck(c: Connection, seg: Segment, verdict: { drop: DropReason | undefined }): boolean {
  const data = c.synData ? c.rtx.first() : undefined;
  const o = seg.options;
  // The SYN-ACK's own MSS, even when TCP_MAXSEG clamped mss_clamp (tcp_rcv_fastopen_synack parses the options again).
  const mss = o.mss > 0 ? o.mss : 0;
  const cookie: FastOpenCookie = { len: o.fastOpenLength, val: o.fastOpenCookie, exp: o.fastOpenExp };
  let synDrop = false;
  let tryExp = 0;
  if (!c.synFastOpen) {
    // An unsolicited cookie is ignored.
    cookie.len = -1;
  } else if (c.totalRetrans > 0) {
    // The SYN timed out and the SYN-ACK has no cookie but acknowledges no
    // data: the peer saw only the plain SYN retransmitted; the SYN data (or
    // its SYN-ACK) was dropped.
    synDrop = cookie.len < 0 && data !== undefined;
  } else if (cookie.len < 0 && !c.synData) {
    // A cookie asked for and none given: try the experimental option next
    // time, or, if that was it, go back to RFC 7413's.
    tryExp = c.synFastOpenExp ? 2 : 1;
  }
  cacheSet(c, mss, cookie, synDrop, tryExp);

  if (data !== undefined) {
    c.fastOpenClientFail = c.totalRetrans > 0 ? TFO_SYN_RETRANSMITTED : TFO_DATA_NOT_ACKED;
    for (let i = 0; i < c.rtx.length; i++) markSkbLost(c, c.rtx.at(i)!);
    nonCongestionLossRetransmit(c);
    c.ctx.counters.TcpExtTCPFastOpenActiveFail++;
    return true;
  }
  c.synDataAcked = c.synData;
  if (c.synDataAcked) {
    c.ctx.counters.TcpExtTCPFastOpenActive++;
    // SYN data is counted as two packets by the ACK (tcp_ack).
    if (c.delivered > 1) c.delivered--;
  }
  // tcp_fastopen_add_skb: the SYN-ACK's data and FIN are queued.
  if (seg.payload.length > 0 || seg.flags & TCP_FIN) verdict.drop = receive(c, seg);
  return false;
}
