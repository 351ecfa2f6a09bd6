/**
 * Transmit checksum offload (PacketSink.completesChecksums): over a link
 * that completes TCP checksums, as a TUN device does (in C, or through the
 * kernel with offloads), TCP writes only the pseudo-header sum and marks the
 * packet TX_CSUM_PARTIAL. The wire must not change by a byte, and what does
 * not reach the link whole (a datagram to our own address) is completed by
 * IP first (skb_checksum_help). Over IPv4 and over IPv6.
 */
import test from 'ava';
import { World, connected, transferAll, ADDR_A } from '../helpers/world.ts';
import type { Stack } from '../../stack/stack.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';

const ADDR6_A = '2001:2::1';
const ADDR6_B = '2001:2::2';

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 13 + 5) % 251);

for (const offload of [false, true]) {
  test(`a link that completes checksums gets partial ones, and the wire is the same byte for byte${offload ? ' (super-segments)' : ''}`, (t) => {
    const stacks = offload ? { a: { offload: true }, b: { offload: true } } : {};
    const runs = [false, true].map((completeChecksums) => {
      const w = new World({ ...stacks, completeChecksums });
      const { client, server } = connected(w);
      t.deepEqual(transferAll(w, client, server, bytes(200_000)), Buffer.from(bytes(200_000)));
      return w;
    });
    const [plain, offloaded] = runs as [World, World];
    t.is(plain.partialChecksums, 0);
    t.true(offloaded.partialChecksums > (offload ? 0 : 100), `${offloaded.partialChecksums} completed by the link`);
    t.is(offloaded.log.length, plain.log.length);
    const differing = offloaded.log.filter((e, i) => Buffer.compare(e.packet, plain.log[i]!.packet) !== 0 || e.t !== plain.log[i]!.t);
    t.is(differing.length, 0);
    t.is(offloaded.b.counters.TcpInCsumErrors + offloaded.a.counters.TcpInCsumErrors, 0);
  });
}

test('a connection to our own address, over a link that completes checksums, has its checksums completed by IP', (t) => {
  const w = new World({ completeChecksums: true });
  const { client, server } = connected(w, ADDR_A, w.a);
  t.deepEqual(transferAll(w, client, server, bytes(100_000)), Buffer.from(bytes(100_000)));
  t.is(w.a.counters.TcpInCsumErrors, 0);
  t.is(w.partialChecksums, 0, 'nothing went to the link');
});

/** An IPv6 connection from A to B's `dst` (B's address unless told), in a world whose stacks have IPv6 addresses. */
function connected6(w: World, dst = ADDR6_B, server: Stack = w.b): { client: Endpoint; server: Endpoint } {
  const listener = server.tcp.socket(6);
  listener.bind('::', 5001);
  listener.listen(8);
  const client = w.a.tcp.socket(6);
  client.connect(dst, 5001);
  let accepted: Endpoint | null = null;
  w.run(1000, () => (accepted ??= listener.accept()) !== null);
  if (accepted === null) throw new Error('no connection accepted');
  return { client, server: accepted };
}

const v6 = { a: { address6: parseIpv6(ADDR6_A)! }, b: { address6: parseIpv6(ADDR6_B)! } };

test('over IPv6 too: partial checksums (the pseudo header of RFC 8200 §8.1), completed by the link, and the same wire byte for byte', (t) => {
  const runs = [false, true].map((completeChecksums) => {
    const w = new World({ ...v6, completeChecksums });
    const { client, server } = connected6(w);
    t.deepEqual(transferAll(w, client, server, bytes(200_000)), Buffer.from(bytes(200_000)));
    return w;
  });
  const [plain, offloaded] = runs as [World, World];
  t.true(offloaded.log.every((e) => e.packet[0]! >> 4 === 6), 'IPv6 on the wire');
  t.is(plain.partialChecksums, 0);
  t.true(offloaded.partialChecksums > 100, `${offloaded.partialChecksums} completed by the link`);
  t.is(offloaded.log.length, plain.log.length);
  t.is(offloaded.log.filter((e, i) => Buffer.compare(e.packet, plain.log[i]!.packet) !== 0 || e.t !== plain.log[i]!.t).length, 0);
  t.is(offloaded.b.counters.TcpInCsumErrors + offloaded.a.counters.TcpInCsumErrors, 0);
});

test('an IPv6 connection to our own address has its checksums completed by IPv6 output (skb_checksum_help)', (t) => {
  const w = new World({ ...v6, completeChecksums: true });
  const { client, server } = connected6(w, ADDR6_A, w.a);
  t.deepEqual(transferAll(w, client, server, bytes(100_000)), Buffer.from(bytes(100_000)));
  t.is(w.a.counters.TcpInCsumErrors, 0);
  t.is(w.partialChecksums, 0, 'nothing went to the link');
});
