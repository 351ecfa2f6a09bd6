/**
 * Bulk transfers between two of our stacks in virtual time (test/helpers/world.ts):
 * each side writes its data as fast as the connection takes it, half-closes,
 * and reads everything the other side sent; SHA-256 on both ends.
 */
import { createHash } from 'node:crypto';
import { SeededRandom } from '../../stack/random.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { ADDR_B, type World } from '../helpers/world.ts';

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Deterministic pseudo-random bytes (fast: 32 bits a draw). */
export function payload(seed: number, n: number): Uint8Array {
  const rng = new SeededRandom(seed);
  const d = new Uint8Array(n + 3);
  const words = new DataView(d.buffer);
  for (let i = 0; i < n; i += 4) words.setUint32(i, rng.u32());
  return d.subarray(0, n);
}

interface Side {
  sent: string;
  /** SHA-256 of what arrived, once the peer's FIN came. */
  got?: string;
  bytes: number;
}

/** Writes `data` and half-closes; hashes what arrives until the peer's FIN; closes once both are done. */
function drive(ep: Endpoint, data: Uint8Array, side: Side): void {
  let offset = 0;
  let sentFin = false;
  let closed = false;
  const hash = createHash('sha256');
  const step = (): void => {
    if (closed) return;
    const writable = ep.state === 'ESTABLISHED' || ep.state === 'CLOSE_WAIT';
    while (writable && offset < data.length) {
      const n = ep.write(data.subarray(offset, Math.min(offset + 65536, data.length)));
      if (n === 0) break;
      offset += n;
    }
    if (writable && offset === data.length && !sentFin) {
      ep.shutdown('write');
      sentFin = true;
    }
    while (side.got === undefined) {
      const d = ep.read();
      if (d === null) break;
      if (d.length === 0) {
        side.got = hash.digest('hex');
        break;
      }
      hash.update(d);
      side.bytes += d.length;
    }
    if (sentFin && side.got !== undefined) {
      closed = true;
      ep.close();
    }
  };
  ep.onEvent = step;
  step();
}

export interface TransferResult {
  /** A → B and B → A: what was sent and what arrived (SHA-256). */
  up: Side;
  down: Side;
  /** Virtual milliseconds the transfer took. */
  virtualMs: number;
}

/**
 * One connection from A to B, `up` bytes A → B and `down` bytes B → A at
 * once; over IPv6 to `to6` (B's IPv6 address) when given, both ends AF_INET6
 * sockets.
 */
export function transfer(w: World, upData: Uint8Array, downData: Uint8Array, port = 7000, limitMs = 3_600_000, to6?: string): TransferResult {
  const server = w.b.tcp.socket(to6 === undefined ? 4 : 6);
  server.bind(to6 === undefined ? 0 : '::', port);
  server.listen(8);
  const up: Side = { sent: sha256(upData), bytes: 0 };
  const down: Side = { sent: sha256(downData), bytes: 0 };
  server.onEvent = () => {
    const child = server.accept();
    if (child) {
      drive(child, downData, up);
      server.close();
    }
  };
  const client = w.a.tcp.socket(to6 === undefined ? 4 : 6);
  client.connect(to6 ?? formatIpv4(ADDR_B), port);
  drive(client, upData, down);
  const start = w.clock.now();
  w.run(start + limitMs, () => up.got !== undefined && down.got !== undefined);
  return { up, down, virtualMs: w.clock.now() - start };
}
