/**
 * connect-timeout — SYN retransmission and give-up (tcp_retransmit_timer,
 * tcp_write_timeout); the application gives up: close in SYN_SENT sends
 * nothing, and the late SYN-ACK finds no socket and gets the reply reset
 * (tcp_v4_send_reset) `RST` seq=SEG.ACK; the SYN-ACK retransmission
 * (reqsk_timer_handler). docs/linux-behaviour.md, SYN timeout.
 *
 * (a) The peer drops everything the subject sends. With tcp_syn_retries=1 and
 * tcp_syn_linear_timeouts=0 the subject sends its SYN, retransmits it once
 * after 1 s, and gives up 2 s later (time 3 s): ETIMEDOUT, and nothing else
 * on the wire — no RST.
 * (b) The peer drops its own first SYN-ACK. The subject's application gives up
 * after 100 ms and closes (nothing sent). The peer's SYN-ACK retransmission
 * (1 s after the SYN) finds no socket: the subject answers RST (no ACK flag)
 * seq = SEG.ACK = ISN+1, reason NO_SOCKET; the peer drops the request, so
 * accept() never returns it.
 */
import { faultOff, faultOn, peer, sleep, subject, type Scenario } from '../types.ts';

export const connectTimeout: Scenario = {
  name: 'connect-timeout',
  title: 'SYN retransmission then ETIMEDOUT; app gives up, late SYN-ACK gets RST seq=SEG.ACK',
  docs: ['docs/linux-behaviour.md#2-syn-timeout-and-the-late-syn-ack'],
  sysctls: { subject: { 'net.ipv4.tcp_syn_retries': 1, 'net.ipv4.tcp_syn_linear_timeouts': 0 } },
  steps: [
    // (a) the peer is silent
    faultOn('silent', { dir: 'in' }),
    subject.connect('a', 5001, 6000),
    faultOff('silent'),
    // (b) the first SYN-ACK is lost; the application gives up at 100 ms
    peer.listen('L', 5002),
    faultOn('synack', { dir: 'out', only: 'syn-ack' }),
    subject.connect('b', 5002, 100),
    faultOff('synack'),
    sleep(1500),
    peer.accept('x', 'L', 200),
  ],
};
