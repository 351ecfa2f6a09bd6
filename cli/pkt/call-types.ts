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
