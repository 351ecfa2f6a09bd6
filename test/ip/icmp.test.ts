import test from 'ava';
import { decodeIpv4Header, PROTO_ICMP } from '../../stack/wire/ipv4.ts';
import { verifies } from '../../stack/wire/checksum.ts';
import { echoRequest, ipPacket, KERNEL, STACK, udpDatagram } from '../helpers/packets.ts';
import { testStack } from '../helpers/stack.ts';

test('echo request is answered with an echo reply carrying the same id, sequence and data', (t) => {
  const s = testStack();
  const request = echoRequest(0x4242, 7, 56, { tos: 0x10 });
  const [reply, ...rest] = s.send(request);
  t.is(rest.length, 0);
  t.truthy(reply);
  const h = decodeIpv4Header(reply!);
  t.is(h.source, STACK);
  t.is(h.destination, KERNEL);
  t.is(h.protocol, PROTO_ICMP);
  t.is(h.ttl, 64);
  t.is(h.tos, 0x10, 'icmp_reply keeps the request TOS');
  t.false(h.dontFragment);
  t.is(h.totalLength, request.length);
  t.true(verifies(reply!, 0, 20), 'IP header checksum');
  t.true(verifies(reply!, 20, reply!.length), 'ICMP checksum');
  t.is(reply![20], 0, 'type echo reply');
  t.deepEqual(reply!.subarray(24), request.subarray(24), 'identifier, sequence and data echoed');
  const c = s.stack.counters;
  t.is(c.IpInReceives, 1);
  t.is(c.IpInDelivers, 1);
  t.is(c.IcmpInMsgs, 1);
  t.is(c.IcmpInEchos, 1);
  t.is(c.IcmpOutEchoReps, 1);
  t.is(c.IcmpOutMsgs, 1);
  t.is(c.IpOutRequests, 1);
});

test('an echo reply larger than the MTU leaves in fragments that reassemble to the reply', (t) => {
  const s = testStack({ mtu: 1500 });
  const request = echoRequest(1, 1, 4000);
  const frags = s.send(request);
  t.is(frags.length, 3);
  let payload = 0;
  for (const [i, f] of frags.entries()) {
    const h = decodeIpv4Header(f);
    t.true(f.length <= 1500);
    t.true(verifies(f, 0, 20));
    t.is(h.moreFragments, i < frags.length - 1);
    t.is(h.fragmentOffset, payload);
    payload += h.totalLength - 20;
  }
  t.is(payload, request.length - 20);
  t.is(s.stack.counters.IpFragOKs, 1);
  t.is(s.stack.counters.IpFragCreates, 3);
});

test('a bad ICMP checksum is counted and not answered', (t) => {
  const s = testStack();
  const request = echoRequest(1, 1, 8);
  request[30]! ^= 0xff;
  t.deepEqual(s.send(request), []);
  t.is(s.stack.counters.IcmpInCsumErrors, 1);
  t.is(s.stack.counters.IcmpInErrors, 1);
  t.is(s.stack.drops.ICMP_CSUM, 1);
});

test('icmp_echo_ignore_all=1 counts the echo and stays silent', (t) => {
  const s = testStack({ sysctl: { icmp_echo_ignore_all: 1 } });
  t.deepEqual(s.send(echoRequest(1, 1, 8)), []);
  t.is(s.stack.counters.IcmpInEchos, 1);
  t.is(s.stack.counters.IcmpOutEchoReps, 0);
});

test('UDP to a closed port: ICMP port unreachable quoting the datagram, UdpNoPorts', (t) => {
  const s = testStack();
  const datagram = udpDatagram(40000, 5353, new Uint8Array(10), { tos: 0x08 });
  const [err] = s.send(datagram);
  t.truthy(err);
  const h = decodeIpv4Header(err!);
  t.is(h.destination, KERNEL);
  t.is(h.tos, 0xc0 | 0x08, 'errors carry precedence INTERNETCONTROL');
  t.is(err![20], 3);
  t.is(err![21], 3);
  t.true(verifies(err!, 20, err!.length));
  t.deepEqual(err!.subarray(28), datagram, 'the whole (short) datagram is quoted');
  t.is(s.stack.counters.UdpNoPorts, 1);
  t.is(s.stack.counters.IcmpOutDestUnreachs, 1);
  t.is(s.stack.drops.NO_SOCKET, 1);
});

test('a quote is cut so that the error fits in 576 bytes (RFC 1812 4.3.2.3)', (t) => {
  const s = testStack();
  const [err] = s.send(udpDatagram(1, 2, new Uint8Array(1000)));
  t.is(err!.length, 576);
});

test('UDP with a bad checksum is dropped without an ICMP error', (t) => {
  const s = testStack();
  const d = udpDatagram(1, 2, new Uint8Array(4));
  d[29]! ^= 1;
  t.deepEqual(s.send(d), []);
  t.is(s.stack.counters.UdpInCsumErrors, 1);
  t.is(s.stack.counters.UdpInErrors, 1);
  t.is(s.stack.counters.UdpNoPorts, 0);
});

test('an unknown protocol gets ICMP protocol unreachable and IpInUnknownProtos', (t) => {
  const s = testStack();
  const [err] = s.send(ipPacket(132 /* SCTP */, new Uint8Array(12)));
  t.is(err![20], 3);
  t.is(err![21], 2);
  t.is(s.stack.counters.IpInUnknownProtos, 1);
  t.is(s.stack.counters.IpInDelivers, 0);
});

test('ICMP errors are rate limited per destination: a burst of 6, then one per icmp_ratelimit', (t) => {
  const s = testStack();
  let sent = 0;
  for (let i = 0; i < 20; i++) sent += s.send(udpDatagram(1000, 2000 + i, new Uint8Array(1))).length;
  t.is(sent, 6, 'XRLIM_BURST_FACTOR errors at once');
  t.is(s.stack.counters.IcmpOutRateLimitHost, 14);
  s.advanceTo(999);
  t.is(s.send(udpDatagram(1, 2, new Uint8Array(1))).length, 0);
  s.advanceTo(1000);
  t.is(s.send(udpDatagram(1, 2, new Uint8Array(1))).length, 1, 'one token per second');
  t.is(s.stack.counters.UdpNoPorts, 22);
});

test('no ICMP error about an ICMP error', (t) => {
  const s = testStack();
  const inner = udpDatagram(1, 2, new Uint8Array(4));
  const unreachable = new Uint8Array(8 + inner.length);
  unreachable[0] = 3;
  unreachable[1] = 3;
  unreachable.set(inner, 8);
  // Send it with an unknown protocol number in the outer header would be
  // answered; as ICMP it is an error message and must never be.
  const packet = ipPacket(PROTO_ICMP, unreachable);
  packet[22] = 0xff; // break the ICMP checksum: dropped as ICMP_CSUM, still no error sent
  t.deepEqual(s.send(packet), []);
});
