/**
 * ByteQueue (stack/tcp/buffers.ts) against a plain array of the same bytes:
 * pushes, consumes, compactions and copy-outs in random order, sequential
 * copy-outs (the send path's, which start from the cursor the last one left)
 * and random ones (a retransmission going back), from a seeded generator.
 */
import test from 'ava';
import { ByteQueue } from '../../stack/tcp/buffers.ts';
import { SeededRandom } from '../../stack/random.ts';

test('copy-outs, sequential or anywhere, match a flat copy through pushes, consumes and compactions', (t) => {
  const random = new SeededRandom(7);
  const below = (n: number): number => random.u32() % n;
  const q = new ByteQueue();
  const flat: number[] = [];
  /** flat[front] is the queue's first byte. */
  let front = 0;
  let next = 0;
  let sequential = 0;
  let checked = 0;
  for (let step = 0; step < 20_000; step++) {
    // Phases of filling and of draining, so the front moves far into the chunk array and the array is re-cut.
    const draining = Math.floor(step / 400) % 2 === 1;
    const op = below(100);
    if (op < (draining ? 10 : 40)) {
      // A chunk, sometimes a view into a larger buffer (what the receive path queues).
      const n = 1 + below(below(4) === 0 ? 3000 : 200);
      const buffer = new Uint8Array(n + below(2) * 4096);
      const at = below(buffer.length - n + 1);
      for (let i = 0; i < n; i++) buffer[at + i] = (next + i) & 0xff;
      q.push(buffer.subarray(at, at + n));
      for (let i = 0; i < n; i++) flat.push((next + i) & 0xff);
      next += n;
    } else if (op < 50 && q.length > 0) {
      // 10 in 100 steps while filling, 40 while draining.
      const n = below(Math.min(q.length, 1500) + 1);
      q.consume(n);
      front += n;
      sequential = Math.max(0, sequential - n);
    } else if (op === 50) {
      q.compact(below(2) === 0 ? 0 : 16384);
    } else if (q.length > 0) {
      // Mostly in order, as segments are cut; sometimes anywhere.
      let offset = op < 90 ? sequential : below(q.length);
      if (offset >= q.length) offset = 0;
      const n = 1 + below(Math.min(q.length - offset, 1448));
      const out = new Uint8Array(n + 2);
      q.copyOut(offset, n, out, 1);
      for (let i = 0; i < n; i++) {
        if (out[1 + i] !== flat[front + offset + i]) {
          t.fail(`step ${step}: byte ${offset + i} is ${out[1 + i]}, not ${flat[front + offset + i]}`);
          return;
        }
      }
      checked += n;
      sequential = offset + n;
    }
    t.is(q.length, flat.length - front);
  }
  t.true(checked > 1_000_000, `${checked} bytes checked`);
});
