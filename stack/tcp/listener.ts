/**
 * A listening socket: its SYN queue of request socks (half-open
 * connections, kept small: no buffers until the handshake completes) and its
 * accept queue of established children, bounded as Linux bounds them
 * (tcp_conn_request, tcp_check_req, reqsk_timer_handler; RFC 9293 §3.10.7.2).
 */
import type { DropReason } from '../drop.ts';
import { TCP_ACK, TCP_ECE, TCP_FIN, TCP_RST, TCP_SYN, tcpReserved, type TcpOptionsToWrite } from '../wire/tcp.ts';
import { MAX_WINDOW_FIELD, TCP_DEFAULT_MSS, TCP_RTO_MAX, TCP_TIMEOUT_INIT, TCP_TS_OPTION_BYTES } from './constants.ts';
import { initialWindowOf, type InitialWindow } from './rcvbuf.ts';
import type { Connection } from './connection.ts';
import type { TcpContext } from './context.ts';
import { abortWithReset, resetByPeer } from './endings.ts';
import { requestEcnOk } from './ecn.ts';
import { connectionInput } from './input.ts';
import { RequestSock } from './request-sock.ts';
import { replyReset } from './reset.ts';
import { newFlowLabel, sendMinisockSegment, type MinisockEnds, type Segment } from './segment.ts';
import { seqAdd, seqGt, seqLt } from './seq.ts';
import { FourTupleMap, type PortOwner } from './tables.ts';
import { IPV6_HANDLE_BASE } from '../address.ts';
import type { SocketOwner } from './types.ts';
import { CHILD_PROCESSES, fastOpenRemove, tryFastOpen, type FastOpenListener, type FastOpenQueue } from './fastopen-server.ts';

/** MSS classes a cookie can carry (msstab in net/ipv4/syncookies.c). */
const COOKIE_MSS = [536, 1300, 1440, 1460];
/** Cookie counter period (64 s) and how many periods old a cookie may be. */
const COOKIE_PERIOD = 64_000;
const MAX_SYNCOOKIE_AGE = 2;
/** TCP_SYNCOOKIE_VALID: cookies are checked for two minutes after the last overflow. */
const SYNCOOKIE_VALID = 120_000;
/** Timestamps never negotiated: what a cookie handshake and its answers carry. */
const NO_TIMESTAMPS = { tsOk: false, tsOffset: 0, tsRecent: 0 } as const;

export interface ListenerHost {
  readonly ctx: TcpContext;
  /** A new ISN for the 4-tuple (secure_tcp_seq). */
  isn(remote: number, remotePort: number, localPort: number): number;
  /** A keyed 32-bit hash (SYN cookies). */
  hash(a: number, b: number, c: number): number;
  /** Creates and hashes the child connection for a completed handshake. */
  createChild(listener: Listener, req: RequestSock, ack: Segment): Connection;
  /** Creates and hashes a Fast Open child from its SYN, still in SYN_RECV (fastopen-server.ts). */
  createFastOpenChild(listener: Listener, req: RequestSock, syn: Segment): Connection;
  /** The listener's owner may accept now. */
  wakeListener(listener: Listener): void;
}

const requestWindow = (w: InitialWindow): { rcvWnd: number; rcvWscale: number; windowClamp: number } => ({
  rcvWnd: w.rcvWnd,
  rcvWscale: w.wscale,
  windowClamp: w.windowClamp,
});

/**
 * tcp_check_req's sequence test, Linux's tcp_in_window (net/ipv4/tcp_minisocks.c)
 * over [RCV.NXT, RCV.NXT + RCV.WND): acceptable when the segment starts at
 * RCV.NXT, or ends after RCV.NXT and starts before the right edge, or is
 * empty and sits exactly on the right edge. The end counts SYN and FIN
 * (end_seq; RST occupies no sequence space), so a segment ending at RCV.NXT
 * holds nothing new and is outside: a RST there leaves the request alone.
 */
/** tcp_synack_window: the window a request advertises, its first window as far as 16 bits carry it. */
function synAckWindow(req: RequestSock): number {
  return Math.min(MAX_WINDOW_FIELD, req.rcvWnd);
}

function inRequestWindow(req: RequestSock, seg: Segment): boolean {
  const rcvNxt = req.rcvNxt;
  const right = seqAdd(rcvNxt, synAckWindow(req));
  const seq = seg.seq;
  const f = seg.flags;
  if (seq === rcvNxt) return true;
  const end = seqAdd(seq, seg.payload.length + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0));
  if (seqGt(end, rcvNxt) && seqLt(seq, right)) return true;
  return seq === right && end === seq;
}

/** TCP_PAWS_MSL: after this long without a timestamp, a RST is taken whatever its TSval. */
const PAWS_MSL_SECONDS = 60;

/**
 * tcp_check_req's PAWS test (tcp_paws_reject, RFC 7323 §5): a TSval older
 * than the one recorded from the SYN marks an old duplicate. The request
 * keeps no time of that TSval; Linux takes it as 1 s << expiries ago, so a
 * RST escapes the test only once that reaches TCP_PAWS_MSL.
 */
function requestPawsReject(req: RequestSock, tsVal: number, rst: boolean): boolean {
  if (req.tsRecent === 0 || !seqLt(tsVal, req.tsRecent)) return false;
  return !(rst && 2 ** req.timeouts >= PAWS_MSL_SECONDS);
}

export class Listener implements PortOwner, FastOpenListener {
  readonly listening = true;
  /** Closed or forgotten (no longer TCP_LISTEN): what a Fast Open child still holding its request asks. */
  closed = false;
  /** The socket's Fast Open queue (fastopen-server.ts), when it has one. */
  fastOpen: FastOpenQueue | undefined;
  readonly synQueue = new FourTupleMap<RequestSock>();
  readonly acceptQueue: Connection[] = [];
  owner: SocketOwner | undefined;
  /** TCP_DEFER_ACCEPT as SYN-ACK retransmissions (rskq_defer_accept): a bare third ACK is dropped until the request has timed out this often. */
  deferAccept = 0;
  /** The listener's sk_rcvbuf and SOCK_RCVBUF_LOCK: its requests' windows come from them, its children inherit them. */
  rcvBuf: number;
  rcvBufLocked = false;
  /** The listener's sk_sndbuf and SOCK_SNDBUF_LOCK: its children inherit them (sndbuf.ts). */
  sndBuf: number;
  sndBufLocked = false;
  /** TCP_MAXSEG set on the listener (0: none): caps the MSS of its SYN-ACKs and its requests' peer MSS; children inherit it. */
  userMss = 0;
  /** IP_TOS and IPV6_TCLASS set on the listener: its SYN-ACKs carry them (tcp_v4_send_synack, tcp_v6_send_synack) and its children inherit them (initChild). */
  tos = 0;
  tclass = 0;
  /** SO_OOBINLINE on the listener: its children have it from the start (sk_clone_lock copies SOCK_URGINLINE), before accept(). */
  urgInline = false;
  /** When the SYN queue last overflowed into cookies (tcp_synq_overflow). */
  private lastCookieTime = -Infinity;
  /** What the accepted children hold the port as, shared while the listener's address and SO_REUSEADDR stay the same. */
  private childOwner: PortOwner | undefined;

  constructor(
    readonly host: ListenerHost,
    public bindAddress: number,
    readonly port: number,
    /** min(backlog, somaxconn): bounds both queues; the accept queue holds backlog + 1. */
    public backlog: number,
    public reuseAddress: boolean,
    /** An IPv6 listener (AF_INET6), and whether it is v6-only: which families it takes (tables.ts). */
    readonly ipv6 = false,
    readonly v6only = false,
  ) {
    this.rcvBuf = host.ctx.sysctl.tcp_rmem[1];
    this.sndBuf = host.ctx.sysctl.tcp_wmem[1];
  }

  /**
   * The port owner a new child holds the port as (inet_inherit_port puts the
   * child in the listener's bind bucket): not listening, with the listener's
   * address and SO_REUSEADDR as they are when the child is created. Children
   * made under the same settings share one (BindTable counts them), so that a
   * listener with 10,000 connections is not 10,000 owners to scan at bind().
   */
  childPortOwner(): PortOwner {
    const o = this.childOwner;
    if (o !== undefined && o.bindAddress === this.bindAddress && o.reuseAddress === this.reuseAddress) return o;
    return (this.childOwner = { bindAddress: this.bindAddress, ipv6: this.ipv6, v6only: this.v6only, reuseAddress: this.reuseAddress, listening: false });
  }

  /**
   * tcp_openreq_init_rwin: a request's first window, scale and clamp from
   * the listener's buffer (the MSS less timestamps when they are on) and the
   * route's initrwnd toward `remote`.
   */
  initialWindow(mss: number, wscaleOk: boolean, remote: number): InitialWindow {
    return initialWindowOf(this.ctx.sysctl, this.rcvBuf, this.rcvBufLocked, mss, wscaleOk, this.ctx.route.metrics(remote).initRwnd);
  }

  private get ctx(): TcpContext {
    return this.host.ctx;
  }

  /** A segment for this listener's port with no connection or TIME_WAIT match. */
  input(seg: Segment, issOverride?: number): DropReason | undefined {
    // tcp_v6_conn_request refuses a SYN from an address no route can answer (v4-mapped) as a header error.
    if (seg.src >= IPV6_HANDLE_BASE && !this.ctx.addresses.routable(seg.src) && (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN) {
      this.ctx.counters.Ip6InHdrErrors++;
      return 'IP_INHDR';
    }
    const req = this.synQueue.get(seg.src, seg.sport, seg.dport);
    if (req !== undefined) return this.checkRequest(req, seg) as DropReason | undefined;
    const f = seg.flags;
    // A bare ACK after recent cookies may complete a cookie handshake (tcp_v4_cookie_check).
    if ((f & (TCP_ACK | TCP_SYN | TCP_RST)) === TCP_ACK && this.ctx.now() - this.lastCookieTime < SYNCOOKIE_VALID) {
      const verdict = this.cookieCheck(seg);
      if (verdict !== 'invalid') return verdict;
    }
    // RFC 9293 §3.10.7.2, in Linux's order: ACK → reset; RST → drop; SYN → request; else drop.
    if (f & TCP_ACK) {
      replyReset(this.ctx, seg, 'listenerAck');
      return 'TCP_FLAGS';
    }
    if (f & TCP_RST) return 'TCP_RESET';
    if (!(f & TCP_SYN) || f & TCP_FIN) return 'TCP_FLAGS';
    return this.connRequest(seg, issOverride);
  }

  /** tcp_conn_request. */
  private connRequest(seg: Segment, issOverride: number | undefined): DropReason | undefined {
    const c = this.ctx.counters;
    const cookies = this.ctx.sysctl.tcp_syncookies;
    // The SYN queue holds backlog + 1 requests (measured: listen(1) keeps 2); beyond,
    // cookies keep no state at all, so a SYN flood costs no memory (tcp_syn_flood_action).
    let wantCookie = false;
    if (issOverride === undefined && (cookies === 2 || this.synQueue.size > this.backlog)) {
      if (cookies === 0) {
        c.TcpExtTCPReqQFullDrop++;
        c.TcpExtListenDrops++;
        return 'TCP_LISTEN_OVERFLOW';
      }
      wantCookie = true;
      if (cookies !== 2) c.TcpExtTCPReqQFullDoCookies++;
    }
    if (this.acceptQueue.length > this.backlog) {
      c.TcpExtListenOverflows++;
      c.TcpExtListenDrops++;
      return 'TCP_LISTEN_OVERFLOW';
    }
    if (wantCookie) {
      this.sendCookieSynAck(seg);
      return undefined;
    }
    const s = this.ctx.sysctl;
    const o = seg.options;
    const wscaleOk = s.tcp_window_scaling !== 0 && o.wscale >= 0;
    const tsOk = s.tcp_timestamps !== 0 && o.tsPresent;
    const req = new RequestSock(
      {
        local: seg.dst,
        remote: seg.src,
        remotePort: seg.sport,
        irs: seg.seq,
        iss: issOverride ?? this.host.isn(seg.src, seg.sport, seg.dport),
        // tcp_parse_options: TCP_MAXSEG caps the MSS the peer announced.
        peerMss: Math.min(o.mss > 0 ? o.mss : TCP_DEFAULT_MSS, this.userMss || Infinity),
        sndWscale: wscaleOk ? o.wscale : 0,
        wscaleOk,
        sackOk: s.tcp_sack !== 0 && o.sackPermitted,
        tsOk,
        tsRecent: tsOk ? o.tsVal : 0,
        tsOffset: this.ctx.random.u32(),
        ...requestWindow(this.initialWindow(tsOk ? this.advMssTo(seg.src) - TCP_TS_OPTION_BYTES : this.advMssTo(seg.src), wscaleOk, seg.src)),
        ecnOk: requestEcnOk(seg, s.tcp_ecn, tcpReserved(seg.packet.subarray(seg.tcpOffset))),
        flowLabel: seg.src >= IPV6_HANDLE_BASE ? newFlowLabel(this.ctx.random) : undefined,
      },
      (r) => this.onRequestTimer(r),
    );
    // tcp_try_fastopen: a child at once, or a cookie for the SYN-ACK.
    const fo = tryFastOpen(this.ctx, this, seg, req);
    if (fo.child !== undefined) {
      // The SYN-ACK acknowledges the SYN's data; the child joins the accept queue directly (inet_csk_reqsk_queue_add).
      this.sendSynAck(req, false, fo.synAckCookie);
      this.acceptQueue.push(fo.child);
      this.host.wakeListener(this);
      return undefined;
    }
    this.addRequest(req);
    this.sendSynAck(req, false, fo.synAckCookie);
    this.ctx.timers.arm(req.timer, this.ctx.now() + TCP_TIMEOUT_INIT);
    return undefined;
  }

  /** FastOpenListener: the child of tcp_fastopen_create_child (syn_recv_sock). */
  makeFastOpenChild(req: RequestSock, syn: Segment): Connection {
    return this.host.createFastOpenChild(this, req, syn);
  }

  /**
   * SYN cookies (RFC 4987 §3.6, Linux's cookie_v4_init_sequence): the ISN
   * carries a keyed hash of the 4-tuple, the peer's ISN and a 64-second
   * counter, with the MSS class in its low two bits. Only the MSS survives
   * (Linux also keeps wscale/SACK inside the timestamp; this stack does not).
   */
  private cookie(seg: Segment, counter: number, mssIndex: number): number {
    const h = this.host.hash(this.ctx.addresses.digest(seg.src) ^ counter, (seg.sport << 16) | seg.dport, (seg.seq - (seg.flags & TCP_SYN ? 0 : 1)) >>> 0);
    return ((h & ~3) | mssIndex) >>> 0;
  }

  private sendCookieSynAck(seg: Segment): void {
    const peerMss = seg.options.mss > 0 ? seg.options.mss : 536;
    let index = 0;
    for (let i = COOKIE_MSS.length - 1; i >= 0; i--) {
      if (COOKIE_MSS[i]! <= peerMss) {
        index = i;
        break;
      }
    }
    const iss = this.cookie(seg, Math.floor(this.ctx.now() / COOKIE_PERIOD), index);
    this.lastCookieTime = this.ctx.now();
    this.ctx.counters.TcpExtSyncookiesSent++;
    const mss = this.advMssTo(seg.src);
    sendMinisockSegment(
      this.ctx,
      { ...this.endsOf(seg.dst, seg.src, seg.sport), tos: this.tosTo(seg.src) },
      { seq: iss, ack: seqAdd(seg.seq, 1), flags: TCP_SYN | TCP_ACK, window: Math.min(MAX_WINDOW_FIELD, this.initialWindow(mss, false, seg.src).rcvWnd) },
      NO_TIMESTAMPS,
      { mss },
    );
  }

  /**
   * tcp_make_synack: the MSS we offer is the route's (dst_metric_advmss:
   * its advmss metric, else from its path MTU, lower toward a destination
   * with a learnt one), at most TCP_MAXSEG (tcp_mss_clamp).
   */
  private advMssTo(remote: number): number {
    return Math.min(this.ctx.route.advMss(remote, this.ctx.now()), this.userMss || Infinity);
  }

  /** The TOS byte of a SYN-ACK to `remote`: IP_TOS over IPv4, IPV6_TCLASS over IPv6. */
  private tosTo(remote: number): number {
    return remote >= IPV6_HANDLE_BASE ? this.tclass : this.tos;
  }

  private endsOf(local: number, remote: number, remotePort: number, flowLabel?: number): MinisockEnds {
    return { local, localPort: this.port, remote, remotePort, flowLabel };
  }

  /** A request joins the SYN queue, holding its addresses (stack/address.ts) until it leaves. */
  private addRequest(req: RequestSock): void {
    this.synQueue.set(req.remote, req.remotePort, this.port, req);
    this.ctx.addresses.hold(req.local);
    this.ctx.addresses.hold(req.remote);
  }

  /** A request leaves the SYN queue (a child made, dropped, timed out, reset). */
  private removeRequest(req: RequestSock): void {
    if (this.synQueue.get(req.remote, req.remotePort, this.port) !== req) return;
    this.synQueue.delete(req.remote, req.remotePort, this.port);
    this.ctx.addresses.release(req.local);
    this.ctx.addresses.release(req.remote);
  }

  /** cookie_v4_check: a valid cookie ACK becomes a child without a request sock ever existing. */
  private cookieCheck(seg: Segment): DropReason | undefined | 'invalid' {
    const iss = seqAdd(seg.ack, -1);
    const index = iss & 3;
    const now = Math.floor(this.ctx.now() / COOKIE_PERIOD);
    let valid = false;
    for (let age = 0; age <= MAX_SYNCOOKIE_AGE && !valid; age++) valid = this.cookie(seg, now - age, index) === iss;
    const c = this.ctx.counters;
    if (!valid) {
      c.TcpExtSyncookiesFailed++;
      return 'invalid';
    }
    c.TcpExtSyncookiesRecv++;
    if (this.acceptQueue.length > this.backlog) {
      // A cookie ACK that overflows is dropped silently, whatever tcp_abort_on_overflow says.
      c.TcpExtListenOverflows++;
      c.TcpExtListenDrops++;
      return 'TCP_LISTEN_OVERFLOW';
    }
    const req = new RequestSock(
      {
        local: seg.dst,
        remote: seg.src,
        remotePort: seg.sport,
        irs: seqAdd(seg.seq, -1),
        iss,
        peerMss: COOKIE_MSS[index]!,
        sndWscale: 0,
        wscaleOk: false,
        sackOk: false,
        ...NO_TIMESTAMPS,
        ...requestWindow(this.initialWindow(this.advMssTo(seg.src), false, seg.src)),
      },
      () => undefined,
    );
    req.retrans = 1; // no RTT sample from a cookie
    const child = this.host.createChild(this, req, seg);
    this.acceptQueue.push(child);
    this.host.wakeListener(this);
    if (seg.payload.length > 0 || seg.flags & TCP_FIN) return connectionInput(child, seg);
    return undefined;
  }

  /**
   * SYN-ACK: options echo what the SYN offered, window unscaled, IP ID 0 (no
   * full socket yet); it acknowledges the request's rcv_nxt (past a Fast
   * Open SYN's data). A Fast Open cookie goes last (tcp_synack_options),
   * only in the first one: tcp_rtx_synack passes no foc.
   */
  sendSynAck(req: RequestSock, again = false, cookie?: { cookie: Uint8Array; exp: boolean }): void {
    const o: Omit<TcpOptionsToWrite, 'ts'> = { mss: this.advMssTo(req.remote) };
    if (req.sackOk) o.sackPermitted = true;
    if (req.wscaleOk) o.wscale = req.rcvWscale;
    if (cookie !== undefined) o.fastOpen = cookie;
    req.synAckSentAt = this.ctx.now();
    sendMinisockSegment(
      this.ctx,
      { ...this.endsOf(req.local, req.remote, req.remotePort, req.flowLabel), tos: this.tosTo(req.remote) },
      { seq: req.iss, ack: req.rcvNxt, flags: TCP_SYN | TCP_ACK | (req.ecnOk ? TCP_ECE : 0), window: synAckWindow(req) },
      req,
      o,
      again ? 'synack' : undefined,
    );
  }

  /**
   * tcp_req_err: an ICMP error about a request's SYN-ACK. A quoted sequence
   * number other than the SYN-ACK's is ignored (TcpExtOutOfWindowIcmps); a
   * fatal one (isRequestFatal) drops the request silently, as POSIX wants
   * no network error from accept() (ListenDrops); the rest, "fragmentation
   * needed" among them, change nothing. Nothing for an unknown 4-tuple
   * (the listener itself ignores ICMP errors).
   */
  requestIcmpError(remote: number, remotePort: number, seq: number, fatal: boolean): void {
    const req = this.synQueue.get(remote, remotePort, this.port);
    if (req === undefined) return;
    if (seq !== req.iss) {
      this.ctx.counters.TcpExtOutOfWindowIcmps++;
      return;
    }
    if (!fatal) return;
    this.removeRequest(req);
    this.ctx.timers.cancel(req.timer);
    this.ctx.counters.TcpExtListenDrops++;
  }

  /**
   * reqsk_timer_handler: SYN-ACK at 1, 3, 7, 15, 31 s; dropped silently at
   * 63 s. syn_ack_recalc under TCP_DEFER_ACCEPT: a request whose bare ACK
   * came (acked) lives until both the retries and the deferral are used up,
   * and gets no SYN-ACK while it waits for data, except the last one before
   * the deferral ends, a last chance for the peer to send data or an ACK.
   */
  private onRequestTimer(req: RequestSock): void {
    this.ctx.trace?.({ kind: 'tcp-timer', t: this.ctx.now(), conn: `${this.port}-${req.remotePort}`, timer: 'synack', action: 'fire' });
    this.ctx.counters.TcpExtTCPTimeouts++;
    const max = this.ctx.sysctl.tcp_synack_retries;
    const defer = this.deferAccept;
    const expire = req.timeouts >= max && (defer === 0 || !req.acked || req.timeouts >= defer);
    if (expire) {
      this.removeRequest(req);
      return;
    }
    const resend = defer === 0 || !req.acked || req.timeouts >= defer - 1;
    req.timeouts++;
    if (resend) this.retransmitSynAck(req);
    else this.armRequestTimer(req);
  }

  /** inet_rtx_syn_ack, then the timer re-armed from now by the expiry count (reqsk_timeout). */
  private retransmitSynAck(req: RequestSock): void {
    this.rtxSynAck(req);
    this.armRequestTimer(req);
  }

  /** tcp_rtx_synack: the SYN-ACK again (a Fast Open child's timer calls it too). */
  rtxSynAck(req: RequestSock): void {
    const c = this.ctx.counters;
    req.retrans++;
    c.TcpExtTCPSynRetrans++;
    c.TcpRetransSegs++;
    // tcp_rtx_synack draws the request a new txhash: a new flow label each time (measured on 6.18).
    if (req.flowLabel !== undefined) req.flowLabel = newFlowLabel(this.ctx.random);
    this.sendSynAck(req, true);
  }

  /** reqsk_timeout: the initial timeout doubled per expiry, at most TCP_RTO_MAX. */
  private armRequestTimer(req: RequestSock): void {
    this.ctx.timers.arm(req.timer, this.ctx.now() + Math.min(TCP_TIMEOUT_INIT * 2 ** req.timeouts, TCP_RTO_MAX));
  }

  /**
   * tcp_check_req, in its order. With `child`, for a Fast Open child still
   * holding its request (tcp_rcv_state_process calls it with fastopen
   * true): the ACK number is left to tcp_ack, a resent SYN is answered
   * without touching the child's timer, a SYN in the window is reset but
   * leaves the child, a RST at RCV.NXT resets the child
   * (reqsk_fastopen_remove, tcp_reset), and an acceptable ACK is the
   * child's to process (CHILD_PROCESSES).
   */
  checkRequest(req: RequestSock, seg: Segment, child?: Connection): DropReason | undefined | typeof CHILD_PROCESSES {
    const f = seg.flags;
    const c = this.ctx.counters;
    let flags = f;
    const o = seg.options;
    const sawTs = o.tsPresent && this.ctx.sysctl.tcp_timestamps !== 0;
    const pawsReject = sawTs && requestPawsReject(req, o.tsVal, (f & TCP_RST) !== 0);
    // 1. A retransmitted SYN: answer with the SYN-ACK again (rate-limited).
    // tcp_check_req looks at RST, SYN and ACK only (flg): ECE and CWR, an
    // ECN-setup SYN after a plain one, do not matter.
    if ((f & (TCP_RST | TCP_SYN | TCP_ACK)) === TCP_SYN && seg.seq === req.irs && !pawsReject) {
      if (this.oowLimited(req)) {
        c.TcpExtTCPACKSkippedSynRecv++;
        return 'TCP_INVALID_SYN';
      }
      if (child !== undefined) this.rtxSynAck(req);
      else this.retransmitSynAck(req);
      return undefined;
    }
    // 2. An ACK that does not acknowledge our SYN-ACK: the listener resets it; the request survives.
    if (child === undefined && f & TCP_ACK && seg.ack !== seqAdd(req.iss, 1)) {
      replyReset(this.ctx, seg, 'requestBadAck');
      return 'TCP_FLAGS';
    }
    // 3. Rejected by PAWS or outside the window: ACK it (unless RST), drop.
    // tcp_oow_rate_limited: a segment carrying data or FIN without SYN is
    // always answered and leaves the clock alone (no ACK loop is possible);
    // anything else once per tcp_invalid_ratelimit.
    if (pawsReject || !inRequestWindow(req, seg)) {
      if (pawsReject) c.TcpExtPAWSEstab++;
      const reason = pawsReject ? 'TCP_RFC7323_PAWS' : 'TCP_INVALID_SEQUENCE';
      if (f & TCP_RST) return reason;
      if ((seg.payload.length > 0 || f & TCP_FIN) && !(f & TCP_SYN)) this.sendRequestAck(req, child);
      else if (this.oowLimited(req)) c.TcpExtTCPACKSkippedSynRecv++;
      else this.sendRequestAck(req, child);
      return reason;
    }
    // In the window and PAWS is happy: remember the timestamp to echo.
    if (sawTs && !seqGt(seg.seq, req.rcvNxt)) req.tsRecent = o.tsVal;
    // 4. At the initial sequence number the SYN bit lies outside the window: ignore it.
    if (seg.seq === req.irs) flags &= ~TCP_SYN;
    // 5. A RST in the window but not exactly at RCV.NXT draws a challenge ACK
    // (RFC 5961 §3.2) on the request's out-of-window clock; the request lives.
    // Measured on 6.18: test/scripts/request-rst-in-window.pkt.
    if (flags & TCP_RST && seg.seq !== req.rcvNxt) {
      if (this.oowLimited(req)) {
        c.TcpExtTCPACKSkippedChallenge++;
        return 'TCP_RESET';
      }
      c.TcpExtTCPChallengeACK++;
      this.ctx.trace?.({ kind: 'tcp-challenge-ack', t: this.ctx.now(), conn: `${this.port}-${req.remotePort}`, why: 'rst' });
      this.sendRequestAck(req, child);
      return 'TCP_RESET';
    }
    // 6. A RST at RCV.NXT or an in-window SYN ends the request.
    if (flags & (TCP_RST | TCP_SYN)) {
      c.TcpAttemptFails++;
      if (child !== undefined) {
        // embryonic_reset for Fast Open: a bad SYN is reset without harming
        // the child (an off-path SYN must not kill a legitimate connection);
        // a valid RST ends it (ECONNRESET for its reader).
        if (!(flags & TCP_RST)) {
          replyReset(this.ctx, seg, 'fastOpenChildSyn');
          return 'TCP_INVALID_SYN';
        }
        fastOpenRemove(child, true);
        resetByPeer(child);
        return 'TCP_RESET';
      }
      this.removeRequest(req);
      this.ctx.timers.cancel(req.timer);
      if (flags & TCP_SYN) {
        replyReset(this.ctx, seg, 'requestSyn');
        return 'TCP_INVALID_SYN';
      }
      c.TcpExtEmbryonicRsts++;
      return 'TCP_RESET';
    }
    // 7. No ACK: nothing to do.
    if (!(flags & TCP_ACK)) return 'TCP_FLAGS';
    // For Fast Open the child does the rest (tcp_rcv_state_process goes on to tcp_ack).
    if (child !== undefined) return CHILD_PROCESSES;
    // TCP_DEFER_ACCEPT: a bare ACK (nothing after the SYN) is dropped while
    // the deferral lasts; the request remembers it was acked (syn_ack_recalc).
    if (req.timeouts < this.deferAccept && seg.payload.length === 0 && !(f & TCP_FIN)) {
      req.acked = true;
      c.TcpExtTCPDeferAcceptDrop++;
      return 'NOT_SPECIFIED';
    }
    // 8. The third ACK: a child, if the accept queue has room.
    if (this.acceptQueue.length > this.backlog) {
      c.TcpExtListenOverflows++;
      c.TcpExtListenDrops++;
      if (this.ctx.sysctl.tcp_abort_on_overflow !== 0) {
        this.removeRequest(req);
        this.ctx.timers.cancel(req.timer);
        replyReset(this.ctx, seg, 'acceptOverflow');
        return 'TCP_LISTEN_OVERFLOW';
      }
      req.acked = true;
      return 'TCP_LISTEN_OVERFLOW';
    }
    this.removeRequest(req);
    this.ctx.timers.cancel(req.timer);
    const made = this.host.createChild(this, req, seg);
    this.acceptQueue.push(made);
    this.host.wakeListener(this);
    // The third ACK may carry data or a FIN (tcp_child_process).
    if (seg.payload.length > 0 || f & TCP_FIN) return connectionInput(made, seg);
    return undefined;
  }

  private oowLimited(req: RequestSock): boolean {
    const now = this.ctx.now();
    if (now - req.lastOowAck < this.ctx.sysctl.tcp_invalid_ratelimit) return true;
    req.lastOowAck = now;
    return false;
  }

  /** tcp_v4_reqsk_send_ack: SND.NXT/RCV.NXT of the request (a Fast Open child's own SND.NXT), our scaled window. */
  private sendRequestAck(req: RequestSock, child?: Connection): void {
    sendMinisockSegment(
      this.ctx,
      this.endsOf(req.local, req.remote, req.remotePort, req.flowLabel),
      { seq: child?.sndNxt ?? seqAdd(req.iss, 1), ack: req.rcvNxt, flags: TCP_ACK, window: synAckWindow(req) >>> req.rcvWscale },
      req,
    );
  }

  /** A host crash: requests and queued children vanish silently; the children are returned. */
  forget(): Connection[] {
    this.closed = true;
    for (const req of [...this.synQueue.values()]) {
      this.ctx.timers.cancel(req.timer);
      this.removeRequest(req);
    }
    return this.acceptQueue.splice(0);
  }

  /** Closing the listener: pending requests vanish; queued children are reset (inet_csk_listen_stop). */
  close(): void {
    this.closed = true;
    for (const req of [...this.synQueue.values()]) {
      this.ctx.timers.cancel(req.timer);
      this.removeRequest(req);
    }
    for (const child of this.acceptQueue.splice(0)) {
      child.orphan = true;
      child.owner = undefined;
      if (child.state !== 'CLOSED') {
        child.setState('CLOSED');
        abortWithReset(child, 'listenerClose');
      } else {
        // Reset while it waited: nobody will accept it now (its addresses go).
        child.hooks.released(child);
      }
    }
  }
}
