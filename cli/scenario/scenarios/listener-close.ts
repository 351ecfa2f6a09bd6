/**
 * listener-close — linux-tcp-paths.md E1 (closing a listener disconnects every
 * child still in the accept queue: R2 `RST,ACK`, reason TCP_STATE; their
 * peers get ECONNRESET), G7; checklist row 24; wire reference scenario 11.
 *
 * The subject listens, the peer connects twice, the subject closes the
 * listener without accepting: one RST,ACK per connection; the peer reads
 * ECONNRESET on both, then writes get EPIPE.
 */
import { peer, sleep, subject, type Scenario } from '../types.ts';

export const listenerClose: Scenario = {
  name: 'listener-close',
  title: 'listener closed with two unaccepted connections: RST,ACK to each, ECONNRESET',
  path: 'E1, G7; checklist 24',
  steps: [
    subject.listen('L', 5000, 5),
    peer.connect('a1', 5000),
    peer.connect('a2', 5000),
    sleep(50),
    subject.close('L'),
    peer.read('a1', 100),
    peer.read('a2', 100),
    peer.write('a1', 10),
    peer.close('a1'),
    peer.close('a2'),
  ],
};
