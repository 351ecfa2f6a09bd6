/**
 * How a connection ends: reset by the peer (tcp_reset), timed out
 * (tcp_write_err), aborted with an active reset, done (tcp_done), turned into
 * a TIME_WAIT minisock (tcp_time_wait), or forgotten by a host crash.
 */
import { activeDisableOfoCheck } from './fastopen-client.ts';
import { TCP_TIMEWAIT_LEN } from './constants.ts';
import { NO_SKBS, type Connection } from './connection.ts';
import { activeResetSource } from './output.ts';
import { activeReset, type ResetPathName } from './reset.ts';
import { cancelAll } from './timer-arming.ts';
import { fastOpenRemove } from './fastopen-server.ts';

/** tcp_reset: the peer reset us; the errno depends on the state. */
export function resetByPeer(c: Connection): void {
  const counters = c.ctx.counters;
  switch (c.state) {
    case 'SYN_SENT':
      c.pendingError = 'ECONNREFUSED';
      counters.TcpAttemptFails++;
      break;
    case 'SYN_RECV':
      c.pendingError = 'ECONNRESET';
      counters.TcpAttemptFails++;
      break;
    case 'CLOSE_WAIT':
      c.pendingError = 'EPIPE';
      break;
    case 'TIME_WAIT':
      break;
    default:
      c.pendingError = 'ECONNRESET';
  }
  c.ctx.trace?.({ kind: 'tcp-error', t: c.now(), conn: c.id, errno: c.pendingError ?? 'none' });
  tcpDone(c);
}

/** tcp_write_err: a timer gave up; no segment is sent (unlike keepalive). */
export function timedOut(c: Connection): void {
  c.pendingError = c.softError ?? 'ETIMEDOUT';
  c.ctx.counters.TcpExtTCPAbortOnTimeout++;
  if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV') c.ctx.counters.TcpAttemptFails++;
  c.ctx.trace?.({ kind: 'tcp-error', t: c.now(), conn: c.id, errno: c.pendingError });
  tcpDone(c);
}

/** Sends an active reset on `path` and finishes the connection. */
export function abortWithReset(c: Connection, path: ResetPathName): void {
  activeReset(c.ctx, activeResetSource(c), path);
  c.segsOut++; // tcp_send_active_reset sends through tcp_transmit_skb
  tcpDone(c);
}

/**
 * tcp_abort: the socket destroyed from outside its application
 * (SOCK_DESTROY, `ss -K`): ECONNABORTED for an owner still there, an active
 * reset where tcp_need_reset() says the peer must hear of it, then tcp_done
 * (TcpAttemptFails while the handshake was under way).
 */
export function tcpAbort(c: Connection): void {
  if (c.state === 'CLOSED') return;
  if (c.owner !== undefined) c.pendingError = 'ECONNABORTED';
  if (c.state === 'SYN_SENT' || c.state === 'SYN_RECV') c.ctx.counters.TcpAttemptFails++;
  const needReset = c.state === 'ESTABLISHED' || c.state === 'CLOSE_WAIT' || c.state === 'FIN_WAIT1' || c.state === 'FIN_WAIT2' || c.state === 'SYN_RECV';
  c.ctx.trace?.({ kind: 'tcp-error', t: c.now(), conn: c.id, errno: 'ECONNABORTED' });
  if (needReset) abortWithReset(c, 'userAbort');
  else tcpDone(c);
}

/** tcp_done: CLOSED, timers stopped, queues purged, out of the tables. */
export function tcpDone(c: Connection): void {
  // A Fast Open child ending before its handshake completed lets go of its request.
  if (c.fastOpenRsk !== undefined) fastOpenRemove(c, false);
  // tcp_v4_destroy_sock, tcp_disconnect: was this Fast Open connection blackholed?
  activeDisableOfoCheck(c);
  c.setState('CLOSED');
  purge(c);
  c.hooks.closed(c);
  c.hooks.wake(c);
}

/** What every end of a socket shares: timers stopped, queues emptied, both directions shut. */
function purge(c: Connection): void {
  cancelAll(c);
  c.sendQueue.clear();
  c.writeQueue.clear();
  c.rtx.clear();
  c.errorQueue?.purge();
  c.ooo.clear();
  for (const skb of c.oooSkbs) c.rmemAlloc -= skb.truesize;
  c.oooSkbs = NO_SKBS;
  c.ackNow = false;
  c.ackDelayed = false;
  c.shutRd = true;
  c.shutWr = true;
}

/**
 * Forgotten by a host crash: CLOSED with no segment and no counter but the
 * CurrEstab gauge (TcpLayer.crash).
 */
export function forget(c: Connection): void {
  c.setState('CLOSED', 'crash');
  purge(c);
}

/** tcp_time_wait: the full socket shrinks to a TIME_WAIT minisock. */
export function enterTimeWait(c: Connection): void {
  cancelAll(c);
  c.setState('TIME_WAIT');
  c.sendQueue.clear();
  c.writeQueue.clear();
  c.rtx.clear();
  c.hooks.timeWait(c, 'TIME_WAIT', TCP_TIMEWAIT_LEN);
}
