/**
 * The types TCP shares with the layers above it: state names, the errno
 * values a connection can end with, and the `ss`-style listings. The socket
 * layer (stack/socket) re-exports them; TCP itself imports nothing from it.
 */

/** errno names, as Linux reports them to applications. */
export type TcpErrno =
  | 'EACCES'
  | 'EAGAIN'
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EAFNOSUPPORT'
  | 'EALREADY'
  | 'EBADF'
  | 'EDOM'
  | 'ECONNABORTED'
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'EHOSTDOWN'
  | 'EHOSTUNREACH'
  | 'EINPROGRESS'
  | 'EINVAL'
  | 'EISCONN'
  | 'EMSGSIZE'
  | 'ENETUNREACH'
  | 'ENOENT'
  | 'ENONET'
  | 'ENOPROTOOPT'
  | 'ENOTCONN'
  | 'EOPNOTSUPP'
  | 'EPIPE'
  | 'EPROTO'
  | 'ETIMEDOUT';

/** RFC 9293 state names, plus Linux's CLOSE for a socket that is done or was never connected. */
export type TcpStateName =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT';

/** poll(2) bits, Linux values (tcp_poll). */
export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
/** Urgent data to read (tcp_poll's EPOLLPRI). */
export const POLLPRI = 0x002;
export const POLLRDHUP = 0x2000;

export type ShutdownHow = 'read' | 'write' | 'both';

/** What `ss -ti` shows for a connection (units: ms unless named otherwise). */
export interface TcpInfo {
  state: TcpStateName;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Bytes received and not yet read / written and not yet acknowledged (ss Recv-Q / Send-Q). */
  recvQ: number;
  sendQ: number;
  rtt: number;
  rttvar: number;
  rto: number;
  mss: number;
  /** The path MTU the MSS was computed from (icsk_pmtu_cookie: ss's pmtu). */
  pmtu?: number;
  cwnd: number;
  ssthresh: number;
  /** The congestion control's name as ss prints it after ts/sack ("cubic", "reno"). */
  congestion?: string;
  /** Segments retransmitted over the connection's life, and the current backoff count. */
  retransmits: number;
  backoff: number;
  sndWnd: number;
  rcvWnd: number;
  sndWscale: number;
  rcvWscale: number;
  timestamps: boolean;
  sack: boolean;
  /** ECN negotiated (TCPI_OPT_ECN: ss's "ecn") and ECT/CE seen on the peer's data (TCPI_OPT_ECN_SEEN: "ecnseen"). */
  ecn?: boolean;
  ecnSeen?: boolean;
  /** The SYN's Fast Open data was all acknowledged (tp->syn_data_acked: TCPI_OPT_SYN_DATA); present only for an active Fast Open. */
  synData?: boolean;
  /** Timers pending, e.g. { on: 'rto', expiresIn: 180 } or keepalive/persist/timewait. */
  timer: { on: string; expiresIn: number } | undefined;
  bytesSent: number;
  bytesRetrans: number;
  bytesAcked: number;
  bytesReceived: number;
  /** Retransmissions of the current head (icsk_retransmits: ss's retrans:N/total and timer:(on,...,N)). */
  curRetrans?: number;
  /** Unanswered zero-window or keepalive probes (icsk_probes_out: ss's timer:(persist|keepalive,...,N)). */
  probes?: number;
  /** Segments sent and not yet acknowledged (ss unacked). */
  unacked?: number;
  /** Retransmitted segments in flight (tcpi_retrans = retrans_out: ss's retrans:N/total). */
  retransOut?: number;
  /** Segments marked lost and SACKed (tcpi_lost, tcpi_sacked: ss lost, sacked). */
  lost?: number;
  sacked?: number;
  /** Reordering degree and times reordering was seen (tcpi_reordering, tcpi_reord_seen). */
  reordering?: number;
  reordSeen?: number;
  /** The windowed minimum RTT, ms (tcpi_min_rtt: ss minrtt); undefined before a sample. */
  minRtt?: number;
  /** Every timer armed, not only the one `timer` shows. */
  timers?: Array<{ on: string; expiresIn: number }>;
  /**
   * The receive side's tuning (tcp_get_info): the receiver's RTT estimate in ms
   * (tcpi_rcv_rtt, ss rcv_rtt), what DRS estimates the application reads per
   * RTT (tcpi_rcv_space, rcvq_space.space) and the ceiling of the window we
   * offer (tcpi_rcv_ssthresh); docs/linux-behaviour.md, Receive windows.
   */
  rcvRtt?: number;
  rcvSpace?: number;
  rcvSsthresh?: number;
  /** ms since the last segment sent / received (ss lastsnd / lastrcv). */
  lastSend?: number;
  lastRecv?: number;
}

/** A listening socket in the `ss -lt` listing. */
export interface ListenerInfo {
  /** The socket's family: an IPv6 listener on '::' that is not v6-only also takes IPv4 (`ss` shows it as '*'). */
  family: 4 | 6;
  v6only: boolean;
  localAddress: string;
  localPort: number;
  backlog: number;
  /** Connections established and waiting for accept() (ss Recv-Q of a listener). */
  acceptQueue: number;
  /** Handshakes in progress (SYN_RECV request sockets). */
  synQueue: number;
}

/** Receives readiness events: whatever owns a TCP socket (the BSD Endpoint, a test). */
export interface Wakeable {
  deliverEvent(): void;
}

/** What owns a connection or a listener (a TcpSock): woken by the TCP layer at its next flush. */
export interface SocketOwner extends Wakeable {
  /** Waiting in the TCP layer's wake list (set and cleared by TcpLayer only). */
  wakeQueued: boolean;
  /** tcp_abort from outside the application (SOCK_DESTROY, `ss -K`: TcpLayer.destroy). */
  abort(): void;
}
