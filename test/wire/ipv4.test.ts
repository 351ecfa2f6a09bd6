/**
 * The IPv4 header codec checked against `ip-packet` as an oracle.
 *
 * ip-packet is not used on the hot path: its decode throws on any header
 * with options (IHL > 5) and on anything that is not version 4, both of which
 * arrive from the network and must be counted and dropped (or, for options,
 * accepted) rather than crash the input loop; it also builds address strings
 * and a fresh object per packet (see test/bench/codec.ts for the cost).
 */
import test from 'ava';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import {
  IPV4_MIN_HEADER,
  decodeIpv4Header,
  ipDestination,
  ipHeaderLength,
  ipProtocol,
  ipSource,
  ipTotalLength,
  ipVersion,
  writeIpv4Header,
  type Ipv4HeaderFields,
} from '../../stack/wire/ipv4.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { verifies } from '../../stack/wire/checksum.ts';
import { SeededRandom } from '../../stack/random.ts';

/** The part of ip-packet's CommonJS API we use (it ships no types). */
interface IpPacketHeader {
  version: number;
  ihl: number;
  dscp: number;
  ecn: number;
  length: number;
  identification: number;
  flags: number;
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  sourceIp: string;
  destinationIp: string;
  checksum: number;
  data: Uint8Array;
}
interface IpPacketState {
  buffer: Uint8Array;
  start: number;
  end: number;
}
interface IpPacket {
  decode(state: IpPacketState): IpPacketHeader;
  encode(state: IpPacketState, packet: Partial<IpPacketHeader> & { version: number; data: Buffer }): void;
  checksum(header: Uint8Array): number;
}
const ipPacket = createRequire(import.meta.url)('ip-packet') as IpPacket;

const N = 10_000;
const payloadPool = Buffer.alloc(65535 - 20, 0x5a);

function randomFields(rng: SeededRandom): Required<Ipv4HeaderFields> & { payloadLength: number } {
  const payloadLength = rng.below(65535 - 20 + 1);
  const flags = rng.below(4); // DF and MF (the reserved bit is never sent)
  return {
    tos: rng.below(256),
    totalLength: 20 + payloadLength,
    payloadLength,
    id: rng.below(65536),
    dontFragment: (flags & 2) !== 0,
    moreFragments: (flags & 1) !== 0,
    fragmentOffset: rng.below(8192) * 8,
    ttl: rng.below(256),
    protocol: rng.below(256),
    source: rng.u32(),
    destination: rng.u32(),
  };
}

test(`writeIpv4Header matches ip-packet encode + checksum on ${N} random headers`, (t) => {
  const rng = new SeededRandom(791);
  const ours = new Uint8Array(20);
  const theirs = new Uint8Array(65535);
  let mismatches = 0;
  for (let n = 0; n < N; n++) {
    const f = randomFields(rng);
    writeIpv4Header(ours, 0, f);
    const state = { buffer: theirs, start: 0, end: f.totalLength };
    ipPacket.encode(state, {
      version: 4,
      ihl: 5,
      dscp: f.tos >> 2,
      ecn: f.tos & 3,
      identification: f.id,
      flags: (f.dontFragment ? 2 : 0) | (f.moreFragments ? 1 : 0),
      fragmentOffset: f.fragmentOffset / 8,
      ttl: f.ttl,
      protocol: f.protocol,
      sourceIp: formatIpv4(f.source),
      destinationIp: formatIpv4(f.destination),
      data: payloadPool.subarray(0, f.payloadLength),
    });
    // ip-packet's checksum() writes into bytes 10-11 of its argument: give it a copy.
    const header = theirs.slice(0, 20);
    const sum = ipPacket.checksum(header);
    if (state.start !== f.totalLength || ((header[10]! << 8) | header[11]!) !== sum || !verifies(ours, 0, 20)) {
      mismatches++;
    } else if (Buffer.compare(ours, header) !== 0) {
      mismatches++;
      if (mismatches < 5) t.log(`mismatch ${Buffer.from(ours).toString('hex')} vs ${Buffer.from(header).toString('hex')}`);
    }
  }
  t.is(mismatches, 0);
});

test(`decodeIpv4Header matches ip-packet decode on ${N} random headers`, (t) => {
  const rng = new SeededRandom(1981);
  const buf = new Uint8Array(65535);
  let mismatches = 0;
  let accessorMismatches = 0;
  for (let n = 0; n < N; n++) {
    // Random bytes for every field, the reserved flag and the checksum included;
    // only version 4 / IHL 5 and a total length of at least 20 are fixed.
    for (let i = 1; i < 20; i++) buf[i] = rng.below(256);
    buf[0] = 0x45;
    const totalLength = 20 + rng.below(65535 - 20 + 1);
    buf[2] = totalLength >>> 8;
    buf[3] = totalLength & 255;

    const ours = decodeIpv4Header(buf);
    const theirs = ipPacket.decode({ buffer: buf, start: 0, end: totalLength });
    const mapped = {
      version: theirs.version,
      headerLength: theirs.ihl * 4,
      tos: (theirs.dscp << 2) | theirs.ecn,
      totalLength: theirs.length,
      id: theirs.identification,
      dontFragment: (theirs.flags & 2) !== 0,
      moreFragments: (theirs.flags & 1) !== 0,
      fragmentOffset: theirs.fragmentOffset * 8,
      ttl: theirs.ttl,
      protocol: theirs.protocol,
      checksum: theirs.checksum,
      source: theirs.sourceIp,
      destination: theirs.destinationIp,
    };
    const oursMapped = { ...ours, source: formatIpv4(ours.source), destination: formatIpv4(ours.destination) };
    if (!isDeepStrictEqual(oursMapped, mapped)) {
      mismatches++;
      if (mismatches < 5) t.deepEqual(oursMapped, mapped);
    }
    // The accessors agree with the oracle too.
    if (
      theirs.data.length !== totalLength - 20 ||
      ipVersion(buf) !== 4 ||
      ipTotalLength(buf) !== totalLength ||
      ipProtocol(buf) !== theirs.protocol ||
      formatIpv4(ipSource(buf)) !== theirs.sourceIp ||
      formatIpv4(ipDestination(buf)) !== theirs.destinationIp
    ) {
      accessorMismatches++;
    }
  }
  t.is(mismatches, 0);
  t.is(accessorMismatches, 0);
});

test('our decoder round-trips our writer', (t) => {
  const rng = new SeededRandom(42);
  const b = new Uint8Array(20);
  for (let n = 0; n < 1000; n++) {
    const f = randomFields(rng);
    writeIpv4Header(b, 0, f);
    const d = decodeIpv4Header(b);
    t.is(d.version, 4);
    t.is(d.headerLength, IPV4_MIN_HEADER);
    t.is(d.tos, f.tos);
    t.is(d.totalLength, f.totalLength);
    t.is(d.id, f.id);
    t.is(d.dontFragment, f.dontFragment);
    t.is(d.moreFragments, !!f.moreFragments);
    t.is(d.fragmentOffset, f.fragmentOffset);
    t.is(d.ttl, f.ttl);
    t.is(d.protocol, f.protocol);
    t.is(d.source, f.source);
    t.is(d.destination, f.destination);
  }
});

test('writeIpv4Header writes at an offset and leaves the rest alone', (t) => {
  const b = new Uint8Array(30).fill(0xee);
  writeIpv4Header(b, 5, {
    totalLength: 0x73,
    id: 0,
    dontFragment: true,
    ttl: 64,
    protocol: 17,
    source: 0xc0a80001,
    destination: 0xc0a800c7,
  });
  t.is(Buffer.from(b.subarray(5, 25)).toString('hex'), '450000730000400040' + '11b861c0a80001c0a800c7');
  t.true(b.subarray(0, 5).every((x) => x === 0xee));
  t.true(b.subarray(25).every((x) => x === 0xee));
});

test('ip-packet throws on options (IHL > 5) and on version 6: why it is not our input parser', (t) => {
  const withOptions = new Uint8Array(64);
  withOptions.set([0x46, 0, 0, 28, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 1, 1, 0]);
  t.throws(() => ipPacket.decode({ buffer: withOptions, start: 0, end: 28 }), { message: /IHL/ });
  const v6 = new Uint8Array(40);
  v6[0] = 0x60;
  t.throws(() => ipPacket.decode({ buffer: v6, start: 0, end: 40 }), { message: /IPv4/ });
});

test('our accessors handle IHL 6..15 (options) without throwing', (t) => {
  const b = new Uint8Array(60 + 8);
  for (let ihl = 6; ihl <= 15; ihl++) {
    b.fill(1); // NOPs (IP option 1) in the options area
    b.set([0x40 | ihl, 0, 0, b.length, 0x12, 0x34, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7]);
    t.is(ipHeaderLength(b), ihl * 4);
    t.notThrows(() => decodeIpv4Header(b));
    const h = decodeIpv4Header(b);
    t.is(h.headerLength, ihl * 4);
    t.is(h.totalLength, b.length);
    t.is(h.id, 0x1234);
    t.is(formatIpv4(h.source), '192.0.2.1');
    t.is(formatIpv4(h.destination), '198.51.100.7');
    t.throws(() => ipPacket.decode({ buffer: b, start: 0, end: b.length }));
  }
  // A version-6 first byte is reported, not thrown on.
  b[0] = 0x60;
  t.is(ipVersion(b), 6);
  t.notThrows(() => decodeIpv4Header(b));
});
