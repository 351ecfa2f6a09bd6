/**
 * A `Link` over a Linux TUN device (IFF_TUN | IFF_NO_PI: whole IP packets, no
 * link-layer header), read and written through the native addon in batches.
 */
import { RX_GSO_SIZE_MASK, TX_GSO_SIZE_MASK, type BatchHandler, type Link } from '../stack/link.ts';
import { loadTunAddon, type ErrnoError, type ReaderHandle, type TunAddon } from './native.ts';
import { netnsPath } from './netns.ts';

export interface TunOpenOptions {
  /** Interface name, 1-15 characters. */
  name: string;
  /**
   * 'create': make a new device (gone again after close()); fails if the
   * name is taken. 'attach': join an existing persistent device
   * (`ip tuntap add dev NAME mode tun`), which stays after close().
   */
  mode: 'create' | 'attach';
  /** Named network namespace (`ip netns add`) to create/find the device in. */
  netns?: string;
  /** The link MTU reported to the stack (default 1500). Does not configure
   * the interface: use configureInterface() for that. */
  mtu?: number;
  /**
   * Ask for offloads (IFF_VNET_HDR, TUNSETOFFLOAD with TUN_F_CSUM,
   * TUN_F_TSO4 and TUN_F_TSO6): TCP super-segments both ways, checksums the
   * kernel owes or has checked. Default false. Where the kernel refuses, the
   * device opens without them: `offload` on the device says what was granted.
   */
  offload?: boolean;
}

export interface TunStats {
  /** Packets and bytes read from the device, and read wake-ups that had any. */
  rxPackets: number;
  rxBytes: number;
  rxBatches: number;
  /** Packets and bytes the kernel accepted. */
  txPackets: number;
  txBytes: number;
  /** Packets not delivered: queue full (EAGAIN/ENOBUFS), interface down
   * (EIO), rejected as not IP (EINVAL), or sent after close(). */
  txDropped: number;
  /** With offload: super-segments read (GSO packets the kernel did not cut) and written. */
  rxGsoPackets: number;
  txGsoPackets: number;
}

export type TunErrorHandler = (err: ErrnoError) => void;

export class TunDevice implements Link {
  /** The interface name the kernel gave the device. */
  readonly name: string;
  readonly mode: 'create' | 'attach';
  readonly netns: string | undefined;
  readonly mtu: number;
  /** Offloads granted: packets carry a virtio_net_hdr, super-segments both ways. */
  readonly offload: boolean;
  /** writeBatch is a write(2) per packet, synchronous: the kernel has copied every byte when send() returns (a full queue drops, as a NIC's does). */
  readonly copiesOnSend = true;
  /** TX_CSUM_PARTIAL packets are completed before they leave (send()). */
  readonly completesChecksums = true;
  readonly stats: TunStats = { rxPackets: 0, rxBytes: 0, rxBatches: 0, txPackets: 0, txBytes: 0, txDropped: 0, rxGsoPackets: 0, txGsoPackets: 0 };

  readonly #addon: TunAddon;
  readonly #fd: number;
  #reader: ReaderHandle | undefined;
  #handler: BatchHandler | undefined;
  #errorHandler: TunErrorHandler | undefined;
  #closed = false;

  private constructor(addon: TunAddon, fd: number, name: string, offload: boolean, opts: TunOpenOptions) {
    this.#addon = addon;
    this.#fd = fd;
    this.name = name;
    this.offload = offload;
    this.mode = opts.mode;
    this.netns = opts.netns;
    this.mtu = opts.mtu ?? 1500;
  }

  /**
   * Opens the device. Throws an Error whose `code` is the errno name and whose
   * message names the cause and remedy (EBUSY: name taken or device busy;
   * ENODEV: no persistent device to attach to; EPERM/EACCES: not root; EINVAL:
   * bad name or not a TUN device; ENOENT: no /dev/net/tun or no such netns).
   */
  static open(opts: TunOpenOptions): TunDevice {
    const mtu = opts.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
      throw new RangeError(`invalid MTU ${mtu}: expected an integer from 68 to 65535`);
    }
    const path = opts.netns === undefined ? null : netnsPath(opts.netns);
    const addon = loadTunAddon();
    const { fd, name, offload } = addon.open(opts.name, path, opts.mode === 'attach', opts.offload === true);
    return new TunDevice(addon, fd, name, offload, opts);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes the packets, one system call each. Never throws for a packet the
   * kernel refuses (counted in `stats.txDropped`); throws only if the fd
   * itself is unusable (a bug, e.g. EBADF), or for a GSO size in `txMeta`
   * on a device without offload. Checksums marked TX_CSUM_PARTIAL are
   * completed as the packets are written: by the kernel with offloads (the
   * virtio_net_hdr asks for it), by the addon in C without.
   */
  send(packets: readonly Uint8Array[], txMeta?: Uint32Array): void {
    if (packets.length === 0) return;
    if (this.#closed) {
      this.stats.txDropped += packets.length;
      return;
    }
    if (txMeta !== undefined) {
      for (let i = 0; i < txMeta.length; i++) {
        if ((txMeta[i]! & TX_GSO_SIZE_MASK) === 0) continue;
        if (!this.offload) throw new Error(`TUN device ${this.name} was opened without offload: it takes no super-segments`);
        this.stats.txGsoPackets++;
      }
    }
    let batch = packets;
    let meta = txMeta;
    while (batch.length > 0) {
      try {
        const written = this.#addon.writeBatch(this.#fd, batch, this.offload, meta);
        this.#countWritten(batch, written, batch.length);
        return;
      } catch (e) {
        const err = e as ErrnoError;
        const index = err.index;
        if (index === undefined || (err.code !== 'EINVAL' && err.code !== 'EIO')) throw err;
        this.#countWritten(batch, err.written ?? 0, index);
        if (err.code === 'EIO') {
          // Interface down: every further packet would fail the same way.
          this.stats.txDropped += batch.length - index;
          return;
        }
        // Not an IP packet: drop it alone and carry on with the rest.
        this.stats.txDropped += 1;
        batch = batch.slice(index + 1);
        meta = meta?.subarray(index + 1);
      }
    }
  }

  /** Accounts for `attempted` packets of which `written` went out. Bytes are
   * exact when nothing was dropped; otherwise the drops (rare: a full queue)
   * are taken to be the last packets attempted. */
  #countWritten(batch: readonly Uint8Array[], written: number, attempted: number): void {
    this.stats.txPackets += written;
    this.stats.txDropped += attempted - written;
    for (let i = 0; i < written; i++) this.stats.txBytes += batch[i]!.byteLength;
  }

  /**
   * Installs the receiver (replacing any previous one) and starts reading.
   * Each call of `handler` gets every packet that was ready at one wake-up, as
   * views into one buffer that the handler may keep; once it returns, what
   * came meanwhile follows at once, marked backlogged.
   */
  onReceive(handler: BatchHandler): void {
    if (this.#closed) return;
    this.#handler = handler;
    if (this.#reader !== undefined) return;
    this.#reader = this.#addon.startReading(
      this.#fd,
      (buf, lengths, count, backlogged) => this.#deliver(buf, lengths, count, backlogged),
      (err) => this.#readFailed(err),
      this.offload,
    );
  }

  /**
   * Installs the handler for a read error (e.g. EBADF after the interface
   * was deleted). Reading has stopped when it is called. Without a handler,
   * the error is thrown as an uncaught exception.
   */
  onError(handler: TunErrorHandler): void {
    this.#errorHandler = handler;
  }

  /** Stops reading and closes the fd; a created device disappears with it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Stop watching before closing, so libuv never polls a closed (or reused) fd.
    if (this.#reader !== undefined) this.#addon.stopReading(this.#reader);
    this.#reader = undefined;
    this.#handler = undefined;
    this.#addon.close(this.#fd);
  }

  #deliver(bytes: Uint8Array, lengths: Uint32Array, count: number, backlogged: boolean): void {
    if (this.#closed || this.#handler === undefined) return;
    const packets = new Array<Uint8Array>(count);
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const end = offset + lengths[i]!;
      packets[i] = bytes.subarray(offset, end);
      offset = end;
    }
    this.stats.rxPackets += count;
    this.stats.rxBytes += offset;
    this.stats.rxBatches += 1;
    // The addon puts each packet's metadata word after the lengths: the GSO
    // size (with offload) and whether the checksum needs no check here.
    const rxMeta = lengths.subarray(count, 2 * count);
    if (this.offload) for (let i = 0; i < count; i++) if ((rxMeta[i]! & RX_GSO_SIZE_MASK) !== 0) this.stats.rxGsoPackets++;
    this.#handler(packets, backlogged, rxMeta);
  }

  #readFailed(err: ErrnoError): void {
    if (this.#closed) return;
    if (this.#errorHandler === undefined) throw err;
    this.#errorHandler(err);
  }
}
