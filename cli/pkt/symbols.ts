/**
 * The symbolic names a script may use (packetdrill's symbols_linux.c, for the
 * subset the runner executes) with their Linux x86-64 values, and errno
 * numbers and strerror() texts for messages in packetdrill's wording.
 */

export const ERRNOS: Readonly<Record<string, readonly [number, string]>> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  EINTR: [4, 'Interrupted system call'],
  EIO: [5, 'Input/output error'],
  EBADF: [9, 'Bad file descriptor'],
  EAGAIN: [11, 'Resource temporarily unavailable'],
  EWOULDBLOCK: [11, 'Resource temporarily unavailable'],
  ENOMEM: [12, 'Cannot allocate memory'],
  EACCES: [13, 'Permission denied'],
  EFAULT: [14, 'Bad address'],
  EBUSY: [16, 'Device or resource busy'],
  EEXIST: [17, 'File exists'],
  EINVAL: [22, 'Invalid argument'],
  EMFILE: [24, 'Too many open files'],
  ENOSPC: [28, 'No space left on device'],
  ESPIPE: [29, 'Illegal seek'],
  EPIPE: [32, 'Broken pipe'],
  EDOM: [33, 'Numerical argument out of domain'],
  ERANGE: [34, 'Numerical result out of range'],
  ENOMSG: [42, 'No message of desired type'],
  ENONET: [64, 'Machine is not on the network'],
  EPROTO: [71, 'Protocol error'],
  ENOTSOCK: [88, 'Socket operation on non-socket'],
  EDESTADDRREQ: [89, 'Destination address required'],
  EMSGSIZE: [90, 'Message too long'],
  EPROTOTYPE: [91, 'Protocol wrong type for socket'],
  ENOPROTOOPT: [92, 'Protocol not available'],
  EPROTONOSUPPORT: [93, 'Protocol not supported'],
  ESOCKTNOSUPPORT: [94, 'Socket type not supported'],
  EOPNOTSUPP: [95, 'Operation not supported'],
  EAFNOSUPPORT: [97, 'Address family not supported by protocol'],
  EADDRINUSE: [98, 'Address already in use'],
  EADDRNOTAVAIL: [99, 'Cannot assign requested address'],
  ENETDOWN: [100, 'Network is down'],
  ENETUNREACH: [101, 'Network is unreachable'],
  ENETRESET: [102, 'Network dropped connection on reset'],
  ECONNABORTED: [103, 'Software caused connection abort'],
  ECONNRESET: [104, 'Connection reset by peer'],
  ENOBUFS: [105, 'No buffer space available'],
  EISCONN: [106, 'Transport endpoint is already connected'],
  ENOTCONN: [107, 'Transport endpoint is not connected'],
  ESHUTDOWN: [108, 'Cannot send after transport endpoint shutdown'],
  ETIMEDOUT: [110, 'Connection timed out'],
  ECONNREFUSED: [111, 'Connection refused'],
  EHOSTDOWN: [112, 'Host is down'],
  EHOSTUNREACH: [113, 'No route to host'],
  EALREADY: [114, 'Operation already in progress'],
  EINPROGRESS: [115, 'Operation now in progress'],
};

/** errno number → canonical name (EAGAIN rather than EWOULDBLOCK). */
export function errnoName(n: number): string {
  for (const [name, [num]] of Object.entries(ERRNOS)) if (num === n && name !== 'EWOULDBLOCK') return name;
  return `errno ${n}`;
}

/** "104 (Connection reset by peer)", as packetdrill prints an errno. */
export function describeErrno(name: string | undefined): string {
  if (name === undefined) return '0 (Success)';
  const e = ERRNOS[name];
  return e ? `${e[0]} (${e[1]})` : name;
}

export const SYMBOLS: Readonly<Record<string, number>> = {
  NULL: 0,
  // Address families, socket types, protocols, levels
  AF_UNSPEC: 0, AF_INET: 2, AF_INET6: 10, PF_INET: 2, PF_INET6: 10,
  SOCK_STREAM: 1, SOCK_DGRAM: 2, SOCK_RAW: 3, SOCK_NONBLOCK: 0x800, SOCK_CLOEXEC: 0x80000,
  IPPROTO_IP: 0, IPPROTO_ICMP: 1, IPPROTO_TCP: 6, IPPROTO_UDP: 17, IPPROTO_IPV6: 41,
  SOL_SOCKET: 1, SOL_IP: 0, SOL_TCP: 6, SOL_IPV6: 41, SOL_UDP: 17,
  // SOL_SOCKET options
  SO_DEBUG: 1, SO_REUSEADDR: 2, SO_TYPE: 3, SO_ERROR: 4, SO_DONTROUTE: 5, SO_BROADCAST: 6,
  SO_SNDBUF: 7, SO_RCVBUF: 8, SO_KEEPALIVE: 9, SO_OOBINLINE: 10, SO_NO_CHECK: 11, SO_PRIORITY: 12,
  SO_LINGER: 13, SO_BSDCOMPAT: 14, SO_REUSEPORT: 15, SO_RCVLOWAT: 18, SO_SNDLOWAT: 19,
  SO_RCVTIMEO: 20, SO_SNDTIMEO: 21, SO_SNDBUFFORCE: 32, SO_RCVBUFFORCE: 33, SO_ACCEPTCONN: 30,
  SO_PROTOCOL: 38, SO_DOMAIN: 39, SO_ZEROCOPY: 60, SO_MARK: 36, SO_TIMESTAMP: 29, SO_TIMESTAMPING: 37,
  // The error queue (errqueue.h, net_tstamp.h)
  SCM_TIMESTAMPING: 37, SCM_TIMESTAMPING_OPT_STATS: 54, SCM_TSTAMP_SND: 0, SCM_TSTAMP_SCHED: 1, SCM_TSTAMP_ACK: 2,
  IP_RECVERR: 11, IPV6_RECVERR: 25,
  SO_EE_ORIGIN_TIMESTAMPING: 4, SO_EE_ORIGIN_ZEROCOPY: 5, SO_EE_CODE_ZEROCOPY_COPIED: 1,
  SOF_TIMESTAMPING_TX_HARDWARE: 0x1, SOF_TIMESTAMPING_TX_SOFTWARE: 0x2, SOF_TIMESTAMPING_RX_HARDWARE: 0x4,
  SOF_TIMESTAMPING_RX_SOFTWARE: 0x8, SOF_TIMESTAMPING_SOFTWARE: 0x10, SOF_TIMESTAMPING_SYS_HARDWARE: 0x20,
  SOF_TIMESTAMPING_RAW_HARDWARE: 0x40, SOF_TIMESTAMPING_OPT_ID: 0x80, SOF_TIMESTAMPING_TX_SCHED: 0x100,
  SOF_TIMESTAMPING_TX_ACK: 0x200, SOF_TIMESTAMPING_OPT_CMSG: 0x400, SOF_TIMESTAMPING_OPT_TSONLY: 0x800,
  SOF_TIMESTAMPING_OPT_STATS: 0x1000, SOF_TIMESTAMPING_OPT_ID_TCP: 0x10000,
  // IPPROTO_TCP options
  TCP_NODELAY: 1, TCP_MAXSEG: 2, TCP_CORK: 3, TCP_KEEPIDLE: 4, TCP_KEEPINTVL: 5, TCP_KEEPCNT: 6,
  TCP_SYNCNT: 7, TCP_LINGER2: 8, TCP_DEFER_ACCEPT: 9, TCP_WINDOW_CLAMP: 10, TCP_INFO: 11,
  TCP_QUICKACK: 12, TCP_CONGESTION: 13, TCP_MD5SIG: 14, TCP_THIN_LINEAR_TIMEOUTS: 16,
  TCP_THIN_DUPACK: 17, TCP_USER_TIMEOUT: 18, TCP_REPAIR: 19, TCP_FASTOPEN: 23, TCP_TIMESTAMP: 24,
  TCP_NOTSENT_LOWAT: 25, TCP_CC_INFO: 26, TCP_SAVE_SYN: 27, TCP_SAVED_SYN: 28, TCP_FASTOPEN_CONNECT: 30,
  TCP_ULP: 31, TCP_FASTOPEN_KEY: 33, TCP_FASTOPEN_NO_COOKIE: 34, TCP_ZEROCOPY_RECEIVE: 35, TCP_INQ: 36, TCP_TX_DELAY: 37,
  // IPPROTO_IP / IPPROTO_IPV6 options
  IP_TOS: 1, IP_MTU_DISCOVER: 10, IP_MTU: 14, IP_FREEBIND: 15, IPV6_MTU_DISCOVER: 23, IPV6_MTU: 24, IPV6_TCLASS: 67,
  IP_PMTUDISC_DONT: 0, IP_PMTUDISC_WANT: 1, IP_PMTUDISC_DO: 2, IP_PMTUDISC_PROBE: 3,
  TCP_CM_INQ: 36,
  // fcntl
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_NONBLOCK: 0x800, O_CLOEXEC: 0x80000,
  F_DUPFD: 0, F_GETFD: 1, F_SETFD: 2, F_GETFL: 3, F_SETFL: 4, FD_CLOEXEC: 1,
  // shutdown
  SHUT_RD: 0, SHUT_WR: 1, SHUT_RDWR: 2,
  // poll
  POLLIN: 0x1, POLLPRI: 0x2, POLLOUT: 0x4, POLLERR: 0x8, POLLHUP: 0x10, POLLNVAL: 0x20,
  POLLRDNORM: 0x40, POLLRDBAND: 0x80, POLLWRNORM: 0x100, POLLWRBAND: 0x200, POLLMSG: 0x400,
  POLLREMOVE: 0x1000, POLLRDHUP: 0x2000,
  // epoll
  EPOLLIN: 0x1, EPOLLPRI: 0x2, EPOLLOUT: 0x4, EPOLLERR: 0x8, EPOLLHUP: 0x10, EPOLLRDNORM: 0x40,
  EPOLLRDBAND: 0x80, EPOLLWRNORM: 0x100, EPOLLWRBAND: 0x200, EPOLLMSG: 0x400, EPOLLRDHUP: 0x2000,
  EPOLLEXCLUSIVE: 0x10000000, EPOLLONESHOT: 0x40000000, EPOLLET: 0x80000000,
  EPOLL_CTL_ADD: 1, EPOLL_CTL_DEL: 2, EPOLL_CTL_MOD: 3,
  // send/recv flags
  MSG_OOB: 0x1, MSG_PEEK: 0x2, MSG_DONTROUTE: 0x4, MSG_CTRUNC: 0x8, MSG_PROXY: 0x10, MSG_TRUNC: 0x20,
  MSG_DONTWAIT: 0x40, MSG_EOR: 0x80, MSG_WAITALL: 0x100, MSG_FIN: 0x200, MSG_SYN: 0x400,
  MSG_CONFIRM: 0x800, MSG_RST: 0x1000, MSG_ERRQUEUE: 0x2000, MSG_NOSIGNAL: 0x4000, MSG_MORE: 0x8000,
  MSG_FASTOPEN: 0x20000000, MSG_ZEROCOPY: 0x4000000, MSG_CMSG_CLOEXEC: 0x40000000,
  // splice
  SPLICE_F_MOVE: 1, SPLICE_F_NONBLOCK: 2, SPLICE_F_MORE: 4, SPLICE_F_GIFT: 8,
  // ioctl
  FIONREAD: 0x541b, SIOCINQ: 0x541b, SIOCOUTQ: 0x5411, SIOCOUTQNSD: 0x894b,
  // errno names are symbols too (getsockopt(..., SO_ERROR, [ECONNRESET], [4]))
  ...Object.fromEntries(Object.entries(ERRNOS).map(([k, [n]]) => [k, n])),
};

/** The names of the set bits of a poll mask, as packetdrill prints them ("POLLIN|POLLOUT", or "0"). */
export function pollFlagsToString(mask: number): string {
  const names = ['POLLIN', 'POLLPRI', 'POLLOUT', 'POLLRDNORM', 'POLLRDBAND', 'POLLWRNORM', 'POLLWRBAND', 'POLLMSG', 'POLLREMOVE', 'POLLRDHUP', 'POLLERR', 'POLLHUP', 'POLLNVAL'];
  const parts: string[] = [];
  let rest = mask;
  for (const n of names) {
    const bit = SYMBOLS[n]!;
    if (rest & bit) {
      parts.push(n);
      rest &= ~bit;
    }
  }
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.length === 0 ? '0' : parts.join('|');
}
