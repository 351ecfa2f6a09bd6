/**
 * A request sock (struct tcp_request_sock): what a listener keeps of a
 * handshake in progress, a few words instead of a connection. The child
 * made from it is openreq-child.ts.
 */
import type { DropReason } from '../drop.ts';
import { Timer } from '../timers.ts';
import type { FastOpenQueue } from './fastopen-queue.ts';
import type { Segment } from './segment.ts';
import { seqAdd } from './seq.ts';

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

/**
 * The listener of a Fast Open child's request (req->rsk_listener), as the
 * child reaches it while it holds the request: tcp_check_req, the SYN-ACK
 * again, the queue it counts in (Listener implements it).
 */
export interface RequestOwner {
  /** No longer listening (closed, or forgotten by a crash). */
  readonly closed: boolean;
  readonly fastOpen: FastOpenQueue | undefined;
  /** tcp_check_req with fastopen true: 'child' when the child is to process the segment itself. */
  checkRequest(req: RequestSock, seg: Segment, child: { readonly sndNxt: number } | undefined): DropReason | undefined | 'child';
  /** tcp_rtx_synack. */
  rtxSynAck(req: RequestSock): void;
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
  /**
   * What the SYN-ACK acknowledges (tcp_rsk(req)->rcv_nxt): the SYN, and for
   * a Fast Open child the data the SYN carried too (tcp_fastopen_create_child).
   */
  rcvNxt: number;
  /**
   * Fast Open (fastopen-server.ts): the request of a child made at the SYN
   * and still counted in its listener's Fast Open queue
   * (tcp_rsk(req)->tfo_listener), and whether accept() took that child yet
   * (req->sk cleared by inet_csk_accept).
   */
  tfoListener = false;
  childAccepted = false;
  /** A Fast Open child's listener (req->rsk_listener); unset for other requests, which only their listener sees. */
  owner: RequestOwner | undefined;

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
    this.rcvNxt = seqAdd(init.irs, 1);
    this.timer = new Timer('synack', () => onTimer(this));
  }
}
