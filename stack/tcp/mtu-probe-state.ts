/**
 * Path MTU probing's per-connection state (struct icsk_mtup in
 * include/net/inet_connection_sock.h and tp->mtu_probe); the logic is in
 * mtu-probe.ts, and what loss recovery does with a lost probe in
 * mtu-probe-loss.ts. Path MTUs here include the IP and TCP headers (and TCP's
 * fixed options), as Linux's search_low and search_high do.
 */
export interface MtuProbeState {
  /** icsk_mtup.enabled: probing runs on this connection (tcp_mtu_probing 2, or 1 after a black hole). */
  enabled: boolean;
  /** The largest path MTU still thought possible (the peer's MSS, cut by the route's MTU and failed probes). */
  searchHigh: number;
  /** The largest path MTU known to work (tcp_base_mss's, raised by probes that arrive); the MSS never exceeds it. */
  searchLow: number;
  /** The path MTU of the probe in flight, 0 when none is. */
  probeSize: number;
  /** tcp_jiffies32 when probing started or last succeeded (tcp_mtu_check_reprobe's interval runs from it). */
  probeTimestamp: number;
  /** The probe segment's sequence range (tp->mtu_probe.probe_seq_start, probe_seq_end). */
  probeSeqStart: number;
  probeSeqEnd: number;
}

/** A listener's and a fresh socket's: zeroed, as icsk_mtup is before tcp_mtup_init. */
export function newMtuProbeState(): MtuProbeState {
  return { enabled: false, searchHigh: 0, searchLow: 0, probeSize: 0, probeTimestamp: 0, probeSeqStart: 0, probeSeqEnd: 0 };
}
