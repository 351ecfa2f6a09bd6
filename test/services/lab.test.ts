/**
 * The lab services on the real TCP core, in virtual time: the service runs on
 * stack B (198.18.0.2), the client is a BSD-shaped endpoint on stack A, and
 * the test reads the segments B sent and both stacks' counters.
 */
import test from 'ava';
import { start as startCloseOnAccept } from '../../cli/services/close-on-accept.ts';
import { start as startLinger0 } from '../../cli/services/linger0.ts';
import { start as startNoAccept } from '../../cli/services/no-accept.ts';
import { start as startNoRead } from '../../cli/services/no-read.ts';
import { PARTIAL_READ_BYTES, start as startPartialRead } from '../../cli/services/partial-read.ts';
import { SocketError, type Endpoint } from '../../stack/socket/types.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { ipHeaderLength } from '../../stack/wire/ipv4.ts';
import { decodeTcpSegment, formatTcpFlags } from '../../stack/wire/tcp.ts';
import { ADDR_B, World } from '../helpers/world.ts';

const B = formatIpv4(ADDR_B);

interface Seg {
  t: number;
  from: 'a' | 'b';
  flags: string;
  seq: number;
  ack: number;
  win: number;
  len: number;
  sport: number;
  dport: number;
}

function segments(w: World, from?: 'a' | 'b'): Seg[] {
  return w.log
    .filter((e) => from === undefined || e.from === from)
    .map((e) => {
      const s = decodeTcpSegment(e.packet.subarray(ipHeaderLength(e.packet)));
      return {
        t: e.t,
        from: e.from,
        flags: formatTcpFlags(s.flags),
        seq: s.seq,
        ack: s.ack,
        win: s.window,
        len: s.payload.length,
        sport: s.sourcePort,
        dport: s.destinationPort,
      };
    });
}

function bytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

/** A client on stack A whose handshake with B:port completed (it may be closing already). */
function connect(w: World, port: number): Endpoint {
  const ep = w.a.tcp.socket();
  ep.connect(B, port);
  w.run(w.clock.now() + 1000, () => ep.state !== 'SYN_SENT');
  if (ep.state === 'SYN_SENT' || ep.state === 'CLOSED') throw new Error(`no connection to ${port}: ${ep.state}`);
  return ep;
}

/** ISNs of the connection from client port `cport`: [client's, server's]. */
function isns(w: World, cport: number): [number, number] {
  const syn = segments(w, 'a').find((s) => s.flags === 'S' && s.sport === cport)!;
  const synAck = segments(w, 'b').find((s) => s.flags === 'S.' && s.dport === cport)!;
  return [syn.seq, synAck.seq];
}

function noInternalErrors(w: World): number {
  return w.a.drops.INTERNAL_ERROR + w.b.drops.INTERNAL_ERROR;
}

test('partial-read: reads exactly 4096 of 5000 bytes, closes, RST,ACK seq=snd_nxt ack=rcv_nxt (TCPAbortOnClose); the client sees ECONNRESET, then EOF', (t) => {
  const w = new World();
  const svc = startPartialRead(w.b.tcp, w.b, 4001);
  const c = connect(w, 4001);
  t.is(c.write(bytes(5000)), 5000);
  w.run(w.clock.now() + 1000, () => c.state === 'CLOSED');
  t.is(c.state, 'CLOSED');
  t.is(svc.bytesRead(), PARTIAL_READ_BYTES);
  t.is(svc.connections(), 0);

  const [clientIsn, serverIsn] = isns(w, c.localPort);
  const resets = segments(w, 'b').filter((s) => s.flags.includes('R'));
  t.is(resets.length, 1);
  t.is(resets[0]!.flags, 'R.');
  t.is(resets[0]!.seq, (serverIsn + 1) >>> 0, 'seq = snd_nxt: the server sent nothing');
  t.is(resets[0]!.ack, (clientIsn + 1 + 5000) >>> 0, 'ack = rcv_nxt: all 5000 bytes, the unread 904 included');
  t.true(resets[0]!.win > 0, 'the socket reset carries the window');
  t.false(segments(w, 'b').some((s) => s.flags.includes('F')), 'no FIN');

  t.is(w.b.counters.TcpExtTCPAbortOnClose, 1);
  t.is(w.b.counters.TcpExtTCPAbortOnData, 0);
  t.is(w.b.counters.TcpOutRsts, 1);
  t.is(w.b.counters.TcpEstabResets, 1);
  t.is(w.a.counters.TcpEstabResets, 1);
  t.throws(() => c.read(), { instanceOf: SocketError, code: 'ECONNRESET' });
  t.deepEqual(c.read(), new Uint8Array(0), 'then EOF');
  t.throws(() => c.write(bytes(10)), { instanceOf: SocketError, code: 'EPIPE' });
  t.is(noInternalErrors(w), 0);
  svc.close();
});

test('partial-read waits for 4096 bytes: 3000 are left alone, 2000 more make it read 4096 and reset', (t) => {
  const w = new World();
  const svc = startPartialRead(w.b.tcp, w.b, 4001);
  const c = connect(w, 4001);
  c.write(bytes(3000));
  w.run(w.clock.now() + 5000);
  t.is(svc.bytesRead(), 0);
  t.is(c.state, 'ESTABLISHED');
  t.is(w.b.tcp.connections()[0]!.recvQ, 3000);
  c.write(bytes(2000));
  w.run(w.clock.now() + 1000, () => c.state === 'CLOSED');
  t.is(svc.bytesRead(), 4096);
  t.is(w.b.counters.TcpExtTCPAbortOnClose, 1);
  t.throws(() => c.read(), { code: 'ECONNRESET' });
  svc.close();
});

test('partial-read with less than 4096 bytes and the client FIN: reads them all and closes with a FIN, no RST', (t) => {
  const w = new World();
  const svc = startPartialRead(w.b.tcp, w.b, 4001);
  const c = connect(w, 4001);
  c.write(bytes(3000));
  c.shutdown('write');
  w.run(w.clock.now() + 1000, () => c.state === 'TIME_WAIT' || c.state === 'CLOSED');
  t.is(svc.bytesRead(), 3000);
  t.is(w.b.counters.TcpOutRsts, 0);
  t.true(segments(w, 'b').some((s) => s.flags.includes('F')));
  t.deepEqual(c.read(), new Uint8Array(0));
  svc.close();
});

test('linger0: reads what arrived, closes with SO_LINGER {1,0}: RST,ACK (TCPAbortOnData, not TCPAbortOnClose); the client sees ECONNRESET', (t) => {
  const w = new World();
  const svc = startLinger0(w.b.tcp, w.b, 4003);
  const c = connect(w, 4003);
  w.run(w.clock.now() + 2000);
  t.is(c.state, 'ESTABLISHED', 'nothing happens before the first data');
  t.is(c.write(bytes(100)), 100);
  w.run(w.clock.now() + 1000, () => c.state === 'CLOSED');
  t.is(svc.bytesRead(), 100);
  const [clientIsn, serverIsn] = isns(w, c.localPort);
  const resets = segments(w, 'b').filter((s) => s.flags.includes('R'));
  t.deepEqual(
    resets.map((s) => [s.flags, s.seq, s.ack]),
    [['R.', (serverIsn + 1) >>> 0, (clientIsn + 101) >>> 0]],
  );
  t.false(segments(w, 'b').some((s) => s.flags.includes('F')), 'no FIN');
  t.is(w.b.counters.TcpExtTCPAbortOnData, 1);
  t.is(w.b.counters.TcpExtTCPAbortOnClose, 0);
  t.is(w.b.counters.TcpOutRsts, 1);
  t.throws(() => c.read(), { instanceOf: SocketError, code: 'ECONNRESET' });
  t.deepEqual(c.read(), new Uint8Array(0));
  t.is(svc.connections(), 0);
  t.is(noInternalErrors(w), 0);
  svc.close();
});

test('close-on-accept: a FIN right after the handshake; the client reads EOF; no RST; the server ends in TIME_WAIT', (t) => {
  const w = new World();
  const svc = startCloseOnAccept(w.b.tcp, w.b, 4002);
  const c = connect(w, 4002);
  w.run(w.clock.now() + 1000, () => c.state === 'CLOSE_WAIT');
  t.is(c.state, 'CLOSE_WAIT');
  t.deepEqual(c.read(), new Uint8Array(0), 'EOF');
  const fromB = segments(w, 'b').map((s) => s.flags);
  t.deepEqual(fromB, ['S.', 'F.']);
  c.close();
  w.run(w.clock.now() + 1000, () => c.state === 'CLOSED');
  t.is(c.state, 'CLOSED');
  t.deepEqual(
    w.b.tcp.connections().map((i) => i.state),
    ['TIME_WAIT'],
  );
  t.is(w.a.counters.TcpOutRsts + w.b.counters.TcpOutRsts, 0);
  t.is(svc.accepted(), 1);
  t.is(svc.connections(), 0);
  svc.close();
});

test('no-accept, backlog 1: two handshakes complete, further SYNs are dropped (ListenOverflows) and retried; stopping resets the two', (t) => {
  const w = new World();
  const svc = startNoAccept(w.b.tcp, w.b, 4004);
  const done = [connect(w, 4004), connect(w, 4004)];
  t.deepEqual(
    w.b.tcp.listeners().map((l) => [l.localPort, l.backlog, l.acceptQueue, l.synQueue]),
    [[4004, 1, 2, 0]],
  );
  const start = w.clock.now();
  const waiting = [w.a.tcp.socket(), w.a.tcp.socket()];
  for (const ep of waiting) ep.connect(B, 4004);
  w.run(start + 500);
  t.deepEqual(
    waiting.map((ep) => ep.state),
    ['SYN_SENT', 'SYN_SENT'],
  );
  t.is(w.b.counters.TcpExtListenOverflows, 2);
  t.is(w.b.counters.TcpExtListenDrops, 2);
  const synAcks = segments(w, 'b').filter((s) => s.flags === 'S.');
  t.is(synAcks.length, 2, 'SYN-ACKs only for the two that fit');
  // The dropped SYNs are retransmitted after 1 s, and dropped again.
  w.run(start + 1500);
  t.is(w.b.counters.TcpExtListenOverflows, 4);
  t.is(segments(w, 'b').filter((s) => s.flags === 'S.').length, 2);
  t.is(w.b.counters.TcpOutRsts, 0);
  t.is(svc.accepted(), 0);

  svc.close();
  w.run(w.clock.now() + 100);
  t.is(w.b.counters.TcpOutRsts, 2, 'closing the listener resets the queued connections');
  for (const ep of done) t.throws(() => ep.read(), { code: 'ECONNRESET' });
  t.is(noInternalErrors(w), 0);
});

test('no-accept with a backlog of 3 holds four connections', (t) => {
  const w = new World();
  const svc = startNoAccept(w.b.tcp, w.b, 4004, 3);
  for (let i = 0; i < 4; i++) connect(w, 4004);
  const fifth = w.a.tcp.socket();
  fifth.connect(B, 4004);
  w.run(w.clock.now() + 500);
  t.is(fifth.state, 'SYN_SENT');
  t.is(w.b.tcp.listeners()[0]!.acceptQueue, 4);
  t.is(w.b.counters.TcpExtListenOverflows, 1);
  svc.close();
});

test('no-read: the receive buffer fills, the window goes to zero, the client probes it; nothing is reset', (t) => {
  const w = new World();
  const svc = startNoRead(w.b.tcp, w.b, 4005);
  const c = connect(w, 4005);
  const chunk = bytes(64 * 1024);
  let written = 0;
  // Write whenever there is room until the path is full: what the server's window let in plus the client's buffer.
  for (let round = 0; round < 1000; round++) {
    const n = c.write(chunk);
    written += n;
    w.run(w.clock.now() + 200);
    if (n === 0 && segments(w, 'b').at(-1)!.win === 0) break;
  }
  const server = w.b.tcp.connections()[0]!;
  const queued = server.recvQ;
  // Unread, 1448-byte segments cost 2304 bytes each of the 131072-byte buffer (rcvbuf.ts): the window
  // closes before the payload reaches it.
  t.true(queued > 65160 && queued < 131072, `what the receive buffer holds waits to be read: ${queued}`);
  t.is(c.write(chunk), 0, 'the client cannot send more');
  const lastAck = segments(w, 'b').at(-1)!;
  t.is(lastAck.win, 0, 'zero window');
  t.is(c.info().sendQ, written - queued, 'the rest waits in the client');

  const probesBefore = w.a.counters.TcpExtTCPWinProbe;
  w.run(w.clock.now() + 30_000);
  t.true(w.a.counters.TcpExtTCPWinProbe - probesBefore >= 3, `zero-window probes: ${w.a.counters.TcpExtTCPWinProbe - probesBefore}`);
  t.is(c.state, 'ESTABLISHED');
  t.is(w.b.tcp.connections()[0]!.state, 'ESTABLISHED');
  t.is(w.b.tcp.connections()[0]!.recvQ, queued);
  t.is(w.a.counters.TcpOutRsts + w.b.counters.TcpOutRsts, 0);
  t.is(w.a.counters.TcpEstabResets + w.b.counters.TcpEstabResets, 0);
  t.is(svc.connections(), 1);
  t.is(noInternalErrors(w), 0);

  // The client gives up with a RST: the service lets go of the connection.
  c.setLinger(true, 0);
  c.close();
  w.run(w.clock.now() + 100);
  t.is(svc.connections(), 0);
  t.is(w.b.tcp.connections().length, 0);
  svc.close();
});
