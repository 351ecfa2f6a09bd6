/**
 * The lexical scanner for packet scripts, following packetdrill's lexer.l
 * (google/packetdrill, gtests/net/packetdrill/lexer.l): the same token
 * classes, the same keywords, and flex's rule for choosing between them
 * (the longest match wins; on a tie, the rule listed first).
 *
 * Comments (`// ...`, C-style block comments) and whitespace are skipped; a
 * `%{ ... }%` block (Python code in packetdrill) is one CODE token.
 */
import { ScriptError } from './ast.ts';

export type TokenKind =
  | 'KEYWORD'
  | 'ELLIPSIS'
  | 'OPTION'
  | 'FLOAT'
  | 'INTEGER'
  | 'HEX'
  | 'WORD'
  | 'STRING'
  | 'BACKQUOTED'
  | 'CODE'
  | 'IPV4'
  | 'IPV6'
  | 'CHAR'
  | 'EOF';

export interface Token {
  kind: TokenKind;
  /** The matched text (for KEYWORD the keyword, for CHAR the character). */
  text: string;
  /** STRING/BACKQUOTED/CODE: the contents; OPTION: the name after `--`. */
  value: string;
  /** Line where the token starts (1-based). */
  line: number;
}

/** Every reserved word of lexer.l: these never reach the parser as WORDs. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  'sa_family', 'sin_port', 'sin_addr', 'msg_name', 'msg_iov', 'msg_flags', 'msg_control',
  'cmsg_data', 'cmsg_level', 'cmsg_type', 'ee_errno', 'ee_origin', 'ee_type', 'ee_code',
  'ee_info', 'ee_data', 'scm_sec', 'scm_nsec', 'fd', 'u32', 'u64', 'ptr', 'events',
  'revents', 'onoff', 'linger', 'htons', 'ipv4', 'ipv6', 'icmp', 'udp', 'GREv0', 'gre',
  'raw', 'sum', 'off', 'key', 'seq', 'none', 'checksum', 'present', 'encap',
  'psp', 'spi', 'mpls', 'label', 'tc', 'ttl', 'inet_addr', 'inet6_addr', 'ack', 'eol',
  'ecr', 'mss', 'mtu', 'nop', 'sack', 'sackOK', 'md5', 'TS', 'FO', 'FOEXP', 'ECN', 'e0b',
  'e1b', 'ceb', 'tos', 'flowlabel', 'flags', 'Flags', 'val', 'win', 'urg', 'wscale',
  'ect01', 'ect0', 'ect1', 'noecn', 'ce', 'id',
]);

const SEG = '[0-9a-fA-F]{1,4}';
const V4 = '[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+';

/**
 * lexer.l's ipv6_addr, one alternative per rule (flex takes the longest
 * match of the whole alternation; one rule each gives the same here). The
 * forms are spelled out so that a sequence range like 1:1001 is no address.
 */
const IPV6_FORMS: RegExp[] = [
  '::',
  `(?:${SEG}:){7}${SEG}`,
  `(?:${SEG}:){1,7}:`,
  `(?:${SEG}:){1,6}:${SEG}`,
  `(?:${SEG}:){1,5}(?::${SEG}){1,2}`,
  `(?:${SEG}:){1,4}(?::${SEG}){1,3}`,
  `(?:${SEG}:){1,3}(?::${SEG}){1,4}`,
  `(?:${SEG}:){1,2}(?::${SEG}){1,5}`,
  `${SEG}:(?::${SEG}){1,6}`,
  `:(?::${SEG}){1,7}`,
  `::ffff:${V4}`,
  `::ffff:(?:0){1,4}:${V4}`,
  `(?:${SEG}:){1,4}:${V4}`,
].map((f) => new RegExp(f, 'y'));

interface Rule {
  kind: TokenKind | 'SKIP';
  re: RegExp;
}

// In lexer.l's order: on equal length the earlier rule wins. Keywords come
// first there; here a WORD whose text is a keyword becomes a KEYWORD, which
// is the same thing (a keyword and the WORD rule always match equally long).
const RULES: Rule[] = [
  { kind: 'KEYWORD', re: /sequence#/y },
  { kind: 'ELLIPSIS', re: /\.\.\./y },
  { kind: 'OPTION', re: /--[a-zA-Z0-9_]+/y },
  { kind: 'FLOAT', re: /-?[0-9]*\.[0-9]+/y },
  { kind: 'INTEGER', re: /-?[0-9]+/y },
  { kind: 'HEX', re: /0x[0-9a-fA-F]+/y },
  { kind: 'WORD', re: /[a-zA-Z0-9_]+/y },
  { kind: 'STRING', re: /"(?:\\[\s\S]|[^"\\])*"/y },
  { kind: 'BACKQUOTED', re: /`(?:\\[\s\S]|[^`\\])*`/y },
  // (A carriage return is whitespace here, so CRLF files work; flex would reject them.)
  { kind: 'SKIP', re: /[ \t\n\r]+/y },
  { kind: 'CHAR', re: /[^ \t\n]/y },
  // lexer.l wants the newline after a // comment; the end of the file will do too.
  { kind: 'SKIP', re: /\/\/[^\n]*(?:\n|$)/y },
  { kind: 'SKIP', re: /\/\*(?:[^*]|\*(?!\/))*\*\//y },
  { kind: 'CODE', re: /%\{(?:[^}]|\}(?!%))*\}%/y },
  { kind: 'IPV4', re: /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/y },
  ...IPV6_FORMS.map((re): Rule => ({ kind: 'IPV6', re })),
];

function countNewlines(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}

/** packetdrill strips spaces and tabs around the code of a %{ }% block. */
function codeContents(text: string): string {
  return text.slice(2, -2).replace(/^[ \t]+|[ \t]+$/g, '');
}

/** Splits a script into tokens; throws a ScriptError (file:line) on an unterminated string or comment. */
export function tokenize(source: string, file = '<script>'): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  while (pos < source.length) {
    let best: Rule | undefined;
    let bestLen = 0;
    for (const rule of RULES) {
      rule.re.lastIndex = pos;
      const m = rule.re.exec(source);
      if (m && m[0].length > bestLen) {
        best = rule;
        bestLen = m[0].length;
      }
    }
    if (!best) {
      // Only an unterminated construct can leave nothing matching.
      throw new ScriptError(file, line, `parse error: unexpected character ${JSON.stringify(source[pos])}`);
    }
    const text = source.slice(pos, pos + bestLen);
    if (best.kind === 'CHAR' && (text === '"' || text === '`')) {
      throw new ScriptError(file, line, `parse error: unterminated ${text === '"' ? 'string' : 'back-quoted command'}`);
    }
    if (best.kind === 'CHAR' && text === '/' && source[pos + 1] === '*') {
      throw new ScriptError(file, line, 'parse error: unterminated /* comment');
    }
    if (best.kind === 'CHAR' && text === '%' && source[pos + 1] === '{') {
      throw new ScriptError(file, line, 'parse error: unterminated %{ code block (no closing }%)');
    }
    if (best.kind !== 'SKIP') {
      let kind: TokenKind = best.kind;
      let value = text;
      if (kind === 'WORD' && KEYWORDS.has(text)) kind = 'KEYWORD';
      else if (kind === 'OPTION') value = text.slice(2);
      else if (kind === 'STRING' || kind === 'BACKQUOTED') value = text.slice(1, -1);
      else if (kind === 'CODE') value = codeContents(text);
      tokens.push({ kind, text, value, line });
    }
    line += countNewlines(text);
    pos += bestLen;
  }
  tokens.push({ kind: 'EOF', text: '', value: '', line });
  return tokens;
}

/**
 * strtol(value, &end, 0) taking the whole text (lexer.l's word()): an
 * optional sign, then hexadecimal after 0x, octal after 0, else decimal;
 * leading white space is skipped and an empty text is 0, as strtol has it.
 * A value strtol clamps to LONG_MIN or LONG_MAX is no integer to word().
 */
function wholeInteger(text: string): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(text);
  if (!m) return /^[ \t\n\v\f\r]*$/.test(text) ? 0n : undefined;
  const magnitude = m[2] !== undefined ? BigInt(`0x${m[2]}`) : m[3] !== undefined ? BigInt(`0o${m[3].slice(1) || '0'}`) : BigInt(m[4]!);
  const n = m[1] === '-' ? -magnitude : magnitude;
  const LONG_MAX = (1n << 63n) - 1n;
  return n >= LONG_MAX || n <= -LONG_MAX - 1n ? undefined : n;
}

/**
 * A WORD named by a definition (`-D NAME=VALUE`, `--define=NAME=VALUE`)
 * becomes the token packetdrill's lexer returns for it (word() in
 * lexer.l): VALUE in double quotes a STRING, in back quotes a BACKQUOTED
 * command, an integer (strtol's whole text) an INTEGER, anything else a
 * WORD of that text. Keywords are never substituted (lexer.l matches them
 * before its word rule), nor is anything but a WORD.
 */
export function substituteDefinition(tok: Token, defines: ReadonlyMap<string, string>): Token {
  if (tok.kind !== 'WORD') return tok;
  const value = defines.get(tok.text);
  if (value === undefined) return tok;
  const { line } = tok;
  if (value.startsWith('"') || value.startsWith('`')) {
    // quoted(): the value without its first and last character.
    const inner = value.slice(1, Math.max(1, value.length - 1));
    return { kind: value.startsWith('"') ? 'STRING' : 'BACKQUOTED', text: value, value: inner, line };
  }
  const n = wholeInteger(value);
  // The integer's decimal text: the parser reads an INTEGER token's text.
  if (n !== undefined) return { kind: 'INTEGER', text: n.toString(), value: n.toString(), line };
  return { kind: 'WORD', text: value, value, line };
}
