/**
 * A stack made with `offload` (a TUN device with IFF_VNET_HDR and TSO):
 * each packet of several segments that tcp_write_xmit builds leaves as one
 * super-segment with gso_size = MSS and a partial checksum, and the link
 * (here helpers/gso.ts, as the kernel's tcp_gso_segment) cuts it. What
 * reaches the wire must be exactly what the stack sends without offloads,
 * byte for byte, loss recovery included. And a super-segment the kernel
 * hands us (GSO, checksum owed) is one segment of many MSS.
 */
import test from 'ava';
import { RX_CSUM_TRUSTED } from '../../stack/link.ts';
import { checksum, fold, pseudoHeaderSum } from '../../stack/wire/checksum.ts';
import { PROTO_TCP } from '../../stack/wire/ipv4.ts';
import { ADDR_A, ADDR_B, World, connected } from '../helpers/world.ts';
import { tcpPayloadLength } from '../helpers/packets.ts';
import { PEER_ADDR, STACK_ADDR, passiveOpen, pattern } from '../helpers/tcp-peer.ts';

const BYTES = 300_000;

/** A connects to B and writes BYTES; runs until B has read them all. Returns the wire and A's counters. */
function bulk(w: World, dst = ADDR_B, server = w.b): { received: number; wire: string[] } {
  const { client, server: accepted } = connected(w, dst, server);
  const data = pattern(BYTES);
  let written = 0;
  let received = 0;
  let intact = true;
  w.run(60_000, () => {
    if (written < BYTES) written += client.write(data.subarray(written));
    for (let d = accepted.read(); d !== null && d.length > 0; d = accepted.read()) {
      for (let i = 0; i < d.length; i++) if (d[i] !== data[received + i]) intact = false;
      received += d.length;
    }
    return received === BYTES;
  });
  if (!intact) throw new Error('data corrupted');
  return { received, wire: w.log.map((e) => `${e.t} ${e.from} ${Buffer.from(e.packet).toString('hex')}`) };
}

test('a bulk transfer leaves as super-segments that cut into exactly the segments sent without offloads', (t) => {
  const plain = new World();
  const offload = new World({ a: { offload: true } });
  const p = bulk(plain);
  const o = bulk(offload);
  t.is(o.received, BYTES);
  t.true(offload.superSegments.length > 10, `${offload.superSegments.length} super-segments`);
  t.true(offload.superSegments.every((s) => s.from === 'a' && s.gsoSize === 1448 && tcpPayloadLength(s.packet) > 1448));
  t.is(plain.superSegments.length, 0);
  t.deepEqual(o.wire, p.wire, 'the same packets at the same times');
  t.is(offload.a.counters.TcpOutSegs, plain.a.counters.TcpOutSegs, 'TcpOutSegs counts segments (tcp_skb_pcount)');
  t.true(offload.a.counters.IpOutRequests < plain.a.counters.IpOutRequests, 'one IpOutRequests per super-segment');
});

test('loss recovery is the same: a segment cut from a super-segment and lost is retransmitted alone, as without offloads', (t) => {
  const run = (w: World): ReturnType<typeof bulk> => {
    let data = 0;
    // The 40th and 41st data segments A puts on the wire are lost once.
    w.filter = (packet, from) => (from === 'a' && tcpPayloadLength(packet) > 0 && [40, 41].includes(++data) ? [] : [packet]);
    return bulk(w);
  };
  const plain = new World();
  const offload = new World({ a: { offload: true } });
  const p = run(plain);
  const o = run(offload);
  t.true(plain.a.counters.TcpRetransSegs >= 2);
  t.is(offload.a.counters.TcpRetransSegs, plain.a.counters.TcpRetransSegs);
  t.deepEqual(o.wire, p.wire);
});

test("a super-segment's checksum field holds the pseudo-header sum: summing from the TCP header completes it (CHECKSUM_PARTIAL)", (t) => {
  const w = new World({ a: { offload: true } });
  bulk(w);
  const s = w.superSegments[0]!.packet;
  const hl = (s[0]! & 15) * 4;
  const src = ADDR_A;
  const dst = ADDR_B;
  const field = (s[hl + 16]! << 8) | s[hl + 17]!;
  t.is(field, fold(pseudoHeaderSum(src, dst, PROTO_TCP, s.length - hl)));
  const whole = s.slice();
  whole[hl + 16] = whole[hl + 17] = 0;
  t.is(checksum(s, hl, s.length), checksum(whole, hl, whole.length, pseudoHeaderSum(src, dst, PROTO_TCP, s.length - hl)));
});

test('no super-segments toward our own address: those loop back to our own input', (t) => {
  const w = new World({ a: { offload: true } });
  t.is(bulk(w, ADDR_A, w.a).received, BYTES);
  t.is(w.superSegments.length, 0);
});

/** Four segments of 1448 bytes as one packet with the checksum the kernel leaves for us to trust. */
function superSegment(peer: ReturnType<typeof passiveOpen>['peer']): Uint8Array {
  const p = peer.packet({ flags: 'P.', seq: peer.their(1), ack: peer.our(1), data: pattern(4 * 1448) });
  const hl = (p[0]! & 15) * 4;
  const partial = fold(pseudoHeaderSum(PEER_ADDR, STACK_ADDR, PROTO_TCP, p.length - hl));
  p[hl + 16] = partial >>> 8;
  p[hl + 17] = partial & 0xff;
  return p;
}

test('a super-segment from the kernel with its checksum owed is taken whole and ACKed at once', (t) => {
  const { s, peer, ep } = passiveOpen();
  s.stack.input(superSegment(peer), RX_CSUM_TRUSTED | 1448);
  const answer = peer.flush();
  t.is(answer.length, 1);
  t.like(answer[0], { flags: '.', ack: peer.their(1 + 4 * 1448) });
  t.deepEqual(ep.read(), pattern(4 * 1448));
  t.is(s.stack.counters.TcpInCsumErrors, 0);
});

test('the same packet without the mark is verified, fails, and is dropped without an answer (TcpInCsumErrors)', (t) => {
  const { s, peer, ep } = passiveOpen();
  t.is(s.stack.input(superSegment(peer)), 'TCP_CSUM');
  t.deepEqual(peer.flush(), []);
  t.is(s.stack.counters.TcpInCsumErrors, 1);
  t.is(ep.readableBytes, 0);
});
