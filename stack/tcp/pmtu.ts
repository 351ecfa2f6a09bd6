/**
 * Path MTU discovery for TCP (RFC 1191 §6.3, as Linux does it): the MSS
 * follows the route's path MTU (tcp_sync_mss, tcp_mtu_to_mss; resynced
 * whenever tcp_current_mss finds the route's MTU changed, so it rises again
 * when a learnt MTU expires), and an ICMP "fragmentation needed" lowers the
 * route's MTU and resends at once what no longer fits (tcp_v4_mtu_reduced,
 * tcp_simple_retransmit). With path MTU probing on (tcp_mtu_probing,
 * RFC 4821, mtu-probe.ts) the MSS is also held at or below the largest
 * path MTU probing has found to work (search_low).
 */
import { IPV6_HANDLE_BASE } from '../address.ts';
import { TCP_MIN_SND_MSS, TCP_TS_OPTION_BYTES } from './constants.ts';
import type { Connection } from './connection.ts';
import { checkDst } from './dst.ts';
import { markSkbLost } from './recovery.ts';
import { currentSsthresh } from './undo.ts';
import { setCaState } from './trace-state.ts';

/** IPv4 and TCP headers without options (net_header_len + sizeof(struct tcphdr)); IPv6's header is 20 bytes longer. */
const HEADERS = 40;
const HEADERS_IPV6 = 60;

/**
 * tcp_mtu_to_mss: payload bytes of a full segment for path MTU `pmtu`:
 * min(pmtu − 40 (IPv6: − 60), the peer's MSS), at least tcp_min_snd_mss,
 * less the timestamp option.
 */
export function mtuToMss(c: Connection, pmtu: number): number {
  const headers = c.remote >= IPV6_HANDLE_BASE ? HEADERS_IPV6 : HEADERS;
  return Math.max(TCP_MIN_SND_MSS, Math.min(c.peerMss, pmtu - headers) - (c.tsOk ? TCP_TS_OPTION_BYTES : 0));
}

/**
 * tcp_sync_mss at the path MTU the MSS was last computed from (the cookie):
 * the payload bytes of a full segment (mss_cache), at most half the largest
 * window the peer has offered (tcp_bound_to_half_wnd), so that a peer with
 * a tiny window still gets two packets per window, and with probing on at
 * most search_low's; probing's search_high is cut to the path MTU.
 */
export function effectiveMss(c: Connection): number {
  const m = c.mtup;
  if (m.searchHigh > c.pmtuCookie) m.searchHigh = c.pmtuCookie;
  const mss = boundToHalfWindow(c.maxSndWnd, mtuToMss(c, c.pmtuCookie), c.tcpHeaderLen());
  return m.enabled ? Math.min(mss, mtuToMss(c, m.searchLow)) : mss;
}

/** TCP_MSS_DEFAULT: below it tcp_bound_to_half_wnd takes the whole window. */
const TCP_MSS_DEFAULT = 536;

/** tcp_bound_to_half_wnd: `size` cut to half the largest window offered (the whole of a small one), not below 68 bytes of segment. */
export function boundToHalfWindow(maxWindow: number, size: number, tcpHeaderLen: number): number {
  const cutoff = maxWindow > TCP_MSS_DEFAULT ? maxWindow >> 1 : maxWindow;
  if (cutoff > 0 && size > cutoff) return Math.max(cutoff, 68 - tcpHeaderLen);
  return size;
}

/** tcp_sync_mss: the MSS for a new path MTU, which becomes the cookie. */
export function syncMss(c: Connection, pmtu: number): void {
  c.pmtuCookie = pmtu;
  c.mss = effectiveMss(c);
}

/**
 * tcp_current_mss's first step: the MTU of the connection's route moved
 * (learnt, or expired), so the MSS follows. The route is the one the
 * connection last looked up (__sk_dst_get: a changed route is seen only
 * after the next transmit looked it up again, dst.ts).
 */
export function checkRouteMtu(c: Connection): void {
  const mtu = c.ctx.route.mtu(c.remote, c.now(), c.dst);
  if (mtu !== c.pmtuCookie) syncMss(c, mtu);
}

/**
 * tcp_advertise_mss: the MSS option of a SYN (also a retransmitted one) is
 * lowered to the route's advmss when a path MTU was learnt since connect().
 */
export function advertiseMss(c: Connection): number {
  const metric = c.ctx.route.advMss(c.remote, c.now(), c.dst);
  if (metric < c.advMss) c.advMss = metric;
  return c.advMss;
}

/**
 * tcp_v4_err for ICMP_FRAG_NEEDED, then tcp_v4_mtu_reduced: the route
 * learns the next-hop MTU (ip_rt_update_pmtu); if the route's MTU is now
 * above what the ICMP said (it was under route.min_pmtu) and segments carry
 * DF, EMSGSIZE is kept as the soft error; if the MSS was computed for a
 * larger path MTU, it is resynced and what no longer fits is resent.
 */
export function mtuReduced(c: Connection, mtu: number): void {
  if (c.state === 'CLOSED' || c.state === 'LISTEN') return;
  const now = c.now();
  const route = c.ctx.route;
  // inet_csk_update_pmtu: the dst is checked (looked up again if a route changed) before it learns the MTU.
  checkDst(c);
  route.update(c.remote, mtu, now);
  const pathMtu = route.mtu(c.remote, now, c.dst);
  if (mtu < pathMtu && dontFragment(c)) c.softError = 'EMSGSIZE';
  // IP_PMTUDISC_DONT (and INTERFACE, OMIT: ip_sk_accept_pmtu) resend nothing
  // now; the next segments still follow the route's MTU (tcp_current_mss).
  if (c.pmtudisc !== IP_PMTUDISC_DONT && c.pmtudisc !== IP_PMTUDISC_INTERFACE && c.pmtudisc !== IP_PMTUDISC_OMIT && c.pmtuCookie > pathMtu) {
    syncMss(c, pathMtu);
    simpleRetransmit(c);
  }
}

/** IP_MTU_DISCOVER's values (include/uapi/linux/in.h); IP_PMTUDISC_WANT is the default. */
export const IP_PMTUDISC_DONT = 0;
export const IP_PMTUDISC_WANT = 1;
export const IP_PMTUDISC_DO = 2;
export const IP_PMTUDISC_INTERFACE = 4;
export const IP_PMTUDISC_OMIT = 5;

/**
 * ip_dont_fragment: an IPv4 segment carries DF with IP_PMTUDISC_DO, or with
 * IP_PMTUDISC_WANT unless the route's MTU is locked (learnt below
 * route.min_pmtu); never with DONT, PROBE, INTERFACE or OMIT.
 */
export function dontFragment(c: Connection): boolean {
  return c.pmtudisc === IP_PMTUDISC_DO || (c.pmtudisc === IP_PMTUDISC_WANT && !c.ctx.route.mtuLocked(c.remote, c.now()));
}

/** ip6_sk_accept_pmtu: IPV6_MTU_DISCOVER's INTERFACE and OMIT (same values as IPv4's) ignore Packet Too Big. */
export function acceptPmtu6(c: Connection): boolean {
  return c.pmtudisc6 !== IP_PMTUDISC_INTERFACE && c.pmtudisc6 !== IP_PMTUDISC_OMIT;
}

/**
 * tcp_v6_mtu_reduced after a Packet Too Big: a report that would not lower
 * the MSS is dropped before the route hears of it; otherwise the route
 * learns it (__ip6_rt_update_pmtu: never below 1280, no lock, no soft
 * error), and what no longer fits is resent.
 */
export function mtuReduced6(c: Connection, mtu: number): void {
  if (c.state === 'CLOSED' || c.state === 'LISTEN') return;
  if (mtuToMss(c, mtu) >= c.mss) return;
  const now = c.now();
  const route = c.ctx.route;
  checkDst(c);
  route.update(c.remote, mtu, now);
  const pathMtu = route.mtu(c.remote, now, c.dst);
  if (c.pmtuCookie > pathMtu) {
    syncMss(c, pathMtu);
    simpleRetransmit(c);
  }
}

/**
 * tcp_simple_retransmit: every outstanding segment longer than the new MSS
 * was dropped on the path, so it is marked lost; the connection enters Loss
 * without touching cwnd ("units changed", not congestion): ssthresh becomes
 * tcp_current_ssthresh, no undo. The flush resends them, cut to the new
 * MSS (tcp_xmit_retransmit_queue → __tcp_retransmit_skb). A Fast Open
 * SYN with data is two records (the SYN, its data): still in SYN_SENT,
 * both are taken as lost (an MSS of −1), so a plain SYN goes again at once.
 */
export function simpleRetransmit(c: Connection): void {
  const mss = c.synData && c.state === 'SYN_SENT' ? -1 : c.mss;
  for (const r of c.rtx) if ((mss < 0 || !r.syn) && r.len > mss) markSkbLost(c, r);
  if (c.rtx.lostOut === 0) return;
  if (!c.sackOk) {
    // tcp_limit_reno_sacked: duplicate ACKs cannot stand for more segments than are not lost.
    const holes = Math.min(Math.max(c.rtx.lostOut, 1), c.rtx.length);
    if (c.renoSacked + holes > c.rtx.length) c.renoSacked = c.rtx.length - holes;
  }
  nonCongestionLossRetransmit(c);
}

/**
 * tcp_non_congestion_loss_retransmit: what is marked lost goes again
 * without a congestion response: Loss with ssthresh at
 * tcp_current_ssthresh and nothing to undo (also for Fast Open data the
 * SYN-ACK did not acknowledge, tcp_rcv_fastopen_synack).
 */
export function nonCongestionLossRetransmit(c: Connection): void {
  if (c.caState !== 'loss') {
    c.highSeq = c.sndNxt;
    c.cc.ssthresh = currentSsthresh(c);
    c.priorSsthresh = 0;
    c.undoMarker = undefined;
    setCaState(c, 'loss');
    c.cc.onLossState();
  }
  // tcp_xmit_retransmit_queue, on the next flush (output.ts).
  c.rexmitPending = true;
  c.hooks.dirty(c);
}
