/**
 * Pipes of packet scripts, kept in memory: pipe([R, W]) makes one,
 * read()/write() and close() work on its ends, and splice() moves bytes
 * from a TCP socket into it (tcp_splice_read over tcp_read_sock: it stops
 * at the urgent mark, stack/tcp/urgent.ts) or from it into a socket
 * (splice_to_socket: a write of what it holds). A pipe holds at most
 * PIPE_DEF_BUFFERS (16) buffers of a page each, Linux's default 64 KiB
 * (fs/pipe.c): write() fills the last buffer when the write's odd part
 * fits (PIPE_BUF_FLAG_CAN_MERGE), then a page per buffer; bytes spliced in
 * take a buffer per page of each received segment's bytes (the pages
 * skb_splice_bits hands splice_to_pipe), never merged into. Only byte
 * counts matter here: the runner's payloads are zeros either way.
 */
import type { Expr } from './ast.ts';
import { SyscallError, type Outcome, type Prepared } from './call-types.ts';
import { SYMBOLS } from './symbols.ts';
import type { ScriptSocket, SyscallHost } from './sockets.ts';
import type { Deadline } from './sock-timeouts.ts';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { SocketError } from '../../stack/socket/types.ts';
import { perRunTable } from './run-table.ts';

/** PIPE_DEF_BUFFERS and PAGE_SIZE on x86-64. */
export const PIPE_DEF_BUFFERS = 16;
export const PAGE_SIZE = 4096;
/** SPLICE_F_ALL: MOVE, NONBLOCK, MORE, GIFT. */
const SPLICE_F_ALL = 0xf;
const SPLICE_F_NONBLOCK = SYMBOLS.SPLICE_F_NONBLOCK!;
const SPLICE_F_MORE = SYMBOLS.SPLICE_F_MORE!;

interface PipeBuffer {
  len: number;
  /** PIPE_BUF_FLAG_CAN_MERGE: a page write() filled, which a later write() may add to. */
  canMerge: boolean;
}

/** One pipe (struct pipe_inode_info): its buffers and whether each end is still open. */
export class Pipe {
  private bufs: PipeBuffer[] = [];
  readers = 1;
  writers = 1;

  /** Bytes it holds. */
  get bytes(): number {
    return this.bufs.reduce((sum, b) => sum + b.len, 0);
  }

  /** Buffers free (max_usage − occupancy). */
  get freeSlots(): number {
    return PIPE_DEF_BUFFERS - this.bufs.length;
  }

  /**
   * pipe_write's copy of `n` bytes: the odd part (n mod PAGE_SIZE) into the
   * last buffer if it can merge and it fits, then a page per buffer while
   * there are free ones. Returns the bytes taken.
   */
  write(n: number): number {
    let left = n;
    const chars = n & (PAGE_SIZE - 1);
    const last = this.bufs[this.bufs.length - 1];
    if (chars !== 0 && last !== undefined && last.canMerge && last.len + chars <= PAGE_SIZE) {
      last.len += chars;
      left -= chars;
    }
    return n - this.fillPages(left, true);
  }

  /** Spliced bytes (splice_to_pipe): a buffer per page of them while buffers are free. Returns the bytes placed. */
  splice(n: number): number {
    return n - this.fillPages(n, false);
  }

  /** New page buffers for `left` bytes while buffers are free; returns the bytes left over. */
  private fillPages(left: number, canMerge: boolean): number {
    while (left > 0 && this.freeSlots > 0) {
      const take = Math.min(PAGE_SIZE, left);
      this.bufs.push({ len: take, canMerge });
      left -= take;
    }
    return left;
  }

  /** pipe_read: up to `n` bytes from the front. Returns the bytes taken. */
  read(n: number): number {
    let got = 0;
    while (got < n && this.bufs.length > 0) {
      const b = this.bufs[0]!;
      const take = Math.min(b.len, n - got);
      b.len -= take;
      got += take;
      if (b.len === 0) this.bufs.shift();
    }
    return got;
  }
}

/** One end of a pipe as a script fd. */
export interface PipeEnd {
  pipe: Pipe;
  end: 'read' | 'write';
  /** O_NONBLOCK (pipe() makes both ends blocking). */
  nonblock: boolean;
}

/** Script fd → pipe end, for one run. */
export const pipeEnds = perRunTable<PipeEnd>();

const exact = (step: () => Outcome | undefined): Prepared => ({ mode: 'exact', step, wakeAt: undefined });

/** pipe([R, W]): a pipe whose read end is script fd R and write end W. */
export function pipeCall(host: SyscallHost, args: Expr[], fdTaken: (fd: number) => boolean): Prepared {
  if (args.length !== 1) throw new SyscallError(`Expected 1 args but got ${args.length}`);
  const list = args[0]!;
  if (list.type !== 'list' || list.items.length !== 2 || list.items.some((e) => e.type !== 'int')) {
    throw new SyscallError('pipe() takes [READ_FD, WRITE_FD]');
  }
  const [r, w] = list.items.map((e) => (e.type === 'int' ? e.value : -1)) as [number, number];
  const ends = pipeEnds(host);
  return {
    mode: 'exact',
    wakeAt: undefined,
    step: () => ({ ret: 0 }),
    after: (o) => {
      if (o.ret < 0) return;
      for (const fd of [r, w]) if (fd < 0 || fdTaken(fd) || ends.has(fd) || r === w) throw new SyscallError(`duplicate fd ${fd} in script`);
      const pipe = new Pipe();
      ends.set(r, { pipe, end: 'read', nonblock: false });
      ends.set(w, { pipe, end: 'write', nonblock: false });
    },
  };
}

/**
 * read(fd, buf, n) on a pipe end (pipe_read): what it holds, up to n; with
 * it empty, 0 once no writer is left, EAGAIN when non-blocking, else it
 * waits. The write end is not open for reading (EBADF).
 */
export function pipeRead(p: PipeEnd, count: number): Prepared {
  return exact(() => {
    if (p.end !== 'read') return { ret: -1, errno: 'EBADF' };
    if (count === 0) return { ret: 0 };
    if (p.pipe.bytes > 0) return { ret: p.pipe.read(count) };
    if (p.pipe.writers === 0) return { ret: 0 };
    return p.nonblock ? { ret: -1, errno: 'EAGAIN' } : undefined;
  });
}

/**
 * write(fd, buf, n) on a pipe end (pipe_write): EPIPE with no reader left
 * (the SIGPIPE aside); as much as fits, a blocking write waiting for room
 * for the rest. The read end is not open for writing (EBADF).
 */
export function pipeWrite(p: PipeEnd, count: number): Prepared {
  let written = 0;
  return exact(() => {
    if (p.end !== 'write') return { ret: -1, errno: 'EBADF' };
    if (p.pipe.readers === 0) return written > 0 ? { ret: written } : { ret: -1, errno: 'EPIPE' };
    written += p.pipe.write(count - written);
    if (written === count) return { ret: written };
    if (p.nonblock) return written > 0 ? { ret: written } : { ret: -1, errno: 'EAGAIN' };
    return undefined;
  });
}

/** fcntl on a pipe end: F_GETFL (O_RDONLY or O_WRONLY, and O_NONBLOCK), F_SETFL (O_NONBLOCK), F_GETFD/F_SETFD. */
export function pipeFcntl(p: PipeEnd, cmd: number, value: number): Prepared {
  return exact(() => {
    switch (cmd) {
      case SYMBOLS.F_GETFL:
        return { ret: (p.end === 'read' ? SYMBOLS.O_RDONLY! : SYMBOLS.O_WRONLY!) | (p.nonblock ? SYMBOLS.O_NONBLOCK! : 0) };
      case SYMBOLS.F_SETFL:
        p.nonblock = (value & SYMBOLS.O_NONBLOCK!) !== 0;
        return { ret: 0 };
      case SYMBOLS.F_GETFD:
      case SYMBOLS.F_SETFD:
        return { ret: 0 };
      default:
        throw new SyscallError(`fcntl command ${cmd} is not supported by tcpstack pkt (F_GETFL, F_SETFL)`);
    }
  });
}

/** close() of a pipe end: the pipe loses a reader or a writer. */
export function pipeClose(host: object, fd: number): Prepared {
  const ends = pipeEnds(host);
  return exact(() => {
    const p = ends.get(fd);
    if (p === undefined) return { ret: -1, errno: 'EBADF' };
    ends.delete(fd);
    if (p.end === 'read') p.pipe.readers--;
    else p.pipe.writers--;
    return { ret: 0 };
  });
}

function failed(e: unknown): Outcome {
  if (e instanceof SocketError) return { ret: -1, errno: e.code };
  throw e;
}

export interface SpliceArgs {
  /** The ends: a pipe end, or a script socket. */
  from: PipeEnd | ScriptSocket;
  to: PipeEnd | ScriptSocket;
  /** The offsets as packetdrill passes them: the integer is the pointer (0: NULL). */
  offIn: number;
  offOut: number;
  len: number;
  flags: number;
  /** For pipe → socket: the write the bytes make (writeCall in syscalls.ts). */
  write: (s: ScriptSocket, count: number, flags: number) => Prepared;
  /** For socket → pipe: how long tcp_splice_read may wait for data (sock_rcvtimeo: O_NONBLOCK, SO_RCVTIMEO). */
  rcvDeadline: (s: ScriptSocket) => Deadline;
}

const isPipe = (x: PipeEnd | ScriptSocket): x is PipeEnd => 'pipe' in x;

/**
 * splice(2) (SYSCALL splice → __do_splice → do_splice): 0 for a length of
 * 0, EINVAL for unknown flags; an offset for a pipe is ESPIPE, any other
 * non-NULL one a pointer to nowhere (EFAULT: packetdrill passes the
 * integer as the pointer); an end not open the right way EBADF; then a
 * socket into a pipe (splice_file_to_pipe → tcp_splice_read) or a pipe
 * into a socket (splice_to_socket). Pipe to pipe is not supported.
 */
export function spliceCall(a: SpliceArgs): Prepared {
  const { from, to, len, flags } = a;
  if (isPipe(from) && isPipe(to)) throw new SyscallError('splice() from a pipe into a pipe is not supported by tcpstack pkt');
  if (!isPipe(from) && !isPipe(to)) return exact(() => ({ ret: -1, errno: 'EINVAL' }));
  const early = ((): Outcome | undefined => {
    if (len === 0) return { ret: 0 };
    if (flags & ~SPLICE_F_ALL) return { ret: -1, errno: 'EINVAL' };
    if ((isPipe(from) && a.offIn !== 0) || (isPipe(to) && a.offOut !== 0)) return { ret: -1, errno: 'ESPIPE' };
    if (a.offIn !== 0 || a.offOut !== 0) return { ret: -1, errno: 'EFAULT' };
    if ((isPipe(from) && from.end !== 'read') || (isPipe(to) && to.end !== 'write')) return { ret: -1, errno: 'EBADF' };
    return undefined;
  })();
  if (early !== undefined) return exact(() => early);
  if (isPipe(to)) return socketToPipe(from as ScriptSocket, to, len, flags, a.rcvDeadline(from as ScriptSocket));
  return pipeToSocket(from as PipeEnd, to as ScriptSocket, len, flags, a.write);
}

/**
 * splice_file_to_pipe and tcp_splice_read: wait for a free buffer
 * (wait_for_space: EPIPE with no reader, EAGAIN when full under
 * SPLICE_F_NONBLOCK or O_NONBLOCK on the pipe), no more than the free
 * buffers' pages (do_splice_read), then tcp_read_sock's rounds. A round
 * that took nothing ends the call with what was spliced, or looks at the
 * socket: the end of the stream gives 0, a pending error or a closed
 * socket fail, O_NONBLOCK on the socket (or SO_RCVTIMEO run out) gives
 * EAGAIN, bytes held back by the urgent mark 0, and otherwise the call
 * waits for data, at most SO_RCVTIMEO. A round that filled
 * the pipe ends it too (splice_to_pipe's EAGAIN after some bytes).
 */
function socketToPipe(s: ScriptSocket, p: PipeEnd, len: number, flags: number, deadline: Deadline): Prepared {
  const ep = s.endpoint;
  if (!(ep instanceof TcpEndpoint)) throw new SyscallError('splice() from a socket needs a TCP endpoint');
  const nonblockPipe = (flags & SPLICE_F_NONBLOCK) !== 0 || p.nonblock;
  return {
    mode: 'exact',
    wakeAt: deadline.at,
    step: () => {
      const pipe = p.pipe;
      if (pipe.readers === 0) return { ret: -1, errno: 'EPIPE' };
      if (pipe.freeSlots === 0) return nonblockPipe ? { ret: -1, errno: 'EAGAIN' } : undefined;
      let left = Math.min(len, pipe.freeSlots * PAGE_SIZE);
      let spliced = 0;
      for (;;) {
        let ret: number;
        let taken = 0;
        try {
          // tcp_splice_data_recv: at most what the call has left (rd_desc->count).
          ret = ep.readSock((chunk) => {
            const want = Math.min(left - taken, chunk.length);
            if (want === 0) return 0;
            const placed = pipe.splice(want);
            taken += placed;
            return placed > 0 ? placed : -1; // splice_to_pipe: -EAGAIN when the pipe took nothing
          });
        } catch (e) {
          return failed(e);
        }
        if (ret < 0) return spliced > 0 ? { ret: spliced } : { ret: -1, errno: 'EAGAIN' };
        if (ret === 0) {
          if (spliced > 0) return { ret: spliced };
          let idle: 'zero' | 'held' | 'wait';
          try {
            idle = ep.spliceIdle();
          } catch (e) {
            return failed(e);
          }
          if (idle === 'zero') return { ret: 0 };
          // timeo 0: O_NONBLOCK, or SO_RCVTIMEO run out.
          if (deadline.nonblocking()) return { ret: -1, errno: 'EAGAIN' };
          // "if __tcp_splice_read() got nothing while we have an skb in receive queue, we do not want to loop".
          return idle === 'held' ? { ret: 0 } : undefined;
        }
        left -= ret;
        spliced += ret;
        if (left === 0 || deadline.nonblocking()) return { ret: spliced };
      }
    },
  };
}

/**
 * splice_to_socket: the pipe's bytes, up to len, written to the socket as
 * one write (MSG_MORE under SPLICE_F_MORE; MSG_DONTWAIT with O_NONBLOCK on
 * the socket, as a write of the runner's).
 * With the pipe empty: 0 once no writer is left, EAGAIN under
 * SPLICE_F_NONBLOCK or O_NONBLOCK on the pipe, else it waits.
 */
function pipeToSocket(p: PipeEnd, s: ScriptSocket, len: number, flags: number, write: SpliceArgs['write']): Prepared {
  const nonblock = (flags & SPLICE_F_NONBLOCK) !== 0 || p.nonblock;
  let inner: Prepared | undefined;
  return exact(() => {
    if (inner === undefined) {
      const held = p.pipe.bytes;
      if (held === 0) {
        if (p.pipe.writers === 0) return { ret: 0 };
        return nonblock ? { ret: -1, errno: 'EAGAIN' } : undefined;
      }
      // One batch: the pipe's 16 buffers are within splice_to_socket's bvec array, so MSG_MORE is SPLICE_F_MORE's alone.
      inner = write(s, Math.min(len, held), (flags & SPLICE_F_MORE) !== 0 ? SYMBOLS.MSG_MORE! : 0);
    }
    const o = inner.step();
    if (o !== undefined && o.ret > 0) p.pipe.read(o.ret);
    return o;
  });
}
