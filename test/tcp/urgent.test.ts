/**
 * Urgent data (stack/tcp/urgent.ts; docs/linux-behaviour.md, Urgent data),
 * segment in, segment out in virtual time: the receive side as tcp_urg,
 * tcp_check_urg, tcp_recvmsg_locked, tcp_recv_urg and tcp_read_sock keep
 * it, and the send side as tcp_mark_urg and tcp_transmit_skb.
 */
import test from 'ava';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { POLLIN, SocketError, type Endpoint } from '../../stack/socket/types.ts';
import { POLLPRI } from '../../stack/tcp/types.ts';
import { passiveOpen, pattern, TcpPeer } from '../helpers/tcp-peer.ts';
import { testStack } from '../helpers/stack.ts';

const tcp = (ep: Endpoint): TcpEndpoint => {
  if (!(ep instanceof TcpEndpoint)) throw new Error('not a TCP endpoint');
  return ep;
};

const errno = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof SocketError) return e.code;
    throw e;
  }
  return undefined;
};

test('the BSD pointer marks SEG.SEQ + ptr - 1: a read stops before it, MSG_OOB takes it once, the next read steps over it', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  t.is(errno(() => e.recvOob()), 'EINVAL', 'no urgent data yet');
  const data = pattern(20);
  p.send({ flags: 'U.', seq: p.their(1), ack: p.our(1), data, urg: 10 });
  t.is(e.poll() & (POLLIN | POLLPRI), POLLIN | POLLPRI);
  t.false(e.atMark());
  t.is(e.inq(), 9, 'SIOCINQ: the bytes before the mark');
  t.deepEqual(e.read(100), data.subarray(0, 9), 'the read stops at the mark');
  t.true(e.atMark());
  t.is(e.inq(), 0);
  t.is(e.recvOob(true), data[9]!, 'MSG_PEEK leaves it');
  t.is(e.recvOob(), data[9]!);
  t.is(errno(() => e.recvOob()), 'EINVAL', 'read once');
  t.is(e.poll() & POLLPRI, 0);
  t.deepEqual(e.read(100), data.subarray(10), 'the urgent byte is not in the stream');
  t.false(e.atMark());
});

test('net.ipv4.tcp_stdurg 1: the pointer points at the urgent byte itself (RFC 1122)', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50, sysctl: { tcp_stdurg: 1 } });
  const e = tcp(ep);
  const data = pattern(20);
  p.send({ flags: 'U.', seq: p.their(1), ack: p.our(1), data, urg: 10 });
  t.is(e.read(100)!.length, 10);
  t.is(e.recvOob(), data[10]!);
});

test('a pointer beyond the data: EAGAIN until the segment holding the byte comes, with or without URG; reads stop at it', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  p.send({ flags: 'U.', seq: p.their(1), ack: p.our(1), data: pattern(10), urg: 15 });
  t.is(errno(() => e.recvOob()), 'EAGAIN');
  t.is(e.poll() & POLLPRI, 0, 'no POLLPRI while only announced');
  t.is(e.read(100)!.length, 10);
  const more = pattern(10, 10);
  p.send({ flags: 'P.', seq: p.their(11), ack: p.our(1), data: more });
  t.is(e.poll() & POLLPRI, POLLPRI);
  t.is(e.read(100)!.length, 4, 'up to the byte at offset 14');
  t.is(e.recvOob(), more[4]!);
  t.is(e.read(100)!.length, 5);
});

test('only the urgent byte left: POLLIN wants one byte more, and a read steps over it and finds nothing (EAGAIN, not EOF)', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  p.send({ flags: 'U.', seq: p.their(1), ack: p.our(1), data: pattern(5), urg: 5 });
  t.is(e.read(100)!.length, 4);
  t.is(e.poll() & (POLLIN | POLLPRI), POLLPRI, 'the urgent byte alone does not make it readable');
  t.is(e.peek(100), null, 'a peek past the urgent byte finds nothing either');
  t.is(e.read(100), null);
  t.is(errno(() => e.recvOob()), 'EINVAL', 'stepped over: urgent data is forgotten');
});

test('SO_OOBINLINE: the urgent byte is read in the stream after the mark; MSG_OOB is EINVAL', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  e.setsockopt('SO_OOBINLINE', true);
  t.true(e.getsockopt('SO_OOBINLINE'));
  const data = pattern(20);
  p.send({ flags: 'U.', seq: p.their(1), ack: p.our(1), data, urg: 10 });
  t.is(e.inq(), 20, 'SIOCINQ counts everything inline');
  t.is(errno(() => e.recvOob()), 'EINVAL');
  t.deepEqual(e.read(100), data.subarray(0, 9), 'still stops at the mark');
  t.true(e.atMark());
  t.deepEqual(e.read(100), data.subarray(9), 'then reads the urgent byte and on');
});

test('SO_OOBINLINE on a listener holds for its child before accept(): a newer pointer keeps the old urgent byte in the stream', (t) => {
  const s = testStack({}, 1);
  const p = new TcpPeer(s, {});
  const l = tcp(s.stack.tcp.socket());
  l.setsockopt('SO_OOBINLINE', true);
  l.bind(0, p.stackPort);
  l.listen(4);
  p.send({ flags: 'S', seq: p.iss, opts: { mss: 1460 } });
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1) });
  const data = pattern(10);
  // The first byte urgent, the reader at it; then a newer pointer, both before accept().
  p.send({ flags: 'U.', seq: p.their(1), ack: p.our(1), data: data.subarray(0, 5), urg: 1 });
  p.send({ flags: 'U.', seq: p.their(6), ack: p.our(1), data: data.subarray(5), urg: 5 });
  const e = tcp(l.accept()!);
  t.deepEqual(e.read(100), data.subarray(0, 9), 'the old urgent byte is still there (without SO_OOBINLINE it would be gone)');
});

test('MSG_PEEK stops before the mark, and at it steps over the urgent byte without moving the reader', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  const data = pattern(20);
  p.send({ flags: 'U.', seq: p.their(1), ack: p.our(1), data, urg: 10 });
  t.deepEqual(e.peek(100), data.subarray(0, 9));
  t.is(e.read(100)!.length, 9);
  t.deepEqual(e.peek(100), data.subarray(10));
  t.true(e.atMark(), 'peeking moved nothing');
});

test('a newer pointer while the reader sits at the old mark: the old byte leaves the stream (tcp_check_urg)', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  const data = pattern(20);
  p.send({ flags: 'U.', seq: p.their(1), ack: p.our(1), data: data.subarray(0, 10), urg: 5 });
  t.is(e.read(100)!.length, 4);
  t.true(e.atMark());
  p.send({ flags: 'U.', seq: p.their(11), ack: p.our(1), data: data.subarray(10), urg: 5 });
  t.false(e.atMark());
  t.deepEqual(e.read(100), data.subarray(5, 14), 'from after the old byte to the new mark');
  t.is(e.recvOob(), data[14]!);
});

test('an old pointer (before RCV.NXT) is not replayed', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(10) });
  p.send({ flags: 'U.', seq: p.their(1), ack: p.our(1), data: pattern(10), urg: 5 });
  t.is(errno(() => e.recvOob()), 'EINVAL');
  t.is(e.read(100)!.length, 10);
});

test('tcp_read_sock (splice) stops at the mark and never steps over the urgent byte', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50 });
  const e = tcp(ep);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(10) });
  p.send({ flags: 'U.', seq: p.their(11), ack: p.our(1), data: pattern(10, 10), urg: 5 });
  const chunks: number[] = [];
  t.is(
    e.readSock((c) => {
      chunks.push(c.length);
      return c.length;
    }),
    14,
  );
  t.deepEqual(chunks, [14], 'the segments coalesced into one skb (tcp_try_coalesce), cut at the mark');
  t.is(
    e.readSock(() => 1),
    0,
  );
  t.is(e.spliceIdle(), 'held', 'bytes wait behind the mark');
  t.is(e.read(100)!.length, 5, 'read() steps over it');
  t.is(e.spliceIdle(), 'wait');
});

test('send(MSG_OOB): URG and SND.UP - SEG.SEQ on each segment before SND.UP, one MSS each, until it is acknowledged', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50, win: 30000, mss: 1000 });
  const e = tcp(ep);
  t.is(e.sendmsg(new Uint8Array(2500), { oob: true }), 2500);
  const before = p.log.length;
  p.flush();
  const sent = p.log.slice(before);
  t.deepEqual(
    sent.map((c) => [c.seen.flags, c.seen.len, c.urgent]),
    // An MSS of 1000 less the timestamp option's 12.
    [
      ['.U', 988, 2500],
      ['.U', 988, 1512],
      ['P.U', 524, 524],
    ],
  );
  p.send({ flags: '.', seq: p.their(1), ack: p.our(2501) });
  e.write(new Uint8Array(10));
  const mark = p.log.length;
  p.flush();
  const after = p.log.slice(mark);
  t.is(after.length, 1);
  t.false(after[0]!.seen.flags.includes('U'), 'acknowledged: urgent mode is over');
  t.is(after[0]!.urgent, 0);
});

test('in urgent mode a pure ACK starting before SND.UP carries the pointer too', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 50, win: 0 });
  const e = tcp(ep);
  p.win = 0;
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1), win: 0 });
  t.is(e.sendmsg(new Uint8Array(10), { oob: true }), 10);
  t.deepEqual(p.flush(), [], 'a zero window holds the data');
  const acks = p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), win: 0, data: pattern(5) });
  const last = p.log[p.log.length - 1]!;
  t.is(acks.length, 1);
  t.true(acks[0]!.flags.includes('U'));
  t.is(last.urgent, 10);
});
