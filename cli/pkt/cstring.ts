/**
 * Script strings as bytes, both ways: packetdrill's unescaping of a string
 * argument (script.c, unescape_cstring_expression) and its printing of
 * bytes in messages (types.c, to_printable_string).
 */
import { SyscallError } from './call-types.ts';

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { '\\': 0x0c, '"': 0x0c, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b };

/**
 * A script string's bytes as packetdrill unescapes them
 * (unescape_cstring_expression): \f \n \r \t \v, \xhh (any byte, NUL
 * included); `\\` and `\"` fall through its switch to \f, as they do there.
 */
export function cStringBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (text[i] !== '\\') {
      out.push(ch & 0xff);
      continue;
    }
    const e = text[++i];
    if (e !== undefined && e in SIMPLE_ESCAPES) out.push(SIMPLE_ESCAPES[e]!);
    else if (e === 'x' && /^[0-9a-fA-F]{2}/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new SyscallError(e === 'x' ? `invalid hex escape (\\xhh): '\\x${text.slice(i + 1)}'` : `unsupported escape code: '${e ?? ''}'`);
  }
  return Uint8Array.from(out);
}

/**
 * to_printable_string: printable ASCII as is, any other byte as \xhh; a
 * NUL as the last byte ends the C string, so it prints as nothing.
 */
export function printableBytes(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else if (i === bytes.length - 1 && b === 0) break;
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}
