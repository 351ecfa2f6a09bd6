/**
 * Hostile IPv6 input for test/ip/hostile-input.test.ts: packets of every
 * kind IPv6 input parses (extension-header chains, options of every
 * action, fragments, jumbo options, TCP, UDP, ICMPv6 errors quoting
 * anything), built from a seeded Random, then mutated. Never from our own
 * address: the answers to such a packet would loop back into our input,
 * and the test counts inputs one by one.
 */
import type { SeededRandom } from '../../stack/random.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';
import { NEXTHDR_FRAGMENT, NEXTHDR_ICMPV6, NEXTHDR_TCP, NEXTHDR_UDP, skipIpv6ExtensionHeaders } from '../../stack/wire/ipv6.ts';
import { echoData, echoRequest6, fragment6, icmp6Message, ipv6Packet, STACK6, udpDatagram6, withChecksum6, type Ip6Options } from './packets6.ts';

/** A connection the test opened to the stack: its peer's address and port, and where each side's sequence stands. */
export interface Peer6 {
  source: string;
  port: number;
  /** The next sequence number the stack expects from the peer. */
  seq: number;
  /** The stack's next sequence number (what the peer acknowledges). */
  ack: number;
}

/** The listener's port. */
export const LISTEN_PORT = 80;

const SOURCES = ['2001:2::1', '2001:db8::7', 'fe80::1', '::ffff:198.18.0.1', '::', 'ff02::1', '::1', '2001:2::3'];
const DESTINATIONS = ['ff02::1', 'ff02::1:ff00:2', 'ff02::2', 'ff01::1', 'ff00::1', 'ff05::1:3', '2001:2::99', '::1', '::'];
const UPPER = [NEXTHDR_ICMPV6, NEXTHDR_UDP, NEXTHDR_TCP, 59, 253, 50, 51, 135];

const put16 = (p: Uint8Array, at: number, v: number): void => {
  p[at] = (v >>> 8) & 255;
  p[at + 1] = v & 255;
};
const put32 = (p: Uint8Array, at: number, v: number): void => {
  put16(p, at, v >>> 16);
  put16(p, at + 2, v & 0xffff);
};

export class Hostile6 {
  private nextId = 0x1000_0000;

  constructor(
    private readonly rng: SeededRandom,
    /** Connections the stack accepted; hostile segments and errors aim at them too. */
    private readonly peers: readonly Peer6[],
  ) {}

  /** The next few packets of one kind (a fragment train, a burst of queues) or one packet. */
  next(): Uint8Array[] {
    const r = this.rng;
    let packets: Uint8Array[];
    switch (r.below(12)) {
      case 0:
        packets = [this.echo()];
        break;
      case 1:
        packets = [udpDatagram6(1 + r.below(65535), r.below(4) === 0 ? 9 : r.below(65536), this.bytes(r.below(64)), this.addresses())];
        break;
      case 2:
      case 3:
        packets = [this.tcp()];
        break;
      case 4:
      case 5:
        packets = [this.chain()];
        break;
      case 6:
      case 7:
        packets = this.fragments();
        break;
      case 8:
        packets = r.below(6) === 0 ? this.manyQueues() : [this.echo()];
        break;
      case 9:
        packets = [this.icmpError()];
        break;
      case 10:
        packets = [this.jumbo()];
        break;
      default:
        packets = [this.random()];
    }
    return packets.map((p) => (r.below(3) === 0 ? this.mutate(p) : p));
  }

  private pick<T>(list: readonly T[]): T {
    return list[this.rng.below(list.length)]!;
  }

  private bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.rng.below(256);
    return b;
  }

  /** Mostly the kernel's address to ours; now and then a hostile source or a destination that is not simply ours. */
  private addresses(): Ip6Options {
    const r = this.rng;
    const o: Ip6Options = { trafficClass: r.below(4) === 0 ? r.below(256) : 0, hopLimit: r.below(8) === 0 ? 0 : 64, flowLabel: r.below(1 << 20) };
    if (r.below(4) === 0) o.source = this.pick(SOURCES);
    else if (r.below(3) === 0) o.source = `2001:db8:${r.below(65536).toString(16)}::${r.below(65536).toString(16)}`;
    if (r.below(6) === 0) o.destination = this.pick(DESTINATIONS);
    return o;
  }

  private echo(o = this.addresses()): Uint8Array {
    return echoRequest6(this.rng.below(65536), this.rng.below(65536), this.rng.below(300), o);
  }

  /** A TCP segment: to the listener, a closed port or an accepted connection; any flags, data offset and options. */
  private tcp(): Uint8Array {
    const r = this.rng;
    const peer = this.peers.length > 0 && r.below(2) === 0 ? this.pick(this.peers) : undefined;
    const o = peer !== undefined ? { source: peer.source } : this.addresses();
    const optionBytes = r.below(3) === 0 ? 4 * r.below(11) : 0;
    const seg = new Uint8Array(20 + optionBytes + (r.below(2) === 0 ? r.below(1500) : 0));
    put16(seg, 0, peer?.port ?? 1 + r.below(65535));
    put16(seg, 2, peer !== undefined ? LISTEN_PORT : r.below(2) === 0 ? LISTEN_PORT : r.below(65536));
    put32(seg, 4, peer !== undefined ? (peer.seq + r.below(200_000) - 100_000) >>> 0 : r.u32());
    put32(seg, 8, peer !== undefined ? (peer.ack + r.below(2000) - 1000) >>> 0 : r.u32());
    const offset = r.below(4) === 0 ? r.below(16) : 5 + optionBytes / 4;
    seg[12] = (offset << 4) | (r.below(8) === 0 ? r.below(16) : 0);
    seg[13] = r.below(3) === 0 ? r.below(256) : this.pick([0x02, 0x10, 0x18, 0x11, 0x04, 0x14, 0x12, 0x01, 0x29]);
    put16(seg, 14, r.below(65536));
    if (r.below(10) === 0) put16(seg, 18, r.below(65536));
    for (let i = 20; i < 20 + optionBytes; i++) seg[i] = r.below(3) === 0 ? r.below(256) : this.pick([0, 1, 2, 3, 4, 8, 5, 4, 1]);
    for (let i = 20 + optionBytes; i < seg.length; i++) seg[i] = i & 255;
    const summed = r.below(8) === 0 ? seg : withChecksum6(NEXTHDR_TCP, seg, 16, o);
    if (summed === seg) put16(seg, 16, r.below(65536));
    return ipv6Packet(NEXTHDR_TCP, summed, o);
  }

  /**
   * Options for a hop-by-hop or destination options header, `room` bytes
   * of them: padding (Pad1 runs, PadN with and without non-zero bytes),
   * router alert, jumbo, unknown options of each action (RFC 8200 §4.2),
   * and lengths that overrun the header.
   */
  private options(room: number): Uint8Array {
    const r = this.rng;
    const b = new Uint8Array(room);
    let at = 0;
    while (at < room) {
      const left = room - at;
      const kind = r.below(9);
      if (kind === 0) {
        for (let n = 1 + r.below(9); n > 0 && at < room; n--) b[at++] = 0; // Pad1, sometimes more than 7 in a row
        continue;
      }
      if (left < 2) {
        b[at++] = 0;
        continue;
      }
      const type = [1, 1, 5, 0xc2, 0x1e, 0x5e, 0x9e, 0xde][kind - 1]!;
      let length = type === 5 ? (r.below(4) === 0 ? r.below(6) : 2) : type === 0xc2 ? 4 : r.below(Math.min(left - 1, 12));
      if (r.below(12) === 0) length = r.below(256); // overruns the header
      b[at] = type;
      b[at + 1] = length;
      const body = Math.min(length, left - 2);
      if (type === 0xc2) {
        const value = this.pick([r.below(65536), 65536 + r.below(1 << 20), r.u32(), 0]);
        for (let i = 0; i < body; i++) b[at + 2 + i] = (value >>> (24 - 8 * i)) & 255;
      } else if (type !== 1 || r.below(4) === 0) {
        for (let i = 0; i < body; i++) b[at + 2 + i] = r.below(256); // PadN with non-zero bytes now and then
      }
      at += 2 + body;
    }
    return b;
  }

  /** One extension header of type `type` (its Next Header filled in later), `segmentsLeft` for routing headers. */
  private header(type: number): Uint8Array {
    const r = this.rng;
    if (type === NEXTHDR_FRAGMENT) {
      const h = new Uint8Array(8);
      // Mostly atomic (RFC 6946); else an offset and M flag of its own.
      if (r.below(3) === 0) put16(h, 2, r.below(65536));
      put32(h, 4, r.u32());
      return h;
    }
    const units = r.below(8) === 0 ? r.below(40) : r.below(3);
    const h = new Uint8Array(8 * (units + 1));
    if (r.below(16) === 0) h[1] = r.below(256); // a length that lies
    else h[1] = units;
    if (type === 43) {
      h[2] = this.pick([0, 2, 3, 4, r.below(256)]);
      h[3] = r.below(2) === 0 ? 0 : r.below(256);
      for (let i = 4; i < h.length; i++) h[i] = r.below(256);
    } else if (type === 0 || type === 60) {
      h.set(this.options(h.length - 2), 2);
    } else {
      for (let i = 2; i < h.length; i++) h[i] = r.below(256);
    }
    return h;
  }

  /**
   * A chain of extension headers, long or short, in any order: hop-by-hop
   * not first, the same type over and over (a Next Header naming a type met
   * before), more than 12, lengths past the packet; then an upper layer.
   */
  private chain(): Uint8Array {
    const r = this.rng;
    const n = r.below(4) === 0 ? r.below(20) : r.below(4);
    const repeat = r.below(3) === 0 ? this.pick([0, 60, 43, 44]) : -1;
    // Most long chains are well formed (hop-by-hop first if at all), so that they reach the count limit (IP6_MAX_EXT_HDRS_CNT).
    const clean = n > 8 && r.below(4) !== 0;
    const types = Array.from({ length: n }, (_, i) =>
      clean ? (i === 0 && r.below(2) === 0 ? 0 : this.pick([60, 60, 43, 44])) : repeat >= 0 && r.below(4) !== 0 ? repeat : this.pick([0, 0, 60, 60, 60, 43, 44, 51, 59]),
    );
    const headers = types.map((t) => (clean ? cleanHeader(t) : this.header(t)));
    const upper = this.pick(UPPER);
    const tail =
      upper === NEXTHDR_ICMPV6
        ? icmp6Message(128, 0, r.u32(), echoData(r.below(64), 1))
        : upper === NEXTHDR_UDP
          ? withChecksum6(NEXTHDR_UDP, Uint8Array.of(0, 7, 0, 9, 0, 8, 0, 0), 6)
          : upper === NEXTHDR_TCP
            ? withChecksum6(NEXTHDR_TCP, Uint8Array.of(0x9c, 0x40, 0, LISTEN_PORT, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0), 16)
            : this.bytes(r.below(32));
    const length = headers.reduce((s, h) => s + h.length, 0) + tail.length;
    const payload = new Uint8Array(length);
    let at = 0;
    for (let i = 0; i < headers.length; i++) {
      headers[i]![0] = i + 1 < headers.length ? types[i + 1]! : upper;
      payload.set(headers[i]!, at);
      at += headers[i]!.length;
    }
    payload.set(tail, at);
    const p = ipv6Packet(types.length > 0 ? types[0]! : upper, payload, this.addresses());
    p[6] = types.length > 0 ? types[0]! : upper;
    return p;
  }

  /**
   * A datagram cut into fragments (RFC 8200 §4.5), with what RFC 5722 and
   * RFC 7112 forbid: overlaps, duplicates, tiny and misaligned pieces, a
   * first fragment without its upper-layer header, fragments ending past
   * 65535, atomic fragments, an identification shared with other trains;
   * in any order, some lost.
   */
  private fragments(): Uint8Array[] {
    const r = this.rng;
    const o = r.below(4) === 0 ? this.addresses() : {};
    const datagram = r.below(3) === 0 ? this.tcp() : r.below(2) === 0 ? this.echo({ ...o, hopLimit: 64 }) : udpDatagram6(7, 9, this.bytes(r.below(3000)), o);
    const upper = datagram[6]!;
    const payload = datagram.subarray(40);
    const id = r.below(4) === 0 ? r.u32() : r.below(32);
    const out: Uint8Array[] = [];
    let offset = 0;
    while (offset < payload.length) {
      let size = r.below(4) === 0 ? 8 : 8 * (1 + r.below(200));
      if (r.below(10) === 0) size += 1 + r.below(7); // not a multiple of 8
      const start = r.below(8) === 0 ? Math.max(0, offset - 8 * r.below(4)) : offset; // overlaps the piece before
      const end = Math.min(start + size, payload.length);
      out.push(fragment6(datagram, upper, start, payload.subarray(start, end), end < payload.length || r.below(16) === 0, id));
      offset = end;
    }
    if (payload.length === 0 || r.below(8) === 0) out.push(fragment6(datagram, upper, 0, payload, false, id)); // atomic
    if (r.below(8) === 0) out.push(fragment6(datagram, upper, 0, payload.subarray(0, r.below(8)), true, id)); // RFC 7112: no whole upper header
    if (r.below(8) === 0) out.push(fragment6(datagram, upper, 65528 - 8 * r.below(4), this.bytes(8 + 8 * r.below(4)), r.below(2) === 0, id)); // past 65535
    if (r.below(4) === 0 && out.length > 0) out.push(this.pick(out).slice()); // a duplicate
    for (let i = out.length - 1; i > 0; i--) {
      const j = r.below(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out.filter(() => r.below(10) !== 0);
  }

  /**
   * A burst of `count` fragments (random when not given), each opening a
   * queue of its own (a new identification); misaligned ones (all of them
   * when `misaligned`, else half) draw a parameter problem and leave their
   * queue empty: what ip6frag_high_thresh bounds.
   */
  manyQueues(count = 1 + this.rng.below(40), misaligned = false): Uint8Array[] {
    const r = this.rng;
    const datagram = echoRequest6(1, 1, 64);
    return Array.from({ length: count }, () => {
      const offset = 8 * r.below(4);
      return fragment6(datagram, NEXTHDR_ICMPV6, offset, this.bytes(misaligned || r.below(2) === 0 ? 9 : 16), true, this.nextId++);
    });
  }

  /**
   * An ICMPv6 error (or another type) quoting garbage: random bytes, a cut
   * IPv6 header, a quoted chain that cannot be walked, or a segment of one
   * of our connections with any sequence number; Packet Too Big of any MTU.
   */
  private icmpError(): Uint8Array {
    const r = this.rng;
    const type = r.below(6) === 0 ? r.below(256) : this.pick([1, 2, 3, 4, 133, 134, 135, 136, 137, 130, 143]);
    let quoted: Uint8Array;
    const peer = this.peers.length > 0 && r.below(2) === 0 ? this.pick(this.peers) : undefined;
    if (peer !== undefined) {
      const seg = new Uint8Array(20);
      put16(seg, 0, LISTEN_PORT);
      put16(seg, 2, peer.port);
      put32(seg, 4, (peer.ack + r.below(4000) - 2000) >>> 0);
      seg[12] = 0x50;
      seg[13] = 0x10;
      quoted = ipv6Packet(NEXTHDR_TCP, seg, { source: '2001:2::2', destination: peer.source });
      quoted = quoted.subarray(0, 40 + 8 + r.below(13));
    } else if (r.below(2) === 0) {
      const inner = this.pick([this.chain(), this.echo(), udpDatagram6(9, 40000, new Uint8Array(8), { source: '2001:2::2', destination: '2001:2::1' })]);
      quoted = inner.subarray(0, r.below(inner.length + 1));
    } else {
      quoted = this.bytes(r.below(120));
    }
    const info = type === 2 ? this.pick([0, 68, 1279, 1280, 1400, 1500, 65535, r.u32()]) : r.u32();
    const o = this.addresses();
    const m = icmp6Message(type, r.below(4) === 0 ? r.below(256) : r.below(5), info, quoted, o);
    if (r.below(10) === 0) m[2]! ^= 1 + r.below(255);
    return ipv6Packet(NEXTHDR_ICMPV6, m, o);
  }

  /** A hop-by-hop jumbo payload option (RFC 2675) with a payload length of 0 or not, any jumbo length, aligned or not. */
  private jumbo(): Uint8Array {
    const r = this.rng;
    const body = new Uint8Array(6 + (r.below(2) === 0 ? 0 : 8));
    const at = r.below(4) === 0 ? 1 : 0;
    body[at] = 0xc2;
    body[at + 1] = r.below(6) === 0 ? r.below(8) : 4;
    put32(body, at + 2, this.pick([0, 65535, 65536, 100_000, r.u32(), r.below(100)]));
    const o = this.addresses();
    const packet = echoRequest6(1, 1, r.below(100), { ...o, payloadLength: r.below(2) === 0 ? 0 : undefined }, [{ type: 0, body }]);
    return packet;
  }

  /** Random bytes after a version nibble of 6. */
  private random(): Uint8Array {
    const p = this.bytes(1 + this.rng.below(120));
    p[0] = 0x60 | (p[0]! & 15);
    if (p.length >= 6 && this.rng.below(2) === 0) put16(p, 4, Math.max(0, p.length - 40));
    return p;
  }

  /**
   * Truncation at any length, bit flips, junk, a header field or a
   * payload length that lies, a source or destination of the hostile set;
   * half the time the payload length and the upper-layer checksum are
   * repaired so that the mutation reaches past them.
   */
  private mutate(original: Uint8Array): Uint8Array {
    const r = this.rng;
    let p = original.slice();
    for (let k = 0, kinds = 1 + r.below(3); k < kinds; k++) {
      switch (r.below(7)) {
        case 0:
          for (let i = 0, n = 1 + r.below(8); i < n; i++) p[r.below(p.length)]! ^= 1 << r.below(8);
          break;
        case 1:
          p = p.subarray(0, 1 + r.below(p.length));
          break;
        case 2: {
          const q = new Uint8Array(p.length + 1 + r.below(64));
          q.set(p);
          q.set(this.bytes(q.length - p.length), p.length);
          p = q;
          break;
        }
        case 3:
          if (p.length >= 40) p[this.pick([1, 4, 5, 6, 7, 23, 39])] = r.below(256);
          break;
        case 4:
          if (p.length > 40) p[40 + r.below(p.length - 40)] = r.below(256);
          break;
        case 5:
          if (p.length >= 6) put16(p, 4, r.below(2) === 0 ? r.below(65536) : Math.max(0, p.length - 40 + r.below(17) - 8));
          break;
        default:
          if (p.length >= 40) p.set(parseIpv6(this.pick(r.below(2) === 0 ? SOURCES : DESTINATIONS))!, r.below(2) === 0 ? 8 : 24);
      }
    }
    p[0] = 0x60 | (p[0]! & 15);
    if (r.below(2) === 0 && p.length >= 40) {
      put16(p, 4, Math.min(65535, p.length - 40));
      fixUpperChecksum(p);
    }
    return notFromUs(p);
  }
}

/** An 8-byte header of type `type` that passes: PadN zeros for options, no segments left, an atomic fragment. */
function cleanHeader(type: number): Uint8Array {
  const h = new Uint8Array(8);
  if (type === 0 || type === 60) h.set([1, 4], 2);
  return h;
}

/** The checksum of a TCP, UDP or ICMPv6 message after the walked header chain, over the pseudo header (RFC 8200 §8.1). */
function fixUpperChecksum(p: Uint8Array): void {
  const walked = skipIpv6ExtensionHeaders(p, 40, p[6]!, p.length);
  if (walked === undefined || walked.fragmentOffset !== 0) return;
  const at = walked.nextHeader === NEXTHDR_TCP ? 16 : walked.nextHeader === NEXTHDR_UDP ? 6 : walked.nextHeader === NEXTHDR_ICMPV6 ? 2 : -1;
  if (at < 0 || walked.offset + at + 2 > p.length) return;
  const o = { source: text(p, 8), destination: text(p, 24) };
  p.set(withChecksum6(walked.nextHeader, p.subarray(walked.offset), at, o), walked.offset);
}

function text(p: Uint8Array, at: number): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((p[at + i]! << 8) | p[at + i + 1]!).toString(16));
  return words.join(':');
}

/** A packet from our own address would have its answers loop back into our input: move its source off it. */
function notFromUs(p: Uint8Array): Uint8Array {
  if (p.length >= 24 && STACK6.every((b, i) => p[8 + i] === b)) p[23]! ^= 0x40;
  return p;
}
