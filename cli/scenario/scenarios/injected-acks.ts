/**
 * injected-acks — in-window pure ACKs that acknowledge nothing new, injected
 * while data is in flight, each with SEG.SEQ further ahead than the last
 * (tcp_ack: tcp_may_update_window holds for SEG.SEQ > SND.WL1, which sets
 * FLAG_WIN_UPDATE even when the window value is unchanged, and an ACK with
 * FLAG_WIN_UPDATE is not a duplicate ACK for tcp_fastretrans_alert). So a
 * storm of them is no trigger for fast retransmit: the lost data goes at the
 * RTO. The peer has SACK off (tcp_sack=0), where duplicate ACKs alone count
 * (Reno, tcp_add_reno_sack). docs/linux-behaviour.md, In-window injection
 * and the send window.
 */
import { fullSegmentBytes, type Family } from '../family.ts';
import { faultOff, faultOn, peer, sleep, subject, type Scenario } from '../types.ts';

/** Built for `family`: the lost segments are full ones of the family (1448 bytes over IPv4, 1428 over IPv6). */
export const injectedAcks = (family: Family): Scenario => ({
  name: 'injected-acks',
  title: 'in-window pure ACKs with SEG.SEQ ahead during a loss: window updates, not duplicate ACKs; retransmission at the RTO',
  docs: ['docs/linux-behaviour.md#16-in-window-injection-and-the-send-window'],
  sysctls: { peer: { 'net.ipv4.tcp_sack': 0 } },
  steps: [
    peer.listen('L', 5000),
    subject.connect('c', 5000),
    peer.accept('a', 'L'),
    subject.write('c', 1000),
    peer.read('a', 1000),
    sleep(300),
    // The subject's next data (three segments: 1448, 1448, 104 bytes; over
    // IPv6 1428, 1428, 144) is lost once each; four ACKs of SND.UNA, SEG.SEQ ahead each time. Lost
    // once, not for as long as a fault is on: the first RTO (~200 ms after
    // the write) passes whenever the crafted ACKs end, in both runs.
    faultOn('lose', { dir: 'in', segments: { sock: 'a', start: 1000, bytes: fullSegmentBytes(family), from: 1, to: 3, times: 1, action: 'drop' } }),
    subject.write('c', 3000),
    peer.craft({ sock: 'a', flags: '.', seq: 1000, ack: -3000 }),
    peer.craft({ sock: 'a', flags: '.', seq: 2000, ack: -3000 }),
    peer.craft({ sock: 'a', flags: '.', seq: 3000, ack: -3000 }),
    peer.craft({ sock: 'a', flags: '.', seq: 4000, ack: -3000 }),
    faultOff('lose'),
    sleep(600),
    peer.read('a', 3000),
    peer.close('a'),
    subject.close('c'),
  ],
});
