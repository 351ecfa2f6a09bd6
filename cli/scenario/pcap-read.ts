/**
 * A small reader for classic pcap files as tcpdump writes them (µs or ns
 * magic, either byte order), keeping only IPv4/TCP packets. Link types:
 * Ethernet (1, with 802.1Q tags skipped), raw IP (101, and the DLT values 12
 * and 14 some writers use), IPv4 (228), Linux cooked v1 (113) and v2 (276).
 * A truncated last record (the file read while tcpdump is still writing) is
 * ignored.
 */
import { readFileSync } from 'node:fs';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { IPV4_MIN_HEADER, PROTO_TCP, ipDestination, ipFragOffset, ipHeaderLength, ipProtocol, ipSource, ipTotalLength } from '../../stack/wire/ipv4.ts';
import {
  TCP_MIN_HEADER,
  TCPOPT_EOL,
  TCPOPT_MSS,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TCPOPT_WSCALE,
  decodeTcpOptionList,
  tcpAck,
  tcpDestinationPort,
  tcpFlags,
  tcpHeaderLength,
  tcpOptionArea,
  tcpSeq,
  tcpSourcePort,
  tcpWindow,
} from '../../stack/wire/tcp.ts';

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
  /** The SACK option's blocks [left, right), in order (the first one is where a D-SACK goes, RFC 2883 §4). */
  sack?: Array<[number, number]>;
}

const OPTION_NAMES: Record<number, string> = {
  [TCPOPT_EOL]: 'eol',
  [TCPOPT_NOP]: 'nop',
  [TCPOPT_MSS]: 'mss',
  [TCPOPT_WSCALE]: 'wscale',
  [TCPOPT_SACK_PERMITTED]: 'sackOK',
  [TCPOPT_SACK]: 'sack',
  [TCPOPT_TIMESTAMP]: 'ts',
};
const optionName = (kind: number): string => OPTION_NAMES[kind] ?? `k${kind}`;

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
  if (frame.length < off + IPV4_MIN_HEADER) return undefined;
  const ip = frame.subarray(off);
  if (ipProtocol(ip) !== PROTO_TCP || ipFragOffset(ip) !== 0) return undefined;
  const ihl = ipHeaderLength(ip);
  if (ip.length < ihl + TCP_MIN_HEADER) return undefined;
  // The segment as captured: the options are read up to the snap length.
  const seg = ip.subarray(ihl);
  const thl = tcpHeaderLength(seg);
  // Option kinds up to the first EOL, or up to and including a malformed one.
  const options: string[] = [];
  const list = decodeTcpOptionList(tcpOptionArea(seg));
  let sawEol = false;
  let sack: Array<[number, number]> | undefined;
  for (const o of list.options) {
    options.push(optionName(o.kind));
    if (o.kind === TCPOPT_SACK) {
      const view = new DataView(o.data.buffer, o.data.byteOffset, o.data.byteLength);
      sack = [];
      for (let b = 0; b + 8 <= o.data.length; b += 8) sack.push([view.getUint32(b), view.getUint32(b + 4)]);
    }
    if (o.kind === TCPOPT_EOL) {
      sawEol = true;
      break;
    }
  }
  if (!sawEol && list.malformed !== undefined) options.push(optionName(list.malformed.kind));
  return {
    tUs,
    src: formatIpv4(ipSource(ip)),
    dst: formatIpv4(ipDestination(ip)),
    sport: tcpSourcePort(seg),
    dport: tcpDestinationPort(seg),
    seq: tcpSeq(seg),
    ack: tcpAck(seg),
    flags: tcpFlags(seg),
    window: tcpWindow(seg),
    options,
    len: Math.max(0, ipTotalLength(ip) - ihl - thl),
    ...(sack ? { sack } : {}),
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

