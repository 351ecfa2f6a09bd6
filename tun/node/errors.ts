/**
 * The errors the Node-shaped sockets raise, shaped like Node's own: a
 * SocketError from the endpoint becomes a system error (`code`, `errno`,
 * `syscall`, `address`, `port`), argument errors carry Node's ERR_* codes. And
 * where an application's exception goes when it comes from an event handler
 * the stack called.
 */
import { constants as osConstants } from 'node:os';
import { SocketError } from '../../stack/socket/types.ts';

/** An Error shaped like Node's system errors (`err.code === 'ECONNRESET'`, `err.syscall === 'read'`). */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
}

export function systemError(code: string, syscall: string, address?: string, port?: number, cause?: unknown): SystemError {
  const where = address === undefined ? '' : port === undefined ? ` ${address}` : ` ${address}:${port}`;
  const error = new Error(`${syscall} ${code}${where}`, cause === undefined ? undefined : { cause }) as SystemError;
  error.code = code;
  const errno = (osConstants.errno as Record<string, number | undefined>)[code];
  error.errno = errno === undefined ? 0 : -errno;
  error.syscall = syscall;
  if (address !== undefined) error.address = address;
  if (port !== undefined) error.port = port;
  return error;
}

/** A SocketError becomes a system error named after our syscall; anything else (a bug) passes through. */
export function asError(thrown: unknown, syscall: string, address?: string, port?: number): Error {
  if (thrown instanceof SocketError) return systemError(thrown.code, syscall, address, port, thrown);
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

export function codeOf(thrown: unknown): string | undefined {
  return thrown instanceof SocketError ? thrown.code : undefined;
}

/** Node's error for a write after the peer's FIN on a socket that does not allow half-open. */
export function endedByPeerError(): Error {
  return Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' });
}

export function validatePort(port: unknown, what: string): number {
  const n = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw Object.assign(new RangeError(`${what} should be >= 0 and < 65536. Received ${String(port)}.`), {
      code: 'ERR_SOCKET_BAD_PORT',
    });
  }
  return n;
}

/**
 * Runs an event handler for the stack. The stack delivers events to many
 * endpoints in one loop; an exception from application code ('connect',
 * 'data', 'connection' listeners) must not cut that loop short, so it is
 * rethrown on its own tick: an uncaught exception, as Node would have it.
 */
export function guardEvent(handler: () => void): void {
  try {
    handler();
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
  }
}
