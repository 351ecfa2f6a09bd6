/**
 * TCP header (RFC 9293 §3.1) and options (RFC 9293 §3.2, RFC 7323 window
 * scale and timestamps, RFC 2018 SACK, RFC 7413 Fast Open), read and
 * written in place.
 *
 * The accessors take the segment as a Uint8Array whose byte 0 is the first
 * byte of the TCP header and never copy. Like the IPv4 accessors they do no
 * validation; `parseTcpOptions` is the one place that checks the data offset
 * against the segment, because the options are the only variable-length
 * part of the header.
 *
 * Receive-side option rules follow Linux's `tcp_parse_options`
 * (net/ipv4/tcp_input.c) and the transmit-side layout follows
 * `tcp_options_write` (net/ipv4/tcp_output.c), so that our segments are byte
 * for byte what a Linux peer would send and we accept what Linux accepts.
 *
 * Tools (packet scripts, traces, impairments, capture readers) share the
 * same codec through the allocating helpers at the end: option lists as they
 * are on the wire (decodeTcpOptionList, writeTcpOptionList), a whole-segment
 * encoder (encodeTcpSegment) and decoder (decodeTcpSegment), and field
 * setters for rewriting a segment in place.
 */
import * as bytes from './bytes.ts';
import { checksum, fold, pseudoHeaderSum, sumWords, verifies } from './checksum.ts';
import type { Ipv4Address } from './addr.ts';
import { PROTO_TCP, ipDestination, ipHeaderLength, ipSource, ipTotalLength } from './ipv4.ts';
import { ipv6WordSum } from './addr6.ts';
import { IPV6_DST_OFFSET, IPV6_HEADER, IPV6_SRC_OFFSET, pseudoHeaderSum6 } from './ipv6.ts';

// The byte helpers as module-local bindings. V8 reads an imported binding
// through the module's import cell at every call site, and with six of them
// writeTcpHeader measured about 20 % slower than with local bindings; a local
// const costs what the helpers defined in this file used to.
const { readU16, readU32, writeU16, writeU32 } = bytes;

export const TCP_MIN_HEADER = 20;
/** Data offset is 4 bits of 32-bit words: at most 60 bytes of header, 40 of options. */
export const TCP_MAX_HEADER = 60;
export const TCP_MAX_OPTIONS = TCP_MAX_HEADER - TCP_MIN_HEADER;

/** Control bits, the low 8 bits of byte 13 (RFC 9293 §3.1; ECE/CWR from RFC 3168). */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

/** Option kinds (IANA "TCP Option Kind Numbers"). */
export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;
/** TCP MD5 signature (RFC 2385). */
export const TCPOPT_MD5SIG = 19;
/** TCP Fast Open cookie (RFC 7413 §4.1.1). */
export const TCPOPT_FASTOPEN = 34;
/** The shared experimental kind (RFC 6994), which carries Fast Open with magic 0xF989 before kind 34 was assigned. */
export const TCPOPT_EXP = 254;
export const TCPOPT_FASTOPEN_MAGIC = 0xf989;

/** Option lengths, kind and length bytes included. */
export const TCPOLEN_MSS = 4;
export const TCPOLEN_WSCALE = 3;
export const TCPOLEN_SACK_PERMITTED = 2;
export const TCPOLEN_TIMESTAMP = 10;
export const TCPOLEN_SACK_BASE = 2;
export const TCPOLEN_SACK_PERBLOCK = 8;
/** Kind, length and the 16-byte digest (RFC 2385 §3.0). */
export const TCPOLEN_MD5SIG = 18;
/** Kind and length; the cookie follows (RFC 7413 §4.1.1). */
export const TCPOLEN_FASTOPEN_BASE = 2;
/** Kind, length and the 16-bit magic; the cookie follows. */
export const TCPOLEN_EXP_FASTOPEN_BASE = 4;
/** Cookie sizes a Fast Open option may carry (RFC 7413 §4.1.1: 4 to 16 bytes, even). */
export const TCP_FASTOPEN_COOKIE_MIN = 4;
export const TCP_FASTOPEN_COOKIE_MAX = 16;
/** NOP NOP TS: the 12 bytes of every established segment of a timestamp connection. */
export const TCPOLEN_TSTAMP_ALIGNED = 12;

/** RFC 7323 §2.3: a shift above 14 would allow a window over 2^30. */
export const TCP_MAX_WSCALE = 14;
/** 40 bytes of option space hold NOP NOP + at most 4 blocks (2 + 4 × 8 = 34). */
export const TCP_MAX_SACK_BLOCKS = 4;

/** Byte position of the data offset (high nibble) and the reserved bits (low nibble), RFC 9293 §3.1. */
export const TCP_DOFF_FIELD = 12;

export const tcpSourcePort = (s: Uint8Array): number => readU16(s, 0);
export const tcpDestinationPort = (s: Uint8Array): number => readU16(s, 2);
export const tcpSeq = (s: Uint8Array): number => readU32(s, 4);
export const tcpAck = (s: Uint8Array): number => readU32(s, 8);
/** Header length in bytes (data offset × 4), options included. */
export const tcpHeaderLength = (s: Uint8Array): number => (s[12]! >> 4) << 2;
/**
 * The four bits after the data offset, which RFC 9293 §3.1 calls Rsrvd. The
 * lowest is the former NS bit, now AE in AccECN; Linux reads them
 * as `th->res1` and `th->ae`.
 */
export const tcpReserved = (s: Uint8Array): number => s[12]! & 15;
/**
 * The eight control bits CWR..FIN. The low bit of byte 12 (the former NS bit,
 * now AE in AccECN) and the reserved bits are deliberately not included.
 */
export const tcpFlags = (s: Uint8Array): number => s[13]!;
export const tcpWindow = (s: Uint8Array): number => readU16(s, 14);
/** The checksum field as it is on the wire (see computeTcpChecksum to compute one). */
export const tcpChecksum = (s: Uint8Array): number => readU16(s, 16);
export const tcpUrgent = (s: Uint8Array): number => readU16(s, 18);

/**
 * Field setters for tools that rewrite a segment in place (the checksum is
 * then stale: see setTcpChecksum). The hot path builds segments with
 * writeTcpHeader instead.
 */
export const setTcpSeq = (s: Uint8Array, seq: number): void => writeU32(s, 4, seq);
export const setTcpAck = (s: Uint8Array, ack: number): void => writeU32(s, 8, ack);
export const setTcpFlags = (s: Uint8Array, flags: number): void => {
  s[13] = flags & 255;
};
export const setTcpWindow = (s: Uint8Array, window: number): void => writeU16(s, 14, window);

// ---------------------------------------------------------------------------
// Options, receive side
// ---------------------------------------------------------------------------

/**
 * The options of one segment. One object is reused for every segment on the
 * input path, so it must never be retained past the segment's processing.
 *
 * This is the codec's view: it reports what is on the wire. Whether an
 * option counts depends on the connection and is the caller's decision, as
 * in Linux, which honours MSS, WS and SACK_PERM only on a SYN outside an
 * established connection (`th->syn && !estab`), TS only when negotiated (or
 * on a SYN), and SACK blocks only when SACK was negotiated.
 */
export interface TcpOptions {
  /** MSS (RFC 9293 §3.7.1), or -1 when absent. A zero MSS is ignored, as Linux does. */
  mss: number;
  /** Window scale shift (RFC 7323 §2), clamped to 14; -1 when absent. */
  wscale: number;
  sackPermitted: boolean;
  tsPresent: boolean;
  tsVal: number;
  tsEcr: number;
  /** Number of SACK blocks (0..4) in `sackBlocks`. */
  sackCount: number;
  /** [left0, right0, left1, right1, ...], unsigned 32-bit; preallocated to 8 entries. */
  sackBlocks: number[];
  /**
   * The Fast Open option of a SYN (RFC 7413), as tcp_parse_fastopen_option
   * reads it: -1 when absent, on a segment without SYN, or malformed (a
   * cookie of odd length, or not 0 and outside 4..16); 0 for a cookie
   * request; else the cookie's length, its bytes in `fastOpenCookie`.
   */
  fastOpenLength: number;
  /** The option was the experimental one (kind 254, magic 0xF989). */
  fastOpenExp: boolean;
  /** The cookie's bytes (the first `fastOpenLength`); preallocated to 16. */
  fastOpenCookie: Uint8Array;
  /** Options of a kind we do not interpret (MD5, TFO, MPTCP, experiments...), skipped by length. */
  unknownCount: number;
  /**
   * Parsing stopped at a malformed option (no room for its length byte, a
   * length below 2, or one running past the options area); the fields hold
   * what came before it. The segment itself stays good, as in Linux.
   */
  malformed: boolean;
}

export function newTcpOptions(): TcpOptions {
  return {
    mss: -1,
    wscale: -1,
    sackPermitted: false,
    tsPresent: false,
    tsVal: 0,
    tsEcr: 0,
    sackCount: 0,
    sackBlocks: [0, 0, 0, 0, 0, 0, 0, 0],
    fastOpenLength: -1,
    fastOpenExp: false,
    fastOpenCookie: new Uint8Array(TCP_FASTOPEN_COOKIE_MAX),
    unknownCount: 0,
    malformed: false,
  };
}

export function resetTcpOptions(o: TcpOptions): void {
  o.mss = -1;
  o.wscale = -1;
  o.sackPermitted = false;
  o.tsPresent = false;
  o.tsVal = 0;
  o.tsEcr = 0;
  o.sackCount = 0;
  const blocks = o.sackBlocks;
  for (let i = 0; i < 8; i++) blocks[i] = 0;
  o.fastOpenLength = -1;
  o.fastOpenExp = false;
  o.unknownCount = 0;
  o.malformed = false;
}

/**
 * Parses the options area [20, headerLength) of `seg` into `out` (reset
 * first). Allocates nothing.
 *
 * Returns false only when the header itself is truncated (fewer than 20
 * bytes, data offset below 5, or data offset past the end of `seg`): then
 * there is no segment to speak of, and the caller drops it.
 *
 * A malformed option does not spoil the segment. Like Linux's
 * `tcp_parse_options`, parsing stops at an option other than EOL/NOP that
 * has no room for its length byte (`length < 2`), whose length is below 2
 * ("silly options") or which runs past the options area ("don't parse
 * partial options"); what came before it is kept, `out.malformed` is set,
 * and this returns true. Linux counts nothing for it.
 *
 * The other rules are those of `tcp_parse_options` too:
 * - EOL ends parsing; NOP is skipped.
 * - A known kind whose length is not its fixed size (MSS 4, WS 3,
 *   SACK_PERM 2, TS 10, SACK 2 + 8n) is skipped by its length and ignored;
 *   it does not count as unknown (Linux sets `saw_unknown` only for kinds it
 *   has no case for).
 * - MSS 0 is ignored (Linux keeps its previous `mss_clamp`).
 * - WS above 14 is clamped to 14 (Linux logs "Illegal window scaling value
 *   N > 14 received" and clamps; RFC 7323 §2.3 says to use 14).
 * - Unknown kinds are skipped by length and counted in `unknownCount`.
 * - A repeated option overwrites the earlier one: the last valid one wins.
 * - SACK with n blocks: Linux accepts any 2 + 8n ≥ 10 and later reads at
 *   most 4 blocks; in 40 bytes of option space n cannot exceed 4 anyway.
 * - Fast Open (kind 34, or kind 254 with magic 0xF989) is read only on a
 *   SYN, as tcp_parse_fastopen_option; kind 254 with another magic is
 *   unknown (Linux would try SMC's magic next, which we do not support).
 */
export function parseTcpOptions(seg: Uint8Array, out: TcpOptions): boolean {
  resetTcpOptions(out);
  const len = seg.length;
  if (len < TCP_MIN_HEADER) return false;
  const end = (seg[12]! >> 4) << 2;
  if (end < TCP_MIN_HEADER || end > len) return false;
  if (end === TCP_MIN_HEADER) return true;

  // The common case on an established timestamp connection, NOP NOP TS and
  // nothing else, read without the loop (Linux's tcp_parse_aligned_timestamp).
  if (
    end === TCP_MIN_HEADER + TCPOLEN_TSTAMP_ALIGNED &&
    seg[20] === TCPOPT_NOP &&
    seg[21] === TCPOPT_NOP &&
    seg[22] === TCPOPT_TIMESTAMP &&
    seg[23] === TCPOLEN_TIMESTAMP
  ) {
    out.tsPresent = true;
    out.tsVal = readU32(seg, 24);
    out.tsEcr = readU32(seg, 28);
    return true;
  }

  let i = TCP_MIN_HEADER;
  while (i < end) {
    const kind = seg[i]!;
    if (kind === TCPOPT_EOL) return true;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    // No room for the length byte, a silly length or a partial option: stop here.
    const size = i + 1 < end ? seg[i + 1]! : 0;
    if (size < 2 || i + size > end) {
      out.malformed = true;
      return true;
    }
    switch (kind) {
      case TCPOPT_MSS:
        if (size === TCPOLEN_MSS) {
          const mss = readU16(seg, i + 2);
          if (mss !== 0) out.mss = mss;
        }
        break;
      case TCPOPT_WSCALE:
        if (size === TCPOLEN_WSCALE) {
          const ws = seg[i + 2]!;
          out.wscale = ws > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : ws;
        }
        break;
      case TCPOPT_SACK_PERMITTED:
        if (size === TCPOLEN_SACK_PERMITTED) out.sackPermitted = true;
        break;
      case TCPOPT_TIMESTAMP:
        if (size === TCPOLEN_TIMESTAMP) {
          out.tsPresent = true;
          out.tsVal = readU32(seg, i + 2);
          out.tsEcr = readU32(seg, i + 6);
        }
        break;
      case TCPOPT_SACK:
        if (size >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK && ((size - TCPOLEN_SACK_BASE) & 7) === 0) {
          let n = (size - TCPOLEN_SACK_BASE) >> 3;
          if (n > TCP_MAX_SACK_BLOCKS) n = TCP_MAX_SACK_BLOCKS;
          const blocks = out.sackBlocks;
          for (let b = 0, p = i + 2; b < n; b++, p += 8) {
            blocks[2 * b] = readU32(seg, p);
            blocks[2 * b + 1] = readU32(seg, p + 4);
          }
          for (let b = 2 * n; b < 8; b++) blocks[b] = 0;
          out.sackCount = n;
        }
        break;
      case TCPOPT_FASTOPEN:
        parseFastOpen(seg, i + TCPOLEN_FASTOPEN_BASE, size - TCPOLEN_FASTOPEN_BASE, false, out);
        break;
      case TCPOPT_EXP:
        if (size >= TCPOLEN_EXP_FASTOPEN_BASE && readU16(seg, i + 2) === TCPOPT_FASTOPEN_MAGIC) {
          parseFastOpen(seg, i + TCPOLEN_EXP_FASTOPEN_BASE, size - TCPOLEN_EXP_FASTOPEN_BASE, true, out);
        } else {
          out.unknownCount++;
        }
        break;
      default:
        out.unknownCount++;
    }
    i += size;
  }
  return true;
}

/**
 * tcp_parse_fastopen_option: only on a SYN; an odd length is ignored
 * (the previous option stands), 0 is a cookie request, 4..16 a cookie,
 * anything else marks the option malformed (-1).
 */
function parseFastOpen(seg: Uint8Array, at: number, len: number, exp: boolean, out: TcpOptions): void {
  if ((seg[13]! & TCP_SYN) === 0 || len < 0 || (len & 1) !== 0) return;
  if (len >= TCP_FASTOPEN_COOKIE_MIN && len <= TCP_FASTOPEN_COOKIE_MAX) out.fastOpenCookie.set(seg.subarray(at, at + len));
  else if (len !== 0) len = -1;
  out.fastOpenLength = len;
  out.fastOpenExp = exp;
}

/** What tcpAuthOptions found: no signature option, an MD5 one, or options Linux refuses (TCP_AUTH_HDR). */
export const AUTH_NONE = 0;
export const AUTH_MD5 = 1;
export const AUTH_INVALID = 2;

/**
 * tcp_do_parse_auth_options (net/ipv4/tcp_input.c), the walk Linux makes of
 * every segment's options before any other processing, in a kernel with
 * TCP-MD5 and without TCP-AO (so the walk stops once fewer than 18 bytes,
 * an MD5 option's size, are left): AUTH_MD5 when there is an MD5 option,
 * AUTH_INVALID for a second one, one whose size is not 18, or an option
 * with a length below 2 or past the end met while 18 bytes or more were
 * left (tcp_inbound_hash drops the segment: SKB_DROP_REASON_TCP_AUTH_HDR).
 * Below that, such options are tcp_parse_options' business, which keeps
 * the segment.
 */
export function tcpAuthOptions(seg: Uint8Array): number {
  let length = tcpHeaderLength(seg) - TCP_MIN_HEADER;
  let p = TCP_MIN_HEADER;
  let found = AUTH_NONE;
  while (length >= TCPOLEN_MD5SIG) {
    const kind = seg[p]!;
    if (kind === TCPOPT_EOL) return found;
    if (kind === TCPOPT_NOP) {
      p++;
      length--;
      continue;
    }
    const size = seg[p + 1]!;
    if (size < 2 || size > length) return AUTH_INVALID;
    if (kind === TCPOPT_MD5SIG) {
      if (size !== TCPOLEN_MD5SIG || found !== AUTH_NONE) return AUTH_INVALID;
      found = AUTH_MD5;
    }
    p += size;
    length -= size;
  }
  return found;
}

/** The Fast Open cookie `o` carries (a copy), or undefined: absent, malformed, or a request (empty). */
export function fastOpenCookieOf(o: TcpOptions): Uint8Array | undefined {
  return o.fastOpenLength > 0 ? o.fastOpenCookie.slice(0, o.fastOpenLength) : undefined;
}

// ---------------------------------------------------------------------------
// Header and options, transmit side
// ---------------------------------------------------------------------------

export interface TcpHeaderFields {
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  /** Control bits, TCP_* above. */
  flags: number;
  window: number;
  urgent?: number;
  /** Header length in bytes, options included: a multiple of 4 in 20..60. */
  headerLength: number;
}

/** Writes the fixed 20-byte header at `offset`, checksum 0 (see setTcpChecksum). */
export function writeTcpHeader(buf: Uint8Array, offset: number, f: TcpHeaderFields): void {
  writeU16(buf, offset, f.sourcePort);
  writeU16(buf, offset + 2, f.destinationPort);
  writeU32(buf, offset + 4, f.seq);
  writeU32(buf, offset + 8, f.ack);
  buf[offset + 12] = (f.headerLength >>> 2) << 4; // reserved bits and AE zero
  buf[offset + 13] = f.flags & 255;
  writeU16(buf, offset + 14, f.window);
  buf[offset + 16] = 0;
  buf[offset + 17] = 0;
  writeU16(buf, offset + 18, f.urgent ?? 0);
}

export interface TcpOptionsToWrite {
  /** Written when > 0 (Linux writes MSS only when `opts->mss` is non-zero). */
  mss?: number;
  sackPermitted?: boolean;
  ts?: { val: number; ecr: number };
  /** Written when ≥ 0, so a TcpOptions' -1 means absent. */
  wscale?: number;
  /** [left0, right0, ...]; as many blocks as fit in what is left of the 40 bytes, at most 4. */
  sackBlocks?: number[];
  /**
   * A Fast Open option (RFC 7413 §4.1.1): `cookie` empty is a cookie
   * request; `exp` writes the experimental form (kind 254, magic 0xF989).
   * The caller checks that it fits (tcp_syn_options, tcp_synack_options).
   */
  fastOpen?: { cookie: Uint8Array; exp: boolean };
}

/** Bytes a Fast Open option takes, padded to 32 bits as tcp_options_write pads it. */
export function fastOpenOptionSpace(cookieLength: number, exp: boolean): number {
  return (cookieLength + (exp ? TCPOLEN_EXP_FASTOPEN_BASE : TCPOLEN_FASTOPEN_BASE) + 3) & ~3;
}

/**
 * The number of SACK blocks that will be written: what was asked, at most 4,
 * and at most what fits in the option space left after the other options.
 * Linux's `tcp_established_options` limits `num_sack_blocks` the same way,
 * which is why a timestamp connection sends at most 3 blocks.
 */
function sackBlocksToWrite(blocks: number[] | undefined, used: number): number {
  if (blocks === undefined) return 0;
  let n = blocks.length >> 1;
  if (n > TCP_MAX_SACK_BLOCKS) n = TCP_MAX_SACK_BLOCKS;
  const room = TCP_MAX_OPTIONS - used - 4; // NOP NOP kind length
  const fit = room < 0 ? 0 : room >> 3;
  return n < fit ? n : fit;
}

/** Bytes of option space without SACK blocks, in tcp_options_write's layout. */
function fixedOptionsLength(o: TcpOptionsToWrite): number {
  let n = 0;
  if (o.mss !== undefined && o.mss > 0) n += 4;
  if (o.ts !== undefined) n += 12; // SACK_PERM TS, or NOP NOP TS
  else if (o.sackPermitted) n += 4; // NOP NOP SACK_PERM
  if (o.wscale !== undefined && o.wscale >= 0) n += 4; // NOP WS
  return n;
}

/** The length `writeTcpOptionsLinux` would write for `o`: a multiple of 4, at most 40. */
export function tcpOptionsLength(o: TcpOptionsToWrite): number {
  const fixed = fixedOptionsLength(o);
  const n = sackBlocksToWrite(o.sackBlocks, fixed);
  const fo = o.fastOpen === undefined ? 0 : fastOpenOptionSpace(o.fastOpen.cookie.length, o.fastOpen.exp);
  return (n === 0 ? fixed : fixed + 4 + 8 * n) + fo;
}

/**
 * Writes options at `offset` exactly as Linux's `tcp_options_write` lays
 * them out, each group padded to 32 bits with leading NOPs:
 *
 *   MSS                      02 04 mm mm
 *   TS with SACK_PERM        04 02 08 0a vv vv vv vv ee ee ee ee
 *   TS without SACK_PERM     01 01 08 0a vv vv vv vv ee ee ee ee
 *   SACK_PERM without TS     01 01 04 02
 *   WS                       01 03 03 ss
 *   SACK blocks              01 01 05 len (left right) × n
 *   Fast Open                22 len cookie [01 01]
 *   Fast Open, experimental  fe len f9 89 cookie [01 01]
 *
 * So a Linux SYN is `02 04 05 b4 04 02 08 0a <tsval> <tsecr> 01 03 03 07`
 * and an established segment `01 01 08 0a <tsval> <tsecr>`. Returns the
 * number of bytes written (a multiple of 4, at most 40). MD5, AO and
 * MPTCP, which Linux writes around these, are not supported.
 */
export function writeTcpOptionsLinux(buf: Uint8Array, offset: number, o: TcpOptionsToWrite): number {
  let p = offset;
  if (o.mss !== undefined && o.mss > 0) {
    buf[p] = TCPOPT_MSS;
    buf[p + 1] = TCPOLEN_MSS;
    writeU16(buf, p + 2, o.mss);
    p += 4;
  }
  if (o.ts !== undefined) {
    // SACK_PERM rides in the two bytes that would otherwise be NOP padding.
    if (o.sackPermitted) {
      buf[p] = TCPOPT_SACK_PERMITTED;
      buf[p + 1] = TCPOLEN_SACK_PERMITTED;
    } else {
      buf[p] = TCPOPT_NOP;
      buf[p + 1] = TCPOPT_NOP;
    }
    buf[p + 2] = TCPOPT_TIMESTAMP;
    buf[p + 3] = TCPOLEN_TIMESTAMP;
    writeU32(buf, p + 4, o.ts.val);
    writeU32(buf, p + 8, o.ts.ecr);
    p += 12;
  } else if (o.sackPermitted) {
    buf[p] = TCPOPT_NOP;
    buf[p + 1] = TCPOPT_NOP;
    buf[p + 2] = TCPOPT_SACK_PERMITTED;
    buf[p + 3] = TCPOLEN_SACK_PERMITTED;
    p += 4;
  }
  if (o.wscale !== undefined && o.wscale >= 0) {
    buf[p] = TCPOPT_NOP;
    buf[p + 1] = TCPOPT_WSCALE;
    buf[p + 2] = TCPOLEN_WSCALE;
    buf[p + 3] = o.wscale & 255;
    p += 4;
  }
  const n = sackBlocksToWrite(o.sackBlocks, p - offset);
  if (n > 0) {
    const blocks = o.sackBlocks!;
    buf[p] = TCPOPT_NOP;
    buf[p + 1] = TCPOPT_NOP;
    buf[p + 2] = TCPOPT_SACK;
    buf[p + 3] = TCPOLEN_SACK_BASE + n * TCPOLEN_SACK_PERBLOCK;
    p += 4;
    for (let b = 0; b < 2 * n; b++, p += 4) writeU32(buf, p, blocks[b]!);
  }
  if (o.fastOpen !== undefined) p += writeFastOpen(buf, p, o.fastOpen.cookie, o.fastOpen.exp);
  return p - offset;
}

/** tcp_options_write's OPTION_FAST_OPEN_COOKIE: the option, then two NOPs when its length is 2 mod 4. */
function writeFastOpen(buf: Uint8Array, p: number, cookie: Uint8Array, exp: boolean): number {
  const start = p;
  if (exp) {
    buf[p] = TCPOPT_EXP;
    buf[p + 1] = TCPOLEN_EXP_FASTOPEN_BASE + cookie.length;
    writeU16(buf, p + 2, TCPOPT_FASTOPEN_MAGIC);
    p += TCPOLEN_EXP_FASTOPEN_BASE;
  } else {
    buf[p] = TCPOPT_FASTOPEN;
    buf[p + 1] = TCPOLEN_FASTOPEN_BASE + cookie.length;
    p += TCPOLEN_FASTOPEN_BASE;
  }
  buf.set(cookie, p);
  p += cookie.length;
  if (((p - start) & 3) === 2) {
    buf[p++] = TCPOPT_NOP;
    buf[p++] = TCPOPT_NOP;
  }
  return p - start;
}

// ---------------------------------------------------------------------------
// Option lists as they are on the wire, for tools (the hot path uses the
// TcpOptions and TcpOptionsToWrite views above)
// ---------------------------------------------------------------------------

/**
 * One option exactly as it sits in the header (RFC 9293 §3.1, "Options"):
 * EOL and NOP are one byte (`length` 1, no data); every other kind is a kind
 * byte, a length byte counting both, and `length - 2` bytes of data.
 */
export interface TcpRawOption {
  kind: number;
  length: number;
  data: Uint8Array;
}

/** What decodeTcpOptionList found. */
export interface TcpOptionList {
  /** Every option in order, EOL and NOP included, up to the first malformed one. */
  options: TcpRawOption[];
  /** The first malformed option, which ended the walk: its kind and what is wrong with it. */
  malformed: { kind: number; reason: string } | undefined;
}

/** The options area of a segment: bytes [20, data offset × 4), cut at the end of `seg` (a short capture). */
export function tcpOptionArea(seg: Uint8Array): Uint8Array {
  const end = Math.min(tcpHeaderLength(seg), seg.length);
  return seg.subarray(TCP_MIN_HEADER, end < TCP_MIN_HEADER ? TCP_MIN_HEADER : end);
}

/**
 * Walks an options area and lists everything in it, for tools that show or
 * compare options as sent rather than interpret them (parseTcpOptions does
 * that). Unlike Linux's `tcp_parse_options`, which stops at EOL, the walk
 * goes on after an EOL, so the padding that follows shows as more EOLs; a
 * tool that wants Linux's view stops at the first EOL. It stops at an option
 * with no room for its length byte, a length below 2, or one running past
 * the area (where `tcp_parse_options` stops too). Data is copied.
 */
export function decodeTcpOptionList(area: Uint8Array): TcpOptionList {
  const options: TcpRawOption[] = [];
  const end = area.length;
  let i = 0;
  while (i < end) {
    const kind = area[i]!;
    if (kind === TCPOPT_EOL || kind === TCPOPT_NOP) {
      options.push({ kind, length: 1, data: new Uint8Array(0) });
      i++;
      continue;
    }
    if (i + 1 >= end) return { options, malformed: { kind, reason: `TCP option of kind ${kind} has no length byte` } };
    const length = area[i + 1]!;
    if (length < 2 || i + length > end) {
      return { options, malformed: { kind, reason: `TCP option of kind ${kind} has bad length ${length}` } };
    }
    options.push({ kind, length, data: area.slice(i + 2, i + length) });
    i += length;
  }
  return { options, malformed: undefined };
}

/**
 * An option by name, as tcpdump prints them and packet scripts write them.
 * `sack` takes [left, right] edges; its length is 2 + 8 per block.
 */
export type NamedTcpOption =
  | { kind: 'eol' }
  | { kind: 'nop' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; value: number }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: ReadonlyArray<readonly [number, number]> }
  | { kind: 'ts'; val: number; ecr: number }
  | { kind: 'fastopen'; exp: boolean; cookie: Uint8Array }
  | { kind: 'md5'; digest: Uint8Array };

/**
 * The wire form of one named option, in the layouts of RFC 9293 §3.2 (MSS),
 * RFC 7323 §2.2 and §3.2 (window scale, timestamps) and RFC 2018 §2 and §3
 * (SACK-permitted, SACK), RFC 7413 §4.1.1 (Fast Open; kind 254 with
 * the magic for the experimental form) and RFC 2385 §3.0 (MD5 signature:
 * the digest as given, 16 bytes on a real one), without any padding.
 */
export function rawTcpOption(o: NamedTcpOption): TcpRawOption {
  switch (o.kind) {
    case 'eol':
      return { kind: TCPOPT_EOL, length: 1, data: new Uint8Array(0) };
    case 'nop':
      return { kind: TCPOPT_NOP, length: 1, data: new Uint8Array(0) };
    case 'mss': {
      const data = new Uint8Array(TCPOLEN_MSS - 2);
      writeU16(data, 0, o.value);
      return { kind: TCPOPT_MSS, length: TCPOLEN_MSS, data };
    }
    case 'wscale':
      return { kind: TCPOPT_WSCALE, length: TCPOLEN_WSCALE, data: Uint8Array.of(o.value) };
    case 'sackOK':
      return { kind: TCPOPT_SACK_PERMITTED, length: TCPOLEN_SACK_PERMITTED, data: new Uint8Array(0) };
    case 'sack': {
      const data = new Uint8Array(TCPOLEN_SACK_PERBLOCK * o.blocks.length);
      for (let b = 0; b < o.blocks.length; b++) {
        writeU32(data, 8 * b, o.blocks[b]![0]);
        writeU32(data, 8 * b + 4, o.blocks[b]![1]);
      }
      return { kind: TCPOPT_SACK, length: TCPOLEN_SACK_BASE + data.length, data };
    }
    case 'ts': {
      const data = new Uint8Array(TCPOLEN_TIMESTAMP - 2);
      writeU32(data, 0, o.val);
      writeU32(data, 4, o.ecr);
      return { kind: TCPOPT_TIMESTAMP, length: TCPOLEN_TIMESTAMP, data };
    }
    case 'md5':
      return { kind: TCPOPT_MD5SIG, length: 2 + o.digest.length, data: o.digest.slice() };
    case 'fastopen': {
      if (!o.exp) return { kind: TCPOPT_FASTOPEN, length: TCPOLEN_FASTOPEN_BASE + o.cookie.length, data: o.cookie.slice() };
      const data = new Uint8Array(2 + o.cookie.length);
      writeU16(data, 0, TCPOPT_FASTOPEN_MAGIC);
      data.set(o.cookie, 2);
      return { kind: TCPOPT_EXP, length: TCPOLEN_EXP_FASTOPEN_BASE + o.cookie.length, data };
    }
  }
}

/** The bytes writeTcpOptionList writes for `list`, padding not included. */
export function tcpOptionListLength(list: readonly TcpRawOption[]): number {
  let n = 0;
  for (const o of list) n += o.length;
  return n;
}

/**
 * Writes `list` at `offset` as given, in order, without padding: the encoder
 * for options that are not in Linux's layout (a packet script's
 * `nop,nop,sack 1:2`, an unknown kind). Returns the number of bytes written.
 * Throws RangeError for an option whose data does not fit its length.
 */
export function writeTcpOptionList(buf: Uint8Array, offset: number, list: readonly TcpRawOption[]): number {
  let p = offset;
  for (const o of list) {
    buf[p] = o.kind;
    if (o.length > 1) {
      if (o.data.length !== o.length - 2) {
        throw new RangeError(`TCP option of kind ${o.kind}: ${o.data.length} bytes of data for length ${o.length}`);
      }
      buf[p + 1] = o.length;
      buf.set(o.data, p + 2);
    }
    p += o.length;
  }
  return p - offset;
}

// ---------------------------------------------------------------------------
// Checksum (RFC 9293 §3.1: over the pseudo header, the header and the data)
// ---------------------------------------------------------------------------

/**
 * The checksum field value for the segment in bytes [start, end) of `seg`
 * (the TCP header starting at `start`) between the two addresses. The
 * checksum field itself is skipped, so the result does not depend on what it
 * holds: this works both before and after the field is written.
 */
export function computeTcpChecksum(
  ipSrc: Ipv4Address,
  ipDst: Ipv4Address,
  seg: Uint8Array,
  start: number,
  end: number,
): number {
  let sum = pseudoHeaderSum(ipSrc, ipDst, PROTO_TCP, end - start);
  if (end - start < 18) return checksum(seg, start, end, sum);
  sum = sumWords(seg, start, start + 16, sum);
  // Both pieces start at an even distance from `start`, so word alignment holds.
  return checksum(seg, start + 18, end, sum);
}

/**
 * Writes the whole TCP checksum of an IPv4 datagram whatever its field held
 * (a partial sum left for a device: what skb_checksum_help does, or what the
 * device itself would).
 */
export function completeIpv4TcpChecksum(packet: Uint8Array): void {
  setTcpChecksum(packet.subarray(ipHeaderLength(packet), ipTotalLength(packet)), ipSource(packet), ipDestination(packet));
}

/**
 * The same for an IPv6 datagram whose TCP header follows the fixed header
 * (TCP sends no extension headers): the pseudo header of RFC 8200 §8.1.
 */
export function completeIpv6TcpChecksum(packet: Uint8Array): void {
  const sums = ipv6WordSum(packet, IPV6_SRC_OFFSET) + ipv6WordSum(packet, IPV6_DST_OFFSET);
  const length = packet.length - IPV6_HEADER;
  writeU16(packet, IPV6_HEADER + 16, 0);
  writeU16(packet, IPV6_HEADER + 16, checksum(packet, IPV6_HEADER, packet.length, pseudoHeaderSum6(sums, PROTO_TCP, length)));
}

/** Computes and writes the checksum of the whole of `seg`. */
export function setTcpChecksum(seg: Uint8Array, src: Ipv4Address, dst: Ipv4Address): void {
  writeU16(seg, 16, computeTcpChecksum(src, dst, seg, 0, seg.length));
}

/**
 * The checksum field of a segment whose checksum someone else completes
 * (CHECKSUM_PARTIAL, as __tcp_v4_send_check leaves it for an offloading
 * device): the folded pseudo-header sum over the segment's length, not
 * complemented.
 */
export function setTcpPartialChecksum(seg: Uint8Array, src: Ipv4Address, dst: Ipv4Address): void {
  writeU16(seg, 16, fold(pseudoHeaderSum(src, dst, PROTO_TCP, seg.length)));
}

/** True when the checksum of the whole of `seg` verifies (RFC 1071 "checking"). */
export function tcpChecksumOk(seg: Uint8Array, src: Ipv4Address, dst: Ipv4Address): boolean {
  return verifies(seg, 0, seg.length, pseudoHeaderSum(src, dst, PROTO_TCP, seg.length));
}

// The same three for either family, given `addressSums`: the sum of the two
// addresses' 16-bit words (two for IPv4, eight for IPv6). The pseudo headers
// of RFC 9293 §3.1 and RFC 8200 §8.1 then differ only in how the length is
// written (16 or 32 bits), which the one's-complement fold makes the same.

/** setTcpChecksum for either family. */
export function setTcpChecksumSum(seg: Uint8Array, addressSums: number): void {
  writeU16(seg, 16, 0);
  writeU16(seg, 16, checksum(seg, 0, seg.length, addressSums + PROTO_TCP + seg.length));
}

/** setTcpPartialChecksum for either family. */
export function setTcpPartialChecksumSum(seg: Uint8Array, addressSums: number): void {
  writeU16(seg, 16, fold(addressSums + PROTO_TCP + seg.length));
}

/** tcpChecksumOk for either family. */
export function tcpChecksumOkSum(seg: Uint8Array, addressSums: number): boolean {
  return verifies(seg, 0, seg.length, addressSums + PROTO_TCP + seg.length);
}

// ---------------------------------------------------------------------------
// Whole segments, for tools and tests (the hot path writes the header and
// options itself, into the buffer that already holds the data)
// ---------------------------------------------------------------------------

/** A whole segment's header fields (its length follows from the options), options and payload. */
export interface TcpSegmentFields extends Omit<TcpHeaderFields, 'headerLength'> {
  /** The four bits after the data offset (see tcpReserved); 0 when absent. */
  reserved?: number;
  /** Options in Linux's layout (writeTcpOptionsLinux)... */
  options?: TcpOptionsToWrite;
  /** ...or exactly these, in order (writeTcpOptionList), padded with EOL to 32 bits. */
  optionList?: readonly TcpRawOption[];
  payload?: Uint8Array;
}

/** Bytes of option space `f` takes: a multiple of 4. Throws RangeError past 40 or with both kinds of options. */
function segmentOptionsLength(f: TcpSegmentFields): number {
  if (f.options !== undefined && f.optionList !== undefined) {
    throw new RangeError('a TCP segment takes options in Linux\'s layout or an option list, not both');
  }
  if (f.options !== undefined) return tcpOptionsLength(f.options);
  if (f.optionList === undefined) return 0;
  const n = (tcpOptionListLength(f.optionList) + 3) & ~3;
  if (n > TCP_MAX_OPTIONS) throw new RangeError(`${n} bytes of TCP options do not fit in ${TCP_MAX_OPTIONS}`);
  return n;
}

/** The length encodeTcpSegment writes for `f`: header, options and payload. */
export function tcpSegmentLength(f: TcpSegmentFields): number {
  return TCP_MIN_HEADER + segmentOptionsLength(f) + (f.payload?.length ?? 0);
}

/**
 * Encodes a whole segment at `offset` of `buf`: header (RFC 9293 §3.1),
 * options, the payload, and the checksum over the pseudo header of `src` and
 * `dst`. Returns the number of bytes written (tcpSegmentLength). Throws
 * RangeError when the segment does not fit in `buf`.
 */
export function encodeTcpSegment(
  buf: Uint8Array,
  offset: number,
  f: TcpSegmentFields,
  src: Ipv4Address,
  dst: Ipv4Address,
): number {
  const headerLength = TCP_MIN_HEADER + segmentOptionsLength(f);
  const payload = f.payload;
  const end = offset + headerLength + (payload?.length ?? 0);
  if (end > buf.length) throw new RangeError(`a ${end - offset}-byte TCP segment does not fit at ${offset} in ${buf.length} bytes`);
  writeTcpHeader(buf, offset, {
    sourcePort: f.sourcePort,
    destinationPort: f.destinationPort,
    seq: f.seq,
    ack: f.ack,
    flags: f.flags,
    window: f.window,
    urgent: f.urgent ?? 0,
    headerLength,
  });
  buf[offset + TCP_DOFF_FIELD] = ((headerLength >>> 2) << 4) | ((f.reserved ?? 0) & 15);
  let p = offset + TCP_MIN_HEADER;
  if (f.options !== undefined) p += writeTcpOptionsLinux(buf, p, f.options);
  else if (f.optionList !== undefined) p += writeTcpOptionList(buf, p, f.optionList);
  buf.fill(TCPOPT_EOL, p, offset + headerLength); // RFC 9293 §3.1: the padding is zeros
  if (payload !== undefined) buf.set(payload, offset + headerLength);
  writeU16(buf, offset + 16, computeTcpChecksum(src, dst, buf, offset, end));
  return end - offset;
}

// ---------------------------------------------------------------------------
// Decoding for tests, traces and tools (the hot path uses the accessors)
// ---------------------------------------------------------------------------

export interface TcpSegment {
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  headerLength: number;
  /** The four bits after the data offset (tcpReserved). */
  reserved: number;
  flags: number;
  window: number;
  checksum: number;
  urgent: number;
  /** False when the header is truncated or an option is malformed (options.malformed); `options` holds those before the fault. */
  optionsOk: boolean;
  options: TcpOptions;
  /** A view of the bytes after the header (empty when the data offset is bad). */
  payload: Uint8Array;
}

/** Decodes a segment into a fresh object. Throws RangeError under 20 bytes. */
export function decodeTcpSegment(seg: Uint8Array): TcpSegment {
  if (seg.length < TCP_MIN_HEADER) {
    throw new RangeError(`TCP segment of ${seg.length} bytes is shorter than its 20-byte header`);
  }
  const options = newTcpOptions();
  const optionsOk = parseTcpOptions(seg, options) && !options.malformed;
  const headerLength = tcpHeaderLength(seg);
  const payloadStart = headerLength < TCP_MIN_HEADER || headerLength > seg.length ? seg.length : headerLength;
  return {
    sourcePort: tcpSourcePort(seg),
    destinationPort: tcpDestinationPort(seg),
    seq: tcpSeq(seg),
    ack: tcpAck(seg),
    headerLength,
    reserved: tcpReserved(seg),
    flags: tcpFlags(seg),
    window: tcpWindow(seg),
    checksum: tcpChecksum(seg),
    urgent: tcpUrgent(seg),
    optionsOk,
    options,
    payload: seg.subarray(payloadStart),
  };
}

/** tcpdump's letters, in its order (print-tcp.c tcp_flag_values). */
const FLAG_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [TCP_FIN, 'F'],
  [TCP_SYN, 'S'],
  [TCP_RST, 'R'],
  [TCP_PSH, 'P'],
  [TCP_ACK, '.'],
  [TCP_URG, 'U'],
  [TCP_ECE, 'E'],
  [TCP_CWR, 'W'],
];

/** Flags as tcpdump prints them: "S", "S.", "P.", "F.", "R", "R.", "SEW", "none" for 0. */
export function formatTcpFlags(flags: number): string {
  let s = '';
  for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) s += letter;
  return s === '' ? 'none' : s;
}
