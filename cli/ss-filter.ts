/**
 * iproute2 ss's filter (ss(8), "STATE-FILTER" and "EXPRESSION"), for
 * `tcpstack ss`: first `state NAME` / `exclude NAME` words (scan_state in
 * ss.c: the states, `all`, `connected`, `synchronized`, `bucket`, `big`),
 * then an expression over ports and addresses (ssfilter.y):
 *
 *   sport = :80    dport != :7    sport >= :1024    dport lt :60000
 *   src 198.18.0.2    dst [2001:2::1]:7    dst 198.18.0.0/24
 *   ( sport = :80 or dport = :80 )    not dport = :22    a and b    a b
 *
 * Words are split at blanks as ss does, so `'sport = :80'` in one argument
 * works too. `and`/`or` bind left to right, without precedence, as the
 * grammar's left-recursive exprlist does. Not supported: `autobound`, `dev`,
 * `fwmark`, `cgroup`, service names for ports (numbers only), host names.
 */
import type { TcpStateName } from '../stack/socket/types.ts';
import { parseIpv4 } from '../stack/wire/addr.ts';
import { parseIpv6 } from '../stack/wire/addr6.ts';
import { UsageError } from './usage.ts';

/** One bit per state, Linux's TCP_* numbers (ss's SS_* enum): TCP_ESTABLISHED 1 ... TCP_CLOSING 11. */
const BIT: Record<TcpStateName, number> = {
  ESTABLISHED: 1 << 1,
  SYN_SENT: 1 << 2,
  SYN_RECV: 1 << 3,
  FIN_WAIT1: 1 << 4,
  FIN_WAIT2: 1 << 5,
  TIME_WAIT: 1 << 6,
  CLOSED: 1 << 7,
  CLOSE_WAIT: 1 << 8,
  LAST_ACK: 1 << 9,
  LISTEN: 1 << 10,
  CLOSING: 1 << 11,
};
export const SS_ALL = Object.values(BIT).reduce((a, b) => a | b, 0);
/** ss's default without -a (SS_CONN): neither listening, closed, TIME-WAIT nor SYN-RECV. */
export const SS_CONN = SS_ALL & ~(BIT.LISTEN | BIT.CLOSED | BIT.TIME_WAIT | BIT.SYN_RECV);
export const SS_LISTENING = BIT.LISTEN | BIT.CLOSED;

/** scan_state's names (sstate_namel), matched without regard to case. */
const STATE_WORDS: Record<string, number> = {
  established: BIT.ESTABLISHED,
  'syn-sent': BIT.SYN_SENT,
  'syn-recv': BIT.SYN_RECV,
  'syn-rcv': BIT.SYN_RECV,
  'fin-wait-1': BIT.FIN_WAIT1,
  'fin-wait-2': BIT.FIN_WAIT2,
  'time-wait': BIT.TIME_WAIT,
  unconnected: BIT.CLOSED,
  close: BIT.CLOSED,
  closed: BIT.CLOSED,
  'close-wait': BIT.CLOSE_WAIT,
  'last-ack': BIT.LAST_ACK,
  listening: BIT.LISTEN,
  closing: BIT.CLOSING,
  all: SS_ALL,
  connected: SS_ALL & ~(BIT.CLOSED | BIT.LISTEN),
  synchronized: SS_ALL & ~(BIT.CLOSED | BIT.LISTEN | BIT.SYN_SENT),
  bucket: BIT.SYN_RECV | BIT.TIME_WAIT,
  big: SS_ALL & ~(BIT.SYN_RECV | BIT.TIME_WAIT),
};
export const STATE_NAMES: readonly string[] = Object.keys(STATE_WORDS);

/** What a filter is matched against: one socket of the listing (a listener's peer is the wildcard, port 0). */
export interface SsSocket {
  state: string;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/** An address prefix: 4 or 16 bytes and how many bits count. */
interface Prefix {
  bytes: Uint8Array;
  bits: number;
}

type PortOp = '=' | '!=' | '>=' | '<=' | '>' | '<';

export type SsExpr =
  | { kind: 'and' | 'or'; left: SsExpr; right: SsExpr }
  | { kind: 'not'; expr: SsExpr }
  /** src/dst HOST[:PORT] and sport/dport = :PORT (SSF_SCOND, SSF_DCOND). */
  | { kind: 'host'; end: 'src' | 'dst'; prefix?: Prefix; port?: number }
  | { kind: 'port'; end: 'src' | 'dst'; op: PortOp; port: number };

export interface SsFilter {
  /** The state bits asked for with state/exclude; undefined when none was. */
  states: number | undefined;
  expr: SsExpr | undefined;
}

/** The words of ss's command line, each argument split at blanks (get_token_from_line). */
function tokens(args: readonly string[]): string[] {
  return args.flatMap((a) => a.split(/[ \t]+/)).filter((w) => w !== '');
}

function scanState(word: string): number {
  const bits = STATE_WORDS[word.toLowerCase()];
  if (bits === undefined) throw new UsageError(`ss: wrong state name: ${word} (known: ${STATE_NAMES.join(', ')})`);
  return bits;
}

const OPS: Record<string, PortOp> = { '=': '=', '==': '=', eq: '=', '!=': '!=', ne: '!=', neq: '!=', '>=': '>=', ge: '>=', geq: '>=', '<=': '<=', le: '<=', leq: '<=', '>': '>', gt: '>', '<': '<', lt: '<' };
const CONNECTIVES: Record<string, 'and' | 'or' | 'not'> = { '&': 'and', '&&': 'and', and: 'and', '|': 'or', '||': 'or', or: 'or', '!': 'not', not: 'not' };
const UNSUPPORTED = new Set(['autobound', 'dev', 'fwmark', 'cgroup']);

function portNumber(text: string, word: string): number | undefined {
  if (text === '' || text === '*') return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`ss: "${word}" does not look like a port (tcpstack ss takes numbers, not service names)`);
  return Number(text);
}

function parsePrefix(text: string, word: string): Prefix {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const v4 = parseIpv4(address);
  let bytes: Uint8Array | undefined;
  if (v4 !== undefined) bytes = new Uint8Array([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]);
  else bytes = parseIpv6(address);
  if (bytes === undefined) throw new UsageError(`ss: an inet prefix is expected rather than "${word}" (no host names)`);
  const max = bytes.length * 8;
  const bits = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!/^\d+$/.test(slash < 0 ? '0' : text.slice(slash + 1)) || bits > max) throw new UsageError(`ss: "${word}": the prefix length must be 0-${max}`);
  return { bytes, bits };
}

/**
 * parse_hostcond: `:PORT` or `PORT` for sport/dport; for src/dst an address
 * or prefix with an optional `:PORT` (`*` for any), IPv6 in brackets when a
 * port follows. A bare IPv6 address (more than one ':') is taken whole, where
 * ss would read its last group as a port.
 */
function hostCond(word: string, end: 'src' | 'dst', portOnly: boolean): SsExpr {
  if (portOnly) {
    const port = portNumber(word.startsWith(':') ? word.slice(1) : word, word);
    return port === undefined ? { kind: 'host', end } : { kind: 'host', end, port };
  }
  let address = word;
  let portText = '';
  if (word.startsWith('[')) {
    const close = word.indexOf(']');
    if (close < 0) throw new UsageError(`ss: "${word}": no ']' after the address`);
    address = word.slice(1, close);
    const rest = word.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw new UsageError(`ss: "${word}": expected :PORT after ']'`);
    portText = rest.slice(1);
  } else if (word.startsWith('*')) {
    address = '';
    portText = word.slice(1).replace(/^:/, '');
  } else if ((word.match(/:/g) ?? []).length === 1) {
    const colon = word.indexOf(':');
    address = word.slice(0, colon);
    portText = word.slice(colon + 1);
  }
  const port = portNumber(portText, word);
  const prefix = address === '' || address === '*' ? undefined : parsePrefix(address, word);
  return { kind: 'host', end, ...(prefix === undefined ? {} : { prefix }), ...(port === undefined ? {} : { port }) };
}

class ExprParser {
  private i = 0;
  constructor(private readonly words: readonly string[]) {}

  parse(): SsExpr | undefined {
    if (this.words.length === 0) return undefined;
    const e = this.list();
    if (this.i < this.words.length) throw new UsageError(`ss: unexpected "${this.words[this.i]}" in the filter${this.words[this.i] === ')' ? ' (no "(" to close)' : ''}`);
    return e;
  }

  /** exprlist: expr, then (| expr, & expr, or expr) repeatedly, left to right. */
  private list(): SsExpr {
    let left = this.expr();
    for (;;) {
      const w = this.words[this.i];
      if (w === undefined || w === ')') return left;
      const c = CONNECTIVES[w];
      if (c === 'and' || c === 'or') {
        this.i++;
        left = { kind: c, left, right: this.expr() };
      } else {
        left = { kind: 'and', left, right: this.expr() };
      }
    }
  }

  private expr(): SsExpr {
    const w = this.words[this.i++];
    if (w === undefined) throw new UsageError('ss: the filter ends where an expression should follow');
    if (w === '(') {
      const e = this.list();
      if (this.words[this.i++] !== ')') throw new UsageError('ss: "(" without ")" in the filter');
      return e;
    }
    if (CONNECTIVES[w] === 'not') return { kind: 'not', expr: this.expr() };
    if (w === 'src' || w === 'dst') {
      if (OPS[this.words[this.i] ?? ''] === '=') this.i++;
      return hostCond(this.value(w), w, false);
    }
    if (w === 'sport' || w === 'dport') {
      const end = w === 'sport' ? 'src' : 'dst';
      const op = OPS[this.words[this.i] ?? ''];
      if (op !== undefined) this.i++;
      const cond = hostCond(this.value(w), end, true);
      if (op === undefined || op === '=') return cond;
      if (cond.kind !== 'host' || cond.port === undefined) throw new UsageError(`ss: ${w} ${op} needs a port number`);
      return { kind: 'port', end, op, port: cond.port };
    }
    if (UNSUPPORTED.has(w)) throw new UsageError(`ss: "${w}" filters are not supported by tcpstack ss (ports and addresses are: sport, dport, src, dst)`);
    if (w === 'state' || w === 'exclude' || w === 'excl') throw new UsageError(`ss: "${w}" must come before the expression, as in: ss state established sport = :80`);
    throw new UsageError(`ss: unexpected "${w}" in the filter (expected sport, dport, src, dst, not or "(")`);
  }

  private value(after: string): string {
    const w = this.words[this.i++];
    if (w === undefined || w === ')' || w === '(' || CONNECTIVES[w] !== undefined) throw new UsageError(`ss: ${after} needs an address or port after it`);
    return w;
  }
}

/** `state ... exclude ... EXPRESSION` as ss's main() and ssfilter_parse read them. */
export function parseSsFilter(args: readonly string[]): SsFilter {
  const words = tokens(args);
  let states: number | undefined;
  let i = 0;
  while (i < words.length && (words[i] === 'state' || words[i] === 'exclude' || words[i] === 'excl')) {
    const which = words[i]!;
    const name = words[i + 1];
    if (name === undefined) throw new UsageError(`ss: ${which} needs a state name (known: ${STATE_NAMES.join(', ')})`);
    const bits = scanState(name);
    if (which === 'state') states = (states ?? 0) | bits;
    else states = (states ?? SS_ALL) & ~bits;
    i += 2;
  }
  return { states, expr: new ExprParser(words.slice(i)).parse() };
}

/** The bit of a state (an unknown name has none). */
export function stateBit(state: string): number {
  return Object.hasOwn(BIT, state) ? BIT[state as TcpStateName] : 0;
}

/** Whether `states` has exactly one state in it (ss then leaves the State column out). */
export function singleState(states: number): boolean {
  return states !== 0 && (states & (states - 1)) === 0;
}

function addressBytes(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return new Uint8Array([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]);
  return parseIpv6(text);
}

function prefixMatches(bytes: Uint8Array, p: Prefix): boolean {
  if (bytes.length !== p.bytes.length) return false;
  const whole = p.bits >> 3;
  for (let k = 0; k < whole; k++) if (bytes[k] !== p.bytes[k]) return false;
  const rest = p.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[whole]! & mask) === (p.bytes[whole]! & mask);
}

/**
 * inet2_addr_match: the prefix of the address's own family; an IPv4 prefix
 * also matches a v4-mapped IPv6 address ("v4 mapped socket matches pure
 * IPv4 rule, but v4-mapped rule selects only v4-mapped sockets").
 */
function addressMatches(text: string, p: Prefix): boolean {
  const bytes = addressBytes(text);
  if (bytes === undefined) return false;
  if (prefixMatches(bytes, p)) return true;
  const mapped = bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped && p.bytes.length === 4 && prefixMatches(bytes.subarray(12), p);
}

/** run_ssfilter. */
export function exprMatches(e: SsExpr, s: SsSocket): boolean {
  switch (e.kind) {
    case 'and':
      return exprMatches(e.left, s) && exprMatches(e.right, s);
    case 'or':
      return exprMatches(e.left, s) || exprMatches(e.right, s);
    case 'not':
      return !exprMatches(e.expr, s);
    case 'host': {
      const port = e.end === 'src' ? s.localPort : s.remotePort;
      if (e.port !== undefined && e.port !== port) return false;
      return e.prefix === undefined || addressMatches(e.end === 'src' ? s.localAddress : s.remoteAddress, e.prefix);
    }
    case 'port': {
      const port = e.end === 'src' ? s.localPort : s.remotePort;
      switch (e.op) {
        case '=':
          return port === e.port;
        case '!=':
          return port !== e.port;
        case '>=':
          return port >= e.port;
        case '<=':
          return port <= e.port;
        case '>':
          return port > e.port;
        case '<':
          return port < e.port;
      }
    }
  }
}

/** Whether socket `s` passes: its state among `states`, and the expression (if any) true of it. */
export function ssMatches(filter: SsFilter, states: number, s: SsSocket): boolean {
  return (stateBit(s.state) & states) !== 0 && (filter.expr === undefined || exprMatches(filter.expr, s));
}
