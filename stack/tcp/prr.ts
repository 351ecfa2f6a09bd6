/**
 * Proportional Rate Reduction (RFC 6937) as Linux runs it in the CWR and
 * Recovery states (tcp_init_cwnd_reduction, tcp_cwnd_reduction,
 * tcp_end_cwnd_reduction in net/ipv4/tcp_input.c), one reduction whatever
 * its cause (fast recovery, an ECN echo, a repaired tail loss): the window comes down
 * from prior_cwnd to ssthresh over a round trip in proportion to what the
 * peer delivers, instead of at once; when in flight falls below ssthresh,
 * packet conservation plus one (slow start back up) unless this ACK found
 * new losses. The congestion control only supplies ssthresh.
 */
import type { Connection } from './connection.ts';
import { INFINITE_SSTHRESH } from './congestion/newreno.ts';
import { queueCwr } from './ecn.ts';
import { stampCwnd } from './cwnd-stamp.ts';
import { setCaState } from './trace-state.ts';

/**
 * tcp_init_cwnd_reduction: the recovery point is SND.NXT, any tail loss
 * probe episode ends, and ssthresh comes from the congestion control
 * (tcp_reno_ssthresh: cwnd/2; cubictcp_recalc_ssthresh: cwnd·717/1024);
 * cwnd itself is left to PRR. The reduction is announced with CWR on the
 * next new data segment (tcp_ecn_queue_cwr, ecn.ts).
 */
export function initCwndReduction(c: Connection): void {
  c.highSeq = c.sndNxt;
  c.tlpHighSeq = undefined;
  c.prr.priorCwnd = c.cc.cwnd;
  c.prr.delivered = 0;
  c.prr.out = 0;
  c.cc.onEnterRecovery(c.packetsInFlight());
  queueCwr(c);
}

/** tcp_in_cwnd_reduction: CWR or Recovery. */
export function inCwndReduction(c: Connection): boolean {
  return c.caState === 'cwr' || c.caState === 'recovery';
}

/**
 * tcp_enter_cwr (from tcp_try_to_open on an ECN echo, RFC 3168 §6.1.2):
 * nothing to undo (prior_ssthresh 0, no undo_marker), and a reduction in
 * the CWR state unless one is already under way (Recovery, Loss, or CWR:
 * once per window).
 */
export function enterCwr(c: Connection): void {
  c.priorSsthresh = 0;
  if (c.caState === 'open' || c.caState === 'disorder') {
    c.undoMarker = undefined;
    initCwndReduction(c);
    setCaState(c, 'cwr');
  }
}

/**
 * tcp_cwnd_reduction: after an ACK that delivered `newlyAckedSacked`
 * segments (and on which `newlyLost` segments were newly marked lost),
 * cwnd = in flight + sndcnt, where sndcnt is
 * - while in flight exceeds ssthresh (proportional part, RFC 6937 §3):
 *   ⌈ssthresh · prr_delivered / prior_cwnd⌉ − prr_out;
 * - else (slow-start reduction bound): max(prr_delivered − prr_out,
 *   newly delivered), plus one when SND.UNA advanced and nothing new was
 *   lost, at most ssthresh − in flight;
 * and at least 1 while nothing was sent yet, which forces the fast
 * retransmit on entering recovery.
 */
export function cwndReduction(c: Connection, newlyAckedSacked: number, newlyLost: number, sndUnaAdvanced: boolean): void {
  const prr = c.prr;
  if (newlyAckedSacked <= 0 || prr.priorCwnd === 0) return;
  const inFlight = c.packetsInFlight();
  const ssthresh = c.cc.ssthresh;
  const delta = ssthresh - inFlight;
  let sndcnt: number;
  prr.delivered += newlyAckedSacked;
  if (delta < 0) {
    sndcnt = Math.floor((ssthresh * prr.delivered + prr.priorCwnd - 1) / prr.priorCwnd) - prr.out;
  } else {
    sndcnt = Math.max(prr.delivered - prr.out, newlyAckedSacked);
    if (sndUnaAdvanced && newlyLost === 0) sndcnt++;
    sndcnt = Math.min(delta, sndcnt);
  }
  sndcnt = Math.max(sndcnt, prr.out > 0 ? 0 : 1);
  c.cc.cwnd = inFlight + sndcnt;
}

/**
 * tcp_end_cwnd_reduction: the reduction is over, cwnd = ssthresh, in CWR
 * always, in Recovery unless it was undone (no undo marker left).
 */
export function endCwndReduction(c: Connection): void {
  if (c.cc.ssthresh < INFINITE_SSTHRESH && (c.caState === 'cwr' || c.undoMarker !== undefined)) {
    c.cc.onExitRecovery();
    stampCwnd(c);
  }
}
