/**
 * A pcapng capture of our stack in virtual time, with what really happened
 * recorded beside it for the tests to check the capture against:
 *
 *   stack S ─ StackView ─ capture.stackSide ─ [ImpairedLink] ─ capture.wire ─ KernelView ─ MemoryLink ═ MemoryLink ─ stack K ("the kernel")
 *
 * StackView logs what S handed its link and what it was given, KernelView
 * what reached the kernel's side and what the kernel sent; both number
 * every event from one counter, so the order the capture must follow is
 * known. K is another of our stacks standing in for the kernel. With
 * `offload`, S sends super-segments, which KernelView logs whole and cuts
 * as the kernel's GSO would before K gets them.
 */
import { VirtualClock } from '../../stack/clock.ts';
import { TX_GSO_SIZE_MASK, type BatchHandler, type Link } from '../../stack/link.ts';
import { SeededRandom } from '../../stack/random.ts';
import { Stack } from '../../stack/stack.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { ImpairedLink } from '../../tun/impair/impaired-link.ts';
import { Impairment, type ImpairConfig } from '../../tun/impair/impairment.ts';
import { memoryLinkPair, type MemoryLink } from '../../tun/memory-link.ts';
import { PcapngCapture } from '../../tun/pcapng-capture.ts';
import { TraceHub } from '../../tun/trace-hub.ts';
import { cutSuperSegment } from '../helpers/gso.ts';

export const ADDR_S = parseIpv4('198.18.0.2')!;
export const ADDR_K = parseIpv4('198.18.0.1')!;
export const T0_MICROS = 1_700_000_000_000_000;

export interface WireEvent {
  /** Global order of events across both views. */
  n: number;
  /** Virtual ms. */
  t: number;
  packet: Uint8Array;
}

class Counter {
  n = 0;
}

/** What the kernel's side of the device saw: sent = reached the kernel, received = the kernel sent it. */
class KernelView implements Link {
  readonly sent: WireEvent[] = [];
  readonly received: WireEvent[] = [];
  /** Outgoing packets the "network" beyond the device loses (after the kernel got them). */
  lose: ((packet: Uint8Array) => boolean) | undefined;

  constructor(
    private readonly inner: MemoryLink,
    private readonly clock: VirtualClock,
    private readonly counter: Counter,
    readonly offload: boolean,
  ) {}

  get mtu(): number {
    return this.inner.mtu;
  }

  send(packets: readonly Uint8Array[], txMeta?: Uint32Array): void {
    const out: Uint8Array[] = [];
    packets.forEach((p, i) => {
      this.sent.push({ n: ++this.counter.n, t: this.clock.now(), packet: p });
      if (this.lose?.(p) === true) return;
      const gso = (txMeta?.[i] ?? 0) & TX_GSO_SIZE_MASK;
      out.push(...(gso === 0 ? [p] : cutSuperSegment(p, gso)));
    });
    this.inner.send(out);
  }

  onReceive(handler: BatchHandler): void {
    this.inner.onReceive((batch, backlogged) => {
      for (const p of batch) this.received.push({ n: ++this.counter.n, t: this.clock.now(), packet: p });
      handler(batch, backlogged);
    });
  }

  close(): void {
    this.inner.close();
  }
}

/** What the stack handed its link and what it was given. */
class StackView implements Link {
  readonly handed: WireEvent[] = [];
  readonly given: WireEvent[] = [];

  constructor(
    private readonly inner: Link,
    private readonly clock: VirtualClock,
    private readonly counter: Counter,
  ) {}

  get mtu(): number {
    return this.inner.mtu;
  }

  get offload(): boolean {
    return this.inner.offload === true;
  }

  send(packets: readonly Uint8Array[], txMeta?: Uint32Array): void {
    for (const p of packets) this.handed.push({ n: ++this.counter.n, t: this.clock.now(), packet: p });
    this.inner.send(packets, txMeta);
  }

  onReceive(handler: BatchHandler): void {
    this.inner.onReceive((batch, backlogged, rxMeta) => {
      for (const p of batch) this.given.push({ n: ++this.counter.n, t: this.clock.now(), packet: p });
      handler(batch, backlogged, rxMeta);
    });
  }

  close(): void {
    this.inner.close();
  }
}

export class CaptureWorld {
  readonly clock = new VirtualClock(0);
  readonly s: Stack;
  readonly k: Stack;
  readonly capture: PcapngCapture;
  readonly kernel: KernelView;
  readonly stack: StackView;
  readonly impaired: ImpairedLink | undefined;
  /** S's trace, from a listener of its own beside the capture's. */
  readonly trace: TraceEvent[] = [];
  private readonly sLink: MemoryLink;
  private readonly kLink: MemoryLink;

  constructor(path: string, options: { impair?: ImpairConfig; offload?: boolean; seed?: number } = {}) {
    const counter = new Counter();
    [this.sLink, this.kLink] = memoryLinkPair(1500);
    this.capture = new PcapngCapture(path, { interfaceName: 'tcp0', micros: () => T0_MICROS + Math.round(this.clock.now() * 1000) });
    this.kernel = new KernelView(this.sLink, this.clock, counter, options.offload === true);
    let link: Link = this.capture.wire(this.kernel);
    if (options.impair !== undefined) {
      const impairment = new Impairment(options.impair, this.clock);
      this.capture.watch(impairment);
      link = this.impaired = new ImpairedLink(link, impairment);
    }
    this.stack = new StackView(this.capture.stackSide(link), this.clock, counter);
    const seed = options.seed ?? 1;
    this.s = new Stack({ address: ADDR_S, clock: this.clock, random: new SeededRandom(seed), link: this.stack, offload: options.offload === true });
    this.capture.attach(this.s);
    TraceHub.of(this.s).attach((e) => this.trace.push(e));
    this.stack.onReceive((batch) => this.s.inputBatch(batch));
    this.k = new Stack({ address: ADDR_K, clock: this.clock, random: new SeededRandom(seed + 1000), link: this.kLink });
    this.kLink.onReceive((batch) => this.k.inputBatch(batch));
  }

  /** Moves packets until nothing moves (no time passes). */
  settle(maxRounds = 100_000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.s.flush();
      this.k.flush();
      const moved = (this.impaired?.runTimers() ?? 0) + this.sLink.deliver() + this.kLink.deliver();
      if (moved === 0 && this.sLink.pending === 0 && this.kLink.pending === 0) return;
    }
    throw new Error('wire never settled');
  }

  /** Runs until `done()` or virtual time `until`, jumping from deadline to deadline; `done` may act (write, close). */
  run(until: number, done: () => boolean = () => false, maxSteps = 1_000_000): void {
    for (let step = 0; step < maxSteps; step++) {
      this.settle();
      if (done()) return;
      // What done() did (a write) is sent before the clock moves on.
      this.settle();
      const next = Math.min(this.s.nextDeadline(), this.k.nextDeadline(), this.impaired?.nextDeadline() ?? Infinity);
      if (next > until) {
        this.clock.set(Math.max(this.clock.now(), until));
        return;
      }
      this.clock.set(Math.max(this.clock.now(), next));
      this.s.runTimers();
      this.k.runTimers();
    }
    throw new Error('run: too many steps');
  }

  /** Closes the chain, which writes what the capture still holds. */
  close(): void {
    this.stack.close();
  }
}
