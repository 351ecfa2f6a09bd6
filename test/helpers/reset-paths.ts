/**
 * Small helpers for the reset/timer path tests (test/tcp/path-NN-*.test.ts):
 * the RST trace events in comparable form, the counters that moved (without
 * the per-packet noise), and what the application sees from read()/write()
 * as one short string each.
 */
import { COUNTER_NAMES, type Counters } from '../../stack/counters.ts';
import { SocketError, type Endpoint } from '../../stack/socket/types.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { formatTcpFlags } from '../../stack/wire/tcp.ts';
import type { TestStack } from './stack.ts';

/** A 'tcp-rst' trace event without the kernel-function text: what the tests compare. */
export interface RstEvent {
  t: number;
  /** RESET_PATHS key. */
  path: string;
  /** Linux's sk_rst_reason. */
  reason: string;
  generator: 'reply' | 'active';
  /** tcpdump letters: 'R' or 'R.'. */
  flags: string;
  seq: number;
  ack: number;
  local: number;
  remote: number;
}

/** Every RST the stack traced, in order. */
export function rsts(trace: readonly TraceEvent[]): RstEvent[] {
  const out: RstEvent[] = [];
  for (const e of trace) {
    if (e.kind !== 'tcp-rst') continue;
    out.push({ t: e.t, path: e.path, reason: e.reason, generator: e.generator, flags: formatTcpFlags(e.flags), seq: e.seq, ack: e.ack, local: e.local, remote: e.remote });
  }
  return out;
}

/** Counters that say nothing about the path under test (every segment moves them). */
const NOISE = new Set<string>(['TcpInSegs', 'TcpOutSegs', 'TcpCurrEstab']);

/** Snapshot to pass to `moved` later. */
export function snap(s: TestStack | { counters: Counters }): Counters {
  const c = 'stack' in s ? s.stack.counters : s.counters;
  return { ...c };
}

/** The TCP counters that moved since `before`, by nstat name (IP/ICMP/UDP and per-segment totals left out). */
export function moved(s: TestStack | { counters: Counters }, before: Counters): Record<string, number> {
  const c = 'stack' in s ? s.stack.counters : s.counters;
  const out: Record<string, number> = {};
  for (const name of COUNTER_NAMES) {
    if (!name.startsWith('Tcp') || NOISE.has(name)) continue;
    const d = c[name] - before[name];
    if (d !== 0) out[name] = d;
  }
  return out;
}

/** read() as one string: 'EAGAIN' (null), 'EOF' (0 bytes), 'data:N', or the errno it threw. */
export function rd(ep: Endpoint, max?: number): string {
  try {
    const r = ep.read(max);
    if (r === null) return 'EAGAIN';
    return r.length === 0 ? 'EOF' : `data:${r.length}`;
  } catch (e) {
    if (e instanceof SocketError) return e.code;
    throw e;
  }
}

/** write() as one string: 'wrote:N' or the errno it threw. */
export function wr(ep: Endpoint, data: Uint8Array | number = 10): string {
  try {
    return `wrote:${ep.write(typeof data === 'number' ? new Uint8Array(data) : data)}`;
  } catch (e) {
    if (e instanceof SocketError) return e.code;
    throw e;
  }
}

/** Any socket call as one string: 'ok' or the errno it threw. */
export function call(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof SocketError) return e.code;
    throw e;
  }
}
