/**
 * A lost path MTU probe (RFC 4821 §7.6.2; mtu-probe.ts), as loss recovery
 * sees it: apart from mtu-probe.ts so that recovery.ts does not depend on
 * the MSS code (pmtu.ts depends on recovery.ts).
 */
import type { Connection } from './connection.ts';

/**
 * tcp_fastretrans_alert, entering recovery in Open or Disorder with the
 * probe at SND.UNA: the probe was too big for the path, not a congestion
 * signal. search_high drops below it (tcp_mtup_probe_failed,
 * TcpExtTCPMTUPFail) and cwnd gets back the packet the probe took; the
 * caller then resends what no longer fits (tcp_simple_retransmit, pmtu.ts)
 * instead of entering recovery. Returns whether it was so.
 */
export function probeLost(c: Connection): boolean {
  const m = c.mtup;
  if (m.probeSize === 0 || c.sndUna !== m.probeSeqStart) return false;
  m.searchHigh = m.probeSize - 1;
  m.probeSize = 0;
  c.ctx.counters.TcpExtTCPMTUPFail++;
  c.cc.cwnd += 1;
  return true;
}
