/**
 * Interop harness: runs `cli/tcpstack up` with its TUN device in a throw-away
 * network namespace and the kernel's own tools inside that namespace. Every
 * namespace it names is removed afterwards, also when a test fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteNetns } from '../../tun/netns.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'cli', 'tcpstack');

function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Why interop tests cannot run here, or undefined when they can. */
export function interopSkipReason(tools: string[] = ['ip']): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (TUN devices and network namespaces)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun on this machine';
  if (!existsSync(join(ROOT, 'tun', 'build', 'Release', 'tun.node'))) return 'the TUN addon is not built (run make)';
  for (const tool of tools) if (!haveCommand(tool)) return `${tool} is not installed (make test installs it as root)`;
  return undefined;
}

let serial = 0;
/** A namespace name unique to this process and call. */
export function uniqueNetns(tag: string): string {
  return `tcpstack-${tag}-${process.pid}-${++serial}`;
}

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class RunningStack {
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exited>;

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the `ready` line; rejects if the process exits first or time runs out. */
  ready(timeoutMs = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanupListeners();
        reject(new Error(`no ready line within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      const check = (): void => {
        const line = this.stdout.split('\n').find((l) => l.startsWith('ready '));
        if (line !== undefined) {
          cleanupListeners();
          resolve(line);
        }
      };
      const onClose = (code: number | null): void => {
        cleanupListeners();
        reject(new Error(`tcpstack exited (${code}) before ready: ${this.stderr.trim()}`));
      };
      const cleanupListeners = (): void => {
        clearTimeout(timer);
        this.child.stdout!.off('data', check);
        this.child.off('close', onClose);
      };
      this.child.stdout!.on('data', check);
      this.child.once('close', onClose);
      check();
    });
  }

  /** Sends `signal` to the stack's PID and waits (bounded) for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<Exited> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts `cli/tcpstack ARGS...` (only this process is ever signalled, by its PID). */
export function startCli(args: string[]): RunningStack {
  return new RunningStack(spawn(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Runs the CLI to completion (for misuse tests), bounded in time. */
export function runCli(args: string[], timeoutMs = 20_000): Exited {
  const r = spawnSync(CLI, args, { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Removes a namespace if it is still there (teardown, also after failures). */
export function removeNetns(name: string): void {
  try {
    deleteNetns(name);
  } catch {
    /* best effort in teardown; the before-stop check reports leftovers */
  }
}

/** Parses `nstat`-style lines (up's exit report; tcpstack nstat's, with the rate column after the value) into a map of the values. */
export function parseCounters(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(drop [A-Z_0-9]+|[A-Za-z0-9]+)\s+(-?\d+)(?:\s+-?\d+\.\d)?$/.exec(line.trim());
    if (match) m.set(match[1]!, Number(match[2]));
  }
  return m;
}

/**
 * Python for the kernel side: sends `mib` MiB to the echo service (port 7)
 * at `addr` while a second thread reads the echo back; prints "SENT RECEIVED
 * True" when the SHA-256 of what came back equals that of what was sent.
 */
export function echoShaScript(addr: string, mib: number): string {
  return `
import socket, hashlib, threading
n = ${mib} * 1024 * 1024
s = socket.create_connection(('${addr}', 7), timeout=60)
block = bytes((i * 131 + 7) & 255 for i in range(65536))
up = hashlib.sha256(); down = hashlib.sha256(); got = [0]
def reader():
    while True:
        d = s.recv(1 << 18)
        if not d: break
        down.update(d); got[0] += len(d)
r = threading.Thread(target=reader); r.start()
sent = 0
while sent < n:
    s.sendall(block); up.update(block); sent += len(block)
s.shutdown(socket.SHUT_WR)
r.join()
s.close()
print(sent, got[0], up.hexdigest() == down.hexdigest())
`;
}

/** A child in the namespace whose stdout we can wait on for a pattern. */
/**
 * A child process (a scripted client) read line by line: stdout split into
 * lines as they come, stderr kept for the message of a failure.
 */
export class LineClient {
  readonly lines: string[] = [];
  stderr = '';
  constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      this.lines.push(...parts);
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
  }
  /** The next line; throws, naming `what` was awaited, if the client exits or `timeoutMs` passes first. */
  async next(what: string, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null) throw new Error(`the client exited before ${what}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${this.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.lines.shift()!;
  }
  /** Writes `command` as a line and returns the line that answers it. */
  async do(command: string): Promise<string> {
    this.child.stdin!.write(`${command}\n`);
    return this.next(`the answer to ${command}`);
  }
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export class Interactive {
  out = '';
  readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  constructor(netns: string, argv: string[]) {
    this.child = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }
  send(text: string): void {
    this.child.stdin!.write(text);
  }
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const start = Date.now();
    while (!pattern.test(this.out)) {
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${pattern}; got: ${JSON.stringify(this.out)}`);
      await new Promise<void>((resolve) => {
        const onData = (): void => {
          clearTimeout(timer);
          this.child.stdout!.off('data', onData);
          resolve();
        };
        const timer = setTimeout(onData, 200);
        this.child.stdout!.on('data', onData);
      });
    }
    return this.out;
  }
  async end(timeoutMs = 10_000): Promise<number | null> {
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Runs `tcpstack ARGS` with `input` on its stdin (a `connect`, as a user
 * pipes a file into it); resolves with its exit code and output. Killed
 * (code null) after `timeoutMs`, or by the test's teardown if it fails first.
 */
export async function pipeThroughCli(
  t: { teardown: (fn: () => void) => void },
  args: string[],
  input: Uint8Array,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(CLI, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, stdout, stderr };
}
