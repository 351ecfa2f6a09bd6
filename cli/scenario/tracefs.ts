/**
 * The tcp:tcp_send_reset tracepoint, the kernel's RST reasons, read from a
 * tracefs instance of our own (so concurrent runs neither share a buffer nor
 * switch each other's events off).
 *
 * Where the host has not mounted tracefs, the harness mounts it itself in a
 * private mount namespace: a holder process started with `unshare --mount
 * --propagation private` mounts tracefs on /sys/kernel/tracing there and
 * waits on its stdin (a pipe from us, so it ends with us); this process reaches that mount through /proc/PID/root (a path
 * walk from another process's root follows that process's mounts). The
 * host's mount table never changes, and the mount goes with the holder.
 * tracefs is one tree per kernel, so the instance made through it is the
 * same kernel object whichever mount shows it; it is removed before the
 * holder is stopped.
 *
 * Why reasons are unavailable is told apart: tracefs not mounted and not
 * mountable (with the error), no tcp_send_reset tracepoint on this kernel,
 * or tracefs refusing an instance.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIpv6, parseIpv6 } from '../../stack/wire/addr6.ts';
import { monoToWallOffsetUs, onTeardown, spawnPrivateMountHolder, systemTool, uniqueName, type Child } from './lab.ts';

const HOST_TRACEFS = '/sys/kernel/tracing';
const TRACEPOINT = 'events/tcp/tcp_send_reset';

export interface RstTrace {
  /** Wall-clock µs. */
  tUs: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  state: string;
  reason: string;
}

/** Where tracefs can be read, or why it cannot. */
export type TracefsAccess = { dir: string; how: string } | { why: string };

let access: Promise<TracefsAccess> | undefined;
let holder: Child | undefined;
const instances = new Set<string>();
let removeTeardown: (() => void) | undefined;

/** Teardown (also on SIGINT) removes our instances and stops the holder, whichever mount they are on. */
function registerTeardown(): void {
  removeTeardown ??= onTeardown(closeTracefs);
}

/** tracefs, the host's mount if there is one, else our private one (one per process, kept until teardown). */
export function openTracefs(): Promise<TracefsAccess> {
  access ??= locateTracefs();
  return access;
}

async function locateTracefs(): Promise<TracefsAccess> {
  if (existsSync(join(HOST_TRACEFS, 'events'))) return { dir: HOST_TRACEFS, how: `the host's mount at ${HOST_TRACEFS}` };
  const unmounted = `tracefs is not mounted at ${HOST_TRACEFS}`;
  if (systemTool('unshare') === undefined) return { why: `${unmounted} and unshare is missing to mount it privately (apt-get install util-linux)` };
  if (systemTool('mount') === undefined) return { why: `${unmounted} and mount is missing to mount it privately (apt-get install mount)` };
  let child: Child;
  try {
    child = spawnPrivateMountHolder(['/bin/sh', '-c', `mount -t tracefs nodev ${HOST_TRACEFS} && echo mounted && exec cat >/dev/null`]);
  } catch (error) {
    return { why: `${unmounted} and could not be mounted: ${(error as Error).message}` };
  }
  try {
    await child.waitFor(/mounted/, 'stdout', 5000);
  } catch {
    await child.stop('SIGKILL');
    const err = child.stderr().trim().replace(/\s*\n\s*/g, '; ') || 'no error message';
    return { why: `${unmounted} and could not be mounted in a private mount namespace: ${err}` };
  }
  holder = child;
  registerTeardown();
  return { dir: `/proc/${child.pid}/root${HOST_TRACEFS}`, how: `a private mount (mount namespace of PID ${child.pid})` };
}

/** Removes our instances, then stops the holder of a private mount. Synchronous (teardown). */
function closeTracefs(): void {
  for (const dir of [...instances]) removeInstance(dir);
  if (holder?.isRunning()) {
    try {
      process.kill(holder.pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  holder = undefined;
  access = undefined;
  removeTeardown = undefined;
}

function removeInstance(dir: string): void {
  try {
    writeFileSync(join(dir, TRACEPOINT, 'enable'), '0');
  } catch {
    /* gone already */
  }
  try {
    rmdirSync(dir);
  } catch {
    /* gone already */
  }
  if (!existsSync(dir)) instances.delete(dir);
}

/** An address as the tracepoint prints it, in the form pcap-read.ts gives (inet_ntop's, no brackets). */
function tracedAddress(text: string): string {
  if (!text.startsWith('[')) return text;
  const bytes = parseIpv6(text.slice(1, -1));
  return bytes === undefined ? text : formatIpv6(bytes);
}

/**
 * The tcp_send_reset lines of a tracefs `trace` file, their 'mono' stamps
 * moved to wall-clock µs by `offsetUs`. The addresses are printed with
 * %pISpc: 198.19.1.2:5000, or [2001:2:0:1::2]:5000 for an IPv6 socket or
 * segment; a listener's are its own unspecified ones (0.0.0.0:5000
 * dest=0.0.0.0:0, or [::]:5000 dest=[::]:0).
 */
export function parseResetTraces(text: string, offsetUs: number): RstTrace[] {
  const out: RstTrace[] = [];
  const re = /\s(\d+)\.(\d+): tcp_send_reset: .*?src=(\[[0-9a-f:.]+\]|[\d.]+):(\d+) dest=(\[[0-9a-f:.]+\]|[\d.]+):(\d+) state=(\S+) reason=(\S+)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const monoUs = Number(m[1]) * 1e6 + Number(m[2]!.padEnd(6, '0').slice(0, 6));
    out.push({
      tUs: monoUs + offsetUs,
      src: tracedAddress(m[3]!),
      sport: Number(m[4]),
      dst: tracedAddress(m[5]!),
      dport: Number(m[6]),
      state: m[7]!,
      reason: m[8]!,
    });
  }
  return out;
}

export class ResetTracer {
  private readonly offsetUs: number;

  private constructor(private readonly dir: string) {
    this.offsetUs = monoToWallOffsetUs();
  }

  /**
   * Creates an instance and enables the tracepoint; otherwise says why not
   * (the comparison then leaves RST reasons out, and says so).
   */
  static async start(): Promise<ResetTracer | { why: string }> {
    const fs = await openTracefs();
    if ('why' in fs) return fs;
    if (!existsSync(join(fs.dir, TRACEPOINT))) return { why: `no tcp:tcp_send_reset tracepoint on this kernel (tracefs: ${fs.how})` };
    if (!existsSync(join(fs.dir, 'instances'))) return { why: `tracefs (${fs.how}) has no instances directory` };
    const dir = join(fs.dir, 'instances', uniqueName('rst'));
    try {
      mkdirSync(dir);
    } catch (error) {
      return { why: `tracefs (${fs.how}) refused an instance: ${(error as Error).message}` };
    }
    instances.add(dir);
    registerTeardown();
    try {
      writeFileSync(join(dir, 'trace_clock'), 'mono');
      writeFileSync(join(dir, TRACEPOINT, 'enable'), '1');
    } catch (error) {
      removeInstance(dir);
      return { why: `could not enable tcp:tcp_send_reset in our tracefs instance: ${(error as Error).message}` };
    }
    return new ResetTracer(dir);
  }

  /** Every tcp_send_reset so far (the instance's `trace` file is not consumed by reading). */
  read(): RstTrace[] {
    return parseResetTraces(readFileSync(join(this.dir, 'trace'), 'utf8'), this.offsetUs);
  }

  stop(): void {
    removeInstance(this.dir);
  }
}
