/** The --services parser and the registry. */
import test from 'ava';
import { DEFAULT_SERVICES, SERVICES, formatServices, parseServices, startServices } from '../../cli/services/index.ts';
import { UsageError } from '../../cli/usage.ts';
import { newCounters } from '../../stack/counters.ts';
import { fakeNet } from '../helpers/service-client.ts';

test('the six services with their well-known ports', (t) => {
  t.is(formatServices(DEFAULT_SERVICES), 'echo:7,discard:9,daytime:13,chargen:19,chat:23,http:80');
  for (const s of SERVICES) t.true(s.description.length > 10, s.name);
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
  ['gopher', /unknown service "gopher" \(known: echo, discard, daytime, chargen, chat, http\)/],
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
