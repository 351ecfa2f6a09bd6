/** echo, discard and daytime over the fake network. */
import test from 'ava';
import { newCounters } from '../../stack/counters.ts';
import { start as startDaytime, ctime } from '../../cli/services/daytime.ts';
import { start as startDiscard } from '../../cli/services/discard.ts';
import { start as startEcho } from '../../cli/services/echo.ts';
import { Client, fakeNet, settle } from '../helpers/service-client.ts';

const stack = { counters: newCounters() };

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test('echo returns every byte, in order, then closes after the client FIN', async (t) => {
  const { net, server } = fakeNet(16 * 1024);
  const echo = startEcho(server, stack, 7);
  const client = new Client(net, 7);
  const payload = bytes(512 * 1024, 3);
  client.socket.end(payload);
  const got = await client.waitEnd();
  t.true(got.equals(payload));
  t.false(await client.closed);
  await settle();
  t.is(echo.connections(), 0);
  echo.close();
});

test('echo holds a client that sends but never reads at the buffers (backpressure)', async (t) => {
  const { net, server } = fakeNet(16 * 1024);
  const echo = startEcho(server, stack, 7);
  const client = new Client(net, 7, { paused: true });
  let written = 0;
  const chunk = bytes(8192, 1);
  // Write until the whole path is full: our writes stop being accepted.
  for (let i = 0; i < 400 && client.socket.write(chunk); i++) {
    written += chunk.length;
    await settle();
  }
  t.true(written < 400 * 8192, `the path filled after ${written} bytes`);
  t.true(written < 256 * 1024, 'bounded by buffers and highWaterMarks, not by the data size');
  client.socket.destroy();
  echo.close();
});

test('discard swallows everything and closes after the client FIN', async (t) => {
  const { net, server } = fakeNet();
  const discard = startDiscard(server, stack, 9);
  const client = new Client(net, 9);
  client.socket.write(bytes(200_000, 5));
  client.socket.end('bye');
  const got = await client.waitEnd();
  t.is(got.length, 0);
  await client.closed;
  t.is(client.socket.bytesWritten, 200_003);
  discard.close();
});

test('daytime sends one line and closes', async (t) => {
  const { net, server } = fakeNet();
  const fixed = new Date(2025, 10, 21, 6, 3, 9);
  const daytime = startDaytime(server, stack, 13, { now: () => fixed });
  const client = new Client(net, 13);
  const got = (await client.waitEnd()).toString('latin1');
  t.is(got, 'Fri Nov 21 06:03:09 2025\r\n');
  t.is(got.split('\r\n').length, 2, 'exactly one line');
  client.socket.end();
  await client.closed;
  daytime.close();
});

test('ctime pads the day with a space, as ctime(3)', (t) => {
  t.is(ctime(new Date(2024, 0, 5, 23, 59, 58)), 'Fri Jan  5 23:59:58 2024');
});

test('closing a service stops listening and destroys its connections', async (t) => {
  const { net, server } = fakeNet();
  const echo = startEcho(server, stack, 7);
  const client = new Client(net, 7);
  client.socket.write('x');
  await client.waitFor(/x/);
  t.is(echo.connections(), 1);
  echo.close();
  await client.closed;
  t.is(server.listeners().length, 0);
  const refused = new Client(net, 7);
  await refused.closed;
  t.is(refused.received.length, 0);
});
