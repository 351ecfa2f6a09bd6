/**
 * What the stack holds once connections are gone (docs/architecture.md,
 * "Decisions, and why": Memory): a TIME_WAIT minisock keeps a few words, not the connection
 * (tcp_time_wait frees the full socket, net/ipv4/tcp_minisocks.c), and after
 * every connection has closed and TIME_WAIT has expired the tables, the
 * timer queue and the per-batch sets are empty again.
 *
 * Whether an object is still reachable is asked of V8 itself: WeakRefs to the
 * connections, then a full garbage collection (gc exposed at run time).
 */
import test from 'ava';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Endpoint } from '../../stack/socket/types.ts';
import type { Stack } from '../../stack/stack.ts';
import type { Connection } from '../../stack/tcp/connection.ts';
import type { TcpLayer } from '../../stack/tcp/tcp.ts';
import { World } from '../helpers/world.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A full collection after the current job, so WeakRefs read in it may be cleared (WeakRef keep-during-job). */
async function collect(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setImmediate(resolve));
}

const layerOf = (s: Stack): TcpLayer => s['tcpLayer'];
const liveConnections = (s: Stack): Connection[] => [...layerOf(s).connections.values()];

/** Every structure of the TCP layer and the stack that grows with connections. */
function footprint(s: Stack): Record<string, number> {
  const l = layerOf(s);
  return {
    connections: l.connections.size,
    timewaits: l.timewaits.size,
    portHolds: l.binds.references,
    twViews: l['twViews'].size,
    dirty: l['dirtyCount'],
    wake: l['wakeList'].length,
    boundPorts: l.binds['ports'].size,
    timers: s.timers.size,
    outbox: s.output.outbox.length,
  };
}

const N = 200;

/** n (default N) connections from a to b's port 7, one byte each way, all accepted; returns both ends' endpoints. */
function openMany(w: World, n = N): { clients: Endpoint[]; servers: Endpoint[]; listener: Endpoint } {
  const listener = w.b.tcp.socket();
  listener.bind(0, 7);
  listener.listen(N);
  const clients: Endpoint[] = [];
  const servers: Endpoint[] = [];
  for (let i = 0; i < n; i++) {
    const c = w.a.tcp.socket();
    c.connect('198.18.0.2', 7);
    clients.push(c);
  }
  w.settle();
  for (let s = listener.accept(); s !== null; s = listener.accept()) servers.push(s);
  for (const c of clients) c.write(new Uint8Array([1]));
  w.settle();
  for (const s of servers) {
    s.read();
    s.write(new Uint8Array([2]));
  }
  w.settle();
  for (const c of clients) c.read();
  return { clients, servers, listener };
}

/**
 * a closes first (its ends become TIME_WAIT minisocks), b answers the EOF
 * with its own close; the application forgets its sockets. A plain function:
 * an async test's suspended frame could keep its last loop variable alive.
 */
function closeAll(w: World, clients: Endpoint[], servers: Endpoint[]): void {
  for (const c of clients) c.close();
  w.settle();
  for (const s of servers) {
    if ((s.read()?.length ?? 0) !== 0) throw new Error('expected EOF');
    s.close();
  }
  w.settle();
  clients.length = 0;
  servers.length = 0;
}

test('closed connections: TIME_WAIT holds no connection; after it expires every table is empty', async (t) => {
  const w = new World();
  const { clients, servers, listener } = openMany(w);
  t.is(servers.length, N);
  const before = footprint(w.a);
  t.is(before.connections, N);
  const refsA = liveConnections(w.a).map((c) => new WeakRef(c));
  const refsB = liveConnections(w.b).filter((c) => c.localPort === 7).map((c) => new WeakRef(c));
  t.is(refsB.length, N);

  closeAll(w, clients, servers);
  t.is(layerOf(w.a).timewaits.size, N, 'every client end is in TIME_WAIT');
  await collect();
  t.is(refsA.filter((r) => r.deref() !== undefined).length, 0, 'no client connection survives as a minisock');
  t.is(refsB.filter((r) => r.deref() !== undefined).length, 0, 'no server connection survives LAST_ACK');

  w.run(w.clock.now() + 61_000);
  const zero = { connections: 0, timewaits: 0, portHolds: 0, twViews: 0, dirty: 0, wake: 0, boundPorts: 0, timers: 0, outbox: 0 };
  t.deepEqual(footprint(w.a), zero);
  // b still listens on 7: that port stays bound (the listener's own hold), nothing else.
  t.deepEqual(footprint(w.b), { ...zero, boundPorts: 1, portHolds: 1 });
  t.is(w.a.tcp.connections().length, 0);
  t.deepEqual(w.b.tcp.listeners().map((l) => [l.acceptQueue, l.synQueue]), [[0, 0]]);
  listener.close();
  t.deepEqual(footprint(w.b), zero);
});

test('a socket still held in TIME_WAIT shows the state, sees CLOSED at expiry, and is let go once closed', async (t) => {
  const w = new World();
  const { clients, servers } = openMany(w);
  const held = clients[0]!;
  const conn = liveConnections(w.a).find((c) => c.localPort === held.localPort)!;
  // Active close without close(): shutdown, the peer's FIN, TIME_WAIT with the socket still ours.
  held.shutdown('write');
  w.settle();
  servers[0]!.read();
  servers[0]!.close();
  w.settle();
  t.is(held.state, 'TIME_WAIT');
  w.run(w.clock.now() + 61_000);
  t.is(held.state, 'CLOSED', 'the held socket follows its minisock to CLOSED');

  // A second one, closed by its application while in TIME_WAIT: the minisock lets go of it at once.
  const closedInTimeWait = (): WeakRef<Connection> => {
    const other = clients[1]!;
    const ref = new WeakRef(liveConnections(w.a).find((c) => c.localPort === other.localPort)!);
    other.shutdown('write');
    w.settle();
    servers[1]!.read();
    servers[1]!.close();
    w.settle();
    t.is(other.state, 'TIME_WAIT');
    other.close();
    return ref;
  };
  const ref = closedInTimeWait();
  clients.length = 0;
  servers.length = 0;
  t.is(layerOf(w.a)['twViews'].size, 0);
  await collect();
  t.is(ref.deref(), undefined, 'closed by its application, the connection is no longer held');
  t.is(layerOf(w.a).timewaits.size, 1, 'the minisock itself stays for its 60 s');
  t.truthy(conn);
});

test('an idle connection after a burst keeps no slots of it: retransmission and byte queues are back to empty arrays', (t) => {
  const w = new World();
  const { clients, servers } = openMany(w, 1);
  const client = clients[0]!;
  const server = servers[0]!;
  const piece = new Uint8Array(1000).fill(7);
  let received = 0;
  let written = 0;
  for (let round = 0; round < 1000 && received < 1_000_000; round++) {
    // As much as the send buffer takes (sndbuf.ts), a megabyte in all.
    for (let n = 1; n > 0 && written < 1_000_000; written += n) n = client.write(piece.subarray(0, Math.min(piece.length, 1_000_000 - written)));
    w.run(w.clock.now() + 10);
    for (let d = server.read(); d !== null && d.length > 0; d = server.read()) received += d.length;
  }
  t.is(received, 1_000_000);
  w.run(w.clock.now() + 1000);
  const [sender] = liveConnections(w.a);
  const receiver = liveConnections(w.b).find((c) => c.localPort === 7)!;
  t.is(sender!.rtx.length, 0, 'everything acknowledged');
  const slots = (c: Connection): Record<string, number> => ({
    rtx: c.rtx['records'].length,
    sendQueue: c.sendQueue['chunks'].length,
    recvQueue: c.recvQueue['chunks'].length,
  });
  t.deepEqual(slots(sender!), { rtx: 0, sendQueue: 0, recvQueue: 0 });
  t.deepEqual(slots(receiver), { rtx: 0, sendQueue: 0, recvQueue: 0 });
});
