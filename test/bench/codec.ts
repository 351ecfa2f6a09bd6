/**
 * Codec benchmark (not a test): `node --import tsx test/bench/codec.ts`.
 *
 * Compares the `ip-packet` npm codec with ours on one pre-generated set of
 * realistic packets (IPv4 + TCP with timestamps: pure ACKs, full-sized data,
 * some SACKs and SYNs; plus ICMP echoes), to justify reading headers in place
 * on the hot path. Variants run interleaved, each timed ROUNDS times after a
 * warm-up; we report the median and the min–max in ns per packet.
 *
 * Deterministic input (SeededRandom); bounded run time (a few seconds).
 */
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { SeededRandom } from '../../stack/random.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { checksum, verifies } from '../../stack/wire/checksum.ts';
import {
  PROTO_ICMP,
  PROTO_TCP,
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
import {
  TCP_ACK,
  TCP_PSH,
  TCP_SYN,
  newTcpOptions,
  parseTcpOptions,
  setTcpChecksum,
  tcpOptionsLength,
  writeTcpHeader,
  writeTcpOptionsLinux,
  type TcpOptionsToWrite,
} from '../../stack/wire/tcp.ts';

interface IpPacketHeader {
  length: number;
  protocol: number;
  ttl: number;
  sourceIp: string;
  destinationIp: string;
  data: Uint8Array;
}
interface IpPacketState {
  buffer: Uint8Array;
  start: number;
  end: number;
}
interface IpPacketEncodeInput {
  version: number;
  ihl?: number;
  dscp?: number;
  ecn?: number;
  identification?: number;
  flags?: number;
  fragmentOffset?: number;
  ttl?: number;
  protocol?: number;
  sourceIp: string;
  destinationIp: string;
  data: Buffer;
}
interface IpPacket {
  decode(state: IpPacketState): IpPacketHeader;
  encode(state: IpPacketState, packet: IpPacketEncodeInput): void;
  checksum(header: Uint8Array): number;
}
const ipPacket = createRequire(import.meta.url)('ip-packet') as IpPacket;

const N = 100_000;
const PASSES = 3; // passes over the set per sample
const WARMUP = 3;
const ROUNDS = 5;

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

const rng = new SeededRandom(20240501);
const packets: Uint8Array[] = [];
const tcpSegments: Uint8Array[] = [];
const ourFields: Ipv4HeaderFields[] = [];
const theirFields: IpPacketEncodeInput[] = [];
const EMPTY = Buffer.alloc(0);

const hosts = [0xc0a80001, 0xc0a80002, 0x0a000001, 0x5db8d822, 0x8efa4a2e, 0xac10fe01];
const mix = { ack: 0, data: 0, sack: 0, syn: 0, icmp: 0 };
let totalBytes = 0;

for (let n = 0; n < N; n++) {
  const src = hosts[rng.below(hosts.length)]!;
  const dst = hosts[rng.below(hosts.length)]!;
  const r = rng.below(100);
  let packet: Uint8Array;
  if (r < 10) {
    // ICMP echo request, 56 bytes of data like ping(8).
    mix.icmp++;
    packet = new Uint8Array(20 + 8 + 56);
    writeIpv4Header(packet, 0, { totalLength: packet.length, id: rng.below(65536), dontFragment: true, ttl: 64, protocol: PROTO_ICMP, source: src, destination: dst });
    packet.set([8, 0, 0, 0, rng.below(256), rng.below(256), 0, n & 255], 20);
    for (let i = 28; i < packet.length; i++) packet[i] = i;
    const sum = checksum(packet, 20, packet.length);
    packet[22] = sum >>> 8;
    packet[23] = sum & 255;
  } else {
    let flags = TCP_ACK;
    let payload = 0;
    const opts: TcpOptionsToWrite = { ts: { val: rng.u32(), ecr: rng.u32() } };
    if (r < 11) {
      mix.syn++;
      flags = TCP_SYN;
      Object.assign(opts, { mss: 1460, sackPermitted: true, wscale: 7 });
    } else if (r < 16) {
      mix.sack++;
      opts.sackBlocks = [rng.u32(), rng.u32(), rng.u32(), rng.u32()];
    } else if (r < 58) {
      mix.ack++;
    } else {
      mix.data++;
      flags = TCP_PSH | TCP_ACK;
      payload = rng.below(4) === 0 ? 1 + rng.below(1448) : 1448;
    }
    const hl = 20 + tcpOptionsLength(opts);
    packet = new Uint8Array(20 + hl + payload);
    writeIpv4Header(packet, 0, { totalLength: packet.length, id: rng.below(65536), dontFragment: true, ttl: 64, protocol: PROTO_TCP, source: src, destination: dst });
    writeTcpHeader(packet, 20, { sourcePort: 1024 + rng.below(60000), destinationPort: 443, seq: rng.u32(), ack: rng.u32(), flags, window: rng.below(65536), headerLength: hl });
    writeTcpOptionsLinux(packet, 40, opts);
    for (let i = 20 + hl; i < packet.length; i++) packet[i] = i & 255;
    const seg = packet.subarray(20);
    setTcpChecksum(seg, src, dst);
    tcpSegments.push(seg);
  }
  packets.push(packet);
  totalBytes += packet.length;

  // Field sets for the encoders, prepared in each codec's own input format
  // (ip-packet takes dotted strings) so only the encoding is timed.
  const tos = rng.below(4) === 0 ? 0x10 : 0;
  const id = rng.below(65536);
  const ttl = 64;
  const protocol = ipProtocol(packet);
  ourFields.push({ tos, totalLength: 20, id, dontFragment: true, ttl, protocol, source: src, destination: dst });
  theirFields.push({
    version: 4,
    dscp: tos >> 2,
    ecn: tos & 3,
    identification: id,
    flags: 2,
    ttl,
    protocol,
    sourceIp: formatIpv4(src),
    destinationIp: formatIpv4(dst),
    data: EMPTY, // header only: ip-packet would otherwise copy the payload
  });
}

// Sanity: both encoders produce the same header bytes for the same fields.
{
  const a = new Uint8Array(20);
  const b = new Uint8Array(20);
  for (let i = 0; i < 1000; i++) {
    writeIpv4Header(a, 0, ourFields[i]!);
    ipPacket.encode({ buffer: b, start: 0, end: 20 }, theirFields[i]!);
    ipPacket.checksum(b);
    if (Buffer.compare(a, b) !== 0) throw new Error(`encoders disagree on packet ${i}`);
  }
}

// ---------------------------------------------------------------------------
// Variants: one loop each, so every call site inside stays monomorphic
// ---------------------------------------------------------------------------

let sink = 0;

function ipPacketDecode(from: number, to: number): void {
  let acc = 0;
  for (let i = from; i < to; i++) {
    const p = packets[i]!;
    const h = ipPacket.decode({ buffer: p, start: 0, end: p.length });
    acc += h.length + h.protocol + h.sourceIp.length + h.destinationIp.length;
  }
  sink += acc;
}

function ourDecodeObject(from: number, to: number): void {
  let acc = 0;
  for (let i = from; i < to; i++) {
    const h = decodeIpv4Header(packets[i]!);
    acc += h.totalLength + h.protocol + (h.source & 0xff) + (h.destination & 0xff);
  }
  sink += acc;
}

function ourHotPath(from: number, to: number): void {
  let acc = 0;
  for (let i = from; i < to; i++) {
    const p = packets[i]!;
    if (ipVersion(p) !== 4) continue;
    const ihl = ipHeaderLength(p);
    if (!verifies(p, 0, ihl)) continue;
    acc += ipTotalLength(p) + ipProtocol(p) + (ipSource(p) & 0xff) + (ipDestination(p) & 0xff);
  }
  sink += acc;
}

const encodeBuffer = new Uint8Array(20);

function ipPacketEncode(from: number, to: number): void {
  const state = { buffer: encodeBuffer, start: 0, end: 20 };
  let acc = 0;
  for (let i = from; i < to; i++) {
    state.start = 0;
    ipPacket.encode(state, theirFields[i]!);
    acc += ipPacket.checksum(encodeBuffer);
  }
  sink += acc;
}

function ourEncode(from: number, to: number): void {
  let acc = 0;
  for (let i = from; i < to; i++) {
    writeIpv4Header(encodeBuffer, 0, ourFields[i]!);
    acc += encodeBuffer[10]!;
  }
  sink += acc;
}

const reused = newTcpOptions();
const TCP_N = tcpSegments.length;

function ourParseOptions(from: number, to: number): void {
  let acc = 0;
  for (let i = from; i < to; i++) {
    if (parseTcpOptions(tcpSegments[i]!, reused)) acc += reused.tsVal + reused.sackCount;
  }
  sink += acc;
}

interface Variant {
  label: string;
  run: (from: number, to: number) => void;
  count: number;
  cold: number[];
  warm: number[];
}
const variant = (label: string, run: (from: number, to: number) => void, count = N): Variant => ({
  label,
  run,
  count,
  cold: [],
  warm: [],
});

const variants: Variant[] = [
  variant('(a) ip-packet decode (fields + address strings)', ipPacketDecode),
  variant('(b) decodeIpv4Header (object)', ourDecodeObject),
  variant('(c) accessors + header checksum verify', ourHotPath),
  variant('(d) ip-packet encode + checksum', ipPacketEncode),
  variant('(d) writeIpv4Header', ourEncode),
  variant('(e) parseTcpOptions, reused object (TCP only)', ourParseOptions, TCP_N),
];

/**
 * Streaming over the whole set: 100k packets in separate buffers (~70 MB), so
 * nearly every header read is a cache and TLB miss. This bounds what memory
 * costs more than what the codec costs.
 */
function timeCold(v: Variant): number {
  const t0 = process.hrtime.bigint();
  for (let p = 0; p < PASSES; p++) v.run(0, v.count);
  return Number(process.hrtime.bigint() - t0) / (PASSES * v.count);
}

/**
 * The same packets in slices of CHUNK, each touched once untimed and then
 * timed PASSES times: the headers are in cache, as they are when a packet
 * has just been read from the TUN device. This is the codec's own cost.
 */
const CHUNK = 256;
function timeWarm(v: Variant): number {
  let ns = 0n;
  for (let from = 0; from < v.count; from += CHUNK) {
    const to = Math.min(from + CHUNK, v.count);
    v.run(from, to);
    const t0 = process.hrtime.bigint();
    for (let p = 0; p < PASSES; p++) v.run(from, to);
    ns += process.hrtime.bigint() - t0;
  }
  return Number(ns) / (PASSES * v.count);
}

const started = Date.now();
for (let w = 0; w < WARMUP; w++) {
  for (const v of variants) {
    timeCold(v);
    timeWarm(v);
  }
}
for (let r = 0; r < ROUNDS; r++) {
  // Rotate the order each round so no variant always runs right after the same other one.
  for (let k = 0; k < variants.length; k++) {
    const v = variants[(k + r) % variants.length]!;
    v.warm.push(timeWarm(v));
    v.cold.push(timeCold(v));
  }
}
const elapsed = (Date.now() - started) / 1000;

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};
const fmt = (x: number): string => (x < 10 ? x.toFixed(1) : x.toFixed(0));
const range = (xs: number[]): string => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;

/** Ratios ip-packet / ours: (a) over (b) and (c), (d) over (d). */
const ratioOf = (which: (v: Variant) => number[]): string[] => {
  const med = variants.map((v) => median(which(v)));
  const r = variants.map(() => '');
  r[1] = `${(med[0]! / med[1]!).toFixed(1)}× a/b`;
  r[2] = `${(med[0]! / med[2]!).toFixed(1)}× a/c`;
  r[4] = `${(med[3]! / med[4]!).toFixed(1)}×`;
  return r;
};
const warmRatio = ratioOf((v) => v.warm);
const coldRatio = ratioOf((v) => v.cold);

const header = ['ns per packet', 'in cache: median', 'min–max', 'ip-packet/ours', 'streaming: median', 'min–max', 'ip-packet/ours'];
const rows = variants.map((v, i) => [
  v.label,
  fmt(median(v.warm)),
  range(v.warm),
  warmRatio[i]!,
  fmt(median(v.cold)),
  range(v.cold),
  coldRatio[i]!,
]);
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
const line = (cells: string[]): string =>
  cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');

console.log(`Node ${process.version} (V8 ${process.versions.v8}) on ${cpus()[0]?.model ?? 'unknown CPU'}`);
console.log(
  `${N} packets: ${mix.ack} TCP ACK, ${mix.data} TCP data, ${mix.sack} TCP ACK+SACK, ${mix.syn} TCP SYN` +
    ` (all with timestamps), ${mix.icmp} ICMP echo`,
);
console.log(`${WARMUP} warm-up + ${ROUNDS} interleaved rounds; each sample ${PASSES} passes over the set`);
console.log('');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
console.log('');
console.log(`in cache:  slices of ${CHUNK} packets, touched once untimed, then timed (the packet-just-read case)`);
console.log(`streaming: straight through all ${N} packets (~${Math.round(totalBytes / 1e6)} MB): mostly cache/TLB misses`);
console.log(`(d): both write a 20-byte header from fields prepared in their own input format (ip-packet: dotted strings)`);
console.log(`total ${elapsed.toFixed(1)} s (sink ${sink % 1000})`);
