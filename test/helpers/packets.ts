/** Builders for the packets the tests feed the stack (the kernel's side of the wire). */
import { checksum, pseudoHeaderSum } from '../../stack/wire/checksum.ts';
import { IPV4_MIN_HEADER, PROTO_ICMP, PROTO_TCP, PROTO_UDP, writeIpv4Header } from '../../stack/wire/ipv4.ts';
import { encodeTcpSegment, tcpSegmentLength, type TcpOptionsToWrite, type TcpSegmentFields } from '../../stack/wire/tcp.ts';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { writeIcmpHeader } from '../../stack/wire/icmp.ts';

export const KERNEL = parseIpv4('198.18.0.1')!;
export const STACK = parseIpv4('198.18.0.2')!;

export interface IpOptions {
  source?: number;
  destination?: number;
  id?: number;
  ttl?: number;
  tos?: number;
  dontFragment?: boolean;
}

export function ipPacket(protocol: number, payload: Uint8Array, o: IpOptions = {}): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  writeIpv4Header(p, 0, {
    totalLength: p.length,
    id: o.id ?? 0x1234,
    dontFragment: o.dontFragment ?? false,
    ttl: o.ttl ?? 64,
    tos: o.tos ?? 0,
    protocol,
    source: o.source ?? KERNEL,
    destination: o.destination ?? STACK,
  });
  p.set(payload, 20);
  return p;
}

export function icmpEcho(id: number, sequence: number, data: Uint8Array, type = 8): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[0] = type;
  m[4] = id >> 8;
  m[5] = id & 255;
  m[6] = sequence >> 8;
  m[7] = sequence & 255;
  m.set(data, 8);
  const sum = checksum(m, 0, m.length);
  m[2] = sum >> 8;
  m[3] = sum & 255;
  return m;
}

export function echoRequest(id: number, sequence: number, dataLength: number, o: IpOptions = {}): Uint8Array {
  const data = new Uint8Array(dataLength);
  for (let i = 0; i < dataLength; i++) data[i] = (i * 7 + sequence) & 255;
  return ipPacket(PROTO_ICMP, icmpEcho(id, sequence, data), o);
}

export function udpDatagram(sourcePort: number, destinationPort: number, data: Uint8Array, o: IpOptions = {}): Uint8Array {
  const d = new Uint8Array(8 + data.length);
  d[0] = sourcePort >> 8;
  d[1] = sourcePort & 255;
  d[2] = destinationPort >> 8;
  d[3] = destinationPort & 255;
  d[4] = d.length >> 8;
  d[5] = d.length & 255;
  d.set(data, 8);
  const src = o.source ?? KERNEL;
  const dst = o.destination ?? STACK;
  const sum = checksum(d, 0, d.length, pseudoHeaderSum(src, dst, PROTO_UDP, d.length)) || 0xffff;
  d[6] = sum >> 8;
  d[7] = sum & 255;
  return ipPacket(PROTO_UDP, d, o);
}

/**
 * Cuts a datagram into fragments of `chunk` payload bytes (a multiple of 8),
 * the way a sender's ip_fragment would; returns them in order.
 */
export function fragment(datagram: Uint8Array, chunk: number): Uint8Array[] {
  const hl = (datagram[0]! & 15) * 4;
  const payload = datagram.subarray(hl);
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const piece = payload.subarray(off, Math.min(off + chunk, payload.length));
    out.push(fragmentAt(datagram, off, piece.length, off + piece.length < payload.length));
  }
  return out;
}

/** One fragment holding payload bytes [offset, offset+length) of `datagram`. */
export function fragmentAt(datagram: Uint8Array, offset: number, length: number, more: boolean): Uint8Array {
  const hl = (datagram[0]! & 15) * 4;
  const f = new Uint8Array(hl + length);
  f.set(datagram.subarray(0, hl), 0);
  f.set(datagram.subarray(hl + offset, hl + offset + length), hl);
  f[2] = f.length >> 8;
  f[3] = f.length & 255;
  const units = offset >> 3;
  f[6] = (f[6]! & 0x40) | (more ? 0x20 : 0) | ((units >> 8) & 0x1f);
  f[7] = units & 255;
  f[10] = 0;
  f[11] = 0;
  const sum = checksum(f, 0, hl);
  f[10] = sum >> 8;
  f[11] = sum & 255;
  return f;
}

/** A TCP segment as the kernel side would send it, options in Linux's layout (the peer's half of every exchange test). */
export interface TcpPacketSpec {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  options?: TcpOptionsToWrite | undefined;
  payload?: Uint8Array;
  ipId: number;
  ttl: number;
  dontFragment?: boolean;
  /** The urgent pointer field (URG goes in `flags`). */
  urgent?: number;
}

/** The IPv4 packet for one TCP segment: the segment by the wire/ codec's encodeTcpSegment, checksums included. */
export function tcpPacket(o: TcpPacketSpec): Uint8Array {
  const fields: TcpSegmentFields = { sourcePort: o.sport, destinationPort: o.dport, seq: o.seq >>> 0, ack: o.ack >>> 0, flags: o.flags, window: o.window };
  if (o.options !== undefined) fields.options = o.options;
  if (o.payload !== undefined) fields.payload = o.payload;
  if (o.urgent !== undefined) fields.urgent = o.urgent;
  const packet = new Uint8Array(IPV4_MIN_HEADER + tcpSegmentLength(fields));
  writeIpv4Header(packet, 0, {
    totalLength: packet.length,
    id: o.ipId,
    dontFragment: o.dontFragment ?? true,
    ttl: o.ttl,
    protocol: PROTO_TCP,
    source: o.src,
    destination: o.dst,
  });
  encodeTcpSegment(packet, IPV4_MIN_HEADER, fields, o.src, o.dst);
  return packet;
}

/** The router that sends the ICMP errors of the ICMP-to-TCP tests. */
export const ROUTER = parseIpv4('198.18.0.254')!;

/**
 * An ICMP error from ROUTER about a TCP segment the stack sent to KERNEL:
 * the quoted IP header (its total length `quotedTotalLength`, 28 unless
 * given) and the first 8 TCP bytes (ports, sequence number), as a router
 * quotes them; `rest` is the header's second word (the next-hop MTU of a
 * "fragmentation needed").
 */
export function icmpErrorAbout(o: { type: number; code: number; sport: number; dport: number; seq: number; rest?: number; quotedTotalLength?: number }): Uint8Array {
  const tcp8 = new Uint8Array(8);
  const v = new DataView(tcp8.buffer);
  v.setUint16(0, o.sport);
  v.setUint16(2, o.dport);
  v.setUint32(4, o.seq >>> 0);
  const quoted = ipPacket(PROTO_TCP, tcp8, { source: STACK, destination: KERNEL });
  if (o.quotedTotalLength !== undefined) new DataView(quoted.buffer, quoted.byteOffset).setUint16(2, o.quotedTotalLength);
  const icmp = new Uint8Array(8 + quoted.length);
  icmp.set(quoted, 8);
  writeIcmpHeader(icmp, 0, icmp.length, o.type, o.code, (o.rest ?? 0) & 0xffff);
  return ipPacket(PROTO_ICMP, icmp, { source: ROUTER, destination: STACK });
}

/** TCP payload bytes of an IPv4 packet (total length less the IP and TCP headers). */
export function tcpPayloadLength(p: Uint8Array): number {
  const ihl = (p[0]! & 15) * 4;
  return ((p[2]! << 8) | p[3]!) - ihl - (p[ihl + 12]! >> 4) * 4;
}
