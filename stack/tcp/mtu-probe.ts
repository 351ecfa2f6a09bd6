/**
 * Packetization-layer path MTU discovery (RFC 4821) as Linux 6.18 does it,
 * under net.ipv4.tcp_mtu_probing: 0 off (the default), 2 from the start of
 * every connection, 1 only once a connection suspects a black hole (its
 * RTOs passed tcp_retries1). The MSS is held at or below the largest path
 * MTU known to work (search_low, from tcp_base_mss at first; tcp_sync_mss,
 * pmtu.ts) while a binary search between it and the largest one thought
 * possible (search_high: the peer's MSS, cut by the route's MTU) sends one
 * larger segment now and then (tcp_mtu_probe): acknowledged, it raises
 * search_low and so the MSS (tcp_mtup_probe_success); lost while the rest
 * arrived, it lowers search_high (tcp_mtup_probe_failed). A search that has
 * narrowed below tcp_probe_threshold starts again after tcp_probe_interval
 * seconds (tcp_mtu_check_reprobe).
 *
 * The search's state is in mtu-probe-state.ts; the probe segment itself is
 * built and sent by output.ts (tcp_write_xmit calls tcp_mtu_probe first).
 */
import { IPV6_HANDLE_BASE } from '../address.ts';
import type { Connection } from './connection.ts';
import { stampCwnd } from './cwnd-stamp.ts';
import { jiffiesAt, HZ } from './jiffies.ts';
import { mtuToMss, syncMss } from './pmtu.ts';
import { TCP_MIN_SND_MSS } from './constants.ts';
import { seqAdd, seqGt } from './seq.ts';
import { currentSsthresh } from './undo.ts';
import type { UnsentSkb } from './write-queue.ts';

/** icsk_af_ops->net_header_len: the IP header (40 over IPv6; 20 for a v4-mapped socket, whose ops are IPv4's). */
function netHeaderLen(c: Connection): number {
  return c.remote >= IPV6_HANDLE_BASE ? 40 : 20;
}

/**
 * tcp_mss_to_mtu: the path MTU a segment of `mss` payload bytes needs
 * (headers and TCP's fixed options included; `tcpHeaderLen`, tp->tcp_header_len,
 * is the connection's unless given).
 */
export function mssToMtu(c: Connection, mss: number, tcpHeaderLen = c.tcpHeaderLen()): number {
  return mss + tcpHeaderLen + netHeaderLen(c);
}

/**
 * tcp_mtup_init (tcp_connect_init, and again in tcp_init_transfer once the
 * peer's MSS is known): probing is on from the start with
 * tcp_mtu_probing 2; the search runs from tcp_base_mss's path MTU up to the
 * peer's MSS's (mss_clamp; not yet cut by the route: the next tcp_sync_mss
 * does that). `tcpHeaderLen`: tp->tcp_header_len, which tcp_connect_init
 * sets before the peer answers (with the timestamp option whenever
 * tcp_timestamps is on).
 */
export function mtupInit(c: Connection, tcpHeaderLen = c.tcpHeaderLen()): void {
  const s = c.ctx.sysctl;
  const m = c.mtup;
  m.enabled = s.tcp_mtu_probing > 1;
  m.searchHigh = c.peerMss + 20 + netHeaderLen(c);
  m.searchLow = mssToMtu(c, s.tcp_base_mss, tcpHeaderLen);
  m.probeSize = 0;
  if (m.enabled) m.probeTimestamp = jiffiesAt(c.now());
}

/** What tcp_mtu_probe decided: a probe of `size` payload bytes, none (go on sending as usual), or wait (tcp_write_xmit sends nothing now). */
export type ProbeDecision = { kind: 'probe'; size: number } | { kind: 'none' } | { kind: 'wait' };

const NONE: ProbeDecision = Object.freeze({ kind: 'none' });
const WAIT: ProbeDecision = Object.freeze({ kind: 'wait' });

/**
 * tcp_mtu_probe's checks, before the probe is built: probing on and no probe
 * in flight, the Open state, cwnd at least 11, no SACK or D-SACK blocks to
 * send (they would change the header size); a probe halfway between
 * search_low and search_high (tcp_mtu_to_mss of the mean), unless the range
 * is narrower than tcp_probe_threshold (then only the re-probe interval is
 * checked); enough unsent data for the probe and reordering + 1 full
 * segments after it (size_needed), and as much window (else none); the
 * window's end past them (else wait); cwnd room for two more packets (else
 * wait, or none with nothing in flight); and skbs the probe may merge
 * (tcp_can_coalesce_send_queue_head: none ends a record or mixes zerocopy
 * frags with copied bytes).
 */
export function mtuProbeDecision(c: Connection, skbs: readonly UnsentSkb[]): ProbeDecision {
  const m = c.mtup;
  if (!m.enabled || m.probeSize !== 0 || c.caState !== 'open' || c.cc.cwnd < 11) return NONE;
  if ((c.sackOk && !c.ooo.empty) || c.dsackPending) return NONE;
  const probeSize = mtuToMss(c, (m.searchHigh + m.searchLow) >> 1);
  const sizeNeeded = probeSize + (c.reordering + 1) * c.mss;
  const interval = m.searchHigh - m.searchLow;
  if (probeSize > mtuToMss(c, m.searchHigh) || interval < c.ctx.sysctl.tcp_probe_threshold) {
    checkReprobe(c);
    return NONE;
  }
  if (c.unsentBytes() < sizeNeeded) return NONE;
  if (c.sndWnd < sizeNeeded) return NONE;
  if (seqGt(seqAdd(c.sndNxt, sizeNeeded), seqAdd(c.sndUna, c.sndWnd))) return WAIT;
  const inFlight = c.packetsInFlight();
  if (inFlight + 2 > c.cc.cwnd) return inFlight === 0 ? NONE : WAIT;
  let len = probeSize;
  for (let i = 0; i < skbs.length; i++) {
    const skb = skbs[i]!;
    if (len <= skb.len) break;
    const next = skbs[i + 1];
    // tcp_skb_can_collapse: not past the end of a record, not copied bytes with zerocopy frags.
    if (skb.eor || (next !== undefined && (skb.zerocopyFrags > 0) !== (next.zerocopyFrags > 0))) return NONE;
    len -= skb.len;
  }
  return { kind: 'probe', size: probeSize };
}

/**
 * tcp_mtu_probe after the probe left: it counts as two packets, so cwnd
 * gives one up; the probe's path MTU and sequence range are kept for the
 * ACK that settles it.
 */
export function probeSent(c: Connection, seq: number, len: number): void {
  c.cc.cwnd -= 1;
  const m = c.mtup;
  m.probeSize = mssToMtu(c, len);
  m.probeSeqStart = seq;
  m.probeSeqEnd = seqAdd(seq, len);
}

/**
 * tcp_mtu_check_reprobe: tcp_probe_interval seconds after probing started
 * or last succeeded, the search starts over from the current MSS up to the
 * peer's.
 */
function checkReprobe(c: Connection): void {
  const m = c.mtup;
  const now = jiffiesAt(c.now());
  const delta = (now - m.probeTimestamp) | 0;
  if (delta < c.ctx.sysctl.tcp_probe_interval * HZ) return;
  m.probeSize = 0;
  m.searchHigh = c.peerMss + 20 + netHeaderLen(c);
  m.searchLow = mssToMtu(c, c.mss);
  m.probeTimestamp = now;
}

/**
 * tcp_clean_rtx_queue: an ACK to `ack` that covers the whole probe
 * (probe_seq_end at or below the new SND.UNA) ends it in success.
 */
export function checkProbeAcked(c: Connection, ack: number): void {
  const m = c.mtup;
  if (m.probeSize !== 0 && !seqGt(m.probeSeqEnd, ack)) probeSuccess(c);
}

/**
 * tcp_mtup_probe_success: the probe's path MTU works. cwnd is scaled to
 * keep the bytes in flight (cwnd · path MTU of the MSS / the probe's),
 * ssthresh is taken down to tcp_current_ssthresh (prior_ssthresh keeps the
 * old one for undo), the probe's size becomes search_low and the MSS is
 * synced to it (at the path MTU the MSS was last computed from).
 * TcpExtTCPMTUPSuccess.
 */
function probeSuccess(c: Connection): void {
  const m = c.mtup;
  c.priorSsthresh = currentSsthresh(c);
  c.cc.cwnd = Math.max(1, Math.floor((c.cc.cwnd * mssToMtu(c, c.mss)) / m.probeSize));
  c.cc.clearCwndCount();
  stampCwnd(c);
  c.cc.ssthresh = currentSsthresh(c);
  m.searchLow = m.probeSize;
  m.probeSize = 0;
  syncMss(c, c.pmtuCookie);
  c.ctx.counters.TcpExtTCPMTUPSuccess++;
}

/**
 * tcp_mtu_probing, from tcp_write_timeout once an established connection's
 * RTOs passed tcp_retries1 (black hole detection): with tcp_mtu_probing set,
 * probing is switched on if it was off; if it was on already, search_low
 * drops to half its MSS, at most tcp_base_mss, at least tcp_mtu_probe_floor
 * and tcp_min_snd_mss. Either way the MSS is synced again.
 */
export function blackholeDetected(c: Connection): void {
  const s = c.ctx.sysctl;
  if (s.tcp_mtu_probing === 0) return;
  const m = c.mtup;
  if (!m.enabled) {
    m.enabled = true;
    m.probeTimestamp = jiffiesAt(c.now());
  } else {
    let mss = mtuToMss(c, m.searchLow) >> 1;
    mss = Math.min(s.tcp_base_mss, mss);
    mss = Math.max(mss, s.tcp_mtu_probe_floor);
    mss = Math.max(mss, TCP_MIN_SND_MSS);
    m.searchLow = mssToMtu(c, mss);
  }
  syncMss(c, c.pmtuCookie);
}
