/**
 * Two of our stacks joined by an in-memory wire, in virtual time: packets
 * move in rounds; when nothing moves, the clock jumps to the next timer.
 * Deterministic: same seeds, same run.
 */
import { VirtualClock } from '../../stack/clock.ts';
import { SeededRandom } from '../../stack/random.ts';
import { Stack, type StackOptions } from '../../stack/stack.ts';
import { TX_CSUM_PARTIAL, TX_GSO_SIZE_MASK, type Link, type PacketSink } from '../../stack/link.ts';
import { completeIpv4TcpChecksum, completeIpv6TcpChecksum } from '../../stack/wire/tcp.ts';
import { formatIpv4, parseIpv4 } from '../../stack/wire/addr.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { memoryLinkPair, type MemoryLink } from '../../tun/memory-link.ts';
import { ImpairedLink } from '../../tun/impair/impaired-link.ts';
import { Impairment, type ImpairConfig } from '../../tun/impair/impairment.ts';
import { cutSuperSegment } from './gso.ts';

export const ADDR_A = parseIpv4('198.18.0.1')!;
export const ADDR_B = parseIpv4('198.18.0.2')!;

/** A wire decorator hook: lets tests drop, delay or rewrite packets in flight (test/tcp/lossy-wire.test.ts builds its lossy wire on it). */
export type WireFilter = (packet: Uint8Array, from: 'a' | 'b', now: number) => Uint8Array[] | undefined;

class FilteredSink implements PacketSink {
  constructor(
    private readonly link: Link,
    private readonly from: 'a' | 'b',
    private readonly world: World,
    /** Copy every packet before send() returns, as a TUN write does (PacketSink.copiesOnSend). */
    readonly copiesOnSend = false,
    /** Complete TX_CSUM_PARTIAL checksums before anything sees the packet, as a TUN device does (PacketSink.completesChecksums). */
    readonly completesChecksums = false,
  ) {}
  /** Super-segments (a stack made with `offload`) are cut as the kernel's GSO would (helpers/gso.ts) before anything sees them. */
  send(packets: readonly Uint8Array[], txMeta?: Uint32Array): void {
    if (!this.copiesOnSend) return this.forward(packets, txMeta);
    for (const packet of packets) this.world.handedOver.push({ from: this.from, packet });
    this.forward(
      packets.map((p) => p.slice()),
      txMeta,
    );
  }

  private forward(packets: readonly Uint8Array[], txMeta?: Uint32Array): void {
    const out: Uint8Array[] = [];
    for (const [i, p] of packets.entries()) {
      const meta = txMeta?.[i] ?? 0;
      const gsoSize = meta & TX_GSO_SIZE_MASK;
      if ((meta & TX_CSUM_PARTIAL) !== 0) {
        if (!this.completesChecksums) throw new Error('a partial checksum for a link that does not complete them');
        this.world.partialChecksums++;
        if (p[0]! >> 4 === 6) completeIpv6TcpChecksum(p);
        else completeIpv4TcpChecksum(p);
      }
      if (gsoSize !== 0) {
        this.world.superSegments.push({ from: this.from, gsoSize, packet: p });
        this.forward(cutSuperSegment(p, gsoSize));
        continue;
      }
      this.world.log.push({ t: this.world.clock.now(), from: this.from, packet: p });
      const filtered = this.world.filter ? this.world.filter(p, this.from, this.world.clock.now()) : [p];
      if (filtered) out.push(...filtered);
    }
    this.link.send(out);
  }
}

export class World {
  readonly clock = new VirtualClock(0);
  readonly a: Stack;
  readonly b: Stack;
  private readonly linkA: MemoryLink;
  private readonly linkB: MemoryLink;
  filter: WireFilter | undefined;
  readonly log: Array<{ t: number; from: 'a' | 'b'; packet: Uint8Array }> = [];
  /** With `completeChecksums`: how many packets the links completed the checksum of (TX_CSUM_PARTIAL). */
  partialChecksums = 0;
  /** With `copyOnSend`: every packet as the stack handed it over, before the link's copy (the memory it was built in). */
  readonly handedOver: Array<{ from: 'a' | 'b'; packet: Uint8Array }> = [];
  /** The super-segments a stack with `offload` handed its link, before they were cut. */
  readonly superSegments: Array<{ from: 'a' | 'b'; gsoSize: number; packet: Uint8Array }> = [];
  /**
   * The impairments (tun/impair/) on stack A's and B's end of the wire, when
   * the options ask for them: "out" is what that stack sends, "in" what it
   * receives. They sit between the stack and the wire, so `log` and `filter`
   * see packets as the stacks sent them.
   */
  readonly impairA: ImpairedLink | undefined;
  readonly impairB: ImpairedLink | undefined;

  constructor(
    options: {
      a?: Partial<StackOptions>;
      b?: Partial<StackOptions>;
      seed?: number;
      mtu?: number;
      impair?: { a?: ImpairConfig; b?: ImpairConfig };
      /** Both links copy each packet on send, as a TUN device does: the stacks then reuse their transmit memory. */
      copyOnSend?: boolean;
      /** Both links complete TCP checksums, as a TUN device does: the stacks then leave them partial (TX_CSUM_PARTIAL). */
      completeChecksums?: boolean;
    } = {},
  ) {
    const seed = options.seed ?? 1;
    [this.linkA, this.linkB] = memoryLinkPair(options.mtu ?? 1500);
    const endA: Link = options.impair?.a ? (this.impairA = new ImpairedLink(this.linkA, new Impairment(options.impair.a, this.clock))) : this.linkA;
    const endB: Link = options.impair?.b ? (this.impairB = new ImpairedLink(this.linkB, new Impairment(options.impair.b, this.clock))) : this.linkB;
    this.a = new Stack({ address: ADDR_A, clock: this.clock, random: new SeededRandom(seed), link: new FilteredSink(endA, 'a', this, options.copyOnSend, options.completeChecksums), mtu: options.mtu, ...options.a });
    this.b = new Stack({ address: ADDR_B, clock: this.clock, random: new SeededRandom(seed + 1000), link: new FilteredSink(endB, 'b', this, options.copyOnSend, options.completeChecksums), mtu: options.mtu, ...options.b });
    endA.onReceive((batch) => this.a.inputBatch(batch));
    endB.onReceive((batch) => this.b.inputBatch(batch));
  }

  /** Flushes application work and moves packets until the wire is quiet (no time passes). */
  settle(maxRounds = 100_000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.a.flush();
      this.b.flush();
      // Packets an impairment holds until later do not count; those due now (an injection) do.
      const released = (this.impairA?.runTimers() ?? 0) + (this.impairB?.runTimers() ?? 0);
      const moved = this.linkA.deliver() + this.linkB.deliver() + released;
      if (moved === 0 && this.linkA.pending === 0 && this.linkB.pending === 0) return;
    }
    throw new Error('wire never settled');
  }

  /** Runs until `done()` or virtual time `until`, jumping between timer deadlines. */
  run(until: number, done: () => boolean = () => false, maxSteps = 10_000_000): void {
    for (let step = 0; step < maxSteps; step++) {
      this.settle();
      if (done()) return;
      const next = Math.min(
        this.a.nextDeadline(),
        this.b.nextDeadline(),
        this.impairA?.nextDeadline() ?? Infinity,
        this.impairB?.nextDeadline() ?? Infinity,
        ...this.pendingDelays(),
      );
      if (next > until) {
        this.clock.set(Math.max(this.clock.now(), until));
        return;
      }
      this.clock.set(Math.max(this.clock.now(), next));
      this.a.runTimers();
      this.b.runTimers();
      this.releaseDelayed();
    }
    throw new Error('run: too many steps');
  }

  /** Packets held by a delaying filter: [deliverAt, from, packet]. */
  readonly delayed: Array<{ at: number; from: 'a' | 'b'; packet: Uint8Array }> = [];

  private pendingDelays(): number[] {
    return this.delayed.length ? [Math.min(...this.delayed.map((d) => d.at))] : [];
  }

  private releaseDelayed(): void {
    const now = this.clock.now();
    const due = this.delayed.filter((d) => d.at <= now);
    if (due.length === 0) return;
    this.delayed.splice(0, this.delayed.length, ...this.delayed.filter((d) => d.at > now));
    for (const d of due) (d.from === 'a' ? this.linkA : this.linkB).send([d.packet]);
  }
}

/**
 * A connection from A to `server` (B unless told) on port 5001 at `dst`:
 * listens, connects, runs until the listener accepts (1 virtual second at
 * most). Throws when nothing was accepted.
 */
export function connected(w: World, dst = ADDR_B, server: Stack = w.b): { client: Endpoint; server: Endpoint } {
  const listener = server.tcp.socket();
  listener.bind(0, 5001);
  listener.listen(8);
  const client = w.a.tcp.socket();
  client.connect(formatIpv4(dst), 5001);
  let accepted: Endpoint | null = null;
  w.run(1000, () => (accepted ??= listener.accept()) !== null);
  if (accepted === null) throw new Error('no connection accepted');
  return { client, server: accepted };
}

/**
 * Writes `data` from `client` as fast as the window takes it while `server`
 * reads everything, for up to 60 virtual seconds from now; returns what was
 * read.
 */
export function transferAll(w: World, client: Endpoint, server: Endpoint, data: Uint8Array): Buffer {
  const got: Uint8Array[] = [];
  let received = 0;
  let sent = 0;
  w.run(w.clock.now() + 60_000, () => {
    if (sent < data.length) sent += client.write(data.subarray(sent));
    for (let chunk = server.read(); chunk !== null && chunk.length > 0; chunk = server.read()) {
      got.push(chunk);
      received += chunk.length;
    }
    return received >= data.length;
  });
  return Buffer.concat(got);
}
