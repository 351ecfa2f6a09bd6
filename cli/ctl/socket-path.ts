/**
 * Taking a path for a control socket without harming what is there: only a
 * stale socket (one nobody answers on: connect() is refused, the `up` that
 * made it is gone) is removed and replaced. A file that is not a socket, a
 * socket someone answers on (another `up`), a missing directory and a path
 * longer than a unix socket address holds are refused.
 */
import { lstatSync, unlinkSync, type Stats } from 'node:fs';
import { createConnection } from 'node:net';
import { fileKind, missingDirectory } from '../output-file.ts';

/** sizeof(sockaddr_un.sun_path) - 1 on Linux (unix(7)): the longest path bind() takes, without its NUL. */
export const MAX_SOCKET_PATH = 107;

/** A path refused for a control socket; `message` says why in a few words, without the path. */
export class ControlPathError extends Error {
  override readonly name = 'ControlPathError';
}

/** The checks that need no connection: length, directory, what is there. Undefined when the path may be taken. */
export function staticSocketPathProblem(path: string): string | undefined {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH) return `${bytes} bytes long; a unix socket path holds at most ${MAX_SOCKET_PATH}`;
  const stats = existing(path);
  if (stats === undefined) return missingDirectory(path);
  if (!stats.isSocket()) return `exists and is ${fileKind(stats)}, not a socket: it is left alone`;
  return undefined;
}

function existing(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** Whether something accepts connections on the unix socket at `path` (bounded in time; no answer in time counts as yes). */
export function socketAnswers(path: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const done = (answers: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answers);
    };
    const timer = setTimeout(() => done(true), timeoutMs);
    socket.once('connect', () => done(true));
    // ECONNREFUSED: a socket file with no listener (its process died); ENOENT: it went away meanwhile.
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code !== 'ECONNREFUSED' && error.code !== 'ENOENT'));
  });
}

/** Refuses `path` (ControlPathError) unless it is free or a stale socket; the latter is removed. */
export async function claimSocketPath(path: string): Promise<void> {
  const problem = staticSocketPathProblem(path);
  if (problem !== undefined) throw new ControlPathError(problem);
  if (existing(path) === undefined) return;
  if (await socketAnswers(path)) throw new ControlPathError('a live socket: another tcpstack up (or another program) answers on it');
  // Checked again just before removing it: only a socket is ever unlinked.
  if (existing(path)?.isSocket()) unlinkSync(path);
}
