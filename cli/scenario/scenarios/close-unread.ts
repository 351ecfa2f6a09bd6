/**
 * close-unread — close() with unread data (__tcp_close, data_was_unread) and
 * what the peer's application then sees. docs/linux-behaviour.md, Close
 * with unread data.
 *
 * The peer sends 5000 bytes, the subject reads 4096 and closes with 904
 * unread: Linux sends no FIN but the active reset (tcp_send_active_reset) RST,ACK seq=SND.NXT ack=RCV.NXT (reason
 * TCP_ABORT_ON_CLOSE). The peer reads ECONNRESET, then EOF; writes get EPIPE.
 */
import { peer, sleep, subject, type Scenario } from '../types.ts';

export const closeUnread: Scenario = {
  name: 'close-unread',
  title: 'subject closes with unread data: RST,ACK instead of FIN',
  docs: ['docs/linux-behaviour.md#3-close-with-unread-data'],
  steps: [
    peer.listen('L', 5000),
    subject.connect('c', 5000),
    peer.accept('a', 'L'),
    peer.write('a', 5000),
    subject.read('c', 4096),
    subject.close('c'),
    sleep(100),
    peer.read('a', 100),
    peer.read('a', 100),
    peer.write('a', 10),
    peer.write('a', 10),
  ],
};
