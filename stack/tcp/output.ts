/**
 * What a connection sends, and when (tcp_output.c): SYN and SYN-ACK with
 * Linux's options, the window we advertise (tcp_select_window), segmentation
 * by MSS under the send and congestion windows, Nagle (Minshall's variant,
 * as Linux), sender-side silly-window avoidance (RFC 9293 §3.8.6.2.1),
 * retransmissions of lost segments first, FIN after the data, and a pure ACK
 * when one is owed and nothing else carried it.
 */
import { CHRONO_RWND_LIMITED, chronoStart, chronoStop } from './chrono.ts';
import { TCP_ACK, TCP_ECE, TCP_FIN, TCP_PSH, TCP_SYN, TCP_URG, fastOpenOptionSpace, type TcpOptionsToWrite } from '../wire/tcp.ts';
import { urgentMode, urgentPointer } from './urgent.ts';
import { IPV6_HANDLE_BASE } from '../address.ts';
import { cookieCheck, type FastOpenRequest } from './fastopen-client.ts';
import { MAX_WINDOW_FIELD, MAX_SYN_WINDOW, TCP_MIN_SND_MSS as MIN_SND_MSS, TCP_TS_OPTION_BYTES as TS_OPTION_BYTES } from './constants.ts';
import { initialWindowOf, rawSelectWindow } from './rcvbuf.ts';
import { onAckSent, onDataSent } from './ack-schedule.ts';
import { advertiseMss, checkRouteMtu, dontFragment } from './pmtu.ts';
import { checkDst } from './dst.ts';
import { mtuProbeDecision, mtupInit, probeSent } from './mtu-probe.ts';
import { ecnSend, synEcnFlags } from './ecn.ts';
import { enterCwr, inCwndReduction } from './prr.ts';
import { recordEnd, type Connection, type TxRecord } from './connection.ts';
import type { ActiveResetSource } from './reset.ts';
import { transmitSegment } from './segment.ts';
import type { RetransMechanism } from '../trace.ts';
import { seqAdd, seqDiff, seqGt, seqLt } from './seq.ts';
import * as timers from './timer-arming.ts';
import { onRetransmit } from './undo.ts';
import { tsoSegs } from './send-sizing.ts';
import { cwndValidate } from './cwnd-limited.ts';
import type { UnsentSkb } from './write-queue.ts';
import { nagleCheck, nagleHolds, TCP_NAGLE_CORK, TCP_NAGLE_OFF, TCP_NAGLE_PUSH } from './nagle.ts';

export { effectiveMss } from './pmtu.ts';

/**
 * tcp_select_window: __tcp_select_window's choice (rcvbuf.ts), except that
 * the right edge never moves back (RFC 9293 §3.8.6.2.2): a smaller window is
 * rounded up to the scale unit from what is left of the last one. The
 * choice becomes RCV.WND/RCV.WUP. With no buffer left for a segment we had
 * to drop, zero at once for this one segment (ICSK_ACK_NOMEM).
 */
export function selectWindow(c: Connection): number {
  if (c.rcvNoMem) {
    c.rcvNoMem = false;
    c.rcvWnd = 0;
    c.rcvWup = c.rcvNxt;
    return 0;
  }
  const oldWin = c.rcvWnd;
  const current = c.receiveWindow();
  let window = rawSelectWindow(c);
  if (window < current) {
    // A zero window we want but may not show yet is what TCPWantZeroWindowAdv counts.
    if (window === 0) c.ctx.counters.TcpExtTCPWantZeroWindowAdv++;
    const granularity = 1 << c.rcvWscale; // wscale ≤ 14 (RFC 7323 §2.3): exact, and no Math.pow per segment
    window = Math.ceil(current / granularity) * granularity;
  }
  c.rcvWnd = window;
  c.rcvWup = c.rcvNxt;
  const field = Math.min(window, MAX_WINDOW_FIELD * (1 << c.rcvWscale));
  if (field >>> c.rcvWscale === 0) {
    if (oldWin !== 0) c.ctx.counters.TcpExtTCPToZeroWindowAdv++;
  } else if (oldWin === 0) c.ctx.counters.TcpExtTCPFromZeroWindowAdv++;
  return field;
}

/**
 * Options of our SYN, in Linux's order: MSS, SACK_PERM, TS, NOP, WS. The
 * SYN-ACK of a simultaneous open repeats them (tcp_send_synack resends the
 * SYN with ACK set), only echoing the peer's timestamp.
 */
function synOptions(c: Connection, synAck: boolean): TcpOptionsToWrite {
  const s = c.ctx.sysctl;
  const o: TcpOptionsToWrite = { mss: advertiseMss(c) };
  if (s.tcp_sack !== 0) o.sackPermitted = true;
  if (s.tcp_timestamps !== 0) o.ts = { val: c.tsVal(), ecr: synAck && c.tsOk ? c.tsRecent : 0 };
  if (s.tcp_window_scaling !== 0) o.wscale = c.offeredWscale;
  return o;
}

/**
 * Options on every later segment: timestamps, and SACK blocks while
 * out-of-order data is held or a D-SACK is owed, as many as fit: new data
 * is cut to `currentMss` so they all do; a retransmission of an older,
 * larger segment carries what room is left (often none). The D-SACK block
 * goes first and counts toward the limit (tcp_established_options,
 * tcp_options_write: duplicate_sack precedes selective_acks); it is sent
 * once, on the first segment with room for a block.
 */
function segmentOptions(c: Connection, payloadLength = 0): TcpOptionsToWrite | undefined {
  const ts = c.tsOk ? { val: c.tsVal(), ecr: c.tsRecent } : undefined;
  let sackBlocks: number[] | undefined;
  if (c.sackOk && (c.dsackPending || !c.ooo.empty)) {
    const room = Math.min(c.peerMss, c.advMss) - payloadLength - (ts ? TS_OPTION_BYTES : 0) - SACK_BASE_BYTES;
    const fit = Math.min(ts ? 3 : 4, Math.floor(room / SACK_BLOCK_BYTES));
    if (fit > 0) {
      if (c.dsackPending) {
        c.dsackPending = false;
        sackBlocks = fit > 1 ? [c.dsackStart, c.dsackEnd, ...c.ooo.sackBlocks(fit - 1)] : [c.dsackStart, c.dsackEnd];
      } else sackBlocks = c.ooo.sackBlocks(fit);
    }
  }
  if (!ts && !sackBlocks) return undefined;
  const o: TcpOptionsToWrite = {};
  if (ts) o.ts = ts;
  if (sackBlocks) o.sackBlocks = sackBlocks;
  return o;
}

/** NOP, NOP, kind, length before the blocks (TCPOLEN_SACK_BASE_ALIGNED), and 8 bytes per block. */
const SACK_BASE_BYTES = 4;
const SACK_BLOCK_BYTES = 8;

/**
 * tcp_current_mss: new data segments leave room for the SACK blocks we owe
 * the peer (tcp_established_options counts them), so every segment sent
 * while out-of-order data is held reports it: with traffic both ways there
 * are few pure ACKs to carry the blocks otherwise, and the peer would resend
 * what already arrived.
 */
function currentMss(c: Connection): number {
  checkRouteMtu(c);
  if (!c.sackOk || (c.ooo.empty && !c.dsackPending)) return c.mss;
  const max = c.tsOk ? 3 : 4;
  const blocks = c.dsackPending ? 1 + c.ooo.blockCount(max - 1) : c.ooo.blockCount(max);
  return Math.max(MIN_SND_MSS, c.mss - SACK_BASE_BYTES - SACK_BLOCK_BYTES * blocks);
}

function nextIpId(c: Connection): number {
  c.ipId = (c.ipId + 1) & 0xffff;
  return c.ipId;
}

/**
 * The IP ID of a packet; a super-segment's segments take consecutive IDs
 * from it (tcp4_gso_segment increments the ID per segment), so the
 * socket's counter moves on by their number (ip_select_ident_segs).
 */
function nextGsoIpId(c: Connection, len: number, gsoSize: number): number {
  const id = nextIpId(c);
  if (gsoSize !== 0) c.ipId = (c.ipId + Math.ceil(len / gsoSize) - 1) & 0xffff;
  return id;
}

interface SendSpec {
  seq: number;
  flags: number;
  payloadOffset?: number;
  payloadLength?: number;
  options?: TcpOptionsToWrite;
  window?: number;
  /** A retransmission and what made it: not a TcpOutSegs (RFC 1213 tcpOutSegs excludes them; __tcp_transmit_skb counts only new data or empty segments). */
  retransmission?: RetransMechanism;
  /** A super-segment for the link to cut into segments of this size (sendSuperSegment). */
  gsoSize?: number;
  /** Sent for the request sock, not the socket (a Fast Open child's SYN-ACK: inet_rtx_syn_ack), so not in segs_out. */
  requestSock?: boolean;
}

/**
 * __tcp_transmit_skb for a connection. Returns false when the device's
 * queue dropped the packet (NET_XMIT_DROP): the ACK and data events that
 * precede the queue still happen (tcp_event_ack_sent, tcp_event_data_sent),
 * and the connection enters CWR (tcp_enter_cwr: local congestion); the
 * caller leaves the segment unsent (tcp_write_xmit stops at it).
 */
function emit(c: Connection, spec: SendSpec): boolean {
  // ip_queue_xmit's __sk_dst_check: a route changed since the last lookup is looked up again.
  checkDst(c);
  const len = spec.payloadLength ?? 0;
  const window = spec.window ?? windowField(c);
  // tcp_ecn_send, for every segment but SYNs: ECT(0) and a queued CWR on new data, ECE while owed.
  const ecn = spec.flags & TCP_SYN ? undefined : ecnSend(c, len > 0 && spec.retransmission === undefined);
  // tcp_transmit_skb: in urgent mode a segment that starts before SND.UP carries URG and the pointer (urgent.ts).
  const urgent = c.sndUp === undefined ? undefined : urgentPointer(c, spec.seq);
  const flags = (ecn === undefined ? spec.flags : spec.flags | ecn.flags) | (urgent === undefined ? 0 : TCP_URG);
  const queued = transmitSegment(c.ctx, {
    src: c.local,
    dst: c.remote,
    sport: c.localPort,
    dport: c.remotePort,
    seq: spec.seq,
    ack: spec.flags & TCP_ACK ? c.rcvNxt : 0,
    flags,
    urgent,
    window,
    options: spec.options,
    payloadLength: len,
    payloadFrom: c.sendQueue,
    payloadOffset: spec.payloadOffset ?? 0,
    ipId: nextGsoIpId(c, len, spec.gsoSize ?? 0),
    flowLabel: c.flowLabel,
    retransmission: spec.retransmission,
    gsoSize: spec.gsoSize ?? 0,
    dontFragment: dontFragment(c),
    // IP_TOS (IPV6_TCLASS over IPv6) with the ECN field the stack sets (INET_ECN_xmit).
    tos: (c.remote >= IPV6_HANDLE_BASE ? c.tclass : c.tos) | (ecn?.tos ?? 0),
  });
  c.lastSendTime = c.now();
  if (spec.requestSock !== true) {
    // __tcp_transmit_skb: segs_out and data_segs_out count tcp_skb_pcount.
    const segs = spec.gsoSize !== undefined && spec.gsoSize > 0 ? Math.ceil(len / spec.gsoSize) : 1;
    c.segsOut += segs;
    if (len > 0) c.dataSegsOut += segs;
  }
  if (len > 0 && queued) c.errorQueue?.onTransmit(spec.seq, len, c.now());
  if (spec.flags & TCP_ACK) {
    // Every segment with ACK carries our latest RCV.NXT: nothing is owed any more.
    c.ackNow = false;
    c.ackDelayed = false;
    onAckSent(c);
    timers.cancelDelack(c);
  }
  if (len > 0) onDataSent(c);
  if (!queued) enterCwr(c);
  return queued;
}

/** The 16-bit window field for a non-SYN segment (commits the advertisement). */
function windowField(c: Connection): number {
  return selectWindow(c) >>> c.rcvWscale;
}

/**
 * tcp_v4_connect's part before tcp_connect: the ISS and the sequence space
 * (write_seq); SYN_SENT. A TCP_FASTOPEN_CONNECT socket may stop here, its
 * SYN held for the first write (DEFER_CONNECT: tcpConnect then).
 */
export function connectPrepare(c: Connection, iss: number): void {
  c.iss = iss;
  c.sndUna = iss;
  c.sndNxt = seqAdd(iss, 1);
  c.sndSml = c.sndNxt;
  c.writeQueue.pushedSeq = c.sndNxt;
  c.setState('SYN_SENT');
}

/**
 * tcp_connect: the active open's SYN with MSS, SACK_PERM, TS, WS (and a
 * Fast Open option with data when a Fast Open request is pending:
 * tcp_send_syn_data); TcpActiveOpens.
 */
export function tcpConnect(c: Connection): void {
  // tcp_connect_init: the first window and the scale from the buffer (the
  // MSS less the timestamp option only when reconnecting with timestamps
  // already seen: never here), and the route's initrwnd.
  const w = initialWindowOf(c.ctx.sysctl, c.rcvBuf, c.rcvBufLocked, c.advMss, c.ctx.sysctl.tcp_window_scaling !== 0, c.dst.initRwnd);
  c.rcvWnd = w.rcvWnd;
  c.windowClamp = w.windowClamp;
  c.rcvSsthresh = w.rcvWnd;
  c.rcvWscale = w.wscale;
  c.offeredWscale = w.wscale;
  // tcp_connect_init: tcp_mtup_init, with the header the SYN's options foresee.
  mtupInit(c, 20 + (c.ctx.sysctl.tcp_timestamps !== 0 ? TS_OPTION_BYTES : 0));
  c.ctx.counters.TcpActiveOpens++;
  const now = c.now();
  c.rtx.push({ seq: c.iss, len: 0, syn: true, fin: false, psh: false, sentAt: now, firstSentAt: now, retrans: 0, sacked: false, lost: false, retransOut: false, txDelivered: 0, skbEnd: true });
  if (c.fastOpenReq !== undefined) sendSynData(c, c.fastOpenReq);
  else sendSyn(c, false);
  timers.armRto(c, c.rtt.rto);
}

/** tcp_connect: connectPrepare then the SYN at once. */
export function connectStart(c: Connection, iss: number): void {
  connectPrepare(c, iss);
  tcpConnect(c);
}

/** MAX_TCP_OPTION_SPACE: SYN data leaves room for a full set of options middleboxes may add. */
const MAX_TCP_OPTION_SPACE = 40;

/**
 * tcp_send_syn_data: with a cookie (or none needed), the SYN carries as
 * much of the request's data as fits one segment of the cached MSS (the
 * advertised one when none is cached; at most TCP_MAXSEG's) and of the
 * path MTU, less 40 bytes
 * of option space; the data stays queued as a segment of its own after the
 * SYN, for retransmission. Otherwise a plain SYN asking for a cookie. Either
 * way later SYNs carry no Fast Open option.
 */
function sendSynData(c: Connection, fo: FastOpenRequest): void {
  const check = cookieCheck(c);
  fo.cookie = check.cookie;
  // An unreadable buffer with bytes to copy (EFAULT) falls back as a failed check does.
  if (!check.ok || (fo.unreadable === true && fo.size > 0)) {
    if (fo.cookie.len > 0) fo.cookie.len = 0;
    sendSyn(c, false);
    fo.cookie.len = -1;
    return;
  }
  // The cached MSS (else ours), bounded by TCP_MAXSEG (tcp_mss_clamp).
  let mssClamp = check.mss !== 0 ? check.mss : c.advMss;
  if (c.userMss !== 0 && c.userMss < mssClamp) mssClamp = c.userMss;
  const pmtu = c.ctx.route.mtu(c.remote, c.now());
  const headers = c.remote >= IPV6_HANDLE_BASE ? 60 : 40;
  // __tcp_mtu_to_mss less the option room, then what the caller offered.
  let space = Math.max(MIN_SND_MSS, Math.min(pmtu - headers, mssClamp)) - MAX_TCP_OPTION_SPACE;
  space = Math.max(0, Math.min(space, fo.size));
  const now = c.now();
  if (space > 0) {
    c.sendQueue.push(fo.data!.slice(0, space));
    c.ctx.copied.tx += space;
    c.rtx.push({ seq: seqAdd(c.iss, 1), len: space, syn: false, fin: false, psh: true, sentAt: now, firstSentAt: now, retrans: 0, sacked: false, lost: false, retransOut: false, txDelivered: 0, skbEnd: true });
    // snd_sml stays (tcp_minshall_update is tcp_write_xmit's): the SYN data is no sub-MSS packet for Nagle.
    c.sndNxt = seqAdd(c.iss, 1 + space);
    c.writeQueue.pushedSeq = c.sndNxt;
    c.bytesSent += space;
  }
  // No more data for the blocked writer (inet_wait_for_connect's writebias).
  if (space === fo.size) fo.data = undefined;
  else fo.data = fo.data!.subarray(space);
  fo.copied = space;
  sendSyn(c, false, false, space);
  c.synData = space > 0;
  fo.cookie.len = -1; // "Exclude Fast Open option for SYN retries"
}

/**
 * tcp_syn_options' Fast Open part: the request's cookie (or the empty
 * option, a cookie request) if it fits the 40 bytes left by the others;
 * it marks the connection syn_fastopen (and syn_fastopen_exp).
 */
function synFastOpenOption(c: Connection, o: TcpOptionsToWrite): void {
  const fo = c.fastOpenReq;
  if (fo === undefined || fo.cookie.len < 0) return;
  let remaining = MAX_TCP_OPTION_SPACE - 4; // MSS
  if (o.ts !== undefined) remaining -= TS_OPTION_BYTES;
  if (o.wscale !== undefined) remaining -= 4;
  if (o.sackPermitted && o.ts === undefined) remaining -= 4;
  const need = fastOpenOptionSpace(fo.cookie.len, fo.cookie.exp);
  if (remaining < need) return;
  o.fastOpen = { cookie: fo.cookie.val.subarray(0, fo.cookie.len), exp: fo.cookie.exp };
  c.synFastOpen = true;
  c.synFastOpenExp = fo.cookie.exp;
}

/**
 * SYN (active open) or SYN-ACK (simultaneous open), from the connection's
 * ISS; a SYN carrying Fast Open data takes `dataLength` bytes from the
 * head of the send queue. Returns false when the device's queue dropped it.
 */
export function sendSyn(c: Connection, withAck: boolean, retransmission = false, dataLength = 0): boolean {
  // tcp_ecn_send_syn / tcp_ecn_send_synack: ECE+CWR to ask, ECE alone to accept (the SYN itself not-ECT).
  const ecnFlags = withAck ? (c.ecnOk ? TCP_ECE : 0) : synEcnFlags(c, retransmission);
  const mechanism: RetransMechanism | undefined = retransmission ? (withAck ? 'synack' : 'syn') : undefined;
  const options = synOptions(c, withAck);
  if (!withAck) synFastOpenOption(c, options);
  return emit(c, {
    seq: c.iss,
    flags: (withAck ? TCP_SYN | TCP_ACK : TCP_SYN) | ecnFlags,
    options,
    window: Math.min(MAX_SYN_WINDOW, c.rcvWnd),
    retransmission: mechanism,
    payloadOffset: 0,
    payloadLength: dataLength,
    requestSock: withAck && c.fastOpenRsk !== undefined,
  });
}

/** A pure ACK with the current state (also the challenge ACK and the duplicate ACK). */
export function sendAck(c: Connection): void {
  if (c.state === 'CLOSED' || c.state === 'SYN_SENT') return;
  emit(c, { seq: c.sndNxt, flags: TCP_ACK, options: segmentOptions(c) });
}

/** Zero-window probe / keepalive probe: an ACK one byte below SND.UNA (tcp_xmit_probe_skb); false when the device's queue dropped it. */
export function sendProbe(c: Connection): boolean {
  return emit(c, { seq: seqAdd(c.sndUna, -1), flags: TCP_ACK, options: segmentOptions(c) });
}

/** The segment of one outstanding data record again, as it was (same sequence range and flags). */
function resendRecord(c: Connection, r: TxRecord, why: RetransMechanism): boolean {
  return emit(c, {
    seq: r.seq,
    flags: TCP_ACK | (r.psh ? TCP_PSH : 0) | (r.fin ? TCP_FIN : 0),
    payloadOffset: seqDiff(r.seq, c.sndUna),
    payloadLength: r.len,
    options: segmentOptions(c, r.len),
    retransmission: why,
  });
}

/**
 * Resends one outstanding record as it was (same sequence range and flags);
 * `why` names the mechanism for the trace. Returns false when the device's
 * queue dropped it (tcp_retransmit_skb's positive error).
 */
export function retransmit(c: Connection, r: TxRecord, why: RetransMechanism): boolean {
  const now = c.now();
  let queued: boolean;
  if (r.syn) {
    queued = sendSyn(c, c.state === 'SYN_RECV', true);
  } else {
    // __tcp_retransmit_skb: a segment sent before the MSS fell (path MTU)
    // goes out cut to the current MSS; the rest stays queued as its own
    // segment with the same marks (tcp_fragment), PSH and FIN on the rest.
    const mss = currentMss(c);
    if (r.len > mss) c.rtx.split(r, mss);
    queued = resendRecord(c, r, why);
  }
  if (queued) noteRetransmitted(c, r, now, true, true);
  else noteRetransmitFailed(c, r, now);
  return queued;
}

/**
 * __tcp_retransmit_skb with a TSO skb (a link with offloads): the `n` lost
 * records of one skb as sent from the i-th on, as many as cwnd allows, go
 * again as one super-segment (PSH as on any packet of several segments; FIN
 * if its last record has it); the rest of the skb stays behind as an skb of
 * its own. Returns false when the device's queue dropped it.
 */
function retransmitRun(c: Connection, i: number, n: number, mss: number, why: RetransMechanism): boolean {
  const now = c.now();
  const first = c.rtx.at(i)!;
  const last = c.rtx.at(i + n - 1)!;
  let len = 0;
  for (let k = 0; k < n; k++) len += c.rtx.at(i + k)!.len;
  const queued = emit(c, {
    seq: first.seq,
    flags: TCP_ACK | TCP_PSH | (last.fin ? TCP_FIN : 0),
    payloadOffset: seqDiff(first.seq, c.sndUna),
    payloadLength: len,
    options: segmentOptions(c, mss),
    retransmission: why,
    gsoSize: mss,
  });
  for (let k = 0; k < n; k++) {
    const r = c.rtx.at(i + k)!;
    if (queued) noteRetransmitted(c, r, now, k === 0, k === n - 1);
    else noteRetransmitFailed(c, r, now);
  }
  return queued;
}

/**
 * The outstanding skbs of one record longer than the MSS (a path MTU probe,
 * a segment sent before the MSS fell), as they stand before this round of
 * retransmissions cuts any; undefined when there are none.
 */
function longSingleSkbs(c: Connection): Set<TxRecord> | undefined {
  const mss = c.mss;
  // The usual case costs no walk of the queue: nothing longer than the MSS was sent.
  if (c.rtx.longest <= mss) return undefined;
  let out: Set<TxRecord> | undefined;
  let prevEnds = true;
  for (const r of c.rtx) {
    if (r.len > mss && r.skbEnd && prevEnds && !r.syn) (out ??= new Set()).add(r);
    prevEnds = r.skbEnd;
  }
  return out;
}

/**
 * __tcp_retransmit_skb for an skb of one record longer than the MSS (a
 * path MTU probe, or a segment sent before the MSS fell) on a link that
 * does not cut packets itself: up to `segs` segments of it (the cwnd room,
 * at most tcp_tso_segs) go as one packet, cut here, PSH on its last segment
 * as on any packet of several; what lies beyond them becomes an skb of its
 * own (tcp_fragment), left for later. Returns the segments sent: 0 when
 * the device's queue dropped the packet (its segments one skb, all or none).
 */
function retransmitLongSkb(c: Connection, r: TxRecord, segs: number, mss: number, why: RetransMechanism): number {
  const n = Math.max(1, Math.min(segs, Math.ceil(r.len / mss)));
  if (r.len > n * mss) c.rtx.split(r, n * mss);
  const pieces = c.rtx.cut(r, mss);
  const now = c.now();
  let queued = true;
  pieces.forEach((p, k) => {
    const last = k === pieces.length - 1;
    if (!queued) {
      noteRetransmitFailed(c, p, now);
      return;
    }
    queued = emit(c, {
      seq: p.seq,
      flags: TCP_ACK | (last && (p.psh || pieces.length > 1) ? TCP_PSH : 0) | (p.fin ? TCP_FIN : 0),
      payloadOffset: seqDiff(p.seq, c.sndUna),
      payloadLength: p.len,
      options: segmentOptions(c, p.len),
      retransmission: why,
    });
    if (queued) noteRetransmitted(c, p, now, k === 0, last);
    else noteRetransmitFailed(c, p, now);
  });
  return queued ? pieces.length : 0;
}

/** The bookkeeping of one record sent again (tcp_retransmit_skb, __tcp_retransmit_skb). */
function noteRetransmitted(c: Connection, r: TxRecord, now: number, cutBefore: boolean, cutAfter: boolean): void {
  // tcp_retransmit_skb: "Save stamp of the first (attempted) retransmit", read from
  // the skb timestamp the transmission just refreshed: the give-up budgets of
  // tcp_retries2 and TCP_USER_TIMEOUT run from this first retransmission.
  if (c.retransStamp === 0) c.retransStamp = now;
  onRetransmit(c); // undo_retrans (undo.ts)
  c.rtx.markRetransmitted(r, cutBefore, cutAfter);
  r.sentAt = now;
  r.txDelivered = c.delivered;
  c.totalRetrans++;
  c.bytesRetrans += r.len;
  c.ctx.counters.TcpRetransSegs++;
}

/**
 * A retransmission the device's queue dropped: __tcp_retransmit_skb counted
 * it (TcpRetransSegs, total_retrans, bytes_retrans) before tcp_transmit_skb
 * failed, then TCPRetransFail; tcp_retransmit_skb still saves the first
 * (attempted) retransmission's stamp and counts it for undo; the segment
 * is not retransmitted data in flight (no TCPCB_RETRANS, retrans_out), but
 * TCPCB_EVER_RETRANS keeps it from giving an RTT sample (Karn).
 */
function noteRetransmitFailed(c: Connection, r: TxRecord, now: number): void {
  if (c.retransStamp === 0) c.retransStamp = now;
  onRetransmit(c);
  c.rtx.markEverRetransmitted(r);
  r.sentAt = now;
  c.totalRetrans++;
  c.bytesRetrans += r.len;
  c.ctx.counters.TcpRetransSegs++;
  c.ctx.counters.TcpExtTCPRetransFail++;
}

function canSendData(c: Connection): boolean {
  switch (c.state) {
    case 'ESTABLISHED':
    case 'CLOSE_WAIT':
      return true;
    case 'SYN_RECV':
      return c.fastOpenRsk !== undefined;
    case 'FIN_WAIT1':
    case 'CLOSING':
    case 'LAST_ACK':
      // The state changes at close()/shutdown(); queued data still goes out before the FIN.
      return !c.finSent;
    default:
      return false;
  }
}

/**
 * tcp_write_xmit, for a connection marked dirty: after each of its input
 * segments (tcp.ts) and at each flush. Lost segments first when an ACK
 * asked for them (tcp_xmit_recovery), then new data, then a FIN, then a
 * pure ACK if one is still owed.
 */
export function transmit(c: Connection): void {
  if (c.state === 'CLOSED' || c.state === 'TIME_WAIT' || c.state === 'LISTEN') return;
  // A Fast Open child sends data in SYN_RECV (tcp_sendmsg's tcp_passive_fastopen).
  if (c.state !== 'SYN_SENT' && (c.state !== 'SYN_RECV' || c.fastOpenRsk !== undefined)) {
    const nxt = c.sndNxt;
    // tcp_xmit_recovery: with F-RTO's REXMIT_NEW (frto.ts) new data first;
    // if none could go, F-RTO gives way to conventional recovery. Then, for
    // REXMIT_LOST, tcp_xmit_retransmit_queue.
    if (c.frtoSendNew) {
      c.frtoSendNew = false;
      if (canSendData(c)) sendNewData(c);
      if (seqGt(c.sndNxt, c.highSeq)) c.rexmitPending = false;
      else {
        c.frto = false;
        c.rexmitPending = true;
      }
    }
    if (c.rexmitPending) {
      c.rexmitPending = false;
      xmitRetransmitQueue(c);
    }
    if (canSendData(c)) sendNewData(c);
    // tcp_write_xmit: new data sent, so a tail loss probe is due (one per tail).
    if (c.sndNxt !== nxt) timers.scheduleLossProbe(c, false);
  }
  else if (c.state === 'SYN_SENT' && c.rexmitPending) {
    // A Fast Open SYN with data lost to a smaller path MTU (tcp_simple_retransmit): the SYN again.
    c.rexmitPending = false;
    xmitRetransmitQueue(c);
  }
  // MSG_MORE corked only the push of the write this transmit follows.
  c.pushCorked = false;
  if (c.ackNow) sendAck(c);
  if (c.rtx.length > 0 && !c.xmitTimer.armed) timers.armRto(c, c.rtt.rto);
}

/**
 * tcp_xmit_retransmit_queue, after an ACK or the reordering timer asked for
 * it (REXMIT_LOST): the lost segments not yet retransmitted, in sequence
 * order, while cwnd − in flight allows, TcpExtTCPFastRetrans each
 * (TCPSlowStartRetrans in the Loss state); during a cwnd reduction each
 * counts in PRR's prr_out. Retransmitting the head restarts the RTO, unless
 * the reordering timer holds the slot. With GSO, lost records of one skb as
 * sent go together, up to the cwnd room (tcp_retransmit_skb's segs), as
 * one super-segment (retransmitRun).
 */
export function xmitRetransmitQueue(c: Connection): void {
  if (c.rtx.length === 0) return;
  const head = c.rtx.first();
  let rearm = false;
  const longSkbs = gsoAllowed(c) ? undefined : longSingleSkbs(c);
  for (let i = 0; i < c.rtx.length; i++) {
    const r = c.rtx.at(i)!;
    const room = c.cc.cwnd - c.packetsInFlight();
    if (room <= 0) break;
    if (c.rtx.retransOut >= c.rtx.lostOut) break;
    if (!lostToResend(r)) continue;
    // __tcp_retransmit_skb: before the SYN-ACK there is no window: only the SYN goes (-EAGAIN).
    if (c.state === 'SYN_SENT' && !r.syn) break;
    const mss = currentMss(c);
    const why = c.caState === 'loss' ? 'slow-start' : 'fast';
    let segs = gsoAllowed(c) ? lostRun(c, i, Math.min(room, c.rtx.lostOut - c.rtx.retransOut), mss) : 1;
    if (longSkbs !== undefined && longSkbs.has(r)) {
      segs = retransmitLongSkb(c, r, Math.min(room, tsoSegs(c, mss)), mss, why);
      if (segs === 0) break;
      i += segs - 1;
    } else if (segs === 1) {
      // tcp_xmit_retransmit_queue: a retransmission that fails ends the round.
      if (!retransmit(c, r, why)) break;
    } else {
      if (!retransmitRun(c, i, segs, currentMss(c), why)) break;
      i += segs - 1;
    }
    if (c.caState === 'loss') c.ctx.counters.TcpExtTCPSlowStartRetrans += segs;
    else c.ctx.counters.TcpExtTCPFastRetrans += segs;
    if (inCwndReduction(c)) c.prr.out += segs;
    if (r === head && c.xmitMode !== 'reo') rearm = true;
  }
  if (rearm) timers.armRto(c, c.rtt.rto);
}

function lostToResend(r: TxRecord): boolean {
  return r.lost && !r.sacked && !r.retransOut;
}

/**
 * How many records from the i-th on one super-segment can resend (1: the
 * i-th alone, a plain retransmission): while they belong to the first one's
 * skb, are lost and not yet resent, and are full-sized but for the last; at
 * most `max`.
 */
function lostRun(c: Connection, i: number, max: number, mss: number): number {
  let n = 1;
  let r = c.rtx.at(i)!;
  while (n < max && !r.skbEnd && r.len === mss && !r.fin) {
    const next = c.rtx.at(i + n);
    if (next === undefined || !lostToResend(next) || next.len > mss) break;
    n++;
    r = next;
  }
  return n;
}

/** How tcp_write_xmit was called: its nonagle argument and push_one. */
type XmitMode =
  /** tcp_push_pending_frames with tp->nonagle (after an ACK, at the end of a write). */
  | 'pending'
  /** __tcp_push_pending_frames with TCP_NAGLE_PUSH (forced_push in the middle of a write). */
  | 'push'
  /** tcp_push_one: the head skb only, TCP_NAGLE_PUSH. */
  | 'one'
  /** tcp_send_loss_probe: one skb, TCP_NAGLE_OFF, even without cwnd room (push_one 2). */
  | 'probe';

/** The nonagle tcp_write_xmit is called with for each way (nagle.ts). */
function nonagleOf(c: Connection, mode: XmitMode): number {
  if (mode === 'pending') return c.pushCorked ? TCP_NAGLE_CORK : c.nonagle;
  return mode === 'probe' ? TCP_NAGLE_OFF : TCP_NAGLE_PUSH;
}

/**
 * tcp_mss_split_point: how much of the head skb goes as one packet: up to
 * `quota` segments, cut at the window's edge; the sub-MSS rest of the tail
 * skb (or of a window-limited cut) only if Nagle lets it go.
 */
function mssSplitPoint(c: Connection, skb: UnsentSkb, mss: number, quota: number, room: number, nonagle: number): number {
  const maxLen = mss * quota;
  if (maxLen <= room && !c.writeQueue.isTail(skb)) return maxLen;
  const needed = Math.min(skb.len, room);
  if (maxLen <= needed) return maxLen;
  const partial = needed % mss;
  if (nagleCheck(c, partial !== 0, nonagle)) return needed - partial;
  return needed;
}

/**
 * tcp_write_xmit: new data, one head skb at a time, as the packets Linux
 * hands to GSO: each at most min(cwnd room, cwnd / 2, tcp_tso_segs) segments, grown
 * from the next skb and cut at the window's edge (write-queue.ts). Sender-
 * side SWS avoidance is tcp_snd_wnd_test: an skb goes only if its first
 * segment fits the window; a smaller window is left to the probe timer,
 * which sends what fits (tcp_write_wakeup, test/scripts/window-shrink.pkt).
 * Within an skb the cut falls at the window's edge (tcp_mss_split_point),
 * a sub-MSS rest included unless Nagle holds it. Returns 'sent' when
 * anything was sent, else 'dropped' when the device's queue dropped the
 * first packet (tcp_transmit_skb failed: the loop stops there), else 'none'.
 */
function writeXmit(c: Connection, mode: XmitMode): XmitResult {
  const q = c.writeQueue;
  q.reconcile(c.unsentBytes());
  const mss = currentMss(c);
  const maxSegs = tsoSegs(c, mss);
  const nonagle = nonagleOf(c, mode);
  let sent = false;
  let dropped = false;
  let cwndLimited = false;
  let rwndLimited = false;
  if (mode === 'pending' || mode === 'push') {
    // tcp_write_xmit without push_one: a path MTU probe first (mtu-probe.ts).
    const probe = mtuProbeDecision(c, q.all());
    if (probe.kind === 'wait') return 'none';
    if (probe.kind === 'probe') sent = sendMtuProbe(c, probe.size);
  }
  for (let skb = q.head(); skb; skb = q.head()) {
    // tcp_cwnd_test: the room in cwnd, but at most half of cwnd, "to ensure
    // at least 2 GSO packets in flight".
    let quota = Math.min(c.cc.cwnd - c.packetsInFlight(), Math.max(c.cc.cwnd >> 1, 1));
    if (quota <= 0) {
      if (mode !== 'probe' || sent) break;
      quota = 1;
    }
    quota = Math.min(quota, maxSegs);
    q.growHead(quota * mss - skb.len);
    const room = seqDiff(seqAdd(c.sndUna, c.sndWnd), c.sndNxt);
    if (room < Math.min(mss, skb.len)) {
      rwndLimited = true; // tcp_snd_wnd_test
      break;
    }
    const segs = Math.ceil(skb.len / mss);
    // tcp_nagle_test, for a one-segment skb: only the tail is held.
    if (segs === 1 && q.isTail(skb) && nagleHolds(c, skb.len < mss, nonagle)) break;
    if (segs > 1 && (mode === 'pending' || mode === 'push') && tsoShouldDefer(c, skb, maxSegs, room)) {
      // Deferred because cwnd would cut the packet short: cwnd-limited.
      const congWin = (c.cc.cwnd - c.packetsInFlight()) * c.mss;
      cwndLimited = congWin < room && congWin <= skb.len;
      break;
    }
    // tcp_write_xmit: in urgent mode packets are of one MSS (each segment its own urgent pointer).
    const len = segs > 1 ? Math.min(skb.len, urgentMode(c) ? mss : mssSplitPoint(c, skb, mss, quota, room, nonagle)) : skb.len;
    const whole = len === skb.len;
    const fin = whole && q.isTail(skb) && c.finQueued && room > len;
    // tso_fragment leaves the skb's PSH to the part not sent.
    const skbPsh = whole && skb.psh;
    // tcp_transmit_skb failed (the device's queue dropped it): the skb stays
    // at the head of the write queue, SND.NXT where it was; the loop stops.
    if (!sendPacket(c, len, mss, skbPsh, fin)) {
      dropped = true;
      break;
    }
    q.consumeHead(len);
    // tcp_write_xmit: what is sent during a cwnd reduction counts in PRR's prr_out.
    if (inCwndReduction(c)) c.prr.out += Math.ceil(len / mss);
    sent = true;
    if (mode === 'one' || mode === 'probe') break;
  }
  // tcp_write_xmit's end: held back by the peer's window or not (chrono.ts),
  // stopped at cwnd or not, the round's record (cwnd-limited.ts).
  if (rwndLimited) chronoStart(c, CHRONO_RWND_LIMITED);
  else chronoStop(c, CHRONO_RWND_LIMITED);
  if (c.packetsInFlight() >= c.cc.cwnd) cwndLimited = true;
  if (sent || cwndLimited) cwndValidate(c, cwndLimited);
  return sent ? 'sent' : dropped ? 'dropped' : 'none';
}

/** What tcp_write_xmit did: sent something, had its first packet dropped by the device's queue, or sent nothing. */
export type XmitResult = 'sent' | 'dropped' | 'none';

/**
 * tcp_mtu_probe's probe: `size` bytes from the head of the write queue, as
 * one segment larger than the MSS, merged from as many skbs as it takes
 * (one eaten whole gives its PSH mark; the one cut keeps its own). Sent
 * once (tcp_transmit_skb): PSH only from a mark, it being a single segment.
 * Dropped by the device's queue, the merged skb stays at the head of the
 * write queue, unsent.
 */
function sendMtuProbe(c: Connection, size: number): boolean {
  const q = c.writeQueue;
  let left = size;
  let psh = false;
  for (let skb = q.head(); skb !== undefined && left > 0; skb = q.head()) {
    const take = Math.min(left, skb.len);
    if (take === skb.len) psh ||= skb.psh;
    q.consumeHead(take);
    left -= take;
  }
  const seq = c.sndNxt;
  if (!sendData(c, size, false, psh, psh)) {
    q.requeueHead(size, psh);
    return false;
  }
  probeSent(c, seq, size);
  return true;
}

/** sysctl_tcp_tso_win_divisor's default: a third of the window is enough to send at once. */
const TSO_WIN_DIVISOR = 3;

/**
 * tcp_tso_should_defer: a packet that cwnd or the window would cut short
 * waits for the ACK due within min(1 ms, SRTT/2), to go out larger, unless
 * the last transmission is over 1 ms old, a full packet or a third of the
 * window fits, an skb in the middle of the queue fits whole, or it carries
 * the FIN; never in recovery.
 */
function tsoShouldDefer(c: Connection, skb: UnsentSkb, maxSegs: number, sendWin: number): boolean {
  if (c.caState === 'recovery' || c.caState === 'loss') return false;
  const now = c.now();
  if (now - c.lastSendTime > 1) return false;
  const congWin = (c.cc.cwnd - c.packetsInFlight()) * c.mss;
  const limit = Math.min(sendWin, congWin);
  if (limit >= maxSegs * c.mss) return false;
  const tail = c.writeQueue.isTail(skb);
  if (!tail && limit >= skb.len) return false;
  if (limit >= Math.floor(Math.min(c.sndWnd, c.cc.cwnd * c.mss) / TSO_WIN_DIVISOR)) return false;
  const head = c.rtx.first();
  if (!head) return false;
  // The next ACK expected more than min(SRTT/2, 1 ms) from now: no point in waiting.
  const howFar = head.sentAt + c.rtt.srtt - now;
  if (howFar - Math.min(c.rtt.srtt / 2, 1) > 0) return false;
  if (tail && c.finQueued) return false;
  return true;
}

/**
 * One packet of `len` bytes as GSO cuts it into segments: PSH on its last
 * segment when the packet has more than one (__tcp_transmit_skb) or its skb
 * was marked (tcp_mark_push). Minshall's snd_sml follows sub-MSS packets
 * (tcp_minshall_update).
 */
function sendPacket(c: Connection, len: number, mss: number, skbPsh: boolean, fin: boolean): boolean {
  const segs = Math.ceil(len / mss);
  if (segs > 1 && gsoAllowed(c)) return sendSuperSegment(c, len, mss, skbPsh, fin);
  for (let off = 0; off < len; off += mss) {
    const segLen = Math.min(mss, len - off);
    const last = off + segLen === len;
    // The device's queue drops all or nothing: only the first segment can fail.
    if (!sendData(c, segLen, last && fin, last && (segs > 1 || skbPsh || fin), last && (skbPsh || fin), last)) return false;
  }
  if (len < mss) c.sndSml = c.sndNxt;
  return true;
}

/**
 * A packet of several segments may leave whole when the link cuts it (a TUN
 * device with offloads): not toward our own address (those loop back to our
 * own input, which takes wire-sized segments), and not on an ECN connection
 * (CWR belongs on the first segment only: VIRTIO_NET_HDR_GSO_ECN, not asked
 * for).
 */
function gsoAllowed(c: Connection): boolean {
  return c.ctx.gso && !c.ecnOk && c.remote !== c.ctx.address;
}

/**
 * The GSO path of sendPacket: one super-segment of `len` bytes with the
 * header of its last segment (PSH, and FIN if it ends the stream;
 * tcp_gso_segment clears both on the others), its options on every segment
 * the link cuts (as the kernel copies a TSO packet's header), gso_size the
 * MSS. The retransmission queue still holds one record per segment, as
 * sendData makes them, so loss recovery, SACK and RACK see the same
 * segments either way; TcpOutSegs counts segments (tcp_skb_pcount).
 */
function sendSuperSegment(c: Connection, len: number, mss: number, skbPsh: boolean, fin: boolean): boolean {
  const now = c.now();
  c.cc.onDataSent(c.packetsInFlight());
  const seq = c.sndNxt;
  const queued = emit(c, {
    seq,
    flags: TCP_ACK | TCP_PSH | (fin ? TCP_FIN : 0),
    payloadOffset: seqDiff(seq, c.sndUna),
    payloadLength: len,
    options: segmentOptions(c, mss),
    gsoSize: mss,
  });
  if (!queued) return false;
  for (let off = 0; off < len; off += mss) {
    const segLen = Math.min(mss, len - off);
    const last = off + segLen === len;
    const recordFin = last && fin;
    const record: TxRecord = { seq: seqAdd(seq, off), len: segLen, syn: false, fin: recordFin, psh: last && (skbPsh || fin), sentAt: now, firstSentAt: now, retrans: 0, sacked: false, lost: false, retransOut: false, txDelivered: c.delivered, skbEnd: last };
    c.rtx.push(record);
  }
  c.sndNxt = seqAdd(seq, len + (fin ? 1 : 0));
  c.bytesSent += len;
  if (fin) c.finSent = true;
  c.probesStamp = undefined;
  if (c.xmitMode === 'tlp') timers.rearmRto(c);
  else if (!c.xmitTimer.armed || c.xmitMode === 'probe') timers.armRto(c, c.rtt.rto);
  return true;
}

function sendNewData(c: Connection): void {
  writeXmit(c, 'pending');
  if (c.finQueued && !c.finSent && c.unsentBytes() === 0) {
    const room = seqDiff(seqAdd(c.sndUna, c.sndWnd), c.sndNxt);
    if (room > 0 || c.rtx.length === 0) sendData(c, 0, true, false, false);
  }
  // tcp_check_probe_timer: nothing in flight and data that cannot go: the
  // probe timer, unless the xmit timer is busy (a Fast Open SYN-ACK's).
  if (c.unsentBytes() > 0 && c.rtx.length === 0 && c.fastOpenRsk === undefined) timers.armPersist(c);
}

/**
 * The pushes of tcp_sendmsg_locked in the middle of a write (tcp_push_one,
 * or __tcp_push_pending_frames after forced_push): new data only, as
 * tcp_write_xmit.
 */
export function pushDuringWrite(c: Connection, one: boolean): void {
  if (!canSendData(c)) return;
  const nxt = c.sndNxt;
  writeXmit(c, one ? 'one' : 'push');
  if (c.sndNxt !== nxt) timers.scheduleLossProbe(c, false);
}

/** tcp_send_mss: the MSS new data is cut to now. */
export function sendMss(c: Connection): number {
  return currentMss(c);
}

/**
 * tcp_write_wakeup from the probe timer when the window is open but smaller
 * than sender-side SWS avoidance lets a burst start: what fits (at most one
 * segment) goes, with PSH; the skb it was cut from keeps a PSH mark for its
 * rest (tcp_fragment after TCPHDR_PSH was set). Returns what happened:
 * 'sent'; 'dropped', the device's queue dropped it (tcp_transmit_skb's
 * positive error), the data left unsent; 'none', nothing fits (the caller
 * sends a zero-window probe).
 */
export function sendWindowProbeData(c: Connection): 'sent' | 'dropped' | 'none' {
  const q = c.writeQueue;
  q.reconcile(c.unsentBytes());
  const skb = q.head();
  const room = seqDiff(seqAdd(c.sndUna, c.sndWnd), c.sndNxt);
  const mss = currentMss(c);
  if (!skb || !canSendData(c)) return 'none';
  const len = Math.min(room, mss, skb.len);
  if (len <= 0) return 'none';
  if (len < skb.len) skb.psh = true;
  if (!sendData(c, len, false, true, true)) return 'dropped';
  q.consumeHead(len);
  if (len < mss) c.sndSml = c.sndNxt;
  return 'sent';
}

/**
 * One segment of new data. `wirePsh` is the PSH it carries; `skbPsh` what a
 * retransmission of it alone carries (the skb's own mark: the PSH
 * __tcp_transmit_skb forces on a multi-segment packet is set on the clone).
 * Returns false when the device's queue dropped it: then nothing was sent
 * (no record, SND.NXT unchanged: tcp_event_new_data_sent is not called).
 */
function sendData(c: Connection, len: number, fin: boolean, wirePsh: boolean, skbPsh: boolean, skbEnd = true): boolean {
  const now = c.now();
  // tcp_event_data_sent: CA_EVENT_TX_START when nothing was in flight.
  if (len > 0) c.cc.onDataSent(c.packetsInFlight());
  const seq = c.sndNxt;
  const offset = seqDiff(seq, c.sndUna);
  const psh = len > 0 && wirePsh;
  const queued = emit(c, {
    seq,
    flags: TCP_ACK | (psh ? TCP_PSH : 0) | (fin ? TCP_FIN : 0),
    payloadOffset: offset,
    payloadLength: len,
    options: segmentOptions(c, len),
  });
  if (!queued) return false;
  const record: TxRecord = { seq, len, syn: false, fin, psh: len > 0 && skbPsh, sentAt: now, firstSentAt: now, retrans: 0, sacked: false, lost: false, retransOut: false, txDelivered: c.delivered, skbEnd };
  c.rtx.push(record);
  c.sndNxt = recordEnd(record);
  c.bytesSent += len;
  if (fin) c.finSent = true;
  c.probesStamp = undefined; // the window let data out: a probing episode is over
  // tcp_event_new_data_sent: the RTO starts with the first packet in flight,
  // and replaces a pending loss probe (tcp_rearm_rto keeps its expiry).
  if (c.xmitMode === 'tlp') timers.rearmRto(c);
  else if (!c.xmitTimer.armed || c.xmitMode === 'probe') timers.armRto(c, c.rtt.rto);
  return true;
}

/**
 * tcp_send_loss_probe's first choice: new data, one packet (Nagle ignored,
 * one segment even without cwnd room: tcp_write_xmit with push_one 2) if
 * the window holds its first segment (tcp_snd_wnd_test). Returns whether
 * it went out, or was dropped by the device's queue (no fallback then:
 * tcp_send_loss_probe only rearms the timer).
 */
export function sendLossProbeNewData(c: Connection): XmitResult {
  if (c.unsentBytes() <= 0 || !canSendData(c)) return 'none';
  return writeXmit(c, 'probe');
}

/**
 * tcp_send_loss_probe's fallback: the last segment sent goes again
 * (__tcp_retransmit_skb). Unlike an RTO or fast retransmission it is not
 * counted as retransmitted data in flight (no TCPCB_SACKED_RETRANS) and
 * does not start retrans_stamp, the give-up budgets' origin; it still counts
 * in TcpRetransSegs and excludes the segment from RTT samples (Karn).
 */
export function retransmitLossProbe(c: Connection, r: TxRecord): boolean {
  const queued = resendRecord(c, r, 'tlp');
  c.totalRetrans++;
  c.bytesRetrans += r.len;
  c.ctx.counters.TcpRetransSegs++;
  r.sentAt = c.now();
  if (!queued) {
    // __tcp_retransmit_skb failed (the device's queue dropped it): TCPRetransFail, TCPCB_EVER_RETRANS.
    c.ctx.counters.TcpExtTCPRetransFail++;
    c.rtx.markEverRetransmitted(r);
    return false;
  }
  c.rtx.markProbed(r);
  r.txDelivered = c.delivered;
  return true;
}

/**
 * tcp_acceptable_seq and the rest of what the active reset needs. The window
 * is chosen as for any other segment (tcp_send_active_reset →
 * tcp_transmit_skb → tcp_select_window): after __tcp_close purged unread data it is the window
 * of the emptied buffer, not what is left of the last advertisement.
 */
export function activeResetSource(c: Connection): ActiveResetSource {
  const wndEnd = seqAdd(c.sndUna, c.sndWnd);
  const seq = seqLt(wndEnd, c.sndNxt) && c.sndWnd > 0 ? wndEnd : c.sndNxt;
  return {
    local: c.local,
    remote: c.remote,
    localPort: c.localPort,
    remotePort: c.remotePort,
    seq,
    ack: c.rcvNxt,
    window: windowField(c),
    options: c.tsOk ? { ts: { val: c.tsVal(), ecr: c.tsRecent } } : undefined,
    ipId: nextIpId(c),
    flowLabel: c.flowLabel,
  };
}
