/**
 * Two links joined back to back in memory: what one end sends, the other end
 * receives. Delivery is queued and happens in `deliver()`, never inside
 * `send()`, so a stack answering a batch cannot re-enter the stack that sent
 * it; tests (and the virtual-time simulator) decide when packets move.
 */
import type { BatchHandler, Link } from '../stack/link.ts';

export class MemoryLink implements Link {
  peer: MemoryLink | undefined;
  private handler: BatchHandler | undefined;
  private readonly inbox: Uint8Array[] = [];
  private closed = false;
  /** Everything this end has sent, in order, when recording is on (tests read it). */
  readonly sent: Uint8Array[] = [];

  constructor(
    readonly mtu = 1500,
    private readonly record = false,
  ) {}

  send(packets: readonly Uint8Array[]): void {
    if (this.closed) return;
    for (const p of packets) {
      if (this.record) this.sent.push(p);
      if (p.length > this.mtu) continue; // a real link drops what exceeds its MTU
      this.peer?.inbox.push(p);
    }
  }

  onReceive(handler: BatchHandler): void {
    this.handler = handler;
  }

  /** Packets waiting to be delivered to this end. */
  get pending(): number {
    return this.inbox.length;
  }

  /** Delivers everything waiting as one batch; returns how many packets moved. */
  deliver(): number {
    if (this.inbox.length === 0 || this.handler === undefined || this.closed) return 0;
    const batch = this.inbox.splice(0, this.inbox.length);
    this.handler(batch);
    return batch.length;
  }

  close(): void {
    this.closed = true;
    this.inbox.length = 0;
  }
}

export function memoryLinkPair(mtu = 1500, record = false): [MemoryLink, MemoryLink] {
  const a = new MemoryLink(mtu, record);
  const b = new MemoryLink(mtu, record);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** Moves packets both ways until both ends are quiet (bounded, to catch ping-pong loops). */
export function deliverUntilQuiet(a: MemoryLink, b: MemoryLink, maxRounds = 10_000): number {
  let moved = 0;
  for (let round = 0; round < maxRounds; round++) {
    const n = a.deliver() + b.deliver();
    if (n === 0) return moved;
    moved += n;
  }
  throw new Error(`links still busy after ${maxRounds} rounds`);
}
