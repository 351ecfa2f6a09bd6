/**
 * Classic pcap capture (the libpcap file format, as `tcpdump -w` writes it),
 * link type LINKTYPE_RAW (101): each record is a bare IPv4 or IPv6 packet,
 * exactly what the TUN device carries; readers tell the two apart by the
 * version nibble of the first byte, as LINKTYPE_RAW defines, so one capture
 * holds both families. Readable by `tcpdump -r`, tshark and Wireshark.
 */
import { CaptureFile } from './capture-file.ts';
import type { BatchHandler, Link } from '../stack/link.ts';
import { ForwardingLink } from './forwarding-link.ts';

const MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const LINKTYPE_RAW = 101;
/** tcpdump's default snap length (MAXIMUM_SNAPLEN): every packet whole, a 64 KiB super-segment included. */
export const SNAPLEN = 262144;

/** Microseconds since the Unix epoch: wall time for live captures, virtual time in simulations. */
export type MicrosecondClock = () => number;

export const wallClockMicros: MicrosecondClock = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

export class PcapWriter {
  private readonly file: CaptureFile;
  packets = 0;

  constructor(
    readonly path: string,
    private readonly micros: MicrosecondClock = wallClockMicros,
  ) {
    const header = Buffer.alloc(24);
    header.writeUInt32LE(MAGIC_MICROSECONDS, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeInt32LE(0, 8); // thiszone
    header.writeUInt32LE(0, 12); // sigfigs
    header.writeUInt32LE(SNAPLEN, 16);
    header.writeUInt32LE(LINKTYPE_RAW, 20);
    this.file = new CaptureFile(path, header); // O_EXCL: never overwrites
  }

  write(packet: Uint8Array): void {
    if (this.file.closed) return;
    const t = this.micros();
    const record = Buffer.allocUnsafe(16);
    record.writeUInt32LE(Math.floor(t / 1e6), 0);
    record.writeUInt32LE(t % 1e6, 4);
    const captured = Math.min(packet.length, SNAPLEN);
    record.writeUInt32LE(captured, 8);
    record.writeUInt32LE(packet.length, 12);
    this.file.push(record);
    this.file.push(packet.subarray(0, captured));
    this.packets++;
  }

  /** Writes what is buffered: the packet views are copied here, before the caller can reuse their buffers. */
  flush(): void {
    this.file.flush();
  }

  close(): void {
    this.file.close();
  }
}

/**
 * A link decorator that records every packet crossing it, both directions,
 * then passes it on unchanged. Received batches are written before the stack
 * sees them, sent batches before the inner link does.
 */
export class PcapTap extends ForwardingLink {
  constructor(
    inner: Link,
    private readonly writer: PcapWriter,
  ) {
    super(inner);
  }

  send(packets: readonly Uint8Array[], txMeta?: Uint32Array): void {
    for (const p of packets) this.writer.write(p);
    // Copy out now: the stack may hand the same buffers on (they are ours only until send returns).
    this.writer.flush();
    this.inner.send(packets, txMeta);
  }

  onReceive(handler: BatchHandler): void {
    this.inner.onReceive((batch, backlogged, rxMeta) => {
      for (const p of batch) this.writer.write(p);
      this.writer.flush();
      handler(batch, backlogged, rxMeta);
    });
  }

  close(): void {
    this.inner.close();
    this.writer.close();
  }
}
