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
import { IPV6_HANDLE_BASE, socketAddressText } from '../address.ts';
import { switchCongestionControl } from './congestion/select.ts';
import { isCongestionControlName, type CongestionControlName } from './congestion/types.ts';
import { Connection } from './connection.ts';
import { NET_CORE_RMEM_MAX, NET_CORE_WMEM_MAX } from './constants.ts';
import { tcpAbort, tcpDone } from './endings.ts';
import { connectionInfo, stateOnlyInfo } from './info.ts';
import { Listener } from './listener.ts';
import { connectPrepare, tcpConnect } from './output.ts';
import { TFO_CLIENT_ENABLE, deferConnect, type FastOpenRequest } from './fastopen-client.ts';
import { freeRoom, isWriteable, writeSpace } from './sndbuf.ts';
import type { PortOwner } from './tables.ts';
import type { TcpLayer } from './tcp.ts';
import * as timers from './timer-arming.ts';
import {
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  type ShutdownHow,
  type TcpErrno,
  type TcpInfo,
  type TcpStateName,
  type SocketOwner,
  type Wakeable,
} from './types.ts';
import { closeConnection, closeSending, recvmsg, sendmsg } from './user-calls.ts';

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
  /** 1: connect() holds the SYN back for the first write when it can carry data (Fast Open; EOPNOTSUPP without net.ipv4.tcp_fastopen's client bit). */
  TCP_FASTOPEN_CONNECT: number;
  /** 1: SYN data without a cookie (as net.ipv4.tcp_fastopen's 0x4, for this socket). */
  TCP_FASTOPEN_NO_COOKIE: number;
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

interface BoundPort extends PortOwner {
  port: number;
  autobound: boolean;
}

/** Option values as the socket keeps them; unset ones fall back to the sysctls. */
interface OptionValues {
  reuseAddress: boolean;
  nodelay: boolean;
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
  fastOpenConnect: boolean;
  fastOpenNoCookie: boolean;
}

function defaultOptions(): OptionValues {
  return {
    reuseAddress: false,
    nodelay: false,
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
    fastOpenConnect: false,
    fastOpenNoCookie: false,
  };
}

const DEFAULT_OPTIONS: OptionValues = Object.freeze(defaultOptions());

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

  /** IPV6_V6ONLY (net.ipv6.bindv6only, 0, by default): an IPv6 socket that takes no IPv4. */
  private v6only = false;

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
    const sock = new TcpSock(this.layer, this.ipv6);
    sock.v6only = this.v6only;
    sock.conn = child;
    child.owner = sock;
    // The child is a clone of the listener (sk_clone_lock): it carries the listener's options (shared until either changes them).
    sock.opts = this.opts;
    this.optsShared = true;
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
    this.applyOptions();
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
  sendFastOpen(data: Uint8Array, remote: number, port: number, blocking: boolean, unreadable = false): { copied: number } | 'connected' | TcpErrno {
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
    // The request lives only through the call (tcp_free_fastopen_req); so does DEFER_CONNECT.
    c.fastOpenReq = undefined;
    c.deferConnect = false;
    if (blocking && req.data !== undefined && c.state === 'SYN_SENT') c.writePending = 1;
    return { copied: req.copied };
  }

  // ---------------------------------------------------------------------------
  // Data

  /**
   * tcp_recvmsg: up to `max` bytes; null when nothing is there yet (EAGAIN,
   * also during the handshake); an empty array at end of stream. A FIN
   * already seen means EOF even if a RST came after it; otherwise a pending
   * error is reported once. `inPlace`: see recvmsg in user-calls.ts.
   */
  recvmsg(max: number, inPlace = false): Uint8Array | null | TcpErrno {
    const c = this.conn;
    if (!c) return 'ENOTCONN';
    if (c.recvQueue.length > 0) return recvmsg(c, max, inPlace);
    if (c.finReceived) return EMPTY;
    if (c.pendingError !== undefined) return this.takeReportedError();
    if (c.state === 'CLOSED' || c.shutRd) return EMPTY;
    return null;
  }

  /**
   * tcp_sendmsg: how many bytes the send buffer took (0 when full, or while
   * the handshake is under way: EAGAIN). The pending error first, then EPIPE
   * once sending is shut or the connection is gone.
   */
  sendmsg(data: Uint8Array, zeroCopy = false): number | TcpErrno {
    const c = this.conn;
    if (!c) return this.listener ? 'ENOTCONN' : 'EPIPE';
    if (c.pendingError !== undefined) return this.takeReportedError();
    if (c.deferConnect && c.state === 'SYN_SENT') {
      // tcp_sendmsg_locked: a write after a deferred connect() is a Fast Open one.
      const r = this.sendFastOpen(data, c.remote, c.remotePort, false);
      return typeof r === 'object' ? r.copied : r === 'connected' ? 0 : r;
    }
    if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV') return 0;
    if (c.shutWr || (c.state !== 'ESTABLISHED' && c.state !== 'CLOSE_WAIT')) return 'EPIPE';
    if (data.length === 0) return 0;
    return sendmsg(c, data, zeroCopy);
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
    if (!c) return undefined;
    if (c.pendingError === undefined) {
      const soft = c.softError;
      c.softError = undefined;
      return soft;
    }
    const code = c.pendingError;
    c.pendingError = undefined;
    return code;
  }

  /** tcp_poll. */
  poll(): number {
    if (this.listener) return this.listener.acceptQueue.length > 0 ? POLLIN : 0;
    const c = this.conn;
    if (c === undefined) return POLLOUT | POLLHUP;
    let mask = 0;
    if (c.pendingError !== undefined) mask |= POLLERR;
    const closed = c.state === 'CLOSED';
    if (closed || (c.shutWr && c.finReceived)) mask |= POLLHUP;
    if (c.finReceived || c.shutRd) mask |= POLLIN | POLLRDHUP;
    if (c.recvQueue.length > 0) mask |= POLLIN;
    if (closed) mask |= POLLIN;
    const connected = c.state !== 'SYN_SENT' && c.state !== 'SYN_RECV';
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
        return undefined;
    }
    this.applyOptions();
    return undefined;
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
      TCP_KEEPIDLE: o.keepIdle ?? s.tcp_keepalive_time,
      TCP_KEEPINTVL: o.keepIntvl ?? s.tcp_keepalive_intvl,
      TCP_KEEPCNT: o.keepCnt ?? s.tcp_keepalive_probes,
      TCP_USER_TIMEOUT: o.userTimeout,
      TCP_LINGER2: o.linger2 ?? s.tcp_fin_timeout,
      TCP_SYNCNT: o.synRetries ?? s.tcp_syn_retries,
      TCP_CONGESTION: this.conn?.cc.name ?? o.congestion ?? s.tcp_congestion_control,
      TCP_FASTOPEN_CONNECT: o.fastOpenConnect ? 1 : 0,
      TCP_FASTOPEN_NO_COOKIE: o.fastOpenNoCookie ? 1 : 0,
    };
    return values[name];
  }

  /** Hands the options to the connection, arming or cancelling keepalive as SO_KEEPALIVE now says (tcp_set_keepalive). */
  private applyOptions(): void {
    const c = this.conn;
    if (!c) return;
    const o = this.opts;
    c.nodelay = o.nodelay;
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
