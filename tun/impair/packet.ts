/**
 * What impairments need to know about and do to a packet: read the fields the
 * rules match on, flip one bit that a checksum is sure to catch, rewrite TCP
 * fields with the checksum fixed, and craft a TCP segment. Packets are never
 * changed in place: every change is made on a copy, because the original may
 * still be referenced (a duplicate, a pcap tap, the sender's buffers).
 */
import type { Random } from '../../stack/random.ts';
import { IPV4_MIN_HEADER, IP_OFFSET_MASK, PROTO_TCP, PROTO_UDP, writeIpv4Header, ipFragWord, ipHeaderLength, ipTotalLength } from '../../stack/wire/ipv4.ts';
import { setTcpChecksum, TCP_ACK, TCP_MIN_HEADER } from '../../stack/wire/tcp.ts';
import { checksum } from '../../stack/wire/checksum.ts';

/** The fields rules match on; `undefined` members are absent (not IPv4, not TCP/UDP, a later fragment). */
export interface PacketView {
  /** False for anything that is not a well-formed IPv4 header (IPv6 from the kernel, garbage). */
  ipv4: boolean;
  protocol: number;
  /** IP header length and the end of the datagram within the buffer. */
  hl: number;
  end: number;
  /** True when this buffer holds the transport header (not a fragment beyond the first). */
  hasTransport: boolean;
  /** True for any fragment (offset > 0 or more fragments). */
  fragment: boolean;
  srcPort: number;
  dstPort: number;
  /** TCP control bits (CWR..FIN), -1 when not TCP. */
  flags: number;
  seq: number;
  ack: number;
  /** TCP data / UDP payload / bytes after the IP header for anything else. */
  payloadLength: number;
}

const readU32 = (b: Uint8Array, i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = v >>> 24;
  b[i + 1] = (v >>> 16) & 255;
  b[i + 2] = (v >>> 8) & 255;
  b[i + 3] = v & 255;
}

/** Reads what the rules look at, without copying. */
export function viewPacket(p: Uint8Array): PacketView {
  const v: PacketView = {
    ipv4: false,
    protocol: -1,
    hl: 0,
    end: p.length,
    hasTransport: false,
    fragment: false,
    srcPort: -1,
    dstPort: -1,
    flags: -1,
    seq: 0,
    ack: 0,
    payloadLength: p.length,
  };
  if (p.length < IPV4_MIN_HEADER || p[0]! >> 4 !== 4) return v;
  const hl = ipHeaderLength(p);
  if (hl < IPV4_MIN_HEADER || hl > p.length) return v;
  v.ipv4 = true;
  v.protocol = p[9]!;
  v.hl = hl;
  v.end = Math.max(hl, Math.min(p.length, ipTotalLength(p)));
  const frag = ipFragWord(p);
  v.fragment = (frag & (IP_OFFSET_MASK | 0x2000)) !== 0;
  v.payloadLength = v.end - hl;
  if ((frag & IP_OFFSET_MASK) !== 0) return v;
  if (v.protocol === PROTO_TCP && v.end - hl >= TCP_MIN_HEADER) {
    const thl = (p[hl + 12]! >> 4) << 2;
    v.hasTransport = true;
    v.srcPort = (p[hl]! << 8) | p[hl + 1]!;
    v.dstPort = (p[hl + 2]! << 8) | p[hl + 3]!;
    v.seq = readU32(p, hl + 4);
    v.ack = readU32(p, hl + 8);
    v.flags = p[hl + 13]!;
    v.payloadLength = Math.max(0, v.end - hl - thl);
  } else if (v.protocol === PROTO_UDP && v.end - hl >= 8) {
    v.hasTransport = true;
    v.srcPort = (p[hl]! << 8) | p[hl + 1]!;
    v.dstPort = (p[hl + 2]! << 8) | p[hl + 3]!;
    v.payloadLength = v.end - hl - 8;
  }
  return v;
}

/** Sequence space a TCP segment occupies: its data, plus one each for SYN and FIN. */
export function segmentLength(v: PacketView): number {
  return v.payloadLength + (v.flags & 0x02 ? 1 : 0) + (v.flags & 0x01 ? 1 : 0);
}

/**
 * A copy of `p` with exactly one bit flipped, chosen uniformly among the bits
 * that only a checksum protects, so the receiver's checksum always catches it
 * (the Internet checksum detects every single-bit error) and the packet is
 * counted by a checksum counter, ours or the kernel's:
 * - the bit is in the IP payload (transport header and data), never in the IP
 *   header, whose version/IHL nibble is checked before the header checksum;
 * - for TCP, never in the data-offset nibble, and for UDP, never in the length
 *   field: both are validated before the checksum (tcp_v4_rcv, udp4_lib_rcv);
 * - a datagram with no payload gets the flip in its IP header checksum field.
 * A UDP datagram sent without a checksum (0) cannot be caught. Returns
 * undefined for what is not IPv4 (left alone).
 */
export function flipOneBit(p: Uint8Array, random: Random & { below(n: number): number }): Uint8Array | undefined {
  const v = viewPacket(p);
  if (!v.ipv4) return undefined;
  const copy = p.slice();
  const start = v.hl;
  const bits = (v.end - start) * 8;
  if (bits === 0) {
    copy[10 + random.below(2)]! ^= 1 << random.below(8);
    return copy;
  }
  // Bit ranges [from, from + n) relative to `start` that must not be flipped, ascending.
  const excluded: Array<[number, number]> = [];
  if (v.hasTransport && v.protocol === PROTO_TCP) excluded.push([12 * 8, 4]);
  if (v.hasTransport && v.protocol === PROTO_UDP) excluded.push([4 * 8, 16]);
  let bit = random.below(bits - excluded.reduce((n, [, len]) => n + len, 0));
  for (const [from, len] of excluded) if (bit >= from) bit += len;
  copy[start + (bit >> 3)]! ^= 0x80 >> (bit & 7);
  return copy;
}

/** A value to write into a 32-bit sequence field: absolute, or relative to what is there (or to a base). */
export type SeqValue = { absolute: number } | { relative: number };

export interface TcpRewrite {
  window?: number;
  flags?: number;
  seq?: SeqValue;
  ack?: SeqValue;
}

const applySeq = (value: SeqValue, base: number): number => ('absolute' in value ? value.absolute : base + value.relative) >>> 0;

/**
 * A copy of a TCP packet with fields replaced and the TCP checksum recomputed;
 * undefined when `p` is not a whole TCP segment (not TCP, a fragment).
 */
export function rewriteTcp(p: Uint8Array, change: TcpRewrite): Uint8Array | undefined {
  const v = viewPacket(p);
  if (!v.hasTransport || v.protocol !== PROTO_TCP || v.fragment) return undefined;
  const copy = p.slice(0, v.end);
  const seg = copy.subarray(v.hl, v.end);
  if (change.seq !== undefined) writeU32(seg, 4, applySeq(change.seq, v.seq));
  if (change.ack !== undefined) writeU32(seg, 8, applySeq(change.ack, v.ack));
  if (change.flags !== undefined) seg[13] = change.flags;
  if (change.window !== undefined) {
    seg[14] = change.window >>> 8;
    seg[15] = change.window & 255;
  }
  setTcpChecksum(seg, readU32(copy, 12), readU32(copy, 16));
  return copy;
}

export interface CraftedSegment {
  source: number;
  destination: number;
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  data?: Uint8Array;
  ttl?: number;
}

/** A bare TCP segment (no options) in a 20-byte IPv4 header, DF set, both checksums right. */
export function craftTcp(s: CraftedSegment): Uint8Array {
  const data = s.data ?? new Uint8Array(0);
  const total = IPV4_MIN_HEADER + TCP_MIN_HEADER + data.length;
  const p = new Uint8Array(total);
  writeIpv4Header(p, 0, {
    totalLength: total,
    id: 0,
    dontFragment: true,
    ttl: s.ttl ?? 64,
    protocol: PROTO_TCP,
    source: s.source,
    destination: s.destination,
  });
  const seg = p.subarray(IPV4_MIN_HEADER);
  seg[0] = s.sourcePort >>> 8;
  seg[1] = s.sourcePort & 255;
  seg[2] = s.destinationPort >>> 8;
  seg[3] = s.destinationPort & 255;
  writeU32(seg, 4, s.seq >>> 0);
  writeU32(seg, 8, s.flags & TCP_ACK ? s.ack >>> 0 : 0);
  seg[12] = (TCP_MIN_HEADER / 4) << 4;
  seg[13] = s.flags;
  seg[14] = s.window >>> 8;
  seg[15] = s.window & 255;
  seg.set(data, TCP_MIN_HEADER);
  setTcpChecksum(seg, s.source, s.destination);
  return p;
}

/** True when the IPv4 header checksum verifies (tests use it to check rewrites). */
export function ipHeaderChecksumOk(p: Uint8Array): boolean {
  return checksum(p, 0, ipHeaderLength(p)) === 0;
}

export const ipSourceOf = (p: Uint8Array): number => readU32(p, 12);
export const ipDestinationOf = (p: Uint8Array): number => readU32(p, 16);
