/**
 * The runner's packet helpers: converting SACK blocks between script space
 * (relative to the ISN) and the stack's absolute sequence numbers, as
 * packetdrill's offset_sack_blocks does for every edge of every block;
 * building and decoding packets over IPv6 and comparing them as
 * packetdrill's verify_ipv6 does.
 */
import test from 'ava';
import type { PacketSpec } from '../../cli/pkt/ast.ts';
import { ScriptAddresses } from '../../cli/pkt/addresses.ts';
import { clonePacket, decodePacket, encodeOptions, encodePacket, offsetSackBlocks, optionToString, parseOptions, scriptPacket, verifyHeaders, type TcpView } from '../../cli/pkt/packets.ts';
import { ipv6WordSum } from '../../stack/wire/addr6.ts';
import { decodeIpv6Header } from '../../stack/wire/ipv6.ts';
import { tcpChecksumOkSum } from '../../stack/wire/tcp.ts';

function sackView(blocks: Array<[number, number]>): TcpView {
  const parsed = parseOptions(encodeOptions([{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks }]));
  if (typeof parsed === 'string') throw new Error(parsed);
  return { options: parsed } as TcpView;
}

function sackText(v: TcpView): string {
  return v.options.map(optionToString).join(',');
}

test('every edge of every SACK block is offset, the right edge of the last block too', (t) => {
  const one = sackView([[1001, 2001]]);
  offsetSackBlocks(one, 100_000);
  t.is(sackText(one), 'nop,nop,sack 101001:102001');

  const three = sackView([[1001, 2001], [3001, 4001], [5001, 6001]]);
  offsetSackBlocks(three, 100_000);
  t.is(sackText(three), 'nop,nop,sack 101001:102001 103001:104001 105001:106001');
});

test('the offset wraps modulo 2^32, and the inverse offset restores script space', (t) => {
  const v = sackView([[1, 1001]]);
  offsetSackBlocks(v, 0xffff_ff00);
  t.is(sackText(v), `nop,nop,sack ${0xffff_ff01}:${(0xffff_ff00 + 1001) >>> 0}`);
  offsetSackBlocks(v, -0xffff_ff00 >>> 0);
  t.is(sackText(v), 'nop,nop,sack 1:1001');
});

const SYN: PacketSpec = {
  direction: 'inbound',
  srcPort: 0,
  dstPort: 0,
  flags: 'S',
  seq: 7,
  len: 0,
  ack: 0,
  win: 32792,
  urg: 0,
  options: [{ kind: 'mss', value: 1000 }, { kind: 'sackOK' }, { kind: 'nop' }, { kind: 'nop' }],
  ipInfo: { tosCheck: 'tos', tos: 0xb8, ttl: 0, flowLabel: 0x12345 },
};

test('an inbound packet over IPv6: the fixed header, the TCP checksum over RFC 8200 §8.1\'s pseudo header', (t) => {
  const addresses = new ScriptAddresses();
  const remote = addresses.parse('fd3d:fa7b:d17d::1', 6)!;
  const local = addresses.parse('fd3d:a0b:17d6::1', 6)!;
  const v = scriptPacket(SYN, 6, remote, local);
  v.tcp!.sport = 40000;
  v.tcp!.dport = 8080;
  const p = encodePacket(v, addresses, 0, 64);
  t.is(p.length, 40 + 20 + 8);
  const h = decodeIpv6Header(p);
  t.like(h, { version: 6, trafficClass: 0xb8, flowLabel: 0x12345, payloadLength: 28, nextHeader: 6, hopLimit: 64 });
  t.is(addresses.intern(h.source), remote);
  t.is(addresses.intern(h.destination), local);
  t.true(tcpChecksumOkSum(p.subarray(40), ipv6WordSum(p, 8) + ipv6WordSum(p, 24)));
  // Decoded back: the same packet, addresses as the same numbers.
  const d = decodePacket(p, addresses);
  if (typeof d === 'string') throw new Error(d);
  t.like(d, { version: 6, ihl: 10, protocol: 6, totalLength: 68, tos: 0xb8, ttl: 64, flowLabel: 0x12345, src: remote, dst: local });
  t.like(d.tcp!, { sport: 40000, dport: 8080, seq: 7, syn: true, window: 32792, doff: 7 });
  t.is(d.tcp!.options.map(optionToString).join(','), 'mss 1000,sackOK,nop,nop');
  t.is(addresses.format(d.src), 'fd3d:fa7b:d17d::1');
  // A flow label exists only in IPv6: over IPv4 the script's is dropped (set_ip_header).
  t.is(scriptPacket(SYN, 4).flowLabel, 0);
});

test('an outbound IPv6 packet is compared as verify_ipv6 does: payload length, next header, traffic class, hop limit', (t) => {
  const spec: PacketSpec = { ...SYN, direction: 'outbound', flags: 'S.', ack: 1, win: undefined, ipInfo: undefined };
  const script = scriptPacket(spec, 6);
  const live = clonePacket(script);
  t.is(verifyHeaders(live, script, true), undefined);
  // Four more bytes of options than the script says.
  const longer = clonePacket(live);
  longer.totalLength += 4;
  t.is(verifyHeaders(longer, script, true), 'live packet field ipv6_payload_len: expected: 28 (0x1c) vs actual: 32 (0x20)');
  const udp = clonePacket(live);
  udp.protocol = 17;
  t.is(verifyHeaders(udp, script, true), 'live packet field ipv6_next_header: expected: 6 (0x6) vs actual: 17 (0x11)');
  // [tos 0x..] is the whole traffic class, [ttl N] the hop limit; neither is checked unless written.
  const marked = clonePacket(live);
  marked.tos = 0x2;
  marked.ttl = 64;
  t.is(verifyHeaders(marked, script, true), undefined);
  t.is(verifyHeaders(marked, scriptPacket({ ...spec, ipInfo: { tosCheck: 'tos', tos: 0, ttl: 0, flowLabel: 0 } }, 6), true), 'live packet field tos: expected: 0 (0x0) vs actual: 2 (0x2)');
  t.is(verifyHeaders(marked, scriptPacket({ ...spec, ipInfo: { tosCheck: 'none', tos: 0, ttl: 63, flowLabel: 0 } }, 6), true), 'live packet field ttl: expected: 63 (0x3f) vs actual: 64 (0x40)');
  // A packet of the other family is another header at layer 0.
  t.is(verifyHeaders(scriptPacket(spec, 4), script, true), 'live packet header layer 0: expected: IPV6 header vs actual: IPV4 header');
});
