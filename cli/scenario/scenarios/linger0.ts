/**
 * linger0 — linux-tcp-paths.md E3 (SO_LINGER {1,0}: tcp_disconnect, R2
 * `RST,ACK` seq=SND.NXT, reason TCP_STATE), G6/G7 (the peer's errnos);
 * checklist row 17; wire reference scenario 5.
 *
 * (a) Unsent data queued: the peer's receive buffer is small (tcp_rmem) and
 * it does not read, so of the 30000 bytes the subject writes only what fits
 * the peer's window is sent, and acknowledged; then close with SO_LINGER
 * {1,0}: RST,ACK at seq = SND.NXT (unsent bytes are not counted). The peer
 * reads what it holds, then ECONNRESET.
 * (Window-limited rather than cwnd-limited on purpose: with data in flight
 * Linux's tail loss probe sends one more new segment ~2 ms later, SRTT being
 * tiny here, which would move SND.NXT; TLP is a known gap of our stack and
 * not the path under test.)
 * (b) Idle connection with 3000 bytes the peer has not read yet: RST,ACK
 * seq=SND.NXT ack=RCV.NXT; the peer reads the 3000 bytes, then ECONNRESET,
 * then EOF; a write gets EPIPE.
 */
import { peer, sleep, subject, type Scenario } from '../types.ts';

export const linger0: Scenario = {
  name: 'linger0',
  title: 'SO_LINGER {1,0} close: RST,ACK seq=SND.NXT (unsent data dropped), peer ECONNRESET',
  path: 'E3, G6, G7; checklist 17',
  sysctls: { peer: { 'net.ipv4.tcp_rmem': '4096 8192 8192' } },
  steps: [
    peer.listen('L', 5000),
    // (a) unsent data queued
    subject.connect('a', 5000),
    peer.accept('pa', 'L'),
    subject.write('a', 30000),
    subject.setsockopt('a', { linger: { on: true, seconds: 0 } }),
    subject.close('a'),
    peer.read('pa', 100000),
    peer.read('pa', 100000),
    peer.close('pa'),
    // (b) idle connection, data waiting in the peer's receive queue
    subject.connect('b', 5000),
    peer.accept('pb', 'L'),
    subject.write('b', 3000),
    sleep(50),
    subject.setsockopt('b', { linger: { on: true, seconds: 0 } }),
    subject.close('b'),
    peer.read('pb', 100000),
    peer.read('pb', 100000),
    peer.read('pb', 100000),
    peer.write('pb', 10),
  ],
};
