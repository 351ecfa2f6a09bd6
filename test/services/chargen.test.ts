/** chargen: the RFC 864 pattern, and the token bucket measured in virtual time. */
import test from 'ava';
import { newCounters } from '../../stack/counters.ts';
import { CHARGEN_CYCLE, start as startChargen } from '../../cli/services/chargen.ts';
import { Client, ManualClock, fakeNet, settle } from '../helpers/service-client.ts';

const stack = { counters: newCounters() };

/** The RFC 864 lines, written out independently of the service's generator. */
function expectedLine(k: number): string {
  let s = '';
  for (let i = 0; i < 72; i++) s += String.fromCharCode(32 + ((k + i) % 95));
  return `${s}\r\n`;
}

test('the pattern: 72 printable characters a line, each line one character further, CRLF', async (t) => {
  const { net, server } = fakeNet();
  const clock = new ManualClock();
  const chargen = startChargen(server, stack, 19, { clock, rate: 1_000_000, burst: 3 * CHARGEN_CYCLE });
  const client = new Client(net, 19);
  await client.waitFor(() => client.received.length >= 2 * CHARGEN_CYCLE);
  const text = client.received.subarray(0, 2 * CHARGEN_CYCLE).toString('latin1');
  const lines = text.split('\r\n').slice(0, 190);
  t.is(lines.length, 190);
  for (let k = 0; k < 190; k++) t.is(`${lines[k]}\r\n`, expectedLine(k), `line ${k}`);
  // BSD inetd's ring starts at the space (RFC 864's sample shows the line that follows it).
  t.is(lines[0], ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg');
  t.is(lines[1], '!"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh');
  t.is(lines[95], lines[0], 'the rotation repeats after 95 lines');
  client.socket.destroy();
  chargen.close();
});

test('rate: bytes delivered after N refills stay within burst + rate × virtual time', async (t) => {
  const { net, server } = fakeNet(1024 * 1024);
  const clock = new ManualClock();
  const rate = 100_000;
  const burst = 10_000;
  const chargen = startChargen(server, stack, 19, { clock, rate, burst });
  const client = new Client(net, 19);
  await client.waitFor(() => client.received.length > 0);
  await settle();
  t.true(client.received.length <= burst, `initial burst ${client.received.length}`);

  for (const seconds of [1, 5, 10]) {
    await clock.advance(seconds * 1000 - clock.now());
    const delivered = client.received.length;
    const budget = burst + (rate * clock.now()) / 1000;
    t.true(delivered <= budget, `${delivered} bytes after ${seconds} s (budget ${budget})`);
    t.true(delivered >= budget - 2 * 4096, `${delivered} bytes after ${seconds} s: the bucket is used (budget ${budget})`);
    t.log(`${seconds} s virtual: ${delivered} bytes in ${clock.fired} refills (budget ${budget})`);
  }
  t.true(clock.fired >= (rate * 10) / 4096 - 1, 'one refill per chunk-sized amount of tokens');
  client.socket.destroy();
  await settle();
  t.is(clock.pending, 0, 'the timer goes with the connection');
  chargen.close();
});

test('backpressure: a client that does not read holds the generator at the buffers', async (t) => {
  const bufferSize = 16 * 1024;
  const { net, server } = fakeNet(bufferSize);
  const clock = new ManualClock();
  const chargen = startChargen(server, stack, 19, { clock, rate: 1024 * 1024, burst: 64 * 1024 });
  const client = new Client(net, 19, { paused: true });
  await clock.advance(10_000); // 10 virtual seconds: 10 MiB at the configured rate
  const generated = chargen.bytesGenerated();
  t.log(`generated ${generated} bytes while nobody read`);
  // The client's socket buffer (highWaterMark + one pulled chunk), the endpoint buffer,
  // the server socket's highWaterMark and one chunk: nothing like 10 MiB.
  t.true(generated <= 16 * 1024 + 64 * 1024 + bufferSize + 16 * 1024 + 4096, `${generated}`);
  t.true(clock.pending === 0, 'no timer spins while waiting for drain');
  // Reading again resumes the flow.
  client.socket.resume();
  await settle();
  await clock.advance(1000);
  t.true(chargen.bytesGenerated() > generated + 512 * 1024);
  client.socket.destroy();
  chargen.close();
});
