/**
 * Classic pcap capture (the libpcap file format, as `tcpdump -w` writes it),
 * link type LINKTYPE_RAW (101): each record is a bare IPv4 or IPv6 packet,
 * exactly what the TUN device carries; readers tell the two apart by the
 * version nibble of the first byte, as LINKTYPE_RAW defines, so one capture
 * holds both families. Readable by `tcpdump -r`, tshark and Wireshark.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { BatchHandler, Link } from '../stack/link.ts';
import { ForwardingLink } from './forwarding-link.ts';

const MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const LINKTYPE_RAW = 101;
/** tcpdump's default snap length (MAXIMUM_SNAPLEN): every packet whole, a 64 KiB super-segment included. */
export const SNAPLEN = 262144;
const FLUSH_AT = 64 * 1024;

/** Microseconds since the Unix epoch: wall time for live captures, virtual time in simulations. */
export type MicrosecondClock = () => number;

export const wallClockMicros: MicrosecondClock = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

export class PcapWriter {
  private fd: number | undefined;
  private chunks: Buffer[] = [];
  private buffered = 0;
  packets = 0;

  constructor(
    readonly path: string,
    private readonly micros: MicrosecondClock = wallClockMicros,
  ) {
    // 'wx' (O_EXCL): a capture never overwrites a file that is already there.
    this.fd = openSync(path, 'wx');
    const header = Buffer.alloc(24);
    header.writeUInt32LE(MAGIC_MICROSECONDS, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeInt32LE(0, 8); // thiszone
    header.writeUInt32LE(0, 12); // sigfigs
    header.writeUInt32LE(SNAPLEN, 16);
    header.writeUInt32LE(LINKTYPE_RAW, 20);
    writeSync(this.fd, header);
  }

  write(packet: Uint8Array): void {
    if (this.fd === undefined) return;
    const t = this.micros();
    const record = Buffer.allocUnsafe(16);
    record.writeUInt32LE(Math.floor(t / 1e6), 0);
    record.writeUInt32LE(t % 1e6, 4);
    const captured = Math.min(packet.length, SNAPLEN);
    record.writeUInt32LE(captured, 8);
    record.writeUInt32LE(packet.length, 12);
    this.chunks.push(record, Buffer.from(packet.buffer, packet.byteOffset, captured));
    this.buffered += 16 + captured;
    this.packets++;
    if (this.buffered >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.fd === undefined || this.buffered === 0) return;
    // The packet views are copied here, before the caller can reuse their buffers.
    writeSync(this.fd, Buffer.concat(this.chunks, this.buffered));
    this.chunks = [];
    this.buffered = 0;
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
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
