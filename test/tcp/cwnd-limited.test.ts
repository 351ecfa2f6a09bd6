/**
 * Only a window in use grows (tcp_cwnd_validate, tcp_is_cwnd_limited;
 * stack/tcp/cwnd-limited.ts): an application that keeps fewer packets out
 * than cwnd allows leaves cwnd where it is, and in slow start cwnd grows
 * only while it is below twice the most packets out in the round. Measured
 * on Linux 6.18.44 with packetdrill (CUBIC, 10 ms RTT, every write ACKed
 * whole): writes of 1, 1, 1, 3 and then 8 segments leave tcpi_snd_cwnd at
 * 18 — only the 8-segment round counts (10 < 2 · 8); before, the stack
 * grew the window by every segment ACKed, to 24.
 */
import test from 'ava';
import { passiveOpen, pattern } from '../helpers/tcp-peer.ts';

test('application-limited rounds leave cwnd alone; slow start grows it only below twice the packets out', (t) => {
  const { peer: p, ep } = passiveOpen({ rtt: 10, mss: 1000, ts: false, ws: false, win: 65535 });
  const cwnds: number[] = [];
  let at = 10;
  for (const segments of [1, 1, 1, 3, 8]) {
    at += 10;
    p.quietUntil(at);
    ep.write(pattern(segments * 1000));
    const sent = p.flush();
    const end = sent[sent.length - 1]!;
    at += 10;
    p.quietUntil(at);
    p.send({ flags: '.', seq: p.their(1), ack: end.seq + end.len });
    cwnds.push(ep.info().cwnd);
  }
  t.deepEqual(cwnds, [10, 10, 10, 10, 18]);
});
