/**
 * fin-wait2 — an orphan in FIN_WAIT2 lives on as a minisock for
 * tcp_fin_timeout (tcp_time_wait) and expires silently; later data finds no
 * socket and gets the reply reset (tcp_v4_send_reset) `RST` seq=SEG.ACK,
 * reason NO_SOCKET. docs/linux-behaviour.md, FIN_WAIT2 timeout.
 *
 * The subject closes, the peer never does; tcp_fin_timeout=2 in the subject.
 * Nothing is sent when the FIN_WAIT2 state expires at 2 s; the peer's write
 * at 2.5 s succeeds, meets no socket and gets RST seq=SEG.ACK; the peer then
 * sees EPIPE on write and EOF on read.
 */
import { peer, sleep, subject, type Scenario } from '../types.ts';

export const finWait2: Scenario = {
  name: 'fin-wait2',
  title: 'orphan FIN_WAIT2 expires silently (tcp_fin_timeout=2); later data gets RST seq=SEG.ACK',
  docs: ['docs/linux-behaviour.md#8-fin_wait2-timeout-and-tcp_linger2'],
  sysctls: { subject: { 'net.ipv4.tcp_fin_timeout': 2 } },
  steps: [
    peer.listen('L', 5000),
    subject.connect('c', 5000),
    peer.accept('a', 'L'),
    subject.close('c'),
    sleep(2500),
    peer.write('a', 100),
    sleep(50),
    peer.write('a', 100),
    peer.read('a', 100),
    peer.close('a'),
  ],
};
