/**
 * One TCP connection's control block (struct tcp_sock): the sequence space,
 * negotiated options, queues, congestion and timer state, socket options.
 * What happens to it lives beside it, split as Linux splits tcp_*.c:
 * segment arrival in input.ts, ack.ts and receive.ts (tcp_input.c), sending
 * in output.ts (tcp_output.c), timers in timer-arming.ts and
 * timer-expiry.ts (tcp_timer.c), the endings in endings.ts, and the user
 * calls in user-calls.ts and sock.ts (tcp.c). This file imports none of
 * them: every state change goes through setState, which counts and traces it.
 */
import type { PortOwner } from './tables.ts';
import type { RequestSock } from './request-sock.ts';
import { IPV6_HANDLE_BASE } from '../address.ts';
import { newFlowLabel } from './segment.ts';
import { QueuedTimer } from '../timers.ts';
import { ByteQueue, OutOfOrderQueue } from './buffers.ts';
import { createCongestionControl } from './congestion/select.ts';
import type { CongestionControl } from './congestion/types.ts';
import {
  TCP_DEFAULT_SCALING_RATIO,
  TCP_DEFAULT_MSS,
  offeredWindowScale,
  tsValAt,
} from './constants.ts';
import type { TcpContext } from './context.ts';
import { RackState, type PrrState } from './loss-state.ts';
import { MinRttFilter } from './min-rtt.ts';
import { RttEstimator, routeRtoMin } from './rtt.ts';
import { segmentLength, type Segment } from './segment.ts';
import { seqAdd, seqDiff, seqGt, seqLt } from './seq.ts';
import { WriteQueue } from './write-queue.ts';
import type { RouteMetrics } from '../ip/route-metrics.ts';
import { newMtuProbeState, type MtuProbeState } from './mtu-probe-state.ts';
import { RetransmitQueue, type TxRecord } from './rtx-queue.ts';
import type { SocketOwner, TcpErrno, TcpStateName } from './types.ts';
import type { CaStateName } from '../trace.ts';
import type { FastOpenRequest } from './fastopen-cache.ts';
import type { ErrorQueue } from './errqueue.ts';

export type { TxRecord };
export const recordEnd = (r: TxRecord): number => seqAdd(r.seq, r.len + (r.syn ? 1 : 0) + (r.fin ? 1 : 0));

/** A connection's three timers (icsk_retransmit_timer, icsk_delack_timer, sk_timer). */
export type ConnectionTimer = 'xmit' | 'delack' | 'keepalive';

/** What a connection needs from the TCP layer that holds it (TcpLayer implements it). */
export interface ConnectionHooks {
  /** Readiness changed: deliver onEvent to the owner after this batch. */
  wake(c: Connection): void;
  /** Output may be possible: run transmit() before the next flush. */
  dirty(c: Connection): void;
  /** The connection reached CLOSED: remove it from the tables, release its port. */
  closed(c: Connection): void;
  /** The connection becomes a TIME_WAIT (or orphaned FIN_WAIT2) minisock for `ms`. */
  timeWait(c: Connection, substate: 'TIME_WAIT' | 'FIN_WAIT2', ms: number): void;
  /** The application let go of a connection that is already a minisock: nothing needs the full socket any more. */
  released(c: Connection): void;
  /** One of the connection's timers expired: run its handler (tcp_timer.c). */
  timerExpired(c: Connection, timer: ConnectionTimer): void;
  /** Views of received packets went into its receive queue: check it at the next flush (compactReceiveQueue, views.ts). */
  viewsQueued(c: Connection): void;
}

/** One received segment's share of receive memory (an skb's truesize), until the application has read up to `end`. */
export interface RcvSkb {
  end: number;
  truesize: number;
  /** Bytes a following small segment may still be copied into (skb_tailroom). */
  tailroom: number;
  /** Page fragments a following segment may still be added as (rxSkbs 'veth'; 0 for a TUN's linear skbs). */
  fragsLeft: number;
}

/** The empty skb list every connection starts with and returns to: shared, so frozen (never pushed to). */
export const NO_SKBS: RcvSkb[] = Object.freeze([]) as unknown as RcvSkb[];

/** icsk_ca_state: Open, Disorder, CWR (an ECN-echo's window reduction), Recovery, Loss. */
/** enum tcp_ca_state (the trace's CaStateName). */
export type CaState = CaStateName;

/** Why a state changes without the usual bookkeeping: a host crash forgets the connection (no EstabResets, nobody woken). */
export type StateChangeCause = 'protocol' | 'crash';

export class Connection {
  /** Changed only by setState, which counts and traces every transition. */
  private currentState: TcpStateName;
  /** Sequence variables (RFC 9293 §3.3.1). */
  iss = 0;
  irs = 0;
  sndUna = 0;
  sndNxt = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  maxSndWnd = 0;
  rcvNxt = 0;
  /** RCV.NXT when the window was last advertised, and the window then (bytes). */
  rcvWup = 0;
  rcvWnd = 0;
  /** Negotiated options. The MSS we advertise: the device's, or less toward a destination with a learnt path MTU (dst_metric_advmss). */
  advMss: number;
  /** The path MTU the MSS was last computed from (icsk_pmtu_cookie; tcp_sync_mss). */
  pmtuCookie: number;
  /** The route's metrics as the connection last looked it up (its cached dst, sk_dst_cache; dst.ts). */
  dst: RouteMetrics;
  /** The route table's generation at that lookup (rt_genid): an older one is obsolete (__sk_dst_check). */
  dstGeneration: number;
  /** icsk_rto_min in ms (tcp_rto_min_us when the socket was made); a route's rto_min overrides it (dst.ts). */
  readonly rtoMinSock: number;
  /** Path MTU probing's search (icsk_mtup, tp->mtu_probe; mtu-probe.ts). */
  readonly mtup: MtuProbeState = newMtuProbeState();
  /** The peer's MSS (536 when its SYN had none, RFC 9293 §3.7.1). */
  peerMss = TCP_DEFAULT_MSS;
  /** Payload bytes per full segment: min(peer MSS, ours) less the timestamp option. */
  mss = TCP_DEFAULT_MSS;
  sndWscale = 0;
  rcvWscale = 0;
  /** The shift our SYN offered (kept when the peer's lack of WS turns scaling off). */
  offeredWscale = 0;
  wscaleOk = false;
  tsOk = false;
  tsRecent = 0;
  tsRecentStamp = 0;
  /** Random per-connection offset of our timestamp clock (secure_tcp_ts_off). */
  tsOffset = 0;
  sackOk = false;
  /**
   * The D-SACK block owed to the peer (rx_opt.dsack, duplicate_sack[0]):
   * written first in the next SACK option, then forgotten (tcp_options_write).
   */
  dsackPending = false;
  dsackStart = 0;
  dsackEnd = 0;

  /** Bytes from SND.UNA on: sent-unacked, then unsent. */
  readonly sendQueue = new ByteQueue();
  /** The unsent bytes as Linux's skbs, with their PSH marks and the pacing rate that sizes packets. */
  readonly writeQueue = new WriteQueue();
  readonly rtx = new RetransmitQueue();
  /** The application closed its sending side: a FIN follows the queued data. */
  finQueued = false;
  finSent = false;
  /** End of the last sub-MSS segment sent (Minshall's Nagle, snd_sml). */
  sndSml = 0;
  readonly recvQueue = new ByteQueue();
  readonly ooo = new OutOfOrderQueue();
  /** Urgent data received (urgent.ts): tp->urg_data (0, or TCP_URG_* with the byte) and tp->urg_seq, the urgent byte's sequence number. */
  urgData = 0;
  urgSeq = 0;
  /** SO_OOBINLINE (SOCK_URGINLINE): the urgent byte stays in the stream. */
  urgInline = false;
  /** SND.UP after a send(MSG_OOB) until SND.UNA reaches it (tcp_urg_mode); undefined: SND.UP is SND.UNA. */
  sndUp: number | undefined;
  /** Sequence number of a FIN received ahead of missing data. */
  oooFinSeq: number | undefined;
  /** The peer's FIN has been processed (RCV.NXT counts it). */
  finReceived = false;
  /** sk_rcvbuf: receive memory allowed (tcp_rmem[1], SO_RCVBUF doubled, or grown by DRS), and whether SO_RCVBUF fixed it (SOCK_RCVBUF_LOCK). */
  rcvBuf: number;
  rcvBufLocked = false;
  /** sk_rmem_alloc: the truesize of what is queued, per segment (rcvbuf.ts). */
  rmemAlloc = 0;
  rcvSkbs: RcvSkb[] = NO_SKBS;
  oooSkbs: RcvSkb[] = NO_SKBS;
  /** tp->scaling_ratio: payload per 256 bytes of receive memory. */
  scalingRatio = TCP_DEFAULT_SCALING_RATIO;
  /** tp->window_clamp (the largest window we will offer) and tp->rcv_ssthresh (the window's current ceiling). */
  windowClamp = 0;
  rcvSsthresh = 0;
  /** tp->rcvq_space: DRS's estimate of what the application reads per RTT, and where and when its measure began. */
  rcvqSpace = 0;
  rcvqSeq = 0;
  rcvqTime = 0;
  /** tp->rcv_rtt_est: the receiver's RTT (µs ×8), the window-based measure's target and start, rcv_rtt_last_tsecr. */
  rcvRttUs8 = 0;
  rcvRttSeq = 0;
  rcvRttTime: number | undefined;
  rcvRttLastTsecr = 0;
  /** Data was dropped for want of buffer: the next segment advertises a zero window (ICSK_ACK_NOMEM). */
  rcvNoMem = false;
  /** sk_sndbuf (starts at tcp_wmem[1], grows as sndbuf.ts says), SOCK_SNDBUF_LOCK (SO_SNDBUF fixed it), SOCK_NOSPACE (a writer found it full). */
  sndBuf: number;
  sndBufLocked = false;
  sndNoSpace = false;

  /** What the application did: shutdown(SHUT_RD)/(SHUT_WR), close() (orphan). */
  shutRd = false;
  shutWr = false;
  orphan = false;
  /** sk_err: reported once by the next read/write/getError. */
  pendingError: TcpErrno | undefined;
  /** An ICMP error kept to replace ETIMEDOUT (sk_err_soft). */
  softError: TcpErrno | undefined;
  /** Set once an error or EOF has been handed to the reader. */
  errorReported = false;

  /** rto_min/rto_max from the namespace's sysctls when the socket is made (tcp_rto_min(), tcp_rto_max()). */
  readonly rtt: RttEstimator;
  /** net.ipv4.tcp_congestion_control's algorithm, or the socket's TCP_CONGESTION (setCongestionControl). */
  cc: CongestionControl;
  caState: CaState = 'open';
  /** Recovery point: SND.NXT when recovery or loss began (RFC 6582 "recover"). */
  highSeq = 0;
  /**
   * ECN (RFC 3168), tp->ecn_flags: negotiated (TCP_ECN_OK); CWR owed on the
   * next new data segment (TCP_ECN_QUEUE_CWR); ECE owed on every segment
   * until the peer's CWR (TCP_ECN_DEMAND_CWR); an ECT or CE codepoint seen
   * on the peer's data (TCP_ECN_SEEN, ss's "ecnseen").
   */
  ecnOk = false;
  ecnQueueCwr = false;
  ecnDemandCwr = false;
  ecnSeen = false;
  /** Duplicate ACKs counted as SACKs for a peer without SACK (tcp_add_reno_sack: sacked_out). */
  renoSacked = 0;
  /** PRR's state during a cwnd reduction (prr.ts). */
  readonly prr: PrrState = { priorCwnd: 0, delivered: 0, out: 0 };
  /** RACK's state (rack.ts, struct tcp_rack). */
  readonly rack = new RackState();
  /** The windowed minimum RTT (tp->rtt_min). */
  readonly minRtt = new MinRttFilter();
  /** Reordering degree in segments (tp->reordering), from net.ipv4.tcp_reordering. */
  reordering: number;
  /** Times reordering was seen (tp->reord_seen). */
  reordSeen = 0;
  /** Segments delivered, ACKed or SACKed (tp->delivered). */
  delivered = 0;
  /** Segments ever marked lost (tp->lost). */
  lostTotal = 0;
  /** An ACK or the reordering timer asked for the lost segments to go out (REXMIT_LOST). */
  rexmitPending = false;

  /** Timers: retransmission/persist/SYN (one slot, as icsk_retransmit_timer), delayed ACK, keepalive/FIN_WAIT2. */
  readonly xmitTimer: QueuedTimer;
  readonly delackTimer: QueuedTimer;
  readonly keepaliveTimer: QueuedTimer;
  /** What the xmit timer is armed for: RTO, zero-window probe, or tail loss probe (ICSK_TIME_LOSS_PROBE). */
  xmitMode: 'rto' | 'probe' | 'tlp' | 'reo' | undefined;
  /** SND.NXT when the outstanding tail loss probe went out (tp->tlp_high_seq); undefined when none is. */
  tlpHighSeq: number | undefined = undefined;
  /** Whether that probe retransmitted (tp->tlp_retrans) rather than sent new data. */
  tlpRetrans = false;
  backoff = 0;
  /** Retransmissions of the current head (icsk_retransmits) and all retransmissions ever. */
  retransmits = 0;
  totalRetrans = 0;
  /** SND.UNA when the last recovery or loss episode began (tp->undo_marker); undefined before any and after an undo. */
  undoMarker: number | undefined;
  /**
   * Retransmissions of the episode not yet reported as duplicates by a
   * D-SACK (tp->undo_retrans); 0 means all were spurious, -1 none yet (undo.ts).
   */
  undoRetrans = -1;
  /**
   * ssthresh before the episode's reduction (tp->prior_ssthresh; 0: nothing
   * to restore). The cwnd before it, tp->prior_cwnd, is prr.priorCwnd.
   */
  priorSsthresh = 0;
  /** F-RTO (RFC 5682) runs on the current RTO episode (tp->frto, frto.ts). */
  frto = false;
  /** tcp_process_loss chose REXMIT_NEW: the next transmit sends new data before any retransmission. */
  frtoSendNew = false;
  /** Duplicate segments the peer reported with D-SACK blocks (tp->dsack_dups). */
  dsackDups = 0;
  /**
   * When the episode's first retransmission went out (retrans_stamp): kept
   * through Recovery and Loss, where undo compares echoed timestamps with it
   * (undo.ts), and the origin of the give-up budgets; 0 when none.
   */
  retransStamp = 0;
  probesOut = 0;
  /** When the first zero-window probe of this episode went out (icsk_probes_tstamp); undefined when not probing. */
  probesStamp: number | undefined;
  /** Keepalive probes sent without an answer. */
  keepaliveProbes = 0;
  synRetransmitted = false;

  /**
   * Fast Open, server side (fastopen-server.ts): the request sock of a child
   * made at the SYN (tp->fastopen_rsk), kept until the handshake completes
   * or the child ends; its owner is the listener that made it. While it is
   * set the xmit timer resends the SYN-ACK, not data.
   */
  fastOpenRsk: RequestSock | undefined = undefined;

  /** ACK owed to the peer: now (at the end of the batch), or by the delayed-ACK timer. */
  ackNow = false;
  /** The delayed-ACK timer runs for an owed ACK (ICSK_ACK_TIMER), due at ackTimeout (icsk_ack.timeout). */
  ackDelayed = false;
  ackTimeout = 0;
  /** Data arrived that our next ACK answers (ICSK_ACK_SCHED); ACK_PUSHED/ACK_PUSHED2 bits (ack-schedule.ts). */
  ackSched = false;
  ackPushed = 0;
  /** Quick ACKs left (icsk_ack.quick); the ACK timeout, 0 before the first data (icsk_ack.ato). */
  quickAcks = 0;
  ato = 0;
  /** Interactive mode (inet_csk_in_pingpong_mode): no quick ACKs. */
  pingpong = false;
  /** TCP_DEFER_ACCEPT set before connect(): the handshake's last ACK waits to ride on data (tcp_rcv_synsent_state_process). */
  deferAcceptConnect = false;
  /** SO_RCVLOWAT (sk_rcvlowat): __tcp_ack_snd_check ACKs at once while fewer bytes than this are unread. */
  rcvLowat = 1;
  /** When in-order data last arrived (icsk_ack.lrcvtime; the handshake stamps it too). */
  lastDataTime = 0;
  /**
   * When the handshake completed: tcp_finish_connect and
   * tcp_create_openreq_child stamp tp->lsndtime then, so tcpi_last_data_sent
   * counts from it until data is sent (tcp-info-struct.ts).
   */
  synchronizedAt: number | undefined = undefined;
  /** tp->lsndtime: when data was last sent (ms; undefined before any). */
  lsndtime: number | undefined = undefined;
  /** The peer's segment size as we estimate it (icsk_ack.rcv_mss; 0 until first needed), and icsk_ack.last_seg_size. */
  rcvMss = 0;
  lastSegSize = 0;
  lastRcvTime = 0;
  lastSendTime = 0;
  /**
   * tcp_cwnd_validate's record of how the window was used in the current
   * round (cwnd-limited.ts): whether sending stopped at cwnd
   * (tp->is_cwnd_limited), the most packets out (max_packets_out), and
   * SND.NXT when the round began (cwnd_usage_seq); and since cwnd was last
   * set or found in use (snd_cwnd_stamp), the most packets out while it was
   * not (snd_cwnd_used).
   */
  readonly cwndUse = { limited: false, maxPacketsOut: 0, usageSeq: 0, used: 0, stamp: 0 };
  /** The chronographs (chrono.ts): tp->chrono_type (0: none running), chrono_start and chrono_stat[], in jiffies. */
  readonly chrono = { type: 0, start: 0, stat: [0, 0, 0] as [number, number, number] };
  /** tp->last_oow_ack_time: out-of-window duplicate ACKs and challenge ACKs share its rate limit. */
  lastOowAckTime = -Infinity;

  /** tp->nonagle: TCP_NODELAY, TCP_CORK and a pending push (nagle.ts). */
  nonagle = 0;
  /** The last write had MSG_MORE: the transmit that follows it is corked (tcp_push with TCP_NAGLE_CORK). */
  pushCorked = false;
  /** TCP_NOTSENT_LOWAT (tp->notsent_lowat; 0: net.ipv4.tcp_notsent_lowat), sndbuf.ts. */
  notsentLowat = 0;
  /** TCP_MAXSEG (tp->rx_opt.user_mss; 0: none): caps the MSS we announce and the peer's. */
  userMss = 0;
  /** IP_TOS (inet->tos) and IPV6_TCLASS (np->tclass) without their ECN bits: the byte of IPv4 and of IPv6 packets. */
  tos = 0;
  tclass = 0;
  /** IP_MTU_DISCOVER / IPV6_MTU_DISCOVER (inet->pmtudisc, np->pmtudisc): IP_PMTUDISC_WANT by default (pmtu.ts). */
  pmtudisc = 1;
  pmtudisc6 = 1;
  /** Socket options. */
  keepalive = false;
  keepIdle: number | undefined;
  keepIntvl: number | undefined;
  keepCnt: number | undefined;
  lingerOn = false;
  lingerSeconds = 0;
  /** TCP_LINGER2 seconds (undefined = tcp_fin_timeout; negative = RST on close in FIN_WAIT2). */
  linger2: number | undefined;
  userTimeout = 0;
  synRetries: number | undefined;

  /**
   * Fast Open, the active side (fastopen-client.ts): the request of a
   * sendmsg(MSG_FASTOPEN) or TCP_FASTOPEN_CONNECT connect() (tp->fastopen_req);
   * TCP_FASTOPEN_CONNECT and TCP_FASTOPEN_NO_COOKIE (tp->fastopen_connect,
   * fastopen_no_cookie); connect() held the SYN for the first write
   * (DEFER_CONNECT).
   */
  fastOpenReq: FastOpenRequest | undefined = undefined;
  fastOpenConnect = false;
  fastOpenNoCookie = false;
  deferConnect = false;
  /**
   * What the SYN carried: a Fast Open option (tp->syn_fastopen), in the
   * experimental form (syn_fastopen_exp), data (syn_data); the SYN-ACK
   * acknowledged all of that data (syn_data_acked: tcp_info's
   * TCPI_OPT_SYN_DATA; on a Fast Open child, the SYN's data was taken); the socket was marked when a blackhole pause ended
   * (syn_fastopen_ch); why Fast Open did not work (tcpi_fastopen_client_fail).
   */
  synFastOpen = false;
  synFastOpenExp = false;
  synData = false;
  synDataAcked = false;
  synFastOpenCh = false;
  fastOpenClientFail = 0;
  /** RTOs (tp->total_rto), RTO recoveries begun (total_rto_recoveries), their time in ms (total_rto_time) and the start of the one under way (rto_stamp): rto-stats.ts. */
  /** Segments delivered with an ECN echo (tp->delivered_ce), and out-of-order packets queued (rcv_ooopack, by their segments). */
  deliveredCe = 0;
  rcvOoopack = 0;
  /** Flow hashes drawn anew at an RTO (tp->timeout_rehash; tcpi_rehash, there being no PLB here). */
  timeoutRehash = 0;
  totalRto = 0;
  totalRtoRecoveries = 0;
  totalRtoTime = 0;
  rtoStamp: number | undefined = undefined;
  /** Segments received (tp->segs_in; tcp_segs_in: a GRO packet counts its segments), and those with data (data_segs_in). */
  segsIn = 0;
  dataSegsIn = 0;
  /** Segments sent (tp->segs_out, retransmissions included; a GSO packet counts its segments), and those with data (data_segs_out). */
  segsOut = 0;
  dataSegsOut = 0;
  /** Writers blocked until the handshake ends (sk_write_pending): the handshake's ACK waits for their data. */
  writePending = 0;

  /** IP ID counter of this socket (inet->inet_id). */
  ipId: number;
  /** Over IPv6: the flow label of its segments, 20 bits of the socket's txhash (sk_set_txhash), drawn anew by sk_rethink_txhash. */
  flowLabel = 0;
  /**
   * The socket is an IPv6 one (AF_INET6): its addresses show as IPv6, an
   * IPv4 peer's v4-mapped (::ffff:a.b.c.d), while the wire carries IPv4.
   */
  ipv6Socket = false;
  /**
   * The connection still holds its addresses (stack/address.ts): until it
   * is out of the tables and its application has let go; then the text of
   * any IPv6 one is kept here for whoever still asks.
   */
  holdsAddresses = true;
  addressText: { local: string; remote: string } | undefined = undefined;
  /** Whoever holds the socket, for wake-ups; undefined once orphaned. */
  owner: SocketOwner | undefined;
  /** The socket's error queue once MSG_ZEROCOPY or SO_TIMESTAMPING used it (errqueue.ts): told of bytes sent and acknowledged. */
  errorQueue: ErrorQueue | undefined = undefined;
  /** What holds the local port in the bind table for this connection (its socket's, or its listener's children's), until it is done. */
  portOwner: PortOwner | undefined = undefined;
  /** Its slot in the TCP layer's list of connections with output to try at the next flush, -1 when not in it (TcpLayer.dirty). */
  dirtyAt = -1;
  /** In the TCP layer's list of receive queues to check at the next flush (TcpLayer.viewsQueued). */
  viewsQueued = false;

  bytesSent = 0;
  bytesRetrans = 0;
  bytesAcked = 0;
  bytesReceived = 0;

  /** The name traces give the connection: its ports (made when a trace asks, not kept per connection). */
  get id(): string {
    return `${this.localPort}-${this.remotePort}`;
  }

  constructor(
    readonly ctx: TcpContext,
    readonly hooks: ConnectionHooks,
    readonly local: number,
    readonly localPort: number,
    readonly remote: number,
    readonly remotePort: number,
    /** CLOSED for an active open; SYN_RECV for a child born from a request sock (tcp_create_openreq_child). */
    initialState: 'CLOSED' | 'SYN_RECV' = 'CLOSED',
  ) {
    this.currentState = initialState;
    // tcp_connect_init / tcp_v4_syn_recv_sock: advmss and the MSS from the route to the peer.
    this.dst = ctx.route.metrics(remote);
    this.dstGeneration = ctx.route.generation;
    this.pmtuCookie = ctx.route.mtu(remote, ctx.now(), this.dst);
    this.advMss = ctx.route.advMss(remote, ctx.now(), this.dst);
    this.rtoMinSock = ctx.sysctl.tcp_rto_min_us / 1000;
    // tcp_rto_min: the route's rto_min over the socket's.
    this.rtt = new RttEstimator(routeRtoMin(this.dst, this.rtoMinSock), ctx.sysctl.tcp_rto_max_ms);
    this.reordering = ctx.sysctl.tcp_reordering;
    this.sndBuf = ctx.sysctl.tcp_wmem[1]; // tcp_init_sock
    this.ipId = ctx.random.u32() & 0xffff;
    this.tsOffset = ctx.random.u32();
    if (remote >= IPV6_HANDLE_BASE) this.flowLabel = newFlowLabel(ctx.random);
    ctx.addresses.hold(local);
    ctx.addresses.hold(remote);
    this.rcvWscale = offeredWindowScale(ctx.sysctl);
    this.rcvBuf = ctx.sysctl.tcp_rmem[1];
    this.cc = createCongestionControl(ctx.sysctl.tcp_congestion_control, this);
    this.offeredWscale = this.rcvWscale;
    this.xmitTimer = new ConnectionTimerSlot('xmit', this);
    this.delackTimer = new ConnectionTimerSlot('delack', this);
    this.keepaliveTimer = new ConnectionTimerSlot('keepalive', this);
  }

  get state(): TcpStateName {
    return this.currentState;
  }

  now(): number {
    return this.ctx.now();
  }

  /** Our timestamp clock: 1 ms ticks plus the connection's offset (RFC 7323 §5.4). */
  tsVal(): number {
    return tsValAt(this.now(), this.tsOffset);
  }

  /**
   * The one place a connection changes state (tcp_set_state): CurrEstab
   * follows ESTABLISHED/CLOSE_WAIT, leaving them for CLOSED is an
   * EstabReset, every transition is traced and wakes the owner. A host crash
   * moves only the CurrEstab gauge: a connection a dead host forgets is no
   * EstabReset, and nobody is left to wake.
   */
  setState(to: TcpStateName, cause: StateChangeCause = 'protocol'): void {
    const from = this.currentState;
    if (from === to) return;
    const c = this.ctx.counters;
    const wasEstab = from === 'ESTABLISHED' || from === 'CLOSE_WAIT';
    const isEstab = to === 'ESTABLISHED' || to === 'CLOSE_WAIT';
    if (!wasEstab && isEstab) c.TcpCurrEstab++;
    if (wasEstab && !isEstab) {
      c.TcpCurrEstab--;
      if (to === 'CLOSED' && cause === 'protocol') c.TcpEstabResets++;
    }
    this.currentState = to;
    this.ctx.trace?.({ kind: 'tcp-state', t: this.now(), conn: this.id, from, to });
    if (cause === 'protocol') this.hooks.wake(this);
  }

  // ---------------------------------------------------------------------------
  // Queries

  /** Segments in the network (tcp_packets_in_flight: packets_out − sacked − lost + retrans). */
  packetsInFlight(): number {
    return this.rtx.inFlight(this.renoSacked);
  }

  unsentBytes(): number {
    return this.sendQueue.length - this.sentDataBytes();
  }

  /** Data bytes between SND.UNA and SND.NXT (SYN and FIN excluded). */
  sentDataBytes(): number {
    let n = seqDiff(this.sndNxt, this.sndUna);
    if (this.finSent) n--;
    if (this.rtx.first()?.syn) n--;
    return Math.max(0, n);
  }

  closingState(): boolean {
    return this.state === 'CLOSE_WAIT' || this.state === 'CLOSING' || this.state === 'LAST_ACK';
  }

  /** tcp_sequence: the segment overlaps the window we advertised. */
  acceptable(seg: Segment): boolean {
    const end = seqAdd(seg.seq, segmentLength(seg));
    return !seqLt(end, this.rcvWup) && !seqGt(seg.seq, seqAdd(this.rcvNxt, this.receiveWindow()));
  }

  /** tp->advmss: the MSS we announced, less the timestamp option once it is agreed (what receive tuning counts in). */
  tpAdvMss(): number {
    return this.advMss - (this.tsOk ? 12 : 0);
  }

  /** tp->tcp_header_len: the TCP header of every segment once options are agreed. */
  tcpHeaderLen(): number {
    return 20 + (this.tsOk ? 12 : 0);
  }

  /** What is left of the window we advertised (tcp_receive_window). */
  receiveWindow(): number {
    const w = seqDiff(seqAdd(this.rcvWup, this.rcvWnd), this.rcvNxt);
    return w < 0 ? 0 : w;
  }
}

/** A connection's timer: it knows its connection and which timer it is (its kind), so it needs no closure (TimerQueue calls fire()). */
class ConnectionTimerSlot extends QueuedTimer {
  declare readonly kind: ConnectionTimer;

  constructor(
    kind: ConnectionTimer,
    private readonly conn: Connection,
  ) {
    super(kind);
  }

  fire(): void {
    this.conn.hooks.timerExpired(this.conn, this.kind);
  }
}
