/**
 * The IPv6 header codec, the extension-header walk and the pseudo header.
 *
 * The Linux vectors were captured from Linux 6.18 on the loopback device of a
 * scratch network namespace with lo's MTU set to 1280: a UDP datagram of
 * 1536 bytes of data from [::1]:40000 to [2001:db8::1]:9, which the kernel
 * split into two fragments (ip6_fragment). The UDP checksum is the kernel's
 * (no offload on lo for a fragmented datagram), so it checks the pseudo
 * header against an implementation other than ours.
 */
import test from 'ava';
import {
  FRAG_HEADER,
  IP6_MF,
  IP6_OFFSET_MASK,
  IPV6_DST_OFFSET,
  IPV6_HEADER,
  IPV6_MAX_PAYLOAD,
  IPV6_MIN_MTU,
  IPV6_SRC_OFFSET,
  NEXTHDR_AUTH,
  NEXTHDR_DEST,
  NEXTHDR_ESP,
  NEXTHDR_FRAGMENT,
  NEXTHDR_HOP,
  NEXTHDR_ICMPV6,
  NEXTHDR_MOBILITY,
  NEXTHDR_NONE,
  NEXTHDR_ROUTING,
  NEXTHDR_TCP,
  NEXTHDR_UDP,
  decodeIpv6Header,
  frag6Id,
  frag6More,
  frag6NextHeader,
  frag6Offset,
  ip6FlowLabel,
  ip6HopLimit,
  ip6NextHeader,
  ip6PayloadLength,
  ip6TrafficClass,
  ip6Version,
  ipv6ExtensionHeaderLength,
  isIpv6ExtensionHeader,
  pseudoHeaderSum6,
  skipIpv6ExtensionHeaders,
  writeFragmentHeader,
  writeIpv6Header,
  writeIpv6HeaderFields,
} from '../../stack/wire/ipv6.ts';
import { formatIpv6, ipv6WordSum, parseIpv6 } from '../../stack/wire/addr6.ts';
import { checksum, verifies } from '../../stack/wire/checksum.ts';
import { SeededRandom } from '../../stack/random.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The datagram's data: bytes(range(256)) * 6. */
const DATA = Uint8Array.from({ length: 1536 }, (_, i) => i & 255);
/** The UDP header as the kernel wrote it: ports 40000 → 9, length 1544, checksum 0xa85b. */
const UDP_HEADER = hex('9c40 0009 0608 a85b');
const LOOPBACK = '0000000000000000 0000000000000001';
const DOC1 = '20010db800000000 0000000000000001';

/** First fragment: offset 0, M set, id 0x9f97b715; 8 bytes of UDP header and 1224 of data. */
const FRAG1 = Uint8Array.from([
  ...hex(`6005ae41 04d8 2c 40 ${LOOPBACK} ${DOC1} 11 00 0001 9f97b715`),
  ...UDP_HEADER,
  ...DATA.subarray(0, 1224),
]);
/** Second fragment: offset 1232, M clear, the last 312 bytes of data. */
const FRAG2 = Uint8Array.from([...hex(`6005ae41 0140 2c 40 ${LOOPBACK} ${DOC1} 11 00 04d0 9f97b715`), ...DATA.subarray(1224)]);

test('captured Linux fragments: header accessors', (t) => {
  t.is(FRAG1.length, 1280);
  t.is(FRAG2.length, 360);
  for (const f of [FRAG1, FRAG2]) {
    t.is(ip6Version(f), 6);
    t.is(ip6TrafficClass(f), 0);
    t.is(ip6FlowLabel(f), 0x5ae41);
    t.is(ip6NextHeader(f), NEXTHDR_FRAGMENT);
    t.is(ip6HopLimit(f), 64);
    t.is(ip6PayloadLength(f), f.length - IPV6_HEADER);
    t.is(formatIpv6(f, IPV6_SRC_OFFSET), '::1');
    t.is(formatIpv6(f, IPV6_DST_OFFSET), '2001:db8::1');
    t.is(frag6NextHeader(f, IPV6_HEADER), NEXTHDR_UDP);
    t.is(frag6Id(f, IPV6_HEADER), 0x9f97b715);
  }
  t.is(frag6Offset(FRAG1, IPV6_HEADER), 0);
  t.true(frag6More(FRAG1, IPV6_HEADER));
  t.is(frag6Offset(FRAG2, IPV6_HEADER), 1232);
  t.false(frag6More(FRAG2, IPV6_HEADER));
  const d = decodeIpv6Header(FRAG1);
  t.deepEqual(
    { ...d, source: formatIpv6(d.source), destination: formatIpv6(d.destination) },
    {
      version: 6,
      trafficClass: 0,
      flowLabel: 0x5ae41,
      payloadLength: 1240,
      nextHeader: 44,
      hopLimit: 64,
      source: '::1',
      destination: '2001:db8::1',
    },
  );
  // decode copies the addresses.
  d.source[15] = 9;
  t.is(FRAG1[IPV6_SRC_OFFSET + 15], 1);
});

test('captured Linux fragments: our writers reproduce the kernel bytes', (t) => {
  const src = parseIpv6('::1')!;
  const dst = parseIpv6('2001:db8::1')!;
  for (const [f, offset, more] of [
    [FRAG1, 0, true],
    [FRAG2, 1232, false],
  ] as const) {
    const b = new Uint8Array(48);
    writeIpv6Header(b, 0, f.length - 40, NEXTHDR_FRAGMENT, 64, 0, 0x5ae41, src, 0, dst, 0);
    writeFragmentHeader(b, 40, NEXTHDR_UDP, offset, more, 0x9f97b715);
    t.is(toHex(b), toHex(f.subarray(0, 48)));
  }
});

test('captured Linux fragments: skipIpv6ExtensionHeaders as ipv6_skip_exthdr', (t) => {
  // The first fragment is skipped: UDP follows it.
  t.deepEqual(skipIpv6ExtensionHeaders(FRAG1, IPV6_HEADER, ip6NextHeader(FRAG1), FRAG1.length), {
    offset: 48,
    nextHeader: NEXTHDR_UDP,
    fragmentOffset: 0,
  });
  // A later fragment stops the walk at the fragment header, as Linux leaves
  // nexthdr at NEXTHDR_FRAGMENT and reports the offset through frag_offp.
  t.deepEqual(skipIpv6ExtensionHeaders(FRAG2, IPV6_HEADER, ip6NextHeader(FRAG2), FRAG2.length), {
    offset: 40,
    nextHeader: NEXTHDR_FRAGMENT,
    fragmentOffset: 1232,
  });
});

test('captured Linux fragments: the kernel UDP checksum verifies with pseudoHeaderSum6', (t) => {
  // Reassemble: UDP header + data, checksum over the whole datagram.
  const udp = Uint8Array.from([...UDP_HEADER, ...DATA]);
  t.is(udp.length, 1544);
  const sums = ipv6WordSum(FRAG1, IPV6_SRC_OFFSET) + ipv6WordSum(FRAG1, IPV6_DST_OFFSET);
  t.true(verifies(udp, 0, udp.length, pseudoHeaderSum6(sums, NEXTHDR_UDP, udp.length)));
  udp[6] = 0;
  udp[7] = 0;
  t.is(checksum(udp, 0, udp.length, pseudoHeaderSum6(sums, NEXTHDR_UDP, udp.length)), 0xa85b);
  // The wrong next header, length or address fails.
  udp[6] = 0xa8;
  udp[7] = 0x5b;
  t.false(verifies(udp, 0, udp.length, pseudoHeaderSum6(sums, NEXTHDR_TCP, udp.length)));
  t.false(verifies(udp, 0, udp.length, pseudoHeaderSum6(sums, NEXTHDR_UDP, udp.length + 2)));
  t.false(verifies(udp, 0, udp.length, pseudoHeaderSum6(sums + 1, NEXTHDR_UDP, udp.length)));
});

/**
 * The pseudo header of RFC 8200 §8.1 laid out as bytes, then summed one
 * 16-bit word at a time with the carry folded at every step: the
 * textbook computation, sharing no code with checksum.ts or ipv6.ts.
 */
function referenceChecksum(src: Uint8Array, dst: Uint8Array, nextHeader: number, upper: Uint8Array): number {
  const len = upper.length;
  const pseudo = [...src, ...dst, (len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, 0, 0, 0, nextHeader];
  const all = [...pseudo, ...upper];
  if (all.length % 2 === 1) all.push(0);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) {
    sum += all[i]! * 256 + all[i + 1]!;
    if (sum > 0xffff) sum = (sum & 0xffff) + 1;
  }
  return ~sum & 0xffff;
}

test('pseudoHeaderSum6 + checksum agree with a byte-layout reference', (t) => {
  const rng = new SeededRandom(2460);
  for (let n = 0; n < 300; n++) {
    const src = new Uint8Array(16);
    const dst = new Uint8Array(16);
    for (let i = 0; i < 16; i++) {
      src[i] = rng.below(4) === 0 ? 0xff : rng.below(256);
      dst[i] = rng.below(4) === 0 ? 0xff : rng.below(256);
    }
    const len = rng.below(3) === 0 ? rng.below(16) : rng.below(3000);
    const upper = new Uint8Array(len);
    for (let i = 0; i < len; i++) upper[i] = rng.below(8) === 0 ? 0xff : rng.below(256);
    const nh = [NEXTHDR_TCP, NEXTHDR_UDP, NEXTHDR_ICMPV6, rng.below(256)][rng.below(4)]!;
    const sums = ipv6WordSum(src, 0) + ipv6WordSum(dst, 0);
    t.is(checksum(upper, 0, len, pseudoHeaderSum6(sums, nh, len)), referenceChecksum(src, dst, nh, upper));
  }
});

test('pseudoHeaderSum6 takes the upper-layer length as 32 bits (jumbograms, RFC 2675)', (t) => {
  t.is(pseudoHeaderSum6(0, 6, 0), 6);
  t.is(pseudoHeaderSum6(100, 17, 0x1_0002), 100 + 1 + 2 + 17);
  t.is(pseudoHeaderSum6(0, 58, 0xffff_ffff), 0xffff + 0xffff + 58);
  // Against the reference on an empty upper layer with a large claimed length:
  // the reference lays the length out as four bytes.
  const rng = new SeededRandom(2675);
  for (let n = 0; n < 200; n++) {
    const src = new Uint8Array(16).map(() => rng.below(256));
    const dst = new Uint8Array(16).map(() => rng.below(256));
    const len = rng.u32();
    const sums = ipv6WordSum(src, 0) + ipv6WordSum(dst, 0);
    const pseudo = Uint8Array.from([...src, ...dst, len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, 0, 0, 0, 6]);
    t.is(checksum(new Uint8Array(0), 0, 0, pseudoHeaderSum6(sums, 6, len)), checksum(pseudo, 0, pseudo.length));
  }
});

function randomHeader(rng: SeededRandom): Parameters<typeof writeIpv6HeaderFields>[2] {
  const source = new Uint8Array(16).map(() => rng.below(256));
  const destination = new Uint8Array(16).map(() => rng.below(256));
  return {
    trafficClass: rng.below(256),
    flowLabel: rng.below(1 << 20),
    payloadLength: rng.below(65536),
    nextHeader: rng.below(256),
    hopLimit: rng.below(256),
    source,
    destination,
  };
}

test('writeIpv6Header and writeIpv6HeaderFields write the same bytes, and decode reads them back', (t) => {
  const rng = new SeededRandom(8200);
  const a = new Uint8Array(IPV6_HEADER);
  const b = new Uint8Array(IPV6_HEADER);
  const srcBuf = new Uint8Array(64);
  const dstBuf = new Uint8Array(64);
  for (let n = 0; n < 2000; n++) {
    const h = randomHeader(rng);
    // Positional, with the addresses at offsets inside other buffers.
    const so = rng.below(48);
    const d0 = rng.below(48);
    srcBuf.set(h.source, so);
    dstBuf.set(h.destination, d0);
    a.fill(0xee);
    writeIpv6Header(a, 0, h.payloadLength, h.nextHeader, h.hopLimit, h.trafficClass, h.flowLabel, srcBuf, so, dstBuf, d0);
    b.fill(0x11);
    writeIpv6HeaderFields(b, 0, h);
    if (toHex(a) !== toHex(b)) {
      t.is(toHex(a), toHex(b));
      return;
    }
    const d = decodeIpv6Header(a);
    if (
      d.version !== 6 ||
      d.trafficClass !== h.trafficClass ||
      d.flowLabel !== h.flowLabel ||
      d.payloadLength !== h.payloadLength ||
      d.nextHeader !== h.nextHeader ||
      d.hopLimit !== h.hopLimit ||
      toHex(d.source) !== toHex(h.source) ||
      toHex(d.destination) !== toHex(h.destination)
    ) {
      t.deepEqual(d, { version: 6, ...h });
      return;
    }
  }
  t.pass();
});

test('traffic class and flow label straddle byte boundaries', (t) => {
  const b = new Uint8Array(IPV6_HEADER);
  const zero = new Uint8Array(16);
  writeIpv6Header(b, 0, 0, 59, 255, 0xff, 0xfffff, zero, 0, zero, 0);
  t.is(toHex(b.subarray(0, 8)), '6fffffff00003bff');
  writeIpv6Header(b, 0, 0x1234, 6, 1, 0xa5, 0x5a5a5, zero, 0, zero, 0);
  t.is(toHex(b.subarray(0, 8)), '6a55a5a512340601');
  t.is(ip6TrafficClass(b), 0xa5);
  t.is(ip6FlowLabel(b), 0x5a5a5);
  // Out-of-range inputs do not spill into the version or the other field.
  writeIpv6Header(b, 0, 0, 0, 0, 0x1ff, 0xfffffff, zero, 0, zero, 0);
  t.is(ip6Version(b), 6);
  t.is(ip6TrafficClass(b), 0xff);
  t.is(ip6FlowLabel(b), 0xfffff);
  writeIpv6Header(b, 0, 0, 0, 0, 0x100, 0x1f0000, zero, 0, zero, 0);
  t.is(toHex(b.subarray(0, 4)), '600f0000');
  t.is(ip6TrafficClass(b), 0);
  t.is(ip6FlowLabel(b), 0xf0000);
});

test('writeIpv6Header writes at an offset and leaves the rest alone', (t) => {
  const b = new Uint8Array(50).fill(0xee);
  writeIpv6Header(b, 5, 8, NEXTHDR_UDP, 64, 0, 0, parseIpv6('fe80::1')!, 0, parseIpv6('ff02::1')!, 0);
  t.is(
    toHex(b.subarray(5, 45)),
    '60000000' + '0008' + '11' + '40' + 'fe800000000000000000000000000001' + 'ff020000000000000000000000000001',
  );
  t.true(b.subarray(0, 5).every((x) => x === 0xee));
  t.true(b.subarray(45).every((x) => x === 0xee));
  // Answering a packet in place: the source and destination may be the
  // packet's own address fields when they are the same bytes.
  writeIpv6Header(b, 5, 8, NEXTHDR_UDP, 64, 0, 0, b, 5 + IPV6_SRC_OFFSET, b, 5 + IPV6_DST_OFFSET);
  t.is(formatIpv6(b, 5 + IPV6_SRC_OFFSET), 'fe80::1');
  t.is(formatIpv6(b, 5 + IPV6_DST_OFFSET), 'ff02::1');
});

test('fragment header: writer and accessors over the whole offset range', (t) => {
  const b = new Uint8Array(20).fill(0xee);
  writeFragmentHeader(b, 3, NEXTHDR_TCP, 65528, true, 0xffffffff);
  t.is(toHex(b.subarray(3, 11)), '0600fff9ffffffff');
  t.is(frag6Offset(b, 3), 65528);
  t.true(frag6More(b, 3));
  t.is(frag6Id(b, 3), 0xffffffff); // unsigned
  t.is(frag6NextHeader(b, 3), NEXTHDR_TCP);
  t.is(b[2], 0xee);
  t.is(b[11], 0xee);
  for (let off = 0; off <= 65528; off += 8 * 97) {
    writeFragmentHeader(b, 0, NEXTHDR_UDP, off, off % 16 === 0, off * 65537);
    t.is(frag6Offset(b, 0), off);
    t.is(frag6More(b, 0), off % 16 === 0);
    t.is(frag6Id(b, 0), (off * 65537) >>> 0);
    t.is(b[1], 0); // reserved
    t.is(b[3]! & 6, 0); // Res bits
  }
  // The reserved bits are not part of the offset or M when reading.
  b.set([17, 0xff, 0x04, 0xd6, 0, 0, 0, 1]);
  t.is(frag6Offset(b, 0), 1232);
  t.false(frag6More(b, 0));
  t.is(IP6_OFFSET_MASK, 0xfff8);
  t.is(IP6_MF, 1);
});

test('ipv6ExtensionHeaderLength: ipv6_optlen, ipv6_authlen, and 8 for a fragment', (t) => {
  const b = new Uint8Array(4);
  for (const len of [0, 1, 2, 255]) {
    b[1] = len;
    for (const nh of [NEXTHDR_HOP, NEXTHDR_ROUTING, NEXTHDR_DEST, NEXTHDR_MOBILITY]) {
      t.is(ipv6ExtensionHeaderLength(b, 0, nh), (len + 1) * 8);
    }
    t.is(ipv6ExtensionHeaderLength(b, 0, NEXTHDR_AUTH), (len + 2) * 4);
    t.is(ipv6ExtensionHeaderLength(b, 0, NEXTHDR_FRAGMENT), FRAG_HEADER);
  }
  b[3] = 4;
  t.is(ipv6ExtensionHeaderLength(b, 2, NEXTHDR_AUTH), 24); // AH with a 96-bit ICV (RFC 4302 §2.2)
  t.is(ipv6ExtensionHeaderLength(b, 2, NEXTHDR_DEST), 40);
});

test('isIpv6ExtensionHeader is ipv6_ext_hdr(): NONE counts, ESP and Mobility do not', (t) => {
  const yes: number[] = [];
  for (let nh = 0; nh < 256; nh++) if (isIpv6ExtensionHeader(nh)) yes.push(nh);
  t.deepEqual(yes, [NEXTHDR_HOP, NEXTHDR_ROUTING, NEXTHDR_FRAGMENT, NEXTHDR_AUTH, NEXTHDR_NONE, NEXTHDR_DEST]);
  t.deepEqual(yes, [0, 43, 44, 51, 59, 60]);
  t.false(isIpv6ExtensionHeader(NEXTHDR_ESP));
  t.false(isIpv6ExtensionHeader(NEXTHDR_MOBILITY));
});

/** A packet of a fixed header and a chain of [type, bytes] extension headers, each linked to the next. */
function chain(headers: [number, Uint8Array][], upper: number, trailing = 0): Uint8Array {
  const total = IPV6_HEADER + headers.reduce((s, [, h]) => s + h.length, 0) + trailing;
  const b = new Uint8Array(total);
  b[0] = 0x60;
  b[6] = headers.length > 0 ? headers[0]![0] : upper;
  let at = IPV6_HEADER;
  headers.forEach(([, h], i) => {
    b.set(h, at);
    b[at] = i + 1 < headers.length ? headers[i + 1]![0] : upper;
    at += h.length;
  });
  return b;
}

/** An options header (Hop-by-Hop, Destination) of (hdrlen + 1) × 8 bytes, filled with PadN. */
function options(hdrlen: number): Uint8Array {
  const h = new Uint8Array((hdrlen + 1) * 8);
  h[1] = hdrlen;
  h[2] = 1; // PadN
  h[3] = h.length - 4;
  return h;
}
function routing(hdrlen: number): Uint8Array {
  const h = new Uint8Array((hdrlen + 1) * 8);
  h[1] = hdrlen;
  h[2] = 4; // Segment Routing (RFC 8754); the walk does not care
  return h;
}
function fragment(offsetBytes: number, more: boolean): Uint8Array {
  const h = new Uint8Array(8);
  writeFragmentHeader(h, 0, 0, offsetBytes, more, 0x01020304);
  return h;
}
function auth(payloadLen: number): Uint8Array {
  const h = new Uint8Array((payloadLen + 2) * 4);
  h[1] = payloadLen;
  return h;
}

test('skip: HOP → DEST → ROUTING → FRAG(offset 0) → TCP', (t) => {
  const b = chain(
    [
      [NEXTHDR_HOP, options(0)],
      [NEXTHDR_DEST, options(1)],
      [NEXTHDR_ROUTING, routing(2)],
      [NEXTHDR_FRAGMENT, fragment(0, true)],
    ],
    NEXTHDR_TCP,
    20,
  );
  const tcpAt = 40 + 8 + 16 + 24 + 8;
  t.is(b.length, tcpAt + 20);
  t.deepEqual(skipIpv6ExtensionHeaders(b, IPV6_HEADER, ip6NextHeader(b), b.length), {
    offset: tcpAt,
    nextHeader: NEXTHDR_TCP,
    fragmentOffset: 0,
  });
  // The chain may end exactly at `end` (an upper layer with no bytes yet: the caller checks its length).
  t.deepEqual(skipIpv6ExtensionHeaders(b, IPV6_HEADER, ip6NextHeader(b), tcpAt), {
    offset: tcpAt,
    nextHeader: NEXTHDR_TCP,
    fragmentOffset: 0,
  });
  // Starting mid-chain works the same way.
  t.deepEqual(skipIpv6ExtensionHeaders(b, 48, NEXTHDR_DEST, b.length), {
    offset: tcpAt,
    nextHeader: NEXTHDR_TCP,
    fragmentOffset: 0,
  });
});

test('skip: an upper layer at once, ESP and Mobility stop the walk where they are', (t) => {
  const b = chain([], NEXTHDR_ICMPV6, 8);
  t.deepEqual(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_ICMPV6, b.length), { offset: 40, nextHeader: 58, fragmentOffset: 0 });
  t.deepEqual(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_ICMPV6, 40), { offset: 40, nextHeader: 58, fragmentOffset: 0 });
  const esp = chain([[NEXTHDR_HOP, options(0)]], NEXTHDR_ESP, 16);
  t.deepEqual(skipIpv6ExtensionHeaders(esp, 40, NEXTHDR_HOP, esp.length), {
    offset: 48,
    nextHeader: NEXTHDR_ESP,
    fragmentOffset: 0,
  });
  const mob = chain([[NEXTHDR_DEST, options(0)]], NEXTHDR_MOBILITY, 16);
  t.deepEqual(skipIpv6ExtensionHeaders(mob, 40, NEXTHDR_DEST, mob.length), {
    offset: 48,
    nextHeader: NEXTHDR_MOBILITY,
    fragmentOffset: 0,
  });
});

test('skip: a non-first fragment stops at the fragment header', (t) => {
  const b = chain(
    [
      [NEXTHDR_HOP, options(0)],
      [NEXTHDR_FRAGMENT, fragment(1448, true)],
    ],
    NEXTHDR_TCP,
    100,
  );
  t.deepEqual(skipIpv6ExtensionHeaders(b, IPV6_HEADER, NEXTHDR_HOP, b.length), {
    offset: 48,
    nextHeader: NEXTHDR_FRAGMENT,
    fragmentOffset: 1448,
  });
  t.is(frag6NextHeader(b, 48), NEXTHDR_TCP);
  // The largest offset, and the last fragment (M clear).
  const last = chain([[NEXTHDR_FRAGMENT, fragment(65528, false)]], NEXTHDR_UDP, 8);
  t.deepEqual(skipIpv6ExtensionHeaders(last, 40, NEXTHDR_FRAGMENT, last.length), {
    offset: 40,
    nextHeader: NEXTHDR_FRAGMENT,
    fragmentOffset: 65528,
  });
  // Reserved bits and M alone are not an offset: an atomic fragment (RFC 8021) is skipped.
  const atomic = chain([[NEXTHDR_FRAGMENT, hex('0000 0007 00000001')]], NEXTHDR_UDP, 8);
  t.deepEqual(skipIpv6ExtensionHeaders(atomic, 40, NEXTHDR_FRAGMENT, atomic.length), {
    offset: 48,
    nextHeader: NEXTHDR_UDP,
    fragmentOffset: 0,
  });
});

test('skip: No Next Header gives undefined, at the start or after headers', (t) => {
  // What follows No Next Header looks like a TCP-bound Destination Options
  // header: it must not be read (RFC 8200 §4.7: ignored).
  const b = chain([[NEXTHDR_DEST, options(0)]], NEXTHDR_NONE, 28);
  b[48] = NEXTHDR_TCP;
  t.is(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_DEST, b.length), undefined);
  t.is(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_NONE, b.length), undefined);
  t.is(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_NONE, 40), undefined);
});

test('skip: a chain cut short is stepped over as far as its lengths say, as Linux does; undefined only without the bytes it reads', (t) => {
  const b = chain(
    [
      [NEXTHDR_HOP, options(0)],
      [NEXTHDR_DEST, options(3)],
    ],
    NEXTHDR_TCP,
    20,
  );
  const whole = { offset: 40 + 8 + 32, nextHeader: NEXTHDR_TCP, fragmentOffset: 0 };
  t.deepEqual(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_HOP, 40 + 8 + 32), whole);
  // The Destination Options header claims 32 bytes; with one short the walk still ends past it.
  t.deepEqual(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_HOP, 40 + 8 + 31), whole);
  t.deepEqual(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_HOP, 40 + 8 + 2), whole);
  // Not even the two bytes of a header.
  t.is(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_HOP, 40 + 8 + 1), undefined);
  t.is(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_HOP, 41), undefined);
  t.is(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_HOP, 40), undefined);
  // A fragment header needs its offset word.
  const f = chain([[NEXTHDR_FRAGMENT, fragment(8, false)]], NEXTHDR_UDP, 0);
  t.is(skipIpv6ExtensionHeaders(f, 40, NEXTHDR_FRAGMENT, 43), undefined);
  t.truthy(skipIpv6ExtensionHeaders(f, 40, NEXTHDR_FRAGMENT, 44));
});

test('skip: the AH length rule, (len + 2) × 4', (t) => {
  const b = chain(
    [
      [NEXTHDR_HOP, options(0)],
      [NEXTHDR_AUTH, auth(4)],
      [NEXTHDR_DEST, options(0)],
    ],
    NEXTHDR_UDP,
    8,
  );
  t.deepEqual(skipIpv6ExtensionHeaders(b, 40, NEXTHDR_HOP, b.length), {
    offset: 40 + 8 + 24 + 8,
    nextHeader: NEXTHDR_UDP,
    fragmentOffset: 0,
  });
  // Read as an options header (hdrlen 4 → 40 bytes) it would land elsewhere.
  t.not(40 + 8 + (4 + 1) * 8 + 8, 40 + 8 + 24 + 8);
  // An AH of 12 bytes (len 1): Linux follows the length even though IPv6
  // wants a multiple of 8 (RFC 4302 §2.2); so do we.
  const odd = chain([[NEXTHDR_AUTH, auth(1)]], NEXTHDR_TCP, 20);
  t.deepEqual(skipIpv6ExtensionHeaders(odd, 40, NEXTHDR_AUTH, odd.length), {
    offset: 52,
    nextHeader: NEXTHDR_TCP,
    fragmentOffset: 0,
  });
});

test('skip: random bytes always end, inside [start, end], advancing', (t) => {
  const rng = new SeededRandom(4302);
  const b = new Uint8Array(600);
  const ext = [NEXTHDR_HOP, NEXTHDR_ROUTING, NEXTHDR_FRAGMENT, NEXTHDR_AUTH, NEXTHDR_DEST, NEXTHDR_NONE];
  let reached = 0;
  for (let n = 0; n < 3000; n++) {
    for (let i = 0; i < b.length; i++) {
      // Mostly extension-header types and small lengths, to make long chains.
      b[i] = rng.below(3) === 0 ? ext[rng.below(ext.length)]! : rng.below(4) === 0 ? rng.below(256) : rng.below(3);
    }
    const end = 40 + rng.below(560);
    const r = skipIpv6ExtensionHeaders(b, 40, ext[rng.below(ext.length - 1)]!, end);
    if (r === undefined) continue;
    reached++;
    // A header may claim more than remains: the walk ends at most one header (2048 bytes) past `end`.
    if (r.offset < 40 || r.offset > end + 2048) t.fail(`offset ${r.offset} end ${end}`);
    if (r.fragmentOffset === 0 && isIpv6ExtensionHeader(r.nextHeader)) t.fail(`stopped at extension header ${r.nextHeader}`);
    if (r.fragmentOffset !== 0 && (r.nextHeader !== NEXTHDR_FRAGMENT || frag6Offset(b, r.offset) !== r.fragmentOffset)) {
      t.fail('fragment stop');
    }
  }
  t.true(reached > 100, `${reached} walks reached an upper layer or a fragment`);
  // A long chain: 70 Destination Options headers of 8 bytes, then UDP.
  const long = chain(Array.from({ length: 70 }, (): [number, Uint8Array] => [NEXTHDR_DEST, options(0)]), NEXTHDR_UDP, 8);
  t.deepEqual(skipIpv6ExtensionHeaders(long, 40, NEXTHDR_DEST, long.length), {
    offset: 40 + 560,
    nextHeader: NEXTHDR_UDP,
    fragmentOffset: 0,
  });
});

test('constants', (t) => {
  t.deepEqual(
    [IPV6_HEADER, IPV6_MIN_MTU, IPV6_MAX_PAYLOAD, IPV6_SRC_OFFSET, IPV6_DST_OFFSET, FRAG_HEADER],
    [40, 1280, 65535, 8, 24, 8],
  );
  t.deepEqual(
    [
      NEXTHDR_HOP,
      NEXTHDR_TCP,
      NEXTHDR_UDP,
      NEXTHDR_ROUTING,
      NEXTHDR_FRAGMENT,
      NEXTHDR_ESP,
      NEXTHDR_AUTH,
      NEXTHDR_ICMPV6,
      NEXTHDR_NONE,
      NEXTHDR_DEST,
      NEXTHDR_MOBILITY,
    ],
    [0, 6, 17, 43, 44, 50, 51, 58, 59, 60, 135],
  );
});
