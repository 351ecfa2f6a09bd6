/**
 * pcapng capture files (the PCAP Next Generation format, draft-ietf-opsawg-pcapng
 * §4), as Wireshark writes them: one Section Header Block, one Interface
 * Description Block (LINKTYPE_RAW, the interface's name, microsecond
 * timestamps, the snap length), then an Enhanced Packet Block per packet,
 * which unlike a classic pcap record carries options: the direction
 * (epb_flags) and a comment (opt_comment) saying what happened to it.
 * Blocks are written little-endian (the Byte-Order Magic tells readers);
 * every block and option is padded to 32 bits (§3.1, §3.5).
 * tun/pcapng-read.ts reads them back.
 */
import { CaptureFile } from './capture-file.ts';
import { LINKTYPE_RAW, SNAPLEN, wallClockMicros, type MicrosecondClock } from './pcap.ts';

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 0x00000001;
export const BLOCK_EPB = 0x00000006;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Option codes (§3.5 and the blocks' own, §4.1-4.3). */
export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_TSRESOL = 9;
export const EPB_FLAGS = 2;

/**
 * epb_flags bits 0-1 (§4.3.1): 01 inbound, 10 outbound. tcpstack's captures
 * take the stack's point of view: inbound is toward the stack (what the
 * kernel sent it), outbound is from the stack.
 */
export const EPB_INBOUND = 0b01;
export const EPB_OUTBOUND = 0b10;

/** True for a capture file name that asks for pcapng: it ends in .pcapng (any case); every other name gets classic pcap. */
export function isPcapngPath(path: string): boolean {
  return /\.pcapng$/i.test(path);
}

/** if_tsresol 6: timestamps count microseconds, as classic pcap's. */
const TSRESOL_MICROSECONDS = 6;

export interface PcapngInterface {
  /** if_name: the device's name (the TUN interface's). */
  name?: string;
  /** Defaults to LINKTYPE_RAW: bare IPv4 and IPv6 packets, told apart by the version nibble. */
  linktype?: number;
  snaplen?: number;
}

export interface PcapngPacket {
  /** Index of the interface in the section (0: the first IDB). */
  interfaceId?: number;
  /** Microseconds since the Unix epoch. */
  micros: number;
  data: Uint8Array;
  /** The packet's length on the wire when `data` is shorter (defaults to data.length). */
  originalLength?: number;
  /** epb_flags (EPB_INBOUND, EPB_OUTBOUND); absent: no flags option. */
  flags?: number;
  /** opt_comment, UTF-8; absent or empty: none. */
  comment?: string;
}

/** One option: code, length, value, padded to 32 bits. */
function option(code: number, value: Uint8Array): Buffer {
  const b = Buffer.alloc(4 + pad4(value.length));
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  b.set(value, 4);
  return b;
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** An options list ended by opt_endofopt, or nothing when there are no options. */
function optionList(options: Buffer[]): Buffer {
  return options.length === 0 ? Buffer.alloc(0) : Buffer.concat([...options, Buffer.alloc(4)]);
}

/** Type, total length, body, total length again (§3.1). */
function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  b.writeUInt32LE(total, total - 4);
  return b;
}

/** Section Header Block (§4.1): version 1.0, section length unknown (-1), shb_userappl. */
export function sectionHeaderBlock(userAppl = 'tcpstack'): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  fixed.writeUInt16LE(1, 4);
  fixed.writeUInt16LE(0, 6);
  fixed.writeBigInt64LE(-1n, 8);
  return block(BLOCK_SHB, Buffer.concat([fixed, optionList([option(SHB_USERAPPL, Buffer.from(userAppl, 'utf8'))])]));
}

/** Interface Description Block (§4.2): link type, snap length, if_name, if_tsresol (microseconds). */
export function interfaceDescriptionBlock(iface: PcapngInterface = {}): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16LE(iface.linktype ?? LINKTYPE_RAW, 0);
  fixed.writeUInt32LE(iface.snaplen ?? SNAPLEN, 4);
  const options = [option(IF_TSRESOL, Uint8Array.of(TSRESOL_MICROSECONDS))];
  if (iface.name !== undefined) options.unshift(option(IF_NAME, Buffer.from(iface.name, 'utf8')));
  return block(BLOCK_IDB, Buffer.concat([fixed, optionList(options)]));
}

/** Enhanced Packet Block (§4.3): the packet cut to `snaplen`, then opt_comment and epb_flags when given. */
export function enhancedPacketBlock(p: PcapngPacket, snaplen = SNAPLEN): Buffer {
  const captured = Math.min(p.data.length, snaplen);
  const fixed = Buffer.alloc(20 + pad4(captured));
  fixed.writeUInt32LE(p.interfaceId ?? 0, 0);
  fixed.writeUInt32LE(Math.floor(p.micros / 2 ** 32), 4);
  fixed.writeUInt32LE(p.micros % 2 ** 32, 8);
  fixed.writeUInt32LE(captured, 12);
  fixed.writeUInt32LE(p.originalLength ?? p.data.length, 16);
  fixed.set(p.data.subarray(0, captured), 20);
  const options: Buffer[] = [];
  if (p.comment !== undefined && p.comment !== '') options.push(option(OPT_COMMENT, Buffer.from(p.comment, 'utf8')));
  if (p.flags !== undefined) {
    const flags = Buffer.alloc(4);
    flags.writeUInt32LE(p.flags >>> 0, 0);
    options.push(option(EPB_FLAGS, flags));
  }
  return block(BLOCK_EPB, Buffer.concat([fixed, optionList(options)]));
}

/**
 * A pcapng file with one interface. The file is opened O_EXCL (never
 * overwritten); blocks are buffered and written at flush() (and every 64 KiB),
 * each packet's bytes copied when write() is called.
 */
export class PcapngWriter {
  private readonly file: CaptureFile;
  private readonly snaplen: number;
  packets = 0;

  constructor(
    readonly path: string,
    iface: PcapngInterface = {},
    userAppl = 'tcpstack',
  ) {
    this.snaplen = iface.snaplen ?? SNAPLEN;
    this.file = new CaptureFile(path, Buffer.concat([sectionHeaderBlock(userAppl), interfaceDescriptionBlock({ ...iface, snaplen: this.snaplen })]));
  }

  write(p: PcapngPacket): void {
    if (this.file.closed) return;
    this.file.push(enhancedPacketBlock(p, this.snaplen));
    this.packets++;
  }

  flush(): void {
    this.file.flush();
  }

  close(): void {
    this.file.close();
  }
}

export { wallClockMicros, type MicrosecondClock };
