/**
 * Many transfers between two of our stacks over a seeded lossy, reordering,
 * duplicating wire, in virtual time: every byte arrives intact and in order.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { SeededRandom } from '../../stack/random.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { ADDR_B, World } from '../helpers/world.ts';

interface Transfer {
  bytes: number;
}

/** Writes `data` to `ep` as fast as it takes it, reads everything into a hash, closes when both done. */
function drive(ep: Endpoint, data: Uint8Array, onDone: (received: Buffer) => void): void {
  let offset = 0;
  const chunks: Uint8Array[] = [];
  let sentFin = false;
  let eof = false;
  let done = false;
  // Writes until all is taken and shut down, reads until the peer's EOF;
  // closes once both are done (a close with data still unwritten would end
  // the transfer short).
  const step = (): void => {
    if (done) return;
    const connected = ep.state === 'ESTABLISHED' || ep.state === 'CLOSE_WAIT';
    while (connected && offset < data.length) {
      const n = ep.write(data.subarray(offset, Math.min(offset + 16384, data.length)));
      if (n === 0) break;
      offset += n;
    }
    if (connected && offset === data.length && !sentFin) {
      ep.shutdown('write');
      sentFin = true;
    }
    while (!eof) {
      const d = ep.read();
      if (d === null) break;
      if (d.length === 0) eof = true;
      else chunks.push(d.slice());
    }
    if (eof && sentFin) {
      done = true;
      ep.close();
      onDone(Buffer.concat(chunks));
    }
  };
  ep.onEvent = step;
  step();
}

function payload(rng: SeededRandom, n: number): Uint8Array {
  const d = new Uint8Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.u32() & 255;
  return d;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

for (let seed = 1; seed <= 16; seed++) {
  test(`seed ${seed}: transfers both ways survive 5% loss, 3% reordering, 2% duplication`, (t) => {
    const rng = new SeededRandom(seed * 7919);
    const w = new World({ seed });
    w.filter = (packet, from, now) => {
      const r = rng.float();
      if (r < 0.05) return [];
      if (r < 0.08) {
        w.delayed.push({ at: now + 1 + rng.below(30), from, packet });
        return [];
      }
      if (r < 0.1) return [packet, packet];
      return [packet];
    };
    const server = w.b.tcp.socket();
    server.bind(0, 5001);
    server.listen(64);
    const results: Array<{ up: boolean; down: boolean }> = [];
    const transfers: Transfer[] = [{ bytes: 200_000 }, { bytes: 1 }, { bytes: 65_537 }, { bytes: 0 }, { bytes: 300_000 }];
    let finished = 0;
    server.onEvent = () => {
      for (let child = server.accept(); child; child = server.accept()) {
        const ep = child;
        const expectedUp = pendingUp.shift()!;
        drive(ep, expectedUp.reply, (got) => {
          expectedUp.serverGot = sha(got);
          finished++;
        });
      }
    };
    const pendingUp: Array<{ reply: Uint8Array; serverGot?: string }> = [];
    const clientResults: Array<{ sentUp: string; sentDown: string; got?: string; record: { reply: Uint8Array; serverGot?: string } }> = [];
    for (const tr of transfers) {
      const up = payload(rng, tr.bytes);
      const down = payload(rng, Math.floor(tr.bytes / 2) + 3);
      const record: { reply: Uint8Array; serverGot?: string } = { reply: down };
      pendingUp.push(record);
      const client = w.a.tcp.socket();
      client.connect(formatIpv4(ADDR_B), 5001);
      const entry: (typeof clientResults)[number] = { sentUp: sha(up), sentDown: sha(down), record };
      clientResults.push(entry);
      drive(client, up, (got) => {
        entry.got = sha(got);
        finished++;
      });
      // One connection at a time keeps the accept order equal to the connect order.
      w.run(w.clock.now() + 600_000, () => entry.got !== undefined && record.serverGot !== undefined);
    }
    for (const r of clientResults) results.push({ up: r.record.serverGot === r.sentUp, down: r.got === r.sentDown });
    t.is(finished, transfers.length * 2, 'every direction of every transfer finished');
    t.deepEqual(results, transfers.map(() => ({ up: true, down: true })));
    t.true(w.a.counters.TcpRetransSegs + w.b.counters.TcpRetransSegs > 0, 'the wire did lose segments');
    t.is(w.a.drops.INTERNAL_ERROR + w.b.drops.INTERNAL_ERROR, 0);
    // Every close completes too: after the FIN exchanges and TIME_WAIT, both tables are empty.
    w.run(w.clock.now() + 400_000);
    t.deepEqual(w.a.tcp.connections(), []);
    t.deepEqual(w.b.tcp.connections(), []);
  });
}
