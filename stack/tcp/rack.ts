/**
 * RACK loss detection (RFC 8985; net/ipv4/tcp_recovery.c): a segment is
 * lost when a segment sent after it has been delivered (ACKed or SACKed)
 * and more than the latest RTT plus a reordering window has passed since it
 * was sent. Linux 6.18 uses it for every SACK connection; without SACK,
 * loss detection stays NewReno's (recovery.ts, tcp_newreno_mark_lost).
 * Since Linux 6.17 bit 0x1 of net.ipv4.tcp_recovery no longer turns RACK
 * off ("setting this bit to 0 has no effect"); bit 0x2 keeps the reordering
 * window static and 0x4 drops the DUPACK-threshold shortcut.
 *
 * Times here are µs, as the kernel's skb_mstamp and rack.rtt_us.
 */
import type { Connection, TxRecord } from './connection.ts';
import { recordEnd } from './connection.ts';
import { seqGt } from './seq.ts';
import { JIFFY_MS, jiffiesToMsecs, usecsToJiffies } from './jiffies.ts';

/** TCP_RACK_STATIC_REO_WND: the reordering window stays min_rtt/4 (no D-SACK widening). */
export const TCP_RACK_STATIC_REO_WND = 0x2;
/** TCP_RACK_NO_DUPTHRESH: no zero window once `reordering` segments are SACKed. */
export const TCP_RACK_NO_DUPTHRESH = 0x4;
/** TCP_RACK_RECOVERY_THRESH: recoveries a widened window persists without new D-SACKs. */
export const TCP_RACK_RECOVERY_THRESH = 16;
/** TCP_TIMEOUT_MIN_US: the reordering timer's slack (2 ms). */
const TCP_TIMEOUT_MIN_US = 2000;

/**
 * tcp_update_rtt_min, with every RTT sample (the handshake's included):
 * the windowed minimum over net.ipv4.tcp_min_rtt_wlen seconds that RACK's
 * reordering window is drawn from. A zero sample counts as one jiffy.
 */
export function updateMinRtt(c: Connection, rttMs: number): void {
  const us = Math.round(rttMs * 1000);
  c.minRtt.update(c.now(), c.ctx.sysctl.tcp_min_rtt_wlen * 1000, us > 0 ? us : JIFFY_MS * 1000);
}

/** A record's transmit time in µs (skb->skb_mstamp_ns / 1000). */
export function xmitTimeUs(r: TxRecord): number {
  return Math.round(r.sentAt * 1000);
}

export function nowUs(c: Connection): number {
  return Math.round(c.now() * 1000);
}

/** tcp_skb_sent_after: t1/seq1 sent after t2/seq2 (a tie in time goes by sequence). */
function sentAfter(t1: number, t2: number, seq1: number, seq2: number): boolean {
  return t1 > t2 || (t1 === t2 && seqGt(seq1, seq2));
}

/**
 * tcp_rack_advance (RFC 8985 §6.2 step 2): a segment was delivered; keep
 * the send time and end of the most recently sent one. A retransmitted
 * segment delivered sooner than min_rtt after its retransmission was
 * probably its original's delivery: no sample (ambiguous).
 */
export function rackAdvance(c: Connection, r: TxRecord): void {
  const t = xmitTimeUs(r);
  const rtt = nowUs(c) - t;
  if (r.retrans > 0 && rtt < c.minRtt.value) return;
  const rack = c.rack;
  rack.advanced = true;
  rack.rttUs = rtt;
  const end = recordEnd(r);
  if (sentAfter(t, rack.mstamp, end, rack.endSeq)) {
    rack.mstamp = t;
    rack.endSeq = end;
  }
}

/**
 * tcp_rack_reo_wnd: no settling time while no reordering was ever seen and
 * we are in recovery or the DUPACK threshold (`reordering` SACKed segments)
 * is met; otherwise min_rtt/4 times reo_wnd_steps, at most SRTT.
 */
export function rackReoWndUs(c: Connection): number {
  if (c.reordSeen === 0) {
    if (c.caState === 'recovery' || c.caState === 'loss') return 0;
    if (c.rtx.sackedOut >= c.reordering && !(c.ctx.sysctl.tcp_recovery & TCP_RACK_NO_DUPTHRESH)) return 0;
  }
  const minRtt = c.minRtt.value;
  const quarter = minRtt === Infinity ? 0xffffffff >>> 2 : Math.floor(minRtt / 4);
  return Math.min(quarter * c.rack.reoWndSteps, Math.floor(c.rtt.srtt * 1000));
}

/** tcp_rack_skb_timeout: how long r may still be outstanding before it is lost (µs; ≤ 0: lost). */
export function rackSkbTimeoutUs(c: Connection, r: TxRecord, reoWnd: number): number {
  return c.rack.rttUs + reoWnd - (nowUs(c) - xmitTimeUs(r));
}

/**
 * tcp_rack_detect_loss: every outstanding segment sent before the RACK
 * segment is lost once its time is up; returns the longest wait left for
 * the others (µs, 0 when none). The kernel walks its time-ordered list and
 * stops at the first segment sent after RACK's; the queue here is in
 * sequence order, where never-retransmitted records are also in time order,
 * so the walk stops at the first of those sent after RACK's and skips
 * retransmitted ones sent after it. SACKed records are not on that list.
 */
export function rackDetectLoss(c: Connection, markLost: (r: TxRecord) => void): number {
  let reoTimeout = 0;
  const reoWnd = rackReoWndUs(c);
  const rack = c.rack;
  for (const r of c.rtx) {
    if (r.sacked) continue;
    // Marked lost and not yet retransmitted: already waiting to go.
    if (r.lost && !r.retransOut) continue;
    if (!sentAfter(rack.mstamp, xmitTimeUs(r), rack.endSeq, recordEnd(r))) {
      if (r.retrans === 0) break;
      continue;
    }
    const remaining = rackSkbTimeoutUs(c, r, reoWnd);
    if (remaining <= 0) markLost(r);
    else reoTimeout = Math.max(reoTimeout, remaining);
  }
  return reoTimeout;
}

/**
 * tcp_rack_mark_lost, from an ACK: if RACK advanced, detect losses, and arm
 * the reordering timer (ICSK_TIME_REO_TIMEOUT) for the segments not yet
 * due: usecs_to_jiffies(wait + TCP_TIMEOUT_MIN_US), bounded by the RTO.
 * Returns whether the timer was armed (the caller then leaves the xmit
 * timer alone: tcp_identify_packet_loss clears FLAG_SET_XMIT_TIMER).
 */
export function rackMarkLost(c: Connection, markLost: (r: TxRecord) => void, armReo: (ms: number) => void): boolean {
  if (!c.rack.advanced) return false;
  c.rack.advanced = false;
  const wait = rackDetectLoss(c, markLost);
  if (wait === 0) return false;
  armReo(Math.min(jiffiesToMsecs(usecsToJiffies(wait + TCP_TIMEOUT_MIN_US)), c.rtt.rto));
  return true;
}

/**
 * tcp_rack_update_reo_wnd (RFC 8985 §6.2 step 4), once per ACK: a D-SACK
 * seen at least a round after the last change widens the window by one
 * step for 16 recoveries (reo_wnd_persist); once they are over without new
 * D-SACKs it is back to one step. `priorDelivered` is tp->delivered when
 * the most recently sent segment this ACK delivered was sent (0: none).
 */
export function rackUpdateReoWnd(c: Connection, priorDelivered: number): void {
  if (c.ctx.sysctl.tcp_recovery & TCP_RACK_STATIC_REO_WND || priorDelivered === 0) return;
  const rack = c.rack;
  // A D-SACK within a round of the last adjustment is disregarded.
  if (priorDelivered < rack.lastDelivered) rack.dsackSeen = false;
  if (rack.dsackSeen) {
    rack.reoWndSteps = Math.min(0xff, rack.reoWndSteps + 1);
    rack.dsackSeen = false;
    rack.lastDelivered = c.delivered;
    rack.reoWndPersist = TCP_RACK_RECOVERY_THRESH;
  } else if (rack.reoWndPersist === 0) {
    rack.reoWndSteps = 1;
  }
}
