/**
 * struct tcp_info as tcp_get_info fills it: a socket fresh from
 * tcp_init_sock, a listener's aliased fields, the names and numbering
 * Linux uses, and the fields the stack keeps no state for named. A
 * connection's values are checked through packet scripts (test/pkt/runner.test.ts).
 */
import test from 'ava';
import { TCP_INFO_FIELDS, TCP_STATE_NUMBERS, TCPI_OPT, unconnectedTcpInfo } from '../../stack/tcp/tcp-info-struct.ts';

test('a socket without a connection: tcp_init_sock\'s values (cwnd 10, RTO 1 s, MSS 536, no ssthresh, no min RTT, no pacing rate)', (t) => {
  const { values: v, notModelled } = unconnectedTcpInfo('CLOSED', 3);
  t.like(v, {
    tcpi_state: 7,
    tcpi_snd_cwnd: 10,
    tcpi_rto: 1_000_000,
    tcpi_snd_mss: 536,
    tcpi_rttvar: 250_000,
    tcpi_snd_ssthresh: 0x7fffffff,
    tcpi_min_rtt: 0xffffffff,
    tcpi_reordering: 3,
    tcpi_pacing_rate: 0xffffffffffffffffn,
    tcpi_max_pacing_rate: 0xffffffffffffffffn,
  });
  t.is(notModelled.get('tcpi_delivery_rate'), 'the stack keeps no delivery rate samples (tcp_rate.c)');
  t.false(notModelled.has('tcpi_segs_out'));
  t.false(notModelled.has('tcpi_total_rto'));
  t.false(notModelled.has('tcpi_snd_cwnd'));
});

test('a listener: TCP_LISTEN, the accept queue in tcpi_unacked and the backlog in tcpi_sacked, nothing else', (t) => {
  const { values: v } = unconnectedTcpInfo('LISTEN', 3, { queued: 2, backlog: 128 });
  t.like(v, { tcpi_state: 10, tcpi_unacked: 2, tcpi_sacked: 128, tcpi_snd_cwnd: 10, tcpi_rto: 0, tcpi_snd_mss: 0 });
});

test('Linux\'s numbering: enum tcp_state and the TCPI_OPT_* bits', (t) => {
  t.deepEqual([TCP_STATE_NUMBERS.ESTABLISHED, TCP_STATE_NUMBERS.SYN_SENT, TCP_STATE_NUMBERS.TIME_WAIT, TCP_STATE_NUMBERS.CLOSED, TCP_STATE_NUMBERS.LISTEN, TCP_STATE_NUMBERS.CLOSING], [1, 2, 6, 7, 10, 11]);
  t.deepEqual(Object.values(TCPI_OPT), [1, 2, 4, 8, 16, 32, 64, 128]);
});

test('every field packetdrill gives a Python block is in the struct', (t) => {
  // code.c write_tcp_info, Linux branch.
  const packetdrill = `state ca_state retransmits probes backoff options snd_wscale rcv_wscale delivery_rate_app_limited rto ato snd_mss
    rcv_mss unacked sacked lost retrans fackets last_data_sent last_ack_sent last_data_recv last_ack_recv pmtu rcv_ssthresh rtt
    rttvar snd_ssthresh snd_cwnd advmss reordering total_retrans pacing_rate max_pacing_rate rcv_rtt rcv_space bytes_acked
    bytes_received segs_out segs_in notsent_bytes min_rtt data_segs_in data_segs_out delivery_rate busy_time rwnd_limited
    sndbuf_limited delivered delivered_ce bytes_sent bytes_retrans dsack_dups reord_seen rcv_ooopack snd_wnd rcv_wnd rehash
    total_rto total_rto_recoveries total_rto_time ecn_mode accecn_opt_seen accecn_fail_mode options2 received_ce
    delivered_e1_bytes delivered_e0_bytes delivered_ce_bytes received_e1_bytes received_e0_bytes received_ce_bytes`;
  const fields = new Set<string>(TCP_INFO_FIELDS);
  t.deepEqual(packetdrill.split(/\s+/).map((f) => `tcpi_${f}`).filter((f) => !fields.has(f)), []);
});
