/**
 * bad-ack — segments to a listener (tcp_rcv_state_process, TCP_LISTEN): an
 * ACK gets the reply reset (tcp_v4_send_reset) `RST` seq=SEG.ACK, reason
 * TCP_FLAGS; a RST and a bare FIN get nothing. Segments for no socket
 * (tcp_v4_rcv → no_tcp_socket): with ACK `RST` seq=SEG.ACK, without
 * `RST,ACK` seq 0 ack SEG.SEQ+LEN(+FIN), reason NO_SOCKET; nothing for a
 * RST. docs/linux-behaviour.md, Bad ACKs and No listener.
 *
 * Crafted by the peer's agent with absolute numbers, from ports 20001-20008.
 */
import { peer, subject, type Scenario } from '../types.ts';

export const badAck: Scenario = {
  name: 'bad-ack',
  title: 'crafted ACK/FIN/RST to a listener and to a closed port: RST seq=SEG.ACK or seq 0, or nothing',
  docs: ['docs/linux-behaviour.md#11-bad-acks-in-syn_sent-listen-and-syn_recv', 'docs/linux-behaviour.md#1-no-listener-segments-for-no-socket'],
  steps: [
    subject.listen('L', 5000),
    // To the listener.
    peer.craft({ flags: '.', sport: 20001, dport: 5000, seq: 1000, ack: 5555 }),
    peer.craft({ flags: 'F.', sport: 20002, dport: 5000, seq: 2000, ack: 6666 }),
    peer.craft({ flags: 'P.', sport: 20003, dport: 5000, seq: 3000, ack: 7777, payload: 10 }),
    peer.craft({ flags: 'F', sport: 20004, dport: 5000, seq: 4000, ack: 0 }),
    peer.craft({ flags: 'R', sport: 20005, dport: 5000, seq: 5000, ack: 0 }),
    // To a port nobody listens on.
    peer.craft({ flags: '.', sport: 20006, dport: 5009, seq: 6000, ack: 8888 }),
    peer.craft({ flags: 'F', sport: 20007, dport: 5009, seq: 7000, ack: 0 }),
    peer.craft({ flags: 'R.', sport: 20008, dport: 5009, seq: 8000, ack: 9999 }),
    subject.close('L'),
  ],
};
