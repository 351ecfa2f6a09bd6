/**
 * The file under a capture writer (pcap, pcapng): opened O_EXCL, so a
 * capture never overwrites a file that is already there; records buffered
 * and written in one piece at flush() and every 64 KiB.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

const FLUSH_AT = 64 * 1024;

export class CaptureFile {
  private fd: number | undefined;
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  /** Creates `path` (never an existing file) and writes `header` to it. */
  constructor(path: string, header: Uint8Array) {
    this.fd = openSync(path, 'wx');
    writeSync(this.fd, header);
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Queues bytes; views are copied at the next flush (the writer flushes before a caller may reuse them). */
  push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.buffered += bytes.length;
    if (this.buffered >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.fd === undefined || this.buffered === 0) return;
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
