/**
 * Local congestion (docs/linux-behaviour.md, Local congestion): a device
 * queue that drops every packet the stack sends (`tc qdisc add dev tun0 root
 * pfifo limit 0`, Stack.setDeviceQueueDropsAll). __tcp_transmit_skb gets
 * NET_XMIT_DROP: tcp_write_xmit stops at the skb, which stays unsent; the
 * probe timer (armed at max(RTO, 200 ms)) tries it every
 * TCP_RESOURCE_PROBE_INTERVAL without backoff, counting icsk_probes_out,
 * until TCP_USER_TIMEOUT (from the first probe) ends it; an RTO whose
 * retransmission is dropped retries every 500 ms without backoff,
 * TCPRetransFail. Test/scripts/qdisc-drop-probe-rto.pkt checks the same
 * against the kernel.
 *
 * Without SACK, so that no tail loss probe comes first.
 */
import test from 'ava';
import { snap, moved } from '../helpers/reset-paths.ts';
import { activeOpen, pattern, type TcpPeer } from '../helpers/tcp-peer.ts';
import type { TestStack } from '../helpers/stack.ts';

const info = (s: TestStack) => s.stack.tcp.connections()[0]!;

/** activeOpen (RTO 252 ms after the 50 ms handshake), quiet until t=100. */
function open() {
  const o = activeOpen({ rtt: 50, sack: false });
  o.peer.quietUntil(100);
  return o;
}

const times = (segs: ReturnType<TcpPeer['runUntil']>) => segs.map((x) => x.t);

test('A write while the device queue drops all: nothing sent, probes every 500 ms after the first at the RTO, no backoff, counted; ETIMEDOUT at TCP_USER_TIMEOUT from the first probe', (t) => {
  const { s, peer: p, ep } = open();
  ep.setUserTimeout(3000);
  s.stack.setDeviceQueueDropsAll(true);
  ep.write(pattern(24));
  t.deepEqual(p.flush(), [], 'tcp_write_xmit: the skb stays unsent');
  // Probes (tcp_write_wakeup of the data) at 352, 852, ... 2852; 3352 − 352 ≥ 3000: tcp_write_err.
  t.deepEqual(p.runUntil(2900), []);
  t.is(info(s).probes, 6);
  t.is(info(s).backoff, 0);
  t.is(info(s).unacked, 0, 'SND.NXT never moved');
  t.is(ep.state, 'ESTABLISHED');
  t.deepEqual(p.runUntil(3351), []);
  t.is(ep.state, 'ESTABLISHED');
  p.runUntil(3352);
  t.is(ep.state, 'CLOSED');
  t.is(ep.getError(), 'ETIMEDOUT');
});

test('The queue removed: the data leaves with the next probe, and the probing episode ends', (t) => {
  const { s, peer: p, ep } = open();
  s.stack.setDeviceQueueDropsAll(true);
  ep.write(pattern(24));
  t.deepEqual(p.flush(), []);
  t.deepEqual(p.runUntil(900), []);
  t.is(info(s).probes, 2);
  s.stack.setDeviceQueueDropsAll(false);
  t.deepEqual(p.runUntil(1351), [], 'nothing before the probe timer');
  const sent = p.runUntil(1352);
  t.deepEqual(sent.map((x) => [x.t, x.flags, x.len]), [[1352, 'P.', 24]]);
  t.is(info(s).probes, 0);
  t.is(info(s).unacked, 1);
});

test('An RTO while the queue drops all: tried every 500 ms, RTO and backoff unchanged, icsk_retransmits and total_retrans count each attempt, TCPRetransFail; the queue removed, the next attempt goes and backs off', (t) => {
  const { s, peer: p, ep } = open();
  ep.write(pattern(100));
  t.is(p.flush().length, 1);
  s.stack.setDeviceQueueDropsAll(true);
  const before = snap(s);
  // RTO at 352, then 852, 1352 (dropped).
  t.deepEqual(p.runUntil(1400), []);
  const i = info(s);
  t.deepEqual([i.backoff, i.rto, i.retransmits], [0, 252, 3]);
  t.like(moved(s, before), { TcpExtTCPTimeouts: 3, TcpExtTCPRetransFail: 3, TcpRetransSegs: 3 });
  s.stack.setDeviceQueueDropsAll(false);
  t.deepEqual(times(p.runUntil(1852)), [1852]);
  const j = info(s);
  t.deepEqual([j.backoff, j.rto, j.retransmits], [1, 504, 4]);
  t.is(moved(s, before).TcpExtTCPRetransFail, 3);
});

test('Pure ACKs the queue drops vanish: the delayed ACK is not owed again', (t) => {
  const { s, peer: p } = open();
  s.stack.setDeviceQueueDropsAll(true);
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: pattern(10) });
  t.deepEqual(p.runUntil(1000), []);
  s.stack.setDeviceQueueDropsAll(false);
  t.deepEqual(p.runUntil(2000), [], 'tcp_event_ack_sent ran before the queue: nothing is owed');
});
