/**
 * Targeted faults: the rule file (JSON), parsed and validated into rules the
 * engine runs. Every problem is reported as one line naming the rule (1 is
 * the first in the file) and the field, e.g.
 *   rule 2, match.flags: unknown flag letter "X" (use F S R P A U E W)
 *
 * The schema (README "Impairments" has examples):
 *
 *   { "rules": [ RULE, ... ] }        (or just the array)
 *   RULE   = { "name"?: string, "match"?: MATCH, "action": ACTION | [ACTION, ...] }
 *   MATCH  = { "direction"?: "in" | "out" | "both",
 *              "version"?: 4 | 6,
 *              "src"? | "dst"? | "host"?: ADDRESS | ADDRESS/BITS,   (IPv4 or IPv6; host: either end)
 *              "protocol"?: "tcp" | "udp" | "icmp" | "icmp6" | 0-255,   (IPv6: after the extension headers)
 *              "flags"?: "SA" | { "exact": "SA" } | { "contains": "S" },
 *              "srcPort"? | "dstPort"? | "port"?: N | [LO, HI],
 *              "length"?: N | [LO, HI] | { "min"?: N, "max"?: N },   (payload bytes)
 *              "nth"?: N, "every"?: N, "times"?: N,
 *              "from"?: TIME, "until"?: TIME }
 *   ACTION = "drop" | "duplicate" | "corrupt"
 *          | { "delay": TIME } | { "duplicate": N }
 *          | { "rewrite": { "window"?: N, "flags"?: "PA", "seq"?: SEQ, "ack"?: SEQ } }
 *          | { "inject": { "toward"?: "sender" | "receiver", "flags": "R", "seq"?: SEQ,
 *                          "ack"?: SEQ, "window"?: N, "data"?: string, "delay"?: TIME } }
 *          | { "blackout": TIME } | { "blackout": { "duration": TIME, "direction"?: DIR } }
 *   TIME   = milliseconds, or "50ms", "3s"...;  SEQ = 0..2^32-1 (absolute) or "+N" / "-N" (relative)
 */
import { readFileSync } from 'node:fs';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { formatIpv6, parseIpv6 } from '../../stack/wire/addr6.ts';
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from '../../stack/wire/ipv4.ts';
import { NEXTHDR_ICMPV6 } from '../../stack/wire/ipv6.ts';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../../stack/wire/tcp.ts';
import type { SeqValue } from './packet.ts';
import { ImpairSyntaxError, timeValue } from './units.ts';

export type RuleDirection = 'in' | 'out' | 'both';
export interface Range {
  min: number;
  max: number;
}

/** An address or a prefix of one family: the packet's address matches when its first `bits` bits are those of `bytes`. */
export interface AddressMatch {
  version: 4 | 6;
  /** 4 or 16 bytes, zero beyond the prefix. */
  bytes: Uint8Array;
  bits: number;
}

export interface RuleMatch {
  direction: RuleDirection;
  /** IP version: 4 or 6 (tcpdump's `ip` and `ip6`). */
  version?: 4 | 6;
  src?: AddressMatch;
  dst?: AddressMatch;
  /** Either address. */
  host?: AddressMatch;
  /** The upper-layer protocol; over IPv6 the Next Header after the extension headers. */
  protocol?: number;
  flags?: { mode: 'exact' | 'contains'; bits: number };
  srcPort?: Range;
  dstPort?: Range;
  /** Either port. */
  port?: Range;
  /** Payload bytes: TCP data, UDP payload, or what follows the IP header. */
  length?: Range;
  /** Only the Nth packet that passes the other matchers (1 = the first)... */
  nth?: number;
  /** ...or every Nth of them; with both, the nth and every `every`-th after it. */
  every?: number;
  /** At most this many hits. */
  times?: number;
  /** Time window (ms since the impairment started): from ≤ t < until. */
  from?: number;
  until?: number;
}

export interface InjectSpec {
  /** 'sender': a reply to whoever sent the matched packet; 'receiver': a spoof of it, to its destination. */
  toward: 'sender' | 'receiver';
  flags: number;
  /** Relative values count from what the destination expects next (see rule-engine.ts). */
  seq: SeqValue;
  ack: SeqValue;
  /** undefined: 0 for a RST, the matched packet's window otherwise. */
  window: number | undefined;
  data: Uint8Array;
  delayMs: number;
}

export type RuleAction =
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number }
  | { kind: 'duplicate'; copies: number }
  | { kind: 'corrupt' }
  | { kind: 'rewrite'; window?: number; flags?: number; seq?: SeqValue; ack?: SeqValue }
  | { kind: 'inject'; inject: InjectSpec }
  | { kind: 'blackout'; ms: number; direction: RuleDirection };

export interface Rule {
  /** 1-based position in the file (what errors and the ImpairRuleNHits counter use). */
  number: number;
  name: string | undefined;
  match: RuleMatch;
  actions: RuleAction[];
}

/** A rule file problem: one line, "rule N, FIELD: PROBLEM". */
export class RuleError extends ImpairSyntaxError {}

const FLAG_LETTERS: Record<string, number> = {
  F: TCP_FIN,
  S: TCP_SYN,
  R: TCP_RST,
  P: TCP_PSH,
  A: TCP_ACK,
  '.': TCP_ACK,
  U: TCP_URG,
  E: TCP_ECE,
  W: TCP_CWR,
};

/** "SA" → SYN|ACK. Letters as tcpdump prints them (F S R P . U E W), with A for ACK. */
export function parseFlagLetters(text: string): number {
  let bits = 0;
  for (const ch of text.toUpperCase()) {
    const bit = FLAG_LETTERS[ch];
    if (bit === undefined) throw new ImpairSyntaxError(`unknown flag letter ${JSON.stringify(ch)} (use F S R P A U E W)`);
    bits |= bit;
  }
  return bits;
}

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Ctx {
  constructor(readonly rule: number) {}
  fail(field: string, problem: string): never {
    throw new RuleError(`rule ${this.rule}, ${field}: ${problem}`);
  }
  /** Runs a unit parser, turning its error into one naming the rule and field. */
  wrap<T>(field: string, parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      if (error instanceof RuleError) throw error;
      if (error instanceof ImpairSyntaxError) this.fail(field, error.message);
      throw error;
    }
  }
  object(field: string, v: Json, known: readonly string[]): Record<string, Json> {
    if (!isObject(v)) this.fail(field, `expected an object, got ${JSON.stringify(v)}`);
    for (const key of Object.keys(v)) {
      if (!known.includes(key)) this.fail(field, `unknown field ${JSON.stringify(key)} (known: ${known.join(', ')})`);
    }
    return v;
  }
  integer(field: string, v: Json, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, `expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  }
  range(field: string, v: Json, min: number, max: number): Range {
    if (typeof v === 'number') {
      const n = this.integer(field, v, min, max);
      return { min: n, max: n };
    }
    if (Array.isArray(v)) {
      if (v.length !== 2) this.fail(field, `a range is [LOW, HIGH], got ${v.length} elements`);
      const lo = this.integer(`${field}[0]`, v[0], min, max);
      const hi = this.integer(`${field}[1]`, v[1], min, max);
      if (lo > hi) this.fail(field, `the range [${lo}, ${hi}] is empty (LOW > HIGH)`);
      return { min: lo, max: hi };
    }
    if (isObject(v)) {
      const o = this.object(field, v, ['min', 'max']);
      const lo = o.min === undefined ? min : this.integer(`${field}.min`, o.min, min, max);
      const hi = o.max === undefined ? max : this.integer(`${field}.max`, o.max, min, max);
      if (lo > hi) this.fail(field, `min ${lo} is above max ${hi}`);
      return { min: lo, max: hi };
    }
    this.fail(field, `expected N, [LOW, HIGH] or {"min": N, "max": N}, got ${JSON.stringify(v)}`);
  }
  time(field: string, v: Json): number {
    return this.wrap(field, () => timeValue(v));
  }
  direction(field: string, v: Json): RuleDirection {
    if (v !== 'in' && v !== 'out' && v !== 'both') this.fail(field, `expected "in", "out" or "both", got ${JSON.stringify(v)}`);
    return v;
  }
  flags(field: string, v: Json, allowEmpty: boolean): number {
    if (typeof v !== 'string') this.fail(field, `expected flag letters like "SA", got ${JSON.stringify(v)}`);
    if (v === '' && !allowEmpty) this.fail(field, 'no flag letters');
    return this.wrap(field, () => parseFlagLetters(v));
  }
  seq(field: string, v: Json): SeqValue {
    if (typeof v === 'number') return { absolute: this.integer(field, v, 0, 0xffffffff) };
    if (typeof v === 'string' && /^[+-]\d+$/.test(v)) {
      const n = Number(v);
      if (Math.abs(n) > 0xffffffff) this.fail(field, `${v} is beyond 32 bits`);
      return { relative: n };
    }
    this.fail(field, `expected an absolute number 0-4294967295 or a relative "+N" / "-N", got ${JSON.stringify(v)}`);
  }
}

const PROTOCOLS: Record<string, number> = { tcp: PROTO_TCP, udp: PROTO_UDP, icmp: PROTO_ICMP, icmp6: NEXTHDR_ICMPV6 };
const MATCH_FIELDS = ['direction', 'version', 'src', 'dst', 'host', 'protocol', 'flags', 'srcPort', 'dstPort', 'port', 'length', 'nth', 'every', 'times', 'from', 'until'] as const;
const ACTION_KINDS = ['drop', 'delay', 'duplicate', 'corrupt', 'rewrite', 'inject', 'blackout'] as const;

/**
 * "198.18.0.1", "198.18.0.0/15", "2001:2::1" or "2001:2::/64" (tcpdump's
 * `host` and `net`): the address, and how many of its leading bits must
 * match (all of them without a prefix length). Bits beyond the prefix must
 * be zero, as tcpdump requires of a `net`: "2001:2::1/64" is a mistake for
 * either a host or 2001:2::/64.
 */
export function parseAddressMatch(text: string): AddressMatch {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseIpv4(addressText);
  const bytes = v4 !== undefined ? Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255) : parseIpv6(addressText);
  if (bytes === undefined) {
    throw new ImpairSyntaxError(`${JSON.stringify(text)}: expected an IPv4 or IPv6 address, maybe with a prefix length (198.18.0.0/15, 2001:2::/64)`);
  }
  const max = bytes.length * 8;
  let bits = max;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(lengthText) || Number(lengthText) > max) {
      throw new ImpairSyntaxError(`${JSON.stringify(text)}: the prefix length is 0 to ${max}`);
    }
    bits = Number(lengthText);
  }
  const version = v4 !== undefined ? 4 : 6;
  const prefix = bytes.map((b, i) => b & prefixByteMask(bits, i));
  if (prefix.some((b, i) => b !== bytes[i])) {
    const network = version === 4 ? prefix.join('.') : formatIpv6(prefix);
    throw new ImpairSyntaxError(`${JSON.stringify(text)}: bits are set beyond the /${bits} prefix (the network is ${network}/${bits}; without /${bits}, one address)`);
  }
  return { version, bytes, bits };
}

/** The mask of byte `i` of an address for a prefix of `bits` bits: 0xff inside it, 0 past it. */
export function prefixByteMask(bits: number, i: number): number {
  const k = Math.max(0, Math.min(8, bits - 8 * i));
  return (0xff00 >> k) & 0xff;
}

/** `version`, `src`, `dst` and `host` of a match: each address of one family, all of the same one. */
function parseVersionAndAddresses(c: Ctx, o: Record<string, Json>, m: RuleMatch): void {
  if (o.version !== undefined) {
    if (o.version !== 4 && o.version !== 6) c.fail('match.version', `expected 4 or 6 (tcpdump's ip or ip6), got ${JSON.stringify(o.version)}`);
    m.version = o.version;
  }
  for (const key of ['src', 'dst', 'host'] as const) {
    const value = o[key];
    if (value === undefined) continue;
    const field = `match.${key}`;
    if (typeof value !== 'string') c.fail(field, `expected an address like "198.18.0.1" or "2001:2::/64", got ${JSON.stringify(value)}`);
    const a = c.wrap(field, () => parseAddressMatch(value));
    const family = matchFamily(m);
    if (family !== undefined && family.version !== a.version) {
      c.fail(field, `an IPv${a.version} address, but ${family.field} is IPv${family.version}: a packet has one IP version`);
    }
    m[key] = a;
  }
}

/** The IP version a match asks for already, and the field that says so. */
function matchFamily(m: RuleMatch): { version: 4 | 6; field: string } | undefined {
  if (m.version !== undefined) return { version: m.version, field: 'match.version' };
  for (const key of ['src', 'dst', 'host'] as const) {
    const a = m[key];
    if (a !== undefined) return { version: a.version, field: `match.${key}` };
  }
  return undefined;
}

function parseMatch(c: Ctx, v: Json): RuleMatch {
  const o = c.object('match', v ?? {}, MATCH_FIELDS);
  const m: RuleMatch = { direction: o.direction === undefined ? 'both' : c.direction('match.direction', o.direction) };
  parseVersionAndAddresses(c, o, m);
  if (o.protocol !== undefined) {
    if (typeof o.protocol === 'string') {
      const name = o.protocol.toLowerCase();
      const p = PROTOCOLS[name];
      if (p === undefined) c.fail('match.protocol', `unknown protocol ${JSON.stringify(o.protocol)} (use tcp, udp, icmp, icmp6 or a number 0-255)`);
      const family = matchFamily(m);
      if (name === 'icmp' && family?.version === 6) c.fail('match.protocol', `"icmp" is ICMP over IPv4, but ${family.field} is IPv6: use "icmp6"`);
      if (name === 'icmp6' && family?.version === 4) c.fail('match.protocol', `"icmp6" is ICMP over IPv6, but ${family.field} is IPv4: use "icmp"`);
      m.protocol = p;
    } else {
      m.protocol = c.integer('match.protocol', o.protocol, 0, 255);
    }
  }
  if (o.flags !== undefined) {
    if (m.protocol !== undefined && m.protocol !== PROTO_TCP) c.fail('match.flags', 'TCP flags only match TCP, but match.protocol is not "tcp"');
    if (typeof o.flags === 'string') {
      m.flags = { mode: 'exact', bits: c.flags('match.flags', o.flags, true) };
    } else {
      const f = c.object('match.flags', o.flags, ['exact', 'contains']);
      const modes = Object.keys(f);
      if (modes.length !== 1) c.fail('match.flags', 'give exactly one of "exact" or "contains"');
      const mode = modes[0] as 'exact' | 'contains';
      m.flags = { mode, bits: c.flags(`match.flags.${mode}`, f[mode], mode === 'exact') };
    }
  }
  for (const key of ['srcPort', 'dstPort', 'port'] as const) {
    if (o[key] === undefined) continue;
    if (m.protocol !== undefined && m.protocol !== PROTO_TCP && m.protocol !== PROTO_UDP) {
      c.fail(`match.${key}`, 'ports only match TCP or UDP');
    }
    m[key] = c.range(`match.${key}`, o[key], 0, 65535);
  }
  if (o.length !== undefined) m.length = c.range('match.length', o.length, 0, 65535);
  if (o.nth !== undefined) m.nth = c.integer('match.nth', o.nth, 1, Number.MAX_SAFE_INTEGER);
  if (o.every !== undefined) m.every = c.integer('match.every', o.every, 1, Number.MAX_SAFE_INTEGER);
  if (o.times !== undefined) m.times = c.integer('match.times', o.times, 1, Number.MAX_SAFE_INTEGER);
  if (o.from !== undefined) m.from = c.time('match.from', o.from);
  if (o.until !== undefined) m.until = c.time('match.until', o.until);
  if (m.from !== undefined && m.until !== undefined && m.until <= m.from) {
    c.fail('match.until', `the window ${m.from}ms to ${m.until}ms is empty`);
  }
  return m;
}

function isTcpMatch(m: RuleMatch): boolean {
  return m.protocol === PROTO_TCP || m.flags !== undefined;
}

function parseAction(c: Ctx, field: string, v: Json, match: RuleMatch): RuleAction {
  if (typeof v === 'string') {
    switch (v) {
      case 'drop':
        return { kind: 'drop' };
      case 'duplicate':
        return { kind: 'duplicate', copies: 1 };
      case 'corrupt':
        return { kind: 'corrupt' };
      default:
        c.fail(field, `unknown action ${JSON.stringify(v)} (known: ${ACTION_KINDS.join(', ')}; delay, rewrite, inject and blackout take an object like {"delay": "200ms"})`);
    }
  }
  const o = c.object(field, v, ACTION_KINDS);
  const keys = Object.keys(o);
  if (keys.length !== 1) c.fail(field, `an action object has exactly one key (one of ${ACTION_KINDS.join(', ')}), got ${keys.length}`);
  const kind = keys[0] as (typeof ACTION_KINDS)[number];
  const value = o[kind];
  const at = `${field}.${kind}`;
  switch (kind) {
    case 'drop':
    case 'corrupt':
      if (value !== true) c.fail(at, `write "${kind}" as a plain string`);
      return { kind };
    case 'delay':
      return { kind, ms: c.time(at, value) };
    case 'duplicate':
      return { kind, copies: c.integer(at, value, 1, 100) };
    case 'blackout': {
      if (isObject(value)) {
        const b = c.object(at, value, ['duration', 'direction']);
        if (b.duration === undefined) c.fail(at, 'missing "duration"');
        return { kind, ms: c.time(`${at}.duration`, b.duration), direction: b.direction === undefined ? 'both' : c.direction(`${at}.direction`, b.direction) };
      }
      return { kind, ms: c.time(at, value), direction: 'both' };
    }
    case 'rewrite': {
      if (!isTcpMatch(match)) c.fail(at, 'rewrites TCP fields: the match needs "protocol": "tcp" (or "flags")');
      const r = c.object(at, value, ['window', 'flags', 'seq', 'ack']);
      if (Object.keys(r).length === 0) c.fail(at, 'nothing to rewrite (give window, flags, seq or ack)');
      const action: RuleAction = { kind };
      if (r.window !== undefined) action.window = c.integer(`${at}.window`, r.window, 0, 65535);
      if (r.flags !== undefined) action.flags = c.flags(`${at}.flags`, r.flags, true);
      if (r.seq !== undefined) action.seq = c.seq(`${at}.seq`, r.seq);
      if (r.ack !== undefined) action.ack = c.seq(`${at}.ack`, r.ack);
      return action;
    }
    case 'inject': {
      if (!isTcpMatch(match)) c.fail(at, 'crafts a TCP segment from the matched one: the match needs "protocol": "tcp" (or "flags")');
      const i = c.object(at, value, ['toward', 'flags', 'seq', 'ack', 'window', 'data', 'delay']);
      if (i.toward !== undefined && i.toward !== 'sender' && i.toward !== 'receiver') {
        c.fail(`${at}.toward`, `expected "sender" (a reply to the matched packet's source) or "receiver" (to its destination), got ${JSON.stringify(i.toward)}`);
      }
      if (i.flags === undefined) c.fail(at, 'missing "flags" (e.g. "R" for a reset)');
      if (i.data !== undefined && typeof i.data !== 'string') c.fail(`${at}.data`, `expected a string, got ${JSON.stringify(i.data)}`);
      const data = new TextEncoder().encode((i.data as string | undefined) ?? '');
      if (data.length > 1400) c.fail(`${at}.data`, `${data.length} bytes is more than the 1400 an injected segment may carry`);
      return {
        kind,
        inject: {
          toward: (i.toward as 'sender' | 'receiver' | undefined) ?? 'sender',
          flags: c.flags(`${at}.flags`, i.flags, false),
          seq: i.seq === undefined ? { relative: 0 } : c.seq(`${at}.seq`, i.seq),
          ack: i.ack === undefined ? { relative: 0 } : c.seq(`${at}.ack`, i.ack),
          window: i.window === undefined ? undefined : c.integer(`${at}.window`, i.window, 0, 65535),
          data,
          delayMs: i.delay === undefined ? 0 : c.time(`${at}.delay`, i.delay),
        },
      };
    }
  }
}

function parseRule(v: Json, number: number): Rule {
  const c = new Ctx(number);
  if (!isObject(v)) c.fail('rule', `expected an object with "match" and "action", got ${JSON.stringify(v)}`);
  const o = c.object('rule', v, ['name', 'match', 'action', 'comment']);
  if (o.name !== undefined && typeof o.name !== 'string') c.fail('name', `expected a string, got ${JSON.stringify(o.name)}`);
  const match = parseMatch(c, o.match);
  if (o.action === undefined) c.fail('action', 'missing (e.g. "drop", {"delay": "200ms"}, or a list of actions)');
  const list = Array.isArray(o.action) ? o.action : [o.action];
  if (list.length === 0) c.fail('action', 'the list of actions is empty');
  const actions = list.map((a, i) => parseAction(c, Array.isArray(o.action) ? `action[${i}]` : 'action', a, match));
  if (actions.some((a) => a.kind === 'drop')) {
    const other = actions.find((a) => a.kind !== 'drop' && a.kind !== 'inject' && a.kind !== 'blackout');
    if (other) c.fail('action', `"drop" ends the packet, so "${other.kind}" cannot go with it (only inject and blackout can)`);
  }
  return { number, name: o.name as string | undefined, match, actions };
}

/** Validates parsed JSON (`{"rules": [...]}` or the bare array) into rules. */
export function parseRules(json: Json): Rule[] {
  let list: Json = json;
  if (isObject(json)) {
    for (const key of Object.keys(json)) {
      if (key !== 'rules' && key !== 'comment') throw new RuleError(`unknown top-level field ${JSON.stringify(key)} (expected {"rules": [...]})`);
    }
    list = json.rules;
  }
  if (!Array.isArray(list)) throw new RuleError('expected {"rules": [...]} or an array of rules');
  return list.map((r, i) => parseRule(r, i + 1));
}

/** Reads and validates a rule file; errors are one line (not found, not JSON, or a rule's problem). */
export function loadRules(path: string): Rule[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RuleError(`cannot read it (${code ?? (error as Error).message})`);
  }
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RuleError(`not valid JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  return parseRules(json);
}
