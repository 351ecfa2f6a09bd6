/**
 * Views of received packets (StackOptions.keepsInput, as `up` runs): TCP
 * queues the payload where the link put it, and a receive queue whose views
 * keep much more memory alive than they hold (a slow reader's small segments,
 * each in a batch of other traffic) is compacted after the batch
 * (ByteQueue.compact, views.ts compactReceiveQueue), while a reader's own bulk
 * batches stay views.
 */
import test from 'ava';
import { ByteQueue } from '../../stack/tcp/buffers.ts';
import { World, connected } from '../helpers/world.ts';

/** `n` bytes of a pattern starting at `from`. */
const bytes = (n: number, from = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251);

/** `data` as a view into a buffer of `size` bytes (a batch with other packets around it). */
function inBatch(data: Uint8Array, size: number, at = 0): Uint8Array {
  const batch = new Uint8Array(size);
  batch.set(data, at);
  return batch.subarray(at, at + data.length);
}

test('compact: a run of chunks that is a small part of its buffer is copied; one that is most of it stays a view', (t) => {
  const q = new ByteQueue();
  const bulk = new Uint8Array(100_000);
  q.push(bulk.subarray(0, 40_000));
  q.push(bulk.subarray(40_000, 80_000)); // same buffer: one run of 80,000 in 100,000
  q.push(inBatch(bytes(100), 1 << 20)); // 100 bytes keeping 1 MiB alive
  t.is(q.pinned, 100_000 + (1 << 20));
  t.is(q.compact(16 * 1024), 100);
  t.is(q.pinned, 100_000 + 100);
  t.is(q.length, 80_100);
  const out = q.shift(80_100);
  t.is(out.length, 80_100);
  t.deepEqual(out.subarray(80_000), bytes(100));
  t.is(q.pinned, 0);
});

test('compact keeps the order and what was already read of the head chunk out', (t) => {
  const q = new ByteQueue();
  q.push(inBatch(bytes(300), 1 << 16));
  q.push(inBatch(bytes(300, 300), 1 << 16));
  t.is(q.shift(100).length, 100);
  t.is(q.compact(1024), 500);
  t.deepEqual(q.shift(500), bytes(500, 100));
});

/** B's receive queue (the one connection it has). */
function recvQueueOf(w: World): ByteQueue {
  const layer = (w.b as unknown as { tcpLayer: { connections: Map<unknown, { recvQueue: ByteQueue }> } }).tcpLayer;
  return [...layer.connections.values()][0]!.recvQueue;
}

test('a slow reader whose segments each come in a 256 KiB batch keeps copies, not the batches', (t) => {
  const w = new World({ b: { keepsInput: true } });
  const { client, server } = connected(w);
  client.setNoDelay(true);
  // Every packet A sends reaches B as a view into a batch of 256 KiB.
  w.filter = (packet, from) => (from === 'a' ? [inBatch(packet, 256 * 1024, 4096)] : [packet]);
  const sent = bytes(200 * 100);
  for (let i = 0; i < 200; i++) {
    client.write(sent.subarray(i * 100, (i + 1) * 100));
    w.run(w.clock.now() + 5);
  }
  const q = recvQueueOf(w);
  t.is(q.length, 20_000, 'nothing read yet');
  t.true(q.pinned <= 2 * q.length + 16 * 1024, `200 segments unread pin ${q.pinned} bytes (50 MiB without compaction)`);
  t.is(w.b.copied.rx, 20_000, 'each byte copied once, by the compaction');
  t.deepEqual(server.read(), sent);
});

test('a reader that keeps up with its own bulk transfer reads views: nothing compacted, only reads that span segments copy', (t) => {
  const w = new World({ b: { keepsInput: true } });
  const { client, server } = connected(w);
  const q = recvQueueOf(w);
  let compacted = 0;
  const compact = q.compact.bind(q);
  q.compact = (slack) => {
    const n = compact(slack);
    compacted += n;
    return n;
  };
  const sent = bytes(300_000);
  let written = 0;
  let got = 0;
  const parts: Uint8Array[] = [];
  w.run(60_000, () => {
    if (written < sent.length) written += client.write(sent.subarray(written));
    for (let d = server.read(1448); d !== null && d.length > 0; d = server.read(1448)) {
      parts.push(d);
      got += d.length;
    }
    return got === sent.length;
  });
  t.is(got, sent.length);
  t.is(compacted, 0);
  // What was copied is the reads that joined two received skbs (recvmsg), once each.
  t.true(w.b.copied.rx < sent.length / 4, `${w.b.copied.rx} bytes copied`);
  t.deepEqual(Buffer.concat(parts), Buffer.from(sent));
});

test('a reader woken by the batch reads before the compaction looks: small segments in big shared buffers, read in onEvent, are never copied', (t) => {
  const w = new World({ b: { keepsInput: true } });
  const { client, server } = connected(w);
  client.setNoDelay(true);
  // Each packet in a 1 MiB buffer, as the addon's read pool gives them.
  w.filter = (packet, from) => (from === 'a' ? [inBatch(packet, 1 << 20, 4096)] : [packet]);
  const got: number[] = [];
  server.onEvent = () => {
    for (let d = server.readInPlace(); d !== null && d.length > 0; d = server.readInPlace()) got.push(...d);
  };
  const sent = bytes(50 * 100);
  for (let i = 0; i < 50; i++) {
    client.write(sent.subarray(i * 100, (i + 1) * 100));
    w.run(w.clock.now() + 5);
  }
  t.deepEqual(Uint8Array.from(got), sent);
  t.is(w.b.copied.rx, 0, 'read in its wake-up, before the flush compacts what is left');
});
