/**
 * A request sock (struct tcp_request_sock): what a listener keeps of a
 * handshake in progress, a few words instead of a connection, and the child
 * connection made from it when the third ACK arrives
 * (tcp_create_openreq_child in net/ipv4/tcp_minisocks.c).
 */
import { Timer } from '../timers.ts';
import { TCP_TIMEOUT_FALLBACK } from './constants.ts';
import type { Connection } from './connection.ts';
import { effectiveMss } from './output.ts';
import { updateMinRtt } from './rack.ts';
import { timestampRtt } from './rtt.ts';
import { initBufferSpace } from './rcvbuf.ts';
import type { Segment } from './segment.ts';
import { seqAdd } from './seq.ts';
import { updatePacingRate } from './send-sizing.ts';
import { stampCwnd } from './cwnd-stamp.ts';

/** What the SYN negotiated and what we chose, fixed when the request sock is made. */
export interface RequestSockInit {
  /** Our address the SYN came to (either family), and the peer's. */
  local: number;
  remote: number;
  remotePort: number;
  /** The peer's ISN, and ours. */
  irs: number;
  iss: number;
  peerMss: number;
  /** The peer's window scale, and whether both sides offered one. */
  sndWscale: number;
  wscaleOk: boolean;
  sackOk: boolean;
  tsOk: boolean;
  /** The peer's TSval to echo. */
  tsRecent: number;
  tsOffset: number;
  /** Our window scale, our first window (bytes; the SYN-ACK carries at most 65535 of it) and its clamp (tcp_openreq_init_rwin). */
  rcvWscale: number;
  rcvWnd: number;
  /** The SYN asked for ECN and we accept (inet_rsk(req)->ecn_ok, tcp_ecn_create_request). */
  ecnOk?: boolean;
  windowClamp: number;
  /** Over IPv6: the flow label of its SYN-ACKs, from the request's txhash, which the child inherits. */
  flowLabel?: number;
}

export class RequestSock implements RequestSockInit {
  readonly local: number;
  readonly remote: number;
  readonly remotePort: number;
  readonly irs: number;
  readonly iss: number;
  readonly peerMss: number;
  readonly sndWscale: number;
  readonly wscaleOk: boolean;
  readonly sackOk: boolean;
  readonly tsOk: boolean;
  tsRecent: number;
  readonly tsOffset: number;
  readonly rcvWscale: number;
  readonly rcvWnd: number;
  readonly ecnOk: boolean;
  readonly windowClamp: number;
  flowLabel: number | undefined;
  readonly timer: Timer;
  /** SYN-ACKs resent (num_retrans) and timer expiries (num_timeout, which drives backoff and the limit). */
  retrans = 0;
  timeouts = 0;
  synAckSentAt = 0;
  /** The third ACK arrived while the accept queue was full (kept, retried on the next ACK). */
  acked = false;
  lastOowAck = -Infinity;

  constructor(init: RequestSockInit, onTimer: (r: RequestSock) => void) {
    this.local = init.local;
    this.flowLabel = init.flowLabel;
    this.remote = init.remote;
    this.remotePort = init.remotePort;
    this.irs = init.irs;
    this.iss = init.iss;
    this.peerMss = init.peerMss;
    this.sndWscale = init.sndWscale;
    this.wscaleOk = init.wscaleOk;
    this.sackOk = init.sackOk;
    this.tsOk = init.tsOk;
    this.tsRecent = init.tsRecent;
    this.tsOffset = init.tsOffset;
    this.rcvWscale = init.rcvWscale;
    this.rcvWnd = init.rcvWnd;
    this.ecnOk = init.ecnOk === true;
    this.windowClamp = init.windowClamp;
    this.timer = new Timer('synack', () => onTimer(this));
  }
}

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
}

/**
 * tcp_create_openreq_child: the child takes the request sock's sequence
 * space and options; born in SYN_RECV, the third ACK (`ack`) moves it to
 * ESTABLISHED, with an RTT sample from the timestamp echo or from the
 * SYN-ACK when it was not retransmitted (Karn).
 */
export function initChild(c: Connection, req: RequestSock, ack: Segment, buffers: InheritedBuffers): void {
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
  c.wscaleOk = req.wscaleOk;
  c.sndWscale = req.wscaleOk ? req.sndWscale : 0;
  c.sackOk = req.sackOk;
  c.tsOk = req.tsOk;
  c.tsRecent = req.tsRecent;
  c.tsRecentStamp = c.now();
  c.tsOffset = req.tsOffset;
  c.ecnOk = req.ecnOk; // tcp_ecn_openreq_child
  c.sndWnd = ack.window << c.sndWscale;
  c.maxSndWnd = c.sndWnd;
  // tcp_v4_syn_recv_sock: tcp_sync_mss once max_window is the ACK's window.
  c.mss = effectiveMss(c);
  c.sndWl1 = ack.seq;
  c.sndWl2 = ack.ack;
  c.lastRcvTime = c.now();
  c.lastDataTime = c.now(); // tcp_create_openreq_child: icsk_ack.lrcvtime
  c.synchronizedAt = c.now();
  // tcp_rcv_state_process, SYN_RECV: "SYN-ACK delivery isn't tracked in tcp_ack" (tcpi_delivered counts it).
  c.delivered++;
  // tcp_synack_rtt_meas: the SYN-ACK's send time unless it was
  // retransmitted; then tcp_ack_update_rtt's echoed timestamp.
  const tsRtt = c.tsOk && ack.options.tsPresent ? timestampRtt(c.tsVal(), ack.options.tsEcr) : -1;
  if (req.retrans === 0) {
    c.rtt.sample(c.now() - req.synAckSentAt, c.sndUna, c.sndNxt);
    updateMinRtt(c, c.now() - req.synAckSentAt);
  } else if (tsRtt >= 0) {
    c.rtt.sample(tsRtt, c.sndUna, c.sndNxt);
    updateMinRtt(c, tsRtt);
  } else {
    c.rtt.rto = TCP_TIMEOUT_FALLBACK;
  }
  c.writeQueue.pushedSeq = c.sndNxt;
  // tcp_rcv_state_process, SYN_RECV: the first pacing rate, from the SYN-ACK's RTT.
  updatePacingRate(c);
  c.setState('ESTABLISHED');
  stampCwnd(c); // tcp_init_transfer: snd_cwnd_stamp
  initBufferSpace(c); // tcp_rcv_state_process → tcp_init_transfer
  c.ctx.counters.TcpPassiveOpens++;
}
