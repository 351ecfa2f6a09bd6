/**
 * The trace's view of a connection's mind: the state sample after an ACK or
 * a timer (tcp-cc), congestion-avoidance state changes (tcp_set_ca_state),
 * undo, and timers armed. Each builds its record only while a trace sink is
 * installed: one branch otherwise (docs/tracing.md has the measured cost).
 */
import type { CaStateName, TcpStateSample, UndoKind } from '../trace.ts';
import type { Connection } from './connection.ts';

/**
 * Traces the state after an ACK (`rttSamplesBefore`: c.rtt.samples before
 * it, so a sample it gave is reported) or a timer.
 */
export function traceState(c: Connection, why: 'ack' | 'timer', rttSamplesBefore = c.rtt.samples): void {
  const trace = c.ctx.trace;
  if (trace === undefined) return;
  const e: TcpStateSample = {
    kind: 'tcp-cc',
    t: c.now(),
    conn: c.id,
    why,
    ca: c.caState,
    cwnd: c.cc.cwnd,
    ssthresh: c.cc.ssthresh,
    inflight: c.packetsInFlight(),
    mss: c.mss,
    una: c.sndUna,
    nxt: c.sndNxt,
    rcvNxt: c.rcvNxt,
    sndWnd: c.sndWnd,
    rcvWnd: c.rcvWnd,
    srtt: c.rtt.srtt,
    rttvar: c.rtt.rttvar,
    rto: c.rtt.rto,
    sndQ: c.sendQueue.length,
    rcvQ: c.recvQueue.length,
  };
  if (c.rtt.samples !== rttSamplesBefore) e.rtt = c.rtt.lastSample;
  trace(e);
}

/** tcp_set_ca_state: every change of the congestion-avoidance state goes through here. */
export function setCaState(c: Connection, to: CaStateName): void {
  const from = c.caState;
  c.caState = to;
  if (from !== to) c.ctx.trace?.({ kind: 'tcp-ca', t: c.now(), conn: c.id, from, to });
}

/** One undo of a cwnd reduction, by its kind. */
export function traceUndo(c: Connection, how: UndoKind): void {
  c.ctx.trace?.({ kind: 'tcp-undo', t: c.now(), conn: c.id, how });
}

/** A timer armed `ms` ahead. */
export function traceArm(c: Connection, timer: string, ms: number): void {
  c.ctx.trace?.({ kind: 'tcp-timer', t: c.now(), conn: c.id, timer, action: 'arm', ms });
}
