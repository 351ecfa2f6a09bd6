/**
 * What impairments need to know about and do to a packet: read the fields the
 * rules match on, flip one bit that a checksum is sure to catch, rewrite TCP
 * fields with the checksum fixed, and craft a TCP segment. Packets are never
 * changed in place: every change is made on a copy, because the original may
 * still be referenced (a duplicate, a pcap tap, the sender's buffers).
 */
import type { Random } from '../../stack/random.ts';
import { checksum } from '../../stack/wire/checksum.ts';
import {
  IPV4_CHECKSUM_FIELD,
  IPV4_MIN_HEADER,
  IP_FLAG_MF,
  IP_OFFSET_MASK,
  PROTO_TCP,
  PROTO_UDP,
  ipDestination,
  ipFragWord,
  ipHeaderLength,
  ipProtocol,
  ipSource,
  ipTotalLength,
  ipVersion,
  writeIpv4Header,
} from '../../stack/wire/ipv4.ts';
import {
  TCP_ACK,
  TCP_DOFF_FIELD,
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_SYN,
  encodeTcpSegment,
  setTcpAck,
  setTcpChecksum,
  setTcpFlags,
  setTcpSeq,
  setTcpWindow,
  tcpAck,
  tcpDestinationPort,
  tcpFlags,
  tcpHeaderLength,
  tcpSeq,
  tcpSourcePort,
  tcpWindow,
} from '../../stack/wire/tcp.ts';
import { UDP_HEADER, UDP_LENGTH_FIELD, udpDestinationPort, udpSourcePort } from '../../stack/wire/udp.ts';

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
  /** TCP window field (unscaled), 0 when not TCP. */
  window: number;
  /** TCP data / UDP payload / bytes after the IP header for anything else. */
  payloadLength: number;
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
    window: 0,
    payloadLength: p.length,
  };
  if (p.length < IPV4_MIN_HEADER || ipVersion(p) !== 4) return v;
  const hl = ipHeaderLength(p);
  if (hl < IPV4_MIN_HEADER || hl > p.length) return v;
  v.ipv4 = true;
  v.protocol = ipProtocol(p);
  v.hl = hl;
  v.end = Math.max(hl, Math.min(p.length, ipTotalLength(p)));
  const frag = ipFragWord(p);
  v.fragment = (frag & (IP_OFFSET_MASK | IP_FLAG_MF)) !== 0;
  v.payloadLength = v.end - hl;
  if ((frag & IP_OFFSET_MASK) !== 0) return v;
  if (v.protocol === PROTO_TCP && v.end - hl >= TCP_MIN_HEADER) {
    const seg = p.subarray(hl, v.end);
    v.hasTransport = true;
    v.srcPort = tcpSourcePort(seg);
    v.dstPort = tcpDestinationPort(seg);
    v.seq = tcpSeq(seg);
    v.ack = tcpAck(seg);
    v.flags = tcpFlags(seg);
    v.window = tcpWindow(seg);
    v.payloadLength = Math.max(0, seg.length - tcpHeaderLength(seg));
  } else if (v.protocol === PROTO_UDP && v.end - hl >= UDP_HEADER) {
    const datagram = p.subarray(hl, v.end);
    v.hasTransport = true;
    v.srcPort = udpSourcePort(datagram);
    v.dstPort = udpDestinationPort(datagram);
    v.payloadLength = datagram.length - UDP_HEADER;
  }
  return v;
}

/** Sequence space a TCP segment occupies: its data, plus one each for SYN and FIN (RFC 9293 §3.4). */
export function segmentLength(v: PacketView): number {
  return v.payloadLength + (v.flags & TCP_SYN ? 1 : 0) + (v.flags & TCP_FIN ? 1 : 0);
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
    copy[IPV4_CHECKSUM_FIELD + random.below(2)]! ^= 1 << random.below(8);
    return copy;
  }
  // Bit ranges [from, from + n) relative to `start` that must not be flipped, ascending.
  const excluded: Array<[number, number]> = [];
  if (v.hasTransport && v.protocol === PROTO_TCP) excluded.push([TCP_DOFF_FIELD * 8, 4]);
  if (v.hasTransport && v.protocol === PROTO_UDP) excluded.push([UDP_LENGTH_FIELD * 8, 16]);
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

/** The 32-bit value `value` stands for, given what is there (or a base) for a relative one. */
export const applySeq = (value: SeqValue, base: number): number => ('absolute' in value ? value.absolute : base + value.relative) >>> 0;

/**
 * A copy of a TCP packet with fields replaced and the TCP checksum recomputed;
 * undefined when `p` is not a whole TCP segment (not TCP, a fragment).
 */
export function rewriteTcp(p: Uint8Array, change: TcpRewrite): Uint8Array | undefined {
  const v = viewPacket(p);
  if (!v.hasTransport || v.protocol !== PROTO_TCP || v.fragment) return undefined;
  const copy = p.slice(0, v.end);
  const seg = copy.subarray(v.hl, v.end);
  if (change.seq !== undefined) setTcpSeq(seg, applySeq(change.seq, v.seq));
  if (change.ack !== undefined) setTcpAck(seg, applySeq(change.ack, v.ack));
  if (change.flags !== undefined) setTcpFlags(seg, change.flags);
  if (change.window !== undefined) setTcpWindow(seg, change.window);
  setTcpChecksum(seg, ipSource(copy), ipDestination(copy));
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
  encodeTcpSegment(
    p,
    IPV4_MIN_HEADER,
    {
      sourcePort: s.sourcePort,
      destinationPort: s.destinationPort,
      seq: s.seq,
      ack: s.flags & TCP_ACK ? s.ack : 0,
      flags: s.flags,
      window: s.window,
      payload: data,
    },
    s.source,
    s.destination,
  );
  return p;
}

/** True when the IPv4 header checksum verifies (tests use it to check rewrites). */
export function ipHeaderChecksumOk(p: Uint8Array): boolean {
  return checksum(p, 0, ipHeaderLength(p)) === 0;
}

