/**
 * retrans-giveup — RTO retransmission with backoff (tcp_retransmit_timer);
 * the give-up by TCP_USER_TIMEOUT gives ETIMEDOUT and sends no RST
 * (tcp_write_err); the peer's next segment finds no socket and gets the
 * reply reset (tcp_v4_send_reset) `RST` seq=SEG.ACK.
 * docs/linux-behaviour.md, Retransmission give-up.
 *
 * The subject has TCP_USER_TIMEOUT=1000; the peer starts dropping everything
 * it receives; the subject writes 1000 bytes: retransmissions at RTO
 * (200 ms, then doubling), ETIMEDOUT about 1 s after the send, and no RST.
 * Once the drop is lifted, the peer's next data finds no socket: RST
 * seq=SEG.ACK, and the peer reads ECONNRESET.
 */
import { faultOff, faultOn, peer, sleep, subject, type Scenario } from '../types.ts';

export const retransGiveup: Scenario = {
  name: 'retrans-giveup',
  title: 'TCP_USER_TIMEOUT=1000 with a silent peer: retransmissions, ETIMEDOUT, no RST',
  docs: ['docs/linux-behaviour.md#9-retransmission-give-up-and-tcp_user_timeout'],
  steps: [
    peer.listen('L', 5000),
    subject.connect('c', 5000),
    peer.accept('a', 'L'),
    subject.setsockopt('c', { userTimeoutMs: 1000 }),
    faultOn('drop', { dir: 'in' }),
    subject.write('c', 1000),
    subject.read('c', 100, 5000),
    faultOff('drop'),
    peer.write('a', 10),
    sleep(50),
    peer.read('a', 100),
    peer.close('a'),
  ],
};
