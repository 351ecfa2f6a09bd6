/**
 * TCP's user-call API: the socket as TCP sees it (struct sock with its
 * tcp_sock), and what each call does to it, with Linux's errno semantics:
 * bind (inet_bind, inet_csk_get_port), listen (inet_listen,
 * inet_csk_listen_start), accept (inet_csk_accept), connect
 * (tcp_v4_connect, sk_stream_wait_connect), recvmsg/sendmsg (tcp_recvmsg,
 * tcp_sendmsg), setsockopt/getsockopt (sk_setsockopt, do_tcp_setsockopt),
 * shutdown (inet_shutdown, tcp_shutdown), close (tcp_close) and abort
 * (tcp_abort, what SOCK_DESTROY and `ss -K` call). Failures come back as
 * errno values, never thrown: the socket layer above (stack/socket) checks
 * arguments and turns them into the errors its callers see.
 */
import { TCP_FASTOPEN_KEY_LENGTH } from './fastopen-cookie.ts';
import { FastOpenQueue, fastOpenInitKeyOnce, fastOpenKeysOf, fastOpenQueueTune, TFO_SERVER_ENABLE, TFO_SERVER_WO_SOCKOPT1 } from './fastopen-server.ts';
import { IPV6_HANDLE_BASE, socketAddressText } from '../address.ts';
import { switchCongestionControl } from './congestion/select.ts';
import { isCongestionControlName, type CongestionControlName } from './congestion/types.ts';
import { Connection } from './connection.ts';
import { NET_CORE_RMEM_MAX, NET_CORE_WMEM_MAX, TCP_DEFAULT_MSS, TCP_RTO_MAX, TCP_TIMEOUT_INIT } from './constants.ts';
import { IP_PMTUDISC_DONT, IP_PMTUDISC_OMIT, IP_PMTUDISC_WANT } from './pmtu.ts';
import { tcpAbort, tcpDone } from './endings.ts';
import { connectionInfo, stateOnlyInfo } from './info.ts';
import { connectionTcpInfo, unconnectedTcpInfo, type TcpInfoStruct } from './tcp-info-struct.ts';
import { Listener } from './listener.ts';
import { initialNonagle, setCork, setNodelay } from './nagle.ts';
import { connectPrepare, tcpConnect } from './output.ts';
import type { SendFlags } from './send-sizing.ts';
import { TFO_CLIENT_ENABLE, deferConnect, type FastOpenRequest } from './fastopen-client.ts';
import { freeRoom, isWriteable, writeSpace } from './sndbuf.ts';
import type { PortOwner } from './tables.ts';
import type { TcpLayer } from './tcp.ts';
import * as timers from './timer-arming.ts';
import {
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLPRI,
  POLLOUT,
  POLLRDHUP,
  type ShutdownHow,
  type TcpErrno,
  type TcpInfo,
  type TcpStateName,
  type SocketOwner,
  type Wakeable,
} from './types.ts';
import { closeConnection, closeSending, recvmsg, recvmsgUrgent, sendmsg } from './user-calls.ts';
import { atMark, pollTargetExtra, recvUrgent, urgentReadable } from './urgent.ts';
import { readSock } from './read-sock.ts';
import { disconnect } from './disconnect.ts';
import { ErrorQueue, type ErrorQueueMessage } from './errqueue.ts';
import { seqAdd } from './seq.ts';
import { epollinReady, inqHint, peek, setQuickAck, setRcvLowat, siocInq } from './recv-options.ts';
import { MAX_SCHEDULE_TIMEOUT, timeoutFromTimeval, timeoutUsecs, timevalBytes, timevalFromBytes, timevalFromTimeout } from './sock-timeout.ts';

const EMPTY = new Uint8Array(0);

/** The socket options TCP implements, with the value type each takes. */
export interface TcpSockOptions {
  SO_REUSEADDR: boolean;
  SO_KEEPALIVE: boolean;
  /** SO_LINGER: on with 0 seconds makes close() reset. */
  SO_LINGER: { on: boolean; seconds: number };
  /** SO_RCVBUF / SO_SNDBUF: set takes the bytes asked for, get returns what the socket uses (doubled, as Linux). */
  SO_RCVBUF: number;
  SO_SNDBUF: number;
  TCP_NODELAY: boolean;
  /** TCP_CORK: sub-MSS tails wait for more, at most until the probe timer (nagle.ts). */
  TCP_CORK: boolean;
  /** Seconds of idleness before the first keepalive probe, between probes, and probes before giving up. */
  TCP_KEEPIDLE: number;
  TCP_KEEPINTVL: number;
  TCP_KEEPCNT: number;
  /** Milliseconds (0 = off). */
  TCP_USER_TIMEOUT: number;
  /** Seconds an orphan stays in FIN_WAIT2 (0 = tcp_fin_timeout; negative: close() in FIN_WAIT2 resets). */
  TCP_LINGER2: number;
  /** SYN retransmissions before connect() gives up (0 = tcp_syn_retries). */
  TCP_SYNCNT: number;
  /** The congestion control by name ("cubic", "reno"); unset: net.ipv4.tcp_congestion_control. */
  TCP_CONGESTION: string;
  /**
   * TCP_MAXSEG: set (88..32767, 0: none) before connect or listen, it caps
   * the MSS we announce and the peer's; get: the MSS in use once connected,
   * else what was set, else 536 (do_tcp_getsockopt).
   */
  TCP_MAXSEG: number;
  /** TCP_NOTSENT_LOWAT: writable only while fewer unsent bytes are queued (0: net.ipv4.tcp_notsent_lowat; sndbuf.ts). */
  TCP_NOTSENT_LOWAT: number;
  /** IP_TOS and IPV6_TCLASS (an IPv6 socket only): the TOS byte of IPv4 and IPv6 packets; the ECN bits stay the stack's. */
  IP_TOS: number;
  IPV6_TCLASS: number;
  /** IP_MTU_DISCOVER: IP_PMTUDISC_DONT (0), WANT (1, the default), DO, PROBE, INTERFACE, OMIT (pmtu.ts). */
  IP_MTU_DISCOVER: number;
  /** SO_RCVLOWAT: bytes a reader waits for and poll() wants before POLLIN (1 by default). */
  SO_RCVLOWAT: number;
  /** TCP_INQ: recvmsg reports the bytes left to read (TCP_CM_INQ). */
  TCP_INQ: boolean;
  /** TCP_QUICKACK: set 0 to delay ACKs (ping-pong mode), nonzero to leave it; reads 1 unless in ping-pong mode. */
  TCP_QUICKACK: number;
  /** TCP_DEFER_ACCEPT in seconds: a listener keeps a connection whose ACK came without data as a request that long. */
  TCP_DEFER_ACCEPT: number;
  /** SO_ZEROCOPY (0 or 1, else EINVAL): MSG_ZEROCOPY writes get completions on the error queue (errqueue.ts). */
  SO_ZEROCOPY: number;
  /** SO_TIMESTAMPING: the SOF_TIMESTAMPING_* flags (sk_tsflags); transmit timestamps go to the error queue. */
  SO_TIMESTAMPING: number;
  /** IPV6_MTU_DISCOVER (an IPv6 socket only): the same values; INTERFACE and OMIT ignore Packet Too Big (pmtu.ts). */
  IPV6_MTU_DISCOVER: number;
  /** 1: connect() holds the SYN back for the first write when it can carry data (Fast Open; EOPNOTSUPP without net.ipv4.tcp_fastopen's client bit). */
  TCP_FASTOPEN_CONNECT: number;
  /** 1: SYN data without a cookie (as net.ipv4.tcp_fastopen's 0x4, for this socket). */
  TCP_FASTOPEN_NO_COOKIE: number;
  /** SO_OOBINLINE (SOCK_URGINLINE): the urgent byte stays in the stream; recv(MSG_OOB) is EINVAL (urgent.ts). */
  SO_OOBINLINE: boolean;
  /**
   * IP_FREEBIND / IPV6_FREEBIND (inet_sk(sk)->freebind): bind() to an address
   * not (yet) configured is allowed. Kept and read back; the stack's bind()
   * refuses no address as non-local, so it changes nothing else here.
   */
  IP_FREEBIND: boolean;
  IPV6_FREEBIND: boolean;
  /**
   * SO_RCVTIMEO / SO_SNDTIMEO: the struct timeval's bytes as the caller
   * passes them (optlen of them; set: at least 16, sock-timeout.ts), and
   * get: the 16 bytes of the timeout in effect.
   */
  SO_RCVTIMEO: Uint8Array;
  SO_SNDTIMEO: Uint8Array;
}

export type TcpSockOption = keyof TcpSockOptions;

/** sock_setsockopt's SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF, and the largest value it doubles. */
const SOCK_MIN_RCVBUF = 2304;
const SOCK_MIN_SNDBUF = 4608;
const SOCK_BUF_MAX = 0x7fffffff / 2;
/** do_tcp_setsockopt's bounds: MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT, MAX_TCP_SYNCNT. */
const MAX_TCP_KEEPIDLE = 32767;
const MAX_TCP_KEEPINTVL = 32767;
const MAX_TCP_KEEPCNT = 127;
const MAX_TCP_SYNCNT = 127;
/** do_tcp_setsockopt's TCP_MAXSEG bounds: TCP_MIN_MSS, MAX_TCP_WINDOW. */
const TCP_MIN_MSS = 88;
const MAX_TCP_WINDOW = 32767;
/** INET_ECN_MASK: the two ECN bits of the TOS byte, which stay the stack's on a TCP socket. */
const INET_ECN_MASK = 3;

interface BoundPort extends PortOwner {
  port: number;
  autobound: boolean;
}

/** Option values as the socket keeps them; unset ones fall back to the sysctls. */
interface OptionValues {
  reuseAddress: boolean;
  nodelay: boolean;
  cork: boolean;
  keepalive: boolean;
  keepIdle: number | undefined;
  keepIntvl: number | undefined;
  keepCnt: number | undefined;
  lingerOn: boolean;
  lingerSeconds: number;
  userTimeout: number;
  rcvBuf: number | undefined;
  sndBuf: number | undefined;
  linger2: number | undefined;
  synRetries: number | undefined;
  congestion: CongestionControlName | undefined;
  userMss: number;
  notsentLowat: number;
  tos: number;
  tclass: number;
  pmtudisc: number;
  /** sk_rcvlowat and tp->recvmsg_inq (children inherit them: sk_clone_lock copies the socket). */
  rcvLowat: number;
  inq: boolean;
  /** SOCK_ZEROCOPY and sk_tsflags, which children inherit too. */
  zerocopy: boolean;
  tsflags: number;
  pmtudisc6: number;
  fastOpenConnect: boolean;
  fastOpenNoCookie: boolean;
  /** SOCK_URGINLINE and inet->freebind, which children inherit (sk_clone_lock). */
  oobInline: boolean;
  freebind: boolean;
  /** sk_rcvtimeo and sk_sndtimeo in jiffies (sock-timeout.ts); children inherit them (sk_clone_lock). */
  rcvTimeo: bigint;
  sndTimeo: bigint;
}

function defaultOptions(): OptionValues {
  return {
    reuseAddress: false,
    nodelay: false,
    cork: false,
    keepalive: false,
    keepIdle: undefined,
    keepIntvl: undefined,
    keepCnt: undefined,
    lingerOn: false,
    lingerSeconds: 0,
    userTimeout: 0,
    rcvBuf: undefined,
    sndBuf: undefined,
    linger2: undefined,
    synRetries: undefined,
    congestion: undefined,
    userMss: 0,
    notsentLowat: 0,
    tos: 0,
    tclass: 0,
    pmtudisc: IP_PMTUDISC_WANT,
    rcvLowat: 1,
    inq: false,
    zerocopy: false,
    tsflags: 0,
    pmtudisc6: IP_PMTUDISC_WANT,
    fastOpenConnect: false,
    fastOpenNoCookie: false,
    oobInline: false,
    freebind: false,
    rcvTimeo: MAX_SCHEDULE_TIMEOUT,
    sndTimeo: MAX_SCHEDULE_TIMEOUT,
  };
}

const DEFAULT_OPTIONS: OptionValues = Object.freeze(defaultOptions());

/** secs_to_retrans: TCP_DEFER_ACCEPT's seconds as the SYN-ACK retransmissions that cover them (backoff from `timeout`, capped at `rtoMax`). */
function secsToRetrans(seconds: number, timeout: number, rtoMax: number): number {
  if (seconds <= 0) return 0;
  let res = 1;
  let period = timeout;
  while (seconds > period && res < 255) {
    res++;
    timeout = Math.min(timeout * 2, rtoMax);
    period += timeout;
  }
  return res;
}

/** retrans_to_secs: the seconds `retrans` SYN-ACK retransmissions span (what getsockopt(TCP_DEFER_ACCEPT) reads). */
function retransToSecs(retrans: number, timeout: number, rtoMax: number): number {
  if (retrans <= 0) return 0;
  let period = timeout;
  while (--retrans > 0) {
    timeout = Math.min(timeout * 2, rtoMax);
    period += timeout;
  }
  return period;
}

const synchronized = (state: TcpStateName): boolean => state !== 'CLOSED' && state !== 'SYN_SENT' && state !== 'LISTEN';

export class TcpSock implements SocketOwner {
  /**
   * Hears after each batch in which readiness may have changed (never from
   * inside segment processing): the endpoint itself, not a closure, which
   * would cost every socket a function and its context.
   */
  events: Wakeable | undefined;
  private conn: Connection | undefined;
  private listener: Listener | undefined;
  private bound: BoundPort | undefined;
  /** Shared (copy on write) with the listener that accepted this socket, or with every new socket (DEFAULT_OPTIONS). */
  private opts: OptionValues = DEFAULT_OPTIONS;
  private optsShared = true;

  /** The Fast Open queue (icsk_accept_queue.fastopenq: TCP_FASTOPEN, TCP_FASTOPEN_KEY); made when first needed. */
  private fastOpen: FastOpenQueue | undefined;

  /** IPV6_V6ONLY (net.ipv6.bindv6only, 0, by default): an IPv6 socket that takes no IPv4. */
  private v6only = false;

  /** sk_err left by connect(AF_UNSPEC) once the connection is gone (tcp_disconnect). */
  private sockError: TcpErrno | undefined;
  /** TCP_QUICKACK 0 before there is a connection: icsk_ack's ping-pong mode, which connect() keeps. */
  private pingpong = false;
  /** TCP_DEFER_ACCEPT as SYN-ACK retransmissions (icsk_accept_queue.rskq_defer_accept; not inherited by children). */
  private deferAccept = 0;
  /** sk_error_queue, made when MSG_ZEROCOPY or SO_TIMESTAMPING first needs it (errqueue.ts). */
  private errq: ErrorQueue | undefined;

  constructor(
    private readonly layer: TcpLayer,
    /** An AF_INET6 socket: IPv6 peers, and IPv4 ones v4-mapped unless v6-only (RFC 4038 §4.2). */
    readonly ipv6 = false,
  ) {}

  wakeQueued = false;

  deliverEvent(): void {
    this.events?.deliverEvent();
  }

  get state(): TcpStateName {
    if (this.listener) return 'LISTEN';
    return this.conn?.state ?? 'CLOSED';
  }

  /** The local address (0 while unbound or bound to the wildcard) and port (0 while unbound). */
  get localAddress(): number {
    return this.conn ? this.conn.local : (this.bound?.bindAddress ?? 0);
  }

  /**
   * The local and remote addresses as text, as getsockname/getpeername
   * show them: an IPv6 socket's IPv4 ones v4-mapped ('::ffff:a.b.c.d', the
   * wildcard '::'); '' for no peer.
   */
  get localAddressText(): string {
    const c = this.conn;
    if (c?.addressText !== undefined) return c.addressText.local;
    return socketAddressText(this.layer.ctx.addresses, this.localAddress, this.ipv6);
  }

  get remoteAddressText(): string {
    const c = this.conn;
    if (c === undefined) return '';
    if (c.addressText !== undefined) return c.addressText.remote;
    return socketAddressText(this.layer.ctx.addresses, c.remote, this.ipv6);
  }

  /** The handle of an IPv6 address given by the application (stack/address.ts): for this round, until a connection holds it. */
  internAddress(bytes: Uint8Array): number {
    return this.layer.ctx.addresses.intern(bytes, 0);
  }

  /** IPV6_V6ONLY: settable on an IPv6 socket before it is bound (inet6's do_ipv6_setsockopt: EINVAL once bound). */
  setV6Only(on: boolean): TcpErrno | undefined {
    if (!this.ipv6) return 'ENOPROTOOPT';
    if (this.bound !== undefined || this.conn !== undefined || this.listener !== undefined) return 'EINVAL';
    this.v6only = on;
    return undefined;
  }

  get v6Only(): boolean {
    return this.v6only;
  }

  get localPort(): number {
    return this.conn?.localPort ?? this.bound?.port ?? 0;
  }

  /** The peer, once connect() or accept() gave the socket one. */
  get remoteAddress(): number | undefined {
    return this.conn?.remote;
  }

  get remotePort(): number {
    return this.conn?.remotePort ?? 0;
  }

  // ---------------------------------------------------------------------------
  // Binding and opening

  /**
   * inet_bind / inet6_bind: address 0 is the wildcard (:: for an IPv6
   * socket), port 0 an ephemeral port (inet_csk_find_open_port). An IPv6
   * socket takes our IPv6 address, or our IPv4 one v4-mapped (EINVAL when
   * v6-only); an IPv4 socket only our IPv4 address.
   */
  bind(address: number, port: number): TcpErrno | undefined {
    if (this.bound || this.conn || this.listener) return 'EINVAL';
    const ctx = this.layer.ctx;
    if (address >= IPV6_HANDLE_BASE) {
      if (!this.ipv6) return 'EINVAL';
      if (address !== ctx.address6) return 'EADDRNOTAVAIL';
    } else if (address !== 0) {
      if (this.ipv6 && this.v6only) return 'EINVAL';
      if (address !== ctx.address) return 'EADDRNOTAVAIL';
    }
    const candidate: BoundPort = { bindAddress: address, ipv6: this.ipv6, v6only: this.v6only, reuseAddress: this.opts.reuseAddress, listening: false, port, autobound: false };
    if (port === 0) {
      const picked = this.layer.pickBindPort(candidate);
      if (picked === undefined) return 'EADDRINUSE';
      candidate.port = picked;
    } else if (this.layer.binds.conflicts(port, candidate)) {
      return 'EADDRINUSE';
    }
    this.layer.binds.add(candidate.port, candidate);
    this.bound = candidate;
    return undefined;
  }

  /** inet_listen: backlog as min(backlog, somaxconn); listening again only changes the backlog. */
  listen(backlog: number): TcpErrno | undefined {
    const somaxconn = this.layer.ctx.sysctl.somaxconn;
    // __sys_listen: an unsigned comparison, so a negative backlog means somaxconn.
    const effective = backlog < 0 || backlog > somaxconn ? somaxconn : Math.floor(backlog);
    if (this.listener) {
      this.listener.backlog = effective;
      return undefined;
    }
    if (this.conn) return 'EINVAL';
    if (!this.bound) {
      const error = this.bind(0, 0);
      if (error !== undefined) return error;
    }
    const b = this.bound!;
    // inet_csk_listen_start re-checks the port against everyone else.
    b.listening = true;
    if (this.layer.binds.conflicts(b.port, b)) {
      b.listening = false;
      return 'EADDRINUSE';
    }
    const l = new Listener(this.layer, b.bindAddress, b.port, effective, b.reuseAddress, this.ipv6, this.v6only);
    l.owner = this;
    l.userMss = this.opts.userMss;
    l.tos = this.opts.tos;
    l.tclass = this.opts.tclass;
    l.urgInline = this.opts.oobInline;
    l.deferAccept = this.deferAccept;
    // inet_listen: under TFO_SERVER_WO_SOCKOPT1 (and the server bit) a listener
    // without TCP_FASTOPEN gets a Fast Open queue of its backlog; the queue
    // starts empty (reqsk_queue_alloc).
    const q = (this.fastOpen ??= new FastOpenQueue());
    const tfo = this.layer.ctx.sysctl.tcp_fastopen;
    if (tfo & TFO_SERVER_WO_SOCKOPT1 && tfo & TFO_SERVER_ENABLE && q.maxQlen === 0) {
      fastOpenQueueTune(q, effective, somaxconn);
      fastOpenInitKeyOnce(this.layer.ctx);
    }
    q.startListening();
    // tcp_fastopen_no_cookie reads the listener's tp->fastopen_no_cookie.
    q.noCookie = this.opts.fastOpenNoCookie;
    l.fastOpen = q;
    if (this.opts.rcvBuf !== undefined) {
      l.rcvBuf = this.opts.rcvBuf;
      l.rcvBufLocked = true;
    }
    this.listener = l;
    this.layer.listenerTable.add(b.port, l);
    return undefined;
  }

  /** inet_csk_accept: the oldest established child, or null when the queue is empty (EAGAIN). */
  accept(): TcpSock | null | TcpErrno {
    const l = this.listener;
    if (!l) return 'EINVAL';
    const child = l.acceptQueue.shift();
    if (!child) return null;
    // inet_csk_accept: a Fast Open child still in its handshake is taken (req->sk cleared).
    if (child.fastOpenRsk !== undefined) child.fastOpenRsk.childAccepted = true;
    const sock = new TcpSock(this.layer, this.ipv6);
    sock.v6only = this.v6only;
    sock.conn = child;
    child.owner = sock;
    // The child is a clone of the listener (sk_clone_lock): it carries the listener's options (shared until either changes them).
    sock.opts = this.opts;
    this.optsShared = true;
    child.nonagle = initialNonagle(this.opts.nodelay, this.opts.cork);
    sock.applyOptions();
    return sock;
  }

  /**
   * tcp_v4_connect, or tcp_v6_connect (which hands a v4-mapped peer to
   * tcp_v4_connect, ENETUNREACH on a v6-only socket): an ephemeral port
   * unless bound (__inet_hash_connect), then the SYN (tcp_connect). Our
   * address of the peer's family is the source; without one, ENETUNREACH
   * (no route).
   */
  connect(remote: number, port: number, fastOpen?: FastOpenRequest): TcpErrno | undefined {
    if (this.listener) return 'EISCONN';
    // __inet_stream_connect: SS_CONNECTING is EALREADY, but with DEFER_CONNECT "connected" (EISCONN).
    if (this.conn) return this.conn.state === 'SYN_SENT' && !this.conn.deferConnect ? 'EALREADY' : 'EISCONN';
    const layer = this.layer;
    const peerIpv6 = remote >= IPV6_HANDLE_BASE;
    if (peerIpv6 && !this.ipv6) return 'EAFNOSUPPORT';
    if (!peerIpv6 && this.ipv6 && this.v6only) return 'ENETUNREACH';
    const local = peerIpv6 ? layer.ctx.address6 : layer.ctx.address;
    if (local === undefined) return 'ENETUNREACH';
    // A socket bound to an address of the other family cannot reach this peer.
    if (this.bound !== undefined && this.bound.bindAddress !== 0 && this.bound.bindAddress !== local) return 'EINVAL';
    let b = this.bound;
    if (b === undefined) {
      const picked = layer.pickConnectPort(remote, port);
      if (picked === undefined) return 'EADDRNOTAVAIL';
      b = { bindAddress: 0, ipv6: this.ipv6, v6only: this.v6only, reuseAddress: this.opts.reuseAddress, listening: false, port: picked, autobound: true };
      layer.binds.add(picked, b);
      this.bound = b;
    } else if (layer.connections.get(remote, port, b.port) || layer.timewaits.get(remote, port, b.port)) {
      return 'EADDRNOTAVAIL';
    }
    const c = new Connection(layer.ctx, layer, local, b.port, remote, port);
    c.ipv6Socket = this.ipv6;
    c.owner = this;
    if (this.opts.rcvBuf !== undefined) {
      c.rcvBuf = this.opts.rcvBuf;
      c.rcvBufLocked = true;
    }
    this.conn = c;
    c.errorQueue = this.errq;
    c.nonagle = initialNonagle(this.opts.nodelay, this.opts.cork);
    // tcp_connect_init: TCP_MAXSEG caps the MSS we announce (tcp_mss_clamp).
    if (this.opts.userMss !== 0) c.advMss = Math.min(c.advMss, this.opts.userMss);
    this.sockError = undefined;
    this.applyOptions();
    c.pingpong = this.pingpong;
    c.deferAcceptConnect = this.deferAccept > 0;
    layer.connections.set(remote, port, b.port, c);
    c.portOwner = b; // released when the connection is done (TcpLayer.closed) or by its minisock
    c.fastOpenConnect = this.opts.fastOpenConnect;
    c.fastOpenNoCookie = this.opts.fastOpenNoCookie;
    c.fastOpenReq = fastOpen;
    connectPrepare(c, layer.isn(remote, port, b.port));
    // tcp_v4_connect: tcp_fastopen_defer_connect, else tcp_connect.
    if (!deferConnect(c)) tcpConnect(c);
    return undefined;
  }

  /** connect() held the SYN back for the first write (TCP_FASTOPEN_CONNECT with a cookie: DEFER_CONNECT). */
  get connectDeferred(): boolean {
    return this.conn?.deferConnect === true && this.conn.state === 'SYN_SENT';
  }

  /**
   * tcp_sendmsg_fastopen: sendmsg(MSG_FASTOPEN), or any write after a
   * deferred connect(): the SYN goes now, carrying as much of `data` as
   * Fast Open allows (tcp_send_syn_data), then __inet_stream_connect's
   * verdict. EOPNOTSUPP without net.ipv4.tcp_fastopen's client bit,
   * EALREADY while another request is pending or the handshake is under
   * way, the connect errors; 'connected' when the socket already is
   * (MSG_FASTOPEN is then ignored: an ordinary write). Otherwise
   * `{ copied }`: the bytes the SYN took, the handshake under way
   * (EINPROGRESS for a caller that does not wait, unless it took some).
   * `blocking`: the caller waits for the handshake with bytes still to
   * write, so the handshake's ACK waits for them (sk_write_pending).
   * `unreadable`: the caller's buffer is a bad pointer: the SYN goes as a
   * cookie request without data (tcp_send_syn_data's fallback).
   */
  sendFastOpen(data: Uint8Array, remote: number, port: number, blocking: boolean, unreadable = false, zerocopy = false): { copied: number } | 'connected' | TcpErrno {
    if ((this.layer.ctx.sysctl.tcp_fastopen & TFO_CLIENT_ENABLE) === 0) return 'EOPNOTSUPP';
    let c = this.conn;
    if (c?.fastOpenReq !== undefined) return 'EALREADY';
    const req: FastOpenRequest = { cookie: { len: 0, val: new Uint8Array(0), exp: false }, data, size: data.length, copied: 0, unreadable };
    if (c !== undefined && c.deferConnect) {
      c.fastOpenReq = req;
      if (c.state === 'SYN_SENT') tcpConnect(c);
    } else if (c === undefined) {
      const error = this.connect(remote, port, req);
      if (error !== undefined) return error;
      c = this.conn!;
    } else if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV') {
      return 'EALREADY';
    } else {
      return 'connected';
    }
    // tcp_sendmsg_locked: MSG_ZEROCOPY with SO_ZEROCOPY gives the SYN's data
    // a notification id (tcp_send_syn_data puts the uarg on syn_data), which
    // completes once that skb is acknowledged; a call whose SYN took nothing
    // gives the id back (out_err: net_zcopy_put_abort).
    if (zerocopy && this.opts.zerocopy && req.copied > 0) {
      this.errorQueue().onWrite(seqAdd(c.iss, 1), req.copied, { zerocopy: true, continued: false, tailUnsent: false, unsentAfter: false });
    }
    // The request lives only through the call (tcp_free_fastopen_req); so does DEFER_CONNECT.
    c.fastOpenReq = undefined;
    c.deferConnect = false;
    if (blocking && req.data !== undefined && c.state === 'SYN_SENT') c.writePending = 1;
    return { copied: req.copied };
  }

  /**
   * The writer that sendFastOpen was told waits gave up (SO_SNDTIMEO ran
   * out in inet_wait_for_connect, which takes its sk_write_pending back):
   * the handshake's ACK is no longer held for its data.
   */
  stopWaitingForConnect(): void {
    if (this.conn !== undefined) this.conn.writePending = 0;
  }

  // ---------------------------------------------------------------------------
  // Data

  /**
   * tcp_recvmsg: up to `max` bytes; null when nothing is there yet (EAGAIN,
   * also during the handshake); an empty array at end of stream. A FIN
   * already seen means EOF even if a RST came after it; otherwise a pending
   * error is reported once. `inPlace`: see recvmsg in user-calls.ts.
   */
  recvmsg(max: number, inPlace = false, msgPeek = false): Uint8Array | null | TcpErrno {
    const c = this.conn;
    if (!c) return this.takeSockError() ?? 'ENOTCONN';
    if (c.recvQueue.length > 0) {
      // Urgent data marked (urgent.ts): the read stops at the mark and steps over the urgent byte.
      const data = msgPeek ? peek(c, max) : c.urgData !== 0 ? recvmsgUrgent(c, max) : recvmsg(c, max, inPlace);
      // Only the urgent byte was there (stepped over, or peeked past): nothing read, as if nothing had come.
      if (data.length > 0 || max <= 0) return data;
    }
    if (c.finReceived) return EMPTY;
    if (c.pendingError !== undefined) return this.takeReportedError();
    if (c.state === 'CLOSED' || c.shutRd) return EMPTY;
    return null;
  }

  /**
   * recv(MSG_OOB) (tcp_recvmsg_locked → tcp_recv_urg): the urgent byte
   * (kept for another read with `peek`), 'eof' (0 bytes) or an errno:
   * ENOTCONN on a listener, EINVAL with no urgent byte to read.
   */
  recvOob(peek: boolean): number | 'eof' | TcpErrno {
    if (this.listener) return 'ENOTCONN';
    const c = this.conn;
    if (!c) return 'EINVAL'; // no urg_data
    return recvUrgent(c, peek);
  }

  /** SIOCATMARK (tcp_ioctl): whether the next byte to read is the urgent mark. */
  atMark(): boolean {
    return this.conn !== undefined && atMark(this.conn);
  }

  /**
   * tcp_read_sock's walk for tcp_splice_read: `actor` is handed the unread
   * bytes up to the urgent mark, one received segment's worth at a time,
   * and returns how many it took (0 or less: stop). Returns the bytes taken,
   * or the actor's first value when it took none; ENOTCONN on a listener.
   */
  readSock(actor: (chunk: Uint8Array) => number): number | TcpErrno {
    if (this.listener) return 'ENOTCONN';
    const c = this.conn;
    if (!c) return 0;
    return readSock(c, actor);
  }

  /**
   * What tcp_splice_read checks when tcp_read_sock took nothing: the end of
   * the stream (SOCK_DONE, RCV_SHUTDOWN: 'zero'), sk_err (taken), CLOSE
   * (ENOTCONN); then, for a caller that may wait, bytes still queued (held
   * back by the urgent mark: 'held', no wait) or nothing yet ('wait').
   */
  spliceIdle(): 'zero' | 'held' | 'wait' | TcpErrno {
    const c = this.conn;
    if (this.listener) return 'ENOTCONN';
    if (!c) return this.takeSockError() ?? 'ENOTCONN';
    if (c.finReceived) return 'zero';
    if (c.pendingError !== undefined) return this.takeReportedError();
    if (c.shutRd) return 'zero';
    if (c.state === 'CLOSED') return 'ENOTCONN';
    return c.recvQueue.length > 0 ? 'held' : 'wait';
  }

  /**
   * tcp_sendmsg: how many bytes the send buffer took (0 when full, or while
   * the handshake is under way: EAGAIN). The pending error first, then EPIPE
   * once sending is shut or the connection is gone.
   */
  sendmsg(data: Uint8Array, zeroCopy = false, flags?: SendFlags): number | TcpErrno {
    const c = this.conn;
    if (!c) return this.takeSockError() ?? (this.listener ? 'ENOTCONN' : 'EPIPE');
    if (c.pendingError !== undefined) return this.takeReportedError();
    if (c.deferConnect && c.state === 'SYN_SENT') {
      // tcp_sendmsg_locked: a write after a deferred connect() is a Fast Open one.
      const r = this.sendFastOpen(data, c.remote, c.remotePort, false, false, flags?.zerocopy === true);
      return typeof r === 'object' ? r.copied : r === 'connected' ? 0 : r;
    }
    // tcp_sendmsg_locked waits for the handshake, except on a Fast Open child (tcp_passive_fastopen).
    if (c.state === 'SYN_SENT' || (c.state === 'SYN_RECV' && c.fastOpenRsk === undefined)) return 0;
    if (c.shutWr || (c.state !== 'ESTABLISHED' && c.state !== 'CLOSE_WAIT' && c.state !== 'SYN_RECV')) return 'EPIPE';
    if (data.length === 0) return 0;
    // tcp_sendmsg_locked: MSG_ZEROCOPY counts only with SO_ZEROCOPY on; a
    // write that took nothing gives its id back (net_zcopy_put_abort).
    const zerocopy = flags?.zerocopy === true && this.opts.zerocopy;
    // Without SO_ZEROCOPY the flag is ignored: the bytes are copied as any write's.
    const taken = flags?.zerocopy === true && !zerocopy ? { ...flags, zerocopy: false } : flags;
    if (!zerocopy && this.opts.tsflags === 0) return sendmsg(c, data, zeroCopy, taken);
    const start = seqAdd(c.sndNxt, c.unsentBytes());
    const tailUnsent = c.unsentBytes() > 0;
    const n = sendmsg(c, data, zeroCopy, taken);
    if (n > 0) this.errorQueue().onWrite(start, n, { zerocopy, continued: flags?.continued === true, tailUnsent, unsentAfter: c.unsentBytes() > 0 });
    return n;
  }

  /** The error queue, made on first use with the socket's SO_TIMESTAMPING flags, and given to the connection. */
  private errorQueue(): ErrorQueue {
    if (this.errq === undefined) {
      this.errq = new ErrorQueue();
      this.errq.tsflags = this.opts.tsflags;
    }
    if (this.conn !== undefined) this.conn.errorQueue = this.errq;
    return this.errq;
  }

  /** recvmsg(MSG_ERRQUEUE) (ip_recv_error, sock_dequeue_err_skb): the oldest message, or null when the queue is empty (EAGAIN). */
  recvErrorQueue(): ErrorQueueMessage | null {
    return this.errq?.shift() ?? null;
  }

  /** sk_error_report calls so far (each an EPOLLERR wakeup). */
  get errorReports(): number {
    return this.errq?.reports ?? 0;
  }

  private takeReportedError(): TcpErrno {
    const c = this.conn!;
    const code = c.pendingError!;
    c.pendingError = undefined;
    c.errorReported = true;
    return code;
  }

  /**
   * SO_ERROR: the pending error, cleared by reading it; with none, the kept
   * soft error (an ICMP error), cleared too (sock_getsockopt: sock_error,
   * else xchg(&sk->sk_err_soft, 0)).
   */
  takeError(): TcpErrno | undefined {
    const c = this.conn;
    if (!c) return this.takeSockError();
    if (c.pendingError === undefined) {
      const soft = c.softError;
      c.softError = undefined;
      return soft;
    }
    const code = c.pendingError;
    c.pendingError = undefined;
    return code;
  }

  /** The error connect(AF_UNSPEC) left, cleared by reading it (sock_error). */
  private takeSockError(): TcpErrno | undefined {
    const e = this.sockError;
    this.sockError = undefined;
    return e;
  }

  /**
   * tcp_poll. No connection (a new socket, or one connect(AF_UNSPEC)
   * disconnected): state CLOSE with nothing shut, so POLLHUP and, the send
   * buffer being free, POLLOUT; POLLERR while tcp_disconnect's error waits.
   */
  poll(): number {
    if (this.listener) return this.listener.acceptQueue.length > 0 ? POLLIN : 0;
    const c = this.conn;
    // tcp_poll: POLLERR for sk_err or a message on the error queue.
    const queued = this.errq !== undefined && this.errq.length > 0;
    if (c === undefined) return POLLOUT | POLLHUP | (this.sockError !== undefined || queued ? POLLERR : 0);
    let mask = 0;
    if (c.pendingError !== undefined || queued) mask |= POLLERR;
    const closed = c.state === 'CLOSED';
    if (closed || (c.shutWr && (c.finReceived || c.shutRd))) mask |= POLLHUP; // sk_shutdown == SHUTDOWN_MASK
    if (c.finReceived || c.shutRd) mask |= POLLIN | POLLRDHUP;
    // tcp_stream_is_readable: SO_RCVLOWAT's target (sock_rcvlowat).
    // tcp_poll reads a Fast Open child in SYN_RECV as a connected socket (its SYN's data is readable).
    // At the urgent mark the urgent byte does not count (target + 1); POLLPRI while it waits to be read.
    if (c.state !== 'SYN_SENT' && (c.state !== 'SYN_RECV' || c.fastOpenRsk !== undefined)) {
      if (epollinReady(c, this.opts.rcvLowat + pollTargetExtra(c))) mask |= POLLIN;
      if (urgentReadable(c)) mask |= POLLPRI;
    }
    if (closed) mask |= POLLIN;
    // tcp_poll: a Fast Open child in SYN_RECV polls as a connected socket.
    const connected = c.state !== 'SYN_SENT' && (c.state !== 'SYN_RECV' || c.fastOpenRsk !== undefined);
    // tcp_poll: a deferred Fast Open connect() is writable, so that the write that sends the SYN comes.
    if (c.state === 'SYN_SENT' && c.deferConnect) mask |= POLLOUT;
    if (connected && (c.shutWr || closed)) mask |= POLLOUT;
    else if (connected) {
      // tcp_poll: writable while __sk_stream_is_writeable; else the writer is
      // marked as waiting (SOCK_NOSPACE), so that ACKs grow the buffer and wake it.
      if (isWriteable(c)) mask |= POLLOUT;
      else c.sndNoSpace = true;
    }
    return mask;
  }

  /**
   * Free send-buffer memory (sk_stream_wspace: sk_sndbuf less sk_wmem_queued,
   * sndbuf.ts). A write may take more (it fills the last skb first) or, when
   * this is below one skb's overhead, nothing.
   */
  get writableBytes(): number {
    const c = this.conn;
    if (!c) return 0;
    return freeRoom(c);
  }

  /** Bytes recvmsg would return now. */
  get readableBytes(): number {
    return this.conn?.recvQueue.length ?? 0;
  }

  /** SIOCINQ (tcp_inq): EINVAL on a listener, 0 during the handshake, else the bytes not yet read. */
  inq(): number | TcpErrno {
    if (this.listener) return 'EINVAL';
    return this.conn === undefined ? 0 : siocInq(this.conn);
  }

  /** The TCP_CM_INQ value a recvmsg on a TCP_INQ socket reports (tcp_inq_hint); undefined without TCP_INQ. */
  inqHint(): number | undefined {
    if (!this.opts.inq) return undefined;
    return this.conn === undefined ? 0 : inqHint(this.conn);
  }

  /**
   * connect(AF_UNSPEC): __inet_stream_connect's disconnect. A listener stops
   * listening (inet_csk_listen_stop); a connection ends as tcp_disconnect
   * ends it (disconnect.ts). The socket is CLOSE again; a port it bound
   * itself stays bound (SOCK_BINDPORT_LOCK), one connect() picked is let go.
   */
  disconnect(): void {
    if (this.listener) {
      const b = this.bound;
      this.stopListening();
      // inet_csk_listen_stop keeps a port the application bound.
      if (b !== undefined && !b.autobound) {
        b.listening = false;
        this.layer.binds.add(b.port, b);
        this.bound = b;
      }
      return;
    }
    const c = this.conn;
    if (c === undefined) return;
    c.owner = undefined;
    this.conn = undefined;
    this.sockError = disconnect(c);
    this.pingpong = false; // inet_csk_delack_init: the delayed-ACK state starts afresh
    c.hooks.released(c);
    const b = this.bound;
    if (b === undefined) return;
    if (b.autobound) {
      this.bound = undefined;
    } else if (c.portOwner === undefined) {
      this.layer.binds.add(b.port, b);
    }
  }

  // ---------------------------------------------------------------------------
  // Endings

  /** inet_shutdown / tcp_shutdown. */
  shutdown(how: ShutdownHow): TcpErrno | undefined {
    const c = this.conn;
    if (c?.state === 'SYN_SENT') {
      // inet_shutdown: a socket still connecting is disconnected whatever `how`
      // says (tcp_disconnect from SYN_SENT): nothing is sent, sk_err = ECONNRESET.
      c.pendingError = 'ECONNRESET';
      tcpDone(c);
      return undefined;
    }
    if (!c || c.state === 'CLOSED') {
      if (this.listener && how !== 'write') {
        this.stopListening();
        return undefined;
      }
      return 'ENOTCONN';
    }
    if (how === 'read' || how === 'both') {
      c.shutRd = true;
      this.layer.wake(c);
    }
    if (how === 'write' || how === 'both') closeSending(c);
    return undefined;
  }

  /** tcp_close: the application lets go; the connection lives on as an orphan, or resets (__tcp_close). */
  close(): void {
    this.events = undefined;
    if (this.listener) {
      this.stopListening();
      return;
    }
    const c = this.conn;
    if (c) {
      c.owner = undefined;
      closeConnection(c);
    } else if (this.bound) {
      this.layer.binds.remove(this.bound.port, this.bound);
    }
  }

  /**
   * tcp_abort: the socket destroyed from outside its application (SOCK_DESTROY,
   * `ss -K`): ECONNABORTED for the owner, an active reset where
   * tcp_need_reset() says the peer must hear of it, then tcp_done. A listener
   * stops listening (inet_csk_listen_stop).
   */
  abort(): void {
    if (this.listener) {
      this.stopListening();
      return;
    }
    if (this.conn !== undefined) tcpAbort(this.conn);
  }

  /** inet_csk_listen_stop: pending requests vanish, queued children are reset, the port is released. */
  private stopListening(): void {
    const l = this.listener!;
    this.listener = undefined;
    this.layer.listenerTable.remove(l.port, l);
    l.close();
    if (this.bound) this.layer.binds.remove(this.bound.port, this.bound);
    this.bound = undefined;
  }

  // ---------------------------------------------------------------------------
  // Options

  /** sk_setsockopt / do_tcp_setsockopt: EINVAL for a value out of Linux's range. */
  setsockopt<K extends TcpSockOption>(name: K, value: TcpSockOptions[K]): TcpErrno | undefined {
    if (this.optsShared) {
      this.opts = { ...this.opts };
      this.optsShared = false;
    }
    const o = this.opts;
    const v = value as TcpSockOptions[TcpSockOption];
    const inRange = (n: unknown, min: number, max: number): n is number => typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
    switch (name) {
      case 'SO_REUSEADDR':
        o.reuseAddress = v === true;
        if (this.bound) this.bound.reuseAddress = o.reuseAddress;
        return undefined;
      case 'SO_KEEPALIVE':
        o.keepalive = v === true;
        break;
      case 'SO_LINGER': {
        const linger = v as TcpSockOptions['SO_LINGER'];
        o.lingerOn = linger.on;
        o.lingerSeconds = Math.max(0, Math.floor(linger.seconds));
        break;
      }
      case 'SO_RCVBUF':
        if (typeof v !== 'number') return 'EINVAL';
        // __sock_set_rcvbuf: the value is doubled to account for overhead (it
        // bounds receive memory, not payload: rcvbuf.ts) and fixed for good
        // (SOCK_RCVBUF_LOCK: no autotuning); at most net.core.rmem_max is doubled. A listener passes it to its
        // requests' windows and to its children.
        o.rcvBuf = Math.max(SOCK_MIN_RCVBUF, Math.min(v, SOCK_BUF_MAX, NET_CORE_RMEM_MAX) * 2);
        if (this.conn) {
          this.conn.rcvBuf = o.rcvBuf;
          this.conn.rcvBufLocked = true;
        }
        if (this.listener) {
          this.listener.rcvBuf = o.rcvBuf;
          this.listener.rcvBufLocked = true;
        }
        break;
      case 'SO_SNDBUF':
        if (typeof v !== 'number') return 'EINVAL';
        // sock_setsockopt: doubled for the skbs' overhead (sndbuf.ts charges
        // it), at most net.core.wmem_max doubled, and fixed for good
        // (SOCK_SNDBUF_LOCK: no tcp_sndbuf_expand); the writer may wake
        // (sk_write_space). A listener passes it to its children.
        o.sndBuf = Math.max(SOCK_MIN_SNDBUF, Math.min(v, SOCK_BUF_MAX, NET_CORE_WMEM_MAX) * 2);
        if (this.listener) {
          this.listener.sndBuf = o.sndBuf;
          this.listener.sndBufLocked = true;
        }
        break;
      case 'TCP_NODELAY':
        o.nodelay = v === true;
        if (this.conn) setNodelay(this.conn, o.nodelay);
        break;
      case 'TCP_CORK':
        o.cork = v === true;
        if (this.conn) setCork(this.conn, o.cork);
        break;
      case 'TCP_KEEPIDLE':
        if (!inRange(v, 1, MAX_TCP_KEEPIDLE)) return 'EINVAL';
        o.keepIdle = v;
        this.applyOptions();
        this.keepaliveTimeSet(v);
        return undefined;
      case 'TCP_KEEPINTVL':
        if (!inRange(v, 1, MAX_TCP_KEEPINTVL)) return 'EINVAL';
        o.keepIntvl = v;
        break;
      case 'TCP_KEEPCNT':
        if (!inRange(v, 1, MAX_TCP_KEEPCNT)) return 'EINVAL';
        o.keepCnt = v;
        break;
      case 'TCP_USER_TIMEOUT':
        if (!inRange(v, 0, Number.MAX_SAFE_INTEGER)) return 'EINVAL';
        o.userTimeout = v;
        break;
      case 'TCP_LINGER2':
        if (typeof v !== 'number' || !Number.isInteger(v)) return 'EINVAL';
        o.linger2 = v;
        break;
      case 'TCP_SYNCNT':
        if (!inRange(v, 1, MAX_TCP_SYNCNT)) return 'EINVAL';
        o.synRetries = v;
        break;
      case 'TCP_CONGESTION':
        // tcp_set_congestion_control: a name no algorithm registered is ENOENT.
        if (typeof v !== 'string' || !isCongestionControlName(v)) return 'ENOENT';
        o.congestion = v;
        break;
      case 'TCP_MAXSEG':
        if (!inRange(v, 0, MAX_TCP_WINDOW) || (v !== 0 && v < TCP_MIN_MSS)) return 'EINVAL';
        o.userMss = v;
        if (this.listener) this.listener.userMss = v;
        break;
      case 'TCP_NOTSENT_LOWAT':
        if (!inRange(v, -0x80000000, 0xffffffff)) return 'EINVAL';
        o.notsentLowat = v >>> 0; // a u32
        break;
      case 'IP_TOS':
        // __ip_sock_set_tos: a stream socket keeps its ECN bits.
        if (!inRange(v, -0x80000000, 0x7fffffff)) return 'EINVAL';
        o.tos = v & 0xff & ~INET_ECN_MASK;
        if (this.listener) this.listener.tos = o.tos;
        break;
      case 'IPV6_TCLASS':
        if (!this.ipv6) return 'ENOPROTOOPT';
        if (!inRange(v, -1, 0xff)) return 'EINVAL';
        o.tclass = v === -1 ? 0 : v & ~INET_ECN_MASK;
        if (this.listener) this.listener.tclass = o.tclass;
        break;
      case 'IP_MTU_DISCOVER':
        if (!inRange(v, IP_PMTUDISC_DONT, IP_PMTUDISC_OMIT)) return 'EINVAL';
        o.pmtudisc = v;
        break;
      case 'SO_RCVLOWAT': {
        if (typeof v !== 'number' || !Number.isInteger(v)) return 'EINVAL';
        // sk_setsockopt: a negative value means INT_MAX; then tcp_set_rcvlowat.
        const c = this.conn;
        const locked = c?.rcvBufLocked ?? o.rcvBuf !== undefined;
        const rcvBuf = c?.rcvBuf ?? o.rcvBuf ?? this.layer.ctx.sysctl.tcp_rmem[1];
        o.rcvLowat = setRcvLowat(c, v < 0 ? 0x7fffffff : v, locked, rcvBuf, this.layer.ctx.sysctl.tcp_rmem[2]);
        if (c !== undefined) {
          c.rcvLowat = o.rcvLowat;
          this.layer.wake(c); // tcp_data_ready: POLLIN may be due now
        }
        return undefined;
      }
      case 'TCP_INQ':
        o.inq = v === true;
        return undefined;
      case 'SO_ZEROCOPY':
        // sk_setsockopt: 0 or 1, on a TCP socket in any state.
        if (typeof v !== 'number' || v < 0 || v > 1) return 'EINVAL';
        o.zerocopy = v === 1;
        return undefined;
      case 'SO_TIMESTAMPING': {
        if (typeof v !== 'number') return 'EINVAL';
        const c = this.conn;
        const state = this.state;
        const seqs = c === undefined || state === 'CLOSED' || state === 'LISTEN' ? undefined : { writeSeq: seqAdd(c.sndNxt, c.unsentBytes()), sndUna: c.sndUna };
        const err = this.errorQueue().setTimestamping(v, seqs);
        if (err !== undefined) return err;
        o.tsflags = v >>> 0;
        return undefined;
      }
      case 'TCP_QUICKACK':
        if (typeof v !== 'number') return 'EINVAL';
        this.pingpong = v === 0;
        if (this.conn !== undefined) {
          setQuickAck(this.conn, v);
          this.layer.dirty(this.conn);
        }
        return undefined;
      case 'TCP_DEFER_ACCEPT':
        if (typeof v !== 'number' || !Number.isInteger(v)) return 'EINVAL';
        this.deferAccept = secsToRetrans(v, TCP_TIMEOUT_INIT / 1000, TCP_RTO_MAX / 1000);
        if (this.listener) this.listener.deferAccept = this.deferAccept;
        return undefined;
      case 'IPV6_MTU_DISCOVER':
        if (!this.ipv6) return 'ENOPROTOOPT';
        if (!inRange(v, IP_PMTUDISC_DONT, IP_PMTUDISC_OMIT)) return 'EINVAL';
        o.pmtudisc6 = v;
        break;
      case 'TCP_FASTOPEN_CONNECT':
        // do_tcp_setsockopt: 0 or 1; only with the client bit; only before connect().
        if (!inRange(v, 0, 1)) return 'EINVAL';
        if ((this.layer.ctx.sysctl.tcp_fastopen & TFO_CLIENT_ENABLE) === 0) return 'EOPNOTSUPP';
        if (this.state !== 'CLOSED') return 'EINVAL';
        o.fastOpenConnect = v === 1;
        return undefined;
      case 'TCP_FASTOPEN_NO_COOKIE':
        if (!inRange(v, 0, 1)) return 'EINVAL';
        if (this.state !== 'CLOSED' && this.state !== 'LISTEN') return 'EINVAL';
        o.fastOpenNoCookie = v === 1;
        if (this.state === 'LISTEN' && this.fastOpen !== undefined) this.fastOpen.noCookie = o.fastOpenNoCookie;
        return undefined;
      case 'SO_OOBINLINE':
        o.oobInline = v === true;
        if (this.listener) this.listener.urgInline = o.oobInline;
        break;
      case 'IP_FREEBIND':
      case 'IPV6_FREEBIND':
        // One flag under both names (inet_assign_bit(FREEBIND) in do_ip_setsockopt and do_ipv6_setsockopt).
        if (name === 'IPV6_FREEBIND' && !this.ipv6) return 'ENOPROTOOPT';
        o.freebind = v === true;
        return undefined;
      case 'SO_RCVTIMEO':
      case 'SO_SNDTIMEO': {
        // sk_setsockopt → sock_set_timeout, in any state.
        if (!(v instanceof Uint8Array)) return 'EINVAL';
        const tv = timevalFromBytes(v);
        if (tv === 'EINVAL') return tv;
        const timeo = timeoutFromTimeval(tv);
        if (timeo === 'EDOM') return timeo;
        if (name === 'SO_RCVTIMEO') o.rcvTimeo = timeo;
        else o.sndTimeo = timeo;
        return undefined;
      }
    }
    this.applyOptions();
    return undefined;
  }

  /**
   * TCP_FASTOPEN: the Fast Open queue length, settable while closed or
   * listening (EINVAL otherwise, or for a negative value); it draws the
   * namespace key if none was set (tcp_fastopen_init_key_once).
   */
  setFastOpen(qlen: number): TcpErrno | undefined {
    const closed = this.conn === undefined || this.conn.state === 'CLOSED';
    if (!Number.isInteger(qlen) || qlen < 0 || !closed) return 'EINVAL';
    fastOpenInitKeyOnce(this.layer.ctx);
    fastOpenQueueTune((this.fastOpen ??= new FastOpenQueue()), qlen, this.layer.ctx.sysctl.somaxconn);
    return undefined;
  }

  /** getsockopt(TCP_FASTOPEN): the queue length (0: no Fast Open). */
  get fastOpenQueueLength(): number {
    return this.fastOpen?.maxQlen ?? 0;
  }

  /**
   * TCP_FASTOPEN_KEY: this socket's server keys, 16 bytes (a primary) or 32
   * (a backup after it), in any state; any other length is EINVAL
   * (do_tcp_setsockopt, tcp_fastopen_reset_cipher).
   */
  setFastOpenKey(bytes: Uint8Array): TcpErrno | undefined {
    if (bytes.length !== TCP_FASTOPEN_KEY_LENGTH && bytes.length !== 2 * TCP_FASTOPEN_KEY_LENGTH) return 'EINVAL';
    const keys = [bytes.slice(0, TCP_FASTOPEN_KEY_LENGTH)];
    if (bytes.length > TCP_FASTOPEN_KEY_LENGTH) keys.push(bytes.slice(TCP_FASTOPEN_KEY_LENGTH));
    (this.fastOpen ??= new FastOpenQueue()).keys = keys;
    return undefined;
  }

  /** getsockopt(TCP_FASTOPEN_KEY): the keys in effect, the socket's or else the namespace's (tcp_fastopen_get_cipher); empty with none. */
  get fastOpenKeyBytes(): Uint8Array {
    const keys = fastOpenKeysOf(this.layer.ctx, this.fastOpen) ?? [];
    const out = new Uint8Array(keys.length * TCP_FASTOPEN_KEY_LENGTH);
    keys.forEach((k, i) => out.set(k, i * TCP_FASTOPEN_KEY_LENGTH));
    return out;
  }

  /** The option's value: what was set, else what the socket uses (the sysctl default, the buffer in effect). */
  getsockopt<K extends TcpSockOption>(name: K): TcpSockOptions[K] {
    const o = this.opts;
    const s = this.layer.ctx.sysctl;
    const values: TcpSockOptions = {
      SO_REUSEADDR: o.reuseAddress,
      SO_KEEPALIVE: o.keepalive,
      SO_LINGER: { on: o.lingerOn, seconds: o.lingerSeconds },
      SO_RCVBUF: this.conn?.rcvBuf ?? o.rcvBuf ?? s.tcp_rmem[1],
      SO_SNDBUF: this.conn?.sndBuf ?? o.sndBuf ?? s.tcp_wmem[1],
      TCP_NODELAY: o.nodelay,
      TCP_CORK: o.cork,
      TCP_KEEPIDLE: o.keepIdle ?? s.tcp_keepalive_time,
      TCP_KEEPINTVL: o.keepIntvl ?? s.tcp_keepalive_intvl,
      TCP_KEEPCNT: o.keepCnt ?? s.tcp_keepalive_probes,
      TCP_USER_TIMEOUT: o.userTimeout,
      TCP_LINGER2: o.linger2 ?? s.tcp_fin_timeout,
      TCP_SYNCNT: o.synRetries ?? s.tcp_syn_retries,
      TCP_CONGESTION: this.conn?.cc.name ?? o.congestion ?? s.tcp_congestion_control,
      TCP_MAXSEG: this.maxseg(),
      TCP_NOTSENT_LOWAT: o.notsentLowat,
      IP_TOS: o.tos,
      IPV6_TCLASS: o.tclass,
      IP_MTU_DISCOVER: o.pmtudisc,
      SO_RCVLOWAT: o.rcvLowat,
      TCP_INQ: o.inq,
      // do_tcp_getsockopt: !inet_csk_in_pingpong_mode(sk).
      TCP_QUICKACK: (this.conn?.pingpong ?? this.pingpong) ? 0 : 1,
      TCP_DEFER_ACCEPT: retransToSecs(this.deferAccept, TCP_TIMEOUT_INIT / 1000, TCP_RTO_MAX / 1000),
      SO_ZEROCOPY: o.zerocopy ? 1 : 0,
      SO_TIMESTAMPING: o.tsflags,
      IPV6_MTU_DISCOVER: o.pmtudisc6,
      TCP_FASTOPEN_CONNECT: o.fastOpenConnect ? 1 : 0,
      TCP_FASTOPEN_NO_COOKIE: o.fastOpenNoCookie ? 1 : 0,
      SO_OOBINLINE: o.oobInline,
      IP_FREEBIND: o.freebind,
      IPV6_FREEBIND: o.freebind,
      SO_RCVTIMEO: timevalBytes(timevalFromTimeout(o.rcvTimeo)),
      SO_SNDTIMEO: timevalBytes(timevalFromTimeout(o.sndTimeo)),
    };
    return values[name];
  }

  /**
   * How long a blocking receive or accept (SO_RCVTIMEO: sock_rcvtimeo) or
   * send or connect (SO_SNDTIMEO: sock_sndtimeo) waits, in µs: undefined
   * for no timeout, 0 to return at once.
   */
  timeoutUsecs(name: 'SO_RCVTIMEO' | 'SO_SNDTIMEO'): number | undefined {
    return timeoutUsecs(name === 'SO_RCVTIMEO' ? this.opts.rcvTimeo : this.opts.sndTimeo);
  }

  /** do_tcp_getsockopt's TCP_MAXSEG: mss_cache, but user_mss when set on a closed or listening socket; mss_cache starts at TCP_MSS_DEFAULT. */
  private maxseg(): number {
    const c = this.conn;
    const state = this.state;
    if (this.opts.userMss !== 0 && (state === 'CLOSED' || state === 'LISTEN')) return this.opts.userMss;
    if (c === undefined || state === 'SYN_SENT' || state === 'LISTEN') return this.opts.userMss || TCP_DEFAULT_MSS;
    return c.mss;
  }

  /**
   * IP_MTU (IPV6_MTU): the path MTU of the socket's route (dst_mtu of
   * sk_dst_get: the route as the connection last looked it up), which a
   * connected socket has; ENOTCONN without one.
   */
  pathMtu(): number | TcpErrno {
    const c = this.conn;
    if (c === undefined || c.state === 'CLOSED') return 'ENOTCONN';
    return this.layer.ctx.route.mtu(c.remote, c.now(), c.dst);
  }

  /** SIOCOUTQNSD: bytes written but not yet sent (tcp_ioctl: write_seq - snd_nxt); EINVAL on a listener. */
  unsentBytes(): number | TcpErrno {
    if (this.listener) return 'EINVAL';
    return this.conn?.unsentBytes() ?? 0;
  }

  /** Hands the options to the connection, arming or cancelling keepalive as SO_KEEPALIVE now says (tcp_set_keepalive). */
  private applyOptions(): void {
    const c = this.conn;
    if (!c) return;
    const o = this.opts;
    c.rcvLowat = o.rcvLowat;
    c.urgInline = o.oobInline;
    const wasKeepalive = c.keepalive;
    c.keepalive = o.keepalive;
    c.keepIdle = o.keepIdle;
    c.keepIntvl = o.keepIntvl;
    c.keepCnt = o.keepCnt;
    c.lingerOn = o.lingerOn;
    c.lingerSeconds = o.lingerSeconds;
    c.userTimeout = o.userTimeout;
    c.linger2 = o.linger2;
    c.synRetries = o.synRetries;
    c.userMss = o.userMss;
    c.tos = o.tos;
    c.tclass = o.tclass;
    c.pmtudisc = o.pmtudisc;
    c.pmtudisc6 = o.pmtudisc6;
    if (c.notsentLowat !== o.notsentLowat) {
      c.notsentLowat = o.notsentLowat;
      writeSpace(c); // do_tcp_setsockopt: sk_write_space
    }
    if (o.sndBuf !== undefined && (c.sndBuf !== o.sndBuf || !c.sndBufLocked)) {
      c.sndBuf = o.sndBuf;
      c.sndBufLocked = true;
      writeSpace(c);
    }
    if (o.congestion !== undefined && o.congestion !== c.cc.name) switchCongestionControl(c, o.congestion);
    if (c.keepalive && synchronized(c.state) && (!wasKeepalive || !c.keepaliveTimer.armed)) timers.armKeepalive(c);
    if (!c.keepalive && wasKeepalive && c.keepaliveTimer.armed && !c.orphan) timers.cancelKeepalive(c);
    this.layer.dirty(c);
  }

  /**
   * keepalive_time_set (TCP_KEEPIDLE on a live keepalive socket): the timer
   * is re-armed for what is left of the new idle time, measured from the
   * last segment received.
   */
  private keepaliveTimeSet(idleSeconds: number): void {
    const c = this.conn;
    if (!c || !c.keepalive || c.orphan || !synchronized(c.state)) return;
    const elapsed = c.now() - c.lastRcvTime;
    timers.armKeepalive(c, Math.max(0, idleSeconds * 1000 - elapsed));
  }

  // ---------------------------------------------------------------------------
  // Introspection

  /** getsockopt(TCP_INFO) of this socket (tcp_get_info). */
  tcpInfo(): TcpInfoStruct {
    if (this.conn) return connectionTcpInfo(this.conn);
    const l = this.listener;
    return unconnectedTcpInfo(this.state, this.layer.ctx.sysctl.tcp_reordering, l ? { queued: l.acceptQueue.length, backlog: l.backlog } : undefined);
  }

  /** The `ss -ti` row of this socket. */
  info(): TcpInfo {
    if (this.conn) return connectionInfo(this.conn);
    return stateOnlyInfo({
      state: this.state,
      localAddress: this.localAddressText,
      localPort: this.localPort,
      recvQ: this.listener?.acceptQueue.length ?? 0,
      sendQ: this.listener?.backlog ?? 0,
    });
  }
}
