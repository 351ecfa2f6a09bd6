/**
 * Where control sockets live: RUN_DIR/PID.sock, RUN_DIR being /run/tcpstack
 * for root (anyone else: $TMPDIR/tcpstack-UID), or $TCPSTACK_RUN_DIR when
 * set. One socket per `up` process, named by its PID, so `up`s in different
 * namespaces with the same TUN name never collide.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function runDir(): string {
  const override = process.env.TCPSTACK_RUN_DIR;
  if (override !== undefined && override !== '') return override;
  const uid = process.getuid?.() ?? 0;
  return uid === 0 ? '/run/tcpstack' : join(tmpdir(), `tcpstack-${uid}`);
}

export function socketPathFor(pid: number, dir = runDir()): string {
  return join(dir, `${pid}.sock`);
}

/** Whether a process with that PID exists (signal 0; EPERM still means it does). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** PIDs with a control socket in `dir` whose process is still there (stale sockets of killed ones are skipped). */
export function runningPids(dir = runDir()): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^(\d+)\.sock$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .filter((pid) => pidAlive(pid))
    .sort((a, b) => a - b);
}
