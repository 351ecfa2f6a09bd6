/**
 * data-after-close — data after close: the orphan, now a FIN_WAIT2 minisock,
 * answers with the reply reset (tcp_timewait_state_process → TCP_TW_RST,
 * tcp_v4_send_reset) `RST` seq=SEG.ACK, reason TCP_TIMEWAIT_SOCKET; a RST in
 * CLOSE_WAIT gives the writing peer EPIPE, not ECONNRESET (tcp_reset).
 * docs/linux-behaviour.md, Data after close.
 *
 * (a) The subject closes (FIN), the peer keeps writing: its first write
 * succeeds, the subject resets, the next write fails with EPIPE and reads
 * return EOF (the FIN came first).
 * (b) shutdown(SHUT_RD) alone sends nothing, and Linux still queues and
 * delivers data that arrives afterwards: no RST.
 */
import { peer, sleep, subject, type Scenario } from '../types.ts';

export const dataAfterClose: Scenario = {
  name: 'data-after-close',
  title: 'data to a closed (orphan FIN_WAIT2) socket: RST seq=SEG.ACK, peer EPIPE; SHUT_RD alone: no RST',
  docs: ['docs/linux-behaviour.md#5-data-after-close-orphans'],
  steps: [
    peer.listen('L', 5000),
    // (a) close, then the peer writes
    subject.connect('a', 5000),
    peer.accept('pa', 'L'),
    subject.close('a'),
    sleep(50),
    peer.write('pa', 100),
    sleep(50),
    peer.write('pa', 100),
    peer.read('pa', 1000),
    peer.read('pa', 1000),
    peer.close('pa'),
    // (b) shutdown(SHUT_RD) alone
    subject.connect('b', 5000),
    peer.accept('pb', 'L'),
    subject.shutdown('b', 'read'),
    peer.write('pb', 100),
    subject.read('b', 1000),
    subject.read('b', 1000, 200),
    subject.close('b'),
    peer.read('pb', 1000),
    peer.close('pb'),
  ],
};
