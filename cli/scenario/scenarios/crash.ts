/**
 * crash — a segment for a forgotten connection finds no socket and gets the
 * reply reset (tcp_v4_send_reset) `RST` seq=SEG.ACK, reason NO_SOCKET; the
 * peer's errnos. docs/linux-behaviour.md, Host crash.
 *
 * The subject's host forgets its connections without a word (kernel: `ss -K`
 * with the resulting RST dropped in the subject's namespace; stack:
 * stack.tcp.crash(), then the listener opens again). The peer's next data
 * gets RST seq = SEG.ACK; the peer reads ECONNRESET, writes EPIPE; a new
 * connection to the restarted listener works. The subject's application
 * still holding the old socket reads ECONNABORTED (what ss -K gives it).
 */
import { peer, sleep, subject, type Scenario } from '../types.ts';

export const crash: Scenario = {
  name: 'crash',
  title: 'subject forgets its connections: peer data gets RST seq=SEG.ACK; reconnect works',
  docs: ['docs/linux-behaviour.md#6-host-crash'],
  steps: [
    subject.listen('L', 5000),
    peer.connect('a', 5000),
    subject.accept('c', 'L'),
    peer.write('a', 100),
    subject.read('c', 1000),
    subject.crash(),
    peer.write('a', 100),
    sleep(50),
    peer.read('a', 1000),
    peer.write('a', 10),
    peer.close('a'),
    peer.connect('b', 5000),
    subject.accept('c2', 'L'),
    peer.write('b', 10),
    subject.read('c2', 100),
    subject.read('c', 100),
    subject.close('c'),
    subject.close('c2'),
    peer.read('b', 100),
    peer.close('b'),
  ],
};
