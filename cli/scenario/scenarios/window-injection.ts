/**
 * window-injection — what in-window segments from someone who knows the
 * sequence numbers do to the send window (tcp_ack → tcp_ack_update_window →
 * tcp_may_update_window, RFC 9293 §3.10.7.4 SND.WL1/SND.WL2).
 * docs/linux-behaviour.md, In-window injection and the send window.
 *
 * (a) A pure ACK, SEG.ACK = SND.UNA, SEG.SEQ far ahead inside the
 * subject's receive window, window 0: SEG.SEQ > SND.WL1, so the subject
 * takes the zero window and SND.WL1 jumps ahead. Its new data waits; the
 * zero-window probes are answered by the real peer with SEG.SEQ < SND.WL1
 * and nothing acknowledged, which may not update the window: the send side
 * stays shut while the peer sends less than the jump, and opens when the
 * peer's data carries SEG.SEQ past the injected one.
 */
import { peer, sleep, subject, type Scenario } from '../types.ts';

export const windowInjection: Scenario = {
  name: 'window-injection',
  title: 'in-window pure ACK far ahead with window 0: send side shut until the peer\'s seq passes it',
  docs: ['docs/linux-behaviour.md#16-in-window-injection-and-the-send-window'],
  steps: [
    peer.listen('L', 5000),
    subject.connect('c', 5000),
    peer.accept('a', 'L'),
    subject.write('c', 1000),
    peer.read('a', 1000),
    sleep(300),
    // (a) SEG.SEQ = RCV.NXT + 5000 (inside the subject's window), SEG.ACK = SND.NXT, window 0.
    peer.craft({ sock: 'a', flags: '.', seq: 5000, ack: 0, window: 0 }),
    sleep(100),
    subject.write('c', 1000),
    peer.read('a', 1000, 1500),
    // The peer's own data below the injected SEG.SEQ: its ACK field moves nothing, SEG.SEQ < SND.WL1.
    peer.write('a', 2000),
    subject.read('c', 2000),
    peer.read('a', 1000, 1000),
    // Past it: SEG.SEQ > SND.WL1, the real window is taken and the data flows.
    peer.write('a', 6000),
    subject.read('c', 6000),
    peer.read('a', 1000, 1000),
    peer.close('a'),
    subject.close('c'),
  ],
};
