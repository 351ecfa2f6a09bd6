/**
 * Connecting to our own address (docs/linux-behaviour.md, "Connecting to our
 * own address"): Linux routes such a datagram through the local table and
 * `lo` back to its own input, so a connect() to one's own address meets
 * one's own listener, or its RST at once (ECONNREFUSED). Measured on 6.18 in
 * a namespace: SYN, RST,ACK over lo within 0.1 ms; with a listener the
 * handshake, data and FINs all go over lo and nothing leaves by the device.
 */
import test from 'ava';
import type { Endpoint } from '../../stack/socket/types.ts';
import { TCP_SYN } from '../../stack/wire/tcp.ts';
import { STACK, tcpPacket } from '../helpers/packets.ts';
import { testStack, type TestStack } from '../helpers/stack.ts';

const OWN = '198.18.0.2';
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const readAll = (e: Endpoint): string => {
  const parts: string[] = [];
  for (let chunk = e.read(); chunk !== null && chunk.length > 0; chunk = e.read()) parts.push(new TextDecoder().decode(chunk));
  return parts.join('');
};

function listening(s: TestStack, port: number): Endpoint {
  const l = s.stack.tcp.socket();
  l.bind(0, port);
  l.listen(8);
  return l;
}

test('own address with a listener: handshake, data both ways and the close go through our own input, none to the link', (t) => {
  const s = testStack();
  const listener = listening(s, 7);
  const client = s.stack.tcp.socket();
  client.connect(OWN, 7);
  s.stack.flush();
  t.is(client.state, 'ESTABLISHED');
  const server = listener.accept();
  t.truthy(server);
  t.is(server!.state, 'ESTABLISHED');
  t.is(server!.remoteAddress, OWN);
  t.is(server!.remotePort, client.localPort);
  t.is(client.localAddress, OWN);

  client.write(text('ping'));
  s.stack.flush();
  t.is(readAll(server!), 'ping');
  server!.write(text('pong'));
  s.stack.flush();
  t.is(readAll(client), 'pong');

  client.shutdown('write');
  s.stack.flush();
  t.is(server!.read()?.length, 0, 'EOF after our own FIN');
  server!.close();
  s.stack.flush();
  t.is(client.state, 'TIME_WAIT');
  t.deepEqual(s.wire.packets, [], 'nothing went to the link');
  const c = s.stack.counters;
  t.is(c.IpOutRequests, c.IpInReceives, 'every datagram sent was received by ourselves');
  t.is(c.IpExtOutOctets, c.IpExtInOctets);
  t.is(c.TcpActiveOpens, 1);
  t.is(c.TcpPassiveOpens, 1);
  t.is(s.stack.clock.now(), 0, 'no time had to pass');
});

test('own address without a listener: our own RST, ECONNREFUSED at once', (t) => {
  const s = testStack();
  const client = s.stack.tcp.socket();
  client.connect(OWN, 9);
  s.stack.flush();
  t.is(client.state, 'CLOSED');
  t.is(client.getError(), 'ECONNREFUSED');
  t.deepEqual(s.wire.packets, []);
  t.is(s.stack.counters.TcpOutRsts, 1);
  t.is(s.stack.counters.TcpAttemptFails, 1);
  t.is(s.stack.nextDeadline(), Infinity, 'no SYN retransmission armed');
});

test('a bulk transfer to ourselves: what one flush leaves over is delivered at the next poll, at the same virtual time', (t) => {
  const s = testStack();
  const listener = listening(s, 9);
  const client = s.stack.tcp.socket();
  client.connect(OWN, 9);
  s.stack.flush();
  const server = listener.accept()!;
  const total = 4 << 20;
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  let written = 0;
  let received = 0;
  const pump = (): void => {
    while (written < total) {
      const n = client.write(chunk.subarray(0, Math.min(chunk.length, total - written)));
      if (n <= 0) break;
      written += n;
    }
    for (let data = server.read(); data !== null && data.length > 0; data = server.read()) received += data.length;
  };
  client.onEvent = pump;
  server.onEvent = pump;
  pump();
  s.stack.flush();
  let polls = 0;
  for (; polls < 10_000 && received < total; polls++) {
    t.true(s.stack.nextDeadline() <= s.stack.clock.now(), 'work left over is due at once, not later');
    s.advanceTo(s.stack.clock.now());
  }
  t.is(received, total);
  t.true(polls > 0, 'more than one flush was needed, so the leftover path ran');
  t.is(s.stack.clock.now(), 0);
  t.deepEqual(s.wire.packets, []);
  t.is(s.stack.counters.TcpRetransSegs, 0);
});

test('a packet from the link with our own address as its source is a martian: dropped, not answered', (t) => {
  const s = testStack();
  listening(s, 7);
  const syn = tcpPacket({ src: STACK, dst: STACK, sport: 40000, dport: 7, seq: 1, ack: 0, flags: TCP_SYN, window: 65535, ipId: 1, ttl: 64 });
  t.deepEqual(s.send(syn), []);
  t.is(s.stack.drops.IP_INVALID_SOURCE, 1);
  t.is(s.stack.counters.TcpInSegs, 0);
  t.is(s.stack.output.loopback.length, 0);
});
