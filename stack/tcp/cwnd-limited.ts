/**
 * Whether the sender fills its congestion window (Linux 6.18,
 * tcp_cwnd_validate and tcp_is_cwnd_limited; RFC 7661's idea): only a
 * window in use grows. After each tcp_write_xmit that sent something or
 * stopped at cwnd, the connection records for the current round whether it
 * was cwnd-limited, or else the most packets it had out; a round ends once
 * SND.UNA passes SND.NXT of its start. In slow start the window still grows
 * while it is below twice the most packets out in the round, so that an
 * application-limited sender's cwnd follows what it really sends.
 */
import { CHRONO_SNDBUF_LIMITED, chronoStart } from './chrono.ts';
import { jiffiesAt, msecsToJiffies } from './jiffies.ts';
import { initCwnd } from './dst.ts';
import type { Connection } from './connection.ts';
import { seqLt } from './seq.ts';
import { currentSsthresh } from './undo.ts';

/**
 * tcp_cwnd_validate, after a transmission round of tcp_write_xmit: the
 * round's record, then either the window is in use (stamped now) or the
 * most packets out while it is not are kept, and a window unused for an
 * RTO shrinks (tcp_cwnd_application_limited).
 */
export function cwndValidate(c: Connection, cwndLimited: boolean): void {
  const u = c.cwndUse;
  const packetsOut = c.rtx.length;
  if (!seqLt(c.sndUna, u.usageSeq) || cwndLimited || (!u.limited && packetsOut > u.maxPacketsOut)) {
    u.limited = cwndLimited;
    u.maxPacketsOut = packetsOut;
    u.usageSeq = c.sndNxt;
  }
  if (isCwndLimited(c)) {
    u.used = 0;
    u.stamp = c.now();
    return;
  }
  if (packetsOut > u.used) u.used = packetsOut;
  if (c.ctx.sysctl.tcp_slow_start_after_idle !== 0 && ((jiffiesAt(c.now()) - jiffiesAt(u.stamp)) | 0) >= msecsToJiffies(c.rtt.rto)) {
    applicationLimited(c);
  }
  // Not cwnd-limited, everything written is sent, and a writer waits for
  // send-buffer room (SOCK_NOSPACE): the send buffer is what starves it.
  if (c.unsentBytes() <= 0 && !c.orphan && c.sndNoSpace && (c.state === 'ESTABLISHED' || c.state === 'CLOSE_WAIT')) {
    chronoStart(c, CHRONO_SNDBUF_LIMITED);
  }
}

/**
 * tcp_cwnd_application_limited (RFC 2861 §3, "the slow part"): a window not
 * filled for an RTO shrinks halfway to what was used (at least the initial
 * window, tcp_init_cwnd), ssthresh kept at tcp_current_ssthresh; not during a loss
 * episode, nor while a writer waits for send-buffer room (the sender is
 * then held back by its buffer, not by the application), nor once the
 * socket is closed. Every ACK that may raise cwnd stamps it anew
 * (tcp_cong_avoid), so this takes a sender whose data goes unacknowledged
 * for an RTO (test/scripts/cwnd-application-limited.pkt).
 */
function applicationLimited(c: Connection): void {
  const u = c.cwndUse;
  if (c.caState === 'open' && !c.orphan && !c.sndNoSpace) {
    const winUsed = Math.max(u.used, initCwnd(c));
    const cc = c.cc;
    if (winUsed < cc.cwnd) {
      cc.ssthresh = currentSsthresh(c);
      cc.cwnd = (cc.cwnd + winUsed) >> 1;
    }
    u.used = 0;
  }
  u.stamp = c.now();
}


/** tcp_is_cwnd_limited. */
export function isCwndLimited(c: Connection): boolean {
  const u = c.cwndUse;
  if (u.limited) return true;
  const cc = c.cc;
  if (cc.cwnd < cc.ssthresh) return cc.cwnd < 2 * u.maxPacketsOut;
  return false;
}

/**
 * tcp_slow_start_after_idle_check, when a write starts a new skb
 * (tcp_skb_entail), and tcp_cwnd_restart (RFC 2861 §3: a window unused for
 * an RTO no longer reflects the path): with net.ipv4.tcp_slow_start_after_idle
 * on (Linux's default) and nothing in flight, a connection whose last data
 * left more than an RTO ago restarts: ssthresh = tcp_current_ssthresh, cwnd
 * halved for each further RTO of idleness but not below the restart window,
 * min(tcp_init_cwnd, cwnd) (the route's initcwnd, else 10). Times compared in jiffies, as Linux does.
 * packetdrill's defaults.sh turns the sysctl off;
 * test/scripts/cwnd-restart-after-idle.pkt turns it on.
 */
export function slowStartAfterIdleCheck(c: Connection): void {
  if (c.ctx.sysctl.tcp_slow_start_after_idle === 0 || c.rtx.length > 0 || c.lsndtime === undefined) return;
  let delta = (jiffiesAt(c.now()) - jiffiesAt(c.lsndtime)) | 0;
  const rto = msecsToJiffies(c.rtt.rto);
  if (delta <= rto) return;
  const cc = c.cc;
  cc.ssthresh = currentSsthresh(c);
  const restart = Math.min(initCwnd(c), cc.cwnd);
  let cwnd = cc.cwnd;
  while ((delta -= rto) > 0 && cwnd > restart) cwnd >>= 1;
  cc.cwnd = Math.max(cwnd, restart);
  c.cwndUse.stamp = c.now();
  c.cwndUse.used = 0;
}
