/**
 * TCP Fast Open, the active side (RFC 7413 §4.1.3, §4.2; Linux's
 * net/ipv4/tcp_fastopen.c and the Fast Open part of tcp_metrics.c): the
 * per-destination cache of cookies and MSS (tcp_fastopen_cache_get/set,
 * cleared by `ip tcp_metrics flush`), whether a SYN may carry data
 * (tcp_fastopen_cookie_check), TCP_FASTOPEN_CONNECT's deferred SYN
 * (tcp_fastopen_defer_connect) and the namespace-wide blackhole detection
 * (tcp_fastopen_active_disable, _should_disable, _disable_ofo_check,
 * _detect_blackhole). Sending the SYN is output.ts (tcp_send_syn_data),
 * the SYN-ACK input.ts (tcp_rcv_fastopen_synack).
 */
import { IPV6_HANDLE_BASE } from '../address.ts';
import type { TcpContext } from './context.ts';
import type { Connection } from './connection.ts';
import type { FastOpenCookie } from './fastopen-cache.ts';

/** net.ipv4.tcp_fastopen's client bits (TFO_CLIENT_ENABLE, TFO_CLIENT_NO_COOKIE in include/net/tcp.h). */
export const TFO_CLIENT_ENABLE = 0x1;
export const TFO_CLIENT_NO_COOKIE = 0x4;

/** tcp_info's tcpi_fastopen_client_fail (enum tfo_client_fail in include/uapi/linux/tcp.h). */
export const TFO_STATUS_UNSPEC = 0;
export const TFO_COOKIE_UNAVAILABLE = 1;
export const TFO_DATA_NOT_ACKED = 2;
export const TFO_SYN_RETRANSMITTED = 3;

export type { FastOpenCookie, FastOpenRequest } from './fastopen-cache.ts';

/**
 * The cache key of a connection's peer: an IPv4 address as itself (an IPv4
 * peer of an IPv6 socket too: the kernel keys v4-mapped peers as AF_INET),
 * an IPv6 one by its text (handles are reused once released).
 */
function peerKey(c: Connection): number | string {
  return c.remote < IPV6_HANDLE_BASE ? c.remote : c.ctx.addresses.format(c.remote);
}

/**
 * tcp_fastopen_cache_get: the cached MSS (0: none) and a copy of the cached
 * cookie; with no cookie and the last request unanswered in RFC 7413's
 * form, a request in the experimental form (try_exp 1).
 */
export function cacheGet(c: Connection): { mss: number; cookie: FastOpenCookie } {
  const m = c.ctx.fastOpen.entry(peerKey(c), false);
  if (m === undefined) return { mss: 0, cookie: { len: 0, val: new Uint8Array(0), exp: false } };
  const cookie: FastOpenCookie = { len: m.cookie.len, val: m.cookie.val, exp: m.cookie.exp };
  if (cookie.len <= 0) cookie.len = 0;
  if (cookie.len <= 0 && m.tryExp === 1) cookie.exp = true;
  return { mss: m.mss, cookie };
}

/**
 * tcp_fastopen_cache_set: a non-zero MSS replaces the cached one, a cookie
 * the cached cookie; without one, try_exp only moves forward, and only
 * while no cookie was ever cached. A SYN-data loss counts, anything else
 * ends the run of losses.
 */
export function cacheSet(c: Connection, mss: number, cookie: FastOpenCookie | undefined, synLost: boolean, tryExp: number): void {
  const m = c.ctx.fastOpen.entry(peerKey(c), true)!;
  if (mss !== 0) m.mss = mss;
  if (cookie !== undefined && cookie.len > 0) m.cookie = { len: cookie.len, val: cookie.val.slice(0, cookie.len), exp: cookie.exp };
  else if (tryExp > m.tryExp && m.cookie.len <= 0 && !m.cookie.exp) m.tryExp = tryExp;
  if (synLost) {
    m.synLoss++;
    m.lastSynLoss = c.now();
  } else {
    m.synLoss = 0;
  }
}

/**
 * tcp_fastopen_no_cookie for the client: SYN data without a cookie when
 * net.ipv4.tcp_fastopen has TFO_CLIENT_NO_COOKIE or the socket
 * TCP_FASTOPEN_NO_COOKIE (the route's fastopen_no_cookie metric is not
 * modelled).
 */
function noCookieWanted(c: Connection): boolean {
  return (c.ctx.sysctl.tcp_fastopen & TFO_CLIENT_NO_COOKIE) !== 0 || c.fastOpenNoCookie;
}

/**
 * tcp_fastopen_cookie_check: whether the SYN may carry data. `cookie` is
 * what the SYN will say: the cached one, a request (len 0), or none (−1:
 * active Fast Open is paused, or data goes without a cookie). The cached
 * MSS, if any, comes back in `mss`.
 */
export function cookieCheck(c: Connection): { ok: boolean; mss: number; cookie: FastOpenCookie } {
  const { mss, cookie } = cacheGet(c);
  if (activeShouldDisable(c)) {
    cookie.len = -1;
    return { ok: false, mss, cookie };
  }
  if (noCookieWanted(c)) {
    cookie.len = -1;
    return { ok: true, mss, cookie };
  }
  if (cookie.len > 0) return { ok: true, mss, cookie };
  c.fastOpenClientFail = TFO_COOKIE_UNAVAILABLE;
  return { ok: false, mss, cookie };
}

/**
 * tcp_fastopen_defer_connect: connect() on a TCP_FASTOPEN_CONNECT socket
 * holds the SYN back until the first write when the SYN could carry data
 * (DEFER_CONNECT; true); otherwise the SYN goes now, asking for a cookie
 * (a Fast Open request without data).
 */
export function deferConnect(c: Connection): boolean {
  if (!c.fastOpenConnect || c.fastOpenReq !== undefined) return false;
  const check = cookieCheck(c);
  if (check.ok) {
    c.deferConnect = true;
    return true;
  }
  c.fastOpenReq = { cookie: check.cookie, data: undefined, size: 0, copied: 0 };
  return false;
}

// ---------------------------------------------------------------------------
// Blackhole detection: middleboxes that drop SYN data, or everything after
// a Fast Open handshake, pause active Fast Open for the whole namespace
// (tcp_fastopen_blackhole_timeout_sec, doubling with each detection).

/** tcp_fastopen_active_disable: TCPFastOpenBlackhole; nothing while the timeout sysctl is 0. */
export function activeDisable(ctx: TcpContext): void {
  if (ctx.sysctl.tcp_fastopen_blackhole_timeout_sec === 0) return;
  ctx.fastOpen.disableStamp = ctx.now();
  ctx.fastOpen.disableTimes++;
  ctx.counters.TcpExtTCPFastOpenBlackhole++;
}

/**
 * tcp_fastopen_active_should_disable: still inside the pause (timeout ×
 * 2^min(detections − 1, 6) since the last one)? Past it, the socket is
 * marked (syn_fastopen_ch) so that a Fast Open that then works resets the count.
 */
export function activeShouldDisable(c: Connection): boolean {
  const timeout = c.ctx.sysctl.tcp_fastopen_blackhole_timeout_sec;
  const state = c.ctx.fastOpen;
  if (timeout === 0 || state.disableTimes === 0) return false;
  const multiplier = 1 << Math.min(state.disableTimes - 1, 6);
  if (c.now() < state.disableStamp + multiplier * timeout * 1000) return true;
  c.synFastOpenCh = true;
  return false;
}

/**
 * tcp_fastopen_active_disable_ofo_check, when the socket is destroyed or
 * disconnected: a Fast Open connection that received no data but a lone FIN
 * out of order was blackholed; one that did receive data on a socket marked
 * after a pause ends the pause count (the loopback exemption does not apply:
 * our peers are never on a loopback device).
 */
export function activeDisableOfoCheck(c: Connection): void {
  if (!c.synFastOpen) return;
  if (c.dataSegsIn === 0) {
    if (c.ooo.empty && c.oooFinSeq !== undefined) activeDisable(c.ctx);
    return;
  }
  if (c.synFastOpenCh && c.ctx.fastOpen.disableTimes !== 0) c.ctx.fastOpen.disableTimes = 0;
}

/**
 * tcp_fastopen_active_detect_blackhole, from tcp_write_timeout: a Fast Open
 * connection (a cookie or data in its SYN, or its data acknowledged) that
 * timed out a third time in a row, or gave up before that, pauses active
 * Fast Open; TCPFastOpenActiveFail.
 */
export function activeDetectBlackhole(c: Connection, expired: boolean): void {
  const timeouts = c.retransmits;
  if ((c.synFastOpen || c.synData || c.synDataAcked) && (timeouts === 2 || (timeouts < 2 && expired))) {
    activeDisable(c.ctx);
    c.ctx.counters.TcpExtTCPFastOpenActiveFail++;
  }
}
