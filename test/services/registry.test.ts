/** The --services parser and the registry. */
import test from 'ava';
import { DEFAULT_SERVICES, LAB_SERVICES, SERVICES, formatServices, parseServices, startServices } from '../../cli/services/index.ts';
import { UsageError } from '../../cli/usage.ts';
import { newCounters } from '../../stack/counters.ts';
import { fakeNet } from '../helpers/service-client.ts';

test('the six services with their well-known ports', (t) => {
  t.is(formatServices(DEFAULT_SERVICES), 'echo:7,discard:9,daytime:13,chargen:19,chat:23,http:80');
  for (const s of SERVICES) t.true(s.description.length > 10, s.name);
});

test('the lab services are opt-in, each on its own port', (t) => {
  t.is(formatServices(LAB_SERVICES), 'partial-read:4001,close-on-accept:4002,linger0:4003,no-accept:4004:1,no-read:4005');
  const defaults = new Set(DEFAULT_SERVICES.map((s) => s.name));
  for (const s of LAB_SERVICES) t.false(defaults.has(s.name), s.name);
  const ports = SERVICES.map((s) => s.port);
  t.is(new Set(ports).size, ports.length, 'no two services share a default port');
});

test('parseServices: "lab" is all five; no-accept takes a backlog as a third field', (t) => {
  t.deepEqual(parseServices('lab'), LAB_SERVICES);
  t.deepEqual(parseServices('echo,lab'), [{ name: 'echo', port: 7 }, ...LAB_SERVICES]);
  t.deepEqual(parseServices('no-accept'), [{ name: 'no-accept', port: 4004, param: 1 }]);
  t.deepEqual(parseServices('no-accept:5000:8'), [{ name: 'no-accept', port: 5000, param: 8 }]);
  t.deepEqual(parseServices('partial-read:4444, linger0'), [
    { name: 'partial-read', port: 4444 },
    { name: 'linger0', port: 4003 },
  ]);
  t.is(formatServices(parseServices('no-accept:5000:8,no-read')), 'no-accept:5000:8,no-read:4005');
});

test('parseServices: names, name:port, none', (t) => {
  t.deepEqual(parseServices('echo'), [{ name: 'echo', port: 7 }]);
  t.deepEqual(parseServices('http:8080, chat'), [
    { name: 'http', port: 8080 },
    { name: 'chat', port: 23 },
  ]);
  t.deepEqual(parseServices('echo:7,echo:7007'), [
    { name: 'echo', port: 7 },
    { name: 'echo', port: 7007 },
  ]);
  t.deepEqual(parseServices('none'), []);
});

const misuse: Array<[string, RegExp]> = [
  ['gopher', /unknown service "gopher" \(known: echo, discard, daytime, chargen, chat, http, partial-read, close-on-accept, linger0, no-accept, no-read, lab\)/],
  ['lab:4000', /"lab:4000": "lab" takes no port/],
  ['lab,linger0', /port 4003 is given to both linger0 and linger0/],
  ['no-accept:4004:x', /"no-accept:4004:x": BACKLOG must be an integer from 0 to 4096/],
  ['no-accept:4004:5000', /BACKLOG must be an integer from 0 to 4096/],
  ['no-accept:4004:1:2', /"no-accept:4004:1:2": expected no-accept:PORT\[:BACKLOG\]/],
  ['echo:7:1', /"echo:7:1": expected echo:PORT/],
  ['echo:0', /"echo:0": the port must be an integer from 1 to 65535/],
  ['echo:65536', /the port must be an integer from 1 to 65535/],
  ['echo:x', /"echo:x": the port must be/],
  ['echo:', /"echo:": the port must be/],
  ['echo,,chat', /empty entry/],
  ['', /empty list/],
  ['echo:80,http', /port 80 is given to both echo and http/],
];
for (const [text, message] of misuse) {
  test(`parseServices(${JSON.stringify(text)}) is a UsageError`, (t) => {
    const error = t.throws(() => parseServices(text), { instanceOf: UsageError });
    t.regex(error!.message, message);
    t.false(error!.message.includes('\n'));
  });
}

test('startServices starts the lab services with no-accept\'s backlog', (t) => {
  const { server } = fakeNet();
  const running = startServices(parseServices('lab,no-accept:4010:7'), server, { counters: newCounters() });
  t.deepEqual(
    server.listeners().map((l) => [l.localPort, l.backlog]),
    [
      [4001, 511],
      [4002, 511],
      [4003, 511],
      [4004, 1],
      [4005, 511],
      [4010, 7],
    ],
  );
  running.close();
  t.is(server.listeners().length, 0);
});

test('startServices starts each; a port already taken closes the started ones and throws', (t) => {
  const { server } = fakeNet();
  const stack = { counters: newCounters() };
  const running = startServices(DEFAULT_SERVICES, server, stack);
  t.deepEqual(
    server.listeners().map((l) => l.localPort),
    [7, 9, 13, 19, 23, 80],
  );
  const error = t.throws(() => startServices(parseServices('discard:1009,echo:7'), server, stack));
  t.is((error as { code?: string }).code, 'EADDRINUSE');
  t.is(server.listeners().length, 6, 'discard:1009 was closed again');
  running.close();
  t.is(server.listeners().length, 0);
});
