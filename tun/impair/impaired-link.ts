/**
 * A link decorator (like PcapTap) that runs every packet through an
 * Impairment: what the stack sends is the "out" direction, what the inner
 * link receives is the "in" direction. Works on any Link: the TUN device, a
 * MemoryLink, a pcap tap.
 *
 * Held packets are released by `runTimers()`, which the host calls at
 * `nextDeadline()`: RealtimeDriver does so when given the link as a deadline
 * source (it sets `onDeadlineChanged` to re-arm its one timer), the
 * virtual-time World of the tests likewise.
 *
 * `send()` never calls the receive handler, even when a rule injects a packet
 * towards the stack: that packet waits for the next `runTimers()` (due at
 * once), so a stack that is flushing is never re-entered.
 *
 * Impairments act on wire-sized packets: losing one super-segment of a link
 * with offloads would lose 45 segments at once, and a kernel-side sender
 * would see nothing a lossy wire does. So the inner link must be one without
 * offloads (`tcpstack up` opens the device plain when impairments are set;
 * docs/offloads.md).
 */
import type { BatchHandler, Link } from '../../stack/link.ts';
import type { DeadlineSource } from '../driver.ts';
import type { Impairment } from './impairment.ts';

export class ImpairedLink implements Link, DeadlineSource {
  private handler: BatchHandler | undefined;
  private closed = false;
  onDeadlineChanged: (() => void) | undefined;

  constructor(
    private readonly inner: Link,
    readonly impairment: Impairment,
  ) {
    if (inner.offload === true) throw new Error('impairments need wire-sized packets: open the link without offload');
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  send(packets: readonly Uint8Array[]): void {
    if (this.closed) return;
    for (const p of packets) this.impairment.push('out', p);
    this.releaseOut();
    this.changed();
  }

  onReceive(handler: BatchHandler): void {
    this.handler = handler;
    // The link's word per packet (rxMeta) is not passed on: a packet this
    // layer corrupts must have its checksum checked by the stack.
    this.inner.onReceive((batch, backlogged) => {
      if (this.closed) return;
      for (const p of batch) this.impairment.push('in', p);
      // What passes at once came when the link says; what is held comes later, not backlogged.
      this.releaseOut();
      this.releaseIn(backlogged);
      this.changed();
    });
  }

  /** Earliest release time of a held packet (clock ms), or Infinity. */
  nextDeadline(): number {
    return this.closed ? Infinity : this.impairment.nextDeadline();
  }

  /** Releases every packet that is due, both directions; returns how many moved. */
  runTimers(): number {
    if (this.closed) return 0;
    return this.releaseOut() + this.releaseIn(undefined);
  }

  private releaseIn(backlogged: boolean | undefined): number {
    if (this.handler === undefined) return 0;
    const due = this.impairment.takeDue('in');
    if (due.length > 0) this.handler(due, backlogged);
    return due.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.impairment.clear();
    this.inner.close();
  }

  private releaseOut(): number {
    const due = this.impairment.takeDue('out');
    if (due.length > 0) this.inner.send(due);
    return due.length;
  }

  private changed(): void {
    this.onDeadlineChanged?.();
  }
}
