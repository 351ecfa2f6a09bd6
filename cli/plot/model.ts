/**
 * What `tcpstack plot` draws, gathered from trace records (or from a
 * capture, turned into the same segment records: capture.ts): per
 * connection, the segments both ways, the stack's state samples, its RSTs
 * with their reasons, its CA state changes, and marks a capture's comments
 * put on packets (an impairment's drop or injection). Incremental: push()
 * records as they come (the status page feeds it live), series() draws a
 * direction of one connection from what is there.
 */
import type { RetransMechanism, TcpSegmentEvent, TcpStateSample, TraceEvent } from '../../stack/trace.ts';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../stack/wire/tcp.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';

/** A segment as the model keeps it: a trace's tcp-seg, with an optional note from a capture's comment. */
export type SegmentRecord = Pick<TcpSegmentEvent, 't' | 'dir' | 'flags' | 'seq' | 'ack' | 'len' | 'win' | 'options' | 'sack' | 'rtx'> & { note?: string };

/** One data segment drawn as a bar: the sequence range [start, end) relative to the sender's ISN. */
export interface SegmentBar {
  t: number;
  start: number;
  end: number;
  /** `new`, or the retransmission's mechanism. */
  kind: 'new' | RetransMechanism;
}

export interface AckStep {
  t: number;
  /** The cumulative ACK and the right edge of the advertised window, relative to the sender's ISN. */
  ack: number;
  window: number;
}

export interface SackBlock {
  t: number;
  left: number;
  right: number;
}

export interface ResetMark {
  t: number;
  seq: number;
  /** Who sent it: the data sender ('sender') or its peer ('receiver'). */
  by: 'sender' | 'receiver';
  /** The reset path and sk_rst_reason when the trace has them, else ''. */
  reason: string;
}

/** A packet a capture's comment says something about (an impairment dropped or injected it...). */
export interface NoteMark {
  t: number;
  seq: number;
  note: string;
}

export interface SampleRow {
  t: number;
  cwnd: number;
  ssthresh: number | undefined;
  inflight: number;
  srtt: number;
  rto: number;
  rtt: number | undefined;
  ca: string;
}

/** An interval of a CA state other than open/disorder (cwr, recovery, loss), for shading. */
export interface CaSpan {
  from: number;
  to: number;
  ca: string;
}

/** One direction of one connection, ready to draw; times in seconds since the trace began. */
export interface ConnectionSeries {
  id: string;
  name: string;
  /** Which end's data is drawn: our stack's ('out') or the peer's ('in'). */
  sending: 'out' | 'in';
  bars: SegmentBar[];
  acks: AckStep[];
  sacks: SackBlock[];
  resets: ResetMark[];
  notes: NoteMark[];
  /** The sender's own state (a trace, sending 'out' only); empty otherwise. */
  samples: SampleRow[];
  caSpans: CaSpan[];
  /** Time range of the connection's records, s. */
  start: number;
  end: number;
}

export interface ConnectionSummary {
  id: string;
  name: string;
  segments: number;
  /** Payload bytes each way, retransmissions included. */
  bytesOut: number;
  bytesIn: number;
  start: number;
  end: number;
}

interface ConnRecords {
  name: string;
  segments: SegmentRecord[];
  samples: TcpStateSample[];
  resets: Array<{ t: number; path: string; reason: string; linux: string }>;
  ca: Array<{ t: number; to: string }>;
  bytesOut: number;
  bytesIn: number;
}

const NOT_SET = 0x7fffffff;

/** The window scale a SYN's options text announces ("...,wscale 10"), 0 without one. */
function wscaleOf(options: string): number {
  const m = /wscale (\d+)/.exec(options);
  return m ? Number(m[1]) : 0;
}

/** The segments, samples and marks of a trace, per connection. */
export class TraceModel {
  private readonly conns = new Map<string, ConnRecords>();
  private origin: number | undefined;
  /** Records kept per connection: the latest maxPerConnection, up to a quarter more between cuts (a live view bounds its memory); Infinity for a file. */
  constructor(private readonly maxPerConnection = Infinity) {}

  /** The time 0 of the graphs (ms of the stack's clock): the trace header's, else the first record's. */
  setOrigin(t: number): void {
    this.origin = t;
  }

  push(e: TraceEvent | { kind: 'trace-start'; t: number }, note?: string): void {
    if (this.origin === undefined) this.origin = e.t;
    switch (e.kind) {
      case 'trace-start':
        this.origin = e.t;
        return;
      case 'tcp-seg': {
        const c = this.conn(e.conn, () => this.nameOf(e));
        const record: SegmentRecord = { t: e.t, dir: e.dir, flags: e.flags, seq: e.seq, ack: e.ack, len: e.len, win: e.win, options: e.options };
        if (e.sack !== undefined) record.sack = e.sack;
        if (e.rtx !== undefined) record.rtx = e.rtx;
        if (note !== undefined) record.note = note;
        keep(c.segments, record, this.maxPerConnection);
        if (e.dir === 'out') c.bytesOut += e.len;
        else c.bytesIn += e.len;
        return;
      }
      case 'tcp-cc':
        keep(this.conn(e.conn).samples, e, this.maxPerConnection);
        return;
      case 'tcp-rst':
        keep(this.conn(`${e.local}-${e.remote}`).resets, { t: e.t, path: e.path, reason: e.reason, linux: e.linux }, this.maxPerConnection);
        return;
      case 'tcp-ca':
        keep(this.conn(e.conn).ca, { t: e.t, to: e.to }, this.maxPerConnection);
        return;
      default:
        return;
    }
  }

  /** Forgets a connection (the live page, once it has been closed a while). */
  forget(id: string): void {
    this.conns.delete(id);
  }

  connections(): ConnectionSummary[] {
    return [...this.conns.entries()]
      .filter(([, c]) => c.segments.length > 0)
      .map(([id, c]) => ({
        id,
        name: c.name,
        segments: c.segments.length,
        bytesOut: c.bytesOut,
        bytesIn: c.bytesIn,
        start: this.seconds(c.segments[0]!.t),
        end: this.seconds(c.segments.at(-1)!.t),
      }));
  }

  has(id: string): boolean {
    return this.conns.has(id);
  }

  /** The direction of `id` to draw: `sending`, or the one that carried more data. */
  series(id: string, sending?: 'out' | 'in'): ConnectionSeries | undefined {
    const c = this.conns.get(id);
    if (c === undefined || c.segments.length === 0) return undefined;
    const dir = sending ?? (c.bytesIn > c.bytesOut ? 'in' : 'out');
    return buildSeries(id, c, dir, (t) => this.seconds(t));
  }

  private seconds(t: number): number {
    return (t - (this.origin ?? 0)) / 1000;
  }

  private conn(id: string, name?: () => string): ConnRecords {
    let c = this.conns.get(id);
    if (c === undefined) {
      c = { name: id, segments: [], samples: [], resets: [], ca: [], bytesOut: 0, bytesIn: 0 };
      this.conns.set(id, c);
    }
    if (name !== undefined && c.name === id) c.name = name();
    return c;
  }

  private nameOf(e: TcpSegmentEvent): string {
    return e.local6 === undefined
      ? `${formatIpv4(e.local)}:${e.localPort}>${formatIpv4(e.remote)}:${e.remotePort}`
      : `[${e.local6}]:${e.localPort}>[${e.remote6 ?? '?'}]:${e.remotePort}`;
  }
}

/**
 * Appends, keeping at most `max` (and at least the latest `max`): the
 * oldest quarter goes in one cut once the list is a quarter over, so a
 * full list costs O(1) per record, not a shift of the whole list each time.
 */
function keep<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max + Math.max(1, max >> 2)) list.splice(0, list.length - max);
}

function buildSeries(id: string, c: ConnRecords, sending: 'out' | 'in', seconds: (t: number) => number): ConnectionSeries {
  const data = c.segments.filter((s) => s.dir === sending);
  const back = c.segments.filter((s) => s.dir !== sending);
  // The sender's ISN: its SYN's sequence number, else (joined late) the first sequence number seen less one.
  const syn = data.find((s) => s.flags & TCP_SYN);
  const firstAck = back.find((s) => s.flags & TCP_ACK && !(s.flags & TCP_RST));
  const isn = syn?.seq ?? (firstAck ? (firstAck.ack - 1) >>> 0 : data.length > 0 ? (data[0]!.seq - 1) >>> 0 : 0);
  const rel = (seq: number): number => ((seq - isn) >>> 0) | 0;
  // The receiver's window scale, from its SYN (the window of a SYN is never scaled).
  const receiverSyn = back.find((s) => s.flags & TCP_SYN);
  const senderSyn = syn;
  const scale = receiverSyn && senderSyn && /wscale/.test(senderSyn.options) ? wscaleOf(receiverSyn.options) : 0;

  const bars: SegmentBar[] = [];
  const resets: ResetMark[] = [];
  const notes: NoteMark[] = [];
  for (const s of data) {
    const span = s.len + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0);
    if (span > 0 && !(s.flags & TCP_RST)) bars.push({ t: seconds(s.t), start: rel(s.seq), end: rel(s.seq) + span, kind: s.rtx ?? 'new' });
    if (s.note !== undefined) notes.push({ t: seconds(s.t), seq: rel(s.seq), note: s.note });
  }
  const acks: AckStep[] = [];
  const sacks: SackBlock[] = [];
  for (const s of back) {
    if (s.note !== undefined) notes.push({ t: seconds(s.t), seq: rel(s.ack), note: s.note });
    if (!(s.flags & TCP_ACK) || s.flags & TCP_RST) continue;
    const win = s.flags & TCP_SYN ? s.win : s.win * 2 ** scale;
    acks.push({ t: seconds(s.t), ack: rel(s.ack), window: rel(s.ack) + win });
    if (s.sack !== undefined) for (let i = 0; i + 1 < s.sack.length; i += 2) sacks.push({ t: seconds(s.t), left: rel(s.sack[i]!), right: rel(s.sack[i + 1]!) });
  }
  // RSTs: the wire's (either end), with the reason the trace gave ours.
  const ours = [...c.resets];
  for (const s of c.segments) {
    if (!(s.flags & TCP_RST)) continue;
    const by = s.dir === sending ? 'sender' : 'receiver';
    let reason = '';
    if (s.dir === 'out') {
      const i = ours.findIndex((r) => r.t === s.t);
      if (i >= 0) {
        reason = `${ours[i]!.path}, ${ours[i]!.reason}`;
        ours.splice(i, 1);
      }
    }
    resets.push({ t: seconds(s.t), seq: rel(by === 'sender' ? s.seq : s.ack), by, reason });
  }
  const samples: SampleRow[] =
    sending === 'out'
      ? c.samples.map((x) => ({ t: seconds(x.t), cwnd: x.cwnd, ssthresh: x.ssthresh >= NOT_SET ? undefined : x.ssthresh, inflight: x.inflight, srtt: x.srtt, rto: x.rto, rtt: x.rtt, ca: x.ca }))
      : [];
  const caSpans: CaSpan[] = [];
  if (sending === 'out') {
    let open: { t: number; ca: string } | undefined;
    const end = c.segments.at(-1)!.t;
    for (const x of c.ca) {
      if (open !== undefined) caSpans.push({ from: seconds(open.t), to: seconds(x.t), ca: open.ca });
      open = x.to === 'open' || x.to === 'disorder' ? undefined : { t: x.t, ca: x.to };
    }
    if (open !== undefined) caSpans.push({ from: seconds(open.t), to: seconds(Math.max(end, open.t)), ca: open.ca });
  }
  // Records come in time order.
  return { id, name: c.name, sending, bars, acks, sacks, resets, notes, samples, caSpans, start: seconds(c.segments[0]!.t), end: seconds(c.segments.at(-1)!.t) };
}
