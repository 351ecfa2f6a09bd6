/**
 * The child connection a request sock becomes (tcp_create_openreq_child in
 * net/ipv4/tcp_minisocks.c): at the third ACK, or for Fast Open at the SYN
 * itself (tcp_fastopen_create_child).
 */
import { TCP_TIMEOUT_FALLBACK } from './constants.ts';
import type { Connection } from './connection.ts';
import { stampCwnd } from './cwnd-stamp.ts';
import { initTransferRoute } from './init-transfer.ts';
import { effectiveMss } from './output.ts';
import { updateMinRtt } from './rack.ts';
import { chargeInOrder, initBufferSpace } from './rcvbuf.ts';
import type { RequestSock } from './request-sock.ts';
import { timestampRtt } from './rtt.ts';
import type { Segment } from './segment.ts';
import { seqAdd } from './seq.ts';
import { updatePacingRate } from './send-sizing.ts';

/** What a child inherits of its listener's buffers (sk_clone_lock copies sk_rcvbuf, sk_sndbuf and sk_userlocks). */
export interface InheritedBuffers {
  rcvBuf: number;
  rcvBufLocked: boolean;
  sndBuf: number;
  sndBufLocked: boolean;
  /** TCP_MAXSEG (0: none): the child's advmss is capped by it (tcp_v4_syn_recv_sock: tcp_mss_clamp). */
  userMss: number;
  /** IP_TOS and IPV6_TCLASS (sk_clone_lock copies them). */
  tos: number;
  tclass: number;
  /** SO_OOBINLINE (SOCK_URGINLINE, copied by sk_clone_lock): urgent data may come before accept(). */
  urgInline: boolean;
}

/**
 * tcp_create_openreq_child: the child takes the request sock's sequence
 * space and options; born in SYN_RECV, the third ACK (`ack`) moves it to
 * ESTABLISHED, with an RTT sample from the timestamp echo or from the
 * SYN-ACK when it was not retransmitted (Karn).
 */
export function initChild(c: Connection, req: RequestSock, ack: Segment, buffers: InheritedBuffers): void {
  cloneRequest(c, req, buffers);
  c.sndWnd = ack.window << c.sndWscale;
  c.maxSndWnd = c.sndWnd;
  // tcp_v4_syn_recv_sock: tcp_sync_mss once max_window is the ACK's window (tcp_bound_to_half_wnd).
  c.mss = effectiveMss(c);
  c.sndWl1 = ack.seq;
  c.sndWl2 = ack.ack;
  c.lastRcvTime = c.now();
  c.lastDataTime = c.now(); // tcp_create_openreq_child: icsk_ack.lrcvtime
  c.synchronizedAt = c.now();
  // tcp_rcv_state_process, SYN_RECV: "SYN-ACK delivery isn't tracked in tcp_ack" (tcpi_delivered counts it).
  c.delivered++;
  synAckRttMeasure(c, req, ack);
  c.writeQueue.pushedSeq = c.sndNxt;
  // tcp_rcv_state_process, SYN_RECV: the first pacing rate, from the SYN-ACK's RTT.
  updatePacingRate(c);
  c.setState('ESTABLISHED');
  initTransferRoute(c);
  stampCwnd(c); // tcp_init_transfer: snd_cwnd_stamp
  initBufferSpace(c); // tcp_rcv_state_process → tcp_init_transfer
  c.ctx.counters.TcpPassiveOpens++;
}

/**
 * tcp_fastopen_create_child: a child made from the SYN alone (Fast Open),
 * left in SYN_RECV: its send window is the SYN's, unscaled (RFC 7323 §2.2),
 * no RTT sample yet, tcp_init_transfer at once; then tcp_fastopen_add_skb
 * queues the SYN's data (readable at once, tp->syn_data_acked) and moves
 * RCV.NXT past it, which the request's SYN-ACK acknowledges.
 */
export function initFastOpenChild(c: Connection, req: RequestSock, syn: Segment, buffers: InheritedBuffers): void {
  cloneRequest(c, req, buffers);
  c.sndWnd = syn.window;
  c.maxSndWnd = c.sndWnd;
  c.mss = effectiveMss(c); // tcp_sync_mss with max_window the SYN's
  c.sndWl1 = req.irs; // tcp_create_openreq_child: tcp_init_wl(newtp, treq->rcv_isn)
  c.sndWl2 = c.sndUna;
  c.lastRcvTime = c.now();
  c.lastDataTime = c.now(); // tcp_create_openreq_child: icsk_ack.lrcvtime
  c.writeQueue.pushedSeq = c.sndNxt;
  initTransferRoute(c);
  stampCwnd(c);
  initBufferSpace(c);
  c.ctx.counters.TcpPassiveOpens++;
  const data = syn.payload;
  if (data.length > 0) {
    chargeInOrder(c, data.length);
    c.recvQueue.push(data.slice());
    c.rcvNxt = seqAdd(c.rcvNxt, data.length);
    c.bytesReceived = data.length;
    c.synDataAcked = true;
  }
  c.rcvWup = c.rcvNxt;
  req.rcvNxt = c.rcvNxt;
}

/**
 * tcp_synack_rtt_meas: the SYN-ACK's send time unless it was
 * retransmitted; then tcp_ack_update_rtt's echoed timestamp; with neither,
 * TCP_TIMEOUT_FALLBACK for a child made at the third ACK.
 */
export function synAckRttMeasure(c: Connection, req: RequestSock, ack: Segment, fallback = true): void {
  const tsRtt = c.tsOk && ack.options.tsPresent ? timestampRtt(c.tsVal(), ack.options.tsEcr) : -1;
  if (req.retrans === 0) {
    c.rtt.sample(c.now() - req.synAckSentAt, c.sndUna, c.sndNxt);
    updateMinRtt(c, c.now() - req.synAckSentAt);
  } else if (tsRtt >= 0) {
    c.rtt.sample(tsRtt, c.sndUna, c.sndNxt);
    updateMinRtt(c, tsRtt);
  } else if (fallback) {
    c.rtt.rto = TCP_TIMEOUT_FALLBACK;
  }
}

/** What tcp_create_openreq_child copies from the request and the listener. */
function cloneRequest(c: Connection, req: RequestSock, buffers: InheritedBuffers): void {
  c.rcvWscale = req.wscaleOk ? req.rcvWscale : 0;
  // sk_clone_lock: the child's buffers are the listener's.
  c.rcvBuf = buffers.rcvBuf;
  c.rcvBufLocked = buffers.rcvBufLocked;
  c.sndBuf = buffers.sndBuf;
  c.sndBufLocked = buffers.sndBufLocked;
  c.windowClamp = req.windowClamp;
  c.rcvSsthresh = req.rcvWnd;
  c.iss = req.iss;
  c.irs = req.irs;
  if (req.flowLabel !== undefined) c.flowLabel = req.flowLabel;
  c.sndUna = seqAdd(req.iss, 1);
  c.sndNxt = c.sndUna;
  c.sndSml = c.sndNxt;
  c.rcvNxt = seqAdd(req.irs, 1);
  c.rcvWup = c.rcvNxt;
  c.rcvWnd = req.rcvWnd;
  c.peerMss = req.peerMss;
  if (buffers.userMss !== 0) c.advMss = Math.min(c.advMss, buffers.userMss);
  c.tos = buffers.tos;
  c.tclass = buffers.tclass;
  c.urgInline = buffers.urgInline;
  c.wscaleOk = req.wscaleOk;
  c.sndWscale = req.wscaleOk ? req.sndWscale : 0;
  c.sackOk = req.sackOk;
  c.tsOk = req.tsOk;
  c.tsRecent = req.tsRecent;
  c.tsRecentStamp = c.now();
  c.tsOffset = req.tsOffset;
  c.mss = effectiveMss(c);
  c.ecnOk = req.ecnOk; // tcp_ecn_openreq_child
}
