/** TcpSocket / TcpServer / TcpAgent over the in-memory fake endpoints. */
import test from 'ava';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { SystemError } from '../../tun/node/errors.ts';
import { TcpSocket } from '../../tun/node/socket.ts';
import { TcpServer } from '../../tun/node/server.ts';
import { TcpAgent } from '../../tun/node/agent.ts';
import { FakeNet, type FakeEndpoint } from '../helpers/fake-endpoint.ts';

function socketPair(options: { bufferSize?: number; allowHalfOpen?: [boolean, boolean]; hwm?: number } = {}) {
  const net = new FakeNet({ bufferSize: options.bufferSize ?? 64 * 1024 });
  const [ea, eb] = net.pair();
  const hwm = options.hwm === undefined ? {} : { readableHighWaterMark: options.hwm, writableHighWaterMark: options.hwm };
  const a = new TcpSocket({ endpoint: ea, allowHalfOpen: options.allowHalfOpen?.[0] ?? false, ...hwm });
  const b = new TcpSocket({ endpoint: eb, allowHalfOpen: options.allowHalfOpen?.[1] ?? false, ...hwm });
  return { net, a, b, ea, eb };
}

/** The next `event`'s arguments (unlike events.once, an 'error' meanwhile does not reject). */
function next(emitter: NodeJS.EventEmitter, event: string): Promise<any[]> {
  return new Promise((resolve) => emitter.once(event, (...args: any[]) => resolve(args)));
}

function collect(socket: TcpSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  return once(socket, 'end').then(() => Buffer.concat(chunks));
}

/** Bytes 0..n-1 of a pattern that detects loss, duplication and reordering. */
function pattern(offset: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) {
    const k = offset + i;
    b[i] = (k * 7 + (k >>> 8) * 13 + (k >>> 16)) & 0xff;
  }
  return b;
}

test('data flows both ways; addresses come from the endpoint', async (t) => {
  const { a, b } = socketPair();
  t.is(a.remoteAddress, '198.18.0.2');
  t.is(a.remoteFamily, 'IPv4');
  t.is(b.remotePort, a.localPort);
  t.deepEqual(a.address(), { address: '198.18.0.1', family: 'IPv4', port: a.localPort! });
  t.is(a.readyState, 'open');
  t.false(a.pending);

  const gotB = once(b, 'data');
  a.write('hello');
  t.is(String((await gotB)[0]), 'hello');
  const gotA = once(a, 'data');
  b.write(Buffer.from('world'));
  t.is(String((await gotA)[0]), 'world');
  t.is(a.bytesWritten, 5);
  t.is(a.bytesRead, 5);

  const closed = Promise.all([once(a, 'close'), once(b, 'close')]);
  a.end();
  const [[hadErrorA], [hadErrorB]] = await closed;
  t.false(hadErrorA);
  t.false(hadErrorB);
  t.is(a.readyState, 'closed');
});

test('backpressure: a writer far faster than the reader is held at the buffers + highWaterMark', async (t) => {
  const bufferSize = 16 * 1024;
  const hwm = 16 * 1024;
  const chunk = 8 * 1024;
  const total = 2 * 1024 * 1024;
  const { a, b, eb } = socketPair({ bufferSize, hwm });

  let peakWritable = 0;
  let peakReadable = 0;
  const writer = (async () => {
    for (let off = 0; off < total; off += chunk) {
      if (!a.write(pattern(off, chunk))) {
        peakWritable = Math.max(peakWritable, a.writableLength);
        await once(a, 'drain');
      }
      peakWritable = Math.max(peakWritable, a.writableLength);
    }
    a.end();
  })();

  // A slow reader: at most 1 KiB per macrotask, in paused mode.
  const received: Buffer[] = [];
  let ended = false;
  b.on('end', () => (ended = true));
  let got = 0;
  while (!ended) {
    peakReadable = Math.max(peakReadable, b.readableLength);
    const piece = b.read(Math.min(1024, b.readableLength || 1024)) as Buffer | null;
    if (piece) {
      received.push(piece);
      got += piece.length;
    } else if (b.readableEnded || ended) {
      break;
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  await writer;
  if (got < total) {
    // Whatever is still buffered when 'end' fired.
    for (let piece; (piece = b.read() as Buffer | null) !== null; ) received.push(piece);
  }
  const all = Buffer.concat(received);
  t.is(all.length, total);
  t.true(all.equals(pattern(0, total)), 'every byte, in order');
  t.log(`peaks: writer ${peakWritable}, endpoint ${eb.peakReceiveQueue}, reader ${peakReadable}`);
  t.true(peakWritable <= hwm + chunk, `writer side held at ${peakWritable} bytes`);
  t.true(eb.peakReceiveQueue <= bufferSize, `endpoint buffer ${eb.peakReceiveQueue}`);
  t.true(peakReadable <= hwm + bufferSize, `reader side held at ${peakReadable} bytes`);
});

test('half-close with allowHalfOpen: the side that got the FIN keeps writing', async (t) => {
  const { a, b } = socketPair({ allowHalfOpen: [true, true] });
  const aGot = collect(a);
  const bGot = collect(b);
  const closed = Promise.all([next(a, 'close'), next(b, 'close')]);
  b.end('request');
  t.is(String(await aGot), 'request');
  t.is(a.readyState, 'writeOnly');
  a.write('response, ');
  a.end('after the peer FIN');
  t.is(String(await bGot), 'response, after the peer FIN');
  const [[hadErrorA], [hadErrorB]] = await closed;
  t.false(hadErrorA);
  t.false(hadErrorB);
});

test('without allowHalfOpen our side ends after the peer FIN, and a later write is EPIPE', async (t) => {
  const { a, b } = socketPair();
  a.resume();
  const bEnded = collect(b);
  b.end();
  await once(a, 'end');
  await bEnded; // our automatic end() reached the peer
  // As with net.Socket: the write callback learns EPIPE (the socket is already done).
  const error = await new Promise<Error | null | undefined>((resolve) => a.write('too late', resolve));
  t.is((error as SystemError).code, 'EPIPE');
  t.regex(error!.message, /ended by the other party/);
});

test('a RST surfaces as an ECONNRESET error, then close(hadError)', async (t) => {
  const { a, b } = socketPair();
  a.resume();
  const errored = once(a, 'error');
  const closed = next(a, 'close');
  b.resetAndDestroy();
  const [error] = (await errored) as [SystemError];
  t.is(error.code, 'ECONNRESET');
  t.is(error.syscall, 'read');
  t.is(error.errno, -104);
  const [hadError] = await closed;
  t.true(hadError);
  t.true(a.destroyed);
});

test('a write to a reset connection reports the pending ECONNRESET (syscall write)', async (t) => {
  const { a, ea } = socketPair();
  // Nobody reads `a`: the error is learned by the next write, as with send(2).
  ea.remote!.close(); // the peer application closes (no unread data: a FIN)
  const errored = once(a, 'error');
  a.write('data for a closed socket'); // taken, and answered by a RST
  await new Promise((resolve) => setImmediate(resolve));
  a.write('more');
  const [error] = (await errored) as [SystemError];
  t.is(error.code, 'ECONNRESET');
  t.is(error.syscall, 'write');
});

test('an endpoint EPIPE on write surfaces as EPIPE', async (t) => {
  const { a, ea } = socketPair({ allowHalfOpen: [true, true] });
  ea.shutdown('write'); // the endpoint refuses writes from now on, behind the stream's back
  const errored = once(a, 'error');
  a.write('x');
  const [error] = (await errored) as [SystemError];
  t.is(error.code, 'EPIPE');
  t.is(error.syscall, 'write');
});

test('resetAndDestroy: SO_LINGER 0, then close(), so the peer sees a RST', async (t) => {
  const { a, b, ea } = socketPair();
  b.resume();
  const bError = once(b, 'error');
  a.resetAndDestroy();
  await once(a, 'close');
  t.deepEqual(ea.calls.slice(-2), ['setLinger(true,0)', 'close()']);
  t.is(((await bError)[0] as SystemError).code, 'ECONNRESET');
});

test('setNoDelay and setKeepAlive reach the endpoint (keepalive delay in seconds)', (t) => {
  const { a, ea } = socketPair();
  a.setNoDelay();
  a.setKeepAlive(true, 30_000);
  a.setKeepAlive(true);
  t.deepEqual(ea.calls, ['setNoDelay(true)', 'setKeepAlive(true,30)', 'setKeepAlive(true,undefined)']);
  a.destroy();
});

test('setTimeout: a timeout event after idleness, re-armed by activity, off with 0', async (t) => {
  const { a, b } = socketPair();
  let fired = 0;
  a.setTimeout(20, () => fired++);
  t.is(a.timeout, 20);
  await once(a, 'timeout');
  t.is(fired, 1);
  t.false(a.destroyed, 'a timeout does not close the socket');
  a.setTimeout(0);
  t.is(a.timeout, 0);
  a.destroy();
  b.destroy();
});

test('connect through a provider: connect, ready, then data; addresses known', async (t) => {
  const net = new FakeNet();
  const server = new TcpServer(net.host('198.18.0.2'), (s) => s.pipe(s));
  server.listen(7, '0.0.0.0');
  await once(server, 'listening');
  t.deepEqual(server.address(), { address: '0.0.0.0', family: 'IPv4', port: 7 });

  const order: string[] = [];
  const client = TcpSocket.connect(net.host('198.18.0.1'), 7, '198.18.0.2', () => order.push('cb'));
  t.true(client.connecting);
  t.true(client.pending);
  t.is(client.readyState, 'opening');
  client.on('connect', () => order.push('connect'));
  client.on('ready', () => order.push('ready'));
  client.write('early data waits for the connection');
  await once(client, 'ready');
  t.deepEqual(order, ['cb', 'connect', 'ready']);
  t.false(client.connecting);
  t.is(client.remoteAddress, '198.18.0.2');
  t.is(client.remotePort, 7);
  t.is(client.localAddress, '198.18.0.1');
  const echoed = collect(client);
  const clientClosed = next(client, 'close');
  client.end();
  t.is(String(await echoed), 'early data waits for the connection');
  await clientClosed;
  const serverClosed = once(server, 'close');
  server.close();
  await serverClosed;
});

test('connect errors: ECONNREFUSED, ETIMEDOUT, ENOTFOUND, each with syscall and address', async (t) => {
  const net = new FakeNet();
  net.unreachable.set('203.0.113.9', 'ETIMEDOUT');
  const cases: Array<[string, number, string, string]> = [
    ['198.18.0.2', 9999, 'ECONNREFUSED', 'connect'],
    ['203.0.113.9', 80, 'ETIMEDOUT', 'connect'],
    ['example.com', 80, 'ENOTFOUND', 'getaddrinfo'],
  ];
  for (const [host, port, code, syscall] of cases) {
    const socket = TcpSocket.connect(net.host('198.18.0.1'), port, host);
    const [error] = (await once(socket, 'error')) as [SystemError];
    t.is(error.code, code);
    t.is(error.syscall, syscall);
    t.is(error.address, host);
    t.regex(error.message, new RegExp(`^${syscall} ${code} ${host.replace(/\./g, '\\.')}`));
    t.true(socket.destroyed);
  }
});

test('TcpServer: EADDRINUSE as an error event; close waits for connections; maxConnections drops', async (t) => {
  const net = new FakeNet();
  const host = net.host('198.18.0.2');
  const first = new TcpServer(host);
  first.listen(80);
  await once(first, 'listening');
  const second = new TcpServer(host);
  second.listen(80);
  const [error] = (await once(second, 'error')) as [SystemError];
  t.is(error.code, 'EADDRINUSE');
  t.is(error.syscall, 'listen');
  t.false(second.listening);

  first.maxConnections = 1;
  const accepted: TcpSocket[] = [];
  first.on('connection', (s: TcpSocket) => accepted.push(s));
  const drops: unknown[] = [];
  first.on('drop', (info) => drops.push(info));
  const c1 = TcpSocket.connect(host, 80, '198.18.0.2');
  await once(first, 'connection');
  const c2 = TcpSocket.connect(host, 80, '198.18.0.2');
  c2.resume();
  await once(c2, 'end'); // closed by the server as soon as accepted
  t.is(drops.length, 1);
  t.is(accepted.length, 1);

  let closed = false;
  first.close(() => (closed = true));
  t.false(first.listening);
  await new Promise((resolve) => setImmediate(resolve));
  t.false(closed, 'close waits for the open connection');
  accepted[0]!.destroy();
  c1.destroy();
  await once(first, 'close');
  t.true(closed);
});

test('Node http server and client over a TcpSocket pair: GET', async (t) => {
  const { a, b } = socketPair();
  const closed = Promise.all([next(a, 'close'), next(b, 'close')]);
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`you asked for ${req.url}`);
  });
  server.emit('connection', b);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request({ createConnection: () => a, path: '/hello', host: '198.18.0.2' }, resolve);
    req.on('error', reject);
    req.end();
  });
  t.is(res.statusCode, 200);
  t.is(String(await collectBody(res)), 'you asked for /hello');
  await closed; // Connection: close (no agent): both sides end and close
});

function collectBody(res: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** An http server on a TcpServer at 198.18.0.2:80 of `net`, echoing POST bodies. */
function startHttp(net: FakeNet) {
  const httpServer = http.createServer(async (req, res) => {
    const body = await collectBody(req as unknown as http.IncomingMessage);
    if (req.method === 'POST') {
      res.setHeader('x-sha256', sha256(body));
      res.end(body);
    } else {
      res.end(pattern(0, 1024 * 1024));
    }
  });
  const connections: TcpSocket[] = [];
  const tcp = new TcpServer(net.host('198.18.0.2'), (socket) => {
    connections.push(socket);
    httpServer.emit('connection', socket);
  });
  tcp.listen(80);
  return { tcp, connections, httpServer };
}

test('Node http over TcpServer/TcpSocket: GET and POST of 1 MiB', async (t) => {
  const net = new FakeNet({ bufferSize: 32 * 1024 });
  const { tcp } = startHttp(net);
  const client = net.host('198.18.0.1');

  const get = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http
      .get({ host: '198.18.0.2', port: 80, path: '/big', createConnection: (o) => TcpSocket.connect(client, Number(o.port), o.host!) }, resolve)
      .on('error', reject);
  });
  const big = await collectBody(get);
  t.is(big.length, 1024 * 1024);
  t.true(big.equals(pattern(0, 1024 * 1024)));

  const payload = pattern(12345, 1024 * 1024);
  const post = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.request(
      {
        method: 'POST',
        host: '198.18.0.2',
        port: 80,
        path: '/upload',
        createConnection: (o) => TcpSocket.connect(client, Number(o.port), o.host!),
      },
      resolve,
    );
    req.on('error', reject);
    req.end(payload);
  });
  const echoed = await collectBody(post);
  t.is(post.headers['x-sha256'], sha256(payload));
  t.true(echoed.equals(payload));
  tcp.close();
});

test('Node http keep-alive through TcpAgent: two requests on one connection', async (t) => {
  const net = new FakeNet();
  const { tcp, connections } = startHttp(net);
  const agent = new TcpAgent(net.host('198.18.0.1'), { keepAlive: true, maxSockets: 1 });
  const results: Array<{ reused: boolean; length: number; port: number | undefined }> = [];
  for (let i = 0; i < 2; i++) {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({ method: 'POST', host: '198.18.0.2', port: 80, path: `/r${i}`, agent }, (r) => {
        resolve(r);
        results.push({ reused: req.reusedSocket, length: 0, port: (req.socket as TcpSocket | null)?.localPort });
      });
      req.on('error', reject);
      req.end(`request ${i}`);
    });
    results[i]!.length = (await collectBody(res)).length;
  }
  t.is(connections.length, 1, 'one TCP connection served both');
  t.deepEqual(
    results.map((r) => [r.reused, r.length]),
    [
      [false, 9],
      [true, 9],
    ],
  );
  t.is(results[0]!.port, results[1]!.port);
  agent.destroy();
  await once(connections[0]!, 'close');
  tcp.close();
});

test('the fake endpoint: a write takes no more than the peer buffer holds', (t) => {
  // Guards the fake itself: a write never takes more than the peer can hold.
  const net = new FakeNet({ bufferSize: 1000 });
  const [x, y] = net.pair() as [FakeEndpoint, FakeEndpoint];
  t.is(x.write(new Uint8Array(5000)), 1000);
  t.is(x.write(new Uint8Array(10)), 0);
  t.is(y.read(400)!.length, 400);
  t.is(x.writableBytes, 400);
});
