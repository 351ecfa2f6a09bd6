/**
 * recvmsg(fd, ..., MSG_ERRQUEUE) in packet scripts: one message of the
 * socket's error queue (stack/tcp/errqueue.ts) as Linux returns it
 * (inet_recv_error → ip_recv_error or ipv6_recv_error: the socket's
 * family decides, so a v4-mapped socket gets SOL_IPV6), checked the way
 * packetdrill checks it (run_system_call.c: cmsg_new sizes the control
 * buffer from the script's cmsgs, cmsg_expect_eq compares level, type and
 * length, then the sock_extended_err field by field and the
 * scm_timestamping stamps within --tolerance_usecs; a stamp written as 0
 * is not compared).
 */
import { EXTENDED_ERR_FIELDS, type Expr, type ExtendedErrField } from './ast.ts';
import { cmsgLen, cmsgSpace } from './recv-calls.ts';
import { SYMBOLS } from './symbols.ts';
import { SyscallError, checkCmsgHeader, type Outcome, type Prepared } from './call-types.ts';
import type { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { SocketError } from '../../stack/socket/types.ts';
import type { ErrorQueueMessage } from '../../stack/tcp/errqueue.ts';

const SOL_SOCKET = SYMBOLS.SOL_SOCKET!;
const SOL_IP = SYMBOLS.SOL_IP!;
const SOL_IPV6 = SYMBOLS.SOL_IPV6!;
const SCM_TIMESTAMPING = SYMBOLS.SCM_TIMESTAMPING!;
const MSG_ERRQUEUE = SYMBOLS.MSG_ERRQUEUE!;
const MSG_TRUNC = SYMBOLS.MSG_TRUNC!;
const MSG_CTRUNC = SYMBOLS.MSG_CTRUNC!;
const MSG_DONTWAIT = SYMBOLS.MSG_DONTWAIT!;
const SOF_TIMESTAMPING_SOFTWARE = SYMBOLS.SOF_TIMESTAMPING_SOFTWARE!;
/** sizeof(struct scm_timestamping): three struct timespec. */
const SCM_TIMESTAMPING_SIZE = 48;
/** sizeof(struct sock_extended_err), and the offender address ip(v6)_recv_error appends. */
const EXTENDED_ERR_SIZE = 16;
const SOCKADDR_IN_SIZE = 16;
const SOCKADDR_IN6_SIZE = 28;

type ExtendedErrValues = Record<ExtendedErrField, number>;

/** A control message, expected or received: its data as packetdrill reads it. */
interface ErrCmsg {
  level: number;
  type: number;
  len: number;
  data: { kind: 'int'; value: number } | { kind: 'ts'; usecs: number } | { kind: 'ee'; ee: ExtendedErrValues };
}

/** cmsg_new: the script's cmsg and the space it takes in the control buffer. */
function expectedErrCmsg(e: Expr, s32Value: (e: Expr) => number): { cmsg: ErrCmsg; space: number } {
  if (e.type !== 'cmsg') throw new SyscallError(`Bad type; actual: ${e.type} expected: cmsg`);
  const level = s32Value(e.level);
  const type = s32Value(e.ctype);
  const d = e.data;
  let size: number;
  let data: ErrCmsg['data'];
  if (d.type === 'scmTimestamping') {
    size = SCM_TIMESTAMPING_SIZE;
    data = { kind: 'ts', usecs: d.sec * 1_000_000 + Math.trunc(d.nsec / 1000) };
    // ignore the stamp when the script wrote 0 (scm_timestamping_expect_eq)
    if (d.sec === 0 && d.nsec === 0) data = { kind: 'ts', usecs: -1 };
  } else if (d.type === 'extendedErr') {
    size = EXTENDED_ERR_SIZE + (level === SOL_IP ? SOCKADDR_IN_SIZE : SOCKADDR_IN6_SIZE);
    const ee = {} as ExtendedErrValues;
    for (const f of EXTENDED_ERR_FIELDS) ee[f] = s32Value(d.fields[f]);
    data = { kind: 'ee', ee };
  } else if (d.type === 'unsupported') {
    throw new SyscallError(`cmsg_data ${d.what} is not supported by tcpstack pkt`);
  } else {
    size = 4;
    data = { kind: 'int', value: s32Value(d) };
  }
  return { cmsg: { level, type, len: cmsgLen(size), data }, space: cmsgSpace(size) };
}

/**
 * The control messages a message of the error queue comes with, in the
 * order Linux puts them: SCM_TIMESTAMPING first (sock_recv_timestamp, when
 * the socket's flags now hold SOF_TIMESTAMPING_SOFTWARE and the message
 * has a stamp), then IP_RECVERR or IPV6_RECVERR.
 */
function actualErrCmsgs(ep: TcpEndpoint, m: ErrorQueueMessage): ErrCmsg[] {
  const out: ErrCmsg[] = [];
  if (m.timestamp !== undefined && ep.getsockopt('SO_TIMESTAMPING') & SOF_TIMESTAMPING_SOFTWARE) {
    out.push({ level: SOL_SOCKET, type: SCM_TIMESTAMPING, len: cmsgLen(SCM_TIMESTAMPING_SIZE), data: { kind: 'ts', usecs: Math.round(m.timestamp * 1000) } });
  }
  const v6 = ep.family === 6;
  const ee: ExtendedErrValues = { ee_errno: m.ee.errno, ee_origin: m.ee.origin, ee_type: m.ee.type, ee_code: m.ee.code, ee_info: m.ee.info, ee_data: m.ee.data };
  out.push({
    level: v6 ? SOL_IPV6 : SOL_IP,
    type: v6 ? SYMBOLS.IPV6_RECVERR! : SYMBOLS.IP_RECVERR!,
    len: cmsgLen(EXTENDED_ERR_SIZE + (v6 ? SOCKADDR_IN6_SIZE : SOCKADDR_IN_SIZE)),
    data: { kind: 'ee', ee },
  });
  return out;
}

/**
 * put_cmsg into a control buffer of `controllen` bytes: MSG_CTRUNC and
 * nothing once less than a cmsghdr is left; a message cut to what is left
 * (MSG_CTRUNC) otherwise.
 */
function fitControl(cmsgs: ErrCmsg[], controllen: number): { cmsgs: ErrCmsg[]; truncated: boolean } {
  let left = controllen;
  const fitted: ErrCmsg[] = [];
  for (const c of cmsgs) {
    if (left < cmsgLen(0)) return { cmsgs: fitted, truncated: true };
    if (left < c.len) {
      fitted.push({ ...c, len: left });
      return { cmsgs: fitted, truncated: true };
    }
    fitted.push(c);
    left -= Math.min(cmsgSpace(c.len - cmsgLen(0)), left);
  }
  return { cmsgs: fitted, truncated: false };
}

/** The sock_extended_err of an expected cmsg: an int written as its data fills ee_errno alone (its first 4 bytes). */
function asExtendedErr(d: ErrCmsg['data']): ExtendedErrValues | undefined {
  if (d.kind === 'ee') return d.ee;
  if (d.kind === 'int') return { ee_errno: d.value, ee_origin: 0, ee_type: 0, ee_code: 0, ee_info: 0, ee_data: 0 };
  return undefined;
}

/** sock_ee_expect_eq's messages: ee_errno and the others compared as unsigned. */
const EE_WORDS: Record<ExtendedErrField, string> = { ee_errno: 'errno', ee_origin: 'origin', ee_type: 'type', ee_code: 'code', ee_info: 'info', ee_data: 'data' };
const EE_BYTES: ReadonlySet<ExtendedErrField> = new Set(['ee_origin', 'ee_type', 'ee_code']);

/** cmsg_expect_eq over the received messages and the script's. */
function compareCmsgs(actual: ErrCmsg[], expected: ErrCmsg[], toleranceUsecs: number): void {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    checkCmsgHeader(i, a, e);
    if (a.data.kind === 'ee') {
      const ee = asExtendedErr(e.data);
      if (ee === undefined) throw new SyscallError(`cmsg ${i}: a timestamp where a sock_extended_err is due is not supported by tcpstack pkt`);
      for (const f of EXTENDED_ERR_FIELDS) {
        const mask = EE_BYTES.has(f) ? 0xff : 0xffffffff;
        const want = (ee[f] & mask) >>> 0;
        const got = (a.data.ee[f] & mask) >>> 0;
        if (want !== got) throw new SyscallError(`Bad ${EE_WORDS[f]} in extended err ${i}: expected=${want} actual=${got}`);
      }
    } else if (a.data.kind === 'ts') {
      if (e.data.kind !== 'ts') throw new SyscallError(`cmsg ${i}: an int where a scm_timestamping is due is not supported by tcpstack pkt`);
      if (e.data.usecs >= 0 && Math.abs(e.data.usecs - a.data.usecs) > toleranceUsecs) {
        throw new SyscallError(`Bad timestamp 0 in scm_timestamping ${i}: expected=${e.data.usecs} actual=${a.data.usecs}`);
      }
    }
  }
  if (actual.length > n) throw new SyscallError(`received more than ${n} cmsgs`);
  if (expected.length > n) throw new SyscallError(`received only ${n} cmsgs`);
}

/** A recvmsg(MSG_ERRQUEUE) call as the script wrote it. */
export interface ErrqueueRecvmsg {
  /** The iovecs' total length. */
  count: number;
  /** msg_flags as written (compared after the call). */
  expectedFlags: number;
  /** msg_control's cmsgs. */
  control: Expr[];
  /** recvmsg's flags argument. */
  flags: number;
  toleranceUsecs: number;
}

/**
 * recvmsg with MSG_ERRQUEUE: never blocks (EAGAIN when the queue is
 * empty); returns the bytes of packet copied (msg_flags MSG_TRUNC when the
 * buffer is shorter) with MSG_ERRQUEUE in msg_flags.
 */
export function errqueueRecvmsg(ep: TcpEndpoint, call: ErrqueueRecvmsg, s32Value: (e: Expr) => number): Prepared {
  const { count, expectedFlags, flags, toleranceUsecs } = call;
  if (flags & ~(MSG_ERRQUEUE | MSG_DONTWAIT)) {
    throw new SyscallError(`recvmsg() flags 0x${(flags >>> 0).toString(16)} with MSG_ERRQUEUE are not supported by tcpstack pkt (MSG_DONTWAIT only)`);
  }
  const expected = call.control.map((e) => expectedErrCmsg(e, s32Value));
  const controllen = expected.reduce((sum, c) => sum + c.space, 0);
  let message: ErrorQueueMessage | null = null;
  return {
    mode: 'exact',
    wakeAt: undefined,
    step(): Outcome {
      try {
        message = ep.recvErrorQueue();
      } catch (e) {
        if (e instanceof SocketError) return { ret: -1, errno: e.code };
        throw e;
      }
      if (message === null) return { ret: -1, errno: 'EAGAIN' };
      if (count > 0 && message.payload > 0) {
        throw new SyscallError('recvmsg(MSG_ERRQUEUE) reading the packet a timestamp carries (an iovec longer than 0) is not supported by tcpstack pkt');
      }
      return { ret: 0 };
    },
    after(o: Outcome): void {
      if (o.ret < 0 || message === null) return;
      const fitted = fitControl(actualErrCmsgs(ep, message), controllen);
      const actualFlags = MSG_ERRQUEUE | (message.payload > count ? MSG_TRUNC : 0) | (fitted.truncated ? MSG_CTRUNC : 0);
      const hex8 = (n: number): string => (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
      if (actualFlags !== expectedFlags) throw new SyscallError(`Expected msg_flags 0x${hex8(expectedFlags)} but got 0x${hex8(actualFlags)}`);
      compareCmsgs(
        fitted.cmsgs,
        expected.map((c) => c.cmsg),
        toleranceUsecs,
      );
    },
  };
}
