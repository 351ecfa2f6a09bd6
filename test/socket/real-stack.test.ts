/**
 * TcpSocket/TcpServer and the services over the real TCP core: two of our
 * stacks on an in-memory wire in virtual time (test/helpers/world.ts), with
 * Node's event loop given a turn between rounds of packets.
 */
import test from 'ava';
import http from 'node:http';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';
import type { SystemError } from '../../tun/node/errors.ts';
import { TcpSocket } from '../../tun/node/socket.ts';
import { TcpServer } from '../../tun/node/server.ts';
import { TcpAgent } from '../../tun/node/agent.ts';
import { startServices, parseServices } from '../../cli/services/index.ts';
import { ADDR_B, World } from '../helpers/world.ts';

const B = formatIpv4(ADDR_B);

/**
 * Alternates: packets move until the wire is quiet, then Node's event loop
 * runs (streams react, applications write); when a round sends nothing,
 * virtual time jumps to the next timer. Stops when `done()` holds.
 */
async function drive(w: World, done: () => boolean, maxRounds = 200_000): Promise<void> {
  for (let round = 0; round < maxRounds; round++) {
    if (done()) return;
    const before = w.log.length;
    w.settle();
    await new Promise((resolve) => setImmediate(resolve));
    w.settle();
    if (w.log.length === before && !done()) {
      const next = Math.min(w.a.nextDeadline(), w.b.nextDeadline());
      if (next !== Infinity) {
        w.clock.set(Math.max(w.clock.now(), next));
        w.a.runTimers();
        w.b.runTimers();
      }
    }
  }
  throw new Error('drive: not done');
}

function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >>> 9)) & 0xff;
  return b;
}

test('echo through TcpServer and TcpSocket on the real stack: 1 MiB back, in order, clean close', async (t) => {
  const w = new World();
  const server = new TcpServer(w.b.tcp, { allowHalfOpen: true }, (s) => s.pipe(s));
  server.listen(7);
  const client = TcpSocket.connect(w.a.tcp, 7, B);
  const chunks: Buffer[] = [];
  let closed: boolean | undefined;
  client.on('data', (c: Buffer) => chunks.push(c));
  client.on('close', (hadError: boolean) => (closed = hadError));
  const payload = pattern(1024 * 1024);
  client.end(payload);
  await drive(w, () => closed !== undefined);
  t.false(closed);
  t.true(Buffer.concat(chunks).equals(payload));
  t.is(client.bytesWritten, payload.length);
  t.is(client.bytesRead, payload.length);
  t.is(w.a.drops.INTERNAL_ERROR + w.b.drops.INTERNAL_ERROR, 0);
  server.close();
});

test("over IPv6: a literal's family picks the socket's, both ends report IPv6 in Node's words, and a '::' server takes an IPv4 client v4-mapped", async (t) => {
  const w = new World({ a: { address6: parseIpv6('2001:2::1')! }, b: { address6: parseIpv6('2001:2::2')! } });
  const accepted: TcpSocket[] = [];
  const server = new TcpServer(w.b.tcp, (s) => {
    accepted.push(s);
    s.pipe(s);
  });
  server.listen(7, '::');
  t.deepEqual(server.address(), { address: '::', family: 'IPv6', port: 7 });

  const six = TcpSocket.connect(w.a.tcp, 7, '2001:2::2');
  const echoed: Buffer[] = [];
  six.on('data', (c: Buffer) => echoed.push(c));
  six.write('over six');
  await drive(w, () => Buffer.concat(echoed).length === 8);
  t.is(Buffer.concat(echoed).toString(), 'over six');
  t.is(six.remoteAddress, '2001:2::2');
  t.is(six.remoteFamily, 'IPv6');
  t.is(six.localFamily, 'IPv6');
  t.deepEqual(six.address(), { address: '2001:2::1', family: 'IPv6', port: six.localPort });
  t.is(accepted[0]!.remoteAddress, '2001:2::1');
  t.is(accepted[0]!.remoteFamily, 'IPv6');

  const four = TcpSocket.connect(w.a.tcp, 7, B);
  await drive(w, () => accepted.length === 2 && !four.connecting);
  t.is(four.remoteFamily, 'IPv4');
  t.is(four.remoteAddress, B);
  // As a Node server on '::' reports an IPv4 client (IPV6_V6ONLY off).
  t.is(accepted[1]!.remoteAddress, '::ffff:198.18.0.1');
  t.is(accepted[1]!.remoteFamily, 'IPv6');
  t.is(accepted[1]!.localAddress, '::ffff:198.18.0.2');
  for (const s of [six, four]) s.destroy();
  server.close();
});

test('ECONNREFUSED from the real stack, with syscall connect', async (t) => {
  const w = new World();
  const client = TcpSocket.connect(w.a.tcp, 9999, B);
  let error: SystemError | undefined;
  client.on('error', (e: SystemError) => (error = e));
  await drive(w, () => error !== undefined);
  t.is(error!.code, 'ECONNREFUSED');
  t.is(error!.syscall, 'connect');
});

test('resetAndDestroy on the real stack: the peer gets ECONNRESET', async (t) => {
  const w = new World();
  let accepted: TcpSocket | undefined;
  const server = new TcpServer(w.b.tcp, (s) => (accepted = s));
  server.listen(7);
  const client = TcpSocket.connect(w.a.tcp, 7, B);
  await drive(w, () => accepted !== undefined && !client.connecting);
  let error: SystemError | undefined;
  accepted!.on('error', (e: SystemError) => (error = e));
  accepted!.resume();
  client.resetAndDestroy();
  await drive(w, () => error !== undefined);
  t.is(error!.code, 'ECONNRESET');
  t.is(w.a.counters.TcpOutRsts, 1);
  server.close();
});

test('the services on the real stack: http status page with keep-alive through TcpAgent, then chargen', async (t) => {
  const w = new World();
  const running = startServices(parseServices('http,chargen,echo'), w.b.tcp, w.b);
  const agent = new TcpAgent(w.a.tcp, { keepAlive: true, maxSockets: 1 });
  const bodies: string[] = [];
  const get = (path: string): void => {
    http.get({ host: B, port: 80, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => bodies.push(`${res.statusCode} ${body}`));
    });
  };
  get('/counters');
  get('/');
  await drive(w, () => bodies.length === 2);
  t.regex(bodies[0]!, /^200 #kernel\n/);
  t.regex(bodies[0]!, /TcpPassiveOpens\s+1\n/);
  t.regex(bodies[1]!, /<td>ESTAB<\/td><td>0<\/td><td>\d+<\/td><td>198\.18\.0\.2:80<\/td>/);
  t.is(w.b.counters.TcpPassiveOpens, 1, 'both requests on one connection');
  agent.destroy();

  const chargen = TcpSocket.connect(w.a.tcp, 19, B);
  let received = 0;
  chargen.on('data', (c: Buffer) => (received += c.length));
  await drive(w, () => received >= 60_000); // within the first burst: no real time needs to pass
  chargen.destroy();
  running.close();
  await drive(w, () => w.b.tcp.listeners().length === 0);
  t.is(w.a.drops.INTERNAL_ERROR + w.b.drops.INTERNAL_ERROR, 0);
});
