/**
 * no-listener — linux-tcp-paths.md A1 (no socket: R1) and D2.3 (SYN_SENT gets
 * an acceptable RST: ECONNREFUSED); checklist rows 1 and 13; wire reference
 * scenario 1.
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
  path: 'A1, D2.3; checklist 1, 13',
  steps: [
    // (a) subject has no listener on 5001
    peer.connect('a', 5001),
    peer.close('a'),
    // (b) subject as the client, the peer's port 5002 is closed
    subject.connect('b', 5002),
    subject.close('b'),
  ],
};
