/**
 * What a prepared system call of a packet script is and how it fails
 * (syscalls.ts and the modules it hands calls to share these).
 */
import type { Endpoint } from '../../stack/socket/types.ts';

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

/** A control message's header: level, type, length (struct cmsghdr). */
export interface CmsgHeader {
  level: number;
  type: number;
  len: number;
}

/** cmsg_expect_eq's first checks of message `i`: level, type and length, in that order, with packetdrill's messages. */
export function checkCmsgHeader(i: number, actual: CmsgHeader, expected: CmsgHeader): void {
  if (actual.level !== expected.level) throw new SyscallError(`Bad level in cmsg ${i}: expected=${expected.level} actual=${actual.level}`);
  if (actual.type !== expected.type) throw new SyscallError(`Bad type in cmsg ${i}: expected=${expected.type} actual=${actual.type}`);
  if (actual.len !== expected.len) throw new SyscallError(`Bad len in cmsg ${i}: expected=${expected.len} actual=${actual.len}`);
}
