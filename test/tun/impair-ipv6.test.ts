/**
 * The impairment layer on IPv6 packets, in virtual time: what a rule reads of
 * an IPv6 packet (after its extension headers), the match fields for the IP
 * version and for addresses and prefixes of either family, every random fault
 * giving IPv6 packets the fates it gives IPv4 ones for the same seed,
 * corruption that the stack's IPv6 checksum counters always catch, rewrites
 * and injections over IPv6, and the README's examples over an IPv6
 * connection between two stacks.
 */
import test from 'ava';
import { SeededRandom } from '../../stack/random.ts';
import { ipv6WordSum, parseIpv6 } from '../../stack/wire/addr6.ts';
import { NEXTHDR_DEST, NEXTHDR_HOP } from '../../stack/wire/ipv6.ts';
import { encodeTcpSegment, TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN, tcpChecksumOkSum } from '../../stack/wire/tcp.ts';
import { flipOneBit, viewPacket } from '../../tun/impair/packet.ts';
import { parseRules, RuleError, loadRules } from '../../tun/impair/rules.ts';
import type { ImpairConfig } from '../../tun/impair/impairment.ts';
import { udpDatagram } from '../helpers/packets.ts';
import { echoRequest6, fragments6, ipv6Packet, STACK6, udpDatagram6, withChecksum6, type ExtensionHeader, type Ip6Options } from '../helpers/packets6.ts';
import { testStack } from '../helpers/stack.ts';
import { World } from '../helpers/world.ts';
import { runStream, segment, segment6, seqOf, stream, type Timed } from './impair-stream.ts';
import { payload, transfer } from './transfer.ts';

const rules = (...r: object[]) => parseRules({ rules: r });
const seqs = (out: Timed[]): number[] => out.map((e) => seqOf(e.packet));

/** PadN filling a 6-byte option area (RFC 8200 §4.2): an 8-byte hop-by-hop or destination options header. */
const PADN: ExtensionHeader['body'] = Uint8Array.of(1, 4, 0, 0, 0, 0);

/** A TCP segment over IPv6 behind `headers`, checksum right, from the kernel (2001:2::1) to the stack unless `o` says otherwise. */
function tcp6(o: { seq?: number; flags?: number; ports?: [number, number]; data?: number; ip?: Ip6Options; headers?: ExtensionHeader[] } = {}): Uint8Array {
  const [sport, dport] = o.ports ?? [40000, 7];
  const seg = new Uint8Array(20 + (o.data ?? 0));
  encodeTcpSegment(seg, 0, { sourcePort: sport, destinationPort: dport, seq: o.seq ?? 1000, ack: 1, flags: o.flags ?? TCP_ACK | TCP_PSH, window: 512, payload: new Uint8Array(o.data ?? 0).fill(7) }, 0, 0);
  return ipv6Packet(6, withChecksum6(6, seg, 16, o.ip), o.ip, o.headers);
}

/** True when the TCP segment at `hl` of an IPv6 packet verifies over the pseudo header of RFC 8200 §8.1. */
const tcp6ChecksumOk = (p: Uint8Array): boolean => tcpChecksumOkSum(p.subarray(viewPacket(p).hl), ipv6WordSum(p, 8) + ipv6WordSum(p, 24));

// ---------------------------------------------------------------------------
// What a rule reads of an IPv6 packet
// ---------------------------------------------------------------------------

test('viewPacket: an IPv6 TCP segment behind hop-by-hop and destination options headers is read after them', (t) => {
  const p = tcp6({ seq: 4242, flags: TCP_SYN, ports: [5555, 80], data: 10, headers: [{ type: NEXTHDR_HOP, body: PADN }, { type: NEXTHDR_DEST, body: PADN }] });
  const v = viewPacket(p);
  t.like(v, { version: 6, protocol: 6, hl: 56, end: p.length, hasTransport: true, fragment: false, srcPort: 5555, dstPort: 80, flags: TCP_SYN, seq: 4242, payloadLength: 10 });
  t.like(viewPacket(tcp6()), { version: 6, protocol: 6, hl: 40 });
  t.like(viewPacket(udpDatagram(1, 2, new Uint8Array(3))), { version: 4, protocol: 17, hl: 20, srcPort: 1, payloadLength: 3 });
});

test('viewPacket: IPv6 fragments carry the protocol of the fragmented part; only the first has ports; an atomic fragment is whole', (t) => {
  const datagram = udpDatagram6(1111, 2222, new Uint8Array(200).fill(1));
  const [first, later] = fragments6(datagram, [104], 9);
  t.like(viewPacket(first!), { version: 6, protocol: 17, hl: 48, fragment: true, hasTransport: true, srcPort: 1111, dstPort: 2222 });
  t.like(viewPacket(later!), { version: 6, protocol: 17, hl: 48, fragment: true, hasTransport: false, srcPort: -1, payloadLength: later!.length - 48 });
  const [atomic] = fragments6(datagram, [datagram.length], 10);
  t.like(viewPacket(atomic!), { protocol: 17, fragment: false, hasTransport: true, srcPort: 1111 });
});

test('viewPacket: an IPv6 chain ending in No Next Header or cut short names no protocol', (t) => {
  t.like(viewPacket(ipv6Packet(59, new Uint8Array(8))), { version: 6, protocol: -1, hasTransport: false });
  const cut = tcp6({ headers: [{ type: NEXTHDR_DEST, body: PADN }] }).subarray(0, 41);
  t.like(viewPacket(cut), { version: 6, protocol: -1 });
  t.like(viewPacket(new Uint8Array(39).fill(0x60)), { version: 0, protocol: -1 });
});

// ---------------------------------------------------------------------------
// Validation of the new match fields
// ---------------------------------------------------------------------------

const invalid: Array<[string, object, RegExp]> = [
  ['version 5', { version: 5 }, /^rule 1, match\.version: expected 4 or 6 \(tcpdump's ip or ip6\), got 5$/],
  ['version as text', { version: 'ip6' }, /^rule 1, match\.version: expected 4 or 6/],
  ['not an address', { src: '2001:2::g' }, /^rule 1, match\.src: "2001:2::g": expected an IPv4 or IPv6 address, maybe with a prefix length \(198\.18\.0\.0\/15, 2001:2::\/64\)$/],
  ['an address as a number', { dst: 3323068417 }, /^rule 1, match\.dst: expected an address like "198\.18\.0\.1" or "2001:2::\/64", got 3323068417$/],
  ['IPv6 prefix too long', { dst: '2001:2::/129' }, /^rule 1, match\.dst: "2001:2::\/129": the prefix length is 0 to 128$/],
  ['IPv4 prefix too long', { host: '198.18.0.0/33' }, /^rule 1, match\.host: "198\.18\.0\.0\/33": the prefix length is 0 to 32$/],
  ['a prefix length with a leading zero', { src: '2001:2::/064' }, /the prefix length is 0 to 128$/],
  ['host bits beyond an IPv6 prefix', { dst: '2001:2::1/64' }, /^rule 1, match\.dst: "2001:2::1\/64": bits are set beyond the \/64 prefix \(the network is 2001:2::\/64; without \/64, one address\)$/],
  ['host bits beyond an IPv4 prefix', { src: '198.18.0.2/24' }, /the network is 198\.18\.0\.0\/24;/],
  ['addresses of both families', { src: '198.18.0.1', dst: '2001:2::2' }, /^rule 1, match\.dst: an IPv6 address, but match\.src is IPv4: a packet has one IP version$/],
  ['version 4 with an IPv6 address', { version: 4, host: '2001:2::/64' }, /^rule 1, match\.host: an IPv6 address, but match\.version is IPv4/],
  ['icmp over IPv6', { version: 6, protocol: 'icmp' }, /^rule 1, match\.protocol: "icmp" is ICMP over IPv4, but match\.version is IPv6: use "icmp6"$/],
  ['icmp6 over IPv4', { src: '198.18.0.1', protocol: 'ICMP6' }, /^rule 1, match\.protocol: "icmp6" is ICMP over IPv6, but match\.src is IPv4: use "icmp"$/],
  ['ports on icmp6', { protocol: 'icmp6', port: 7 }, /^rule 1, match\.port: ports only match TCP or UDP$/],
  ['an unknown protocol names icmp6', { protocol: 'ipv6-icmp' }, /\(use tcp, udp, icmp, icmp6 or a number 0-255\)$/],
];

for (const [what, match, message] of invalid) {
  test(`rule file validation, IPv6: ${what}`, (t) => {
    const error = t.throws(() => parseRules({ rules: [{ match, action: 'drop' }] }), { instanceOf: RuleError });
    t.regex(error!.message, message);
  });
}

test('the new match fields parse: prefixes keep their length, a plain address is all of its bits', (t) => {
  const [r] = rules({ match: { version: 6, src: '2001:2::1', dst: '2001:2::/64', protocol: 'icmp6' }, action: 'drop' });
  t.like(r!.match, { version: 6, protocol: 58, src: { version: 6, bits: 128 }, dst: { version: 6, bits: 64 } });
  t.deepEqual(r!.match.src!.bytes, parseIpv6('2001:2::1'));
  const [v4] = rules({ match: { host: '198.18.0.0/15' }, action: 'drop' });
  t.deepEqual(v4!.match.host, { version: 4, bytes: Uint8Array.of(198, 18, 0, 0), bits: 15 });
});

// ---------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------

/** One of each: IPv4, IPv6 TCP in both directions, from other hosts and prefixes, UDP, ICMPv6, extension headers, fragments. */
function mixed(): Array<{ name: string; packet: Uint8Array }> {
  const [first, later] = fragments6(udpDatagram6(53, 5353, new Uint8Array(200), { source: '2001:2::99' }), [104], 1);
  return [
    { name: 'v4 tcp', packet: segment(1) },
    { name: 'v6 tcp in', packet: tcp6() },
    { name: 'v6 tcp out', packet: tcp6({ ports: [7, 40000], ip: { source: '2001:2::2', destination: '2001:2::1' } }) },
    { name: 'v6 tcp from 2001:3::5', packet: tcp6({ ip: { source: '2001:3::5' } }) },
    { name: 'v6 tcp from 2001:4::1', packet: tcp6({ ip: { source: '2001:4::1' } }) },
    { name: 'v6 tcp behind options', packet: tcp6({ ports: [40001, 80], data: 3, headers: [{ type: NEXTHDR_HOP, body: PADN }, { type: NEXTHDR_DEST, body: PADN }] }) },
    { name: 'v6 udp', packet: udpDatagram6(1000, 2000, new Uint8Array(10)) },
    { name: 'v6 echo', packet: echoRequest6(1, 1, 8) },
    { name: 'v6 udp first fragment', packet: first! },
    { name: 'v6 udp later fragment', packet: later! },
  ];
}

/** The names of the packets a drop rule with `match` takes out of `mixed()`. */
function dropped(match: object): string[] {
  const input = mixed();
  const { out } = runStream(
    { seed: 1, rules: rules({ match, action: 'drop' }) },
    input.map((e, i) => ({ t: i, dir: 'in' as const, packet: e.packet })),
  );
  const kept = new Set(out.map((e) => e.packet));
  return input.filter((e) => !kept.has(e.packet)).map((e) => e.name);
}

const ALL6 = ['v6 tcp in', 'v6 tcp out', 'v6 tcp from 2001:3::5', 'v6 tcp from 2001:4::1', 'v6 tcp behind options', 'v6 udp', 'v6 echo', 'v6 udp first fragment', 'v6 udp later fragment'];

test('match.version: 6 takes every IPv6 packet and no IPv4 one, 4 the reverse (tcpdump\'s ip6 and ip)', (t) => {
  t.deepEqual(dropped({ version: 6 }), ALL6);
  t.deepEqual(dropped({ version: 4 }), ['v4 tcp']);
});

test('match.src, dst, host: IPv6 addresses and prefixes, on byte and bit boundaries; an IPv4 prefix never takes IPv6', (t) => {
  t.deepEqual(dropped({ src: '2001:2::1' }), ['v6 tcp in', 'v6 tcp behind options', 'v6 udp', 'v6 echo']);
  t.deepEqual(dropped({ dst: '2001:2::1' }), ['v6 tcp out']);
  t.deepEqual(dropped({ host: '2001:2::1' }), ['v6 tcp in', 'v6 tcp out', 'v6 tcp behind options', 'v6 udp', 'v6 echo'], 'either end');
  t.deepEqual(dropped({ src: '2001:2::/64' }), ['v6 tcp in', 'v6 tcp out', 'v6 tcp behind options', 'v6 udp', 'v6 echo', 'v6 udp first fragment', 'v6 udp later fragment']);
  t.deepEqual(dropped({ src: '2001:2::/31' }), ['v6 tcp in', 'v6 tcp out', 'v6 tcp from 2001:3::5', 'v6 tcp behind options', 'v6 udp', 'v6 echo', 'v6 udp first fragment', 'v6 udp later fragment'], '2001:2:: and 2001:3:: share 31 bits; 2001:4:: does not');
  t.deepEqual(dropped({ src: '2001:2::/32' }), dropped({ src: '2001:2::/64' }));
  t.deepEqual(dropped({ src: '::/0' }), ALL6, '::/0 is every IPv6 packet');
  t.deepEqual(dropped({ src: '0.0.0.0/0' }), ['v4 tcp'], '0.0.0.0/0 every IPv4 one');
  t.deepEqual(dropped({ src: '198.18.0.1' }), [], 'segment(1) goes out, from 198.18.0.2');
  t.deepEqual(dropped({ src: '198.18.0.2', dst: '198.18.0.0/24' }), ['v4 tcp']);
  t.deepEqual(dropped({ src: '2001:2::1', dst: '2001:2::2', version: 6 }), ['v6 tcp in', 'v6 tcp behind options', 'v6 udp', 'v6 echo']);
});

test('match.protocol over IPv6 is the upper layer after the extension headers; a later fragment has that of the fragmented part', (t) => {
  t.deepEqual(dropped({ version: 6, protocol: 'tcp' }), ['v6 tcp in', 'v6 tcp out', 'v6 tcp from 2001:3::5', 'v6 tcp from 2001:4::1', 'v6 tcp behind options']);
  t.deepEqual(dropped({ protocol: 'udp' }), ['v6 udp', 'v6 udp first fragment', 'v6 udp later fragment']);
  t.deepEqual(dropped({ protocol: 'icmp6' }), ['v6 echo']);
  t.deepEqual(dropped({ protocol: 58 }), ['v6 echo']);
  t.deepEqual(dropped({ protocol: NEXTHDR_HOP }), [], 'an extension header is not the protocol');
  t.deepEqual(dropped({ protocol: 44 }), [], 'nor is the fragment header');
  t.deepEqual(dropped({ protocol: 'icmp' }), []);
});

test('ports, flags and length over IPv6, behind extension headers; ports only in a first fragment', (t) => {
  t.deepEqual(dropped({ dstPort: 80 }), ['v6 tcp behind options']);
  t.deepEqual(dropped({ port: 5353 }), ['v6 udp first fragment']);
  t.deepEqual(dropped({ version: 6, protocol: 'tcp', length: 3 }), ['v6 tcp behind options']);
  t.deepEqual(dropped({ version: 6, flags: 'PA', srcPort: [40000, 40001] }), ['v6 tcp in', 'v6 tcp from 2001:3::5', 'v6 tcp from 2001:4::1', 'v6 tcp behind options']);
});

// ---------------------------------------------------------------------------
// Random faults: IPv6 packets meet the fates IPv4 ones do
// ---------------------------------------------------------------------------

const N = 10_000;
const STREAM4 = stream(N);
const STREAM6 = stream(N, 'out', 1, 1040, segment6);

/** Runs both streams (same sizes, same times) and checks the fates match: which seqs left, when, in which order. */
function sameFates(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, config: ImpairConfig): { out4: Timed[]; out6: Timed[]; rows6: Array<[string, number]> } {
  const r4 = runStream(config, STREAM4);
  const r6 = runStream(config, STREAM6);
  t.deepEqual(
    r6.out.map((e) => [e.t, seqOf(e.packet)]),
    r4.out.map((e) => [e.t, seqOf(e.packet)]),
    'the same packets, at the same times',
  );
  t.deepEqual(r6.imp.counters.rows(true), r4.imp.counters.rows(true));
  return { out4: r4.out, out6: r6.out, rows6: r6.imp.counters.rows(true) };
}

const row = (rows: Array<[string, number]>, name: string): number | undefined => rows.find(([n]) => n === name)?.[1];

test('loss, duplication, reordering and delay: seed 42 gives 10,000 IPv6 segments exactly the fates of IPv4 ones', (t) => {
  t.is(row(sameFates(t, { seed: 42, both: { loss: 0.05 } }).rows6, 'ImpairLossDrops'), 506);
  t.is(row(sameFates(t, { seed: 42, both: { dup: 0.01 } }).rows6, 'ImpairDuplicated'), 94);
  t.is(row(sameFates(t, { seed: 42, both: { reorder: { probability: 0.02 } } }).rows6, 'ImpairReordered'), 187);
  const { out6 } = sameFates(t, { seed: 42, both: { delay: { ms: 50, jitterMs: 10 } } });
  t.true(out6.every((e) => e.t - seqOf(e.packet) >= 40 && e.t - seqOf(e.packet) <= 60), 'delayed 40-60 ms');
  t.deepEqual(seqs(out6), STREAM6.map((e) => seqOf(e.packet)), 'in order');
  const all = sameFates(t, { seed: 9, both: { loss: 0.02, dup: 0.01, reorder: { probability: 0.01 }, delay: { ms: 5, jitterMs: 3, ordered: false }, rate: { bitsPerSecond: 8e6, queuePackets: 20 } } });
  t.true(row(all.rows6, 'ImpairRateDrops')! > 0);
});

test('rate limit, MTU clamp and blackouts treat IPv6 packets by their length and time alone', (t) => {
  const { rows6 } = sameFates(t, { seed: 1, out: { rate: { bitsPerSecond: 8e6, queuePackets: 5 }, mtu: 1000, blackouts: [{ from: 100, until: 200 }] } });
  t.is(row(rows6, 'ImpairMtuDrops'), N - 100, 'every 1040-byte packet outside the blackout');
  t.is(row(rows6, 'ImpairBlackoutDrops'), 100);
  const small = stream(50, 'out', 0, 1000, segment6);
  const { out, imp } = runStream({ seed: 1, out: { rate: { bitsPerSecond: 8e6, queuePackets: 5 }, mtu: 1000 } }, small);
  t.deepEqual(out.map((e) => e.t), [1, 2, 3, 4, 5], '1000 bytes at 8 Mbit/s: one a millisecond, five queued');
  t.is(imp.counters.total('ImpairRateDrops'), 45);
});

test('corruption: seed 42 corrupts the same 46 of 10,000 IPv6 segments, each in one bit of the TCP part, which its checksum catches', (t) => {
  const r4 = runStream({ seed: 42, both: { corrupt: 0.005 } }, STREAM4);
  const r6 = runStream({ seed: 42, both: { corrupt: 0.005 } }, STREAM6);
  t.is(r6.imp.counters.total('ImpairCorrupted'), 46);
  const changed = (out: Timed[], input: Timed[]): number[] => out.flatMap((e, i) => (e.packet === input[i]!.packet ? [] : [i]));
  t.deepEqual(changed(r6.out, STREAM6), changed(r4.out, STREAM4), 'the same packets');
  for (const i of changed(r6.out, STREAM6)) {
    const p = r6.out[i]!.packet;
    const original = STREAM6[i]!.packet;
    t.deepEqual(p.subarray(0, 40), original.subarray(0, 40), 'never in the IPv6 header');
    t.false(tcp6ChecksumOk(p));
    t.true(tcp6ChecksumOk(original), 'the original is untouched');
  }
});

test('flipOneBit on IPv6: never in the header, an extension header, the data offset or the UDP length; left alone when no checksum covers the upper layer', (t) => {
  const rng = new SeededRandom(5);
  const withOptions = tcp6({ data: 30, headers: [{ type: NEXTHDR_HOP, body: PADN }, { type: NEXTHDR_DEST, body: PADN }] });
  const [, later] = fragments6(udpDatagram6(1, 2, new Uint8Array(200)), [104], 3);
  // [packet, where the upper layer starts, the byte whose high nibble is the data offset, bytes never hit]
  const cases: Array<[string, Uint8Array, number, number | undefined, number[]]> = [
    ['TCP behind options', withOptions, 56, 56 + 12, []],
    ['UDP', udpDatagram6(1, 2, new Uint8Array(30)), 40, undefined, [44, 45]],
    ['a later fragment', later!, 48, undefined, []],
  ];
  for (const [what, p, from, doff, never] of cases) {
    const hit = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      const q = flipOneBit(p, rng)!;
      const at = q.findIndex((b, k) => b !== p[k]);
      t.true(at >= from && !never.includes(at), `${what}: byte ${at}`);
      if (at === doff) t.is((q[at]! ^ p[at]!) & 0xf0, 0, `${what}: the data offset nibble is kept`);
      hit.add(at);
    }
    t.is(hit.size, p.length - from - never.length, `${what}: every other byte is hit`);
  }
  t.is(flipOneBit(ipv6Packet(59, new Uint8Array(16)), rng), undefined, 'No Next Header: nothing is checksummed');
  t.is(flipOneBit(ipv6Packet(253, new Uint8Array(16)), rng), undefined, 'an unknown upper layer: nothing would catch it');
  t.is(flipOneBit(ipv6Packet(6, new Uint8Array(0)), rng), undefined, 'nothing after the header');
});

test('corruption of IPv6 reaching our stack is counted by TcpInCsumErrors, Udp6InCsumErrors and Icmp6InCsumErrors, never as a header error', (t) => {
  const rng = new SeededRandom(3);
  const s = testStack({ address6: STACK6 });
  const kinds = [
    { make: (i: number) => tcp6({ seq: i, data: i % 100 }), counter: 'TcpInCsumErrors' as const },
    { make: (i: number) => tcp6({ seq: i, data: 20, headers: [{ type: NEXTHDR_DEST, body: PADN }] }), counter: 'TcpInCsumErrors' as const },
    { make: (i: number) => udpDatagram6(5000, 6000 + (i % 100), new Uint8Array(100 + (i % 50)).fill(i)), counter: 'Udp6InCsumErrors' as const },
    { make: (i: number) => echoRequest6(1, i, 56 + (i % 200)), counter: 'Icmp6InCsumErrors' as const },
  ];
  let tcp = 0;
  for (const { make, counter } of kinds) {
    for (let i = 0; i < 2000; i++) s.send(flipOneBit(make(i), rng)!);
    if (counter === 'TcpInCsumErrors') tcp += 2000;
    t.is(s.stack.counters[counter], counter === 'TcpInCsumErrors' ? tcp : 2000, counter);
  }
  const c = s.stack.counters;
  t.is(c.Ip6InHdrErrors, 0);
  t.is(c.Ip6InReceives, 8000);
  t.is(c.TcpInErrs, 4000, 'TcpInErrs counts exactly the checksum failures');
  t.is(c.Udp6InErrors, 2000);
  t.is(c.Icmp6InErrors, 2000);
  t.is(c.Icmp6OutMsgs, 0, 'nothing answered');
});

test('a corrupted IPv6 fragment, first or later, fails the reassembled datagram\'s checksum', (t) => {
  const rng = new SeededRandom(8);
  const s = testStack({ address6: STACK6 });
  for (let i = 0; i < 400; i++) {
    const frags = fragments6(udpDatagram6(5000, 6000, new Uint8Array(300).fill(i)), [152], 100 + i);
    const k = i % 2;
    frags[k] = flipOneBit(frags[k]!, rng)!;
    for (const f of frags) s.send(f);
  }
  t.is(s.stack.counters.Ip6ReasmOKs, 400);
  t.is(s.stack.counters.Udp6InCsumErrors, 400);
  t.is(s.stack.counters.Udp6NoPorts, 0);
});

// ---------------------------------------------------------------------------
// Rule actions on IPv6 packets
// ---------------------------------------------------------------------------

test('action rewrite over IPv6: the TCP header after the extension headers, its checksum redone over the IPv6 pseudo header', (t) => {
  const p = tcp6({ seq: 100, data: 20, headers: [{ type: NEXTHDR_HOP, body: PADN }, { type: NEXTHDR_DEST, body: PADN }] });
  const run = (rewrite: object): Uint8Array =>
    runStream({ seed: 1, rules: rules({ match: { version: 6, protocol: 'tcp' }, action: { rewrite } }) }, [{ t: 0, dir: 'in', packet: p }]).out[0]!.packet;
  const r = run({ window: 0, flags: 'R', seq: '+1000', ack: 7 });
  t.like(viewPacket(r), { version: 6, hl: 56, flags: TCP_RST, seq: 1100, ack: 7, window: 0, payloadLength: 20 });
  t.true(tcp6ChecksumOk(r));
  t.deepEqual(r.subarray(0, 56), p.subarray(0, 56), 'the IPv6 header and extension headers as they were');
  // The stack takes the rewritten segment as a good one (no checksum error), a bad one is counted.
  const s = testStack({ address6: STACK6 });
  s.send(r);
  t.is(s.stack.counters.TcpInCsumErrors, 0);
  t.is(s.stack.counters.TcpInSegs, 1);
});

test('action inject over IPv6: a RST back to the sender and a spoof to the receiver, IPv6 between the same addresses', (t) => {
  const matched = segment6(5000, 'out', 1060);
  const { out, imp } = runStream(
    {
      seed: 1,
      rules: rules(
        { match: { version: 6, flags: { contains: 'P' } }, action: { inject: { flags: 'R' } } },
        { match: { version: 6, protocol: 'tcp' }, action: { inject: { toward: 'receiver', flags: 'PA', seq: '+10', data: 'hi' } } },
      ),
    },
    [{ t: 0, dir: 'out', packet: matched }],
  );
  t.is(imp.counters.total('ImpairInjected'), 2);
  const back = out.find((e) => e.dir === 'in')!.packet;
  const spoof = out.filter((e) => e.dir === 'out')[1]!.packet;
  t.like(viewPacket(back), { version: 6, flags: TCP_RST, seq: 1, srcPort: 7, dstPort: 40000, window: 0 });
  t.deepEqual([...back.subarray(8, 24)], [...matched.subarray(24, 40)], 'from the matched packet\'s destination');
  t.deepEqual([...back.subarray(24, 40)], [...matched.subarray(8, 24)], 'to its source');
  t.true(tcp6ChecksumOk(back));
  t.like(viewPacket(spoof), { version: 6, flags: TCP_ACK | TCP_PSH, seq: 5000 + 1000 + 10, srcPort: 40000, dstPort: 7, payloadLength: 2 });
  t.deepEqual([...spoof.subarray(8, 40)], [...matched.subarray(8, 40)]);
  t.true(tcp6ChecksumOk(spoof));
  t.is(back[7], 64, 'hop limit 64');
});

test('actions drop, delay, duplicate and corrupt on IPv6 packets chosen by address', (t) => {
  const input = stream(10, 'out', 1, 100, segment6);
  const { out, imp } = runStream(
    {
      seed: 1,
      rules: rules(
        { match: { dst: '2001:2::1', nth: 2 }, action: 'drop' },
        { match: { src: '2001:2::2', nth: 3 }, action: { delay: '5ms' } },
        { match: { host: '2001:2::/64', nth: 5 }, action: { duplicate: 2 } },
        { match: { version: 6, nth: 6 }, action: 'corrupt' },
      ),
    },
    input,
  );
  t.deepEqual(seqs(out), [0, 2, 4, 5, 5, 5, 6, 7, 3, 8, 9], 'seq 1 dropped, 3 five ms late, 5 three times');
  t.is(imp.counters.total('ImpairCorrupted'), 1);
  t.deepEqual(out.map((e) => tcp6ChecksumOk(e.packet)), out.map((e) => seqOf(e.packet) !== 6));
});

// ---------------------------------------------------------------------------
// Between two stacks over IPv6
// ---------------------------------------------------------------------------

const ADDR6_A = '2001:2::1';
const ADDR6_B = '2001:2::2';
const world6 = (impair: { a?: ImpairConfig; b?: ImpairConfig }, seed = 1): World =>
  new World({ seed, impair, a: { address6: parseIpv6(ADDR6_A)! }, b: { address6: parseIpv6(ADDR6_B)! } });
const example = (name: string) => loadRules(new URL(`../../tun/impair/examples/${name}.json`, import.meta.url).pathname);

test('example "drop the first SYN-ACK" over IPv6: the client connects 1 s later; a rule for IPv4 alone leaves it be', (t) => {
  const connect = (w: World): number | undefined => {
    const server = w.b.tcp.socket(6);
    server.bind('::', 80);
    server.listen(4);
    const client = w.a.tcp.socket(6);
    client.connect(ADDR6_B, 80);
    w.run(30_000, () => client.state === 'ESTABLISHED');
    return client.state === 'ESTABLISHED' ? w.clock.now() : undefined;
  };
  const w = world6({ a: { seed: 1, rules: example('drop-first-synack') } });
  t.is(connect(w), 1000);
  t.is(w.impairA!.impairment.counters.in.ImpairRuleDrops, 1);
  t.is(w.a.counters.TcpExtTCPSynRetrans, 1);
  const v4only = world6({ a: { seed: 1, rules: rules({ match: { version: 4, flags: 'SA', nth: 1 }, action: 'drop' }) } });
  t.is(connect(v4only), 0);
  const byPrefix = world6({ a: { seed: 1, rules: rules({ match: { src: '2001:2::/64', flags: 'SA', nth: 1 }, action: 'drop' }) } });
  t.is(connect(byPrefix), 1000);
});

test('example "RST with an in-window sequence number" over IPv6: a challenge ACK, and the transfer completes', (t) => {
  const w = world6({ b: { seed: 1, rules: example('rst-in-window') } });
  const r = transfer(w, payload(5, 100_000), payload(6, 100_000), 7, 3_600_000, ADDR6_B);
  t.is(r.up.got, r.up.sent);
  t.is(r.down.got, r.down.sent);
  t.is(w.impairB!.impairment.counters.in.ImpairInjected, 1);
  t.is(w.b.counters.TcpExtTCPChallengeACK, 1);
  t.is(w.b.counters.TcpEstabResets, 0);
  t.is(w.b.counters.IpInReceives, 0, 'all of it over IPv6');
});

test('random faults over an IPv6 connection: data intact, corrupted segments counted by the receiver, the same seed the same run', (t) => {
  const run = (seed: number) => {
    const impair: ImpairConfig = { seed, both: { loss: 0.05, dup: 0.01, corrupt: 0.01, reorder: { probability: 0.02 }, delay: { ms: 5, jitterMs: 2 } } };
    const w = world6({ a: impair }, 3);
    const r = transfer(w, payload(7, 300_000), payload(8, 300_000), 7000, 3_600_000, ADDR6_B);
    w.run(w.clock.now() + 120_000); // what the impairment still holds arrives (or times out)
    return { r, rows: w.impairA!.impairment.counters.rows(true), a: { ...w.a.counters }, b: { ...w.b.counters } };
  };
  const one = run(77);
  t.is(one.r.up.got, one.r.up.sent);
  t.is(one.r.down.got, one.r.down.sent);
  const corruptedIn = one.rows.find(([n]) => n === 'ImpairCorrupted')![1];
  t.true(corruptedIn > 0);
  t.is(one.a.TcpInCsumErrors + one.b.TcpInCsumErrors, corruptedIn, 'every corrupted segment is a checksum error at its receiver');
  t.is(one.a.IpInReceives + one.b.IpInReceives, 0);
  t.deepEqual(run(77), one);
});
