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
import { formatExpr, type Expr, type SyscallSpec } from './ast.ts';
import { SyscallError, checkCmsgHeader, type Outcome, type Prepared } from './call-types.ts';
import { cStringBytes } from './cstring.ts';
import { errqueueRecvmsg } from './errqueue-calls.ts';
import { SYMBOLS, pollFlagsToString } from './symbols.ts';
import { EpollInstance, epollTable, type EpollData } from './epoll.ts';
import { scriptFiles } from './files.ts';
import { pipeCall, pipeClose, pipeEnds, pipeFcntl, pipeRead, pipeWrite, spliceCall, type PipeEnd } from './pipes.ts';
import { writerWakeups } from './blocking.ts';
import { RECV_FLAGS, cmsgLen, cmsgSpace, recvAttempts, recvmsgControl, type Cmsg } from './recv-calls.ts';
import { socketFamily } from './ip-version.ts';
import { callDeadline, timeoutGetter, timeoutSetter, type Deadline, type TimeoutOption } from './sock-timeouts.ts';
import { type ScriptSocket, type SyscallHost } from './sockets.ts';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { SocketError, type Endpoint } from '../../stack/socket/types.ts';

export { SyscallError, type Outcome, type Prepared } from './call-types.ts';
export { cStringBytes } from './cstring.ts';

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
const MSG_MORE = SYMBOLS.MSG_MORE!;
const MSG_EOR = SYMBOLS.MSG_EOR!;
const MSG_FASTOPEN = SYMBOLS.MSG_FASTOPEN!;
const MSG_ZEROCOPY = SYMBOLS.MSG_ZEROCOPY!;
const MSG_OOB = SYMBOLS.MSG_OOB!;
const O_NONBLOCK = SYMBOLS.O_NONBLOCK!;
const SOCK_NONBLOCK = SYMBOLS.SOCK_NONBLOCK!;
const SOCK_CLOEXEC = SYMBOLS.SOCK_CLOEXEC!;

function symbolName(prefix: string, value: number): string {
  for (const [k, v] of Object.entries(SYMBOLS)) if (k.startsWith(prefix) && v === value) return k;
  return String(value);
}

function checkFlags(name: string, flags: number, allowed: number): void {
  if (flags & ~allowed) {
    throw new SyscallError(`${name}() flags 0x${(flags >>> 0).toString(16)} are not supported by tcpstack pkt (only MSG_DONTWAIT, MSG_NOSIGNAL${name.startsWith('recv') ? ', MSG_WAITALL' : ', MSG_MORE, MSG_EOR, MSG_ZEROCOPY, MSG_FASTOPEN, MSG_OOB'})`);
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

/** A call that may block until `deadline` (SO_RCVTIMEO or SO_SNDTIMEO, sock-timeouts.ts): the runner attempts it again then. */
const until = (deadline: Deadline, step: () => Outcome | undefined): Prepared => ({ mode: 'exact', step, wakeAt: deadline.at });

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
  // inet_csk_accept: a blocking accept waits at most SO_RCVTIMEO (inet_csk_wait_for_connect), then EAGAIN.
  const deadline = callDeadline(host, ep, 'SO_RCVTIMEO', s.nonblock);
  return {
    mode: 'fd',
    wakeAt: deadline.at,
    step: () => {
      let child: Endpoint | null;
      try {
        child = ep.accept();
      } catch (e) {
        return fail(e);
      }
      if (child === null) return deadline.nonblocking() ? { ret: -1, errno: 'EAGAIN' } : undefined;
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
    if (family !== SYMBOLS.AF_UNSPEC) throw new SyscallError(`connect() to a bare ${symbolName('AF_', family)} address is not supported by tcpstack pkt (AF_UNSPEC disconnects)`);
    ellipsisArg(args, 2);
    return disconnectCall(s);
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
  // __inet_stream_connect, over the endpoint's state; a blocking call waits
  // at most SO_SNDTIMEO (sock_sndtimeo), then returns its EINPROGRESS or
  // EALREADY while the handshake goes on.
  const deadline = callDeadline(host, ep, 'SO_SNDTIMEO', s.nonblock);
  return until(deadline, () => {
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
    if (st === 'SYN_SENT' || st === 'SYN_RECV') return deadline.nonblocking() ? { ret: -1, errno: err } : undefined;
    if (st === 'CLOSED') {
      s.sockState = 'unconnected';
      return { ret: -1, errno: ep.getError() ?? 'ECONNABORTED' };
    }
    s.sockState = 'connected';
    return { ret: 0 };
  });
};

/**
 * connect(fd, AF_UNSPEC, ...): __inet_stream_connect disconnects
 * (tcp_disconnect) and the socket is unconnected again; packetdrill's
 * run_syscall_connect makes its socket new, so that a later connect()
 * starts a fresh story.
 */
function disconnectCall(s: ScriptSocket): Prepared {
  const ep = endpointOf(s);
  s.state = 'NEW';
  return exact(() => {
    if (!(ep instanceof TcpEndpoint)) throw new SyscallError('connect(AF_UNSPEC) needs a TCP endpoint');
    try {
      ep.disconnect();
    } catch (e) {
      return fail(e);
    }
    s.sockState = 'unconnected';
    return { ret: 0 };
  });
}

/** tcp_recvmsg's wait: none for O_NONBLOCK or MSG_DONTWAIT, else at most SO_RCVTIMEO (sock_rcvtimeo). */
function recvDeadline(host: SyscallHost, s: ScriptSocket, flags: number): Deadline {
  return callDeadline(host, endpointOf(s), 'SO_RCVTIMEO', s.nonblock || (flags & MSG_DONTWAIT) !== 0);
}

function readCall(name: string, s: ScriptSocket, count: number, flags: number, isNull: boolean, host: SyscallHost): Prepared {
  if (flags & ~RECV_FLAGS) throw new SyscallError(`${name}() flags 0x${(flags >>> 0).toString(16)} are not supported by tcpstack pkt (MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, MSG_DONTWAIT, MSG_NOSIGNAL)`);
  const deadline = recvDeadline(host, s, flags);
  return until(deadline, recvAttempts({ ep: endpointOf(s), count, flags, deadline, isNull }));
}

/** iovec_new: the iovecs' total length; `iovlen` (msg_iovlen, readv's count) must match the array. */
function iovecTotal(list: Expr, iovlen: number, what: string): number {
  if (list.type !== 'list') throw new SyscallError(`Bad type; actual: ${typeName(list)} expected: list`);
  let total = 0;
  for (const item of list.items) {
    if (item.type !== 'iovec') throw new SyscallError(`Bad type; actual: ${typeName(item)} expected: iovec`);
    total += s32Value(item.len);
  }
  if (iovlen !== list.items.length) throw new SyscallError(`${what} ${iovlen} does not match ${list.items.length}-element iovec array`);
  return total;
}

const sysReadv: Impl = (host, args) => {
  checkArgCount(args, 3);
  const s = socketOf(host, s32Arg(args, 0));
  const count = iovecTotal(arg(args, 1), s32Arg(args, 2), 'iov_count');
  return readCall('readv', s, count, 0, false, host);
};

/** cmsg_new: a script's expected control message (an int's, the only cmsg_data a TCP recvmsg here returns). */
function expectedCmsg(e: Expr): Cmsg {
  if (e.type !== 'cmsg') throw new SyscallError(`Bad type; actual: ${typeName(e)} expected: cmsg`);
  if (e.data.type === 'unsupported') throw new SyscallError(`cmsg_data ${e.data.what} is not supported by tcpstack pkt (an int's only)`);
  if (e.data.type === 'scmTimestamping' || e.data.type === 'extendedErr') {
    throw new SyscallError(`cmsg_data ${formatExpr(e.data)} is not supported by tcpstack pkt without MSG_ERRQUEUE (tcp_recvmsg's only cmsg here is TCP_CM_INQ)`);
  }
  return { level: s32Value(e.level), type: s32Value(e.ctype), len: cmsgLen(4), data: s32Value(e.data) };
}

const hex8 = (n: number): string => (n >>> 0).toString(16).toUpperCase().padStart(8, '0');

/**
 * recvmsg(fd, {msg_name(...)=..., msg_iov(N)=[...], msg_flags=F, msg_control=[...]}, flags):
 * after the result, packetdrill checks msg_flags and the control messages
 * (cmsg_expect_eq) against the ones the script wrote, whose sizes make the
 * control buffer's length (cmsg_new).
 */
const sysRecvmsg: Impl = (host, args) => {
  checkArgCount(args, 3);
  const s = socketOf(host, s32Arg(args, 0));
  const msg = arg(args, 1);
  if (msg.type !== 'msghdr') throw new SyscallError(`Bad type; actual: ${typeName(msg)} expected: msghdr`);
  const count = iovecTotal(msg.iov, msg.iovlen, 'msg_iovlen');
  const expectedFlags = s32Value(msg.flags);
  const flags = s32Arg(args, 2);
  if (flags & SYMBOLS.MSG_ERRQUEUE!) {
    const ep = endpointOf(s);
    if (!(ep instanceof TcpEndpoint)) throw new SyscallError('recvmsg(MSG_ERRQUEUE) needs a TCP endpoint');
    return errqueueRecvmsg(ep, { count, expectedFlags, control: msg.control, flags, toleranceUsecs: host.toleranceUsecs }, s32Value);
  }
  const expected = msg.control.map(expectedCmsg);
  const controllen = expected.reduce((sum) => sum + cmsgSpace(4), 0);
  if (flags & ~RECV_FLAGS) throw new SyscallError(`recvmsg() flags 0x${(flags >>> 0).toString(16)} are not supported by tcpstack pkt (MSG_OOB, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, MSG_DONTWAIT, MSG_NOSIGNAL)`);
  const ep = endpointOf(s);
  const deadline = recvDeadline(host, s, flags);
  const attempt = recvAttempts({ ep, count, flags, deadline, isNull: false });
  let control = recvmsgControl(undefined, controllen);
  let msgFlags = 0;
  return {
    mode: 'exact',
    wakeAt: deadline.at,
    step: () => {
      const o = attempt();
      msgFlags = o?.msgFlags ?? 0;
      // tcp_recvmsg puts TCP_CM_INQ after a call that did not fail.
      if (o !== undefined && o.ret >= 0) control = recvmsgControl(ep instanceof TcpEndpoint ? ep.inqHint() : undefined, controllen);
      return o;
    },
    after: (o) => {
      // A failed recvmsg writes nothing back: the script's own msghdr compares equal.
      if (o.ret < 0) return;
      const actualFlags = control.flags | msgFlags | (flags & SYMBOLS.MSG_CMSG_CLOEXEC!);
      if (actualFlags !== expectedFlags) throw new SyscallError(`Expected msg_flags 0x${hex8(expectedFlags)} but got 0x${hex8(actualFlags)}`);
      const actual = control.cmsgs;
      const n = Math.min(actual.length, expected.length);
      for (let i = 0; i < n; i++) {
        const a = actual[i]!;
        const e = expected[i]!;
        checkCmsgHeader(i, a, e);
        if (a.data !== e.data) throw new SyscallError(`Bad data in cmsg ${i}: expected=${e.data} actual=${a.data}`);
      }
      if (actual.length > n) throw new SyscallError(`received more than ${n} cmsgs`);
      if (expected.length > n) throw new SyscallError(`received only ${n} cmsgs`);
    },
  };
};

/**
 * write/send/sendto/sendmsg/writev: tcp_sendmsg with the flags TCP acts on
 * (MSG_MORE, MSG_EOR, MSG_ZEROCOPY, MSG_FASTOPEN: tcp_sendmsg_fastopen),
 * MSG_DONTWAIT and MSG_NOSIGNAL (no SIGPIPE here either way); a blocking
 * call waits for room and goes on until all is taken, its later parts
 * marked as the same call (one zerocopy id, one timestamp key), at most
 * SO_SNDTIMEO (sock_sndtimeo): then it returns the bytes taken so far, or
 * EAGAIN (sk_stream_wait_memory, sk_stream_wait_connect). `fastOpenCapable`:
 * whether MSG_FASTOPEN or a deferred connect() make it a Fast Open write
 * (writev and sendfile here never are).
 */
function writeCall(
  name: string,
  s: ScriptSocket,
  count: number,
  flags: number,
  isNull: boolean,
  host: SyscallHost,
  pieces?: readonly number[],
  fastOpenCapable = true,
): Prepared {
  checkFlags(name, flags, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE | MSG_EOR | MSG_ZEROCOPY | MSG_FASTOPEN | MSG_OOB);
  const ep = endpointOf(s);
  const nonblock = s.nonblock || (flags & MSG_DONTWAIT) !== 0;
  const sendFlags = { more: (flags & MSG_MORE) !== 0, eor: (flags & MSG_EOR) !== 0, zerocopy: (flags & MSG_ZEROCOPY) !== 0, oob: (flags & MSG_OOB) !== 0 };
  const plain = !sendFlags.more && !sendFlags.eor && !sendFlags.zerocopy && !sendFlags.oob;
  if (!plain && !(ep instanceof TcpEndpoint)) throw new SyscallError(`${name}() with MSG_MORE, MSG_EOR, MSG_ZEROCOPY or MSG_OOB needs a TCP endpoint`);
  const send = (data: Uint8Array): number =>
    ep instanceof TcpEndpoint ? ep.sendmsg(data, { ...sendFlags, continued: written > 0, pieces: sendFlags.zerocopy ? piecesAfter(pieces ?? [count], written) : undefined }) : ep.write(data);
  let written = 0;
  const woken = writerWakeups(ep);
  // tcp_sendmsg_locked: MSG_FASTOPEN, or any write after a deferred connect(), goes through tcp_sendmsg_fastopen first.
  const fastOpen = fastOpenCapable && ep instanceof TcpEndpoint && ((flags & MSG_FASTOPEN) !== 0 || ep.connectDeferred);
  let phase: 'fastopen' | 'wait' | 'write' = fastOpen ? 'fastopen' : 'write';
  // The Fast Open connect's wait has its own SO_SNDTIMEO (__inet_stream_connect);
  // tcp_sendmsg_locked takes a fresh one for the rest once it is connected.
  let deadline = callDeadline(host, ep, 'SO_SNDTIMEO', nonblock);
  const step = (): Outcome | undefined => {
    if (phase === 'fastopen') {
      let r: { copied: number } | 'connected';
      try {
        // A caller that will not wait (a zero timeout too) does not hold the handshake's ACK back (sk_write_pending).
        r = (ep as TcpEndpoint).sendFastOpen(new Uint8Array(count), host.connectAddress, host.connectPort, !deadline.nonblocking(), isNull, sendFlags.zerocopy);
      } catch (e) {
        return fail(e);
      }
      if (r === 'connected') {
        phase = 'write'; // MSG_FASTOPEN on a connected socket: an ordinary write
      } else {
        if (s.sockState === 'unconnected') s.sockState = 'connecting';
        written = r.copied;
        const st = ep.state;
        if (deadline.nonblocking() && (st === 'SYN_SENT' || st === 'SYN_RECV')) return written > 0 ? { ret: written } : { ret: -1, errno: 'EINPROGRESS' };
        phase = 'wait';
      }
    }
    if (phase === 'wait') {
      // __inet_stream_connect's wait (inet_wait_for_connect), then the rest as any write.
      const st = ep.state;
      if (st === 'SYN_SENT' || st === 'SYN_RECV') {
        if (!deadline.expired()) return undefined;
        // Timed out: the SYN's bytes, else EINPROGRESS (tcp_sendmsg_locked); the writer no longer waits (sk_write_pending).
        (ep as TcpEndpoint).stopWaitingForConnect();
        return written > 0 ? { ret: written } : { ret: -1, errno: 'EINPROGRESS' };
      }
      if (st === 'CLOSED') {
        s.sockState = 'unconnected';
        return { ret: -1, errno: ep.getError() ?? 'ECONNABORTED' };
      }
      s.sockState = 'connected';
      phase = 'write';
      if (written >= count) return { ret: count };
      deadline = callDeadline(host, ep, 'SO_SNDTIMEO', nonblock);
    }
    // sk_stream_wait_memory at its timeout: EAGAIN before it looks for room again; tcp_sendmsg_locked returns what it took, if anything.
    if (deadline.expired()) return written > 0 ? { ret: written } : { ret: -1, errno: 'EAGAIN' };
    if (!woken()) return undefined;
    for (;;) {
      let n: number;
      try {
        if (isNull && count > 0) {
          send(new Uint8Array(0)); // the checks (errors, EPIPE) come before the copy
          return { ret: -1, errno: 'EFAULT' };
        }
        n = send(new Uint8Array(count - written));
      } catch (e) {
        if (written > 0) return { ret: written };
        return fail(e);
      }
      written += n;
      if (written >= count) return { ret: count };
      if (n === 0) {
        if (deadline.nonblocking()) return written > 0 ? { ret: written } : { ret: -1, errno: 'EAGAIN' };
        return undefined;
      }
      if (deadline.nonblocking()) return { ret: written };
    }
  };
  return {
    mode: 'exact',
    step,
    get wakeAt() {
      return deadline.at;
    },
  };
}

/** The buffers of a write still to go once `written` bytes were taken (empty ones dropped). */
function piecesAfter(pieces: readonly number[], written: number): number[] {
  const rest: number[] = [];
  let skip = written;
  for (const p of pieces) {
    const n = p - Math.min(p, skip);
    skip -= p - n;
    if (n > 0) rest.push(n);
  }
  return rest;
}

/** The lengths of a `[{..., N}, ...]` array's buffers (iovecBytes has checked it). */
function iovecLengths(e: Expr): number[] {
  return e.type === 'list' ? e.items.map((item) => (item.type === 'iovec' ? s32Value(item.len) : 0)) : [];
}

/** iovec_new: the bytes of a `[{..., N}, ...]` array (each buffer `...`, zero-filled). */
function iovecBytes(e: Expr, what: string, count: number): number {
  if (e.type !== 'list') throw new SyscallError(`Bad type; actual: ${typeName(e)} expected: list`);
  if (count !== e.items.length) throw new SyscallError(`${what} ${count} does not match ${e.items.length}-element iovec array`);
  let total = 0;
  for (const item of e.items) {
    if (item.type !== 'iovec') throw new SyscallError(`Bad type; actual: ${typeName(item)} expected: iovec`);
    const len = s32Value(item.len);
    if (len < 0) throw new SyscallError(`iovec length ${len} is not supported by tcpstack pkt`);
    total += len;
  }
  return total;
}

/**
 * sendmsg(fd, {msg_name(...)=..., msg_iov(N)=[...], msg_flags=0}, flags):
 * the iovecs' bytes as one write (tcp_sendmsg copies them in order; empty
 * ones add nothing). msg_name is `...`, so, as sendto, a new socket starts
 * its story here (run_syscall_connect); TCP ignores the address of a
 * connected socket. msg_flags must be 0 (packetdrill's own check), and no
 * control message is one TCP takes.
 */
const sysSendmsg: Impl = (host, args) => {
  checkArgCount(args, 3);
  const s = socketOf(host, s32Arg(args, 0));
  const msg = arg(args, 1);
  if (msg.type !== 'msghdr') throw new SyscallError(`Bad type; actual: ${typeName(msg)} expected: msghdr`);
  const count = iovecBytes(msg.iov, 'msg_iovlen', msg.iovlen);
  if (msg.control.length > 0) {
    throw new SyscallError('sendmsg() control messages (msg_control) are not supported by tcpstack pkt');
  }
  const flags = s32Arg(args, 2);
  startStory(host, s);
  if (s32Value(msg.flags) !== 0) throw new SyscallError('sendmsg ignores msg_flags field in msghdr');
  return writeCall('sendmsg', s, count, flags, false, host, iovecLengths(msg.iov));
};

/** writev(fd, [{..., N}, ...], count): one write of the iovecs' bytes. */
const sysWritev: Impl = (host, args) => {
  checkArgCount(args, 3);
  const s = socketOf(host, s32Arg(args, 0));
  const iov = arg(args, 1);
  const count = iovecBytes(iov, 'iov_count', s32Arg(args, 2));
  return writeCall('writev', s, count, 0, false, host, undefined, false);
};

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

/** read() and write() on a pipe end go to the pipe (pipes.ts). */
function pipeOr(impl: Impl, onPipe: (p: PipeEnd, count: number) => Prepared): Impl {
  return (host, args, expected) => {
    const fd = args[0];
    const p = fd !== undefined && (fd.type === 'int' || fd.type === 'word') ? pipeEnds(host).get(intValue(fd)) : undefined;
    if (p === undefined) return impl(host, args, expected);
    checkArgCount(args, 3);
    bufferArg(args, 1);
    return onPipe(p, s32Arg(args, 2));
  };
}

const sysRead = pipeOr(bufferCall('read', 3, readCall), pipeRead);
const sysRecv = bufferCall('recv', 4, readCall);
const sysRecvfrom = bufferCall('recvfrom', 6, readCall);
const sysWrite = pipeOr(bufferCall('write', 3, writeCall), pipeWrite);
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
  startStory(host, s);
  return writeCall('sendto', s, count, flags, isNull, host);
};

/** run_syscall_connect(must_be_new = false), for sendto and sendmsg with an address: a new socket starts its story here. */
function startStory(host: SyscallHost, s: ScriptSocket): void {
  if (s.state !== 'NEW') return;
  s.state = 'ACTIVE_CONNECTING';
  s.script.remoteIp = s.script.localIp = 0;
  s.script.remotePort = s.script.localPort = 0;
  s.live.remoteIp = host.remoteIp;
  s.live.remotePort = host.connectPort;
}

const sysClose: Impl = (host, args) => {
  checkArgCount(args, 1);
  const files = scriptFiles(host).fds;
  const fd = s32Arg(args, 0);
  if (pipeEnds(host).has(fd)) return pipeClose(host, fd);
  if (files.has(fd)) return exact(() => (files.delete(fd) ? { ret: 0 } : { ret: -1, errno: 'EBADF' }));
  const s = socketOf(host, fd);
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
  const cmd = s32Arg(args, 1);
  const value = args.length === 3 ? s32Arg(args, 2) : 0;
  const pipeEnd = pipeEnds(host).get(s32Arg(args, 0));
  if (pipeEnd !== undefined) return pipeFcntl(pipeEnd, cmd, value);
  const s = socketOf(host, s32Arg(args, 0));
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
  if (level === SYMBOLS.SOL_IP) return symbolName('IP_', name);
  if (level === SYMBOLS.SOL_IPV6) return symbolName('IPV6_', name);
  return `level ${level} option ${name}`;
}

/** Integer options set and read through the TCP endpoint's own setsockopt/getsockopt (stack/tcp/sock.ts). */
type EndpointIntOption = 'TCP_CORK' | 'TCP_MAXSEG' | 'TCP_NOTSENT_LOWAT' | 'IP_TOS' | 'IPV6_TCLASS' | 'IP_MTU_DISCOVER' | 'IPV6_MTU_DISCOVER' | 'TCP_FASTOPEN_CONNECT' | 'TCP_FASTOPEN_NO_COOKIE';
const ENDPOINT_INT_OPTIONS: ReadonlyArray<readonly [number, number, EndpointIntOption]> = [
  [IPPROTO_TCP, SYMBOLS.TCP_CORK!, 'TCP_CORK'],
  [IPPROTO_TCP, SYMBOLS.TCP_FASTOPEN_CONNECT!, 'TCP_FASTOPEN_CONNECT'],
  [IPPROTO_TCP, SYMBOLS.TCP_FASTOPEN_NO_COOKIE!, 'TCP_FASTOPEN_NO_COOKIE'],
  [IPPROTO_TCP, SYMBOLS.TCP_MAXSEG!, 'TCP_MAXSEG'],
  [IPPROTO_TCP, SYMBOLS.TCP_NOTSENT_LOWAT!, 'TCP_NOTSENT_LOWAT'],
  [SYMBOLS.SOL_IP!, SYMBOLS.IP_TOS!, 'IP_TOS'],
  [SYMBOLS.SOL_IPV6!, SYMBOLS.IPV6_TCLASS!, 'IPV6_TCLASS'],
  [SYMBOLS.SOL_IP!, SYMBOLS.IP_MTU_DISCOVER!, 'IP_MTU_DISCOVER'],
  [SYMBOLS.SOL_IPV6!, SYMBOLS.IPV6_MTU_DISCOVER!, 'IPV6_MTU_DISCOVER'],
];

/** packetdrill has no IPV6_FREEBIND symbol: scripts write its number. */
const IPV6_FREEBIND = 78;

/**
 * Boolean options of the TCP endpoint, given and read as an int, and the
 * least optlen setsockopt takes (sk_setsockopt and do_ipv6_setsockopt want
 * an int; do_ip_setsockopt's IP_FREEBIND a byte).
 */
const ENDPOINT_BOOL_OPTIONS: ReadonlyArray<readonly [number, number, 'SO_OOBINLINE' | 'IP_FREEBIND' | 'IPV6_FREEBIND', number]> = [
  [SOL_SOCKET, SYMBOLS.SO_OOBINLINE!, 'SO_OOBINLINE', 4],
  [SYMBOLS.SOL_IP!, SYMBOLS.IP_FREEBIND!, 'IP_FREEBIND', 1],
  [SYMBOLS.SOL_IPV6!, IPV6_FREEBIND, 'IPV6_FREEBIND', 4],
];

function endpointBoolOption(ep: Endpoint, level: number, name: number): (typeof ENDPOINT_BOOL_OPTIONS)[number] | undefined {
  const found = ENDPOINT_BOOL_OPTIONS.find(([l, n]) => l === level && n === name);
  if (found !== undefined && !(ep instanceof TcpEndpoint)) throw new SyscallError(`${found[2]} needs a TCP endpoint`);
  return found;
}

function endpointIntOption(ep: Endpoint, level: number, name: number): EndpointIntOption | undefined {
  const found = ENDPOINT_INT_OPTIONS.find(([l, n]) => l === level && n === name);
  if (found === undefined) return undefined;
  if (!(ep instanceof TcpEndpoint)) throw new SyscallError(`${found[2]} needs a TCP endpoint`);
  return found[2];
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
  } else if (endpointIntOption(ep, level, name) !== undefined) {
    const key = endpointIntOption(ep, level, name)!;
    const v = int();
    apply = () => {
      const tcp = ep as TcpEndpoint;
      // TCP_CORK is a boolean to the kernel (any non-zero value corks).
      if (key === 'TCP_CORK') tcp.setsockopt(key, v !== 0);
      else tcp.setsockopt(key, v);
    };
  } else if (endpointBoolOption(ep, level, name) !== undefined) {
    const [, , key, minLen] = endpointBoolOption(ep, level, name)!;
    const v = int();
    const optlen = s32Arg(args, 4);
    apply = () => {
      if (optlen < minLen) throw new SocketError('EINVAL', 'setsockopt');
      // do_ip_setsockopt reads a shorter value as a byte.
      (ep as TcpEndpoint).setsockopt(key, (optlen < 4 ? v & 0xff : v) !== 0);
    };
  } else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_CONGESTION) {
    if (val.type !== 'string') throw new SyscallError(`TCP_CONGESTION takes a string, not ${typeName(val)}`);
    // do_tcp_setsockopt: the name is the first optlen bytes (at most TCP_CA_NAME_MAX - 1).
    const caName = val.value.slice(0, Math.max(0, Math.min(s32Arg(args, 4), TCP_CA_NAME_MAX - 1)));
    apply = () => {
      if (!(ep instanceof TcpEndpoint)) throw new SyscallError('TCP_CONGESTION needs a TCP endpoint');
      ep.setCongestionControl(caName);
    };
  } else if (RECV_OPTIONS.some(([l, n]) => l === level && n === name)) {
    apply = recvOptionSetter(ep, level, name, int);
  } else if (timeoutOption(level, name) !== undefined) {
    apply = timeoutSetter(ep, timeoutOption(level, name)!, val, s32Arg(args, 4));
  } else if (level === SOL_SOCKET && (name === SYMBOLS.SO_ZEROCOPY || name === SYMBOLS.SO_TIMESTAMPING)) {
    apply = errqueueOptionSetter(ep, name, int());
  } else if (level === SOL_SOCKET && name === SYMBOLS.SO_MARK) {
    // sk_setsockopt: CAP_NET_ADMIN, which the runner has as packetdrill runs as root.
    const v = int();
    apply = () => {
      o.mark = v >>> 0;
    };
  } else if (level === IPPROTO_TCP && (name === SYMBOLS.TCP_FASTOPEN || name === SYMBOLS.TCP_FASTOPEN_KEY)) {
    apply = fastOpenSetsockopt(ep, name, val, s32Arg(args, 4), int);
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
  const timeout = timeoutOption(level, name);
  if (timeout !== undefined) return timeoutGetter(ep, timeout, val, optlen, () => bracketedArg(args, 3));
  let read: () => number;
  /** The most bytes the option gives back: an int's 4, TCP_INFO's whole struct tcp_info (more than a script's [4] ever asks). */
  let size = 4;
  if (level === IPPROTO_TCP && name === SYMBOLS.TCP_INFO) {
    // packetdrill compares the first 4 bytes as an s32: tcpi_state, tcpi_ca_state, tcpi_retransmits, tcpi_probes (little-endian).
    size = Number.MAX_SAFE_INTEGER;
    read = () => {
      const v = ep.tcpInfo().values;
      return (Number(v.tcpi_state) | (Number(v.tcpi_ca_state) << 8) | (Number(v.tcpi_retransmits) << 16) | (Number(v.tcpi_probes) << 24)) | 0;
    };
  } else if (level === SOL_SOCKET && name === SYMBOLS.SO_ERROR) {
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
  else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_FASTOPEN) read = () => tcpEndpoint(ep, 'TCP_FASTOPEN').fastOpenQueueLength;
  else if (level === IPPROTO_TCP && name === SYMBOLS.TCP_LINGER2) {
    read = () => (o.linger2 === undefined || o.linger2 === 0 ? sys.tcp_fin_timeout : o.linger2 < 0 ? -1 : o.linger2);
  } else if (endpointIntOption(ep, level, name) !== undefined) {
    const key = endpointIntOption(ep, level, name)!;
    read = () => {
      const v = (ep as TcpEndpoint).getsockopt(key);
      return typeof v === 'boolean' ? (v ? 1 : 0) : v | 0;
    };
  } else if (endpointBoolOption(ep, level, name) !== undefined) {
    const [, , key] = endpointBoolOption(ep, level, name)!;
    read = () => {
      // do_ipv6_getsockopt: IPV6_FREEBIND of an IPv4 socket is ENOPROTOOPT, as setting it.
      if (key === 'IPV6_FREEBIND' && ep.family !== 6) throw new SocketError('ENOPROTOOPT', 'getsockopt');
      return (ep as TcpEndpoint).getsockopt(key) ? 1 : 0;
    };
  } else if ((level === SYMBOLS.SOL_IP && name === SYMBOLS.IP_MTU) || (level === SYMBOLS.SOL_IPV6 && name === SYMBOLS.IPV6_MTU)) {
    if (!(ep instanceof TcpEndpoint)) throw new SyscallError('IP_MTU needs a TCP endpoint');
    read = () => ep.pathMtu;
  } else if (RECV_OPTIONS.some(([l, n]) => l === level && n === name)) {
    read = () => recvOptionValue(ep, name);
  } else if (level === SOL_SOCKET && (name === SYMBOLS.SO_ZEROCOPY || name === SYMBOLS.SO_TIMESTAMPING)) {
    if (!(ep instanceof TcpEndpoint)) throw new SyscallError(`getsockopt(${optionName(level, name)}) needs a TCP endpoint`);
    read = () => (name === SYMBOLS.SO_ZEROCOPY ? ep.getsockopt('SO_ZEROCOPY') : ep.getsockopt('SO_TIMESTAMPING') | 0);
  } else if (level === SOL_SOCKET && name === SYMBOLS.SO_MARK) {
    read = () => o.mark | 0;
  } else {
    throw new SyscallError(`getsockopt(${optionName(level, name)}) is not supported by tcpstack pkt`);
  }
  if (val.type !== 'list') throw new SyscallError(`unsupported getsockopt value type: ${typeName(val)}`);
  let actual = 0;
  return exact(
    () => {
      try {
        actual = read();
      } catch (e) {
        return fail(e);
      }
      return { ret: 0 };
    },
    () => {
      // An int option's length comes back as min(optlen, 4), TCP_INFO's as min(optlen, sizeof(struct tcp_info)).
      const liveLen = Math.min(optlen, size);
      if (liveLen !== optlen) throw new SyscallError(`Bad getsockopt optlen: expected: ${optlen} actual: ${liveLen}`);
      if (optlen !== 4) throw new SyscallError(`Unsupported getsockopt optlen: ${optlen}`);
      const expectedValue = bracketedArg(args, 3);
      if (actual !== expectedValue) throw new SyscallError(`Bad getsockopt optval: expected: ${expectedValue} actual: ${actual}`);
    },
  );
};

/**
 * SOF_TIMESTAMPING_* flags whose effect the stack does not model: receive
 * timestamps (RX_SOFTWARE: SCM_TIMESTAMPING on data read), OPT_CMSG
 * (IP_PKTINFO with a timestamp), OPT_STATS (SCM_TIMESTAMPING_OPT_STATS),
 * OPT_PKTINFO, BIND_PHC (a hardware clock) and TX_COMPLETION (a device's
 * completion stamp).
 */
const UNMODELLED_TSFLAGS = 0x8 | 0x400 | 0x1000 | 0x2000 | 0x8000 | 0x40000;

/** setsockopt SO_ZEROCOPY or SO_TIMESTAMPING (an int) on a TCP endpoint; its checks and errnos are the stack's (sk_setsockopt, sock_set_timestamping). */
function errqueueOptionSetter(ep: Endpoint, name: number, v: number): () => void {
  if (!(ep instanceof TcpEndpoint)) throw new SyscallError(`setsockopt(${optionName(SOL_SOCKET, name)}) needs a TCP endpoint`);
  if (name === SYMBOLS.SO_ZEROCOPY) return () => ep.setsockopt('SO_ZEROCOPY', v);
  // An unknown bit is EINVAL from the stack before any flag is looked at.
  if (v & UNMODELLED_TSFLAGS && !(v & ~0x7ffff)) {
    throw new SyscallError(`SO_TIMESTAMPING flags 0x${(v & UNMODELLED_TSFLAGS).toString(16)} are not supported by tcpstack pkt`);
  }
  return () => ep.setsockopt('SO_TIMESTAMPING', v);
}

/** SO_RCVTIMEO and SO_SNDTIMEO (sock-timeouts.ts): a struct timeval, not an int. */
function timeoutOption(level: number, name: number): TimeoutOption | undefined {
  if (level !== SOL_SOCKET) return undefined;
  return name === SYMBOLS.SO_RCVTIMEO ? 'SO_RCVTIMEO' : name === SYMBOLS.SO_SNDTIMEO ? 'SO_SNDTIMEO' : undefined;
}

/** The receive side's options, set and read on a TCP endpoint. */
const RECV_OPTIONS: ReadonlyArray<readonly [number, number]> = [
  [SOL_SOCKET, SYMBOLS.SO_RCVLOWAT!],
  [IPPROTO_TCP, SYMBOLS.TCP_INQ!],
  [IPPROTO_TCP, SYMBOLS.TCP_QUICKACK!],
  [IPPROTO_TCP, SYMBOLS.TCP_DEFER_ACCEPT!],
];

/** setsockopt of a receive-side option (an int). */
function recvOptionSetter(ep: Endpoint, level: number, name: number, int: () => number): () => void {
  if (!(ep instanceof TcpEndpoint)) throw new SyscallError(`setsockopt(${optionName(level, name)}) needs a TCP endpoint`);
  const v = int();
  if (level === IPPROTO_TCP && name === SYMBOLS.TCP_INQ) {
    // do_tcp_setsockopt: 0 or 1.
    return () => {
      if (v < 0 || v > 1) throw new SocketError('EINVAL', 'setsockopt');
      ep.setsockopt('TCP_INQ', v === 1);
    };
  }
  if (name === SYMBOLS.SO_RCVLOWAT) return () => ep.setsockopt('SO_RCVLOWAT', v);
  if (name === SYMBOLS.TCP_QUICKACK) return () => ep.setsockopt('TCP_QUICKACK', v);
  return () => ep.setsockopt('TCP_DEFER_ACCEPT', v);
}

/** getsockopt of a receive-side option as an int. */
function recvOptionValue(ep: Endpoint, name: number): number {
  if (!(ep instanceof TcpEndpoint)) throw new SyscallError('getsockopt needs a TCP endpoint');
  switch (name) {
    case SYMBOLS.SO_RCVLOWAT:
      return ep.getsockopt('SO_RCVLOWAT');
    case SYMBOLS.TCP_INQ:
      return ep.getsockopt('TCP_INQ') ? 1 : 0;
    case SYMBOLS.TCP_QUICKACK:
      return ep.getsockopt('TCP_QUICKACK');
    case SYMBOLS.TCP_DEFER_ACCEPT:
      return ep.getsockopt('TCP_DEFER_ACCEPT');
    default:
      return 0;
  }
}

function tcpEndpoint(ep: Endpoint, what: string): TcpEndpoint {
  if (!(ep instanceof TcpEndpoint)) throw new SyscallError(`${what} needs a TCP endpoint`);
  return ep;
}

/**
 * The server side of Fast Open: TCP_FASTOPEN's queue length (an int), and
 * TCP_FASTOPEN_KEY's key bytes, the first optlen bytes of the script's
 * string (16, or 32 with a backup; else EINVAL from the stack).
 */
function fastOpenSetsockopt(ep: Endpoint, name: number, val: Expr, optlen: number, int: () => number): () => void {
  if (name === SYMBOLS.TCP_FASTOPEN) {
    const v = int();
    return () => tcpEndpoint(ep, 'TCP_FASTOPEN').setFastOpen(v);
  }
  if (val.type !== 'string') throw new SyscallError(`TCP_FASTOPEN_KEY takes a string, not ${typeName(val)}`);
  const bytes = cStringBytes(val.value);
  const key = new Uint8Array(Math.max(0, optlen));
  key.set(bytes.subarray(0, key.length));
  return () => tcpEndpoint(ep, 'TCP_FASTOPEN_KEY').setFastOpenKey(key);
}

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

/** An epoll_event argument: its events and data, an fd given as the live fd it stands for (get_epoll_event_from_expr). */
function epollEvent(host: SyscallHost, e: Expr, scriptFd: number | undefined): { events: number; data: EpollData } {
  if (e.type !== 'epollev') throw new SyscallError(`Bad type; actual: ${typeName(e)} expected: epollev`);
  const events = intValue(e.events) >>> 0;
  let value = intValue(e.value);
  if (e.field === 'fd') {
    if (scriptFd !== undefined && value !== scriptFd) throw new SyscallError('wrong fd specified in epoll_event');
    value = socketOf(host, value).liveFd;
  }
  return { events, data: { field: e.field, value } };
}

function epollOf(host: SyscallHost, fd: number): EpollInstance {
  const e = epollTable(host).get(fd);
  if (e === undefined) throw new SyscallError(`unable to find fd with script fd ${fd}`);
  return e;
}

/**
 * open(PATH, FLAGS[, MODE]): a file of the run's own (files.ts: made by the
 * script's `dd` line), read-only; ENOENT when there is none.
 */
const sysOpen: Impl = (host, args, expected) => {
  if (args.length < 2 || args.length > 3) throw new SyscallError(`open() takes 2 or 3 arguments, not ${args.length}`);
  const path = arg(args, 0);
  if (path.type !== 'string') throw new SyscallError(`Bad type; actual: ${typeName(path)} expected: string`);
  const flags = s32Arg(args, 1);
  if ((flags & 3) !== SYMBOLS.O_RDONLY!) throw new SyscallError('open() for writing is not supported by tcpstack pkt (files are read-only)');
  const files = scriptFiles(host);
  return {
    mode: 'fd',
    wakeAt: undefined,
    step: () => (files.paths.has(path.value) ? { ret: host.allocLiveFd() } : { ret: -1, errno: 'ENOENT' }),
    after: (o) => {
      if (o.ret < 0) return;
      if (host.findByScriptFd(expected) || epollTable(host).has(expected) || files.fds.has(expected)) throw new SyscallError(`duplicate fd ${expected} in script`);
      files.fds.set(expected, { path: path.value, data: files.paths.get(path.value)! });
    },
  };
};

/**
 * sendfile(OUT, IN, [OFFSET], COUNT): the file's bytes from OFFSET, at most
 * COUNT, written to the socket as write() writes them (do_sendfile's splice
 * into tcp_sendmsg; a blocking socket waits for room).
 */
const sysSendfile: Impl = (host, args) => {
  checkArgCount(args, 4);
  const s = socketOf(host, s32Arg(args, 0));
  const file = scriptFiles(host).fds.get(s32Arg(args, 1));
  if (file === undefined) throw new SyscallError(`sendfile() from script fd ${s32Arg(args, 1)}, which is no open file`);
  const off = arg(args, 2);
  let offset = 0;
  if (off.type === 'list' && off.items.length === 1) offset = s32Value(off.items[0]!);
  else if (!(off.type === 'word' && off.name === 'NULL')) throw new SyscallError('sendfile() offset: [N] or NULL');
  const count = Math.max(0, Math.min(s32Arg(args, 3), file.data.length - offset));
  return writeCall('sendfile', s, count, 0, false, host, undefined, false);
};

const sysEpollCreate: Impl = (host, args, expected) => {
  checkArgCount(args, 1);
  const size = s32Arg(args, 0);
  return {
    mode: 'fd',
    wakeAt: undefined,
    // epoll_create: the size is only checked to be positive.
    step: () => (size <= 0 ? { ret: -1, errno: 'EINVAL' } : { ret: host.allocLiveFd() }),
    after: (o) => {
      if (o.ret < 0) return;
      if (host.findByScriptFd(expected) || epollTable(host).has(expected)) throw new SyscallError(`duplicate fd ${expected} in script`);
      epollTable(host).set(expected, new EpollInstance(linuxPollMask));
    },
  };
};

const sysEpollCtl: Impl = (host, args) => {
  checkArgCount(args, 4);
  const epoll = epollOf(host, s32Arg(args, 0));
  const op = s32Arg(args, 1);
  const fd = s32Arg(args, 2);
  const target = socketOf(host, fd);
  const ep = endpointOf(target);
  const { events, data } = epollEvent(host, arg(args, 3), fd);
  const name = op === SYMBOLS.EPOLL_CTL_ADD ? 'add' : op === SYMBOLS.EPOLL_CTL_MOD ? 'mod' : op === SYMBOLS.EPOLL_CTL_DEL ? 'del' : undefined;
  return exact(() => {
    if (name === undefined) return { ret: -1, errno: 'EINVAL' };
    const errno = epoll.control(name, fd, ep, events, data, () => !target.closed);
    return errno === undefined ? { ret: 0 } : { ret: -1, errno };
  });
};

/** epoll_wait: packetdrill checks the first event returned (all zero when none) against the script's one. */
const sysEpollWait: Impl = (host, args) => {
  checkArgCount(args, 4);
  const epoll = epollOf(host, s32Arg(args, 0));
  const expected = epollEvent(host, arg(args, 1), undefined);
  const max = s32Arg(args, 2);
  const timeout = s32Arg(args, 3);
  if (max <= 0) throw new SyscallError(`epoll_wait() with maxevents ${max} is not supported by tcpstack pkt`);
  const start = host.now();
  const wakeAt = timeout > 0 ? start + timeout * 1000 : undefined;
  let first: { events: number; data: EpollData } | undefined;
  return {
    mode: 'exact',
    wakeAt,
    step: () => {
      const got = epoll.harvest(max);
      first = got[0];
      if (got.length > 0 || timeout === 0 || (wakeAt !== undefined && host.now() >= wakeAt)) return { ret: got.length };
      return undefined;
    },
    after: () => {
      const actualEvents = first?.events ?? 0;
      if (actualEvents !== expected.events) {
        throw new SyscallError(`epoll_event->events does not match script: expected: 0x${expected.events.toString(16)} actual: 0x${actualEvents.toString(16)}`);
      }
      const actualValue = first?.data.value ?? 0;
      if (actualValue !== expected.data.value) {
        throw new SyscallError(`epoll_event->data does not match script: expected: ${expected.data.value} actual: ${actualValue}`);
      }
    },
  };
};

/** SIOCATMARK (packetdrill has no symbol for it: scripts write 0x8905). */
const SIOCATMARK = 0x8905;

const sysIoctl: Impl = (host, args) => {
  if (args.length !== 3) throw new SyscallError(`ioctl expected 3 args but got ${args.length} (tcpstack pkt runs SIOCINQ/FIONREAD, SIOCOUTQ and SIOCOUTQNSD)`);
  const s = socketOf(host, s32Arg(args, 0));
  const cmd = s32Arg(args, 1);
  const expectedValue = bracketedArg(args, 2);
  const ep = endpointOf(s);
  let read: () => number;
  if (cmd === SYMBOLS.SIOCINQ) read = () => (ep instanceof TcpEndpoint ? ep.inq() : ep.readableBytes); // tcp_inq: 0 during the handshake
  else if (cmd === SYMBOLS.SIOCOUTQ) read = () => ep.info().sendQ;
  else if (cmd === SYMBOLS.SIOCOUTQNSD && ep instanceof TcpEndpoint) read = () => ep.unsentBytes;
  else if (cmd === SIOCATMARK && ep instanceof TcpEndpoint) read = () => (ep.atMark() ? 1 : 0);
  else throw new SyscallError(`ioctl command 0x${(cmd >>> 0).toString(16)} is not supported by tcpstack pkt (SIOCINQ, FIONREAD, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK)`);
  let actual = 0;
  return exact(
    () => {
      // tcp_ioctl: EINVAL on a listener, except for SIOCATMARK.
      if (ep.state === 'LISTEN' && cmd !== SIOCATMARK) return { ret: -1, errno: 'EINVAL' };
      actual = read();
      return { ret: 0 };
    },
    () => {
      if (actual !== expectedValue) throw new SyscallError(`Bad ioctl optval: expected: ${expectedValue} actual: ${actual}`);
    },
  );
};

/** pipe([R, W]): an in-memory pipe (pipes.ts). */
const sysPipe: Impl = (host, args) =>
  pipeCall(host, args, (fd) => host.findByScriptFd(fd) !== undefined || epollTable(host).has(fd) || scriptFiles(host).fds.has(fd));

/** splice(IN, OFF_IN, OUT, OFF_OUT, LEN, FLAGS) between a TCP socket and a pipe (pipes.ts). */
const sysSplice: Impl = (host, args) => {
  checkArgCount(args, 6);
  const end = (i: number): PipeEnd | ScriptSocket => pipeEnds(host).get(s32Arg(args, i)) ?? socketOf(host, s32Arg(args, i));
  return spliceCall({
    from: end(0),
    offIn: intValue(arg(args, 1)),
    to: end(2),
    offOut: intValue(arg(args, 3)),
    len: s32Arg(args, 4),
    flags: s32Arg(args, 5),
    write: (s, count, flags) => writeCall('splice', s, count, flags, false, host),
    rcvDeadline: (s) => callDeadline(host, endpointOf(s), 'SO_RCVTIMEO', s.nonblock),
  });
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
  recvmsg: sysRecvmsg,
  readv: sysReadv,
  write: sysWrite,
  send: sysSend,
  sendto: sysSendto,
  open: sysOpen,
  sendfile: sysSendfile,
  sendmsg: sysSendmsg,
  writev: sysWritev,
  close: sysClose,
  shutdown: sysShutdown,
  fcntl: sysFcntl,
  setsockopt: sysSetsockopt,
  getsockopt: sysGetsockopt,
  poll: sysPoll,
  ioctl: sysIoctl,
  epoll_create: sysEpollCreate,
  epoll_ctl: sysEpollCtl,
  epoll_wait: sysEpollWait,
  pipe: sysPipe,
  splice: sysSplice,
};

/** packetdrill calls that exist there but not here (a clearer message than "Unknown system call"). */
const NOT_HERE = new Set(['cap_set', 'psp_rx_assoc', 'psp_tx_assoc']);

export function prepareSyscall(host: SyscallHost, call: SyscallSpec, expected: number): Prepared {
  const impl = TABLE[call.name];
  if (!impl) {
    if (NOT_HERE.has(call.name)) throw new SyscallError(`${call.name}() is not supported by tcpstack pkt`);
    throw new SyscallError(`Unknown system call: '${call.name}'`);
  }
  return impl(host, call.args, expected);
}
