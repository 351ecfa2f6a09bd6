/**
 * `up`'s host faults on the real TCP core in virtual time: freezing the
 * applications (AppGate) while the stack keeps running, and a host crash with
 * the services restarted (ServiceHost.crashAndRestart).
 */
import test from 'ava';
import { AppGate } from '../../cli/services/gate.ts';
import { ServiceHost } from '../../cli/services/host.ts';
import { parseServices } from '../../cli/services/index.ts';
import { describeForgotten } from '../../cli/timeline/format.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { SocketError, type Endpoint } from '../../stack/socket/types.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { ipHeaderLength } from '../../stack/wire/ipv4.ts';
import { TCP_FIN, TCP_RST, decodeTcpSegment } from '../../stack/wire/tcp.ts';
import { ADDR_B, World } from '../helpers/world.ts';

const B = formatIpv4(ADDR_B);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array | null): string => (b === null ? '<EAGAIN>' : new TextDecoder().decode(b));

/**
 * Packets move until the wire is quiet, then Node's event loop gets a turn
 * (streams react); when a round moves nothing, virtual time jumps to the next
 * timer, never beyond `until`. Stops when `done()` holds or at `until`.
 */
async function drive(w: World, until: number, done: () => boolean = () => false): Promise<void> {
  for (let round = 0; round < 100_000; round++) {
    if (done()) return;
    const before = w.log.length;
    w.settle();
    await new Promise((resolve) => setImmediate(resolve));
    w.settle();
    if (w.log.length !== before || done()) continue;
    const next = Math.min(w.a.nextDeadline(), w.b.nextDeadline());
    if (next > until) {
      w.clock.set(Math.max(w.clock.now(), until));
      return;
    }
    w.clock.set(Math.max(w.clock.now(), next));
    w.a.runTimers();
    w.b.runTimers();
  }
  throw new Error('drive: too many rounds');
}

/** Segments stack B sent from log index `from` on. */
function fromB(w: World, from = 0): Array<{ flags: number; len: number }> {
  return w.log
    .slice(from)
    .filter((e) => e.from === 'b')
    .map((e) => {
      const s = decodeTcpSegment(e.packet.subarray(ipHeaderLength(e.packet)));
      return { flags: s.flags, len: s.payload.length };
    });
}

async function connect(w: World, port: number): Promise<Endpoint> {
  const ep = w.a.tcp.socket();
  ep.connect(B, port);
  await drive(w, w.clock.now() + 1000, () => ep.state !== 'SYN_SENT');
  if (ep.state !== 'ESTABLISHED') throw new Error(`no connection to ${port}: ${ep.state}`);
  return ep;
}

/** Reads what the client has, once `want` bytes are there (bounded by virtual time). */
async function readAll(w: World, ep: Endpoint, want: number, within = 2000): Promise<string> {
  await drive(w, w.clock.now() + within, () => ep.readableBytes >= want);
  return str(ep.read());
}

test('frozen echo: the data is ACKed and waits in the receive queue, nothing is echoed; unfreeze echoes it', async (t) => {
  const w = new World();
  const host = new ServiceHost(parseServices('echo'), w.b.tcp, w.b);
  const c = await connect(w, 7);
  c.write(text('before'));
  t.is(await readAll(w, c, 6), 'before');

  host.freeze();
  t.true(host.frozen);
  c.write(text('while frozen'));
  await drive(w, w.clock.now() + 5000);
  t.is(c.readableBytes, 0, 'no echo while frozen');
  t.is(c.info().sendQ, 0, 'but the stack ACKed everything');
  t.is(w.b.tcp.connections()[0]!.recvQ, 12, 'unread in the server');

  const resumed = host.unfreeze();
  t.true(resumed >= 1);
  t.is(await readAll(w, c, 12), 'while frozen');
  c.close();
  await drive(w, w.clock.now() + 1000, () => host.services[0]!.connections() === 0);
  t.is(host.services[0]!.connections(), 0);
  host.close();
  t.is(w.a.drops.INTERNAL_ERROR + w.b.drops.INTERNAL_ERROR, 0);
});

test('frozen: the handshake completes but nothing is accepted; close-on-accept closes only after unfreeze', async (t) => {
  const w = new World();
  const host = new ServiceHost(parseServices('close-on-accept'), w.b.tcp, w.b);
  host.freeze();
  const c = await connect(w, 4002);
  await drive(w, w.clock.now() + 10_000);
  t.is(c.state, 'ESTABLISHED');
  t.is(c.read(), null, 'no FIN yet');
  t.is(w.b.tcp.listeners()[0]!.acceptQueue, 1, 'waiting in the accept queue');
  t.false(fromB(w).some((s) => (s.flags & (TCP_FIN | TCP_RST)) !== 0));
  host.unfreeze();
  await drive(w, w.clock.now() + 1000, () => c.state === 'CLOSE_WAIT');
  t.is(c.state, 'CLOSE_WAIT');
  t.deepEqual(c.read(), new Uint8Array(0));
  host.close();
});

test('the gate: read, write and accept answer EAGAIN while frozen, close and shutdown wait for unfreeze, events come once', (t) => {
  const w = new World();
  const gate = new AppGate(w.b.tcp);
  const listener = gate.provider.socket();
  listener.bind(0, 9000);
  listener.listen(8);
  let listenerEvents = 0;
  listener.onEvent = () => listenerEvents++;
  const c = w.a.tcp.socket();
  c.connect(B, 9000);
  w.run(1000, () => c.state === 'ESTABLISHED');
  t.is(listenerEvents, 1);
  const server = listener.accept()!;
  t.truthy(server);
  let serverEvents = 0;
  server.onEvent = () => serverEvents++;

  gate.freeze();
  c.write(text('abc'));
  w.run(2000);
  t.is(serverEvents, 0, 'the event is held');
  t.is(server.readableBytes, 3, 'the data is there');
  t.is(server.read(), null, 'read: EAGAIN');
  t.is(server.write(text('x')), 0, 'write: EAGAIN');
  const c2 = w.a.tcp.socket();
  c2.connect(B, 9000);
  w.run(3000, () => c2.state === 'ESTABLISHED');
  t.is(listener.accept(), null, 'accept: EAGAIN');
  server.shutdown('write');
  w.run(4000);
  t.is(c.read() === null ? 'no FIN' : 'FIN', 'no FIN', 'shutdown deferred');
  const log = w.log.length;
  t.is(gate.pending, 3, 'the server event (once), the shutdown, the listener event');

  const ran = gate.unfreeze();
  t.is(ran, 3);
  t.is(serverEvents, 1);
  t.is(listenerEvents, 2);
  t.is(str(server.read()), 'abc');
  w.run(5000);
  t.true(fromB(w, log).some((s) => (s.flags & TCP_FIN) !== 0), 'the FIN went out after unfreeze');
  t.deepEqual(c.read(), new Uint8Array(0));

  gate.freeze();
  server.close();
  t.throws(() => server.read(), { instanceOf: SocketError, code: 'EBADF' });
  w.run(6000);
  t.is(w.b.tcp.connections().find((i) => i.remotePort === c.localPort)!.state, 'FIN_WAIT2', 'not closed for the stack yet');
  gate.discard();
  t.false(gate.frozen);
  t.is(gate.pending, 0);
  listener.close();
});

test('crash and restart: nothing is sent at the crash, the old connection gets a RST on its next segment, the services listen again', async (t) => {
  const w = new World();
  const host = new ServiceHost(parseServices('echo,partial-read,no-accept'), w.b.tcp, w.b);
  const before = host.services;
  const c = await connect(w, 7);
  c.write(text('hello'));
  t.is(await readAll(w, c, 5), 'hello');
  const queued = await connect(w, 4004); // waits in no-accept's accept queue
  const log = w.log.length;

  const report = host.crashAndRestart();
  t.deepEqual(report, { forgotten: { connections: 2, timeWait: 0, requests: 0 }, wasFrozen: false });
  t.not(host.services, before);
  t.deepEqual(
    w.b.tcp.listeners().map((l) => l.localPort),
    [7, 4001, 4004],
  );
  t.is(w.b.tcp.connections().length, 0);
  t.is(w.b.nextDeadline(), Infinity, 'no timer of the old incarnation is left');
  await drive(w, w.clock.now() + 100);
  t.is(fromB(w, log).length, 0, 'a crashed host sends nothing');
  for (const s of before) t.is(s.connections(), 0, `${s.name} let go of its connections`);

  c.write(text('after'));
  await drive(w, w.clock.now() + 2000, () => c.state === 'CLOSED');
  t.throws(() => c.read(), { instanceOf: SocketError, code: 'ECONNRESET' });
  t.true(fromB(w, log).some((s) => (s.flags & TCP_RST) !== 0));
  t.is(queued.state, 'ESTABLISHED', 'a quiet client does not know yet');

  const again = await connect(w, 7);
  again.write(text('new'));
  t.is(await readAll(w, again, 3), 'new');
  host.close();
  await drive(w, w.clock.now() + 1000);
  t.is(w.a.drops.INTERNAL_ERROR + w.b.drops.INTERNAL_ERROR, 0);
});

test('crash report and trace agree: an open echo connection and the TIME_WAIT daytime left are "1 connection and 1 TIME_WAIT forgotten"', async (t) => {
  const events: TraceEvent[] = [];
  const w = new World({ b: { trace: (e) => events.push(e) } });
  const host = new ServiceHost(parseServices('echo,daytime'), w.b.tcp, w.b);
  const echo = await connect(w, 7);
  // daytime writes the date and closes first: its side ends in TIME_WAIT once the client closes too.
  const daytime = w.a.tcp.socket();
  daytime.connect(B, 13);
  await drive(w, w.clock.now() + 1000, () => daytime.state === 'CLOSE_WAIT');
  t.regex(str(daytime.read()), /\r\n$/); // read all: a close with unread data would reset
  daytime.close();
  await drive(w, w.clock.now() + 1000, () => w.b.tcp.connections().some((c) => c.state === 'TIME_WAIT'));
  t.deepEqual(w.b.tcp.connections().map((c) => c.state).sort(), ['ESTABLISHED', 'TIME_WAIT']);

  const report = host.crashAndRestart();
  t.deepEqual(report.forgotten, { connections: 1, timeWait: 1, requests: 0 });
  const traced = events.filter((e) => e.kind === 'host-crash');
  t.deepEqual(traced, [{ kind: 'host-crash', t: w.clock.now(), ...report.forgotten }], 'the trace counts what the report counts');
  t.is(describeForgotten(report.forgotten), '1 connection and 1 TIME_WAIT forgotten');
  t.is(echo.state, 'ESTABLISHED', 'the client does not know yet');
  host.close();
});

test('a crash while frozen: the held events die with the old applications, the new ones run', async (t) => {
  const w = new World();
  const host = new ServiceHost(parseServices('echo'), w.b.tcp, w.b);
  const c = await connect(w, 7);
  host.freeze();
  c.write(text('lost'));
  await drive(w, w.clock.now() + 1000);
  const report = host.crashAndRestart();
  t.deepEqual(report, { forgotten: { connections: 1, timeWait: 0, requests: 0 }, wasFrozen: true });
  t.false(host.frozen);
  await drive(w, w.clock.now() + 1000);
  t.is(c.readableBytes, 0, 'the frozen echo never answered');
  const again = await connect(w, 7);
  again.write(text('fresh'));
  t.is(await readAll(w, again, 5), 'fresh');
  host.close();
});

test('stopping while frozen closes every connection all the same', async (t) => {
  const w = new World();
  const host = new ServiceHost(parseServices('echo,no-read'), w.b.tcp, w.b);
  const c = await connect(w, 7);
  const d = await connect(w, 4005);
  host.freeze();
  host.close();
  await drive(w, w.clock.now() + 1000, () => c.state === 'CLOSE_WAIT' && d.state === 'CLOSE_WAIT');
  t.is(c.state, 'CLOSE_WAIT');
  t.is(d.state, 'CLOSE_WAIT');
  t.deepEqual(w.b.tcp.listeners(), []);
});
