/**
 * TIME_WAIT minisocks, and orphaned FIN_WAIT2 connections turned into one
 * (tcp_time_wait, tcp_timewait_state_process in net/ipv4/tcp_minisocks.c):
 * a few words of state instead of a whole connection, so thousands of closed
 * connections cost little.
 */
import type { PortOwner } from './tables.ts';
import type { DropReason } from '../drop.ts';
import { Timer } from '../timers.ts';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../wire/tcp.ts';
import type { TcpContext } from './context.ts';
import { MAX_WINDOW_FIELD, TCP_TIMEWAIT_LEN } from './constants.ts';
import { replyReset } from './reset.ts';
import { segmentLength, sendMinisockSegment, type Segment } from './segment.ts';
import { seqAdd, seqGe, seqGt, seqLt } from './seq.ts';

export type TimeWaitVerdict =
  | { kind: 'done'; drop?: DropReason }
  /** A new SYN may reuse the pair: hand it to the listener with this ISN (RFC 1122 §4.2.2.13). */
  | { kind: 'reopen'; iss: number };

export interface TimeWaitState {
  substate: 'TIME_WAIT' | 'FIN_WAIT2';
  local: number;
  localPort: number;
  remote: number;
  remotePort: number;
  sndNxt: number;
  rcvNxt: number;
  /** Receive window in bytes and our scale, for the ACKs we send. */
  rcvWnd: number;
  rcvWscale: number;
  tsOk: boolean;
  tsRecent: number;
  tsRecentStamp: number;
  tsOffset: number;
  /** Over IPv6, the connection's flow label: its ACKs keep it (tw_txhash). */
  flowLabel: number;
  /** Its socket was an IPv6 one (how `ss` shows its addresses). */
  ipv6Socket: boolean;
}

export class TimeWaitSock {
  readonly timer: Timer;
  /** The port the connection held, held on until the minisock goes (TcpLayer.releasePort). */
  portOwner: PortOwner | undefined = undefined;
  private lastOowAck = -Infinity;
  /** Set when something other than the timer ended it (a RST, a new SYN, data to a FIN_WAIT2 minisock). */
  killed = false;
  /** It holds its addresses until it goes (stack/address.ts; TcpLayer.releasePort). */
  holdsAddresses = true;

  constructor(
    private readonly ctx: TcpContext,
    readonly s: TimeWaitState,
    ms: number,
    private readonly onEnd: (tw: TimeWaitSock) => void,
    /** The FIN_WAIT2 minisock became a TIME_WAIT one: the owner's view follows (and traces it). */
    private readonly onTimeWait: () => void,
  ) {
    this.timer = new Timer(s.substate === 'TIME_WAIT' ? 'timewait' : 'fin_wait2', () => this.expire());
    ctx.timers.arm(this.timer, ctx.now() + ms);
    // __inet_twsk_schedule (first scheduling, not a re-arm) counts the minisock
    // when it is created: TcpExtTWKilled if its timeout is at most 4 s, else
    // TcpExtTW. Neither expiry nor an early kill counts anything (measured on
    // 6.18: three FIN_WAIT2 minisocks reset by data moved TcpExtTW by 3, two
    // with tcp_fin_timeout=3 moved TcpExtTWKilled by 2).
    if (ms <= 4000) ctx.counters.TcpExtTWKilled++;
    else ctx.counters.TcpExtTW++;
  }

  private expire(): void {
    // tw_timer_handler → inet_twsk_kill: silently, no counter.
    this.onEnd(this);
  }

  kill(): void {
    if (this.killed) return;
    this.killed = true;
    this.ctx.timers.cancel(this.timer);
    this.onEnd(this);
  }

  private restart(ms = TCP_TIMEWAIT_LEN): void {
    this.ctx.timers.arm(this.timer, this.ctx.now() + ms);
  }

  /** tcp_timewait_state_process. */
  input(seg: Segment): TimeWaitVerdict {
    const s = this.s;
    const f = seg.flags;
    const o = seg.options;
    const pawsReject = s.tsOk && o.tsPresent && !(f & TCP_RST) && seqLt(o.tsVal, s.tsRecent);
    const end = seqAdd(seg.seq, segmentLength(seg));

    if (s.substate === 'FIN_WAIT2') {
      const inWindow = !seqLt(end, s.rcvNxt) && !seqGt(seg.seq, seqAdd(s.rcvNxt, s.rcvWnd));
      if (pawsReject || !inWindow) {
        this.oowAck('TcpExtTCPACKSkippedFinWait2', seg);
        return { kind: 'done', drop: pawsReject ? 'TCP_RFC7323_PAWS' : 'TCP_INVALID_SEQUENCE' };
      }
      if (f & TCP_RST) {
        this.kill();
        return { kind: 'done', drop: 'TCP_RESET' };
      }
      if (f & TCP_SYN && seqGe(seg.seq, s.rcvNxt)) return this.killWithReset(seg);
      if (!(f & TCP_ACK) || !seqGt(end, s.rcvNxt) || end === seg.seq) return { kind: 'done', drop: 'TCP_OLD_DATA' };
      if (f & TCP_FIN && seg.payload.length === 0 && end === seqAdd(s.rcvNxt, 1)) {
        // The peer's FIN, exactly in order: now a real TIME_WAIT.
        s.substate = 'TIME_WAIT';
        this.onTimeWait();
        s.rcvNxt = end;
        if (o.tsPresent && s.tsOk) {
          s.tsRecent = o.tsVal;
          s.tsRecentStamp = this.ctx.now();
        }
        this.restart();
        this.sendAck();
        return { kind: 'done' };
      }
      return this.killWithReset(seg);
    }

    // Real TIME_WAIT.
    if (!pawsReject && seg.seq === s.rcvNxt && (seg.payload.length === 0 || f & TCP_RST) && !(f & TCP_SYN)) {
      if (f & TCP_RST) {
        // RFC 1337 "TIME-WAIT assassination" is allowed by default (tcp_rfc1337 = 0).
        if (this.ctx.sysctl.tcp_rfc1337 === 0) this.kill();
        return { kind: 'done', drop: 'TCP_RESET' };
      }
      if (f & TCP_ACK) this.restart();
      if (o.tsPresent && s.tsOk) {
        s.tsRecent = o.tsVal;
        s.tsRecentStamp = this.ctx.now();
      }
      return { kind: 'done' };
    }
    if (f & TCP_SYN && !(f & (TCP_RST | TCP_ACK)) && !pawsReject && (seqGt(seg.seq, s.rcvNxt) || (s.tsOk && o.tsPresent && seqGt(o.tsVal, s.tsRecent)))) {
      // A new incarnation: ISN beyond anything the old one used (tcp_timewait_state_process TCP_TW_SYN).
      let iss = seqAdd(s.sndNxt, 65535 + 2);
      if (iss === 0) iss = 1;
      this.kill();
      return { kind: 'reopen', iss };
    }
    if (pawsReject) this.ctx.counters.TcpExtPAWSEstab++;
    if (f & TCP_RST) return { kind: 'done', drop: 'TCP_RESET' };
    if (f & TCP_ACK || pawsReject) this.restart();
    this.oowAck('TcpExtTCPACKSkippedTimeWait', seg);
    return { kind: 'done', drop: pawsReject ? 'TCP_RFC7323_PAWS' : 'TCP_OLD_DATA' };
  }

  private killWithReset(seg: Segment): TimeWaitVerdict {
    replyReset(this.ctx, seg, 'timewaitSocket');
    this.kill();
    return { kind: 'done', drop: 'TCP_ABORT_ON_DATA' };
  }

  /** tcp_timewait_check_oow_rate_limit: data always answered, pure ACKs/SYNs once per tcp_invalid_ratelimit. */
  private oowAck(skippedCounter: 'TcpExtTCPACKSkippedTimeWait' | 'TcpExtTCPACKSkippedFinWait2', seg: Segment): void {
    if (seg.payload.length === 0) {
      const now = this.ctx.now();
      if (now - this.lastOowAck < this.ctx.sysctl.tcp_invalid_ratelimit) {
        this.ctx.counters[skippedCounter]++;
        return;
      }
      this.lastOowAck = now;
    }
    this.sendAck();
  }

  /** tcp_v4_timewait_ack: SND.NXT/RCV.NXT, timestamps if negotiated, IP ID 0. */
  private sendAck(): void {
    const s = this.s;
    sendMinisockSegment(
      this.ctx,
      s,
      { seq: s.sndNxt, ack: s.rcvNxt, flags: TCP_ACK, window: Math.min(MAX_WINDOW_FIELD, s.rcvWnd >>> s.rcvWscale) },
      s,
    );
  }
}
