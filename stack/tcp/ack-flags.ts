/**
 * What an ACK did, as bits of tcp_ack's `flag` (FLAG_* in
 * net/ipv4/tcp_input.c). dsack.ts's FLAG_DSACKING_ACK (1) and
 * FLAG_DSACK_TLP (2) share the same word.
 */
/** tcp_sacktag_write_queue marked a record SACKed. */
export const FLAG_DATA_SACKED = 4;
/** SND.UNA moved. */
export const FLAG_SND_UNA_ADVANCED = 8;
/** New data was cumulatively acknowledged (FLAG_ACKED without a SYN). */
export const FLAG_DATA_ACKED = 16;
/** RACK found a retransmission lost again. */
export const FLAG_LOST_RETRANS = 32;
/** Re-arm the tail loss probe or RTO after this ACK (tcp_set_xmit_timer). */
export const FLAG_SET_XMIT_TIMER = 64;
/** tcp_may_update_window accepted the segment's window. */
export const FLAG_WIN_UPDATE = 128;
/** The segment carries data (or a FIN): not a duplicate ACK. */
export const FLAG_DATA = 256;
/** A retransmitted record was cumulatively acknowledged. */
export const FLAG_RETRANS_DATA_ACKED = 512;
/** A never-retransmitted record below the recovery point was ACKed or SACKed. */
export const FLAG_ORIG_SACK_ACKED = 1024;

/** FLAG_NOT_DUP: data, a window update, or something acknowledged. */
export const FLAG_NOT_DUP = FLAG_DATA | FLAG_WIN_UPDATE | FLAG_DATA_ACKED;
/** FLAG_FORWARD_PROGRESS: something ACKed or SACKed. */
export const FLAG_FORWARD_PROGRESS = FLAG_DATA_ACKED | FLAG_DATA_SACKED;
/** The ACK carries an ECN echo (tcp_ecn_rcv_ecn_echo). */
export const FLAG_ECE = 2048;
