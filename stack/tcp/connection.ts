/**
 * One TCP connection: the control block and the RFC 9293 §3.10.7 event
 * processing, in the RFC's order of checks, with Linux's choices where the
 * RFC leaves room (tcp_rcv_synsent_state_process, tcp_validate_incoming,
 * tcp_ack, tcp_data_queue, tcp_fin in net/ipv4/tcp_input.c). Sending lives
 * in output.ts and the timers in conn-timers.ts; both work on this object.
 */
import type { DropReason } from '../drop.ts';
import type { SocketErrno, TcpStateName } from '../socket/types.ts';
import { Timer } from '../timers.ts';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TCP_MAX_WSCALE } from '../wire/tcp.ts';
import { ByteQueue, OutOfOrderQueue } from './buffers.ts';
import { NewReno } from './congestion/newreno.ts';
import type { CongestionControl } from './congestion/types.ts';
import type { TcpContext } from './context.ts';
import { activeReset, replyReset, type ResetPathName } from './reset.ts';
import { RttEstimator, TCP_TIMEOUT_FALLBACK } from './rtt.ts';
import type { Segment } from './segment.ts';
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from './seq.ts';
import * as out from './output.ts';
import { RetransmitQueue, type TxRecord } from './rtx-queue.ts';
import * as timers from './conn-timers.ts';

/** Default socket buffers (our stand-in for Linux's autotuning; SO_RCVBUF/SO_SNDBUF override). */
export const DEFAULT_RCVBUF = 1 << 20;
export const DEFAULT_SNDBUF = 1 << 20;
/** TCP_TIMEWAIT_LEN. */
export const TIMEWAIT_LEN = 60_000;
/** Quick-ACK segments at the start of a connection (TCP_MAX_QUICKACKS). */
const MAX_QUICKACKS = 16;

export type { TxRecord };
export const recordEnd = (r: TxRecord): number => seqAdd(r.seq, r.len + (r.syn ? 1 : 0) + (r.fin ? 1 : 0));

export interface ConnectionHooks {
  /** Readiness changed: deliver onEvent to the owning endpoint after this batch. */
  wake(c: Connection): void;
  /** Output may be possible: run transmit() before the next flush. */
  dirty(c: Connection): void;
  /** The connection reached CLOSED: remove it from the tables, release its port. */
  closed(c: Connection): void;
  /** The connection becomes a TIME_WAIT (or orphaned FIN_WAIT2) minisock for `ms`. */
  timeWait(c: Connection, substate: 'TIME_WAIT' | 'FIN_WAIT2', ms: number): void;
}

export type CaState = 'open' | 'disorder' | 'recovery' | 'loss';

export class Connection {
  state: TcpStateName = 'CLOSED';
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
  /** Negotiated options. */
  advMss: number;
  /** The peer's MSS (536 when its SYN had none, RFC 9293 §3.7.1). */
  peerMss = 536;
  /** Payload bytes per full segment: min(peer MSS, ours) less the timestamp option. */
  mss = 536;
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

  /** Bytes from SND.UNA on: sent-unacked, then unsent. */
  readonly sendQueue = new ByteQueue();
  readonly rtx = new RetransmitQueue();
  /** The application closed its sending side: a FIN follows the queued data. */
  finQueued = false;
  finSent = false;
  /** End of the last sub-MSS segment sent (Minshall's Nagle, snd_sml). */
  sndSml = 0;
  readonly recvQueue = new ByteQueue();
  readonly ooo = new OutOfOrderQueue();
  /** Sequence number of a FIN received ahead of missing data. */
  oooFinSeq: number | undefined;
  /** The peer's FIN has been processed (RCV.NXT counts it). */
  finReceived = false;
  rcvBuf = DEFAULT_RCVBUF;
  /** Data was dropped for want of buffer: the next segment advertises a zero window (ICSK_ACK_NOMEM). */
  rcvNoMem = false;
  sndBuf = DEFAULT_SNDBUF;

  /** What the application did: shutdown(SHUT_RD)/(SHUT_WR), close() (orphan). */
  shutRd = false;
  shutWr = false;
  orphan = false;
  /** sk_err: reported once by the next read/write/getError. */
  pendingError: SocketErrno | undefined;
  /** An ICMP error kept to replace ETIMEDOUT (sk_err_soft). */
  softError: SocketErrno | undefined;
  /** Set once an error or EOF has been handed to the reader. */
  errorReported = false;

  /** rto_min/rto_max from the namespace's sysctls when the socket is made (tcp_rto_min(), tcp_rto_max()). */
  readonly rtt: RttEstimator;
  readonly cc: CongestionControl = new NewReno();
  caState: CaState = 'open';
  /** Whether the recovery's first (fast) retransmission has gone out (PRR's prr_out > 0). */
  recoveryRetransSent = false;
  /** Recovery point: SND.NXT when recovery or loss began (RFC 6582 "recover"). */
  highSeq = 0;
  dupAcks = 0;
  /** Duplicate ACKs counted as SACKs for a peer without SACK (tcp_add_reno_sack). */
  renoSacked = 0;

  /** Timers: retransmission/persist/SYN (one slot, as icsk_retransmit_timer), delayed ACK, keepalive/FIN_WAIT2. */
  readonly xmitTimer: Timer;
  readonly delackTimer: Timer;
  readonly keepaliveTimer: Timer;
  xmitMode: 'rto' | 'probe' | undefined;
  backoff = 0;
  /** Retransmissions of the current head (icsk_retransmits) and all retransmissions ever. */
  retransmits = 0;
  totalRetrans = 0;
  /** Original send time of the first retransmitted segment (retrans_stamp); 0 when none. */
  retransStamp = 0;
  probesOut = 0;
  /** When the first zero-window probe of this episode went out (icsk_probes_tstamp); undefined when not probing. */
  probesStamp: number | undefined;
  /** Keepalive probes sent without an answer. */
  keepaliveProbes = 0;
  synRetransmitted = false;

  /** ACK owed to the peer: now (at the end of the batch), or by the delayed-ACK timer. */
  ackNow = false;
  ackDelayed = false;
  quickAcks = MAX_QUICKACKS;
  /** Interactive mode (inet_csk_enter_pingpong_mode): no quick ACKs. */
  pingpong = false;
  lastDataTime = 0;
  /** Full-sized segments received since our last ACK. */
  segsSinceAck = 0;
  lastRcvTime = 0;
  lastSendTime = 0;
  /** tp->last_oow_ack_time: out-of-window duplicate ACKs and challenge ACKs share its rate limit. */
  lastOowAckTime = -Infinity;

  /** Socket options. */
  nodelay = false;
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

  /** IP ID counter of this socket (inet->inet_id). */
  ipId: number;
  /** Owner, for wake-ups (the Endpoint). */
  owner: unknown;

  bytesSent = 0;
  bytesRetrans = 0;
  bytesAcked = 0;
  bytesReceived = 0;

  readonly id: string;

  constructor(
    readonly ctx: TcpContext,
    readonly hooks: ConnectionHooks,
    readonly local: number,
    readonly localPort: number,
    readonly remote: number,
    readonly remotePort: number,
  ) {
    this.advMss = ctx.advMss;
    this.rtt = new RttEstimator(ctx.sysctl.tcp_rto_min_us / 1000, ctx.sysctl.tcp_rto_max_ms);
    this.ipId = ctx.random.u32() & 0xffff;
    this.tsOffset = ctx.random.u32();
    const rmemMax = ctx.sysctl.tcp_rmem[2];
    this.rcvWscale = ctx.sysctl.tcp_window_scaling ? Math.min(Math.max(Math.floor(Math.log2(rmemMax)) - 15, 0), TCP_MAX_WSCALE) : 0;
    this.offeredWscale = this.rcvWscale;
    this.id = `${localPort}-${remotePort}`;
    this.xmitTimer = new Timer('xmit', () => timers.onXmitTimer(this));
    this.delackTimer = new Timer('delack', () => timers.onDelackTimer(this));
    this.keepaliveTimer = new Timer('keepalive', () => timers.onKeepaliveTimer(this));
  }

  now(): number {
    return this.ctx.now();
  }

  /** Our timestamp clock: 1 ms ticks plus the connection's offset (RFC 7323 §5.4). */
  tsVal(): number {
    return (Math.floor(this.now()) + this.tsOffset) >>> 0;
  }

  setState(to: TcpStateName): void {
    const from = this.state;
    if (from === to) return;
    const c = this.ctx.counters;
    // tcp_set_state: CurrEstab follows ESTABLISHED/CLOSE_WAIT; leaving them for CLOSE is an EstabReset.
    const wasEstab = from === 'ESTABLISHED' || from === 'CLOSE_WAIT';
    const isEstab = to === 'ESTABLISHED' || to === 'CLOSE_WAIT';
    if (!wasEstab && isEstab) c.TcpCurrEstab++;
    if (wasEstab && !isEstab) {
      c.TcpCurrEstab--;
      if (to === 'CLOSED') c.TcpEstabResets++;
    }
    this.state = to;
    this.ctx.trace?.({ kind: 'tcp-state', t: this.now(), conn: this.id, from, to });
    this.hooks.wake(this);
  }

  // ---------------------------------------------------------------------------
  // Opening

  /** Active open (tcp_connect): SYN with MSS, SACK_PERM, TS, WS; TcpActiveOpens. */
  connect(iss: number): void {
    this.iss = iss;
    this.sndUna = iss;
    this.sndNxt = seqAdd(iss, 1);
    this.sndSml = this.sndNxt;
    this.rcvWnd = out.initialWindow(this, this.advMss);
    this.setState('SYN_SENT');
    this.ctx.counters.TcpActiveOpens++;
    const now = this.now();
    this.rtx.push({ seq: iss, len: 0, syn: true, fin: false, psh: false, sentAt: now, firstSentAt: now, retrans: 0, sacked: false, lost: false, retransOut: false });
    out.sendSyn(this, false);
    timers.armRto(this, this.rtt.rto);
  }

  /** A child created from a completed request sock: ESTABLISHED (tcp_create_openreq_child). */
  acceptFrom(req: {
    iss: number;
    irs: number;
    peerMss: number;
    sndWscale: number;
    wscaleOk: boolean;
    sackOk: boolean;
    tsOk: boolean;
    tsRecent: number;
    tsOffset: number;
    rcvWnd: number;
    synAckSentAt: number;
    synAckRetrans: number;
  }, ack: Segment): void {
    this.iss = req.iss;
    this.irs = req.irs;
    this.sndUna = seqAdd(req.iss, 1);
    this.sndNxt = this.sndUna;
    this.sndSml = this.sndNxt;
    this.rcvNxt = seqAdd(req.irs, 1);
    this.rcvWup = this.rcvNxt;
    this.rcvWnd = req.rcvWnd;
    this.peerMss = req.peerMss;
    this.wscaleOk = req.wscaleOk;
    this.sndWscale = req.wscaleOk ? req.sndWscale : 0;
    if (!req.wscaleOk) this.rcvWscale = 0;
    this.sackOk = req.sackOk;
    this.tsOk = req.tsOk;
    this.tsRecent = req.tsRecent;
    this.tsRecentStamp = this.now();
    this.tsOffset = req.tsOffset;
    this.mss = out.effectiveMss(this);
    this.sndWnd = ack.window << this.sndWscale;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = ack.seq;
    this.sndWl2 = ack.ack;
    this.lastRcvTime = this.now();
    if (this.tsOk && ack.options.tsPresent && ack.options.tsEcr !== 0) {
      this.rtt.sample(Math.max(0, (this.tsVal() - ack.options.tsEcr) | 0));
    } else if (req.synAckRetrans === 0) {
      this.rtt.sample(this.now() - req.synAckSentAt);
    } else {
      this.rtt.rto = TCP_TIMEOUT_FALLBACK;
    }
    // tcp_create_openreq_child makes the child in SYN_RECV (the request sock's
    // state); the third ACK then moves it on, so traces show SYN_RECV → ESTABLISHED.
    this.state = 'SYN_RECV';
    this.setState('ESTABLISHED');
    this.ctx.counters.TcpPassiveOpens++;
  }

  // ---------------------------------------------------------------------------
  // Input

  /** A segment for this connection (already matched by 4-tuple). */
  input(seg: Segment): DropReason | undefined {
    if (this.state === 'SYN_SENT') return this.synSentInput(seg);
    if (this.state === 'CLOSED' || this.state === 'LISTEN' || this.state === 'TIME_WAIT') return 'TCP_CLOSE';
    return this.synchronizedInput(seg);
  }

  /** RFC 9293 §3.10.7.3 / tcp_rcv_synsent_state_process. */
  private synSentInput(seg: Segment): DropReason | undefined {
    const f = seg.flags;
    if (f & TCP_ACK) {
      if (seqLe(seg.ack, this.iss) || seqGt(seg.ack, this.sndNxt)) {
        // Linux cuts the SYN timer so a fresh SYN follows at once if none was
        // retransmitted yet, before it looks at RST: an unacceptable RST,ACK
        // also brings the SYN forward (tcp_rcv_synsent_state_process;
        // packetdrill on 6.18: test/scripts/rst-syn-sent.pkt).
        if (!this.synRetransmitted) timers.armRto(this, 10);
        if (f & TCP_RST) return 'TCP_RESET';
        // The reason names which side of the range the ACK fell on (TCP_ACK_UNSENT_DATA / TCP_TOO_OLD_ACK).
        const unsent = seqGt(seg.ack, this.sndNxt);
        this.replyReset(seg, unsent ? 'synSentBadAck' : 'synSentOldAck');
        return unsent ? 'TCP_ACK_UNSENT_DATA' : 'TCP_TOO_OLD_ACK';
      }
    }
    if (f & TCP_RST) {
      if (!(f & TCP_ACK)) return 'TCP_RESET'; // RST without an acceptable ACK: dropped
      this.resetByPeer();
      return undefined;
    }
    if (!(f & TCP_SYN)) return 'TCP_FLAGS';

    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.rcvWup = this.rcvNxt;
    this.negotiateOptions(seg);
    if (f & TCP_ACK) {
      // SYN-ACK: the handshake completes on our side.
      this.lastRcvTime = this.now();
      this.ackRecords(seg.ack, seg);
      this.sndUna = seg.ack;
      // RFC 7323 §2.2: the window of a SYN is never scaled.
      this.sndWnd = seg.window;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      if (this.synRetransmitted && this.rtt.samples === 0) this.rtt.rto = TCP_TIMEOUT_FALLBACK;
      this.backoff = 0;
      this.retransmits = 0;
      this.retransStamp = 0;
      timers.cancelXmit(this);
      this.setState('ESTABLISHED');
      this.ackNow = true;
      this.hooks.dirty(this);
      if (seg.payload.length > 0 || f & TCP_FIN) this.receive(seg);
      if (this.keepalive) timers.armKeepalive(this);
      return undefined;
    }
    // Simultaneous open (RFC 9293 §3.5, Figure 7): SYN_RECV, answer with SYN,ACK.
    this.sndWnd = seg.window;
    this.sndWl1 = seg.seq;
    this.setState('SYN_RECV');
    out.sendSyn(this, true);
    return undefined;
  }

  private negotiateOptions(seg: Segment): void {
    const o = seg.options;
    const s = this.ctx.sysctl;
    this.peerMss = o.mss > 0 ? o.mss : 536;
    this.wscaleOk = s.tcp_window_scaling !== 0 && o.wscale >= 0;
    this.sndWscale = this.wscaleOk ? o.wscale : 0;
    if (!this.wscaleOk) this.rcvWscale = 0;
    this.sackOk = s.tcp_sack !== 0 && o.sackPermitted;
    this.tsOk = s.tcp_timestamps !== 0 && o.tsPresent;
    if (this.tsOk) {
      this.tsRecent = o.tsVal;
      this.tsRecentStamp = this.now();
      if (o.tsEcr !== 0) this.rtt.sample(Math.max(0, (this.tsVal() - o.tsEcr) | 0));
    }
    this.mss = out.effectiveMss(this);
  }

  /** RFC 9293 §3.10.7.4, for every state from SYN_RECV to TIME_WAIT's predecessors. */
  private synchronizedInput(seg: Segment): DropReason | undefined {
    const f = seg.flags;
    const o = seg.options;

    // PAWS (RFC 7323 §5.3): an older timestamp marks an old duplicate. A RST is never rejected by PAWS.
    if (this.tsOk && o.tsPresent && !(f & TCP_RST) && seqLt(o.tsVal, this.tsRecent)) {
      this.ctx.counters.TcpExtPAWSEstab++;
      this.sendDupAck(seg);
      return 'TCP_RFC7323_PAWS';
    }

    // First: the sequence number (tcp_sequence).
    if (!this.acceptable(seg)) {
      if (f & TCP_RST) {
        // tcp_reset_check: in CLOSE_WAIT/CLOSING/LAST_ACK a RST at RCV.NXT−1 (the
        // peer's FIN, which we already acknowledged) still resets.
        if (this.closingState() && seg.seq === seqAdd(this.rcvNxt, -1)) {
          this.resetByPeer();
          return undefined;
        }
        return 'TCP_INVALID_SEQUENCE';
      }
      if (f & TCP_SYN) return this.challengeAck('syn', true);
      if (seqGt(seg.seq, seqAdd(this.rcvNxt, this.receiveWindow()))) this.ctx.counters.TcpExtBeyondWindow++;
      this.sendDupAck(seg);
      // tcp_sequence's two reasons: wholly before RCV.WUP (old), or beyond the window.
      return seqLt(seqAdd(seg.seq, seg.payload.length), this.rcvWup) ? 'TCP_OLD_SEQUENCE' : 'TCP_INVALID_SEQUENCE';
    }

    // Second: RST (RFC 5961 §3.2: exact match resets, anything else in window is challenged).
    if (f & TCP_RST) {
      const sackEdge = this.ooo.end;
      if (seg.seq === this.rcvNxt || (this.closingState() && seg.seq === seqAdd(this.rcvNxt, -1)) || (sackEdge !== undefined && seg.seq === sackEdge)) {
        this.resetByPeer();
        return undefined;
      }
      return this.challengeAck('rst', false);
    }

    // Fourth: SYN on a synchronized connection (RFC 5961 §4.2): challenge ACK.
    if (f & TCP_SYN) {
      const simultaneousSynAck =
        this.state === 'SYN_RECV' && (f & TCP_ACK) !== 0 && seqAdd(seg.seq, 1) === this.rcvNxt && seg.ack === this.sndNxt;
      if (!simultaneousSynAck) return this.challengeAck('syn', true);
    }

    // Fifth: ACK.
    if (!(f & TCP_ACK)) return 'TCP_FLAGS';
    this.lastRcvTime = this.now();
    this.keepaliveProbes = 0;
    if (this.state === 'SYN_RECV') {
      if (seqLe(seg.ack, this.sndUna) || seqGt(seg.ack, this.sndNxt)) {
        this.replyReset(seg, 'synRecvBadAck');
        return 'TCP_INVALID_ACK_SEQUENCE';
      }
      this.sndWnd = seg.window << this.sndWscale;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.setState('ESTABLISHED');
      if (this.keepalive) timers.armKeepalive(this);
    }
    const ackVerdict = this.processAck(seg);
    if (ackVerdict !== undefined) return ackVerdict;
    if (this.state === 'CLOSED' || this.state === 'TIME_WAIT') return undefined;

    // Sixth (URG) is ignored, as Linux ignores urgent data by default for delivery order.
    // Seventh and eighth: text and FIN.
    if (seg.payload.length > 0 || f & TCP_FIN) {
      switch (this.state) {
        case 'ESTABLISHED':
        case 'FIN_WAIT1':
        case 'FIN_WAIT2':
          return this.receive(seg);
        default:
          // CLOSE_WAIT, CLOSING, LAST_ACK: the peer already sent its FIN; anything new is ignored.
          if (seqGe(seg.seq, this.rcvNxt)) return undefined;
          this.ackNow = true;
          this.hooks.dirty(this);
          return undefined;
      }
    }
    return undefined;
  }

  private closingState(): boolean {
    return this.state === 'CLOSE_WAIT' || this.state === 'CLOSING' || this.state === 'LAST_ACK';
  }

  /** tcp_sequence: the segment overlaps the window we advertised. */
  private acceptable(seg: Segment): boolean {
    const len = seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0);
    const end = seqAdd(seg.seq, len);
    return !seqLt(end, this.rcvWup) && !seqGt(seg.seq, seqAdd(this.rcvNxt, this.receiveWindow()));
  }

  /** What is left of the window we advertised (tcp_receive_window). */
  receiveWindow(): number {
    const w = seqDiff(seqAdd(this.rcvWup, this.rcvWnd), this.rcvNxt);
    return w < 0 ? 0 : w;
  }

  // ---------------------------------------------------------------------------
  // ACK processing (tcp_ack)

  private processAck(seg: Segment): DropReason | undefined {
    const ack = seg.ack;
    // RFC 5961 §5.2: an ACK for data never sent, or far older than anything in flight, is challenged.
    if (seqGt(ack, this.sndNxt)) {
      this.challengeAck('ack-unsent', false);
      return 'TCP_ACK_UNSENT_DATA';
    }
    // tcp_ack: "do not accept ACK for bytes we never sent": the bound is the
    // smaller of the largest window seen and tp->bytes_acked (this stack counts
    // data bytes there; Linux also counts an active open's SYN and the FIN).
    if (seqLt(ack, seqAdd(this.sndUna, -Math.min(this.maxSndWnd, this.bytesAcked)))) {
      this.challengeAck('ack-too-old', false);
      return 'TCP_TOO_OLD_ACK';
    }
    if (seqLt(ack, this.sndUna)) {
      // An old ACK inside the window: accepted as a duplicate, its data still
      // processed (tcp_ack old_ack: ts_recent is not updated from it).
      if (this.sackOk && seg.options.sackCount > 0) this.processSack(seg);
      return undefined;
    }
    // tcp_replace_ts_recent, which tcp_ack does only now that the segment is
    // known to be acceptable: a challenged ACK leaves the echoed TSval as it was.
    const o = seg.options;
    if (this.tsOk && o.tsPresent && seqLe(seg.seq, this.rcvWup)) {
      this.tsRecent = o.tsVal;
      this.tsRecentStamp = this.now();
    }

    // tcp_ack: any acceptable ACK shows the peer alive: icsk_probes_out = 0, so a
    // peer that keeps answering zero-window probes is probed forever (RFC 1122 §4.2.2.17).
    this.probesOut = 0;
    const priorUna = this.sndUna;
    const inFlightBefore = this.packetsInFlight();
    const nwin = seg.window << this.sndWscale;
    let windowUpdated = false;
    // tcp_may_update_window (RFC 9293 §3.10.7.4 SND.WL1/WL2 rule).
    if (seqGt(ack, this.sndUna) || seqGt(seg.seq, this.sndWl1) || (seg.seq === this.sndWl1 && (nwin > this.sndWnd || nwin === 0))) {
      windowUpdated = nwin !== this.sndWnd;
      this.sndWnd = nwin;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      if (nwin > this.maxSndWnd) this.maxSndWnd = nwin;
    }
    if (this.sackOk && seg.options.sackCount > 0) this.processSack(seg);

    const acked = seqDiff(ack, priorUna);
    if (acked > 0) {
      const ackedSegments = this.ackRecords(ack, seg);
      this.sndUna = ack;
      this.backoff = 0;
      this.retransmits = 0;
      this.probesOut = 0;
      this.dupAcks = 0;
      if (this.rtx.everRetransmitted === 0) this.retransStamp = 0;
      this.congestionOnAck(ack, ackedSegments, inFlightBefore);
      if (this.rtx.length > 0) timers.armRto(this, this.rtt.rto);
      else timers.cancelXmit(this);
      this.hooks.wake(this); // send buffer space
      this.hooks.dirty(this);
    } else if (
      seg.payload.length === 0 &&
      !(seg.flags & (TCP_SYN | TCP_FIN)) &&
      !windowUpdated &&
      this.rtx.length > 0 &&
      seqGt(this.sndNxt, this.sndUna)
    ) {
      this.onDuplicateAck();
    } else if (windowUpdated) {
      this.hooks.dirty(this);
    }
    this.detectLoss();

    // Our FIN acknowledged?
    if (this.finSent && ack === this.sndNxt && this.rtx.length === 0) {
      switch (this.state) {
        case 'FIN_WAIT1':
          this.setState('FIN_WAIT2');
          if (this.orphan) {
            // E5, tcp_rcv_state_process TCP_FIN_WAIT1 for a dead socket: with
            // TCP_LINGER2 < 0, or when this segment brings data (or a FIN)
            // beyond RCV.NXT, tcp_done and R1 on this segment (TCPAbortOnData,
            // reason TCP_ABORT_ON_DATA).
            const occupies = seg.payload.length > 0 || (seg.flags & TCP_FIN) !== 0;
            const beyond = occupies && seqGt(seqAdd(seg.seq, seg.payload.length), this.rcvNxt);
            if ((this.linger2 !== undefined && this.linger2 < 0) || beyond) {
              this.replyReset(seg, 'abortOnData');
              this.done();
              return 'TCP_ABORT_ON_DATA';
            }
            // Else it becomes a FIN_WAIT2 minisock, unless this very segment
            // carries the peer's FIN too: then the full socket goes on to TIME_WAIT.
            if (seg.flags & TCP_FIN) timers.armKeepalive(this, timers.finTime(this));
            else timers.orphanFinWait2(this);
          }
          break;
        case 'CLOSING':
          this.enterTimeWait();
          return undefined;
        case 'LAST_ACK':
          this.done();
          return undefined;
      }
    }
    if (this.sndWnd === 0 && this.unsentBytes() > 0 && this.rtx.length === 0) timers.armPersist(this);
    return undefined;
  }

  /** Drops acknowledged records, trims a partly acknowledged one, takes an RTT sample (Karn, RFC 7323). */
  private ackRecords(ack: number, seg: Segment): number {
    let segments = 0;
    let dataBytes = 0;
    let sampleFrom: TxRecord | undefined;
    let anyRetransmitted = false;
    for (;;) {
      const r = this.rtx.first();
      if (r === undefined) break;
      const end = recordEnd(r);
      if (seqLe(end, ack)) {
        this.rtx.shift();
        dataBytes += r.len;
        segments++;
        if (r.retrans > 0) anyRetransmitted = true;
        else sampleFrom = r;
        continue;
      }
      if (seqGt(ack, r.seq)) {
        // Partially acknowledged: keep the rest (the SYN never splits).
        const n = seqDiff(ack, r.seq) - (r.syn ? 1 : 0);
        r.seq = ack;
        r.len -= n;
        r.syn = false;
        dataBytes += n;
      }
      break;
    }
    if (dataBytes > 0) {
      this.sendQueue.consume(dataBytes);
      this.bytesAcked += dataBytes;
    }
    const o = seg.options;
    if (this.tsOk && o.tsPresent && o.tsEcr !== 0) {
      this.rtt.sample(Math.max(0, (this.tsVal() - o.tsEcr) | 0));
    } else if (sampleFrom && !anyRetransmitted) {
      this.rtt.sample(this.now() - sampleFrom.sentAt);
    }
    return segments;
  }

  private congestionOnAck(ack: number, ackedSegments: number, inFlightBefore: number): void {
    if (this.caState === 'recovery' || this.caState === 'loss') {
      if (seqGe(ack, this.highSeq)) {
        if (this.caState === 'recovery') this.cc.onExitRecovery();
        this.caState = 'open';
        this.renoSacked = 0;
      } else if (this.caState === 'recovery' && !this.sackOk) {
        // NewReno partial ACK (RFC 6582 §3.2 step 4): the next hole is lost too.
        this.renoSacked = Math.max(0, this.renoSacked - ackedSegments);
        const head = this.rtx.first();
        if (head && !head.lost) this.rtx.markLost(head);
      } else if (this.caState === 'loss') {
        this.cc.onAck(ackedSegments, inFlightBefore);
      }
      return;
    }
    this.caState = 'open';
    this.renoSacked = 0;
    this.cc.onAck(ackedSegments, inFlightBefore);
  }

  private onDuplicateAck(): void {
    this.dupAcks++;
    if (!this.sackOk) {
      // tcp_add_reno_sack: each duplicate means one more segment left the network.
      this.renoSacked = Math.min(this.renoSacked + 1, Math.max(this.rtx.length - 1, 0));
    }
    if (this.caState === 'open') this.caState = 'disorder';
    this.hooks.dirty(this);
  }

  /** Marks records covered by the SACK blocks (RFC 2018), ignoring blocks outside (SND.UNA, SND.NXT]. */
  private processSack(seg: Segment): void {
    const b = seg.options.sackBlocks;
    for (let i = 0; i < seg.options.sackCount; i++) {
      const left = b[2 * i]!;
      const right = b[2 * i + 1]!;
      if (!seqLt(left, right) || seqLe(right, this.sndUna) || seqGt(right, this.sndNxt)) continue;
      for (const r of this.rtx) {
        if (seqGe(r.seq, right)) break;
        if (!r.sacked && seqGe(r.seq, left) && seqLe(recordEnd(r), right)) this.rtx.markSacked(r);
      }
    }
    this.hooks.dirty(this);
  }

  /**
   * Loss detection: three duplicate ACKs without SACK (RFC 5681 §3.2), or
   * with SACK a hole with three SACKed segments above it (RFC 6675 IsLost,
   * DupThresh 3); entering recovery halves the window once per window.
   */
  private detectLoss(): void {
    if (this.rtx.length === 0 || this.caState === 'loss') return;
    let newlyLost = false;
    if (this.sackOk) {
      if (this.rtx.sackedOut >= 3) {
        let sackedAbove = 0;
        for (let i = this.rtx.length - 1; i >= 0; i--) {
          const r = this.rtx.at(i)!;
          if (r.sacked) sackedAbove++;
          else if (sackedAbove >= 3 && !r.lost && !r.retransOut) {
            this.rtx.markLost(r);
            newlyLost = true;
          }
        }
      }
    } else if (this.dupAcks >= 3 && this.caState !== 'recovery') {
      const head = this.rtx.first()!;
      if (!head.lost) {
        this.rtx.markLost(head);
        newlyLost = true;
      }
    }
    if (newlyLost && this.caState !== 'recovery') {
      this.caState = 'recovery';
      this.highSeq = this.sndNxt;
      this.cc.onEnterRecovery(this.packetsInFlight());
      this.recoveryRetransSent = false;
      const c = this.ctx.counters;
      if (this.sackOk) c.TcpExtTCPSackRecovery++;
      else c.TcpExtTCPRenoRecovery++;
    }
    if (newlyLost) this.hooks.dirty(this);
  }

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

  // ---------------------------------------------------------------------------
  // Receiving data and FIN (tcp_data_queue, tcp_fin)

  private receive(seg: Segment): DropReason | undefined {
    let seq = seg.seq;
    let data = seg.payload;
    let fin = (seg.flags & TCP_FIN) !== 0;
    if (seg.flags & TCP_SYN) seq = seqAdd(seq, 1);

    // Data after the application shut the receive side for good (close, or shutdown RDWR):
    // tcp_rcv_state_process step 7 resets (RFC 9293 §3.10.7.4 "SHOULD", RFC 2525 §2.17).
    if (this.shutRd && this.shutWr && data.length > 0 && seqGt(seqAdd(seq, data.length), this.rcvNxt)) {
      if (this.state === 'FIN_WAIT1' || this.state === 'FIN_WAIT2') {
        this.replyReset(seg, 'abortOnData');
        this.pendingError = 'ECONNRESET';
        this.done();
        return 'TCP_ABORT_ON_DATA';
      }
    }

    // Trim what we already have, and what lies beyond the window we advertised.
    if (seqLt(seq, this.rcvNxt)) {
      const dup = seqDiff(this.rcvNxt, seq);
      if (dup >= data.length) {
        // Nothing new unless it is the FIN right at RCV.NXT: a duplicate, ACK at
        // once so the peer stops retransmitting.
        const finIsNew = fin && seqAdd(seq, data.length) === this.rcvNxt;
        if (!finIsNew) {
          this.ackNow = true;
          this.hooks.dirty(this);
          return 'TCP_OLD_DATA';
        }
        data = data.subarray(data.length);
      } else data = data.subarray(dup);
      seq = this.rcvNxt;
    }
    const rightEdge = seqAdd(this.rcvNxt, this.receiveWindow());
    if (seqGt(seqAdd(seq, data.length), rightEdge)) {
      const keep = Math.max(0, seqDiff(rightEdge, seq));
      if (keep < data.length) {
        data = data.subarray(0, keep);
        fin = false;
      }
    }
    if (data.length === 0 && !fin) {
      // Zero window and new data: the ACK tells the sender our window.
      this.ackNow = true;
      this.hooks.dirty(this);
      if (seg.payload.length > 0) {
        this.ctx.counters.TcpExtTCPZeroWindowDrop++;
        return 'TCP_ZEROWINDOW';
      }
      return undefined;
    }

    // tcp_try_rmem_schedule: the window we advertised may exceed the free buffer
    // by the rounding of the never-shrinking scaled window (ALIGN in
    // tcp_select_window, up to one granule per segment). Linux absorbs that
    // creep in headroom: sk_rcvbuf is twice what SO_RCVBUF asked for
    // (sock_setsockopt) and the window is offered from the useful half, so a
    // peer never loses data the window allowed (scenario app-blocked). Ours
    // offers the window from rcvBuf and keeps the same 2× memory bound; data
    // beyond it is dropped and answered at once with a zero window
    // (ICSK_ACK_NOMEM), in order (TCPRcvQDrop, unless the queue is empty) or
    // out of order (TCPOFODrop).
    const rcvMemLimit = 2 * this.rcvBuf;
    if (data.length > 0 && this.recvQueue.length + this.ooo.bytes + data.length > rcvMemLimit && (seq !== this.rcvNxt || this.recvQueue.length > 0)) {
      if (seq === this.rcvNxt) {
        this.ctx.counters.TcpExtTCPRcvQDrop++;
        this.rcvNoMem = true;
      } else this.ctx.counters.TcpExtTCPOFODrop++;
      this.ackNow = true;
      this.hooks.dirty(this);
      return 'PROTO_MEM';
    }

    if (seq === this.rcvNxt) {
      if (data.length > 0) {
        this.recvQueue.push(data.slice());
        this.rcvNxt = seqAdd(this.rcvNxt, data.length);
        this.bytesReceived += data.length;
        if (data.length >= this.mss) this.segsSinceAck++;
      }
      const filled = !this.ooo.empty;
      if (filled) {
        for (const chunk of this.ooo.takeInOrder(this.rcvNxt)) {
          this.recvQueue.push(chunk);
          this.rcvNxt = seqAdd(this.rcvNxt, chunk.length);
          this.bytesReceived += chunk.length;
        }
        this.ackNow = true; // hole filled: ACK at once (RFC 5681 §4.2)
      }
      if (fin) this.oooFinSeq = seqAdd(seq, data.length);
      if (this.oooFinSeq !== undefined && this.oooFinSeq === this.rcvNxt) this.processFin();
      this.scheduleAck(data.length);
      if (data.length > 0 || filled) this.hooks.wake(this);
    } else {
      // Out of order: hold it, and ACK at once with SACK so the sender learns of the hole.
      if (data.length > 0) {
        const added = this.ooo.insert(seq, data);
        if (added > 0) this.ctx.counters.TcpExtTCPOFOQueue++;
      }
      if (fin) this.oooFinSeq = seqAdd(seq, data.length);
      this.ackNow = true;
      this.hooks.dirty(this);
    }
    return undefined;
  }

  /** RFC 5681 §4.2 / tcp_event_data_recv: ACK now, or delay it (40 ms). */
  private scheduleAck(bytes: number): void {
    const now = this.now();
    if (bytes > 0) {
      // A receiver idle for longer than the RTO starts over in quick-ack mode (tcp_event_data_recv).
      if (now - this.lastDataTime > this.rtt.rto) {
        this.quickAcks = Math.max(2, Math.min(MAX_QUICKACKS, Math.floor(this.rcvWnd / (2 * this.mss))));
        this.pingpong = false;
      }
      this.lastDataTime = now;
    }
    if (this.ackNow) {
      this.hooks.dirty(this);
      return;
    }
    if (this.quickAcks > 0 && bytes > 0 && !this.pingpong) {
      this.quickAcks--;
      this.ackNow = true;
    } else if (this.segsSinceAck >= 2) {
      this.ackNow = true;
    } else if (bytes > 0) {
      this.ackDelayed = true;
      timers.armDelack(this);
    }
    this.hooks.dirty(this);
  }

  /** tcp_fin: the peer will send no more. */
  private processFin(): void {
    this.oooFinSeq = undefined;
    if (this.finReceived) return;
    this.finReceived = true;
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.hooks.dirty(this);
    this.hooks.wake(this);
    switch (this.state) {
      case 'SYN_RECV':
      case 'ESTABLISHED':
        // tcp_fin: ping-pong mode, but the FIN itself is ACKed at once (a one-time
        // immediate ACK, ICSK_ACK_NOW): measured with packetdrill on 6.18
        // (test/scripts/rst-close-wait.pkt, packetdrill's close-remote-fin-then-close.pkt).
        this.setState('CLOSE_WAIT');
        this.pingpong = true;
        this.ackNow = true;
        return;
      case 'FIN_WAIT1':
        // Simultaneous close (RFC 9293 Figure 13): our FIN not yet acknowledged; ACK at once.
        this.ackNow = true;
        this.setState('CLOSING');
        break;
      case 'FIN_WAIT2':
        // ACK now, before the connection shrinks to a TIME_WAIT minisock.
        out.sendAck(this);
        this.enterTimeWait();
        break;
    }
  }

  // ---------------------------------------------------------------------------
  // Application requests (the Endpoint calls these)

  /** Queues application bytes; returns how many fit in the send buffer. */
  write(data: Uint8Array): number {
    const room = this.sndBuf - this.sendQueue.length;
    if (room <= 0) return 0;
    const n = Math.min(room, data.length);
    this.sendQueue.push(data.slice(0, n));
    this.hooks.dirty(this);
    return n;
  }

  read(max: number): Uint8Array {
    const data = this.recvQueue.shift(max);
    if (data.length > 0 && this.state !== 'CLOSED' && !this.finReceived) this.maybeWindowUpdate();
    return data;
  }

  /** tcp_cleanup_rbuf: announce a window that at least doubled, or reopened from zero. */
  private maybeWindowUpdate(): void {
    const current = this.receiveWindow();
    const possible = out.selectWindow(this, false);
    if (possible >= 2 * current && possible - current >= this.mss) {
      this.ackNow = true;
      this.hooks.dirty(this);
    }
  }

  /** shutdown(SHUT_WR) / the FIN part of close: tcp_close_state. */
  closeSending(): void {
    if (this.shutWr && this.finQueued) return;
    this.shutWr = true;
    switch (this.state) {
      case 'ESTABLISHED':
      case 'SYN_RECV':
        this.setState('FIN_WAIT1');
        break;
      case 'CLOSE_WAIT':
        this.setState('LAST_ACK');
        break;
      case 'SYN_SENT':
        this.done();
        return;
      default:
        return;
    }
    this.finQueued = true;
    this.hooks.dirty(this);
  }

  /** The Linux close paths (__tcp_close), in their order. */
  close(): void {
    const wasState = this.state;
    this.orphan = true;
    this.shutRd = true;
    if (wasState === 'CLOSED' || wasState === 'TIME_WAIT') return;
    const unread = this.recvQueue.length;
    this.recvQueue.clear();
    this.ooo.clear();
    if (unread > 0) {
      // RFC 2525 §2.17: unread data means the peer's data was lost: say so with a RST.
      this.setState('CLOSED');
      this.abort('closeWithUnread');
      return;
    }
    if (this.lingerOn && this.lingerSeconds === 0) {
      // tcp_disconnect: a RST when tcp_need_reset(), or in CLOSING/LAST_ACK while
      // something (data or the FIN) is still unsent (snd_nxt != write_seq); in
      // SYN_SENT nothing. __tcp_close counts TCPAbortOnData after it in every case.
      const needReset =
        wasState === 'ESTABLISHED' || wasState === 'CLOSE_WAIT' || wasState === 'FIN_WAIT1' || wasState === 'FIN_WAIT2' || wasState === 'SYN_RECV' ||
        ((wasState === 'CLOSING' || wasState === 'LAST_ACK') && (this.unsentBytes() > 0 || (this.finQueued && !this.finSent)));
      this.setState('CLOSED');
      if (needReset) {
        this.abort('lingerZero');
      } else {
        this.ctx.counters.TcpExtTCPAbortOnData++;
        this.done();
      }
      return;
    }
    if (wasState === 'SYN_SENT') {
      this.done(); // close in SYN_SENT sends nothing (D4, tcp_close_state)
      return;
    }
    if (wasState === 'FIN_WAIT2') {
      this.shutWr = true;
      if (this.linger2 !== undefined && this.linger2 < 0) {
        this.setState('CLOSED');
        this.abort('linger2');
        return;
      }
      timers.orphanFinWait2(this);
      return;
    }
    this.closeSending();
  }

  /** Sends R2 on `path` and finishes the connection. */
  abort(path: ResetPathName): void {
    activeReset(this.ctx, out.activeResetSource(this), path);
    this.done();
  }

  // ---------------------------------------------------------------------------
  // Endings

  /** tcp_reset: the peer reset us; the errno depends on the state (Linux G6). */
  resetByPeer(): void {
    const c = this.ctx.counters;
    switch (this.state) {
      case 'SYN_SENT':
        this.pendingError = 'ECONNREFUSED';
        c.TcpAttemptFails++;
        break;
      case 'SYN_RECV':
        this.pendingError = 'ECONNRESET';
        c.TcpAttemptFails++;
        break;
      case 'CLOSE_WAIT':
        this.pendingError = 'EPIPE';
        break;
      case 'TIME_WAIT':
        break;
      default:
        this.pendingError = 'ECONNRESET';
    }
    this.ctx.trace?.({ kind: 'tcp-error', t: this.now(), conn: this.id, errno: this.pendingError ?? 'none' });
    this.done();
  }

  /** tcp_write_err: a timer gave up; no segment is sent (unlike keepalive). */
  timedOut(): void {
    this.pendingError = this.softError ?? 'ETIMEDOUT';
    this.ctx.counters.TcpExtTCPAbortOnTimeout++;
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RECV') this.ctx.counters.TcpAttemptFails++;
    this.ctx.trace?.({ kind: 'tcp-error', t: this.now(), conn: this.id, errno: this.pendingError });
    this.done();
  }

  /** tcp_done: CLOSED, timers stopped, queues purged, out of the tables. */
  done(): void {
    this.setState('CLOSED');
    this.purge();
    this.hooks.closed(this);
    this.hooks.wake(this);
  }

  /** What every end of a socket shares: timers stopped, queues emptied, both directions shut. */
  private purge(): void {
    timers.cancelAll(this);
    this.sendQueue.clear();
    this.rtx.clear();
    this.ooo.clear();
    this.ackNow = false;
    this.ackDelayed = false;
    this.shutRd = true;
    this.shutWr = true;
  }

  /**
   * Forgotten by a host crash: CLOSED with no segment and no counter
   * (TcpLayer.crash). Not through setState: a connection a dead host forgets
   * is no TcpEstabResets; only the TcpCurrEstab gauge follows.
   */
  forget(): void {
    const from = this.state;
    if (from === 'ESTABLISHED' || from === 'CLOSE_WAIT') this.ctx.counters.TcpCurrEstab--;
    this.state = 'CLOSED';
    if (from !== 'CLOSED') this.ctx.trace?.({ kind: 'tcp-state', t: this.now(), conn: this.id, from, to: 'CLOSED' });
    this.purge();
  }

  enterTimeWait(): void {
    timers.cancelAll(this);
    this.setState('TIME_WAIT');
    this.sendQueue.clear();
    this.rtx.clear();
    this.hooks.timeWait(this, 'TIME_WAIT', TIMEWAIT_LEN);
  }

  // ---------------------------------------------------------------------------
  // Small answers

  replyReset(seg: Segment, path: ResetPathName): void {
    replyReset(this.ctx, seg, path);
  }

  /** tcp_send_dupack: pure ACKs and SYNs are rate-limited (tcp_invalid_ratelimit), data always answered. */
  private sendDupAck(seg: Segment): void {
    if (seg.payload.length === 0 && !this.oowAllowed()) {
      this.ctx.counters.TcpExtTCPACKSkippedSeq++;
      return;
    }
    this.ackNow = true;
    this.hooks.dirty(this);
  }

  private oowAllowed(): boolean {
    const now = this.now();
    if (now - this.lastOowAckTime < this.ctx.sysctl.tcp_invalid_ratelimit) return false;
    this.lastOowAckTime = now;
    return true;
  }

  /**
   * tcp_send_challenge_ack (RFC 5961 §§3.2, 4.2, 5.2): one per
   * tcp_invalid_ratelimit per socket, on the same clock as the out-of-window
   * duplicate ACKs (__tcp_oow_rate_limited on tp->last_oow_ack_time).
   */
  private challengeAck(why: string, syn: boolean): DropReason {
    const c = this.ctx.counters;
    if (syn) {
      // tcp_validate_incoming's syn_inerr: only tcp_rcv_established passes 1.
      if (this.state === 'ESTABLISHED') c.TcpInErrs++;
      c.TcpExtTCPSYNChallenge++;
    }
    const now = this.now();
    if (!this.oowAllowed()) {
      c.TcpExtTCPACKSkippedChallenge++;
      return syn ? 'TCP_INVALID_SYN' : 'TCP_RESET';
    }
    c.TcpExtTCPChallengeACK++;
    this.ctx.trace?.({ kind: 'tcp-challenge-ack', t: now, conn: this.id, why });
    out.sendAck(this);
    return syn ? 'TCP_INVALID_SYN' : why === 'rst' ? 'TCP_RESET' : 'TCP_OLD_ACK';
  }
}
