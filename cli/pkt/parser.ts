/**
 * A recursive-descent parser for packetdrill's grammar (parser.y in
 * google/packetdrill), for the subset the runner executes:
 *
 *   script  := option* init_command? event+ cleanup_command?
 *   option  := --name[=value]
 *   event   := time action
 *   time    := T | +T | * | T~T | +T~+T          (T: seconds, integer or float)
 *   action  := packet | syscall | `shell command` | %{ python }%
 *   packet  := (<|>) [ipinfo] [SRC>DST] flags start:end(len) [ack N] [win N] [urg N] [<options>|<...>]
 *            | < icmp TYPE [CODE] [mtu N] [id N] [[start:end(len)]]
 *   syscall := [...END] name(args) = result [ERRNO (note)] [(note)]
 *
 * It keeps packetdrill's semantic checks (negative times, backwards ranges,
 * `*` and ranges only on outbound packets, `win` required inbound, `<...>`
 * only outbound, options padded to 32 bits, start + len = end) with its
 * wording, and reports every error as one line `file:line: ...`. Syntax
 * packetdrill has and the runner does not execute (UDP, outbound ICMP,
 * encapsulation headers, MD5/Fast Open/AccECN options, msghdr and cmsg
 * arguments) is refused with a line saying so.
 *
 * As in packetdrill, the configuration is settled once the options are read
 * (parse_and_finalize_config, between the options and the first event): the
 * IP version (`--ip_version`, the command line's winning over the script's)
 * decides which family's table an ICMP line's names come from.
 */
import {
  EXTENDED_ERR_FIELDS,
  ScriptError,
  type Action,
  type Expr,
  type ExtendedErrField,
  type IcmpSpec,
  type IpInfoSpec,
  type PacketSpec,
  type Script,
  type ScriptEvent,
  type ScriptOption,
  type SyscallSpec,
  type TcpOptionSpec,
  type TimeType,
} from './ast.ts';
import { icmpHeaderValues } from './icmp-names.ts';
import { parseIpVersion, wireFamily, type IpVersion } from './ip-version.ts';
import { substituteDefinition, tokenize, type Token } from './lexer.ts';
import { splitDefinition } from './options.ts';

/** packetdrill's valid_tcp_flags, plus C as another spelling of CWR (W). */
const VALID_FLAGS = '.FSRPEWAUC01234567';

/** Bytes each option takes on the wire (tcp_option_new lengths). */
export function optionBytes(o: TcpOptionSpec): number {
  switch (o.kind) {
    case 'nop':
    case 'eol':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sackOK':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'ts':
      return 10;
    case 'fastopen':
      return o.cookie.length + (o.exp ? 4 : 2);
    case 'md5':
      return 2 + o.digest.length;
  }
}

/** Option space left for a Fast Open cookie after its base (packetdrill's MAX_TCP_FAST_OPEN_[EXP_]COOKIE_BYTES). */
const maxCookieBytes = (exp: boolean): number => 40 - (exp ? 4 : 2);

const isU8 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xff;
const isU16 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff;
const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

class Parser {
  private i = 0;
  /** Line of the statement being parsed, for semantic errors (packetdrill's current_script_line). */
  private stmtLine = 1;

  /** The IP version the events are read for (set once the options are read). */
  private ipVersion: IpVersion = 'ipv4';

  /** The tokens as read, before definitions are substituted. */
  private readonly raw: Token[];
  private toks: Token[];

  constructor(
    tokens: Token[],
    private readonly file: string,
    private readonly ipVersionOverride: IpVersion | undefined,
    /** The command line's definitions (`-D NAME=VALUE`): substituted everywhere, the script's option lines included. */
    private readonly commandLineDefines: ReadonlyMap<string, string> = new Map(),
  ) {
    this.raw = tokens;
    this.toks = tokens.map((t) => substituteDefinition(t, commandLineDefines));
  }

  /**
   * Once the script's options are read, its own `--define=NAME=VALUE`
   * lines apply to the rest (packetdrill's parse_and_finalize_config runs
   * between the options and the first event; the command line's win).
   */
  private applyScriptDefinitions(options: readonly ScriptOption[]): void {
    const defines = new Map<string, string>();
    for (const o of options) {
      if (o.name !== 'define' || o.value === undefined) continue;
      const d = splitDefinition(o.value);
      if (d === undefined) throw new ScriptError(this.file, o.line, `bad definition: ${o.value}`);
      defines.set(d.name, d.value);
    }
    if (defines.size === 0) return;
    for (const [k, v] of this.commandLineDefines) defines.set(k, v);
    this.toks = [...this.toks.slice(0, this.i), ...this.raw.slice(this.i).map((t) => substituteDefinition(t, defines))];
  }

  /** A TCP sequence range as packetdrill writes it, start:end(length): each in its field's range, end = start + length. */
  private seqRange(): { start: number; end: number; len: number } {
    const start = this.expectInteger('a sequence number start:end(length)');
    this.expectChar(':');
    const end = this.expectInteger('the end sequence number');
    this.expectChar('(');
    const len = this.expectInteger('the payload length');
    this.expectChar(')');
    if (!isU32(start)) throw this.semantic('TCP start sequence number out of range');
    if (!isU32(end)) throw this.semantic('TCP end sequence number out of range');
    if (!isU16(len)) throw this.semantic('TCP payload size out of range');
    if (end !== start + len) throw this.semantic('inconsistent TCP sequence numbers and payload size');
    return { start, end, len };
  }

  private peek(k = 0): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'EOF') this.i++;
    return t;
  }

  private isChar(t: Token, c: string): boolean {
    return t.kind === 'CHAR' && t.text === c;
  }

  private isKeyword(t: Token, kw: string): boolean {
    return t.kind === 'KEYWORD' && t.text === kw;
  }

  private describe(t: Token): string {
    return t.kind === 'EOF' ? 'end of file' : `'${t.text.length > 40 ? t.text.slice(0, 40) + '...' : t.text}'`;
  }

  private syntax(t: Token, expected: string): ScriptError {
    return new ScriptError(this.file, t.line, `parse error at ${this.describe(t)}: expected ${expected}`);
  }

  private semantic(message: string, line = this.stmtLine): ScriptError {
    return new ScriptError(this.file, line, `semantic error: ${message}`);
  }

  private unsupported(t: Token, what: string): ScriptError {
    return new ScriptError(this.file, t.line, `not supported by tcpstack pkt: ${what}`);
  }

  private expectChar(c: string): Token {
    const t = this.next();
    if (!this.isChar(t, c)) throw this.syntax(t, `'${c}'`);
    return t;
  }

  private expectKeyword(kw: string): Token {
    const t = this.next();
    if (!this.isKeyword(t, kw)) throw this.syntax(t, `'${kw}'`);
    return t;
  }

  private expectInteger(what: string): number {
    const t = this.next();
    if (t.kind !== 'INTEGER') throw this.syntax(t, what);
    return Number(t.text);
  }

  // ---------------------------------------------------------------------------

  parseScript(): Script {
    const options: ScriptOption[] = [];
    while (this.peek().kind === 'OPTION') options.push(this.parseOption());
    this.ipVersion = this.ipVersionOverride ?? this.scriptIpVersion(options);
    this.applyScriptDefinitions(options);
    let initCommand: Script['initCommand'];
    if (this.peek().kind === 'BACKQUOTED') {
      const t = this.next();
      initCommand = { text: t.value, line: t.line };
    }
    const events: ScriptEvent[] = [];
    let cleanupCommand: Script['cleanupCommand'];
    while (this.peek().kind !== 'EOF') {
      if (this.peek().kind === 'BACKQUOTED' && events.length > 0) {
        // A command without a time after the events: the cleanup command, which must be last.
        const t = this.next();
        cleanupCommand = { text: t.value, line: t.line };
        if (this.peek().kind !== 'EOF') {
          throw this.syntax(this.peek(), 'the end of the script after the cleanup command (a command among the events needs a time)');
        }
        break;
      }
      events.push(this.parseEvent());
    }
    if (events.length === 0) throw this.syntax(this.peek(), 'an event (the script has none)');
    return { path: this.file, options, ipVersion: this.ipVersion, initCommand, events, cleanupCommand };
  }

  parseIpVersionOnly(): IpVersion {
    const options: ScriptOption[] = [];
    while (this.peek().kind === 'OPTION') options.push(this.parseOption());
    return this.ipVersionOverride ?? this.scriptIpVersion(options);
  }

  /** The last --ip_version among the script's options (process_option: each one overrides), else ipv4. */
  private scriptIpVersion(options: readonly ScriptOption[]): IpVersion {
    let v: IpVersion = 'ipv4';
    for (const o of options) {
      if (o.name !== 'ip_version' || o.value === undefined) continue;
      const parsed = parseIpVersion(o.value);
      if (parsed === undefined) throw new ScriptError(this.file, o.line, `bad --ip_version: ${o.value}`);
      v = parsed;
    }
    return v;
  }

  private parseOption(): ScriptOption {
    const t = this.next();
    if (!this.isChar(this.peek(), '=')) return { name: t.value, value: undefined, line: t.line };
    this.next();
    const v = this.next();
    let value: string;
    if (v.kind === 'INTEGER' || v.kind === 'IPV4' || v.kind === 'IPV6') value = v.text;
    else if (v.kind === 'STRING') value = v.value;
    else if (this.isKeyword(v, 'ipv4') || this.isKeyword(v, 'ipv6')) value = v.text;
    else if (v.kind === 'WORD') {
      value = v.text;
      if (this.isChar(this.peek(), '=')) {
        this.next();
        const rhs = this.next();
        if (rhs.kind === 'WORD') value += '=' + rhs.text;
        else if (rhs.kind === 'STRING' || rhs.kind === 'BACKQUOTED') value += '=' + rhs.text;
        else throw this.syntax(rhs, 'a word, string or back-quoted value');
      }
    } else throw this.syntax(v, `a value for --${t.value} (an integer, word, string or IP address)`);
    return { name: t.value, value, line: t.line };
  }

  private parseTime(): number {
    const t = this.next();
    if (t.kind !== 'FLOAT' && t.kind !== 'INTEGER') throw this.syntax(t, 'a time in seconds');
    const v = Number(t.text);
    this.stmtLine = t.line;
    if (v < 0) throw this.semantic('negative time', t.line);
    // packetdrill: (s64)($1 * 1.0e6), truncating, in doubles as here.
    return t.kind === 'FLOAT' ? Math.trunc(v * 1.0e6) : v * 1000000;
  }

  private parseEvent(): ScriptEvent {
    const first = this.peek();
    const line = first.line;
    let timeType: TimeType;
    let timeUsecs = 0;
    let timeEndUsecs: number | undefined;
    if (this.isChar(first, '+')) {
      this.next();
      timeUsecs = this.parseTime();
      timeType = 'relative';
      if (this.isChar(this.peek(), '~')) {
        this.next();
        this.expectChar('+');
        timeEndUsecs = this.parseTime();
        timeType = 'relative-range';
      }
    } else if (this.isChar(first, '*')) {
      this.next();
      timeType = 'any';
    } else if (first.kind === 'FLOAT' || first.kind === 'INTEGER') {
      timeUsecs = this.parseTime();
      timeType = 'absolute';
      if (this.isChar(this.peek(), '~')) {
        this.next();
        timeEndUsecs = this.parseTime();
        timeType = 'absolute-range';
      }
    } else {
      throw this.syntax(first, 'an event time (like 0, +.1, *, or +.1~+.2)');
    }
    this.stmtLine = line;
    const action = this.parseAction();
    if (timeEndUsecs !== undefined && timeEndUsecs < timeUsecs) throw this.semantic('time range is backwards', line);
    const outbound = action.kind === 'packet' && action.packet.direction === 'outbound';
    if (timeType === 'any' && !outbound) throw this.semantic('event time <star> can only be used with outbound packets', line);
    if ((timeType === 'absolute-range' || timeType === 'relative-range') && !outbound) {
      throw this.semantic('event time range can only be used with outbound packets', line);
    }
    return { line, timeType, timeUsecs, timeEndUsecs, action };
  }

  private parseAction(): Action {
    const t = this.peek();
    if (this.isChar(t, '<') || this.isChar(t, '>')) return { kind: 'packet', packet: this.parsePacket() };
    if (t.kind === 'ELLIPSIS' || t.kind === 'WORD') return { kind: 'syscall', call: this.parseSyscall() };
    if (t.kind === 'BACKQUOTED') {
      this.next();
      return { kind: 'command', text: t.value };
    }
    if (t.kind === 'CODE') {
      this.next();
      return { kind: 'code', text: t.value };
    }
    throw this.syntax(t, 'a packet (< or >), a system call, a `command` or a %{ code }% block');
  }

  // ---------------------------------------------------------------------------
  // Packets

  private parsePacket(): PacketSpec {
    const dirTok = this.next();
    this.stmtLine = dirTok.line;
    const direction = dirTok.text === '<' ? 'inbound' : 'outbound';
    let t = this.peek();
    if (this.isKeyword(t, 'ipv4') || this.isKeyword(t, 'ipv6') || this.isKeyword(t, 'gre') || this.isKeyword(t, 'GREv0') || this.isKeyword(t, 'mpls')) {
      throw this.unsupported(t, `encapsulation headers (${t.text}) in packet lines`);
    }
    let ipInfo: IpInfoSpec | undefined;
    if (this.isChar(t, '(') || this.isChar(t, '[')) {
      ipInfo = this.parseIpInfo();
      t = this.peek();
    }
    if (this.isKeyword(t, 'encap')) throw this.unsupported(t, 'PSP encapsulation');
    let srcPort = 0;
    let dstPort = 0;
    if (t.kind === 'INTEGER' && this.isChar(this.peek(1), '>')) {
      srcPort = Number(this.next().text);
      this.next();
      dstPort = this.expectInteger('a destination port');
      if (!isU16(srcPort)) throw this.semantic('src port out of range');
      if (!isU16(dstPort)) throw this.semantic('dst port out of range');
      t = this.peek();
    }
    if (this.isKeyword(t, 'udp')) throw this.unsupported(t, 'UDP packets (TCP and ICMP only)');
    if (this.isKeyword(t, 'icmp')) {
      if (direction === 'outbound') throw this.unsupported(t, 'outbound ICMP packets (inbound ICMP only)');
      this.next();
      const icmp = this.parseIcmp();
      if (ipInfo?.tosCheck === 'ect01') throw this.semantic('[ect01] can only be used with outbound packets');
      return { direction, srcPort, dstPort, flags: '', seq: 0, len: 0, ack: 0, win: 0, urg: 0, options: [], icmp, ...(ipInfo ? { ipInfo } : {}) };
    }
    const flags = this.parseFlags();
    const { start, len } = this.seqRange();
    let ack = 0;
    if (this.isKeyword(this.peek(), 'ack')) {
      this.next();
      ack = this.expectInteger('an ack number');
      if (!isU32(ack)) throw this.semantic('TCP ack sequence number out of range');
    }
    let win: number | undefined;
    if (this.isKeyword(this.peek(), 'win')) {
      this.next();
      win = this.expectInteger('a window');
      if (!isU16(win)) throw this.semantic('TCP window value out of range');
    }
    let urg = 0;
    if (this.isKeyword(this.peek(), 'urg')) {
      this.next();
      urg = this.expectInteger('an urgent pointer');
      if (!isU16(urg)) throw this.semantic('urg_ptr value out of range');
    }
    let options: TcpOptionSpec[] | undefined = [];
    if (this.isChar(this.peek(), '<')) {
      const open = this.next();
      if (this.peek().kind === 'ELLIPSIS') {
        this.next();
        this.expectChar('>');
        options = undefined;
        if (direction !== 'outbound') throw this.semantic('<...> for TCP options can only be used with outbound packets', open.line);
      } else {
        options = this.parseOptionList();
      }
    }
    if (ipInfo?.tosCheck === 'ect01' && direction !== 'outbound') throw this.semantic('[ect01] can only be used with outbound packets');
    if (win === undefined && direction === 'inbound') throw this.semantic('window must be specified for inbound packets');
    return { direction, srcPort, dstPort, flags, seq: start, len, ack, win, urg, options, ...(ipInfo ? { ipInfo } : {}) };
  }

  /**
   * opt_ip_info: `(` or `[`, then a tos_spec (noecn, ect0, ect1, ce, ect01,
   * tos 0xNN), `ttl N`, `flowlabel 0xN`, or a tos_spec, a comma and a flow
   * label. The flow label goes into an IPv6 header only (set_ip_header).
   */
  private parseIpInfo(): IpInfoSpec {
    const open = this.next();
    const close = open.text === '(' ? ')' : ']';
    const t = this.next();
    let info: IpInfoSpec;
    const ecn: Readonly<Record<string, number>> = { noecn: 0, ect1: 1, ect0: 2, ce: 3 };
    const tosSpec = (): boolean => (t.kind === 'KEYWORD' && ecn[t.text] !== undefined) || this.isKeyword(t, 'ect01') || this.isKeyword(t, 'tos');
    if (t.kind === 'KEYWORD' && ecn[t.text] !== undefined) info = { tosCheck: 'ecn', tos: ecn[t.text]!, ttl: 0, flowLabel: 0 };
    else if (this.isKeyword(t, 'ect01')) info = { tosCheck: 'ect01', tos: 0, ttl: 0, flowLabel: 0 };
    else if (this.isKeyword(t, 'tos')) {
      const v = this.next();
      if (v.kind !== 'HEX') throw this.syntax(v, 'a hexadecimal TOS value (like 0x10)');
      const tos = Number(v.text);
      if (!isU8(tos)) throw this.semantic('tos out of range for 8 bits');
      info = { tosCheck: 'tos', tos, ttl: 0, flowLabel: 0 };
    } else if (this.isKeyword(t, 'ttl')) {
      info = { tosCheck: 'none', tos: 0, ttl: this.expectInteger('a TTL'), flowLabel: 0 };
    } else if (this.isKeyword(t, 'flowlabel')) {
      info = { tosCheck: 'none', tos: 0, ttl: 0, flowLabel: this.flowLabel() };
    } else {
      throw this.syntax(t, 'IP info (noecn, ect0, ect1, ce, ect01, tos 0xNN, ttl N or flowlabel 0xN)');
    }
    if (tosSpec() && this.isChar(this.peek(), ',')) {
      this.next();
      this.expectKeyword('flowlabel');
      info.flowLabel = this.flowLabel();
    }
    this.expectChar(close);
    return info;
  }

  /** flow_label: the hexadecimal value after `flowlabel`, in 20 bits. */
  private flowLabel(): number {
    const v = this.next();
    if (v.kind !== 'HEX') throw this.syntax(v, 'a hexadecimal flow label (like 0x12345)');
    const label = Number(v.text);
    if (!(label >= 0 && label <= 0xfffff)) throw this.semantic('flowlabel out of range for 20 bits');
    return label;
  }

  /**
   * icmp_packet_spec: `icmp TYPE [CODE] [mtu N] [id N] [[start:end(len)]]`,
   * with new_icmp_packet's checks (icmp-names.ts): names from the table of
   * the wire's family or type_N / code_N, a missing code is 0, `mtu` only
   * with IPv4's unreachable frag_needed or IPv6's packet_too_big. The quote
   * is always of a TCP segment here.
   */
  private parseIcmp(): IcmpSpec {
    const typeTok = this.next();
    if (typeTok.kind !== 'WORD') throw this.syntax(typeTok, 'an ICMP type (like unreachable)');
    let codeText: string | undefined;
    if (this.peek().kind === 'WORD') codeText = this.next().text;
    let mtu: number | undefined;
    if (this.isKeyword(this.peek(), 'mtu')) {
      this.next();
      mtu = this.expectInteger('an MTU');
    }
    let id = 0;
    if (this.isKeyword(this.peek(), 'id')) {
      this.next();
      id = this.expectInteger('an echo id');
    }
    let echoedSeq = 0;
    let echoedLen = 0;
    if (this.isChar(this.peek(), '[')) {
      this.next();
      const t = this.peek();
      if (this.isKeyword(t, 'udp') || this.isKeyword(t, 'raw')) throw this.unsupported(t, `ICMP quoting a ${t.text.toUpperCase()} packet (TCP only)`);
      const { start, len } = this.seqRange();
      this.expectChar(']');
      echoedSeq = start;
      echoedLen = len;
    }
    const family = wireFamily(this.ipVersion);
    const header = icmpHeaderValues(family, typeTok.text, codeText, mtu, id);
    if (typeof header === 'string') throw this.semantic(header);
    return { family, ...header, mtu, id, echoedSeq, echoedLen };
  }

  private parseFlags(): string {
    const t = this.next();
    let flags: string;
    if (t.kind === 'WORD') {
      flags = t.text;
      if (this.isChar(this.peek(), '.')) flags += this.next().text;
      else if (this.peek().kind === 'FLOAT') flags += this.next().text; // AccECN's ACE digits
    } else if (t.kind === 'FLOAT') {
      flags = t.text;
    } else if (this.isChar(t, '.')) {
      flags = '.';
    } else if (this.isChar(t, '-')) {
      flags = '';
    } else {
      throw this.syntax(t, "TCP flags (like S, S., ., P., F., R, R. or - for none)");
    }
    for (const ch of flags) if (!VALID_FLAGS.includes(ch)) throw this.semantic(`Invalid TCP flag: '${ch}'`, t.line);
    return flags;
  }

  private parseOptionList(): TcpOptionSpec[] {
    const list: TcpOptionSpec[] = [];
    let bytes = 0;
    for (;;) {
      const o = this.parseTcpOption();
      bytes += optionBytes(o);
      if (bytes > 40) throw this.semantic('TCP option list too long');
      list.push(o);
      const t = this.next();
      if (this.isChar(t, '>')) break;
      if (!this.isChar(t, ',')) throw this.syntax(t, "',' or '>' in the TCP option list");
    }
    if (bytes % 4 !== 0) {
      throw this.semantic(`TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: ${bytes % 4} excess bytes`);
    }
    return list;
  }

  private parseTcpOption(): TcpOptionSpec {
    const t = this.next();
    if (t.kind === 'KEYWORD') {
      switch (t.text) {
        case 'nop':
          return { kind: 'nop' };
        case 'eol':
          return { kind: 'eol' };
        case 'mss': {
          const value = this.expectInteger('an MSS value');
          if (!isU16(value)) throw this.semantic('mss value out of range');
          return { kind: 'mss', value };
        }
        case 'wscale': {
          const value = this.expectInteger('a window scale shift count');
          if (!isU8(value)) throw this.semantic('window scale shift count out of range');
          return { kind: 'wscale', value };
        }
        case 'sackOK':
          return { kind: 'sackOK' };
        case 'sack': {
          const blocks: Array<[number, number]> = [];
          do {
            const l = this.expectInteger('a SACK block L:R');
            this.expectChar(':');
            const r = this.expectInteger('the right edge of a SACK block');
            if (!isU32(l)) throw this.semantic('TCP SACK left sequence number out of range');
            if (!isU32(r)) throw this.semantic('TCP SACK right sequence number out of range');
            blocks.push([l, r]);
          } while (this.peek().kind === 'INTEGER');
          return { kind: 'sack', blocks };
        }
        case 'TS': {
          this.expectKeyword('val');
          const val = this.expectInteger('a TS val');
          this.expectKeyword('ecr');
          const ecr = this.expectInteger('a TS ecr');
          if (!isU32(val)) throw this.semantic('ts val out of range');
          if (!isU32(ecr)) throw this.semantic('ecr val out of range');
          return { kind: 'ts', val, ecr };
        }
        case 'FO':
        case 'FOEXP':
          return this.parseFastOpenOption(t.text === 'FOEXP');
        case 'md5':
          return this.parseMd5Option();
        case 'ECN':
          throw this.unsupported(t, `the ${t.text} TCP option`);
      }
    }
    throw this.syntax(t, 'a TCP option (nop, eol, mss N, wscale N, sackOK, sack L:R..., TS val V ecr E, FO [cookie], FOEXP [cookie], md5 DIGEST)');
  }

  /**
   * packetdrill's new_tcp_fast_open_option: an optional cookie, a WORD or an
   * INTEGER token read as hex digits two by two (a -D definition has been
   * substituted by then).
   */
  private parseFastOpenOption(exp: boolean): TcpOptionSpec {
    const t = this.peek();
    let text = '';
    if (t.kind === 'WORD' || t.kind === 'INTEGER') text = this.next().text;
    if (text.length & 1) throw this.semantic('TCP fast open cookie has an odd number of digits');
    const bytes = text.length / 2;
    if (bytes > maxCookieBytes(exp)) {
      throw this.semantic(`TCP fast open cookie of ${bytes} bytes exceeds maximum cookie length of ${maxCookieBytes(exp)} bytes`);
    }
    if (!/^[0-9a-fA-F]*$/.test(text)) throw this.semantic(`TCP fast open cookie '${text}' is not a valid hex string`);
    const cookie = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) cookie[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return { kind: 'fastopen', exp, cookie };
  }

  /** packetdrill's new_md5_option: a hex digest of at most 16 bytes (shorter ones allowed, for invalid options). */
  private parseMd5Option(): TcpOptionSpec {
    const t = this.next();
    if (t.kind !== 'WORD' && t.kind !== 'INTEGER') throw this.syntax(t, 'an MD5 digest in hex');
    const bytes = t.text.length >> 1;
    if (bytes > 16) throw this.semantic('TCP MD5 digest longer than 16 bytes');
    if (t.text.length & 1 || !/^[0-9a-fA-F]*$/.test(t.text)) throw this.semantic('TCP MD5 digest is not a valid hex string');
    const digest = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) digest[i] = parseInt(t.text.slice(2 * i, 2 * i + 2), 16);
    return { kind: 'md5', digest };
  }

  // ---------------------------------------------------------------------------
  // System calls

  private parseSyscall(): SyscallSpec {
    let endUsecs: number | undefined;
    if (this.peek().kind === 'ELLIPSIS') {
      this.next();
      endUsecs = this.parseTime();
    }
    const nameTok = this.next();
    if (nameTok.kind !== 'WORD') throw this.syntax(nameTok, 'a system call name');
    this.stmtLine = nameTok.line;
    this.expectChar('(');
    const args: Expr[] = [];
    if (!this.isChar(this.peek(), ')')) {
      args.push(this.parseExpr());
      while (this.isChar(this.peek(), ',')) {
        this.next();
        args.push(this.parseExpr());
      }
    }
    this.expectChar(')');
    const eq = this.next();
    if (!this.isChar(eq, '=')) throw this.syntax(eq, `'=' and the expected result of ${nameTok.text}()`);
    const result = this.parseExpr();
    let errno: string | undefined;
    let note: string | undefined;
    if (this.peek().kind === 'WORD') {
      errno = this.next().text;
      if (!this.isChar(this.peek(), '(')) throw this.syntax(this.peek(), `a parenthesised note after ${errno}, like (Connection reset by peer)`);
      note = this.parseNote();
    } else if (this.isChar(this.peek(), '(')) {
      note = this.parseNote();
    }
    return { name: nameTok.text, args, endUsecs, result, errno, note };
  }

  private parseNote(): string {
    this.expectChar('(');
    const words: string[] = [];
    const first = this.next();
    if (first.kind === 'WORD' || this.isKeyword(first, 'flags') || this.isKeyword(first, 'Flags')) words.push(first.text);
    else throw this.syntax(first, 'words in the note');
    while (this.peek().kind === 'WORD') words.push(this.next().text);
    this.expectChar(')');
    return words.join(' ');
  }

  private parseExpr(): Expr {
    const lhs = this.parsePrimary();
    if (this.isChar(this.peek(), '|')) {
      this.next();
      return { type: 'binary', op: '|', lhs, rhs: this.parseExpr() };
    }
    return lhs;
  }

  private parsePrimary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'ELLIPSIS':
        return { type: 'ellipsis' };
      case 'INTEGER':
        return { type: 'int', value: Number(t.text), hex: false };
      case 'HEX':
        return { type: 'int', value: Number(t.text), hex: true };
      case 'WORD':
        if (this.isChar(this.peek(), '=')) {
          this.next();
          return { type: 'binary', op: '=', lhs: { type: 'word', name: t.text }, rhs: this.parseExpr() };
        }
        return { type: 'word', name: t.text };
      case 'STRING': {
        let value = t.value;
        while (this.peek().kind === 'STRING') value += this.next().value;
        let ellipsis = false;
        if (this.peek().kind === 'ELLIPSIS') {
          this.next();
          ellipsis = true;
        }
        return { type: 'string', value, ellipsis };
      }
      case 'KEYWORD':
        if (t.text === 'inet_addr' || t.text === 'inet6_addr') {
          this.expectChar('(');
          const s = this.next();
          if (s.kind !== 'STRING') throw this.syntax(s, 'an address string');
          this.expectChar(')');
          return { type: 'unsupported', what: `${t.text}()` };
        }
        break;
      case 'CHAR':
        if (t.text === '[') {
          const items: Expr[] = [];
          if (!this.isChar(this.peek(), ']')) {
            items.push(this.parseExpr());
            while (this.isChar(this.peek(), ',')) {
              this.next();
              items.push(this.parseExpr());
            }
          }
          this.expectChar(']');
          return { type: 'list', items };
        }
        if (t.text === '{') return this.parseBraced();
        break;
      default:
        break;
    }
    throw this.syntax(t, 'an expression');
  }

  /** parser.y's msghdr, after its '{': msg_name(...)=..., msg_iov(N)=[...], msg_flags=E[, msg_control=[...]]}. */
  private parseMsghdr(): Expr {
    this.expectKeyword('msg_name');
    this.expectChar('(');
    this.expectEllipsis();
    this.expectChar(')');
    this.expectChar('=');
    this.expectEllipsis();
    this.expectChar(',');
    this.expectKeyword('msg_iov');
    this.expectChar('(');
    const iovlen = this.expectInteger('the iovec count');
    this.expectChar(')');
    this.expectChar('=');
    const iov = this.parsePrimary();
    if (iov.type !== 'list') throw this.syntax(this.peek(), 'an iovec array [...]');
    this.expectChar(',');
    this.expectKeyword('msg_flags');
    this.expectChar('=');
    const flags = this.parseExpr();
    let control: Expr[] = [];
    if (this.isChar(this.peek(), ',')) {
      this.next();
      this.expectKeyword('msg_control');
      this.expectChar('=');
      const list = this.parsePrimary();
      if (list.type !== 'list') throw this.syntax(this.peek(), 'a cmsg array [...]');
      control = list.items;
    }
    this.expectChar('}');
    return { type: 'msghdr', iovlen, iov, flags, control };
  }

  /** parser.y's cmsg_expr, after its '{': cmsg_level=E, cmsg_type=E, cmsg_data=E}. */
  private parseCmsg(): Expr {
    this.expectKeyword('cmsg_level');
    this.expectChar('=');
    const level = this.parseExpr();
    this.expectChar(',');
    this.expectKeyword('cmsg_type');
    this.expectChar('=');
    const ctype = this.parseExpr();
    this.expectChar(',');
    this.expectKeyword('cmsg_data');
    this.expectChar('=');
    const data = this.parseExpr();
    this.expectChar('}');
    return { type: 'cmsg', level, ctype, data };
  }

  /** parser.y's scm_timestamping_expr, after its '{': scm_sec=INTEGER, scm_nsec=INTEGER}. */
  private parseScmTimestamping(): Expr {
    this.expectKeyword('scm_sec');
    this.expectChar('=');
    const sec = this.expectInteger('an integer for scm_sec');
    this.expectChar(',');
    this.expectKeyword('scm_nsec');
    this.expectChar('=');
    const nsec = this.expectInteger('an integer for scm_nsec');
    this.expectChar('}');
    return { type: 'scmTimestamping', sec, nsec };
  }

  /** parser.y's sock_extended_err_expr, after its '{': the six ee_ fields in order, each =E. */
  private parseExtendedErr(): Expr {
    const fields = {} as Record<ExtendedErrField, Expr>;
    EXTENDED_ERR_FIELDS.forEach((f, i) => {
      if (i > 0) this.expectChar(',');
      this.expectKeyword(f);
      this.expectChar('=');
      fields[f] = this.parseExpr();
    });
    this.expectChar('}');
    return { type: 'extendedErr', fields };
  }

  /** parser.y's epollev, after its '{': events=E, then fd=, ptr=, u32= or u64=E}. */
  private parseEpollEvent(): Expr {
    this.expectKeyword('events');
    this.expectChar('=');
    const events = this.parseExpr();
    this.expectChar(',');
    const t = this.next();
    if (t.kind !== 'KEYWORD' || !/^(fd|ptr|u32|u64)$/.test(t.text)) throw this.syntax(t, 'fd=, ptr=, u32= or u64=');
    this.expectChar('=');
    const value = this.parseExpr();
    this.expectChar('}');
    return { type: 'epollev', events, field: t.text as 'fd' | 'ptr' | 'u32' | 'u64', value };
  }

  private expectEllipsis(): void {
    const t = this.next();
    if (t.kind !== 'ELLIPSIS') throw this.syntax(t, "'...'");
  }

  private parseBraced(): Expr {
    const t = this.peek();
    if (this.isKeyword(t, 'onoff')) {
      this.next();
      this.expectChar('=');
      const onoff = this.expectInteger('an integer for onoff');
      this.expectChar(',');
      this.expectKeyword('linger');
      this.expectChar('=');
      const linger = this.expectInteger('an integer for linger');
      this.expectChar('}');
      return { type: 'linger', onoff, linger };
    }
    if (this.isKeyword(t, 'fd')) {
      this.next();
      this.expectChar('=');
      const fd = this.parseExpr();
      this.expectChar(',');
      this.expectKeyword('events');
      this.expectChar('=');
      const events = this.parseExpr();
      let revents: Expr = { type: 'int', value: 0, hex: false };
      if (this.isChar(this.peek(), ',')) {
        this.next();
        this.expectKeyword('revents');
        this.expectChar('=');
        revents = this.parseExpr();
      }
      this.expectChar('}');
      return { type: 'pollfd', fd, events, revents };
    }
    if (this.isKeyword(t, 'sa_family')) {
      this.next();
      this.expectChar('=');
      const fam = this.next();
      if (fam.kind !== 'WORD') throw this.syntax(fam, 'AF_INET or AF_INET6');
      this.expectChar(',');
      this.expectKeyword('sin_port');
      this.expectChar('=');
      this.expectKeyword('htons');
      this.expectChar('(');
      const port = this.expectInteger('a port');
      this.expectChar(')');
      this.expectChar(',');
      this.expectKeyword('sin_addr');
      this.expectChar('=');
      this.expectKeyword('inet_addr');
      this.expectChar('(');
      const addr = this.next();
      if (addr.kind !== 'STRING') throw this.syntax(addr, 'an address string');
      this.expectChar(')');
      this.expectChar('}');
      return { type: 'sockaddr', family: fam.text, port, addr: addr.value };
    }
    if (t.kind === 'ELLIPSIS' && this.isChar(this.peek(1), ',')) {
      this.next();
      this.next();
      const len = this.parsePrimary();
      this.expectChar('}');
      return { type: 'iovec', len };
    }
    if (this.isKeyword(t, 'msg_name')) return this.parseMsghdr();
    if (this.isKeyword(t, 'cmsg_level')) return this.parseCmsg();
    if (this.isKeyword(t, 'events')) return this.parseEpollEvent();
    if (this.isKeyword(t, 'scm_sec')) return this.parseScmTimestamping();
    if (this.isKeyword(t, 'ee_errno')) return this.parseExtendedErr();
    const items: Expr[] = [this.parseExpr()];
    while (this.isChar(this.peek(), ',')) {
      this.next();
      items.push(this.parseExpr());
    }
    this.expectChar('}');
    return { type: 'list', items };
  }
}

/**
 * The IP version a script runs in: `ipVersion` (the command line's), else
 * the script's own --ip_version, else ipv4. Reads only the options; throws
 * a ScriptError on a bad one.
 */
export function readIpVersion(source: string, file = '<script>', ipVersion?: IpVersion, defines?: ReadonlyMap<string, string>): IpVersion {
  return new Parser(tokenize(source, file), file, ipVersion, defines).parseIpVersionOnly();
}

/**
 * Parses a whole script; throws a ScriptError (`file:line: ...`) on the
 * first problem. `ipVersion` is the command line's --ip_version, which
 * overrides the script's own; `defines` the command line's definitions
 * (lexer.ts substituteDefinition).
 */
export function parseScript(source: string, file = '<script>', ipVersion?: IpVersion, defines?: ReadonlyMap<string, string>): Script {
  return new Parser(tokenize(source, file), file, ipVersion, defines).parseScript();
}
