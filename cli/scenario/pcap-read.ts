/**
 * A small reader for classic pcap files as tcpdump writes them (µs or ns
 * magic, either byte order), keeping only TCP packets, over IPv4 or IPv6.
 * Link types: Ethernet (1, with 802.1Q tags skipped), raw IP (101, and the
 * DLT values 12 and 14 some writers use), IPv4 (228), IPv6 (229), Linux
 * cooked v1 (113) and v2 (276). An IPv6 packet's extension headers are
 * walked as ipv6_skip_exthdr does; a fragment that is not the first is
 * left out, as an IPv4 one is. A truncated last record (the file read while
 * tcpdump is still writing) is ignored.
 */
import { readFileSync } from 'node:fs';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { formatIpv6 } from '../../stack/wire/addr6.ts';
import { IPV4_MIN_HEADER, PROTO_TCP, ipDestination, ipFragOffset, ipHeaderLength, ipProtocol, ipSource, ipTotalLength } from '../../stack/wire/ipv4.ts';
import { IPV6_DST_OFFSET, IPV6_HEADER, IPV6_SRC_OFFSET, NEXTHDR_TCP, ip6NextHeader, ip6PayloadLength, skipIpv6ExtensionHeaders } from '../../stack/wire/ipv6.ts';
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
  /** The window scale option's shift count, when present. */
  wscale?: number;
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

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;

/** Offset of the IP header in a frame of `linktype`, or -1 if it is neither IPv4 nor IPv6. */
function ipOffset(linktype: number, frame: Buffer): number {
  const isIp = (ethertype: number): boolean => ethertype === ETH_P_IP || ethertype === ETH_P_IPV6;
  switch (linktype) {
    case 1: {
      let off = 12;
      let type = frame.readUInt16BE(off);
      while ((type === 0x8100 || type === 0x88a8) && off + 6 <= frame.length) {
        off += 4;
        type = frame.readUInt16BE(off);
      }
      return isIp(type) ? off + 2 : -1;
    }
    case 12:
    case 14:
    case 101:
    case 228:
    case 229:
      return frame.length > 0 && (frame[0]! >> 4 === 4 || frame[0]! >> 4 === 6) ? 0 : -1;
    case 113:
      return frame.length >= 16 && isIp(frame.readUInt16BE(14)) ? 16 : -1;
    case 276:
      return frame.length >= 20 && isIp(frame.readUInt16BE(0)) ? 20 : -1;
    default:
      throw new Error(`pcap link type ${linktype} is not supported`);
  }
}

/** Where the TCP header of an IP packet starts and how long the segment is, with the addresses as text. */
interface IpView {
  src: string;
  dst: string;
  /** Offset of the TCP header in `ip`. */
  tcp: number;
  /** TCP header and payload, from the IP header's length fields (whatever the snap length). */
  segmentLength: number;
}

function ipv4View(ip: Buffer): IpView | undefined {
  if (ip.length < IPV4_MIN_HEADER || ipProtocol(ip) !== PROTO_TCP || ipFragOffset(ip) !== 0) return undefined;
  const ihl = ipHeaderLength(ip);
  return { src: formatIpv4(ipSource(ip)), dst: formatIpv4(ipDestination(ip)), tcp: ihl, segmentLength: ipTotalLength(ip) - ihl };
}

function ipv6View(ip: Buffer): IpView | undefined {
  if (ip.length < IPV6_HEADER) return undefined;
  const end = IPV6_HEADER + ip6PayloadLength(ip);
  const upper = skipIpv6ExtensionHeaders(ip, IPV6_HEADER, ip6NextHeader(ip), Math.min(end, ip.length));
  if (upper === undefined || upper.nextHeader !== NEXTHDR_TCP) return undefined;
  return { src: formatIpv6(ip, IPV6_SRC_OFFSET), dst: formatIpv6(ip, IPV6_DST_OFFSET), tcp: upper.offset, segmentLength: end - upper.offset };
}

export function parseTcp(frame: Buffer, off: number, tUs: number): TcpPacket | undefined {
  if (frame.length <= off) return undefined;
  const ip = frame.subarray(off);
  const view = ip[0]! >> 4 === 6 ? ipv6View(ip) : ipv4View(ip);
  if (view === undefined || ip.length < view.tcp + TCP_MIN_HEADER) return undefined;
  // The segment as captured: the options are read up to the snap length.
  const seg = ip.subarray(view.tcp);
  const thl = tcpHeaderLength(seg);
  // Option kinds up to the first EOL, or up to and including a malformed one.
  const options: string[] = [];
  const list = decodeTcpOptionList(tcpOptionArea(seg));
  let sawEol = false;
  let sack: Array<[number, number]> | undefined;
  let wscale: number | undefined;
  for (const o of list.options) {
    options.push(optionName(o.kind));
    if (o.kind === TCPOPT_WSCALE && o.data.length === 1) wscale = o.data[0]!;
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
    src: view.src,
    dst: view.dst,
    sport: tcpSourcePort(seg),
    dport: tcpDestinationPort(seg),
    seq: tcpSeq(seg),
    ack: tcpAck(seg),
    flags: tcpFlags(seg),
    window: tcpWindow(seg),
    options,
    len: Math.max(0, view.segmentLength - thl),
    ...(wscale === undefined ? {} : { wscale }),
    ...(sack ? { sack } : {}),
  };
}

/** Every TCP packet, over IPv4 or IPv6, in a pcap buffer. */
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

