/**
 * A small reader for classic pcap files as tcpdump writes them (µs or ns
 * magic, either byte order), keeping only IPv4/TCP packets. Link types:
 * Ethernet (1, with 802.1Q tags skipped), raw IP (101, and the DLT values 12
 * and 14 some writers use), IPv4 (228), Linux cooked v1 (113) and v2 (276).
 * A truncated last record (the file read while tcpdump is still writing) is
 * ignored.
 */
import { readFileSync } from 'node:fs';

export interface TcpPacket {
  /** Wall-clock microseconds. */
  tUs: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  /** TCP flag bits (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80). */
  flags: number;
  window: number;
  /** Option kinds present, in order, by name: mss, sackOK, ts, nop, wscale, sack, eol, or kN. */
  options: string[];
  /** Payload bytes (from the IP total length, whatever the snap length). */
  len: number;
}

const OPTION_NAMES: Record<number, string> = { 0: 'eol', 1: 'nop', 2: 'mss', 3: 'wscale', 4: 'sackOK', 5: 'sack', 8: 'ts' };

function ipv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** Offset of the IPv4 header in a frame of `linktype`, or -1 if it is not IPv4. */
function ipOffset(linktype: number, frame: Buffer): number {
  switch (linktype) {
    case 1: {
      let off = 12;
      let type = frame.readUInt16BE(off);
      while ((type === 0x8100 || type === 0x88a8) && off + 6 <= frame.length) {
        off += 4;
        type = frame.readUInt16BE(off);
      }
      return type === 0x0800 ? off + 2 : -1;
    }
    case 12:
    case 14:
    case 101:
    case 228:
      return frame.length > 0 && frame[0]! >> 4 === 4 ? 0 : -1;
    case 113:
      return frame.length >= 16 && frame.readUInt16BE(14) === 0x0800 ? 16 : -1;
    case 276:
      return frame.length >= 20 && frame.readUInt16BE(0) === 0x0800 ? 20 : -1;
    default:
      throw new Error(`pcap link type ${linktype} is not supported`);
  }
}

export function parseTcp(frame: Buffer, off: number, tUs: number): TcpPacket | undefined {
  if (frame.length < off + 20) return undefined;
  const ihl = (frame[off]! & 0x0f) * 4;
  if (frame[off + 9] !== 6) return undefined;
  const total = frame.readUInt16BE(off + 2);
  const fragOff = frame.readUInt16BE(off + 6) & 0x1fff;
  if (fragOff !== 0) return undefined;
  const t = off + ihl;
  if (frame.length < t + 20) return undefined;
  const thl = (frame[t + 12]! >> 4) * 4;
  const options: string[] = [];
  let o = t + 20;
  const optEnd = Math.min(t + thl, frame.length);
  while (o < optEnd) {
    const kind = frame[o]!;
    options.push(OPTION_NAMES[kind] ?? `k${kind}`);
    if (kind === 0) break;
    if (kind === 1) {
      o += 1;
      continue;
    }
    const len = o + 1 < optEnd ? frame[o + 1]! : 0;
    if (len < 2) break;
    o += len;
  }
  return {
    tUs,
    src: ipv4(frame, off + 12),
    dst: ipv4(frame, off + 16),
    sport: frame.readUInt16BE(t),
    dport: frame.readUInt16BE(t + 2),
    seq: frame.readUInt32BE(t + 4),
    ack: frame.readUInt32BE(t + 8),
    flags: frame[t + 13]!,
    window: frame.readUInt16BE(t + 14),
    options,
    len: Math.max(0, total - ihl - thl),
  };
}

/** Every IPv4 TCP packet in a pcap buffer. */
export function readPcapBuffer(buf: Buffer): TcpPacket[] {
  if (buf.length < 24) return [];
  const magicLE = buf.readUInt32LE(0);
  let le: boolean;
  let nanos: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nanos = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = buf.readUInt32BE(0);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) throw new Error('not a classic pcap file (pcapng is not supported)');
    le = false;
    nanos = magicBE === 0xa1b23c4d;
  }
  const u32 = (off: number): number => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const linktype = u32(20) & 0x0fffffff;
  const out: TcpPacket[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    if (off + 16 + incl > buf.length) break; // still being written
    const frame = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    const tUs = sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac);
    const ip = ipOffset(linktype, frame);
    if (ip < 0) continue;
    const p = parseTcp(frame, ip, tUs);
    if (p) out.push(p);
  }
  return out;
}

export function readPcap(path: string): TcpPacket[] {
  return readPcapBuffer(readFileSync(path));
}

/** tcpdump's letters for the flags: S F R P U E W and '.' for ACK, e.g. 'S.', 'R.', 'FP.'. */
export function flagLetters(flags: number): string {
  let s = '';
  if (flags & 0x02) s += 'S';
  if (flags & 0x01) s += 'F';
  if (flags & 0x04) s += 'R';
  if (flags & 0x08) s += 'P';
  if (flags & 0x20) s += 'U';
  if (flags & 0x40) s += 'E';
  if (flags & 0x80) s += 'W';
  if (flags & 0x10) s += '.';
  return s === '' ? 'none' : s;
}
