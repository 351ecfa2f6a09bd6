/**
 * The system calls of packet scripts, carried out on our stack's Endpoint
 * with Linux's results and errnos, and packetdrill's argument conventions
 * (run_system_call.c): `...` for addresses (bind() binds the configured
 * local address and port 8080, connect() goes to the remote address, port
 * 8080; both in the family --ip_version gives sockets, v4-mapped in
 * ipv4-mapped-ipv6), `...` for socket()'s domain (AF_INET, or AF_INET6 in
 * both IPv6 flavours), buffers are `...` (zero-filled), fd numbers are the
 * script's own (mapped to the ones the runner hands out), and accept()
 * takes the connection the script's packets set up.
 *
 * Every call is prepared once (arguments checked, fds looked up) and then
 * attempted; an attempt that would block on a blocking socket returns
 * undefined and is attempted again whenever the stack changed, which is how
 * the runner emulates a blocking call in virtual time.
 */
import type { Expr, SyscallSpec } from './ast.ts';
import { SYMBOLS, pollFlagsToString } from './symbols.ts';
import { socketFamily } from './ip-version.ts';
import { type ScriptSocket, type SyscallHost } from './sockets.ts';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { SocketError, type Endpoint } from '../../stack/socket/types.ts';

/** A finished call: its return value and errno (errno only when it failed). */
export interface Outcome {
  ret: number;
  errno?: string;
  /** accept(): the connection taken. */
  child?: Endpoint;
}

/** A call the runner cannot carry out or whose arguments are wrong: "runtime error in NAME call: ...". */
export class SyscallError extends Error {
  override readonly name = 'SyscallError';
}

export interface Prepared {
  /** CHECK_FD (socket, accept: any fd ≥ 0 matches a non-negative expected result) or CHECK_EXACT. */
  mode: 'exact' | 'fd';
  /** One attempt; undefined when it would block. */
  step(): Outcome | undefined;
  /** µs at which a blocked attempt times out on its own (poll); undefined: no timeout. */
  wakeAt: number | undefined;
  /** Runs once the result matched the script: fd bookkeeping and value checks (throws SyscallError). */
  after?(o: Outcome): void;
}

// ---------------------------------------------------------------------------
// Expressions

function typeName(e: Expr): string {
  switch (e.type) {
    case 'ellipsis':
      return 'ellipsis';
    case 'int':
    case 'word':
      return 'integer';
    case 'binary':
      return e.op === '|' ? 'integer' : 'binary_expression';
    case 'unsupported':
      return e.what;
    default:
      return e.type;
  }
}

/** The integer value of an expression (symbols resolved, | evaluated). */
export function intValue(e: Expr): number {
  switch (e.type) {
    case 'int':
      return e.value;
    case 'word': {
      const v = SYMBOLS[e.name];
      if (v === undefined) throw new SyscallError(`unknown symbol: '${e.name}'`);
      return v;
    }
    case 'binary':
      if (e.op === '|') {
        if (!isIntLike(e.lhs)) throw new SyscallError('left hand side of | not an integer');
        if (!isIntLike(e.rhs)) throw new SyscallError('right hand side of | not an integer');
        return (intValue(e.lhs) | intValue(e.rhs)) >>> 0;
      }
      break;
    default:
      break;
  }
  if (e.type === 'unsupported') throw new SyscallError(`${e.what} is not supported by tcpstack pkt`);
  throw new SyscallError(`Bad type; actual: ${typeName(e)} expected: integer`);
}

function isIntLike(e: Expr): boolean {
  return e.type === 'int' || e.type === 'word' || (e.type === 'binary' && e.op === '|');
}

/** get_s32: an integer that fits 32 bits, as a signed value. */
export function s32Value(e: Expr): number {
  const v = intValue(e);
  if (v > 0xffffffff || v < -0x80000000) throw new SyscallError(`Value out of range for 32-bit integer: ${v}`);
  return v | 0;
}

function checkArgCount(args: Expr[], expected: number): void {
  if (args.length !== expected) throw new SyscallError(`Expected ${expected} args but got ${args.length}`);
}

function arg(args: Expr[], i: number): Expr {
  const e = args[i];
  if (e === undefined) throw new SyscallError('Argument list too short');
  return e;
}

function s32Arg(args: Expr[], i: number): number {
  return s32Value(arg(args, i));
}

function isEllipsis(args: Expr[], i: number): boolean {
  return arg(args, i).type === 'ellipsis';
}

function ellipsisArg(args: Expr[], i: number): void {
  const e = arg(args, i);
  if (e.type !== 'ellipsis') throw new SyscallError(`Bad type; actual: ${typeName(e)} expected: ellipsis`);
}

/** [N]: a list holding one integer. */
function bracketedArg(args: Expr[], i: number): number {
  const e = arg(args, i);
  if (e.type !== 'list') throw new SyscallError(`Bad type; actual: ${typeName(e)} expected: list`);
  if (e.items.length !== 1) throw new SyscallError('Expected [<element>] but got multiple elements');
  return s32Value(e.items[0]!);
}

/** buffer_arg: `...` (a buffer) or 0 (NULL). */
function bufferArg(args: Expr[], i: number): { isNull: boolean } {
  const e = arg(args, i);
  if (e.type === 'ellipsis') return { isNull: false };
  if (isIntLike(e) && intValue(e) === 0) return { isNull: true };
  throw new SyscallError('Expected ... or NULL for buffer');
}

// ---------------------------------------------------------------------------

function fail(error: unknown): Outcome {
  if (error instanceof SocketError) return { ret: -1, errno: error.code };
  throw error;
}

function socketOf(host: SyscallHost, scriptFd: number): ScriptSocket {
  const s = host.findByScriptFd(scriptFd);
  if (!s) throw new SyscallError(`unable to find fd with script fd ${scriptFd}`);
  return s;
}

function endpointOf(s: ScriptSocket): Endpoint {
  if (!s.endpoint) throw new SyscallError(`script fd ${s.scriptFd} has no socket`);
  return s.endpoint;
}

const MSG_DONTWAIT = SYMBOLS.MSG_DONTWAIT!;
const MSG_NOSIGNAL = SYMBOLS.MSG_NOSIGNAL!;
const MSG_WAITALL = SYMBOLS.MSG_WAITALL!;
const MSG_FASTOPEN = SYMBOLS.MSG_FASTOPEN!;
const O_NONBLOCK = SYMBOLS.O_NONBLOCK!;
const SOCK_NONBLOCK = SYMBOLS.SOCK_NONBLOCK!;
const SOCK_CLOEXEC = SYMBOLS.SOCK_CLOEXEC!;

function symbolName(prefix: string, value: number): string {
  for (const [k, v] of Object.entries(SYMBOLS)) if (k.startsWith(prefix) && v === value) return k;
  return String(value);
}

function checkFlags(name: string, flags: number, allowed: number): void {
  if (flags & ~allowed) {
    throw new SyscallError(
      `${name}() flags 0x${(flags >>> 0).toString(16)} are not supported by tcpstack pkt (only MSG_DONTWAIT, MSG_NOSIGNAL${name.startsWith('recv') ? ', MSG_WAITALL' : ', MSG_FASTOPEN'})`,
    );
  }
}

/**
 * bind() or connect() with the configured address on a socket of the other
 * family (a script's explicit `socket(AF_INET, ...)` in an IPv6 flavour, or
 * the reverse): an AF_INET socket given a sockaddr_in6 is EAFNOSUPPORT
 * (inet_bind, tcp_v4_connect check sin_family); an AF_INET6 one given a
 * 16-byte sockaddr_in is EINVAL (inet6_bind and tcp_v6_connect want at
 * least SIN6_LEN_RFC2133 bytes).
 */
function familyMismatch(host: SyscallHost, s: ScriptSocket): Outcome | undefined {
  if (s.family === socketFamily(host.ipVersion)) return undefined;
  return { ret: -1, errno: s.family === 4 ? 'EAFNOSUPPORT' : 'EINVAL' };
}

// ---------------------------------------------------------------------------
// The calls

type Impl = (host: SyscallHost, args: Expr[], expected: number) => Prepared;

const exact = (step: () => Outcome | undefined, after?: (o: Outcome) => void): Prepared => ({ mode: 'exact', step, wakeAt: undefined, after });

const sysSocket: Impl = (host, args, expected) => {
  checkArgCount(args, 3);
  // syscall_socket: `...` is config->socket_domain.
  let family = socketFamily(host.ipVersion);
  if (!isEllipsis(args, 0)) {
    const domain = s32Arg(args, 0);
    if (domain === SYMBOLS.AF_INET) family = 4;
    else if (domain === SYMBOLS.AF_INET6) family = 6;
    else throw new SyscallError(`socket domain ${symbolName('AF_', domain)} is not supported (AF_INET and AF_INET6 only)`);
  }
  const type = s32Arg(args, 1);
  const protocol = s32Arg(args, 2);
  if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) !== SYMBOLS.SOCK_STREAM) {
    throw new SyscallError(`socket type ${symbolName('SOCK_', type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))} is not supported (SOCK_STREAM only)`);
  }
  if (protocol !== 0 && protocol !== SYMBOLS.IPPROTO_TCP) throw new SyscallError(`socket protocol ${protocol} is not supported (IPPROTO_TCP only)`);
  let ep: Endpoint | undefined;
  return {
    mode: 'fd',
    wakeAt: undefined,
    step: () => {
      ep = host.stack.tcp.socket(family);
      return { ret: host.allocLiveFd() };
    },
    after: (o) => {
      if (o.ret < 0) return;
      // run_syscall_socket
      if (expected < 0) throw new SyscallError(`invalid socket fd ${expected} in script`);
      if (host.findByScriptFd(expected)) throw new SyscallError(`duplicate fd ${expected} in script`);
      const s = host.newSocket();
      s.state = 'NEW';
      s.scriptFd = expected;
      s.liveFd = o.ret;
      s.endpoint = ep;
      s.family = family;
      s.nonblock = (type & SOCK_NONBLOCK) !== 0;
      host.socketUnderTest = s;
    },
  };
};

const sysBind: Impl = (host, args) => {
  checkArgCount(args, 3);
  const s = socketOf(host, s32Arg(args, 0));
  ellipsisArg(args, 1);
  ellipsisArg(args, 2);
  const ep = endpointOf(s);
  return exact(() => {
    const mismatch = familyMismatch(host, s);
    if (mismatch) return mismatch;
    try {
      ep.bind(host.bindAddress, host.bindPort);
      return { ret: 0 };
    } catch (e) {
      return fail(e);
    }
  });
};

const sysListen: Impl = (host, args) => {
  checkArgCount(args, 2);
  const s = socketOf(host, s32Arg(args, 0));
  const backlog = s32Arg(args, 1);
  const ep = endpointOf(s);
  return exact(
    () => {
      try {
        ep.listen(backlog);
        return { ret: 0 };
      } catch (e) {
        return fail(e);
      }
    },
    () => {
      s.state = 'PASSIVE_LISTENING';
    },
  );
};

function applyInheritedOptions(child: Endpoint, opts: ScriptSocket['opts']): void {
  if (child instanceof TcpEndpoint) {
    if (opts.linger2 !== undefined) child.setLinger2(opts.linger2);
    if (opts.synCnt !== undefined) child.setSynCount(opts.synCnt);
  }
}

const sysAccept: Impl = (host, args, expected) => {
  checkArgCount(args, 3);
  const s = socketOf(host, s32Arg(args, 0));
  ellipsisArg(args, 1);
  ellipsisArg(args, 2);
  const ep = endpointOf(s);
  return {
    mode: 'fd',
    wakeAt: undefined,
    step: () => {
      let child: Endpoint | null;
      try {
        child = ep.accept();
      } catch (e) {
        return fail(e);
      }
      if (child === null) return s.nonblock ? { ret: -1, errno: 'EAGAIN' } : undefined;
      return { ret: host.allocLiveFd(), child };
    },
    after: (o) => {
      if (o.ret < 0 || !o.child) return;
      // run_syscall_accept: the newest socket whose SYN-ACK was sent (and usually acked).
      const child = o.child;
      const match = host.sockets.find((x) => x.state === 'PASSIVE_SYNACK_SENT' || x.state === 'PASSIVE_SYNACK_ACKED');
      if (!match) throw new SyscallError('unable to find socket matching accept() call');
      if (match.live.remotePort !== child.remotePort) {
        throw new SyscallError(
          `accept() returned the connection from port ${child.remotePort}, but the script's connection is the one from port ${match.live.remotePort}`,
        );
      }
      match.scriptFd = expected;
      match.liveFd = o.ret;
      match.closed = false;
      match.endpoint = child;
      match.sockState = 'connected';
      match.opts = { ...s.opts };
      applyInheritedOptions(child, s.opts);
    },
  };
};

const sysConnect: Impl = (host, args) => {
  checkArgCount(args, 3);
  const s = socketOf(host, s32Arg(args, 0));
  if (!isEllipsis(args, 1)) {
    const family = s32Arg(args, 1);
    throw new SyscallError(`connect() to ${symbolName('AF_', family)} (disconnect) is not supported by tcpstack pkt`);
  }
  ellipsisArg(args, 2);
  const ep = endpointOf(s);
  // run_syscall_connect
  if (s.state === 'NEW') {
    s.state = 'ACTIVE_CONNECTING';
    s.script.remoteIp = s.script.localIp = 0;
    s.script.remotePort = s.script.localPort = 0;
    s.live.remoteIp = host.remoteIp;
    s.live.remotePort = host.connectPort;
  }
  let started = false;
  let err = 'EALREADY';
  // __inet_stream_connect, over the endpoint's state.
  return exact(() => {
    if (!started) {
      started = true;
      if (s.sockState === 'connected') return { ret: -1, errno: 'EISCONN' };
      // SS_CONNECTING with DEFER_CONNECT (TCP_FASTOPEN_CONNECT): "already connected".
      if (s.sockState === 'connecting' && ep instanceof TcpEndpoint && ep.connectDeferred) return { ret: -1, errno: 'EISCONN' };
      if (s.sockState === 'unconnected') {
        try {
          const mismatch = familyMismatch(host, s);
          if (mismatch) return mismatch;
          ep.connect(host.connectAddress, host.connectPort);
        } catch (e) {
          return fail(e);
        }
        // TCP_SYNCNT set before connect() reaches the new connection only now.
        if (ep instanceof TcpEndpoint) {
          if (s.opts.synCnt !== undefined) ep.setSynCount(s.opts.synCnt);
          if (s.opts.linger2 !== undefined) ep.setLinger2(s.opts.linger2);
        }
        s.sockState = 'connecting';
        err = 'EINPROGRESS';
        // tcp_fastopen_defer_connect: the SYN waits for the first write; connect() returns 0.
        if (ep instanceof TcpEndpoint && ep.connectDeferred) return { ret: 0 };
      }
    }
    const st = ep.state;
    if (st === 'SYN_SENT' || st === 'SYN_RECV') return s.nonblock ? { ret: -1, errno: err } : undefined;
    if (st === 'CLOSED') {
      s.sockState = 'unconnected';
      return { ret: -1, errno: ep.getError() ?? 'ECONNABORTED' };
    }
    s.sockState = 'connected';
    return { ret: 0 };
  });
};

function readCall(name: string, s: ScriptSocket, count: number, flags: number, isNull: boolean, _host?: SyscallHost): Prepared {
  checkFlags(name, flags, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_WAITALL);
  const ep = endpointOf(s);
  const nonblock = s.nonblock || (flags & MSG_DONTWAIT) !== 0;
  const waitAll = (flags & MSG_WAITALL) !== 0;
  let got = 0;
  return exact(() => {
    if (count <= 0) return { ret: 0 };
    for (;;) {
      if (isNull && ep.readableBytes > 0) return got > 0 ? { ret: got } : { ret: -1, errno: 'EFAULT' };
      let data: Uint8Array | null;
      try {
        data = ep.read(count - got);
      } catch (e) {
        if (got > 0) return { ret: got };
        return fail(e);
      }
      if (data === null) {
        if (got > 0 && (!waitAll || nonblock)) return { ret: got };
        return nonblock ? { ret: -1, errno: 'EAGAIN' } : undefined;
      }
      if (data.length === 0) return { ret: got };
      got += data.length;
      if (got >= count || !waitAll) return { ret: got };
    }
  });
}

function writeCall(name: string, s: ScriptSocket, count: number, flags: number, isNull: boolean, host?: SyscallHost): Prepared {
  checkFlags(name, flags, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_FASTOPEN);
  const ep = endpointOf(s);
  const nonblock = s.nonblock || (flags & MSG_DONTWAIT) !== 0;
  let written = 0;
  // tcp_sendmsg_locked: MSG_FASTOPEN, or any write after a deferred connect(), goes through tcp_sendmsg_fastopen first.
  const fastOpen = host !== undefined && ep instanceof TcpEndpoint && ((flags & MSG_FASTOPEN) !== 0 || ep.connectDeferred);
  let phase: 'fastopen' | 'wait' | 'write' = fastOpen ? 'fastopen' : 'write';
  return exact(() => {
    if (phase === 'fastopen') {
      let r: { copied: number } | 'connected';
      try {
        r = (ep as TcpEndpoint).sendFastOpen(new Uint8Array(count), host!.connectAddress, host!.connectPort, !nonblock, isNull);
      } catch (e) {
        return fail(e);
      }
      if (r === 'connected') {
        phase = 'write'; // MSG_FASTOPEN on a connected socket: an ordinary write
      } else {
        if (s.sockState === 'unconnected') s.sockState = 'connecting';
        written = r.copied;
        const st = ep.state;
        if (nonblock && (st === 'SYN_SENT' || st === 'SYN_RECV')) return written > 0 ? { ret: written } : { ret: -1, errno: 'EINPROGRESS' };
        phase = 'wait';
      }
    }
    if (phase === 'wait') {
      // __inet_stream_connect's wait (inet_wait_for_connect), then the rest as any write.
      const st = ep.state;
      if (st === 'SYN_SENT' || st === 'SYN_RECV') return undefined;
      if (st === 'CLOSED') {
        s.sockState = 'unconnected';
        return { ret: -1, errno: ep.getError() ?? 'ECONNABORTED' };
      }
      s.sockState = 'connected';
      phase = 'write';
      if (written >= count) return { ret: count };
    }
    for (;;) {
      let n: number;
      try {
        if (isNull && count > 0) {
          ep.write(new Uint8Array(0)); // the checks (errors, EPIPE) come before the copy
          return { ret: -1, errno: 'EFAULT' };
        }
        n = ep.write(new Uint8Array(count - written));
      } catch (e) {
        if (written > 0) return { ret: written };
        return fail(e);
      }
      written += n;
      if (written >= count) return { ret: count };
      if (n === 0) {
        if (nonblock) return written > 0 ? { ret: written } : { ret: -1, errno: 'EAGAIN' };
        return undefined;
      }
      if (nonblock) return { ret: written };
    }
  });
}

/**
 * read/recv/recvfrom and write/send share one shape: fd, buffer, count, then
 * flags (recv, send, recvfrom) and two `...` address arguments (recvfrom).
 */
function bufferCall(name: string, argCount: 3 | 4 | 6, call: typeof readCall | typeof writeCall): Impl {
  return (host, args) => {
    checkArgCount(args, argCount);
    const s = socketOf(host, s32Arg(args, 0));
    const { isNull } = bufferArg(args, 1);
    for (let i = 4; i < argCount; i++) ellipsisArg(args, i);
    return call(name, s, s32Arg(args, 2), argCount > 3 ? s32Arg(args, 3) : 0, isNull, host);
  };
}

const sysRead = bufferCall('read', 3, readCall);
const sysRecv = bufferCall('recv', 4, readCall);
const sysRecvfrom = bufferCall('recvfrom', 6, readCall);
const sysWrite = bufferCall('write', 3, writeCall);
const sysSend = bufferCall('send', 4, writeCall);

const sysSendto: Impl = (host, args) => {
  checkArgCount(args, 6);
  const s = socketOf(host, s32Arg(args, 0));
  const { isNull } = bufferArg(args, 1);
  const count = s32Arg(args, 2);
  const flags = s32Arg(args, 3);
  if (!isEllipsis(args, 4)) {
    // tcp_sendmsg_fastopen: an AF_UNSPEC address is EOPNOTSUPP.
    if ((flags & MSG_FASTOPEN) !== 0 && s32Arg(args, 4) === SYMBOLS.AF_UNSPEC) return exact(() => ({ ret: -1, errno: 'EOPNOTSUPP' }));
    throw new SyscallError('sendto() with an address family is not supported by tcpstack pkt');
  }
  ellipsisArg(args, 5);
  // run_syscall_connect(must_be_new = false): a new socket starts its story here.
  if (s.state === 'NEW') {
    s.state = 'ACTIVE_CONNECTING';
    s.script.remoteIp = s.script.localIp = 0;
    s.script.remotePort = s.script.localPort = 0;
    s.live.remoteIp = host.remoteIp;
    s.live.remotePort = host.connectPort;
  }
  return writeCall('sendto', s, count, flags, isNull, host);
};

/**
 * sendmsg with a msghdr without control data (packetdrill's
 * `{msg_name(...)=..., msg_iov(N)=[{..., len}, ...], msg_flags=0}`): a
 * write of the iovecs' total, MSG_FASTOPEN included, as sendto.
 */
const sysSendmsg: Impl = (host, args) => {
  checkArgCount(args, 3);
  const s = socketOf(host, s32Arg(args, 0));
  const msg = arg(args, 1);
  if (msg.type === 'unsupported') throw new SyscallError(`sendmsg() with ${msg.what} is not supported by tcpstack pkt (a msghdr without control data only)`);
  if (msg.type !== 'msghdr') throw new SyscallError(`Bad type; actual: ${typeName(msg)} expected: msghdr`);
  let count = 0;
  for (const v of msg.iov) {
    if (v.type !== 'iovec') throw new SyscallError(`Bad type; actual: ${typeName(v)} expected: iovec`);
    count += s32Value(v.len);
  }
  const flags = s32Arg(args, 2);
  // run_syscall_connect(must_be_new = false), as for sendto.
  if (s.state === 'NEW') {
    s.state = 'ACTIVE_CONNECTING';
    s.script.remoteIp = s.script.localIp = 0;
    s.script.remotePort = s.script.localPort = 0;
    s.live.remoteIp = host.remoteIp;
    s.live.remotePort = host.connectPort;
  }
  return writeCall('sendmsg', s, count, flags, false, host);
};

const sysClose: Impl = (host, args) => {
  checkArgCount(args, 1);
  const s = socketOf(host, s32Arg(args, 0));
  const ep = endpointOf(s);
  // SO_LINGER with a time: close() waits (even on an O_NONBLOCK socket) while
  // our FIN is unacknowledged, at most that long (__tcp_close's sk_wait_event).
  const lingerUs = s.opts.lingerOn && s.opts.lingerSecs > 0 ? s.opts.lingerSecs * 1_000_000 : 0;
  const start = host.now();
  let closed = false;
  return {
    mode: 'exact',
    wakeAt: lingerUs > 0 ? start + lingerUs : undefined,
    step: () => {
      if (!closed) {
        closed = true;
        ep.close();
      }
      const st = ep.state;
      const finPending = st === 'FIN_WAIT1' || st === 'CLOSING' || st === 'LAST_ACK';
      if (lingerUs > 0 && finPending && host.now() < start + lingerUs) return undefined;
      return { ret: 0 };
    },
    after: () => {
      s.closed = true;
    },
  };
};

const sysShutdown: Impl = (host, args) => {
  checkArgCount(args, 2);
  const s = socketOf(host, s32Arg(args, 0));
  const how = s32Arg(args, 1);
  const ep = endpointOf(s);
  return exact(() => {
    if (how < 0 || how > 2) return { ret: -1, errno: 'EINVAL' };
    try {
      ep.shutdown(how === 0 ? 'read' : how === 1 ? 'write' : 'both');
      return { ret: 0 };
    } catch (e) {
      return fail(e);
    }
  });
};

const sysFcntl: Impl = (host, args) => {
  if (args.length !== 2 && args.length !== 3) throw new SyscallError(`fcntl expected 2-3 args but got ${args.length}`);
  const s = socketOf(host, s32Arg(args, 0));
  const cmd = s32Arg(args, 1);
  const value = args.length === 3 ? s32Arg(args, 2) : 0;
  return exact(() => {
    switch (cmd) {
      case SYMBOLS.F_GETFL:
        return { ret: SYMBOLS.O_RDWR! | (s.nonblock ? O_NONBLOCK : 0) };
      case SYMBOLS.F_SETFL:
        s.nonblock = (value & O_NONBLOCK) !== 0;
        return { ret: 0 };
      case SYMBOLS.F_GETFD:
        return { ret: 0 };
      case SYMBOLS.F_SETFD:
        return { ret: 0 };
      default:
        throw new SyscallError(`fcntl command ${cmd} is not supported by tcpstack pkt (F_GETFL, F_SETFL)`);
    }
  });
};

const SOL_SOCKET = SYMBOLS.SOL_SOCKET!;
const IPPROTO_TCP = SYMBOLS.IPPROTO_TCP!;

function optionName(level: number, name: number): string {
  if (level === SOL_SOCKET) return symbolName('SO_', name);
  if (level === IPPROTO_TCP) return symbolName('TCP_', name);
  return `level ${level} option ${name}`;
}

const sysSetsockopt: Impl = (host, args) => {
  checkArgCount(args, 5);
  const s = socketOf(host, s32Arg(args, 0));
  const level = s32Arg(args, 1);
  const name = s32Arg(args, 2);
  s32Arg(args, 4);
  const val = arg(args, 3);
  const ep = endpointOf(s);
  const o = s.opts;
  const int = (): number => {
    if (val.type !== 'list') throw new SyscallError(`unsupported setsockopt value type: ${typeName(val)}`);
    return bracketedArg(args, 3);
  };
  let apply: () => void;
  if (level === SOL_SOCKET && name === SYMBOLS.SO_LINGER) {
    if (val.type !== 'linger') throw new SyscallError('SO_LINGER takes {onoff=N, linger=N}');
    apply = () => {
      ep.setLinger(val.onoff !== 0, val.linger);
      o.lingerOn = val.onoff !== 0;
      o.lingerSecs = val.linger;
    };
  } else if (level === SOL_SOCKET && name === SYMBOLS.SO_REUSEADDR) {
    const v = int();
    apply = () => {
      ep.setReuseAddress(v !== 0);
      o.reuseaddr = v !== 0;
    };
  } else if (level === SOL_SOCKET && name === SYMBOLS.SO_KEEPALIVE) {
    const v = int();
    apply = () => {
      ep.setKeepAlive(v !== 0);
      o.keepalive = v !== 0;
    };
  } else if (level === SOL_SOCKET && name === SYMBOLS.SO_RCVBUF) {
    const v = int();
    apply = () => ep.setReceiveBuffer(v);
  } else if (level === SOL_SOCKET && name === SYMBOLS.SO_SNDBUF) {
    const v = int();
    apply = () => ep.setSendBuffer(v);
  } else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_NODELAY) {
    const v = int();
    apply = () => {
      ep.setNoDelay(v !== 0);
      o.nodelay = v !== 0;
    };
  } else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_KEEPIDLE) {
    const v = int();
    apply = () => {
      ep.setKeepAlive(o.keepalive, v);
      o.keepIdle = v;
    };
  } else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_KEEPINTVL) {
    const v = int();
    apply = () => {
      ep.setKeepAlive(o.keepalive, undefined, v);
      o.keepIntvl = v;
    };
  } else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_KEEPCNT) {
    const v = int();
    apply = () => {
      ep.setKeepAlive(o.keepalive, undefined, undefined, v);
      o.keepCnt = v;
    };
  } else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_USER_TIMEOUT) {
    const v = int();
    apply = () => {
      ep.setUserTimeout(v);
      o.userTimeout = v;
    };
  } else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_SYNCNT) {
    const v = int();
    apply = () => {
      if (!(ep instanceof TcpEndpoint)) throw new SyscallError('TCP_SYNCNT needs a TCP endpoint');
      ep.setSynCount(v);
      o.synCnt = v;
    };
  } else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_LINGER2) {
    const v = int();
    apply = () => {
      if (!(ep instanceof TcpEndpoint)) throw new SyscallError('TCP_LINGER2 needs a TCP endpoint');
      ep.setLinger2(v);
      o.linger2 = v;
    };
  } else if (level === IPPROTO_TCP && (name === SYMBOLS.TCP_FASTOPEN_CONNECT || name === SYMBOLS.TCP_FASTOPEN_NO_COOKIE)) {
    const v = int();
    const option = name === SYMBOLS.TCP_FASTOPEN_CONNECT ? 'TCP_FASTOPEN_CONNECT' : 'TCP_FASTOPEN_NO_COOKIE';
    apply = () => {
      if (!(ep instanceof TcpEndpoint)) throw new SyscallError(`${option} needs a TCP endpoint`);
      ep.setsockopt(option, v);
    };
  } else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_CONGESTION) {
    if (val.type !== 'string') throw new SyscallError(`TCP_CONGESTION takes a string, not ${typeName(val)}`);
    // do_tcp_setsockopt: the name is the first optlen bytes (at most TCP_CA_NAME_MAX - 1).
    const caName = val.value.slice(0, Math.max(0, Math.min(s32Arg(args, 4), TCP_CA_NAME_MAX - 1)));
    apply = () => {
      if (!(ep instanceof TcpEndpoint)) throw new SyscallError('TCP_CONGESTION needs a TCP endpoint');
      ep.setCongestionControl(caName);
    };
  } else {
    throw new SyscallError(`setsockopt(${optionName(level, name)}) is not supported by tcpstack pkt`);
  }
  return exact(() => {
    try {
      apply();
      return { ret: 0 };
    } catch (e) {
      return fail(e);
    }
  });
};

const sysGetsockopt: Impl = (host, args) => {
  checkArgCount(args, 5);
  const s = socketOf(host, s32Arg(args, 0));
  const level = s32Arg(args, 1);
  const name = s32Arg(args, 2);
  const val = arg(args, 3);
  const optlen = bracketedArg(args, 4);
  const ep = endpointOf(s);
  const o = s.opts;
  const sys = host.stack.sysctl;
  if (level === IPPROTO_TCP && name === SYMBOLS.TCP_CONGESTION) return getCongestion(ep, val, optlen);
  let read: () => number;
  if (level === SOL_SOCKET && name === SYMBOLS.SO_ERROR) {
    read = () => {
      const e = ep.getError();
      return e === undefined ? 0 : (SYMBOLS[e] ?? -1);
    };
  } else if (level === SOL_SOCKET && name === SYMBOLS.SO_REUSEADDR) read = () => (o.reuseaddr ? 1 : 0);
  else if (level === SOL_SOCKET && name === SYMBOLS.SO_KEEPALIVE) read = () => (o.keepalive ? 1 : 0);
  else if (level === SOL_SOCKET && name === SYMBOLS.SO_TYPE) read = () => SYMBOLS.SOCK_STREAM!;
  else if (level === SOL_SOCKET && name === SYMBOLS.SO_RCVBUF) read = () => ep.receiveBuffer;
  else if (level === SOL_SOCKET && name === SYMBOLS.SO_SNDBUF) read = () => ep.sendBuffer;
  else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_NODELAY) read = () => (o.nodelay ? 1 : 0);
  else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_KEEPIDLE) read = () => o.keepIdle ?? sys.tcp_keepalive_time;
  else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_KEEPINTVL) read = () => o.keepIntvl ?? sys.tcp_keepalive_intvl;
  else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_KEEPCNT) read = () => o.keepCnt ?? sys.tcp_keepalive_probes;
  else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_USER_TIMEOUT) read = () => o.userTimeout;
  else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_SYNCNT) read = () => o.synCnt ?? sys.tcp_syn_retries;
  else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_LINGER2) {
    read = () => (o.linger2 === undefined || o.linger2 === 0 ? sys.tcp_fin_timeout : o.linger2 < 0 ? -1 : o.linger2);
  } else {
    throw new SyscallError(`getsockopt(${optionName(level, name)}) is not supported by tcpstack pkt`);
  }
  if (val.type !== 'list') throw new SyscallError(`unsupported getsockopt value type: ${typeName(val)}`);
  let actual = 0;
  return exact(
    () => {
      actual = read();
      return { ret: 0 };
    },
    () => {
      // An int option's length comes back as min(optlen, 4).
      const liveLen = Math.min(optlen, 4);
      if (liveLen !== optlen) throw new SyscallError(`Bad getsockopt optlen: expected: ${optlen} actual: ${liveLen}`);
      if (optlen !== 4) throw new SyscallError(`Unsupported getsockopt optlen: ${optlen}`);
      const expectedValue = bracketedArg(args, 3);
      if (actual !== expectedValue) throw new SyscallError(`Bad getsockopt optval: expected: ${expectedValue} actual: ${actual}`);
    },
  );
};

/** include/net/tcp.h: the size of a congestion control's name, its NUL included. */
const TCP_CA_NAME_MAX = 16;

/**
 * getsockopt(TCP_CONGESTION) as packetdrill checks it: do_tcp_getsockopt
 * copies min(optlen, TCP_CA_NAME_MAX) bytes of the NUL-padded name and
 * returns that length; the script's string must have optlen bytes and match.
 */
function getCongestion(ep: Endpoint, val: Expr, optlen: number): Prepared {
  if (val.type !== 'string') throw new SyscallError(`TCP_CONGESTION returns a string, not ${typeName(val)}`);
  let live = '';
  return exact(
    () => {
      if (!(ep instanceof TcpEndpoint)) throw new SyscallError('TCP_CONGESTION needs a TCP endpoint');
      live = ep.congestionControl.padEnd(TCP_CA_NAME_MAX, '\0').slice(0, Math.max(0, Math.min(optlen, TCP_CA_NAME_MAX)));
      return { ret: 0 };
    },
    () => {
      if (live.length !== optlen) throw new SyscallError(`Bad getsockopt optlen: expected: ${optlen} actual: ${live.length}`);
      if (val.value.length !== optlen) {
        throw new SyscallError(`Bad getsockopt optval: expected optlen (${optlen} bytes) does not match length of expected optval string '${val.value}' (${val.value.length} bytes)`);
      }
      if (live !== val.value) throw new SyscallError(`Bad getsockopt optval: expected: '${val.value}' actual: '${live.replace(/\0+$/, '')}'`);
    },
  );
}

const POLLERR = SYMBOLS.POLLERR!;
const POLLHUP = SYMBOLS.POLLHUP!;
const POLLNVAL = SYMBOLS.POLLNVAL!;

/** tcp_poll's mask: POLLIN comes with POLLRDNORM, POLLOUT with POLLWRNORM. */
function linuxPollMask(ep: Endpoint): number {
  let m = ep.poll();
  if (m & SYMBOLS.POLLIN!) m |= SYMBOLS.POLLRDNORM!;
  if (m & SYMBOLS.POLLOUT!) m |= SYMBOLS.POLLWRNORM!;
  return m;
}

const sysPoll: Impl = (host, args) => {
  checkArgCount(args, 3);
  const list = arg(args, 0);
  if (list.type !== 'list') throw new SyscallError(`Bad type; actual: ${typeName(list)} expected: list`);
  const fds = list.items.map((item) => {
    if (item.type !== 'pollfd') throw new SyscallError(`Bad type; actual: ${typeName(item)} expected: pollfd`);
    const s = socketOf(host, s32Value(item.fd));
    return { ep: endpointOf(s), events: s32Value(item.events), revents: s32Value(item.revents), actual: 0 };
  });
  const nfds = s32Arg(args, 1);
  const timeout = s32Arg(args, 2);
  if (nfds !== fds.length) throw new SyscallError(`nfds ${nfds} does not match ${fds.length}-element pollfd array`);
  const start = host.now();
  const wakeAt = timeout > 0 ? start + timeout * 1000 : undefined;
  return {
    mode: 'exact',
    wakeAt,
    step: () => {
      let ready = 0;
      for (const f of fds) {
        f.actual = linuxPollMask(f.ep) & (f.events | POLLERR | POLLHUP | POLLNVAL);
        if (f.actual !== 0) ready++;
      }
      if (ready > 0 || timeout === 0 || (wakeAt !== undefined && host.now() >= wakeAt)) return { ret: ready };
      return undefined;
    },
    after: () => {
      fds.forEach((f, i) => {
        if (f.actual !== f.revents) {
          throw new SyscallError(`Expected revents of ${pollFlagsToString(f.revents)} but got ${pollFlagsToString(f.actual)} for pollfd ${i}`);
        }
      });
    },
  };
};

const sysIoctl: Impl = (host, args) => {
  if (args.length !== 3) throw new SyscallError(`ioctl expected 3 args but got ${args.length} (tcpstack pkt runs SIOCINQ/FIONREAD and SIOCOUTQ)`);
  const s = socketOf(host, s32Arg(args, 0));
  const cmd = s32Arg(args, 1);
  const expectedValue = bracketedArg(args, 2);
  const ep = endpointOf(s);
  let read: () => number;
  if (cmd === SYMBOLS.SIOCINQ) read = () => ep.readableBytes;
  else if (cmd === SYMBOLS.SIOCOUTQ) read = () => ep.info().sendQ;
  else throw new SyscallError(`ioctl command 0x${(cmd >>> 0).toString(16)} is not supported by tcpstack pkt (SIOCINQ, FIONREAD, SIOCOUTQ)`);
  let actual = 0;
  return exact(
    () => {
      if (ep.state === 'LISTEN') return { ret: -1, errno: 'EINVAL' };
      actual = read();
      return { ret: 0 };
    },
    () => {
      if (actual !== expectedValue) throw new SyscallError(`Bad ioctl optval: expected: ${expectedValue} actual: ${actual}`);
    },
  );
};

const TABLE: Readonly<Record<string, Impl>> = {
  socket: sysSocket,
  bind: sysBind,
  listen: sysListen,
  accept: sysAccept,
  connect: sysConnect,
  read: sysRead,
  recv: sysRecv,
  recvfrom: sysRecvfrom,
  write: sysWrite,
  send: sysSend,
  sendto: sysSendto,
  sendmsg: sysSendmsg,
  close: sysClose,
  shutdown: sysShutdown,
  fcntl: sysFcntl,
  setsockopt: sysSetsockopt,
  getsockopt: sysGetsockopt,
  poll: sysPoll,
  ioctl: sysIoctl,
};

/** packetdrill calls that exist there but not here (a clearer message than "Unknown system call"). */
const NOT_HERE = new Set(['readv', 'recvmsg', 'writev', 'cap_set', 'open', 'sendfile', 'epoll_create', 'epoll_ctl', 'epoll_wait', 'pipe', 'splice', 'psp_rx_assoc', 'psp_tx_assoc']);

export function prepareSyscall(host: SyscallHost, call: SyscallSpec, expected: number): Prepared {
  const impl = TABLE[call.name];
  if (!impl) {
    if (NOT_HERE.has(call.name)) throw new SyscallError(`${call.name}() is not supported by tcpstack pkt`);
    throw new SyscallError(`Unknown system call: '${call.name}'`);
  }
  return impl(host, call.args, expected);
}
