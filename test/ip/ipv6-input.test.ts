/**
 * IPv6 input, ICMPv6 and UDP over IPv6 in virtual time: each packet in,
 * the exact answer (or silence) out, and the counters Linux moves
 * (docs/ipv6.md has the kernel's behaviour these follow).
 */
import test from 'ava';
import { formatIpv6 } from '../../stack/wire/addr6.ts';
import { verifies } from '../../stack/wire/checksum.ts';
import { decodeIpv6Header, pseudoHeaderSum6 } from '../../stack/wire/ipv6.ts';
import { ipv6WordSum } from '../../stack/wire/addr6.ts';
import { echoData, echoRequest6, icmp6Message, ipv6Packet, KERNEL6_TEXT, STACK6, STACK6_TEXT, udpDatagram6 } from '../helpers/packets6.ts';
import { testStack } from '../helpers/stack.ts';

const v6 = { address6: STACK6 };

/** The ICMPv6 message of an answer, checked: its checksum verifies over the pseudo header. */
function icmpOf(t: { true(v: boolean, m?: string): void }, packet: Uint8Array): Uint8Array {
  const sums = ipv6WordSum(packet, 8) + ipv6WordSum(packet, 24);
  t.true(verifies(packet, 40, packet.length, pseudoHeaderSum6(sums, 58, packet.length - 40)), 'ICMPv6 checksum');
  return packet.subarray(40);
}

test('an echo request is answered from our address with the same id, sequence, data and traffic class', (t) => {
  const s = testStack(v6);
  const request = echoRequest6(0x4242, 7, 56, { trafficClass: 0x28, flowLabel: 0x12345 });
  const [reply, ...rest] = s.send(request);
  t.is(rest.length, 0);
  const h = decodeIpv6Header(reply!);
  t.is(h.version, 6);
  t.is(formatIpv6(h.source), STACK6_TEXT);
  t.is(formatIpv6(h.destination), KERNEL6_TEXT);
  t.is(h.nextHeader, 58);
  t.is(h.hopLimit, 64);
  t.is(h.trafficClass, 0x28, 'icmpv6_echo_reply reflects the traffic class');
  t.is(h.payloadLength, request.length - 40);
  const m = icmpOf(t, reply!);
  t.is(m[0], 129);
  t.is(m[1], 0);
  t.deepEqual(m.subarray(4), request.subarray(44), 'identifier, sequence and data echoed');
  const c = s.stack.counters;
  t.deepEqual(
    [c.Ip6InReceives, c.Ip6InDelivers, c.Icmp6InMsgs, c.Icmp6InEchos, c.Icmp6InType128, c.Icmp6OutMsgs, c.Icmp6OutEchoReplies, c.Icmp6OutType129, c.Ip6OutRequests],
    [1, 1, 1, 1, 1, 1, 1, 1, 1],
  );
  t.is(c.IpInReceives, 0, 'no IPv4 counter moves');
});

test('without an IPv6 address the stack drops IPv6 as a device with IPv6 disabled', (t) => {
  const s = testStack();
  t.deepEqual(s.send(echoRequest6(1, 1, 8)), []);
  t.is(s.stack.drops.IPV6DISABLED, 1);
  t.is(s.stack.counters.Ip6InDiscards, 1);
});

test('an echo request to the all-nodes group is answered from our unicast address; other groups are not ours', (t) => {
  const s = testStack(v6);
  const [reply] = s.send(echoRequest6(1, 1, 8, { destination: 'ff02::1' }));
  t.is(formatIpv6(decodeIpv6Header(reply!).source), STACK6_TEXT);
  // A router solicitation as the kernel sends on a new interface: a group a host has not joined.
  const rs = ipv6Packet(58, icmp6Message(133, 0, 0, new Uint8Array(0), { destination: 'ff02::2' }), { destination: 'ff02::2', hopLimit: 255 });
  t.deepEqual(s.send(rs), []);
  const c = s.stack.counters;
  t.is(c.Ip6InMcastPkts, 2);
  t.is(c.Icmp6InMsgs, 1, 'the solicitation never reaches ICMPv6');
  t.is(s.stack.drops.OTHERHOST, 1);
});

test('a packet for our solicited-node group reaches ICMPv6; neighbour discovery is counted and dropped', (t) => {
  const s = testStack(v6);
  const group = 'ff02::1:ff00:2';
  const ns = ipv6Packet(58, icmp6Message(135, 0, 0, STACK6, { destination: group }), { destination: group, hopLimit: 255 });
  t.deepEqual(s.send(ns), []);
  t.is(s.stack.counters.Icmp6InNeighborSolicits, 1);
  t.is(s.stack.drops.ICMP_IGNORED, 1);
});

test('an unknown next header draws a parameter problem, code 1, pointing at the Next Header field that named it', (t) => {
  const s = testStack(v6);
  const [problem] = s.send(ipv6Packet(253, new Uint8Array(16)));
  const m = icmpOf(t, problem!);
  t.deepEqual([m[0], m[1]], [4, 1]);
  t.is(new DataView(m.buffer, m.byteOffset).getUint32(4), 6);
  // Behind a destination options header the pointer names that header's Next Header field.
  const [second] = s.send(ipv6Packet(253, new Uint8Array(16), {}, [{ type: 60, body: new Uint8Array(6) }]));
  t.is(new DataView(second!.buffer, second!.byteOffset).getUint32(44), 40);
  t.is(s.stack.counters.Ip6InUnknownProtos, 2);
  t.is(s.stack.counters.Icmp6OutParmProblems, 2);
});

test('UDP to a closed port: port unreachable quoting the datagram; then a burst of six and one per 100 ms per peer', (t) => {
  const s = testStack(v6);
  const datagram = udpDatagram6(40000, 9, new Uint8Array(20));
  const [first] = s.send(datagram);
  const m = icmpOf(t, first!);
  t.deepEqual([m[0], m[1]], [1, 4]);
  t.deepEqual(m.subarray(8), datagram, 'the whole datagram quoted');
  let answered = 1;
  for (let i = 0; i < 20; i++) answered += s.send(udpDatagram6(40000, 9, new Uint8Array(20))).length;
  t.is(answered, 6, 'XRLIM_BURST_FACTOR: six errors, then the bucket is empty');
  t.is(s.stack.counters.Icmp6OutRateLimitHost, 15);
  s.advanceTo(99);
  t.is(s.send(datagram).length, 0);
  s.advanceTo(100);
  t.is(s.send(datagram).length, 1, 'net.ipv6.icmp.ratelimit: 100 ms a token');
  t.is(s.send(datagram).length, 0);
  t.is(s.stack.counters.Udp6NoPorts, 24);
});

test('a UDP datagram with a zero checksum is a checksum error over IPv6', (t) => {
  const s = testStack(v6);
  const d = udpDatagram6(1, 9, new Uint8Array(4));
  d[46] = 0;
  d[47] = 0;
  t.deepEqual(s.send(d), []);
  t.is(s.stack.counters.Udp6InCsumErrors, 1);
  t.is(s.stack.counters.Udp6InErrors, 1);
});

test('malformed headers: short, truncated, padded, multicast or loopback sources, not ours', (t) => {
  const s = testStack(v6);
  const c = s.stack.counters;
  t.deepEqual(s.send(echoRequest6(1, 1, 8).subarray(0, 39)), []);
  t.is(c.Ip6InHdrErrors, 1);
  const truncated = echoRequest6(1, 1, 8);
  t.deepEqual(s.send(truncated.subarray(0, truncated.length - 1)), []);
  t.is(c.Ip6InTruncatedPkts, 1);
  // Bytes past the payload length are not part of the datagram: the echo is still answered.
  const padded = new Uint8Array(echoRequest6(1, 1, 8).length + 6);
  padded.set(echoRequest6(1, 1, 8));
  t.is(s.send(padded).length, 1);
  t.deepEqual(s.send(echoRequest6(1, 1, 8, { source: 'ff02::1' })), []);
  t.deepEqual(s.send(echoRequest6(1, 1, 8, { source: '::1' })), []);
  t.deepEqual(s.send(echoRequest6(1, 1, 8, { destination: '::1' })), []);
  t.is(c.Ip6InHdrErrors, 4);
  t.deepEqual(s.send(echoRequest6(1, 1, 8, { destination: '2001:2::99' })), []);
  t.is(c.Ip6InAddrErrors, 1);
  t.is(c.Icmp6InMsgs, 1);
});

/** A destination options header body holding one option of type `type` with `length` zero bytes, padded by the builder. */
function option(type: number, length: number): Uint8Array {
  const body = new Uint8Array(2 + length);
  body[0] = type;
  body[1] = length;
  // PadN for the rest of the 8-byte header when there is room.
  return body;
}

test('an unknown option acts on its two high bits: skip, discard, discard with a parameter problem', (t) => {
  const s = testStack(v6);
  const withOption = (type: number, hop: boolean, o = {}): Uint8Array => {
    const body = new Uint8Array(6);
    body.set(option(type, 2));
    return echoRequest6(1, 1, 8, o, [{ type: hop ? 0 : 60, body }]);
  };
  t.is(s.send(withOption(0x1e, false)).length, 1, '00: skipped, the echo answered');
  t.is(s.send(withOption(0x5e, false)).length, 0, '01: discarded');
  const [problem] = s.send(withOption(0x9e, false));
  const m = icmpOf(t, problem!);
  t.deepEqual([m[0], m[1]], [4, 2]);
  t.is(new DataView(m.buffer, m.byteOffset).getUint32(4), 42, 'the pointer names the option');
  t.is(s.send(withOption(0xde, false)).length, 1, '11: a parameter problem to a unicast destination');
  t.is(s.send(withOption(0xde, true, { destination: 'ff02::1' })).length, 0, '11: none about a multicast one');
  t.is(s.send(withOption(0x9e, true, { destination: 'ff02::1' })).length, 1, '10: even about a multicast one');
});

test('PadN must be zeros; a hop-by-hop header anywhere but first is an unknown next header', (t) => {
  const s = testStack(v6);
  const pad = new Uint8Array(6);
  pad[0] = 1;
  pad[1] = 4;
  pad[3] = 1;
  t.deepEqual(s.send(echoRequest6(1, 1, 8, {}, [{ type: 60, body: pad }])), []);
  t.is(s.stack.counters.Ip6InHdrErrors, 1);
  const [problem] = s.send(echoRequest6(1, 1, 8, {}, [{ type: 60, body: new Uint8Array(6) }, { type: 0, body: new Uint8Array(6) }]));
  const m = icmpOf(t, problem!);
  t.deepEqual([m[0], m[1]], [4, 1]);
  t.is(new DataView(m.buffer, m.byteOffset).getUint32(4), 40);
});

test('a routing header with segments left draws a parameter problem at its type; with none left it is skipped', (t) => {
  const s = testStack(v6);
  const routing = (type: number, left: number): Uint8Array => {
    const body = new Uint8Array(22);
    body[0] = type;
    body[1] = left;
    return body;
  };
  const [problem] = s.send(echoRequest6(1, 1, 8, {}, [{ type: 43, body: routing(0, 1) }]));
  const m = icmpOf(t, problem!);
  t.deepEqual([m[0], m[1]], [4, 0]);
  t.is(new DataView(m.buffer, m.byteOffset).getUint32(4), 42);
  t.is(s.send(echoRequest6(1, 1, 8, {}, [{ type: 43, body: routing(0, 0) }])).length, 1);
  t.is(s.send(echoRequest6(1, 1, 8, {}, [{ type: 43, body: routing(4, 0) }])).length, 0, 'segment routing is off (seg6_enabled = 0)');
});

test('handles made for a packet are freed at the next flush; only our own address stays', (t) => {
  const s = testStack(v6);
  const table = s.stack.addresses;
  t.is(table.size, 1);
  for (let i = 0; i < 50; i++) s.send(echoRequest6(1, i, 8, { source: `2001:db8::${i.toString(16)}` }));
  t.is(table.size, 1);
  t.is(table.heldCount, 1);
  t.deepEqual(echoData(3, 0).length, 3);
});

test('more than 12 extension headers after the hop-by-hop one are discarded (IP6_MAX_EXT_HDRS_CNT)', (t) => {
  const s = testStack(v6);
  const chain = (n: number) => Array.from({ length: n }, () => ({ type: 60, body: new Uint8Array(6) }));
  t.is(s.send(echoRequest6(1, 1, 8, {}, chain(12))).length, 1);
  t.deepEqual(s.send(echoRequest6(1, 1, 8, {}, chain(13))), []);
  t.is(s.stack.counters.Ip6InDiscards, 1);
  t.is(s.stack.drops.IPV6_TOO_MANY_EXTHDRS, 1);
  t.is(s.send(echoRequest6(1, 1, 8, {}, [{ type: 0, body: new Uint8Array(6) }, ...chain(12)])).length, 1, 'the hop-by-hop header is not counted');
});

test('a v4-mapped source is delivered but nothing goes back: no route (Ip6OutNoRoutes)', (t) => {
  const s = testStack(v6);
  const c = s.stack.counters;
  t.deepEqual(s.send(echoRequest6(1, 1, 8, { source: '::ffff:1.2.3.4' })), []);
  t.deepEqual([c.Icmp6InEchos, c.Icmp6OutEchoReplies, c.Ip6OutNoRoutes], [1, 0, 1]);
  t.deepEqual(s.send(udpDatagram6(1, 9, new Uint8Array(4), { source: '::ffff:1.2.3.4' })), []);
  t.deepEqual([c.Udp6NoPorts, c.Icmp6OutDestUnreachs, c.Ip6OutNoRoutes, c.Icmp6OutRateLimitHost], [1, 0, 2, 1]);
  // From the unspecified address: no error is even tried.
  t.deepEqual(s.send(udpDatagram6(1, 9, new Uint8Array(4), { source: '::' })), []);
  t.deepEqual([c.Udp6NoPorts, c.Ip6OutNoRoutes], [2, 2]);
});

test('UDP to a multicast group finds no member: ignored, no error', (t) => {
  const s = testStack(v6);
  t.deepEqual(s.send(udpDatagram6(1, 9, new Uint8Array(4), { destination: 'ff02::1' })), []);
  t.is(s.stack.counters.Udp6IgnoredMulti, 1);
  t.is(s.stack.counters.Udp6NoPorts, 0);
});

test('an error about a UDP datagram of ours finds no socket: Icmp6InErrors; an unknown informational type is only counted', (t) => {
  const s = testStack(v6);
  const quoted = udpDatagram6(9, 40000, new Uint8Array(8), { source: STACK6_TEXT, destination: KERNEL6_TEXT });
  t.deepEqual(s.send(ipv6Packet(58, icmp6Message(1, 4, 0, quoted))), []);
  t.deepEqual([s.stack.counters.Icmp6InDestUnreachs, s.stack.counters.Icmp6InErrors], [1, 1]);
  t.deepEqual(s.send(ipv6Packet(58, icmp6Message(200, 0, 0, new Uint8Array(4)))), []);
  t.deepEqual([s.stack.counters.Icmp6InMsgs, s.stack.counters.Icmp6InErrors], [2, 1]);
});

test('a jumbo payload option is answered at the option (payload length set) or at its value (65535 or less)', (t) => {
  const s = testStack(v6);
  const jumbo = (value: number): Uint8Array => Uint8Array.of(0xc2, 4, value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255);
  const [first] = s.send(echoRequest6(1, 1, 8, {}, [{ type: 0, body: jumbo(100000) }]));
  t.deepEqual([first![40], first![41]], [4, 0]);
  t.is(new DataView(first!.buffer, first!.byteOffset).getUint32(44), 42);
  const small = echoRequest6(1, 1, 8, { payloadLength: 0 }, [{ type: 0, body: jumbo(32) }]);
  const [second] = s.send(small);
  t.is(new DataView(second!.buffer, second!.byteOffset).getUint32(44), 44);
  t.deepEqual(s.send(echoRequest6(1, 1, 8, { payloadLength: 0 }, [{ type: 0, body: jumbo(100000) }])), []);
  t.is(s.stack.counters.Ip6InHdrErrors, 3);
  t.is(s.stack.counters.Ip6InTruncatedPkts, 0);
});

test('an echo reply carries the whole traffic class of the request, ECN bits too', (t) => {
  const s = testStack(v6);
  const [reply] = s.send(echoRequest6(1, 1, 8, { trafficClass: 0x2b }));
  t.is(decodeIpv6Header(reply!).trafficClass, 0x2b);
  t.is(s.stack.counters.Ip6InCEPkts, 1);
});
