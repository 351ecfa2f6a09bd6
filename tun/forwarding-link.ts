/**
 * The base of a link decorator (a capture tap): the inner link's MTU,
 * offload and copy-on-send answers passed through, so a tap changes only
 * what it sends and receives. A tap copies what it records before send()
 * returns, so the inner link's copiesOnSend answer stays true of the pair.
 */
import type { BatchHandler, Link } from '../stack/link.ts';

export abstract class ForwardingLink implements Link {
  constructor(protected readonly inner: Link) {}

  get mtu(): number {
    return this.inner.mtu;
  }

  /** Super-segments pass through and are recorded whole, as tcpdump on the device shows them. */
  get offload(): boolean {
    return this.inner.offload === true;
  }

  get copiesOnSend(): boolean {
    return this.inner.copiesOnSend === true;
  }

  abstract send(packets: readonly Uint8Array[], txMeta?: Uint32Array): void;
  abstract onReceive(handler: BatchHandler): void;
  abstract close(): void;
}
