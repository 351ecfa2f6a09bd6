/**
 * Which trace events a timeline shows: by kind (seg, state, timer, rst...)
 * and by connection (a port, either end, or a connection id `LOCAL-REMOTE`).
 * Kinds are alternatives, connections are alternatives, and an event must
 * match both lists (an empty list matches everything). Events that belong to
 * no connection (drop, icmp...) are left out once a connection is asked for.
 */
import type { TraceEvent } from '../../stack/trace.ts';
import { UsageError } from '../usage.ts';

/** Short kind names, as typed on the command line, for each TraceEvent kind. */
export const KIND_NAMES = {
  'tcp-seg': 'seg',
  'tcp-state': 'state',
  'tcp-timer': 'timer',
  'tcp-rst': 'rst',
  'tcp-challenge-ack': 'challenge',
  'tcp-error': 'error',
  drop: 'drop',
  'icmp-out': 'icmp',
  'icmp-ratelimit': 'icmp',
  'reasm-timeout': 'reasm',
  'internal-error': 'internal',
  'host-crash': 'crash',
  'tcp-cc': 'cc',
  'tcp-ca': 'ca',
  'tcp-undo': 'ca',
} as const satisfies Record<TraceEvent['kind'], string>;

/**
 * Kinds a timeline leaves out unless asked for by name: the state sample of
 * every ACK processed (cc) and every timer armed (arm) would bury the rest.
 */
export const QUIET_KINDS: readonly string[] = ['cc', 'arm'];

export type KindName = (typeof KIND_NAMES)[keyof typeof KIND_NAMES] | 'arm';
export const KINDS: readonly KindName[] = [...new Set(Object.values(KIND_NAMES)), 'arm'];

/** The short kind of an event kind (the kind itself for kinds this build does not know, from a newer trace file). */
export function shortKind(kind: string): string {
  return (KIND_NAMES as Record<string, string>)[kind] ?? kind;
}

/** The short kind of one event: a timer armed is `arm`, one fired `timer`. */
function eventKind(e: TraceEvent): string {
  return e.kind === 'tcp-timer' && e.action === 'arm' ? 'arm' : shortKind(e.kind);
}

export interface ConnSelector {
  /** A port at either end, or an exact id. */
  port?: number;
  id?: string;
}

export interface TimelineFilter {
  kinds: ReadonlySet<string>;
  conns: readonly ConnSelector[];
}

export const ALL: TimelineFilter = { kinds: new Set(), conns: [] };

/** The connection id of an event (`localPort-remotePort`), or undefined when it belongs to none. */
export function eventConn(e: TraceEvent): string | undefined {
  switch (e.kind) {
    case 'tcp-seg':
    case 'tcp-state':
    case 'tcp-timer':
    case 'tcp-challenge-ack':
    case 'tcp-error':
    case 'tcp-cc':
    case 'tcp-ca':
    case 'tcp-undo':
      return e.conn;
    case 'tcp-rst':
      return `${e.local}-${e.remote}`;
    default:
      return undefined;
  }
}

export function matches(filter: TimelineFilter, e: TraceEvent): boolean {
  const kind = eventKind(e);
  if (filter.kinds.size > 0 ? !filter.kinds.has(kind) : QUIET_KINDS.includes(kind)) return false;
  if (filter.conns.length === 0) return true;
  const conn = eventConn(e);
  if (conn === undefined) return false;
  const dash = conn.indexOf('-');
  const local = Number(conn.slice(0, dash));
  const remote = Number(conn.slice(dash + 1));
  return filter.conns.some((s) => (s.id !== undefined ? s.id === conn : s.port === local || s.port === remote));
}

/** A kind name (short or the event's own), or a UsageError naming the known ones. */
export function parseKind(word: string, option: string): string {
  const w = word.trim();
  if ((KINDS as readonly string[]).includes(w)) return w;
  if (w in KIND_NAMES) return shortKind(w);
  throw new UsageError(`${option}: unknown kind ${JSON.stringify(w)} (known: ${KINDS.join(', ')})`);
}

/** A port (1-65535) or a connection id LOCALPORT-REMOTEPORT. */
export function parseConn(word: string, option: string): ConnSelector {
  const w = word.trim();
  const port = (text: string): number | undefined => {
    if (!/^\d{1,5}$/.test(text)) return undefined;
    const n = Number(text);
    return n >= 1 && n <= 65535 ? n : undefined;
  };
  const single = port(w);
  if (single !== undefined) return { port: single };
  const m = /^(\d+)-(\d+)$/.exec(w);
  if (m && port(m[1]!) !== undefined && port(m[2]!) !== undefined) return { id: `${Number(m[1])}-${Number(m[2])}` };
  throw new UsageError(`${option}: ${JSON.stringify(w)} is neither a port (1-65535) nor a connection id LOCALPORT-REMOTEPORT`);
}

function words(list: string, option: string): string[] {
  const parts = list.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`${option}: empty entry in ${JSON.stringify(list)}`);
  return parts;
}

/** `--kind rst,state` and `--conn 7,41234-7` (each repeatable), as `tcpstack timeline` takes them. */
export function parseFilterOptions(kinds: readonly string[] = [], conns: readonly string[] = []): TimelineFilter {
  return {
    kinds: new Set(kinds.flatMap((k) => words(k, '--kind')).map((k) => parseKind(k, '--kind'))),
    conns: conns.flatMap((c) => words(c, '--conn')).map((c) => parseConn(c, '--conn')),
  };
}

/**
 * The FILTER of `up --trace FILTER`: one comma-separated list mixing kinds
 * and connections, e.g. `7,seg,rst` (port 7, segments and resets) or
 * `4001-39000`; empty for everything.
 */
export function parseTraceFilter(text: string, option = '--trace'): TimelineFilter {
  if (text.trim() === '') return ALL;
  const kinds = new Set<string>();
  const conns: ConnSelector[] = [];
  for (const w of words(text, option)) {
    if (/^[\d-]+$/.test(w)) conns.push(parseConn(w, option));
    else kinds.add(parseKind(w, option));
  }
  return { kinds, conns };
}
