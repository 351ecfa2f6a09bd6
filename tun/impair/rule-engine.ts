/**
 * Runs the rules of a rule file on each packet, in file order, as a pipeline:
 * a rule sees the packet as the rules before it left it (rewritten, or gone
 * if one dropped it). Counting for `nth`/`every`/`times` is per rule, over the
 * packets that reach the rule and pass its other matchers.
 *
 * Injected segments are built from the matched packet:
 * - toward "sender" (a reply): addresses and ports swapped; relative seq counts
 *   from the matched packet's ACK number (what its sender expects next, so
 *   "+0" is exactly in window), relative ack from its seq + length (SYN/FIN
 *   count one);
 * - toward "receiver" (a spoof from the same source): relative seq counts from
 *   the matched seq + length (the next byte the receiver expects), relative
 *   ack from its ACK number.
 * The ack field is 0 unless the injected flags include ACK. An injection
 * answering an IPv6 packet is IPv6, between its addresses, with no
 * extension headers. Injected packets skip every fault (random or rule) and
 * leave after the inject's own delay.
 */
import { ipDestination, ipSource } from '../../stack/wire/ipv4.ts';
import { IPV6_DST_OFFSET, IPV6_SRC_OFFSET } from '../../stack/wire/ipv6.ts';
import { TCP_RST } from '../../stack/wire/tcp.ts';
import type { ImpairCounters } from './counters.ts';
import { addressFields, applySeq, craftTcp, craftTcp6, rewriteTcp, segmentLength, viewPacket, type PacketView } from './packet.ts';
import { prefixByteMask, type AddressMatch, type Rule, type RuleDirection, type RuleMatch } from './rules.ts';

export type Direction = 'in' | 'out';

export interface RuleOutcome {
  /** The packet to carry on with (maybe rewritten), or undefined if a rule dropped it. */
  packet: Uint8Array | undefined;
  /** The rule that dropped it (1 is the first), when one did. */
  droppedBy?: number;
  /** The rules that rewrote it, in order, when any did. */
  rewrittenBy?: number[];
  /** Extra copies to send. */
  copies: number;
  /** Flip one bit in each copy. */
  corrupt: boolean;
  /** Extra delay, outside any ordering the random delay keeps (the packet may be overtaken). */
  delayMs: number;
  /** Segments the rules crafted, each with the rule that made it (1 is the first). */
  injections: Array<{ dir: Direction; packet: Uint8Array; delayMs: number; rule: number }>;
  blackouts: Array<{ direction: RuleDirection; until: number }>;
}

const inRange = (v: number, r: { min: number; max: number } | undefined): boolean => r === undefined || (v >= r.min && v <= r.max);

/** True when the address at `at` in `p` lies in the prefix (the packet is of the prefix's family). */
function inPrefix(p: Uint8Array, at: number, a: AddressMatch): boolean {
  const whole = a.bits >> 3;
  for (let i = 0; i < whole; i++) if (p[at + i] !== a.bytes[i]) return false;
  return (a.bits & 7) === 0 || ((p[at + whole]! ^ a.bytes[whole]!) & prefixByteMask(a.bits, whole)) === 0;
}

function addressMatches(m: RuleMatch, p: Uint8Array, v: PacketView): boolean {
  if (v.version === 0) return false;
  const f = addressFields(v.version);
  const is = (at: number, a: AddressMatch): boolean => a.version === v.version && inPrefix(p, at, a);
  if (m.src !== undefined && !is(f.src, m.src)) return false;
  if (m.dst !== undefined && !is(f.dst, m.dst)) return false;
  return m.host === undefined || is(f.src, m.host) || is(f.dst, m.host);
}

function matchesStatic(m: RuleMatch, dir: Direction, p: Uint8Array, v: PacketView, t: number): boolean {
  if (m.direction !== 'both' && m.direction !== dir) return false;
  if (m.from !== undefined && t < m.from) return false;
  if (m.until !== undefined && t >= m.until) return false;
  if (m.version !== undefined && v.version !== m.version) return false;
  if ((m.src !== undefined || m.dst !== undefined || m.host !== undefined) && !addressMatches(m, p, v)) return false;
  if (m.protocol !== undefined && (v.version === 0 || v.protocol !== m.protocol)) return false;
  if (m.flags !== undefined) {
    if (v.flags < 0) return false;
    if (m.flags.mode === 'exact' ? v.flags !== m.flags.bits : (v.flags & m.flags.bits) !== m.flags.bits) return false;
  }
  if (m.srcPort !== undefined || m.dstPort !== undefined || m.port !== undefined) {
    if (!v.hasTransport) return false;
    if (!inRange(v.srcPort, m.srcPort) || !inRange(v.dstPort, m.dstPort)) return false;
    if (m.port !== undefined && !inRange(v.srcPort, m.port) && !inRange(v.dstPort, m.port)) return false;
  }
  return inRange(v.payloadLength, m.length);
}

/** Whether the k-th packet (1-based) passing the other matchers is a hit for nth/every. */
function countHit(m: RuleMatch, k: number): boolean {
  if (m.nth !== undefined && m.every !== undefined) return k >= m.nth && (k - m.nth) % m.every === 0;
  if (m.nth !== undefined) return k === m.nth;
  if (m.every !== undefined) return k % m.every === 0;
  return true;
}

const opposite = (d: Direction): Direction => (d === 'in' ? 'out' : 'in');

export class RuleEngine {
  private readonly seen: number[];

  constructor(
    private readonly rules: readonly Rule[],
    private readonly counters: ImpairCounters,
    private readonly start: number,
  ) {
    this.seen = rules.map(() => 0);
  }

  apply(dir: Direction, packet: Uint8Array, now: number): RuleOutcome {
    const out: RuleOutcome = { packet, copies: 0, corrupt: false, delayMs: 0, injections: [], blackouts: [] };
    const c = this.counters[dir];
    const t = now - this.start;
    let view = viewPacket(packet);
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      const m = rule.match;
      if (!matchesStatic(m, dir, out.packet!, view, t)) continue;
      const k = ++this.seen[i]!;
      if (!countHit(m, k)) continue;
      if (m.times !== undefined && this.counters.ruleHits[i]! >= m.times) continue;
      this.counters.ruleHits[i]!++;
      c.ImpairRuleHits++;
      let dropped = false;
      for (const action of rule.actions) {
        switch (action.kind) {
          case 'drop':
            dropped = true;
            c.ImpairRuleDrops++;
            break;
          case 'delay':
            out.delayMs += action.ms;
            c.ImpairRuleDelayed++;
            break;
          case 'duplicate':
            out.copies += action.copies;
            c.ImpairRuleDuplicated += action.copies;
            break;
          case 'corrupt':
            out.corrupt = true;
            break;
          case 'rewrite': {
            const rewritten = rewriteTcp(out.packet!, action);
            if (rewritten !== undefined) {
              out.packet = rewritten;
              view = viewPacket(rewritten);
              c.ImpairRuleRewritten++;
              (out.rewrittenBy ??= []).push(i + 1);
            }
            break;
          }
          case 'inject': {
            const spec = action.inject;
            if (!view.hasTransport || view.flags < 0) break;
            const p = out.packet!;
            const next = (view.seq + segmentLength(view)) >>> 0;
            const reply = spec.toward === 'sender';
            const segment = {
              sourcePort: reply ? view.dstPort : view.srcPort,
              destinationPort: reply ? view.srcPort : view.dstPort,
              seq: applySeq(spec.seq, reply ? view.ack : next),
              ack: applySeq(spec.ack, reply ? next : view.ack),
              flags: spec.flags,
              window: spec.window ?? (spec.flags & TCP_RST ? 0 : view.window),
              data: spec.data,
            };
            let crafted: Uint8Array;
            if (view.version === 4) {
              const src = ipSource(p);
              const dst = ipDestination(p);
              crafted = craftTcp({ ...segment, source: reply ? dst : src, destination: reply ? src : dst });
            } else {
              // Over IPv6: the matched packet's addresses, in a bare header with no extension headers.
              const src = p.subarray(IPV6_SRC_OFFSET, IPV6_SRC_OFFSET + 16);
              const dst = p.subarray(IPV6_DST_OFFSET, IPV6_DST_OFFSET + 16);
              crafted = craftTcp6({ ...segment, source: reply ? dst : src, destination: reply ? src : dst });
            }
            out.injections.push({ dir: reply ? opposite(dir) : dir, packet: crafted, delayMs: spec.delayMs, rule: i + 1 });
            c.ImpairInjected++;
            break;
          }
          case 'blackout':
            out.blackouts.push({ direction: action.direction, until: now + action.ms });
            c.ImpairRuleBlackouts++;
            break;
        }
      }
      if (dropped) {
        out.packet = undefined;
        out.droppedBy = i + 1;
        return out;
      }
    }
    return out;
  }
}
