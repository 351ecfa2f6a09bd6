/**
 * From a run's raw record (step results with times, the peer-side capture,
 * the RST reasons) to something two runs can be compared on: numbers that
 * mean the same thing in both runs.
 *
 * - Direction: 'P>S' (peer to subject) or 'S>P'.
 * - Connection: c1, c2... in order of first appearance (ephemeral ports
 *   differ between runs; the scenario's fixed ports do not).
 * - Sequence numbers relative to the sender's ISN (the seq of its SYN), ack
 *   numbers relative to the other side's ISN. Where no SYN was seen (crafted
 *   segments on no connection) the absolute value is kept, marked '(abs)'.
 *   A RST with seq 0 always shows '0(abs)': that is the reply reset's
 *   (tcp_v4_send_reset) form for a trigger without ACK (seq 0, ack =
 *   SEG.SEQ+LEN), which must stay distinct from its "seq = SEG.ACK" form and
 *   from the active reset's (tcp_send_active_reset) seq = SND.NXT.
 * - Time: which step was running when the packet was captured, and the
 *   offset from that step's start (see compare.ts for the tolerance).
 * - Kind: every segment is classified, and the classification decides what is
 *   compared (compare.ts):
 *     SYN, FIN, RST     control: always compared, field by field
 *     probe             a bare ACK with seq = SND.NXT-1 (keepalive or
 *                       zero-window probe): compared
 *     dupack            a bare ACK that acknowledges nothing new and sends
 *                       nothing new: the answer to something (challenge ACK,
 *                       reply to a probe, to an out-of-window segment, a
 *                       TIME_WAIT ACK): compared
 *     dsack             a bare ACK of the peer carrying a D-SACK (RFC 2883):
 *                       compared on the duplicate it reports, not on its
 *                       ACK number
 *     rexmit            payload that was sent before: compared (kind, time)
 *     data              first transmission of payload: not compared one by
 *                       one (segmentation is noise); the byte total per
 *                       direction is
 *     ack               a bare ACK that acknowledges new data or a FIN:
 *                       noise (delayed/quick ACK policy), only counted
 */
import type { Scenario, StepRecord } from './types.ts';
import { isUnspecified, type Family } from './family.ts';
import { formatTcpFlags } from '../../stack/wire/tcp.ts';
import type { TcpPacket } from './pcap-read.ts';
import { racedPeerRetransmissions } from './probe-race.ts';

export type Dir = 'P>S' | 'S>P';
export type EventKind = 'SYN' | 'FIN' | 'RST' | 'probe' | 'dupack' | 'dsack' | 'rexmit' | 'data' | 'ack' | 'other';

/** A RST's reason as the sender recorded it (tracepoint, or our stack's trace). */
export interface ResetReason {
  tUs: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  reason: string;
  origin: 'tracepoint' | 'stack';
}

/** Everything a run recorded, before normalisation. */
export interface RunRecord {
  mode: 'kernel' | 'stack';
  scenario: string;
  /** The address family the run was over (family.ts). */
  family: Family;
  subjectAddr: string;
  peerAddr: string;
  steps: StepRecord[];
  packets: TcpPacket[];
  resets: ResetReason[];
  notes: string[];
  /** Set when the run could not complete (a harness or environment failure, not a difference). */
  error?: string;
  /**
   * Why the kernel's tcp_send_reset tracepoint could not be recorded (so the
   * RST reasons of kernel senders are unknown); absent when it was.
   */
  tracepointUnavailable?: string;
  /** The subject's counters at the end (counters.ts), when the scenario lists some. */
  counters?: Record<string, number>;
  wallMs: number;
}

export interface NormEvent {
  /** 1-based index of the step during which the packet was captured (0: before step 1). */
  step: number;
  offsetMs: number;
  /** Since the start of step 1. */
  tMs: number;
  dir: Dir;
  conn: string;
  kind: EventKind;
  compared: boolean;
  flags: string;
  /** Display forms (relative, or '(abs)'); FIN's seq is where the FIN sits (seq + payload). */
  seq: string;
  ack: string;
  len: number;
  win: number;
  opts: string[];
  reason?: string;
  /**
   * A peer retransmission that raced the subject's prompt ACK
   * (probe-race.ts): how long that ACK took, in ms. Not compared.
   */
  racedAckMs?: number;
  /** The subject's D-SACK answering such a retransmission. Not compared. */
  racedReply?: boolean;
  /** kind 'dsack': the duplicate the peer reports, relative to the subject's ISN ('L-R'). */
  dsack?: string;
}

export interface ConnSummary {
  conn: string;
  /** e.g. 'peer:* > subject:5000' (who sent the first SYN, ephemeral ports as '*'). */
  shape: string;
  bytes: Record<Dir, number>;
  segments: Record<Dir, { data: number; rexmit: number; acks: number }>;
}

export interface NormRun {
  record: RunRecord;
  events: NormEvent[];
  conns: ConnSummary[];
  /** RST reasons that match no captured RST (e.g. the RSTs a kernel crash sent into its own nft drop). */
  offWire: ResetReason[];
}

const EPHEMERAL_MIN = 32768;
/**
 * How close in time a listener's traced RST (no addresses) must be to the
 * captured one. Other harness runs on this host may use the same port at the
 * same moment, so this is kept tight; the tracepoint's clock and tcpdump's
 * agree to well under a millisecond (both are stamped as the RST is built
 * and sent, and our mono-to-wall conversion is measured per run).
 */
const RST_MATCH_WILDCARD_US = 5_000;

interface DirState {
  isn: number | undefined;
  /** Highest sequence end sent (relative), SYN and FIN included. */
  sndMax: number | undefined;
  lastAck: number | undefined;
  dataEnd: number;
  payloadSum: number;
  data: number;
  rexmit: number;
  acks: number;
}

interface ConnState {
  label: string;
  subjectPort: number;
  peerPort: number;
  opener: Dir | undefined;
  d: Record<Dir, DirState>;
}

const newDir = (): DirState => ({ isn: undefined, sndMax: undefined, lastAck: undefined, dataEnd: 0, payloadSum: 0, data: 0, rexmit: 0, acks: 0 });

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

/**
 * A D-SACK (RFC 2883 §4): the first SACK block lies below the cumulative ACK,
 * or inside the second block. Returns that block.
 */
export function dsackBlock(p: TcpPacket): [number, number] | undefined {
  const first = p.sack?.[0];
  if (first === undefined || p.len > 0 || !(p.flags & ACK) || p.flags & (SYN | FIN | RST)) return undefined;
  const [left, right] = first;
  const below = ((left - p.ack) | 0) < 0;
  const second = p.sack![1];
  const inside = second !== undefined && ((second[0] - left) | 0) <= 0 && ((right - second[1]) | 0) <= 0;
  return below || inside ? first : undefined;
}

function rel(value: number, isn: number | undefined): number {
  return isn === undefined ? value : (value - isn) >>> 0;
}

function fmt(value: number, isn: number | undefined): string {
  return isn === undefined ? `${value}(abs)` : String((value - isn) >>> 0);
}

export function normalise(record: RunRecord, _scenario: Scenario): NormRun {
  const steps = record.steps;
  const t0 = steps[0]?.startUs ?? record.packets[0]?.tUs ?? 0;
  const conns = new Map<string, ConnState>();
  const events: NormEvent[] = [];
  const reasons = record.resets.map((r) => ({ r, used: false }));
  const raced = racedPeerRetransmissions(record.packets, record.peerAddr, record.subjectAddr);
  const racedReplies = new Set([...raced.values()].map((r) => r.reply));

  for (const [index, p] of record.packets.entries()) {
    const dir: Dir | undefined = p.src === record.subjectAddr && p.dst === record.peerAddr ? 'S>P' : p.src === record.peerAddr && p.dst === record.subjectAddr ? 'P>S' : undefined;
    if (dir === undefined) continue;
    const subjectPort = dir === 'S>P' ? p.sport : p.dport;
    const peerPort = dir === 'S>P' ? p.dport : p.sport;
    const key = `${subjectPort}|${peerPort}`;
    let c = conns.get(key);
    if (!c) {
      c = { label: `c${conns.size + 1}`, subjectPort, peerPort, opener: undefined, d: { 'P>S': newDir(), 'S>P': newDir() } };
      conns.set(key, c);
    }
    const other: Dir = dir === 'S>P' ? 'P>S' : 'S>P';
    const me = c.d[dir];
    const them = c.d[other];
    if (p.flags & SYN && me.isn === undefined) {
      me.isn = p.seq;
      if (!(p.flags & ACK) && c.opener === undefined) c.opener = dir;
    }
    const relSeq = rel(p.seq, me.isn);
    const synFin = (p.flags & SYN ? 1 : 0) + (p.flags & FIN ? 1 : 0);
    const end = relSeq + p.len + synFin;

    let kind: EventKind;
    if (p.flags & RST) kind = 'RST';
    else if (p.flags & SYN) kind = 'SYN';
    else if (p.flags & FIN) kind = 'FIN';
    else if (p.len > 0) kind = me.sndMax !== undefined && relSeq < me.sndMax ? 'rexmit' : 'data';
    else if (!(p.flags & ACK)) kind = 'other';
    else if (me.sndMax !== undefined && relSeq === me.sndMax - 1) kind = 'probe';
    else if (dir === 'P>S' && dsackBlock(p) !== undefined) kind = 'dsack';
    else if (me.lastAck !== undefined && p.ack === me.lastAck && (me.sndMax === undefined || relSeq === me.sndMax)) kind = 'dupack';
    else kind = 'ack';

    if (p.len > 0) {
      me.dataEnd = Math.max(me.dataEnd, relSeq + p.len);
      me.payloadSum += p.len;
      if (kind === 'rexmit') me.rexmit++;
      else me.data++;
    }
    if (kind === 'ack') me.acks++;
    // What a side has sent, for telling new data from retransmissions and
    // spotting probes. A SYN other than the ISN's, or a segment without ACK
    // once synchronized, is a crafted segment (or a stray one): it does not
    // move that.
    const stray = (p.flags & SYN && p.seq !== me.isn) || (!(p.flags & (SYN | ACK)) && me.isn !== undefined);
    if (!(p.flags & RST) && !stray) {
      me.sndMax = me.sndMax === undefined ? end : Math.max(me.sndMax, end);
      if (p.flags & ACK) me.lastAck = p.ack;
    }

    let seq = p.flags & RST && p.seq === 0 ? '0(abs)' : fmt(p.seq, me.isn);
    if (kind === 'FIN') seq = fmt((p.seq + p.len) >>> 0, me.isn);
    const ack = p.flags & ACK ? fmt(p.ack, them.isn) : '-';

    // Step attribution: the last step that had started when the packet was captured.
    let step = 0;
    for (let i = 0; i < steps.length; i++) if (steps[i]!.startUs <= p.tUs) step = i + 1;
    const stepStart = step === 0 ? t0 : steps[step - 1]!.startUs;

    let reason: string | undefined;
    if (kind === 'RST') {
      let best: { r: ResetReason; used: boolean } | undefined;
      for (const cand of reasons) {
        const r = cand.r;
        if (cand.used) continue;
        const exact = r.src === p.src && r.dst === p.dst && r.sport === p.sport && r.dport === p.dport;
        // A listener's RST is traced as 0.0.0.0:PORT > 0.0.0.0:0, [::]:PORT > [::]:0 over IPv6 (see kernel-run.ts `ours`).
        const listener = isUnspecified(r.src) && isUnspecified(r.dst) && r.sport === p.sport;
        if (!exact && !listener) continue;
        if (Math.abs(r.tUs - p.tUs) > (exact ? 20_000 : RST_MATCH_WILDCARD_US)) continue;
        if (!best || Math.abs(r.tUs - p.tUs) < Math.abs(best.r.tUs - p.tUs)) best = cand;
      }
      if (best) {
        best.used = true;
        reason = best.r.reason;
      } else {
        reason = '?';
      }
    }

    const dsack = kind === 'dsack' ? dsackBlock(p)! : undefined;
    events.push({
      step,
      offsetMs: (p.tUs - stepStart) / 1000,
      tMs: (p.tUs - t0) / 1000,
      dir,
      conn: c.label,
      kind,
      compared: kind !== 'data' && kind !== 'ack' && !raced.has(index) && !racedReplies.has(index),
      flags: formatTcpFlags(p.flags),
      seq,
      ack,
      len: p.len,
      win: p.window,
      opts: p.options,
      reason,
      ...(raced.has(index) ? { racedAckMs: raced.get(index)!.ackUs / 1000 } : {}),
      ...(racedReplies.has(index) ? { racedReply: true } : {}),
      ...(dsack ? { dsack: `${fmt(dsack[0], them.isn)}-${fmt(dsack[1], them.isn)}` } : {}),
    });
  }

  const summaries: ConnSummary[] = [...conns.values()].map((c) => {
    const port = (side: 'subject' | 'peer'): string => {
      const n = side === 'subject' ? c.subjectPort : c.peerPort;
      return `${side}:${n >= EPHEMERAL_MIN ? '*' : n}`;
    };
    const shape = c.opener === 'S>P' ? `${port('subject')} > ${port('peer')}` : c.opener === 'P>S' ? `${port('peer')} > ${port('subject')}` : `${port('peer')} ~ ${port('subject')} (no SYN seen)`;
    const bytes = (d: DirState): number => (d.isn !== undefined ? Math.max(0, d.dataEnd - 1) : d.payloadSum);
    return {
      conn: c.label,
      shape,
      bytes: { 'P>S': bytes(c.d['P>S']), 'S>P': bytes(c.d['S>P']) },
      segments: {
        'P>S': { data: c.d['P>S'].data, rexmit: c.d['P>S'].rexmit, acks: c.d['P>S'].acks },
        'S>P': { data: c.d['S>P'].data, rexmit: c.d['S>P'].rexmit, acks: c.d['S>P'].acks },
      },
    };
  });

  // Unused listener entries are most likely another run's: leave them out.
  const offWire = reasons.filter((c) => !c.used && !isUnspecified(c.r.src)).map((c) => c.r);
  return { record, events, conns: summaries, offWire };
}

/** One event as a fixed-layout line for the side-by-side print. */
export function formatEvent(e: NormEvent): string {
  const time = `s${e.step}+${Math.round(e.offsetMs)}ms`.padEnd(11);
  const win = e.kind === 'RST' ? (e.win === 0 ? ' win0' : ` win${e.win}`) : e.win === 0 ? ' win0' : '';
  const len = e.len > 0 ? ` len ${e.len}` : '';
  const opts = e.opts.length > 0 ? ` [${e.opts.join(',')}]` : '';
  const reason = e.reason !== undefined ? ` ${e.reason}` : e.dsack !== undefined ? ` ${e.dsack}` : '';
  const kind = e.kind === 'SYN' || e.kind === 'FIN' || e.kind === 'RST' ? '' : ` ${e.kind}${e.racedAckMs !== undefined ? ` (raced an ACK sent in ${e.racedAckMs.toFixed(1)} ms)` : ''}${e.racedReply ? ' (answers a raced retransmission)' : ''}`;
  return `${time} ${e.dir} ${e.conn} ${e.flags.padEnd(3)} ${e.seq}:${e.ack}${len}${win}${kind}${reason}${opts}`;
}
