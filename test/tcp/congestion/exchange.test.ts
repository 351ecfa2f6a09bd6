/**
 * CUBIC as the default congestion control, seen on the wire: a loss in the
 * initial window of 10 sets ssthresh to 10 × 717/1024 = 7 (tcp_cubic.c's
 * cubictcp_recalc_ssthresh), where Reno (tcp_reno_ssthresh) halves it to 5;
 * when the ACK of the initial window arrives (still in recovery: segment 10,
 * sent on the first duplicate ACK, is outstanding) the window less that one
 * leaves in one burst. On the second duplicate ACK segment 11 waits, as on
 * Linux 6.18: a packet cut short by cwnd is deferred while an ACK is due
 * (tcp_tso_should_defer). test/scripts/cubic-loss-window.pkt shows the full ACK.
 * net.ipv4.tcp_congestion_control and TCP_CONGESTION select Reno.
 */
import test from 'ava';
import { TcpEndpoint } from '../../../stack/socket/endpoint.ts';
import { SocketError } from '../../../stack/socket/types.ts';
import type { Sysctls } from '../../../stack/sysctl.ts';
import { passiveOpen, pattern } from '../../helpers/tcp-peer.ts';

/** Twenty segments queued; the first of the initial ten is lost and SACKed around; the initial ten acknowledged at 200 ms. */
function burstAfterRecovery(sysctl: Partial<Sysctls>, before?: (ep: TcpEndpoint) => void) {
  const opened = passiveOpen({ sysctl, rtt: 50 });
  const p = opened.peer;
  const ep = opened.ep;
  if (!(ep instanceof TcpEndpoint)) throw new Error('a TCP endpoint');
  before?.(ep);
  p.quietUntil(100);
  ep.write(pattern(1448 * 20));
  const initial = p.flush();
  p.quietUntil(150);
  const edge = (i: number) => p.our(1 + 1448 * i);
  const retransmitted = [];
  for (let n = 2; n <= 4; n++) retransmitted.push(...p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(1), edge(n)]] } }));
  const inRecovery = ep.info();
  p.quietUntil(200);
  const burst = p.send({ flags: '.', seq: p.their(1), ack: edge(10) });
  return { ...opened, initial, retransmitted, inRecovery, burst, ep };
}

test('default cubic: ssthresh 7 after a loss at cwnd 10, and a burst of 7 - 2 in flight once the initial window is acknowledged', (t) => {
  const r = burstAfterRecovery({});
  t.is(r.ep.congestionControl, 'cubic');
  t.is(r.initial.length, 10);
  // Segment 10 on the first duplicate ACK, nothing on the second (tcp_tso_should_defer), then the fast retransmit.
  t.deepEqual(r.retransmitted.map((x) => x.seq), [10, 0].map((i) => r.peer.our(1 + 1448 * i)));
  t.is(r.inRecovery.congestion, 'cubic');
  t.is(r.inRecovery.ssthresh, 7);
  // cwnd = ssthresh = 7 with segment 10 still out: 6 new ones.
  t.deepEqual(r.burst.map((x) => x.seq), [11, 12, 13, 14, 15, 16].map((i) => r.peer.our(1 + 1448 * i)));
});

test('net.ipv4.tcp_congestion_control=reno: ssthresh 5 (cwnd / 2) and a burst of 5 - 1', (t) => {
  const r = burstAfterRecovery({ tcp_congestion_control: 'reno' });
  t.is(r.ep.congestionControl, 'reno');
  t.is(r.inRecovery.congestion, 'reno');
  t.is(r.inRecovery.ssthresh, 5);
  t.is(r.burst.length, 4);
});

test('TCP_CONGESTION "reno" on a cubic socket switches it; an unknown name is ENOENT and changes nothing', (t) => {
  const r = burstAfterRecovery({}, (ep) => {
    t.throws(() => ep.setCongestionControl('bbr'), { instanceOf: SocketError, message: /ENOENT/ });
    t.is(ep.congestionControl, 'cubic');
    ep.setCongestionControl('reno');
  });
  t.is(r.ep.congestionControl, 'reno');
  t.is(r.inRecovery.ssthresh, 5);
  t.is(r.burst.length, 4);
});
