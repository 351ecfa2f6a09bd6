/**
 * The transmit ring (IpOutput.reuseTransmitMemory): over a link that copies
 * on send, as a TUN write does, the stack builds each flush's datagrams in
 * the memory the previous flush used. The wire must not change by a byte,
 * and nothing that stays in the stack (a datagram to our own address, which
 * our own input may keep views of) may be built there.
 */
import test from 'ava';
import { World, connected, transferAll, ADDR_A } from '../helpers/world.ts';

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251);

function run(options: ConstructorParameters<typeof World>[0]): { w: World; read: Buffer } {
  const w = new World(options);
  const { client, server } = connected(w);
  const read = transferAll(w, client, server, bytes(300_000));
  return { w, read };
}

for (const offload of [false, true]) {
  test(`a link that copies on send gets every flush's packets in the same memory, and the same wire byte for byte${offload ? ' (super-segments)' : ''}`, (t) => {
    const stacks = offload ? { a: { offload: true }, b: { offload: true } } : {};
    const fresh = run(stacks);
    const ring = run({ ...stacks, copyOnSend: true });
    t.deepEqual(ring.read, Buffer.from(bytes(300_000)));
    t.is(ring.w.log.length, fresh.w.log.length);
    ring.w.log.forEach((entry, i) => {
      const other = fresh.w.log[i]!;
      if (entry.t !== other.t || entry.from !== other.from || Buffer.compare(entry.packet, other.packet) !== 0) {
        t.fail(`packet ${i} differs`);
      }
    });
    const fromA = ring.w.handedOver.filter((h) => h.from === 'a');
    t.true(fromA.length > 5, `${fromA.length} packets`);
    // One memory for every packet the sender handed over...
    t.is(new Set(fromA.map((h) => h.packet.buffer)).size, 1);
    // ...used again: what a packet handed over early holds now is a later packet.
    t.true(fromA.some((h) => h.packet.byteOffset === 0 && h !== fromA[0]));
    t.not(Buffer.compare(fromA[0]!.packet, ring.w.log.find((e) => e.from === 'a')!.packet), 0);
    // Without the copy, every packet is a buffer of its own.
    t.is(fresh.w.handedOver.length, 0);
  });
}

test('datagrams to our own address are never built in the ring: our input keeps views of them', (t) => {
  const w = new World({ copyOnSend: true, a: { keepsInput: true } });
  const looped: Uint8Array[] = [];
  const takeLoopback = w.a.output.takeLoopback.bind(w.a.output);
  w.a.output.takeLoopback = () => {
    const taken = takeLoopback();
    looped.push(...taken);
    return taken;
  };
  const { client, server } = connected(w, ADDR_A, w.a);
  // The server does not read until everything is sent: its receive queue holds views of looped datagrams meanwhile.
  const data = bytes(60_000);
  let sent = 0;
  w.run(10_000, () => {
    sent += client.write(data.subarray(sent));
    return sent === data.length;
  });
  // Traffic to B in between: flushes that reuse the ring.
  const { client: other, server: otherServer } = connected(w);
  t.deepEqual(transferAll(w, other, otherServer, bytes(50_000)), Buffer.from(bytes(50_000)));
  const got: Uint8Array[] = [];
  w.run(w.clock.now() + 10_000, () => {
    for (let chunk = server.read(); chunk !== null && chunk.length > 0; chunk = server.read()) got.push(chunk);
    return got.reduce((n, c) => n + c.length, 0) >= data.length;
  });
  t.deepEqual(Buffer.concat(got), Buffer.from(data));
  const ring = w.handedOver.find((h) => h.from === 'a')!.packet.buffer;
  t.true(looped.length > 10);
  t.is(looped.filter((p) => p.buffer === ring).length, 0);
});
