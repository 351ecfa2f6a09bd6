/**
 * no-listener — a SYN for no socket gets the reply reset (tcp_v4_rcv →
 * no_tcp_socket → tcp_v4_send_reset), and SYN_SENT receiving an acceptable
 * RST fails with ECONNREFUSED (tcp_rcv_synsent_state_process → tcp_reset).
 * docs/linux-behaviour.md, No listener.
 *
 * (a) The peer connects to a subject port nobody listens on: the subject
 * answers the SYN with RST,ACK seq 0 ack SEG.SEQ+1, window 0, no options
 * (reason NO_SOCKET); connect() fails with ECONNREFUSED.
 * (b) The subject connects to a closed port of the peer: the peer kernel's
 * RST,ACK makes the subject's connect() fail with ECONNREFUSED.
 */
import { peer, subject, type Scenario } from '../types.ts';

export const noListener: Scenario = {
  name: 'no-listener',
  title: 'SYN to a port without listener: RST,ACK seq 0, ECONNREFUSED (both directions)',
  docs: ['docs/linux-behaviour.md#1-no-listener-segments-for-no-socket'],
  steps: [
    // (a) subject has no listener on 5001
    peer.connect('a', 5001),
    peer.close('a'),
    // (b) subject as the client, the peer's port 5002 is closed
    subject.connect('b', 5002),
    subject.close('b'),
  ],
};
