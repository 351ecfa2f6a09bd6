/**
 * Stack.copied: the payload bytes TCP copies in user space, each way
 * (stack/tcp/context.ts, CopiedBytes), which make bench divides by the bytes
 * carried: into the send queue and into each segment sent; into the receive
 * queue, in order or out of order, and out of it when one read spans
 * segments.
 */
import test from 'ava';
import { World, connected } from '../helpers/world.ts';
import { tcpPayloadLength } from '../helpers/packets.ts';

const BYTES = 10_000; // 7 segments of 1448 bytes (the last 1312)

test('one write of 10,000 bytes read at once: copied twice each way (queue and segments; queue and the read that joins 7 segments)', (t) => {
  const w = new World();
  const { client, server } = connected(w);
  t.is(client.write(new Uint8Array(BYTES).fill(7)), BYTES);
  w.run(w.clock.now() + 1000);
  t.deepEqual(w.a.copied, { rx: 0, tx: 2 * BYTES });
  t.deepEqual(w.b.copied, { rx: BYTES, tx: 0 }, 'queued, not read yet');
  const data = server.read();
  t.is(data?.length, BYTES);
  t.deepEqual(w.b.copied, { rx: 2 * BYTES, tx: 0 });
});

test('reads of one segment each hand out views: only the queue copy', (t) => {
  const w = new World();
  const { client, server } = connected(w);
  client.write(new Uint8Array(BYTES));
  w.run(w.clock.now() + 1000);
  let got = 0;
  for (;;) {
    const d = server.read(1448);
    if (d === null || d.length === 0) break;
    got += d.length;
  }
  t.is(got, BYTES);
  t.deepEqual(w.b.copied, { rx: BYTES, tx: 0 });
});

test('a segment lost once: its retransmission is copied again; what waited out of order is copied once', (t) => {
  const w = new World();
  const { client, server } = connected(w);
  let dataSegments = 0;
  w.filter = (packet, from) => (from === 'a' && tcpPayloadLength(packet) > 0 && ++dataSegments === 2 ? [] : [packet]);
  client.write(new Uint8Array(BYTES));
  w.run(w.clock.now() + 5000);
  const retransmitted = client.info().bytesRetrans;
  t.true(retransmitted >= 1448, `segment 2 went again (${w.a.counters.TcpRetransSegs} retransmissions on a path with no delay)`);
  t.deepEqual(w.a.copied, { rx: 0, tx: 2 * BYTES + retransmitted });
  // Segments 3-7 waited out of order (copied once, then moved as they were), segment 2 came in order.
  t.deepEqual(w.b.copied, { rx: BYTES, tx: 0 });
  t.is(server.read(1448)?.length, 1448);
});

test('keepsInput: received payloads are queued as views of the packets, not copied', (t) => {
  const w = new World({ b: { keepsInput: true } });
  const { client, server } = connected(w);
  client.write(new Uint8Array(BYTES).fill(9));
  w.run(w.clock.now() + 1000);
  t.deepEqual(w.b.copied, { rx: 0, tx: 0 });
  const first = server.read(1448)!;
  t.is(first.length, 1448);
  // A view of the packet the wire delivered: the same bytes, not a copy of them.
  const packet = w.log.find((e) => e.from === 'a' && tcpPayloadLength(e.packet) === 1448)!.packet;
  t.is(first.buffer, packet.buffer);
  t.deepEqual(server.read()?.length, BYTES - 1448);
  t.deepEqual(w.b.copied, { rx: BYTES - 1448, tx: 0 }, 'the read that joined 6 segments copied them');
});

test('keepsInput and readInPlace: each read ends with its segment and is a view of the packet; nothing is copied on the way in', (t) => {
  const w = new World({ b: { keepsInput: true } });
  const { client, server } = connected(w);
  const data = new Uint8Array(BYTES).map((_, i) => i % 251);
  client.write(data);
  w.run(w.clock.now() + 1000);
  const packets = w.log.filter((e) => e.from === 'a' && tcpPayloadLength(e.packet) > 0).map((e) => e.packet.buffer);
  const lengths: number[] = [];
  const got: number[] = [];
  for (let d = server.readInPlace(64 * 1024); d !== null && d.length > 0; d = server.readInPlace(64 * 1024)) {
    t.true(packets.includes(d.buffer), 'a view of a packet from the wire');
    lengths.push(d.length);
    got.push(...d);
  }
  t.deepEqual(lengths, [1448, 1448, 1448, 1448, 1448, 1448, 1312]);
  t.deepEqual(Uint8Array.from(got), data);
  t.deepEqual(w.b.copied, { rx: 0, tx: 0 });
  t.is(server.readableBytes, 0);
});

test('readInPlace with a smaller max takes the rest of the segment next, then the next segment', (t) => {
  const w = new World({ b: { keepsInput: true } });
  const { client, server } = connected(w);
  client.write(new Uint8Array(3000));
  w.run(w.clock.now() + 1000);
  t.deepEqual([server.readInPlace(1000)?.length, server.readInPlace(1000)?.length, server.readInPlace()?.length, server.readInPlace()?.length], [1000, 448, 1448, 104]);
  t.is(server.readInPlace(), null, 'EAGAIN once all is read');
  t.deepEqual(w.b.copied, { rx: 0, tx: 0 });
});

test('writeZeroCopy: the send queue keeps views of the written bytes; only the copy into each segment is left', (t) => {
  const w = new World();
  const { client, server } = connected(w);
  const data = new Uint8Array(BYTES).map((_, i) => i % 253);
  t.is(client.writeZeroCopy(data), BYTES);
  w.run(w.clock.now() + 1000);
  t.deepEqual(w.a.copied, { rx: 0, tx: BYTES });
  t.deepEqual(server.read(), data);
});

/** A's send queue (its one connection). */
function sendQueueOf(w: World): { pinned: number; length: number } {
  const layer = (w.a as unknown as { tcpLayer: { connections: Map<unknown, { sendQueue: { pinned: number; length: number } }> } }).tcpLayer;
  return [...layer.connections.values()][0]!.sendQueue;
}

test('writeZeroCopy: 100 bytes of a 1 MiB buffer the peer leaves unacknowledged are copied when the RTO fires, letting the buffer go', (t) => {
  const w = new World();
  const { client, server } = connected(w);
  const big = new Uint8Array(1 << 20).fill(5);
  // The data, its tail loss probe and the first RTO's retransmission are lost; the second RTO's gets through.
  w.filter = (packet, from) => (from === 'a' && tcpPayloadLength(packet) > 0 && w.a.counters.TcpExtTCPTimeouts < 2 ? [] : [packet]);
  t.is(client.writeZeroCopy(big.subarray(0, 100)), 100);
  w.run(w.clock.now() + 100);
  t.is(sendQueueOf(w).pinned, 1 << 20, 'a view of the whole buffer while the first transmission is out');
  t.is(w.a.copied.tx, 100, 'only the segment copy so far');
  w.run(w.clock.now() + 1500, () => w.a.counters.TcpExtTCPTimeouts > 0);
  t.is(w.a.counters.TcpExtTCPLossProbes, 1);
  t.is(sendQueueOf(w).pinned, 100, 'its own copy now');
  t.is(w.a.copied.tx, 100 + 100 + 100 + 100, 'the segment, the probe, the compaction, the retransmitted segment');
  w.run(w.clock.now() + 5000, () => w.a.counters.TcpExtTCPTimeouts === 2);
  t.is(w.a.copied.tx, 500, 'nothing more to compact');
  w.run(w.clock.now() + 1000);
  t.deepEqual(server.read(), big.subarray(0, 100));
});
