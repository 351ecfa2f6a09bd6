/**
 * keepalive — keepalive probes seq=SND.UNA-1 (tcp_keepalive_timer); the
 * give-up sends the active reset (tcp_send_active_reset) `RST,ACK`, reason
 * TCP_KEEPALIVE_TIMEOUT, and gives ETIMEDOUT; a probe answered by a RST
 * gives ECONNRESET. docs/linux-behaviour.md, Keepalive.
 *
 * Keepalive idle 1 s, interval 1 s, 2 probes on the subject's socket.
 * (a) The peer is alive: the probe at 1 s is answered (a duplicate ACK),
 * the connection lives.
 * (b) The peer is silent (it drops its own output): probes at 1 s and 2 s,
 * then at 3 s RST,ACK seq=SND.NXT and the blocked read gets ETIMEDOUT; the
 * peer, which does receive, reads ECONNRESET.
 * (c) The peer forgot the connection (its kernel `ss -K`, RST dropped): the
 * first probe is answered by the reply reset `RST` seq = probe.ack, the subject's read
 * gets ECONNRESET at 1 s. Keepalive is switched on after the crash, with
 * SO_KEEPALIVE last, so the 1 s runs from that call: the read's time does
 * not include how long the crash step took (`ss -K` under load).
 */
import { faultOff, faultOn, peer, sleep, subject, type Scenario, type SockOpt } from '../types.ts';

const KEEPALIVE: SockOpt = { keepalive: { idle: 1, intvl: 1, cnt: 2 } };
const KEEPALIVE_FROM_NOW: SockOpt = { keepalive: { idle: 1, intvl: 1, cnt: 2, enableLast: true } };

export const keepalive: Scenario = {
  name: 'keepalive',
  title: 'keepalive 1/1/2: probes answered; silent peer: RST,ACK + ETIMEDOUT; forgotten: ECONNRESET',
  docs: ['docs/linux-behaviour.md#7-keepalive'],
  steps: [
    peer.listen('L', 5000),
    // (a) alive
    subject.connect('a', 5000),
    peer.accept('pa', 'L'),
    subject.setsockopt('a', KEEPALIVE),
    sleep(1500),
    subject.read('a', 100, 100),
    subject.close('a'),
    peer.close('pa'),
    // (b) silent
    subject.connect('b', 5000),
    peer.accept('pb', 'L'),
    subject.setsockopt('b', KEEPALIVE),
    faultOn('silent', { dir: 'out' }),
    subject.read('b', 100, 5000),
    faultOff('silent'),
    peer.read('pb', 100, 200),
    peer.close('pb'),
    subject.close('b'),
    // (c) the peer forgot
    subject.connect('c', 5000),
    peer.accept('pc', 'L'),
    peer.crash(),
    subject.setsockopt('c', KEEPALIVE_FROM_NOW),
    subject.read('c', 100, 3000),
    subject.close('c'),
  ],
};
