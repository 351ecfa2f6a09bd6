/** The http status service: Node's http over TcpSocket, pages built from the stack's counters and connections. */
import test from 'ava';
import http from 'node:http';
import { newCounters } from '../../stack/counters.ts';
import { newDropCounters } from '../../stack/drop.ts';
import { TcpSocket } from '../../tun/node/socket.ts';
import { start as startHttp } from '../../cli/services/http.ts';
import { CLIENT, SERVER, fakeNet } from '../helpers/service-client.ts';
import type { FakeHost } from '../helpers/fake-endpoint.ts';

function get(client: FakeHost, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { method, host: SERVER, port: 80, path, createConnection: () => TcpSocket.connect(client, 80, SERVER) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function stackWithCounters() {
  const counters = newCounters();
  counters.IpInReceives = 4242;
  counters.TcpPassiveOpens = 3;
  counters.TcpExtTCPAbortOnClose = 1;
  const drops = newDropCounters();
  drops.NO_SOCKET = 2;
  return { counters, drops };
}

test('/ is an HTML status page with the nonzero counters and the connection table', async (t) => {
  const { net, server, client } = fakeNet();
  const service = startHttp(server, stackWithCounters(), 80);
  const idle = TcpSocket.connect(net.host(CLIENT), 80, SERVER); // one more connection to list
  await new Promise((resolve) => idle.once('connect', resolve));
  const page = await get(client, '/');
  t.is(page.status, 200);
  t.regex(page.type, /^text\/html/);
  t.regex(page.body, /<td>IpInReceives<\/td><td>4242<\/td>/);
  t.regex(page.body, /<td>TcpExtTCPAbortOnClose<\/td><td>1<\/td>/);
  t.regex(page.body, /<td>drop NO_SOCKET<\/td><td>2<\/td>/);
  t.false(page.body.includes('IpInHdrErrors'), 'zero counters are left out');
  t.regex(page.body, /<td>0\.0\.0\.0:80<\/td><td>511<\/td>/, 'the listener');
  t.regex(page.body, new RegExp(`<td>ESTAB</td><td>0</td><td>0</td><td>198\\.18\\.0\\.2:80</td><td>198\\.18\\.0\\.1:${idle.localPort}</td>`));
  t.regex(page.body, /<td>0\.25\/0\.125<\/td><td>201<\/td><td>10<\/td><td>-<\/td>/, 'rtt/rttvar, rto, cwnd, ssthresh');
  idle.destroy();
  service.close();
});

test('/counters is nstat-style text; /connections is JSON', async (t) => {
  const { server, client } = fakeNet();
  const service = startHttp(server, stackWithCounters(), 80);
  const counters = await get(client, '/counters');
  t.is(counters.status, 200);
  t.regex(counters.type, /^text\/plain/);
  const lines = counters.body.trimEnd().split('\n');
  t.is(lines[0], '#kernel');
  t.deepEqual(
    lines.slice(1).map((l) => l.trim().split(/\s{2,}/)),
    [
      ['IpInReceives', '4242'],
      ['TcpPassiveOpens', '3'],
      ['TcpExtTCPAbortOnClose', '1'],
      ['drop NO_SOCKET', '2'],
    ],
  );

  const json = await get(client, '/connections');
  t.is(json.type, 'application/json');
  const parsed = JSON.parse(json.body) as { listeners: Array<{ localPort: number }>; connections: Array<{ state: string; localPort: number; remoteAddress: string }> };
  t.deepEqual(parsed.listeners.map((l) => l.localPort), [80]);
  t.true(parsed.connections.some((c) => c.state === 'ESTABLISHED' && c.localPort === 80 && c.remoteAddress === CLIENT), 'this very request');
  service.close();
});

test('404 for other paths, 405 for other methods, HEAD without a body', async (t) => {
  const { server, client } = fakeNet();
  const service = startHttp(server, stackWithCounters(), 80);
  const missing = await get(client, '/nope');
  t.is(missing.status, 404);
  t.regex(missing.body, /\/nope: not found/);
  t.is((await get(client, '/', 'POST')).status, 405);
  const head = await get(client, '/counters', 'HEAD');
  t.is(head.status, 200);
  t.is(head.body, '');
  service.close();
});
