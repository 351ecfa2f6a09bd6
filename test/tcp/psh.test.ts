/**
 * PSH on new data, segment by segment, where Linux 6.18 puts it
 * (stack/tcp/write-queue.ts): on the last segment of every packet of more
 * than one segment tcp_write_xmit hands to GSO (__tcp_transmit_skb), and on
 * a packet's last segment when its skb was marked (tcp_push at the end of a
 * write, forced_push every half window). Packets are min(cwnd room,
 * tcp_tso_segs) segments, tcp_tso_segs from the pacing rate. The same
 * exchanges run on the kernel as test/scripts/psh-*.pkt.
 */
import test from 'ava';
import { activeOpen, passiveOpen, pattern, TcpPeer, type Opened } from '../helpers/tcp-peer.ts';
import { testStack } from '../helpers/stack.ts';

/** The flags and payload length of every segment the stack sends now. */
function sent(o: Opened): [string, number][] {
  return o.peer.flush().map((x) => [x.flags, x.len]);
}

const pair = (n: number): [string, number][] =>
  Array.from({ length: n }, (_, i): [string, number] => [i % 2 === 0 ? '.' : 'P.', 1000]);

test('IW10, 10 ms RTT: a 20000-byte write leaves the initial window as five 2-segment packets, PSH on every second segment', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10 });
  t.is(o.ep.write(pattern(20_000)), 20_000);
  t.deepEqual(sent(o), pair(10));
});

test('IW10, 100 ms RTT: still 2-segment packets (tcp_min_tso_segs), PSH on every second segment', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 100 });
  t.is(o.ep.write(pattern(20_000)), 20_000);
  t.deepEqual(sent(o), pair(10));
});

test('10 ms RTT, cwnd 18 after two ACKs: 3-segment packets; the 2 segments of room left wait for the ACK due (tcp_tso_should_defer)', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10 });
  const p = o.peer;
  o.ep.write(pattern(40_000));
  t.deepEqual(sent(o), pair(10));
  p.quietUntil(20);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(4001) }).map((x) => [x.flags, x.len]), pair(8));
  const three = [['.', 1000], ['.', 1000], ['P.', 1000]];
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(8001) }).map((x) => [x.flags, x.len]), [...three, ...three]);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(10001) }).map((x) => [x.flags, x.len]), [...three, ...three]);
});

test('active open, 6 ms RTT: the SYN-ACK sets the pacing rate: 3-segment packets, the tenth segment alone without PSH', (t) => {
  const o = activeOpen({ mss: 1000, ts: false, rtt: 6 });
  o.peer.flush();
  t.is(o.ep.write(pattern(20_000)), 20_000);
  const three = [['.', 1000], ['.', 1000], ['P.', 1000]];
  t.deepEqual(sent(o), [...three, ...three, ...three, ['.', 1000]]);
});

test('writes of 500, 1000 and 1500 bytes each end in PSH; one of 2500 is a 2-segment packet and a 500-byte one, both ending in PSH', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 100 });
  const p = o.peer;
  o.ep.write(pattern(500));
  t.deepEqual(sent(o), [['P.', 500]]);
  p.quietUntil(200);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(501) });
  o.ep.write(pattern(1000));
  t.deepEqual(sent(o), [['P.', 1000]]);
  p.quietUntil(300);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1501) });
  o.ep.write(pattern(1500));
  t.deepEqual(sent(o), [['.', 1000], ['P.', 500]]);
  p.quietUntil(400);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(3001) });
  o.ep.write(pattern(2500));
  t.deepEqual(sent(o), [['.', 1000], ['P.', 1000], ['P.', 500]]);
});

test('a 3500-byte peer window: one-segment skbs, PSH marked every 1750 bytes written (forced_push); later skbs go in pairs (tcp_grow_skb)', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, ws: false, win: 3500, rtt: 10 });
  const p = o.peer;
  o.ep.write(pattern(10_000));
  t.deepEqual(sent(o), [['.', 1000], ['P.', 1000], ['.', 1000]]);
  p.quietUntil(20);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(2001) }).map((x) => [x.flags, x.len]), [['.', 1000], ['P.', 1000]]);
  p.quietUntil(30);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(3501) }).map((x) => [x.flags, x.len]), [['.', 1000], ['P.', 1000]]);
  p.quietUntil(40);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(7001) }).map((x) => [x.flags, x.len]), [['.', 1000], ['P.', 1000], ['P.', 1000]]);
});

test('a retransmission of one segment carries only its skb\'s own PSH mark, not the one forced on its packet', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10 });
  const p = o.peer;
  o.ep.write(pattern(4000));
  t.deepEqual(sent(o), pair(4));
  const resent = p.runUntil(p.now() + 1000).filter((x) => x.len > 0).map((x) => [x.flags, x.seq - p.our(0), x.len]);
  // The loss probe resends the last segment, the write's tail: its skb's PSH (tcp_push).
  t.deepEqual(resent[0], ['P.', 3001, 1000]);
  // The RTO resends the head segment alone, cut from its 2-segment skb (__tcp_retransmit_skb): no PSH.
  t.deepEqual(resent[1], ['.', 1, 1000]);
});

test('no RTT sample from the handshake (SYN-ACK retransmitted): full-size packets, but at most half of cwnd each (tcp_cwnd_test): 5 + 5', (t) => {
  const s = testStack({}, 1);
  const p = new TcpPeer(s, {});
  const listener = s.stack.tcp.socket();
  listener.bind(0, p.stackPort);
  listener.listen(16);
  t.is(p.send({ flags: 'S', seq: p.iss, opts: { mss: 1000, sackOk: true, ws: 7 } })[0]?.flags, 'S.');
  t.deepEqual(p.runUntil(1100).map((x) => x.flags), ['S.'], 'the SYN-ACK retransmitted at 1 s');
  p.quietUntil(1150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1) });
  const ep = listener.accept()!;
  t.is(ep.write(pattern(20_000)), 20_000);
  const five = [['.', 1000], ['.', 1000], ['.', 1000], ['.', 1000], ['P.', 1000]];
  t.deepEqual(p.flush().map((x) => [x.flags, x.len]), [...five, ...five]);
});
