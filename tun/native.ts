/**
 * Typed access to the TUN addon (tun/src/tun.c, built by `make` / node-gyp).
 *
 * Errors thrown by the addon are `ErrnoError`s: `code` is the errno name
 * ("EBUSY", "EPERM", ...), `errno` its number, and the message is one line
 * naming the cause and the remedy.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ErrnoError extends Error {
  code: string;
  errno: number;
  /** writeBatch only: packets written before the failing one. */
  written?: number;
  /** writeBatch only: index of the packet whose write failed. */
  index?: number;
}

/** Opaque handle of an active reader; keep it referenced while reading. */
export interface ReaderHandle {
  readonly __tunReader: unique symbol;
}

/**
 * Called once per wake-up with every packet that was ready (at most 256, at
 * most ~1 MiB): packet i is `buf[offset_i, offset_i + lengths[i])`, packets
 * stored back to back. `buf` is a view of a pooled ArrayBuffer (about
 * 1 MiB, taken by batch after batch until it is full) into which read()
 * put the packets: nothing was copied, and the bytes are the callee's to
 * keep, since the addon never writes that part again. `lengths` has
 * 2 × count words: after the lengths, each packet's metadata (the GSO size
 * in the low 16 bits, from the virtio_net_hdr of a reader started with
 * `vnet`; bit 16 when the checksum is owed or already checked by the
 * kernel, or when the addon verified a TCP checksum itself (IPv4, or IPv6
 * with TCP right after the fixed header):
 * RX_GSO_SIZE_MASK and RX_CSUM_TRUSTED of stack/link.ts).
 * After each call the addon reads again: `backlogged` is true for a batch
 * read that way, one that came while the previous call ran (or waited
 * behind a full batch).
 */
export type PacketsCallback = (buf: Uint8Array, lengths: Uint32Array, count: number, backlogged: boolean) => void;

/**
 * Called when reading fails with something other than EAGAIN/EINTR (e.g.
 * EBADF once the device was deleted). Reading has stopped by then; the
 * handle must still be passed to stopReading(). A callback that throws
 * raises an uncaught exception, as any other event callback would.
 */
export type ReadErrorCallback = (err: ErrnoError) => void;

export interface TunIoCounts {
  readCalls: number;
  writeCalls: number;
}

export interface TunAddon {
  /**
   * Opens a TUN device (IFF_TUN|IFF_NO_PI, non-blocking, close-on-exec).
   * With `netnsPath` the device is created in that network namespace (the
   * process stays in its own). `attach` false creates a new device and fails
   * if the name exists; `attach` true joins an existing persistent device.
   */
  /**
   * `offload`: also IFF_VNET_HDR, TUNSETVNETHDRSZ (10 bytes) and TUNSETOFFLOAD
   * (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6); where the kernel refuses them the
   * device opens plain, and `offload` in the result is false.
   */
  open(name: string, netnsPath: string | null, attach: boolean, offload?: boolean): { fd: number; name: string; offload: boolean };
  /** Starts delivering batches from libuv's loop; never blocks. `vnet`: the fd was opened with offload. */
  startReading(fd: number, onPackets: PacketsCallback, onError: ReadErrorCallback, vnet?: boolean): ReaderHandle;
  /** Stops delivery and releases the watcher; safe to call twice. */
  stopReading(handle: ReaderHandle): void;
  /**
   * Writes each packet with one write(). Returns how many were written;
   * packets refused with EAGAIN/ENOBUFS are dropped (not counted). Other
   * errors (EIO: interface down, EINVAL: not an IP packet) throw, with
   * `written` and `index` (of the failing packet) set on the error.
   * `vnet`: the fd was opened with offload, each packet goes behind a
   * virtio_net_hdr. `txMeta[i]` (stack/link.ts): a GSO size > 0 makes
   * packet i a TCP super-segment (its checksum field holding the
   * pseudo-header sum) that the kernel cuts into segments of that size;
   * TX_CSUM_PARTIAL, a TCP packet (IPv4, or IPv6 with TCP right after the
   * fixed header) whose checksum is completed: by the kernel (the
   * virtio_net_hdr's NEEDS_CSUM) with `vnet`, here in C without. A GSO size
   * without `vnet`, or a mark on a packet that is not such TCP, throws
   * EINVAL (with `written` and `index`).
   */
  writeBatch(fd: number, packets: readonly Uint8Array[], vnet?: boolean, txMeta?: Uint32Array): number;
  close(fd: number): void;
  /**
   * For the whole process, every device: read() and write() calls made on
   * TUN fds (each attempt, EAGAIN and EINTR included) and bytes copied in
   * user space by the addon (what was read, into the Buffer handed to JS).
   */
  ioCounts(): TunIoCounts;
}

let cached: TunAddon | undefined;

/** Loads the addon once; throws a clear error if it has not been built. */
export function loadTunAddon(): TunAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    cached = require('./build/Release/tun.node') as TunAddon;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ENOENT') {
      // A code makes it an environment failure the command reports in one line (exit 1), not an internal error.
      const root = dirname(dirname(fileURLToPath(import.meta.url)));
      throw Object.assign(new Error(`the TUN addon is not built: run make in ${root} (node-gyp build of tun/)`, { cause: err }), { code: 'ERR_TUN_ADDON_MISSING' });
    }
    throw err;
  }
  return cached;
}
