/** The telnet chat: banner, broadcast with address:port, /who, /quit, IAC stripping. */
import test from 'ava';
import { newCounters } from '../../stack/counters.ts';
import { TelnetLineDecoder, start as startChat } from '../../cli/services/chat.ts';
import { Client, fakeNet, settle } from '../helpers/service-client.ts';

const stack = { counters: newCounters() };

test('two users: banner, broadcast to the other with address:port, /who, /quit', async (t) => {
  const { net, server } = fakeNet();
  const chat = startChat(server, stack, 23);
  const alice = new Client(net, 23);
  await alice.waitFor(/Welcome.*\r\n/);
  t.regex(alice.text, /^Welcome to the tcpstack chat at 198\.18\.0\.2:23\. You are 198\.18\.0\.1:\d+; 0 others here\. Commands: \/who, \/quit\.\r\n$/);
  const bob = new Client(net, 23);
  await bob.waitFor(/1 other here/);
  const aliceName = `198.18.0.1:${alice.socket.localPort}`;
  const bobName = `198.18.0.1:${bob.socket.localPort}`;
  await alice.waitFor(new RegExp(`\\* ${bobName} joined\\r\\n`));

  alice.socket.write('hello bob\r\n');
  await bob.waitFor(new RegExp(`${aliceName}: hello bob\\r\\n`));
  // Telnet negotiation and commands (IAC WILL TTYPE, IAC SB ... IAC SE, IAC IP) are stripped; CR NUL ends a line.
  bob.socket.write(Buffer.from([0xff, 0xfb, 0x18, 0x68, 0x69, 0xff, 0xfa, 0x18, 0x00, 0x41, 0xff, 0xf0, 0x21, 0xff, 0xf4, 0x0d, 0x00]));
  await alice.waitFor(new RegExp(`${bobName}: hi!\\r\\n`));
  t.false(alice.text.includes('hello bob'), 'nobody gets their own lines back');

  alice.socket.write('/who\n');
  await alice.waitFor(/2 here:\r\n/);
  await alice.waitFor((s) => s.includes(`  ${aliceName} (you)\r\n`) && s.includes(`  ${bobName}\r\n`));

  bob.socket.write('/quit\r\n');
  await bob.waitFor(/bye\r\n/);
  await bob.waitEnd();
  await alice.waitFor(new RegExp(`\\* ${bobName} left\\r\\n`));
  await bob.closed; // like telnet, the client closes after the server's FIN
  await settle();
  t.is(chat.connections(), 1);
  chat.close();
  await alice.closed;
});

test('a user who disconnects is announced once and gets nothing more', async (t) => {
  const { net, server } = fakeNet();
  const chat = startChat(server, stack, 23);
  const a = new Client(net, 23);
  const b = new Client(net, 23);
  await a.waitFor(/joined/);
  b.socket.destroy();
  await a.waitFor(/left\r\n/);
  a.socket.write('anyone?\r\n');
  a.socket.write('/nope\r\n');
  await a.waitFor(/unknown command \/nope; try \/who or \/quit\r\n/);
  t.is(a.text.match(/left/g)!.length, 1);
  chat.close();
});

test('TelnetLineDecoder: sequences split across chunks, CR LF / CR NUL / LF, IAC IAC, long lines', (t) => {
  const d = new TelnetLineDecoder(8);
  const feed = (...bytes: number[]) => d.feed(Uint8Array.from(bytes)).map((b) => b.toString('latin1'));
  t.deepEqual(feed(0x61, 0xff), []);
  t.deepEqual(feed(0xfd), []); // IAC DO ...
  t.deepEqual(feed(0x01, 0x62, 0x0d), ['ab']); // ... option; CR ends the line
  t.deepEqual(feed(0x0a, 0x63, 0x0a), ['c']); // the LF after CR is not an empty line; lone LF ends one
  t.deepEqual(feed(0x0d, 0x00, 0x64, 0xff, 0xff, 0x65, 0x0d, 0x0a), ['', 'de']); // CR NUL; IAC IAC dropped
  t.deepEqual(feed(0xff, 0xfa, 0x1f, 0x00, 0x50, 0xff), []); // SB NAWS ... IAC
  t.deepEqual(feed(0xf0, ...Buffer.from('0123456789\n')), ['01234567']); // SE; cut at 8 bytes
});
