/**
 * The words of a pcapng capture's packet comments (tun/pcapng-capture.ts):
 * what the stack's trace says of a packet (the reset path and sk_rst_reason
 * of a RST it sent, the mechanism of a retransmission, the reason it
 * dropped a packet) and what the impairment did to it. docs/captures.md
 * lists them.
 */
import type { RetransMechanism, TraceEvent } from '../stack/trace.ts';
import type { Direction } from './impair/rule-engine.ts';
import type { ImpairCopy, ImpairDropCause } from './impair/verdict.ts';

type RstEvent = Extract<TraceEvent, { kind: 'tcp-rst' }>;

/** The kernel function that builds each generator's RST (stack/tcp/reset.ts). */
function rstGenerator(e: RstEvent): string {
  if (e.generator === 'active') return 'tcp_send_active_reset';
  return e.ipv6 ? 'tcp_v6_send_reset' : 'tcp_v4_send_reset';
}

/** "RST: closeWithUnread (tcp_send_active_reset in __tcp_close (data_was_unread)), reason TCP_ABORT_ON_CLOSE". */
export function rstNote(e: RstEvent): string {
  return `RST: ${e.path} (${rstGenerator(e)} in ${e.linux}), reason ${e.reason}`;
}

/** "retransmission (tlp)": the trace's mechanism, named after the counter that counts it. */
export function retransmissionNote(rtx: RetransMechanism): string {
  return `retransmission (${rtx})`;
}

/** "dropped by the stack: NO_SOCKET": its drop reason (stack/drop.ts, the kernel's skb_drop_reason names). */
export function stackDropNote(reason: string, detail?: string): string {
  return `dropped by the stack: ${reason}${detail ? ` (${detail})` : ''}`;
}

const CAUSE: Record<Exclude<ImpairDropCause, 'rule'>, string> = {
  blackout: 'blackout',
  mtu: 'mtu clamp',
  loss: 'loss',
  rate: 'rate limit',
};

/**
 * "dropped by impairment (loss), not delivered to the kernel" or "dropped
 * by rule 3, not delivered to the stack": where the packet did not arrive
 * (an outgoing one never reached the kernel, an incoming one the stack).
 */
export function impairDropNote(dir: Direction, cause: ImpairDropCause, rule: number | undefined): string {
  const what = cause === 'rule' ? `dropped by rule ${rule ?? '?'}` : `dropped by impairment (${CAUSE[cause]})`;
  return `${what}, not delivered to the ${dir === 'out' ? 'kernel' : 'stack'}`;
}

/** What happened to one copy on its way: "duplicate", "rewritten by rule 2", "corrupted (bit 1234 flipped)", "delayed 50 ms", "reordered". */
export function copyNotes(copy: ImpairCopy, heldMs: number, reordered: boolean): string[] {
  const notes: string[] = [];
  if (copy.index > 0) notes.push('duplicate');
  for (const rule of copy.rewrittenBy ?? []) notes.push(`rewritten by rule ${rule}`);
  if (copy.corruptedBit !== undefined) notes.push(`corrupted (bit ${copy.corruptedBit} flipped)`);
  if (heldMs > 0) notes.push(`delayed ${formatMs(heldMs)} ms`);
  if (reordered) notes.push('reordered');
  return notes;
}

/** "injected by rule 3". */
export function injectNote(rule: number): string {
  return `injected by rule ${rule}`;
}

/** Milliseconds to the microsecond, without trailing zeros: 50, 0.012, 10.5. */
function formatMs(ms: number): string {
  return String(Math.round(ms * 1000) / 1000);
}
