/**
 * A pcapng capture of the wire as the kernel sees it, each packet commented
 * with what happened to it (docs/captures.md). Two taps and an observer:
 *
 *   Stack
 *     └ stackSide(link)   pairs the stack's trace with the packets it sends
 *                         (a RST's reset path and reason, a retransmission's
 *                         mechanism) and receives (the reason it dropped one)
 *       └ ImpairedLink    its verdicts come in through `observe`
 *         └ wire(link)    records each packet as it crosses the device
 *           └ TUN device (the kernel)
 *
 * Outbound (epb_flags 10, from the stack) is recorded when it reaches the
 * kernel: after the impairment, so a delayed packet appears when it was
 * finally written; one the impairment dropped appears when the stack sent
 * it, commented "not delivered to the kernel". Inbound (01, toward the
 * stack) is recorded when the kernel sent it: before the impairment, so a
 * packet it dropped or delayed appears with what it did; a segment a rule
 * injected toward the stack never came from the kernel and appears when it
 * reached the stack.
 *
 * An incoming packet's comment is complete only once the stack has had it
 * (it may drop it), which a delay puts off: records are written in the order
 * they were made, each once its packet has nothing more to tell, so the file
 * stays in time order and a packet held by the impairment holds the records
 * behind it in memory until then.
 *
 * Pairing: the stack traces an outgoing segment (tcp-seg, then tcp-rst for a
 * RST) while building it, before the flush hands it to the link; the stack
 * side matches the segments of each send() by ports, sequence number and
 * flags, in trace order where several share them (a super-segment is one
 * packet and one trace record). A drop from
 * the link carries `rx`, Stack.packetsFromLink for its packet; the stack
 * side counts the packets it hands the stack the same way.
 */
import type { BatchHandler, Link } from '../stack/link.ts';
import type { TraceEvent } from '../stack/trace.ts';
import { copyNotes, impairDropNote, injectNote, retransmissionNote, rstNote, stackDropNote } from './capture-notes.ts';
import type { Impairment } from './impair/impairment.ts';
import { viewPacket } from './impair/packet.ts';
import type { ImpairVerdict } from './impair/verdict.ts';
import { wallClockMicros, type MicrosecondClock } from './pcap.ts';
import { EPB_INBOUND, EPB_OUTBOUND, PcapngWriter } from './pcapng.ts';
import { TraceHub, type TraceHost } from './trace-hub.ts';
import { ForwardingLink } from './forwarding-link.ts';

interface CaptureRecord {
  micros: number;
  flags: number;
  /** The packet's bytes, copied when it was recorded. */
  data: Buffer;
  /** Notes per copy: [0] the packet itself, [k] its k-th duplicate (an incoming packet's). */
  groups: string[][];
  /** What it still waits for: copies the impairment holds or the stack has not had, and the tap's own hold while handling it. */
  pending: number;
  /** An outgoing packet's place in the batch the stack handed over (see stackSent). */
  order?: number;
  /** Dropped on the way out: stamped when the stack sent it. */
  lost?: boolean;
}

/** Where a packet handed to the stack came from: a record, and which copy of it. */
interface Target {
  record: CaptureRecord;
  group: number;
  /** Counted in the record's pending (a copy the impairment queued, an injection). */
  queued: boolean;
}

const segmentKey = (sport: number, dport: number, seq: number, flags: number): string => `${sport} ${dport} ${seq >>> 0} ${flags}`;

/** Appends to a FIFO kept per packet object (a duplicate is the same object queued twice). */
function pushTo<V>(map: WeakMap<Uint8Array, V[]>, key: Uint8Array, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function shiftFrom<V>(map: WeakMap<Uint8Array, V[]>, key: Uint8Array): V | undefined {
  const list = map.get(key);
  if (list === undefined) return undefined;
  const v = list.shift();
  if (list.length === 0) map.delete(key);
  return v;
}

export interface PcapngCaptureOptions {
  /** if_name of the interface (the TUN device's name). */
  interfaceName?: string;
  /** Timestamps: wall-clock microseconds by default; a virtual clock's in simulations. */
  micros?: MicrosecondClock;
}

export class PcapngCapture {
  private readonly writer: PcapngWriter;
  private readonly micros: MicrosecondClock;
  private readonly records: CaptureRecord[] = [];
  private head = 0;
  private closed = false;
  private impaired = false;
  private detachTrace: (() => void) | undefined;

  /** Incoming packets as the kernel sent them → their record (with an impairment, which sees them next). */
  private readonly arrivals = new WeakMap<Uint8Array, CaptureRecord>();
  /** What the stack will be handed → where it came from. */
  private readonly toStack = new WeakMap<Uint8Array, Target[]>();
  /** Segments a rule injected toward the stack → the rule. */
  private readonly injectedIn = new WeakMap<Uint8Array, number>();
  /** Outgoing packets during the stack side's send() → the trace's notes on them. */
  private readonly traceNotes = new WeakMap<Uint8Array, string[]>();
  /** Outgoing copies the impairment queued → their notes, one list per copy. */
  private readonly wireNotes = new WeakMap<Uint8Array, string[][]>();
  /**
   * Segments traced and not yet handed to the link, by segmentKey, each with
   * the trace's notes on it, in order: a flush may hold several with the
   * same key (a segment retransmitted again, RACK marking it lost anew).
   */
  private readonly pendingOut = new Map<string, string[][]>();
  /** How many of those have notes: none, and send() has nothing to look up. */
  private pendingNotes = 0;
  /** stackSend gave some packet trace notes (stackSent removes them). */
  private noted = false;

  /**
   * While the stack side's send() runs through an impairment: each packet's
   * place in the batch (copies and injections after what they came from),
   * and where the records made meanwhile start.
   */
  private sendOrder: Map<Uint8Array, number> | undefined;
  private sendStart = 0;

  /** The batch the stack is being handed, and the packetsFromLink count before it. */
  private batch: Array<Target | undefined> = [];
  private batchBase = 0;
  private rx = 0;

  constructor(
    path: string,
    options: PcapngCaptureOptions = {},
  ) {
    this.micros = options.micros ?? wallClockMicros;
    this.writer = new PcapngWriter(path, options.interfaceName === undefined ? {} : { name: options.interfaceName });
  }

  get path(): string {
    return this.writer.path;
  }

  /** Packets written so far. */
  get packets(): number {
    return this.writer.packets;
  }

  /** The tap at the device: put it below the impairment, if any. */
  wire(inner: Link): Link {
    return new WireTap(inner, this);
  }

  /** The tap at the stack: put it right under the stack. */
  stackSide(inner: Link): Link {
    return new StackSideTap(inner, this);
  }

  /** Hears the impairment's verdicts (which sits between the two taps). */
  watch(impairment: Impairment): void {
    this.impaired = true;
    impairment.observer = this.observe;
  }

  /** Listens to the stack's trace (beside any other listener) for the comments it gives. */
  attach(stack: TraceHost & { readonly packetsFromLink: number }): void {
    this.detachTrace?.();
    this.rx = stack.packetsFromLink;
    this.detachTrace = TraceHub.of(stack).attach(this.onTrace);
  }

  /** Writes every record left (a packet the impairment still held is said never to have arrived) and closes the file; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detachTrace?.();
    this.detachTrace = undefined;
    for (let i = this.head; i < this.records.length; i++) {
      const r = this.records[i]!;
      if (r.pending > 0) r.groups[0]!.push('still held by the impairment when the capture closed, not delivered to the stack');
      this.write(r);
    }
    this.records.length = 0;
    this.head = 0;
    this.writer.close();
  }

  private readonly onTrace = (e: TraceEvent): void => {
    switch (e.kind) {
      case 'tcp-seg':
        if (e.dir === 'out') this.traced(segmentKey(e.localPort, e.remotePort, e.seq, e.flags), e.rtx === undefined ? undefined : retransmissionNote(e.rtx));
        break;
      case 'tcp-rst':
        // Traced right after the tcp-seg of its RST.
        this.noteLast(segmentKey(e.local, e.remote, e.seq, e.flags), rstNote(e));
        break;
      case 'drop': {
        if (e.rx === undefined) break;
        const target = this.batch[e.rx - this.batchBase - 1];
        if (target !== undefined) target.record.groups[target.group]!.push(stackDropNote(e.reason, e.detail));
        break;
      }
      default:
        break;
    }
  };

  /** An outgoing segment traced, with a note or none. */
  private traced(key: string, note: string | undefined): void {
    const notes = note === undefined ? [] : [note];
    if (note !== undefined) this.pendingNotes++;
    const list = this.pendingOut.get(key);
    if (list === undefined) this.pendingOut.set(key, [notes]);
    else list.push(notes);
  }

  /** A note on the segment with this key traced last. */
  private noteLast(key: string, note: string): void {
    const notes = this.pendingOut.get(key)?.at(-1);
    if (notes === undefined) return;
    if (notes.length === 0) this.pendingNotes++;
    notes.push(note);
  }

  private readonly observe = (v: ImpairVerdict): void => {
    if (this.closed) return;
    if (v.dir === 'out') this.observeOut(v);
    else this.observeIn(v);
  };

  private observeOut(v: ImpairVerdict): void {
    const trace = v.kind === 'inject' ? [] : (this.traceNotes.get(v.packet) ?? []);
    switch (v.kind) {
      case 'drop': {
        // Never reaches the wire tap: recorded now, when the stack sent it.
        const notes = [...trace, ...(v.copy === undefined ? [] : copyNotes(v.copy, 0, false)), impairDropNote('out', v.cause, v.rule)];
        const record = this.add(EPB_OUTBOUND, v.copy?.bytes ?? v.packet, notes, 0, this.sendOrder?.get(v.packet));
        record.lost = true;
        break;
      }
      case 'queue': {
        // Every queued copy gets its list, empty or not, so the wire tap takes the right one.
        pushTo(this.wireNotes, v.copy.bytes, [...trace, ...copyNotes(v.copy, v.heldMs, v.reordered)]);
        const order = this.sendOrder?.get(v.packet);
        if (order !== undefined && !this.sendOrder!.has(v.copy.bytes)) this.sendOrder!.set(v.copy.bytes, order);
        break;
      }
      case 'inject': {
        pushTo(this.wireNotes, v.packet, [injectNote(v.rule)]);
        const order = this.sendOrder?.get(v.trigger);
        if (order !== undefined) this.sendOrder!.set(v.packet, order + 0.5);
        break;
      }
    }
  }

  private observeIn(v: ImpairVerdict): void {
    if (v.kind === 'inject') {
      this.injectedIn.set(v.packet, v.rule);
      return;
    }
    const record = this.arrivals.get(v.packet);
    if (record === undefined) return;
    const group = v.copy?.index ?? 0;
    while (record.groups.length <= group) record.groups.push([]);
    const notes = record.groups[group]!;
    if (v.kind === 'drop') {
      if (v.copy !== undefined) notes.push(...copyNotes(v.copy, 0, false));
      notes.push(impairDropNote('in', v.cause, v.rule));
      return;
    }
    notes.push(...copyNotes(v.copy, v.heldMs, v.reordered));
    record.pending++;
    pushTo(this.toStack, v.copy.bytes, { record, group, queued: true });
  }

  /** A new record, in time order; `pending` holds it back until released. */
  private add(flags: number, packet: Uint8Array, notes: string[], pending: number, order?: number): CaptureRecord {
    const record: CaptureRecord = { micros: this.micros(), flags, data: Buffer.from(packet), groups: [notes], pending };
    if (order !== undefined) record.order = order;
    this.records.push(record);
    return record;
  }

  // --- the wire tap's side ---

  /** Outgoing packets reaching the device. */
  wireSend(packets: readonly Uint8Array[]): void {
    if (this.closed) return;
    for (const p of packets) {
      const notes = shiftFrom(this.wireNotes, p) ?? this.traceNotes.get(p) ?? [];
      this.add(EPB_OUTBOUND, p, [...notes], 0, this.sendOrder?.get(p));
    }
  }

  /** Incoming packets from the device, held (pending 1) until wireDone. */
  wireReceive(batch: readonly Uint8Array[]): CaptureRecord[] {
    if (this.closed) return [];
    return batch.map((p) => {
      const record = this.add(EPB_INBOUND, p, [], 1);
      if (this.impaired) this.arrivals.set(p, record);
      else pushTo(this.toStack, p, { record, group: 0, queued: false });
      return record;
    });
  }

  wireDone(held: readonly CaptureRecord[]): void {
    for (const r of held) r.pending--;
    this.settle();
  }

  // --- the stack side's ---

  /** Before the stack's packets go down: the trace's notes on them, matched by ports, seq and flags. */
  stackSend(packets: readonly Uint8Array[]): void {
    if (this.impaired && !this.closed) {
      this.sendOrder = new Map(packets.map((p, i) => [p, i]));
      this.sendStart = this.records.length;
    }
    if (this.pendingNotes === 0) return;
    for (const p of packets) {
      const v = viewPacket(p);
      if (v.flags < 0 || !v.hasTransport) continue;
      const list = this.pendingOut.get(segmentKey(v.srcPort, v.dstPort, v.seq, v.flags));
      const notes = list?.shift();
      if (notes === undefined || notes.length === 0) continue;
      this.traceNotes.set(p, notes);
      this.noted = true;
    }
  }

  stackSent(packets: readonly Uint8Array[]): void {
    if (this.sendOrder !== undefined) this.keepSendOrder();
    // The stack may build its next flush in the same buffers (Link.copiesOnSend).
    if (this.noted) for (const p of packets) this.traceNotes.delete(p);
    this.noted = false;
    // What was traced but not sent (a segment to our own address) is forgotten.
    this.pendingOut.clear();
    this.pendingNotes = 0;
    this.settle();
  }

  /** A batch about to be handed to the stack: which record each packet belongs to, and their packetsFromLink numbers. */
  stackReceive(batch: readonly Uint8Array[]): void {
    this.batchBase = this.rx;
    this.rx += batch.length;
    this.batch = batch.map((p) => {
      const target = shiftFrom(this.toStack, p);
      if (target !== undefined || this.closed) return target;
      const rule = this.injectedIn.get(p);
      const notes = rule === undefined ? ['not seen at the device'] : [injectNote(rule)];
      return { record: this.add(EPB_INBOUND, p, notes, 1), group: 0, queued: true };
    });
  }

  stackDone(): void {
    for (const t of this.batch) if (t !== undefined && t.queued) t.record.pending--;
    this.batch = [];
    this.settle();
  }

  /**
   * The impairment decides every packet of a batch before it releases any,
   * so the packets it dropped were recorded ahead of the rest of their
   * batch: put the batch's records back in the order the stack sent them
   * (what was released from earlier batches first), a dropped packet
   * stamped no earlier than the record before it (it left with the batch,
   * within microseconds). Wireshark's TCP analysis then reads the sequence
   * numbers as the stack sent them.
   */
  private keepSendOrder(): void {
    this.sendOrder = undefined;
    const made = this.records.slice(this.sendStart);
    if (made.length < 2) return;
    const rank = (r: CaptureRecord): number => r.order ?? -1;
    made.sort((a, b) => rank(a) - rank(b));
    for (let i = 0; i < made.length; i++) {
      const r = made[i]!;
      const before = i > 0 ? made[i - 1] : this.records[this.sendStart - 1];
      if (r.lost === true && before !== undefined && r.micros < before.micros) r.micros = before.micros;
      this.records[this.sendStart + i] = r;
    }
  }

  /** Writes the records at the head that have nothing more to wait for. */
  private settle(): void {
    if (this.closed) return;
    const records = this.records;
    while (this.head < records.length && records[this.head]!.pending <= 0) this.write(records[this.head++]!);
    if (this.head === records.length) {
      records.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > records.length) {
      records.splice(0, this.head);
      this.head = 0;
    }
    this.writer.flush();
  }

  private write(r: CaptureRecord): void {
    // Notes joined by '; ' (a RST's own note has a comma), the copies of an incoming packet by ' | '.
    const comment = r.groups
      .map((g) => g.join('; '))
      .filter((g) => g !== '')
      .join(' | ');
    this.writer.write({ micros: r.micros, data: r.data, flags: r.flags, ...(comment === '' ? {} : { comment }) });
  }
}

/** Records every packet crossing the device, both ways (PcapngCapture.wire). */
class WireTap extends ForwardingLink {
  constructor(
    inner: Link,
    private readonly capture: PcapngCapture,
  ) {
    super(inner);
  }

  send(packets: readonly Uint8Array[], txMeta?: Uint32Array): void {
    this.capture.wireSend(packets);
    this.inner.send(packets, txMeta);
  }

  onReceive(handler: BatchHandler): void {
    this.inner.onReceive((batch, backlogged, rxMeta) => {
      const held = this.capture.wireReceive(batch);
      try {
        handler(batch, backlogged, rxMeta);
      } finally {
        this.capture.wireDone(held);
      }
    });
  }

  close(): void {
    this.inner.close();
    this.capture.close();
  }
}

/** Pairs the stack's trace with what it sends and receives (PcapngCapture.stackSide). */
class StackSideTap extends ForwardingLink {
  constructor(
    inner: Link,
    private readonly capture: PcapngCapture,
  ) {
    super(inner);
  }

  send(packets: readonly Uint8Array[], txMeta?: Uint32Array): void {
    this.capture.stackSend(packets);
    try {
      this.inner.send(packets, txMeta);
    } finally {
      this.capture.stackSent(packets);
    }
  }

  onReceive(handler: BatchHandler): void {
    this.inner.onReceive((batch, backlogged, rxMeta) => {
      this.capture.stackReceive(batch);
      try {
        handler(batch, backlogged, rxMeta);
      } finally {
        this.capture.stackDone();
      }
    });
  }

  close(): void {
    this.inner.close();
    this.capture.close();
  }
}
