/**
 * TCP over IPv6 between two of our stacks in virtual time, and dual-stack
 * sockets: segments carry IPv6 headers with the connection's flow label,
 * the MSS is the MTU less 60, both ends give their addresses back when done,
 * and an IPv6 listener takes IPv4 clients v4-mapped unless it is v6-only.
 */
import test from 'ava';
import { formatIpv6, parseIpv6 } from '../../stack/wire/addr6.ts';
import { decodeIpv6Header, ip6FlowLabel } from '../../stack/wire/ipv6.ts';
import { decodeTcpSegment, TCP_RST, TCP_SYN } from '../../stack/wire/tcp.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { World, transferAll } from '../helpers/world.ts';
import { icmp6Message, ipv6Packet, withChecksum6 } from '../helpers/packets6.ts';

const ADDR6_A = '2001:2::1';
const ADDR6_B = '2001:2::2';

function world(options: ConstructorParameters<typeof World>[0] = {}): World {
  return new World({ ...options, a: { address6: parseIpv6(ADDR6_A)!, ...options.a }, b: { address6: parseIpv6(ADDR6_B)!, ...options.b } });
}

/** A listener on B (an IPv6 socket on `bindTo` unless told otherwise) and a client on A connecting to `to`; runs until accepted. */
function connect6(w: World, to: string, opts: { clientFamily?: 4 | 6; bindTo?: string; v6only?: boolean; listenerFamily?: 4 | 6 } = {}): { client: Endpoint; server: Endpoint | null; listener: Endpoint } {
  const listener = w.b.tcp.socket(opts.listenerFamily ?? 6);
  if (opts.v6only !== undefined) listener.setV6Only(opts.v6only);
  listener.bind(opts.bindTo ?? (opts.listenerFamily === 4 ? '0.0.0.0' : '::'), 5001);
  listener.listen(8);
  const client = w.a.tcp.socket(opts.clientFamily ?? 6);
  client.connect(to, 5001);
  let accepted: Endpoint | null = null;
  w.run(w.clock.now() + 3000, () => (accepted ??= listener.accept()) !== null);
  return { client, server: accepted, listener };
}

const v6Packets = (w: World, from: 'a' | 'b'): Uint8Array[] => w.log.filter((e) => e.from === from && e.packet[0]! >> 4 === 6).map((e) => e.packet);

test('a connection over IPv6: IPv6 headers, MSS 1440, one flow label each way, 1 MiB intact, addresses shown as IPv6', (t) => {
  const w = world();
  const { client, server } = connect6(w, ADDR6_B);
  t.truthy(server);
  t.is(client.state, 'ESTABLISHED');
  t.is(client.family, 6);
  t.is(client.remoteAddress, ADDR6_B);
  t.is(client.localAddress, ADDR6_A);
  t.is(server!.remoteAddress, ADDR6_A);
  t.is(server!.localAddress, ADDR6_B);
  const data = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 255);
  t.deepEqual(new Uint8Array(transferAll(w, client, server!, data)), data);

  const fromA = v6Packets(w, 'a');
  const fromB = v6Packets(w, 'b');
  t.true(fromA.length > 10 && fromB.length > 10);
  t.is(w.log.filter((e) => e.packet[0]! >> 4 === 4).length, 0, 'nothing over IPv4');
  const syn = decodeTcpSegment(fromA[0]!.subarray(40));
  const synAck = decodeTcpSegment(fromB[0]!.subarray(40));
  t.is(syn.flags & TCP_SYN, TCP_SYN);
  t.is(syn.options.mss, 1440, 'MTU 1500 − 60');
  t.is(synAck.options.mss, 1440);
  t.is(new Set(fromA.map(ip6FlowLabel)).size, 1, "the client's segments share its flow label");
  t.is(new Set(fromB.map(ip6FlowLabel)).size, 1, "the server's too: its SYN-ACK's, inherited from the request");
  t.not(ip6FlowLabel(fromA[0]!), 0);
  t.true(fromA.every((p) => decodeIpv6Header(p).hopLimit === 64));
  t.true(Math.max(...fromA.map((p) => p.length)) <= 1500);
  const info = w.a.tcp.connections()[0]!;
  t.is(info.remoteAddress, ADDR6_B);
});

test('both ends give their addresses back once closed and let go (TIME_WAIT included)', (t) => {
  const w = world();
  const { client, server } = connect6(w, ADDR6_B);
  client.write(new TextEncoder().encode('hello'));
  w.run(w.clock.now() + 100);
  server!.close();
  client.close();
  w.run(w.clock.now() + 200_000);
  for (const s of [w.a, w.b]) {
    t.is(s.tcp.connections().length, 0);
    t.is(s.addresses.heldCount, 1, 'only our own address');
  }
  t.is(client.remoteAddress, ADDR6_B, 'a closed socket still tells its peer');
});

test('a dual-stack listener takes an IPv4 client, shown v4-mapped; a v6-only one resets it', (t) => {
  const w = world();
  const { server, listener } = connect6(w, '198.18.0.2', { clientFamily: 4 });
  t.truthy(server);
  t.is(server!.family, 6);
  t.is(server!.remoteAddress, '::ffff:198.18.0.1');
  t.is(server!.localAddress, '::ffff:198.18.0.2');
  t.is(listener.localAddress, '::');
  t.true(w.log.every((e) => e.packet[0]! >> 4 === 4), 'an IPv4 connection on the wire');

  const w2 = world();
  const refused = connect6(w2, '198.18.0.2', { clientFamily: 4, v6only: true });
  t.is(refused.server, null);
  t.is(refused.client.state, 'CLOSED');
  t.throws(() => refused.client.read(), { code: 'ECONNREFUSED' });
});

test('ss -K by peer address in either family: IPv6 text, a v4-mapped peer as its IPv4 address; text of neither matches nothing', (t) => {
  const w = world();
  const six = connect6(w, ADDR6_B);
  const four = { client: w.a.tcp.socket(4) };
  four.client.connect('198.18.0.2', 5001);
  w.run(w.clock.now() + 1000, () => six.listener.accept() !== null);
  t.truthy(six.server);
  t.is(four.client.state, 'ESTABLISHED');
  t.is(w.b.tcp.destroy({ localPort: 5001, remoteAddress: 'not-an-address' }), 0);
  t.is(w.b.tcp.destroy({ localPort: 5001, remoteAddress: '2001:2::9' }), 0);
  t.is(w.b.tcp.destroy({ localPort: 5001, remoteAddress: '2001:2:0::1' }), 1, 'any spelling of the address');
  w.run(w.clock.now() + 10);
  t.is(six.client.state, 'CLOSED', 'the IPv6 peer heard the reset');
  t.is(w.b.tcp.destroy({ localPort: 5001, remoteAddress: '::ffff:198.18.0.1' }), 1);
  w.run(w.clock.now() + 10);
  t.is(four.client.state, 'CLOSED');
  t.is(w.b.tcp.connections().length, 0);
});

test('an IPv6 client can reach an IPv4 server through a v4-mapped address', (t) => {
  const w = world();
  const { client, server } = connect6(w, '::ffff:198.18.0.2', { listenerFamily: 4 });
  t.truthy(server);
  t.is(client.remoteAddress, '::ffff:198.18.0.2');
  t.is(server!.remoteAddress, '198.18.0.1');
});

test('bind across families as inet_csk_bind_conflict: :: takes the port from 0.0.0.0 unless v6-only', (t) => {
  const w = world();
  const v4 = w.b.tcp.socket(4);
  v4.bind('0.0.0.0', 7000);
  const v6 = w.b.tcp.socket(6);
  t.throws(() => v6.bind('::', 7000), { code: 'EADDRINUSE' });
  const only = w.b.tcp.socket(6);
  only.setV6Only(true);
  only.bind('::', 7000);
  t.is(only.localAddress, '::');
  t.throws(() => only.setV6Only(false), { code: 'EINVAL' });
  const other = w.b.tcp.socket(6);
  t.throws(() => other.bind('2001:2::99', 7001), { code: 'EADDRNOTAVAIL' });
  t.throws(() => other.bind('198.18.0.2', 7001), { code: 'EAFNOSUPPORT' });
  t.throws(() => v4.setV6Only(true), { code: 'ENOPROTOOPT' });
});

test('a SYN to a closed IPv6 port: RST,ACK with the DSCP of the SYN and no ECN bits, and a flow label of its own', (t) => {
  const w = world();
  const client = w.a.tcp.socket(6);
  client.connect(ADDR6_B, 9);
  w.run(w.clock.now() + 100);
  const rst = v6Packets(w, 'b')[0]!;
  const h = decodeIpv6Header(rst);
  t.is(formatIpv6(h.destination), ADDR6_A);
  t.is(decodeTcpSegment(rst.subarray(40)).flags & TCP_RST, TCP_RST);
  t.is(h.trafficClass, 0, 'the SYN had traffic class 0');
  t.is(w.b.counters.TcpOutRsts, 1);
  t.throws(() => client.read(), { code: 'ECONNREFUSED' });
});

test('every RTO draws a new flow label (sk_rethink_txhash) and counts TcpExtTcpTimeoutRehash', (t) => {
  const w = world();
  const { client, server } = connect6(w, ADDR6_B);
  t.truthy(server);
  // From now on nothing from A reaches B.
  w.filter = (p, from) => (from === 'a' ? [] : [p]);
  const before = w.log.length;
  client.write(new Uint8Array(100));
  w.run(w.clock.now() + 5000);
  const sent = w.log.slice(before).filter((e) => e.from === 'a').map((e) => e.packet);
  t.true(sent.length >= 4);
  const labels = sent.map(ip6FlowLabel);
  t.is(labels[1], labels[0], 'the tail loss probe keeps the label');
  t.true(new Set(labels.slice(1)).size === labels.length - 1, 'each RTO retransmission a new one');
  t.is(w.a.counters.TcpExtTcpTimeoutRehash, labels.length - 2);
});

/** A Packet Too Big from A to B quoting `quoted` (one of B's segments), as a router on the path would send. */
function packetTooBig(quoted: Uint8Array, mtu: number): Uint8Array {
  const quote = quoted.subarray(0, Math.min(quoted.length, 1232));
  return ipv6Packet(58, icmp6Message(2, 0, mtu, quote, { source: ADDR6_A, destination: ADDR6_B }), { source: ADDR6_A, destination: ADDR6_B });
}

test('Packet Too Big: 1280 in window lowers the path MTU and the MSS at once; below 1280 or out of window it is ignored', (t) => {
  const w = world();
  const { client, server } = connect6(w, ADDR6_B);
  const big = new Uint8Array(200_000);
  let written = 0;
  // B sends; A does not read for now, so data stays in flight.
  written += server!.write(big);
  w.settle();
  const dataFromB = v6Packets(w, 'b').filter((p) => p.length > 1000);
  const last = dataFromB[dataFromB.length - 1]!;
  t.is(last.length, 1500);

  // Below the IPv6 minimum: counted and ignored.
  w.b.input(packetTooBig(last, 1000));
  t.is(w.b.counters.Icmp6InPktTooBigs, 1);
  t.is(w.b.routes.mtu(w.b.addresses.intern(parseIpv6(ADDR6_A)!, 0), w.clock.now()), 1500);

  // An acknowledged segment quoted: out of window.
  const first = dataFromB[0]!;
  for (let chunk = client.read(); chunk !== null && chunk.length > 0; chunk = client.read());
  w.settle();
  w.b.input(packetTooBig(first, 1280));
  t.is(w.b.counters.TcpExtOutOfWindowIcmps, 1);

  // Now B's segments are lost on the way, so they stay in flight.
  w.filter = (p, from) => (from === 'b' ? [] : [p]);
  const start = w.log.length;
  written += server!.write(big.subarray(0, 50_000));
  w.settle();
  const inFlight = w.log.slice(start).filter((e) => e.from === 'b' && e.packet.length > 1000).map((e) => e.packet);
  t.true(inFlight.length > 0);
  w.filter = undefined;
  w.b.input(packetTooBig(inFlight[inFlight.length - 1]!, 1280));
  w.b.flush();
  const after = w.log.length;
  transferAllFrom(w, client);
  const later = w.log.slice(after).filter((e) => e.from === 'b' && e.packet.length > 100).map((e) => e.packet);
  t.true(later.length > 20, `${later.length} segments after`);
  t.is(Math.max(...later.map((p) => p.length)), 1280, '1208 bytes of payload with timestamps: MSS 1220');
  t.is(w.b.routes.mtu(w.b.addresses.intern(parseIpv6(ADDR6_A)!, 0), w.clock.now()), 1280);
  t.true(written > 0);
});

/** Reads everything A's socket gets for 5 virtual seconds. */
function transferAllFrom(w: World, client: Endpoint): void {
  w.run(w.clock.now() + 5000, () => {
    for (let chunk = client.read(); chunk !== null && chunk.length > 0; chunk = client.read());
    return false;
  });
}

test('a SYN from a v4-mapped IPv6 source: a header error at a listener, no reset without one', (t) => {
  const w = world();
  const listener = w.b.tcp.socket(6);
  listener.bind('::', 80);
  listener.listen(8);
  const syn = (port: number) => {
    const seg = new Uint8Array(20);
    const v = new DataView(seg.buffer);
    v.setUint16(0, 40000);
    v.setUint16(2, port);
    v.setUint32(4, 1000);
    seg[12] = 5 << 4;
    seg[13] = TCP_SYN;
    v.setUint16(14, 65535);
    const o = { source: '::ffff:10.0.0.1', destination: ADDR6_B };
    return ipv6Packet(6, withChecksum6(6, seg, 16, o), o);
  };
  t.is(w.b.input(syn(80)), 'IP_INHDR');
  t.is(w.b.counters.Ip6InHdrErrors, 1);
  t.is(w.b.input(syn(81)), 'NO_SOCKET');
  w.b.flush();
  t.is(w.b.counters.TcpOutRsts, 0);
  t.is(w.b.counters.Ip6OutNoRoutes, 1);
});
