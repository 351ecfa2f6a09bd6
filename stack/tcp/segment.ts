/**
 * A received segment, parsed once at demux, and the one function that builds
 * every segment the stack sends (data, ACKs, SYNs, resets).
 */
import { writeIpv4Header, PROTO_TCP, IPV4_MIN_HEADER } from '../wire/ipv4.ts';
import {
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_SYN,
  setTcpChecksum,
  tcpOptionsLength,
  writeTcpHeader,
  writeTcpOptionsLinux,
  type TcpOptions,
  type TcpOptionsToWrite,
} from '../wire/tcp.ts';

export interface Segment {
  /** The whole IP datagram (for quoting and tracing). */
  packet: Uint8Array;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  /** The raw 16-bit window field (unscaled). */
  window: number;
  payload: Uint8Array;
  /** Options, parsed into an object owned by the TCP layer and reused for the next segment. */
  options: TcpOptions;
}

/** SEG.LEN as RFC 9293 counts it: payload plus one for SYN and one for FIN. */
export function segmentLength(s: Segment): number {
  return s.payload.length + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0);
}

export interface OutgoingSegment {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  options?: TcpOptionsToWrite;
  payloadLength?: number;
  /** Copies the payload into `dst` at `offset` (lets callers copy straight from their send queue). */
  fillPayload?: (dst: Uint8Array, offset: number) => void;
  ipId: number;
  ttl: number;
  /** Linux sets DF on every TCP segment (PMTU discovery, ip_no_pmtu_disc=0). */
  dontFragment?: boolean;
}

/** Builds the IPv4 packet for one TCP segment, checksums included. */
export function buildSegment(o: OutgoingSegment): Uint8Array {
  const optionBytes = o.options ? tcpOptionsLength(o.options) : 0;
  const tcpHeader = TCP_MIN_HEADER + optionBytes;
  const payloadLength = o.payloadLength ?? 0;
  const packet = new Uint8Array(IPV4_MIN_HEADER + tcpHeader + payloadLength);
  writeIpv4Header(packet, 0, {
    totalLength: packet.length,
    id: o.ipId,
    dontFragment: o.dontFragment ?? true,
    ttl: o.ttl,
    protocol: PROTO_TCP,
    source: o.src,
    destination: o.dst,
  });
  writeTcpHeader(packet, IPV4_MIN_HEADER, {
    sourcePort: o.sport,
    destinationPort: o.dport,
    seq: o.seq >>> 0,
    ack: o.ack >>> 0,
    flags: o.flags,
    window: o.window,
    headerLength: tcpHeader,
  });
  if (o.options) writeTcpOptionsLinux(packet, IPV4_MIN_HEADER + TCP_MIN_HEADER, o.options);
  if (payloadLength > 0) o.fillPayload!(packet, IPV4_MIN_HEADER + tcpHeader);
  setTcpChecksum(packet.subarray(IPV4_MIN_HEADER), o.src, o.dst);
  return packet;
}
