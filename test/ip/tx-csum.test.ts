/**
 * Transmit checksum offload (PacketSink.completesChecksums): over a link
 * that completes TCP checksums, as a TUN device does (in C, or through the
 * kernel with offloads), TCP writes only the pseudo-header sum and marks the
 * packet TX_CSUM_PARTIAL. The wire must not change by a byte, and what does
 * not reach the link whole (a datagram to our own address) is completed by
 * IP first (skb_checksum_help).
 */
import test from 'ava';
import { World, connected, transferAll, ADDR_A } from '../helpers/world.ts';

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
