/**
 * linger0 — close() with SO_LINGER {1,0}: __tcp_close → tcp_disconnect sends
 * the active reset (tcp_send_active_reset) `RST,ACK` seq=SND.NXT, reason
 * TCP_STATE; the peer's errnos. docs/linux-behaviour.md, SO_LINGER 0.
 *
 * (a) Unsent data queued: the peer's namespace drops everything the subject
 * sends once the connection is up, so of the 30000 bytes written only the
 * initial congestion window (10 segments, 14480 bytes) leaves, unacknowledged,
 * and a few ms later (2·SRTT + 8 ms on a veth) the tail loss probe sends one
 * more new segment past the cwnd; close with SO_LINGER {1,0}, long before
 * the first RTO: RST,ACK at seq = SND.NXT = 15929 (the 14072 unsent bytes
 * are not counted). The capture, taken at the peer's interface before
 * nftables, still shows it; the peer's read sees nothing. (Limited by cwnd
 * rather than by the peer's window on purpose: how much a small receive
 * buffer lets in depends on the receiving kernel's skb truesize, which
 * differs between a veth and a TUN.)
 * (b) Idle connection with 3000 bytes the peer has not read yet: RST,ACK
 * seq=SND.NXT ack=RCV.NXT; the peer reads the 3000 bytes, then ECONNRESET,
 * then EOF; a write gets EPIPE.
 */
import { faultOff, faultOn, peer, sleep, subject, type Scenario } from '../types.ts';

export const linger0: Scenario = {
  name: 'linger0',
  title: 'SO_LINGER {1,0} close: RST,ACK seq=SND.NXT (unsent data dropped), peer ECONNRESET',
  docs: ['docs/linux-behaviour.md#4-so_linger-0'],
  steps: [
    peer.listen('L', 5000),
    // (a) unsent data queued
    subject.connect('a', 5000),
    peer.accept('pa', 'L'),
    faultOn('blackhole', { dir: 'in' }),
    subject.write('a', 30000),
    subject.setsockopt('a', { linger: { on: true, seconds: 0 } }),
    subject.close('a'),
    peer.read('pa', 100000, 300),
    faultOff('blackhole'),
    peer.close('pa'),
    // (b) idle connection, data waiting in the peer's receive queue
    subject.connect('b', 5000),
    peer.accept('pb', 'L'),
    subject.write('b', 3000),
    sleep(50),
    subject.setsockopt('b', { linger: { on: true, seconds: 0 } }),
    subject.close('b'),
    peer.read('pb', 100000),
    peer.read('pb', 100000),
    peer.read('pb', 100000),
    peer.write('pb', 10),
  ],
};
