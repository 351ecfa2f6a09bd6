/**
 * accept-overflow — a SYN while the accept queue is full is dropped, whatever
 * tcp_abort_on_overflow says (tcp_conn_request); listen(1) holds 2
 * (sk_acceptq_is_full); a third ACK that finds the queue full (tcp_check_req
 * → listen_overflow) is dropped with tcp_abort_on_overflow=0 and gets the
 * reply reset (tcp_v4_send_reset) `RST` seq=SEG.ACK, reason INVALID_SYN,
 * with =1. docs/linux-behaviour.md, Accept-queue overflow.
 *
 * listen(1), never accept(). Per part: x1 connects and is queued; with the
 * peer's pure ACKs dropped, x2 and x3 complete on the peer's side only (the
 * subject holds two request socks); with the ACKs flowing again, data on x2
 * promotes it (queue now 2 = full), data on x3 overflows; a fourth connect's
 * SYN is dropped. Part 0 with tcp_abort_on_overflow=0 (x3's data is dropped,
 * the peer retransmits it, the subject retransmits its SYN-ACK at 1 s and the
 * answer is dropped again; closing the listener then resets x1 and x2, and
 * x3's retransmission 1.6 s after its data meets no socket), part
 * 1 with =1 (y3's data gets RST, the peer reads ECONNRESET).
 */
import { faultOff, faultOn, peer, sleep, subject, type Scenario } from '../types.ts';

export const acceptOverflow: Scenario = {
  name: 'accept-overflow',
  title: 'listen(1), no accept: SYN dropped when full; 3rd ACK dropped (abort_on_overflow 0) or RST (1)',
  docs: ['docs/linux-behaviour.md#12-accept-queue-overflow-and-tcp_abort_on_overflow'],
  steps: [
    // Part 0: tcp_abort_on_overflow = 0 (the default).
    subject.listen('L0', 5000, 1),
    peer.connect('x1', 5000),
    faultOn('noack', { dir: 'out', only: 'pure-ack' }),
    peer.connect('x2', 5000),
    peer.connect('x3', 5000),
    faultOff('noack'),
    peer.write('x2', 10),
    peer.write('x3', 10),
    peer.read('x3', 100, 300),
    peer.connect('x4', 5000, 300),
    // x3's request keeps its timer: its SYN-ACK comes again 1 s after the SYN,
    // the peer's ACK overflows again and is dropped again.
    sleep(500),
    // Closing the listener resets its queued children (x1, x2: inet_csk_listen_stop) and drops
    // the request silently; x3's next retransmission then meets no socket.
    // That retransmission is the peer's fourth: its tail loss probe fires
    // first, at the RTO (tcp_schedule_loss_probe: 2·SRTT + rto_min with one
    // segment in flight, capped at the RTO's SRTT + rto_min), then RTOs at
    // +200, +400 and +800 ms, about 1.6 s after x3's data, i.e. about 400 ms
    // after this close. The sleep is long enough for it to land in its middle
    // in both runs, not on the boundary with the next steps.
    subject.close('L0'),
    sleep(800),
    // Part 1: tcp_abort_on_overflow = 1.
    subject.sysctl('net.ipv4.tcp_abort_on_overflow', 1),
    subject.listen('L1', 5001, 1),
    peer.connect('y1', 5001),
    faultOn('noack', { dir: 'out', only: 'pure-ack' }),
    peer.connect('y2', 5001),
    peer.connect('y3', 5001),
    faultOff('noack'),
    peer.write('y2', 10),
    peer.write('y3', 10),
    peer.read('y3', 100, 300),
    peer.connect('y4', 5001, 300),
  ],
};
