/**
 * fin-wait2 — linux-tcp-paths.md E4/E6 (orphan FIN_WAIT2 as a minisock for
 * tcp_fin_timeout; expiry is silent), A1 (later data: R1 `RST` seq=SEG.ACK,
 * reason NO_SOCKET); checklist rows 22, 2; wire reference scenario 9.
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
  path: 'E4, E6, A1; checklist 22, 2',
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
