/**
 * rfc5961 — RFC 5961 §3.2, §4.2 and §5.2 (tcp_validate_incoming, tcp_ack):
 * an in-window RST that is not exact, a SYN on a synchronized connection,
 * and an ACK of data never sent each get a challenge ACK
 * <SEQ=SND.NXT><ACK=RCV.NXT>, one per 500 ms; an exact RST resets
 * (tcp_reset: the errno by state). docs/linux-behaviour.md, RFC 5961.
 *
 * The segments are crafted by the peer's agent (raw socket), their numbers
 * taken from the capture of the live connection: seq as an offset from the
 * subject's RCV.NXT, ack from its SND.NXT. 600 ms between them keeps the
 * per-socket challenge-ACK limit (tcp_invalid_ratelimit 500 ms) out of play.
 */
import { peer, sleep, subject, type Scenario } from '../types.ts';

export const rfc5961: Scenario = {
  name: 'rfc5961',
  title: 'in-window RST, SYN, ACK beyond SND.NXT: challenge ACKs; exact RST: ECONNRESET',
  docs: ['docs/linux-behaviour.md#10-rst-syn-and-challenge-acks-rfc-5961'],
  steps: [
    peer.listen('L', 5000),
    subject.connect('c', 5000),
    peer.accept('a', 'L'),
    peer.write('a', 100),
    subject.read('c', 1000),
    sleep(600),
    // RST inside the window but not at RCV.NXT: challenge ACK.
    peer.craft({ sock: 'a', flags: 'R', seq: 1000, ack: 0 }),
    sleep(600),
    // SYN on an established connection: challenge ACK.
    peer.craft({ sock: 'a', flags: 'S', seq: 500, ack: 0 }),
    sleep(600),
    // ACK of data the subject never sent (SEG.ACK > SND.NXT): challenge ACK on 6.18.38+.
    peer.craft({ sock: 'a', flags: '.', seq: 0, ack: 100000 }),
    sleep(600),
    // The exact RST: the connection is reset.
    peer.craft({ sock: 'a', flags: 'R', seq: 0, ack: 0 }),
    subject.read('c', 100, 500),
    subject.write('c', 10),
    peer.write('a', 10),
    sleep(50),
    peer.read('a', 100),
    peer.close('a'),
    subject.close('c'),
  ],
};
