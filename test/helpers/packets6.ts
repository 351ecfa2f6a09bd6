/** Builders for the IPv6 packets the tests feed the stack (the kernel's side of the wire). */
import { checksum } from '../../stack/wire/checksum.ts';
import { ipv6WordSum, parseIpv6 } from '../../stack/wire/addr6.ts';
import { writeIpv6Header, pseudoHeaderSum6, NEXTHDR_FRAGMENT, NEXTHDR_ICMPV6, NEXTHDR_UDP } from '../../stack/wire/ipv6.ts';

/** The benchmarking range of RFC 5180: what `up` uses by default. */
export const KERNEL6_TEXT = '2001:2::1';
export const STACK6_TEXT = '2001:2::2';
export const KERNEL6 = parseIpv6(KERNEL6_TEXT)!;
export const STACK6 = parseIpv6(STACK6_TEXT)!;

export interface Ip6Options {
  source?: string;
  destination?: string;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  /** Overrides the Payload Length field (for malformed packets). */
  payloadLength?: number;
}

/** An extension header: its type and the bytes after its first two (padded here to a multiple of 8 with PadN/Pad1). */
export interface ExtensionHeader {
  type: number;
  /** Bytes after Next Header and Hdr Ext Len. */
  body: Uint8Array;
}

function address(text: string): Uint8Array {
  const a = parseIpv6(text);
  if (a === undefined) throw new Error(`bad IPv6 address ${text}`);
  return a;
}

/**
 * A datagram: fixed header, extension headers in order, then the
 * upper-layer bytes of protocol `upper` (already with their checksum).
 */
export function ipv6Packet(upper: number, payload: Uint8Array, o: Ip6Options = {}, headers: readonly ExtensionHeader[] = []): Uint8Array {
  const ext = headers.map((h) => {
    const length = Math.ceil((h.body.length + 2) / 8) * 8;
    const b = new Uint8Array(length);
    b.set(h.body, 2);
    b[1] = length / 8 - 1;
    return { type: h.type, bytes: b };
  });
  const extLength = ext.reduce((n, h) => n + h.bytes.length, 0);
  const p = new Uint8Array(40 + extLength + payload.length);
  let at = 40;
  for (let i = 0; i < ext.length; i++) {
    ext[i]!.bytes[0] = i + 1 < ext.length ? ext[i + 1]!.type : upper;
    p.set(ext[i]!.bytes, at);
    at += ext[i]!.bytes.length;
  }
  p.set(payload, at);
  const src = address(o.source ?? KERNEL6_TEXT);
  const dst = address(o.destination ?? STACK6_TEXT);
  writeIpv6Header(p, 0, o.payloadLength ?? p.length - 40, ext.length > 0 ? ext[0]!.type : upper, o.hopLimit ?? 64, o.trafficClass ?? 0, o.flowLabel ?? 0, src, 0, dst, 0);
  return p;
}

/** An upper-layer message with its checksum over the IPv6 pseudo header (RFC 8200 §8.1); `at` is where its checksum field is. */
export function withChecksum6(upper: number, message: Uint8Array, checksumAt: number, o: Ip6Options = {}): Uint8Array {
  const m = message.slice();
  m[checksumAt] = 0;
  m[checksumAt + 1] = 0;
  const sums = ipv6WordSum(address(o.source ?? KERNEL6_TEXT), 0) + ipv6WordSum(address(o.destination ?? STACK6_TEXT), 0);
  const sum = checksum(m, 0, m.length, pseudoHeaderSum6(sums, upper, m.length));
  m[checksumAt] = sum >> 8;
  m[checksumAt + 1] = sum & 255;
  return m;
}

/** An ICMPv6 message (type, code, the 32-bit field, data) with its checksum. */
export function icmp6Message(type: number, code: number, rest: number, data: Uint8Array, o: Ip6Options = {}): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[0] = type;
  m[1] = code;
  new DataView(m.buffer).setUint32(4, rest >>> 0);
  m.set(data, 8);
  return withChecksum6(NEXTHDR_ICMPV6, m, 2, o);
}

/** Echo data as the IPv4 tests make it. */
export function echoData(length: number, sequence: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (i * 7 + sequence) & 255;
  return data;
}

export function echoRequest6(id: number, sequence: number, dataLength: number, o: Ip6Options = {}, headers: readonly ExtensionHeader[] = []): Uint8Array {
  const m = icmp6Message(128, 0, (id << 16) | sequence, echoData(dataLength, sequence), o);
  return ipv6Packet(NEXTHDR_ICMPV6, m, o, headers);
}

export function udpDatagram6(sourcePort: number, destinationPort: number, data: Uint8Array, o: Ip6Options = {}): Uint8Array {
  const d = new Uint8Array(8 + data.length);
  const v = new DataView(d.buffer);
  v.setUint16(0, sourcePort);
  v.setUint16(2, destinationPort);
  v.setUint16(4, d.length);
  d.set(data, 8);
  return ipv6Packet(NEXTHDR_UDP, withChecksum6(NEXTHDR_UDP, d, 6, o), o);
}

/**
 * Cuts `datagram` (no extension headers) into fragments carrying
 * `sizes` bytes of its payload each (the rest in the last), with
 * identification `id`.
 */
export function fragments6(datagram: Uint8Array, sizes: readonly number[], id: number): Uint8Array[] {
  const upper = datagram[6]!;
  const payload = datagram.subarray(40);
  const out: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; offset < payload.length; i++) {
    const size = i < sizes.length ? sizes[i]! : payload.length - offset;
    const end = Math.min(offset + size, payload.length);
    out.push(fragment6(datagram, upper, offset, payload.subarray(offset, end), end < payload.length, id));
    offset = end;
  }
  return out;
}

/** One fragment of `datagram`'s payload: `data` at byte `offset`, M flag `more`. */
export function fragment6(datagram: Uint8Array, upper: number, offset: number, data: Uint8Array, more: boolean, id: number): Uint8Array {
  const f = new Uint8Array(48 + data.length);
  f.set(datagram.subarray(0, 40), 0);
  f[6] = NEXTHDR_FRAGMENT;
  new DataView(f.buffer).setUint16(4, 8 + data.length);
  f[40] = upper;
  new DataView(f.buffer).setUint16(42, offset | (more ? 1 : 0));
  new DataView(f.buffer).setUint32(44, id);
  f.set(data, 48);
  return f;
}
