/**
 * listener-close — closing a listener disconnects every child still in the
 * accept queue (inet_csk_listen_stop → tcp_disconnect): the active reset
 * (tcp_send_active_reset) `RST,ACK`, reason TCP_STATE; their peers get
 * ECONNRESET. docs/linux-behaviour.md, Listener close.
 *
 * The subject listens, the peer connects twice, the subject closes the
 * listener without accepting: one RST,ACK per connection; the peer reads
 * ECONNRESET on both, then writes get EPIPE.
 */
import { peer, sleep, subject, type Scenario } from '../types.ts';

export const listenerClose: Scenario = {
  name: 'listener-close',
  title: 'listener closed with two unaccepted connections: RST,ACK to each, ECONNRESET',
  docs: ['docs/linux-behaviour.md#14-listener-close'],
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
