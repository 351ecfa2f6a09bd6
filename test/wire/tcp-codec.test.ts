/**
 * The tool side of the TCP codec: raw option lists, the whole-segment
 * encoder, the reserved bits and the field setters. Oracles: segments Linux
 * sent (byte for byte, checksum included), `ip-packet` for the IPv4 framing,
 * and a checksum computed here from RFC 1071 without stack/wire/checksum.ts.
 */
import test from 'ava';
import { createRequire } from 'node:module';
import { PROTO_TCP, writeIpv4Header } from '../../stack/wire/ipv4.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import {
  TCP_ACK,
  TCP_MIN_HEADER,
  TCP_PSH,
  TCP_SYN,
  TCPOPT_EOL,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_TIMESTAMP,
  decodeTcpOptionList,
  decodeTcpSegment,
  encodeTcpSegment,
  rawTcpOption,
  setTcpAck,
  setTcpChecksum,
  setTcpFlags,
  setTcpSeq,
  setTcpWindow,
  tcpChecksum,
  tcpChecksumOk,
  tcpOptionArea,
  tcpOptionListLength,
  tcpReserved,
  tcpSegmentLength,
  writeTcpOptionList,
  type NamedTcpOption,
  type TcpRawOption,
  type TcpSegmentFields,
} from '../../stack/wire/tcp.ts';
import { SeededRandom } from '../../stack/random.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** TCP part of a SYN captured from Linux 6.18 (see checksum.test.ts), 10.0.0.1 → 10.0.0.2. */
const LINUX_SYN_TCP = hex('e6f81f90cd47d2d600000000a002faf0820e0000' + '020405b40402080a85928ac1000000000103030a');
/** A PSH|ACK with "hello" and NOP NOP TS from the same capture setup. */
const LINUX_DATA_TCP = hex('b00a1f9091ed2389000003e98018003ff87f0000' + '0101080ad4ab841011223344' + '68656c6c6f');
const SRC = 0x0a000001;
const DST = 0x0a000002;

/** The fields of a captured segment, for encodeTcpSegment. */
function fieldsOf(seg: Uint8Array): TcpSegmentFields {
  const d = decodeTcpSegment(seg);
  return {
    sourcePort: d.sourcePort,
    destinationPort: d.destinationPort,
    seq: d.seq,
    ack: d.ack,
    flags: d.flags,
    window: d.window,
    urgent: d.urgent,
    reserved: d.reserved,
    payload: d.payload,
  };
}

/** RFC 1071 written out again, independent of stack/wire/checksum.ts: pseudo header (RFC 9293 §3.1) + segment. */
function referenceTcpChecksum(src: number, dst: number, seg: Uint8Array): number {
  const bytes = [...[src, dst].flatMap((a) => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]), 0, PROTO_TCP, seg.length >> 8, seg.length & 255, ...seg];
  bytes[12 + 16] = 0;
  bytes[12 + 17] = 0;
  if (bytes.length % 2) bytes.push(0);
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += bytes[i]! * 256 + bytes[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

// ---------------------------------------------------------------------------
// Linux as the oracle
// ---------------------------------------------------------------------------

test('encodeTcpSegment rebuilds the Linux SYN byte for byte, from its option list or from Linux layout', (t) => {
  const list = decodeTcpOptionList(tcpOptionArea(LINUX_SYN_TCP));
  t.is(list.malformed, undefined);
  const fromList = new Uint8Array(LINUX_SYN_TCP.length);
  t.is(encodeTcpSegment(fromList, 0, { ...fieldsOf(LINUX_SYN_TCP), optionList: list.options }, SRC, DST), LINUX_SYN_TCP.length);
  t.is(toHex(fromList), toHex(LINUX_SYN_TCP));

  const fromLinux = new Uint8Array(LINUX_SYN_TCP.length);
  const options = { mss: 1460, sackPermitted: true, ts: { val: 0x85928ac1, ecr: 0 }, wscale: 10 };
  encodeTcpSegment(fromLinux, 0, { ...fieldsOf(LINUX_SYN_TCP), options }, SRC, DST);
  t.is(toHex(fromLinux), toHex(LINUX_SYN_TCP));
});

test('encodeTcpSegment rebuilds the Linux data segment (odd length, payload) at an offset', (t) => {
  const fields: TcpSegmentFields = { ...fieldsOf(LINUX_DATA_TCP), options: { ts: { val: 0xd4ab8410, ecr: 0x11223344 } } };
  t.is(tcpSegmentLength(fields), LINUX_DATA_TCP.length);
  const buf = new Uint8Array(7 + LINUX_DATA_TCP.length + 3).fill(0xee);
  t.is(encodeTcpSegment(buf, 7, fields, SRC, DST), LINUX_DATA_TCP.length);
  t.is(toHex(buf.subarray(7, 7 + LINUX_DATA_TCP.length)), toHex(LINUX_DATA_TCP));
  t.true(buf.subarray(0, 7).every((x) => x === 0xee));
  t.true(buf.subarray(7 + LINUX_DATA_TCP.length).every((x) => x === 0xee), 'writes nothing past the segment');
});

test('the named options in the layouts Linux sends', (t) => {
  const named: NamedTcpOption[] = [
    { kind: 'mss', value: 1460 },
    { kind: 'sackOK' },
    { kind: 'ts', val: 0x85928ac1, ecr: 0 },
    { kind: 'nop' },
    { kind: 'wscale', value: 10 },
  ];
  const raw = named.map(rawTcpOption);
  const area = new Uint8Array(tcpOptionListLength(raw));
  t.is(writeTcpOptionList(area, 0, raw), 20);
  t.is(toHex(area), toHex(LINUX_SYN_TCP.subarray(20)));
});

// ---------------------------------------------------------------------------
// Option lists
// ---------------------------------------------------------------------------

test('a raw list keeps any order, NOPs, EOLs and unknown kinds', (t) => {
  const raw: TcpRawOption[] = [
    rawTcpOption({ kind: 'nop' }),
    rawTcpOption({ kind: 'nop' }),
    rawTcpOption({ kind: 'sack', blocks: [[1, 2]] }),
    { kind: 254, length: 4, data: Uint8Array.of(0xf9, 0x89) },
    rawTcpOption({ kind: 'eol' }),
    rawTcpOption({ kind: 'eol' }),
  ];
  const area = new Uint8Array(tcpOptionListLength(raw));
  writeTcpOptionList(area, 0, raw);
  t.is(toHex(area), '0101' + '050a0000000100000002' + 'fe04f989' + '0000');
  t.deepEqual(decodeTcpOptionList(area), { options: raw, malformed: undefined });
});

test('decodeTcpOptionList reads past EOL and stops at the first malformed option', (t) => {
  t.deepEqual(
    decodeTcpOptionList(Uint8Array.of(TCPOPT_EOL, TCPOPT_NOP)).options.map((o) => o.kind),
    [TCPOPT_EOL, TCPOPT_NOP],
  );
  const noLength = decodeTcpOptionList(Uint8Array.of(TCPOPT_NOP, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TIMESTAMP));
  t.is(noLength.options.length, 3);
  t.deepEqual(noLength.malformed, { kind: TCPOPT_TIMESTAMP, reason: 'TCP option of kind 8 has no length byte' });
  const tooLong = decodeTcpOptionList(Uint8Array.of(TCPOPT_NOP, TCPOPT_SACK, 10, 0, 0, 0));
  t.is(tooLong.options.length, 1);
  t.deepEqual(tooLong.malformed, { kind: TCPOPT_SACK, reason: 'TCP option of kind 5 has bad length 10' });
  t.deepEqual(decodeTcpOptionList(Uint8Array.of(99, 1, 0, 0)).malformed, { kind: 99, reason: 'TCP option of kind 99 has bad length 1' });
});

test('decoded option data is a copy', (t) => {
  const seg = Uint8Array.from(LINUX_SYN_TCP);
  const { options } = decodeTcpOptionList(tcpOptionArea(seg));
  seg[22] = 0;
  t.is(toHex(options[0]!.data), '05b4');
});

test('tcpOptionArea is cut at the end of a short capture and empty for a bad data offset', (t) => {
  t.is(tcpOptionArea(LINUX_SYN_TCP).length, 20);
  t.is(tcpOptionArea(LINUX_SYN_TCP.subarray(0, 30)).length, 10);
  t.is(tcpOptionArea(LINUX_DATA_TCP).length, 12);
  const bad = Uint8Array.from(LINUX_SYN_TCP);
  bad[12] = 0x30;
  t.is(tcpOptionArea(bad).length, 0);
});

test('writeTcpOptionList refuses data that does not fit the length', (t) => {
  t.throws(() => writeTcpOptionList(new Uint8Array(8), 0, [{ kind: 2, length: 4, data: new Uint8Array(3) }]), { instanceOf: RangeError });
});

// ---------------------------------------------------------------------------
// The whole-segment encoder
// ---------------------------------------------------------------------------

test('encodeTcpSegment pads a raw list with EOL to 32 bits, writes the reserved bits, refuses what does not fit', (t) => {
  const buf = new Uint8Array(40).fill(0xff);
  const f: TcpSegmentFields = { sourcePort: 1, destinationPort: 2, seq: 3, ack: 4, flags: TCP_ACK, window: 5, reserved: 0b1011, optionList: [rawTcpOption({ kind: 'wscale', value: 7 })] };
  t.is(tcpSegmentLength(f), 24);
  t.is(encodeTcpSegment(buf, 0, f, SRC, DST), 24);
  t.is(toHex(buf.subarray(20, 24)), '03030700');
  t.is(buf[12], 0x6b);
  t.is(tcpReserved(buf), 0b1011);
  t.is(decodeTcpSegment(buf.subarray(0, 24)).reserved, 0b1011);
  t.true(tcpChecksumOk(buf.subarray(0, 24), SRC, DST));

  t.throws(() => encodeTcpSegment(new Uint8Array(23), 0, f, SRC, DST), { instanceOf: RangeError });
  t.throws(() => tcpSegmentLength({ ...f, options: { mss: 1460 } }), { instanceOf: RangeError });
  const sack = rawTcpOption({ kind: 'sack', blocks: [[1, 2], [3, 4], [5, 6], [7, 8]] });
  t.throws(() => tcpSegmentLength({ ...f, optionList: [sack, sack] }), { instanceOf: RangeError });
});

test('encodeTcpSegment round trip through decodeTcpSegment and decodeTcpOptionList (random segments)', (t) => {
  const rng = new SeededRandom(793);
  const buf = new Uint8Array(200);
  const pick = (): NamedTcpOption => {
    switch (rng.below(7)) {
      case 0:
        return { kind: 'nop' };
      case 1:
        return { kind: 'mss', value: rng.below(65536) };
      case 2:
        return { kind: 'wscale', value: rng.below(256) };
      case 3:
        return { kind: 'sackOK' };
      case 4:
        return { kind: 'ts', val: rng.u32(), ecr: rng.u32() };
      case 5:
        return { kind: 'sack', blocks: Array.from({ length: 1 + rng.below(2) }, () => [rng.u32(), rng.u32()] as [number, number]) };
      default:
        return { kind: 'eol' };
    }
  };
  for (let n = 0; n < 1000; n++) {
    const raw: TcpRawOption[] = [];
    for (let k = rng.below(5); k > 0; k--) {
      const o = rawTcpOption(pick());
      if (tcpOptionListLength(raw) + o.length <= 40) raw.push(o);
    }
    const payload = Uint8Array.from({ length: rng.below(60) }, () => rng.below(256));
    const f: TcpSegmentFields = {
      sourcePort: rng.below(65536),
      destinationPort: rng.below(65536),
      seq: rng.u32(),
      ack: rng.u32(),
      flags: rng.below(256),
      window: rng.below(65536),
      urgent: rng.below(65536),
      reserved: rng.below(16),
      optionList: raw,
      payload,
    };
    const offset = rng.below(8);
    buf.fill(0xa5);
    const len = encodeTcpSegment(buf, offset, f, SRC, DST);
    const seg = buf.subarray(offset, offset + len);
    const d = decodeTcpSegment(seg);
    t.like(d, { sourcePort: f.sourcePort, destinationPort: f.destinationPort, seq: f.seq, ack: f.ack, flags: f.flags, window: f.window, urgent: f.urgent, reserved: f.reserved });
    t.is(d.headerLength, TCP_MIN_HEADER + ((tcpOptionListLength(raw) + 3) & ~3));
    t.is(toHex(d.payload), toHex(payload));
    const back = decodeTcpOptionList(tcpOptionArea(seg));
    t.is(back.malformed, undefined);
    t.deepEqual(back.options.slice(0, raw.length), raw);
    t.true(back.options.slice(raw.length).every((o) => o.kind === TCPOPT_EOL), 'the padding reads as EOLs');
    t.is(tcpChecksum(seg), referenceTcpChecksum(SRC, DST, seg));
  }
});

// ---------------------------------------------------------------------------
// ip-packet as the oracle for the IPv4 framing of an encoded segment
// ---------------------------------------------------------------------------

interface IpPacketHeader {
  length: number;
  protocol: number;
  sourceIp: string;
  destinationIp: string;
  data: Uint8Array;
}
interface IpPacket {
  decode(state: { buffer: Uint8Array; start: number; end: number }): IpPacketHeader;
  checksum(header: Uint8Array): number;
}
const ipPacket = createRequire(import.meta.url)('ip-packet') as IpPacket;

test('a segment encoded after writeIpv4Header is what ip-packet decodes as the datagram data', (t) => {
  const rng = new SeededRandom(791);
  for (let n = 0; n < 500; n++) {
    const src = rng.u32();
    const dst = rng.u32();
    const f: TcpSegmentFields = {
      sourcePort: rng.below(65536),
      destinationPort: rng.below(65536),
      seq: rng.u32(),
      ack: rng.u32(),
      flags: TCP_PSH | TCP_ACK,
      window: rng.below(65536),
      options: rng.below(2) ? { ts: { val: rng.u32(), ecr: rng.u32() } } : { mss: 1460, sackPermitted: true, wscale: 7 },
      payload: Uint8Array.from({ length: rng.below(100) }, () => rng.below(256)),
    };
    if (n % 2) f.flags = TCP_SYN;
    const packet = new Uint8Array(20 + tcpSegmentLength(f));
    writeIpv4Header(packet, 0, { totalLength: packet.length, id: n, dontFragment: true, ttl: 64, protocol: PROTO_TCP, source: src, destination: dst });
    t.is(encodeTcpSegment(packet, 20, f, src, dst), packet.length - 20);
    const h = ipPacket.decode({ buffer: packet, start: 0, end: packet.length });
    t.is(h.length, packet.length);
    t.is(h.protocol, PROTO_TCP);
    t.is(h.sourceIp, formatIpv4(src));
    t.is(h.destinationIp, formatIpv4(dst));
    const seg = Uint8Array.from(h.data);
    t.is(toHex(seg), toHex(packet.subarray(20)));
    t.is(tcpChecksum(seg), referenceTcpChecksum(src, dst, seg));
  }
});

// ---------------------------------------------------------------------------
// Setters
// ---------------------------------------------------------------------------

test('the setters rewrite one field each; setTcpChecksum then makes it verify', (t) => {
  const seg = Uint8Array.from(LINUX_DATA_TCP);
  setTcpSeq(seg, 0xfffffffe);
  setTcpAck(seg, 7);
  setTcpFlags(seg, TCP_ACK);
  setTcpWindow(seg, 0x1234);
  t.like(decodeTcpSegment(seg), { seq: 0xfffffffe, ack: 7, flags: TCP_ACK, window: 0x1234, sourcePort: 0xb00a, headerLength: 32 });
  t.is(toHex(seg.subarray(4, 16)), 'fffffffe' + '00000007' + '8010' + '1234');
  t.false(tcpChecksumOk(seg, SRC, DST));
  setTcpChecksum(seg, SRC, DST);
  t.true(tcpChecksumOk(seg, SRC, DST));
  t.is(tcpChecksum(seg), referenceTcpChecksum(SRC, DST, seg));
});

test('TS and SACK data of named options are big-endian 32-bit words', (t) => {
  t.is(toHex(rawTcpOption({ kind: 'ts', val: 1, ecr: 0xffffffff }).data), '00000001ffffffff');
  const sack = rawTcpOption({ kind: 'sack', blocks: [[0x01020304, 0x05060708]] });
  t.deepEqual([sack.kind, sack.length, toHex(sack.data)], [TCPOPT_SACK, 10, '0102030405060708']);
  t.is(rawTcpOption({ kind: 'ts', val: 0, ecr: 0 }).kind, TCPOPT_TIMESTAMP);
});
