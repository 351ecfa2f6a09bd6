/**
 * loss-* — the subject sends a bulk transfer of 100 full segments (1448
 * bytes: MSS 1460 less the timestamp option; over IPv6 1428, MSS 1440) to
 * a peer that never reads it; chosen data segments are dropped or duplicated at the peer's input
 * (segment-faults.ts), the same rules in both runs. Each impairment runs
 * under CUBIC and under Reno, picked per socket with TCP_CONGESTION (the
 * namespace default is the host's, bbr on the project's VM).
 *
 * What Linux does with each is loss detection and recovery (RFC 8985 RACK-TLP,
 * RFC 6675 SACK recovery, RFC 5682 F-RTO, undo on D-SACK: tcp_fastretrans_alert,
 * tcp_rack_detect_loss, tcp_send_loss_probe, tcp_retransmit_timer);
 * docs/linux-behaviour.md path 9 and "Loss recovery". Compared: which
 * segments are retransmitted, in which order and when, the peer's duplicate
 * ACKs, and the subject's counters at the end (LOSS_COUNTERS).
 *
 * - mid: segment 20 lost once (a hole with data above it: SACK recovery,
 *   with new data still to send during the recovery);
 * - tail: segment 100, the last, lost once (the tail loss probe's case);
 * - burst: segments 20-22 lost once;
 * - reorder: segment 20 reaches the peer after segments 21 and 22 (two
 *   duplicate ACKs, fewer than the DUPACK threshold: RACK's reordering
 *   window decides, and the late original's SACK shows the reordering);
 * - dup: segment 100, the last, delivered twice (the peer answers with a D-SACK);
 * - lost-rexmit: segment 20 lost twice, its first retransmission too.
 *
 * The path has a 50 ms round trip (LOSS_PATH_DELAY_MS) and a peer that
 * ACKs every segment (Scenario.peerQuickack).
 */
import { fullSegmentBytes, type Family } from '../family.ts';
import { faultOff, faultOn, peer, sleep, subject, type Scenario, type SegmentSelector } from '../types.ts';

/**
 * Everything the peer sends reaches the subject this late (a 50 ms round
 * trip). On a bare veth the kernel answers each ACK in microseconds and our
 * stack in Node in milliseconds, so the two senders saw different ACK
 * batches and left different flights behind a hole; with a round trip
 * that dwarfs both, each flight is what cwnd allows, as on a real path.
 */
export const LOSS_PATH_DELAY_MS = 50;

export const LOSS_SEGMENTS = 100;

/** The subject's counters compared at the end of every loss scenario. */
export const LOSS_COUNTERS: readonly string[] = [
  'TcpRetransSegs',
  'TcpExtTCPLossProbes',
  // Not TCPLossProbeRecovery: tcp_process_tlp_ack counts it when an ACK
  // passes tlp_high_seq after a probe that retransmitted (here the ACK of the
  // FIN, 1.5 s later), and two kernel runs of loss-tail-reno gave 0 and 1.
  'TcpExtTCPFastRetrans',
  'TcpExtTCPSlowStartRetrans',
  'TcpExtTCPSackRecovery',
  'TcpExtTCPRenoRecovery',
  'TcpExtTCPTimeouts',
  'TcpExtTCPLostRetransmit',
  'TcpExtTCPSpuriousRTOs',
  'TcpExtTCPDSACKRecv',
  'TcpExtTCPDSACKRecvSegs',
  'TcpExtTCPDSACKIgnoredNoUndo',
  'TcpExtTCPDSACKUndo',
  'TcpExtTCPLossUndo',
  'TcpExtTCPFullUndo',
  'TcpExtTCPPartialUndo',
  'TcpExtTCPSACKReorder',
];

type Impairment = 'mid' | 'tail' | 'burst' | 'reorder' | 'dup' | 'lost-rexmit';

const IMPAIRMENTS: Record<Impairment, { what: string; sel: Omit<SegmentSelector, 'sock' | 'bytes'> }> = {
  mid: { what: `segment 20 of ${LOSS_SEGMENTS} lost once`, sel: { from: 20, to: 20, times: 1, action: 'drop' } },
  tail: { what: `segment ${LOSS_SEGMENTS} of ${LOSS_SEGMENTS} (the last) lost once`, sel: { from: LOSS_SEGMENTS, to: LOSS_SEGMENTS, times: 1, action: 'drop' } },
  burst: { what: `segments 20-22 of ${LOSS_SEGMENTS} lost once`, sel: { from: 20, to: 22, times: 1, action: 'drop' } },
  reorder: { what: `segment 20 of ${LOSS_SEGMENTS} overtaken by the next two`, sel: { from: 20, to: 20, times: 1, action: 'reorder', after: 2 } },
  // The last segment: its copy (through the peer's loopback device) then
  // arrives with nothing else in flight. Segment 20's copy met the next
  // segments in varying order, which changed whether the peer's last ACK was
  // a delayed one, and with it whether the subject's tail loss probe fired.
  dup: { what: `segment ${LOSS_SEGMENTS} of ${LOSS_SEGMENTS} (the last) delivered twice`, sel: { from: LOSS_SEGMENTS, to: LOSS_SEGMENTS, times: 1, action: 'dup' } },
  'lost-rexmit': { what: `segment 20 of ${LOSS_SEGMENTS} lost twice (its retransmission too)`, sel: { from: 20, to: 20, times: 2, action: 'drop' } },
};

/**
 * Segments are full ones of the family (fullSegmentBytes: the MSS of a
 * 1500-byte MTU less 12 bytes of timestamp option), so that the write is
 * 100 of them and segment k the same segment in both families.
 */
function lossScenario(imp: Impairment, cc: 'cubic' | 'reno', family: Family): Scenario {
  const { what, sel } = IMPAIRMENTS[imp];
  const bytes = fullSegmentBytes(family);
  return {
    name: `loss-${imp}-${cc}`,
    title: `bulk of ${LOSS_SEGMENTS} segments, ${cc}: ${what}; retransmissions, times, counters`,
    docs: ['docs/linux-behaviour.md#9-retransmission-give-up-and-tcp_user_timeout', 'docs/differential-harness.md#loss-scenarios'],
    counters: LOSS_COUNTERS,
    // The tail of the transfer is ACKed at once, as its loss probe is
    // compared: with delayed ACKs, whether the probe (2·SRTT + 8 ms after the
    // last segment) fires before the peer's delayed ACK (40 ms + the path)
    // came down to a few milliseconds in both runs.
    peerQuickack: true,
    // The subject answers bursts of duplicate ACKs: the kernel after the
    // third, our stack after it has got through the burst.
    reactionWindow: true,
    steps: [
      // A path with a round trip (queue-faults.ts), from before the handshake.
      faultOn('rtt', { dir: 'out', delayMs: LOSS_PATH_DELAY_MS }),
      subject.listen('L', 5000),
      // On the listener, before any connection: the child starts with it
      // (tcp_ca_openreq_child). Set on the accepted socket instead, the
      // kernel's child would have started with the namespace's bbr, whose
      // bbr_init turns on internal pacing (sk_pacing_status), which a later
      // TCP_CONGESTION does not turn off: segments one at a time, paced.
      subject.setsockopt('L', { congestion: cc }),
      // The whole write fits the send buffer at once in both runs (sk_sndbuf
      // 2 MiB, locked). With the buffers' own sizes (tcp_wmem[1], grown by
      // tcp_sndbuf_expand) the write blocks for about two round trips in
      // both runs, but whether the buffer grows in the round of the first
      // duplicate ACKs or the next turns on whether the write queue runs dry
      // in that round, which turns on tcp_tso_should_defer's sub-millisecond
      // tests (docs/differential-harness.md, Loss scenarios): the write then returned
      // after 103 ms in the kernel run and 117 to 207 ms in the stack's.
      subject.setsockopt('L', { sndbuf: 1_048_576 }),
      // The peer never reads, so its receive buffer fills; once its window
      // stops advancing it holds its ACKs 40 ms (__tcp_ack_snd_check), and
      // when that happens depends on the peer's memory accounting of the
      // skbs it is given (truesize: a veth's differ from a TUN device's).
      // Over half its memory in use, __tcp_select_window also ends quick-ack
      // mode, so even a duplicate's D-SACK waits for the delayed ACK. From a
      // TUN device each 1448-byte segment costs 2304 bytes: with SO_RCVBUF
      // 212992 (sk_rcvbuf 425984) that point came at segment 93 in the stack
      // run only, and the subject's tail loss probe of segment 100 fired
      // before the peer's late D-SACK of loss-dup's copy. SO_RCVBUF 1 MiB
      // (sk_rcvbuf 2 MiB; net.core.rmem_max is 4 MiB on the project's VM),
      // set before the SYN, keeps 100 segments under a ninth of it in both runs.
      peer.connectWith('a', 5000, [{ rcvbuf: 1_048_576 }]),
      subject.accept('c', 'L'),
      faultOn('loss', { dir: 'in', segments: { sock: 'a', bytes, ...sel } }),
      subject.write('c', LOSS_SEGMENTS * bytes),
      // Long enough for an RTO and its doubled successor (200 + 400 ms) after the flight.
      sleep(1500),
      faultOff('loss'),
      // The peer never reads: a read that frees its buffer may send a window
      // update, and whether it does depends on the peer's receive-memory
      // accounting of the skbs it was given (tcp_cleanup_rbuf, scaling_ratio
      // from skb truesize), which differs between a veth and a TUN device.
      // The subject's FIN, then the peer's close with unread data: RST.
      subject.close('c'),
      peer.close('a'),
    ],
  };
}

/** The twelve loss scenarios, built for `family`. */
export function lossScenarios(family: Family): readonly Scenario[] {
  return (['mid', 'tail', 'burst', 'reorder', 'dup', 'lost-rexmit'] as const).flatMap((imp) => (['cubic', 'reno'] as const).map((cc) => lossScenario(imp, cc, family)));
}

/** Their names (the same in both families). */
export const LOSS_SCENARIO_NAMES: readonly string[] = lossScenarios(4).map((s) => s.name);
