/**
 * Reads pcapng files (draft-ietf-opsawg-pcapng): the blocks, checked (a
 * length that is not a multiple of 4, or whose trailing copy differs, is an
 * error naming its offset), then the sections, their interfaces and every
 * packet of an Enhanced Packet Block with its options: comments, direction
 * (epb_flags), timestamps in microseconds whatever the interface's
 * if_tsresol. Either byte order, several sections (interface numbers count
 * per section). A truncated last block (a file still being written) ends
 * the read and is reported, not thrown. Link-layer agnostic: the packet's
 * bytes are given as captured; what they hold is the caller's business.
 */
import { readFileSync } from 'node:fs';
import { BLOCK_EPB, BLOCK_IDB, BLOCK_SHB, BYTE_ORDER_MAGIC, EPB_FLAGS, IF_NAME, IF_TSRESOL, OPT_COMMENT, OPT_ENDOFOPT, SHB_USERAPPL } from './pcapng.ts';

const IF_TSOFFSET = 14;

export class PcapngFormatError extends Error {}

export interface PcapngOption {
  code: number;
  value: Buffer;
}

/** One block: its type, where it starts, its total length and the bytes between the two length fields. */
export interface PcapngBlock {
  type: number;
  offset: number;
  length: number;
  body: Buffer;
  littleEndian: boolean;
}

export interface PcapngSection {
  offset: number;
  littleEndian: boolean;
  major: number;
  minor: number;
  /** shb_userappl, when given. */
  userAppl?: string;
  comments: string[];
  interfaces: PcapngInterfaceInfo[];
}

export interface PcapngInterfaceInfo {
  linktype: number;
  snaplen: number;
  /** if_name, when given. */
  name?: string;
  /** Timestamp units per second (if_tsresol; 10^6 when absent). */
  unitsPerSecond: number;
  /** if_tsoffset, seconds added to every timestamp. */
  offsetSeconds: number;
  options: PcapngOption[];
}

export interface PcapngPacketInfo {
  /** Index of the section (0: the first) and of the interface in it. */
  section: number;
  interfaceId: number;
  interface: PcapngInterfaceInfo;
  /** The raw timestamp, in the interface's units. */
  timestamp: bigint;
  /** Microseconds since the Unix epoch (rounded when the units are finer). */
  micros: number;
  data: Buffer;
  originalLength: number;
  /** epb_flags, when present. */
  flags?: number;
  /** epb_flags bits 0-1: 01 inbound, 10 outbound (absent: not given, or 00). */
  direction?: 'inbound' | 'outbound';
  /** Every opt_comment, in order. */
  comments: string[];
  options: PcapngOption[];
  /** Offset of its block in the file. */
  offset: number;
}

export interface PcapngFile {
  sections: PcapngSection[];
  packets: PcapngPacketInfo[];
  /** The file ended inside a block (it was being written): everything before it was read. */
  truncated: boolean;
}

/** True when `buf` starts with a Section Header Block. */
export function isPcapng(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x0a && buf[1] === 0x0d && buf[2] === 0x0d && buf[3] === 0x0a;
}

/** The blocks of a pcapng buffer, checked; `truncated` when the last one is cut short. */
export function readPcapngBlocks(buf: Buffer): { blocks: PcapngBlock[]; truncated: boolean } {
  if (!isPcapng(buf)) throw new PcapngFormatError('not a pcapng file: it does not start with a Section Header Block');
  const blocks: PcapngBlock[] = [];
  let le = true;
  let off = 0;
  while (off < buf.length) {
    if (off + 12 > buf.length) return { blocks, truncated: true };
    if (buf.readUInt32LE(off) === BLOCK_SHB) {
      const magic = buf.readUInt32LE(off + 8);
      if (magic === BYTE_ORDER_MAGIC) le = true;
      else if (buf.readUInt32BE(off + 8) === BYTE_ORDER_MAGIC) le = false;
      else throw new PcapngFormatError(`offset ${off}: bad byte-order magic 0x${magic.toString(16)}`);
    }
    const u32 = (at: number): number => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
    const type = u32(off);
    const length = u32(off + 4);
    if (length < 12 || length % 4 !== 0) throw new PcapngFormatError(`offset ${off}: block length ${length} (at least 12, a multiple of 4)`);
    if (off + length > buf.length) return { blocks, truncated: true };
    const trailing = u32(off + length - 4);
    if (trailing !== length) throw new PcapngFormatError(`offset ${off}: block length ${length} but trailing length ${trailing}`);
    blocks.push({ type, offset: off, length, body: buf.subarray(off + 8, off + length - 4), littleEndian: le });
    off += length;
  }
  return { blocks, truncated: false };
}

/** The options from `at` in `body` to its end, up to opt_endofopt. */
export function readOptions(block: PcapngBlock, at: number): PcapngOption[] {
  const { body } = block;
  const u16 = (o: number): number => (block.littleEndian ? body.readUInt16LE(o) : body.readUInt16BE(o));
  const options: PcapngOption[] = [];
  for (let o = at; o + 4 <= body.length; ) {
    const code = u16(o);
    const len = u16(o + 2);
    if (code === OPT_ENDOFOPT) break;
    if (o + 4 + len > body.length) throw new PcapngFormatError(`offset ${block.offset}: option ${code} of ${len} bytes runs past its block`);
    options.push({ code, value: body.subarray(o + 4, o + 4 + len) });
    o += 4 + ((len + 3) & ~3);
  }
  return options;
}

const text = (options: PcapngOption[], code: number): string[] => options.filter((o) => o.code === code).map((o) => o.value.toString('utf8'));

function interfaceOf(block: PcapngBlock): PcapngInterfaceInfo {
  const { body } = block;
  if (body.length < 8) throw new PcapngFormatError(`offset ${block.offset}: Interface Description Block too short`);
  const le = block.littleEndian;
  const options = readOptions(block, 8);
  const info: PcapngInterfaceInfo = {
    linktype: le ? body.readUInt16LE(0) : body.readUInt16BE(0),
    snaplen: le ? body.readUInt32LE(4) : body.readUInt32BE(4),
    unitsPerSecond: 1e6,
    offsetSeconds: 0,
    options,
  };
  const name = text(options, IF_NAME)[0];
  if (name !== undefined) info.name = name;
  const resol = options.find((o) => o.code === IF_TSRESOL);
  if (resol !== undefined && resol.value.length >= 1) {
    // §4.2: the top bit picks a power of 2, else a power of 10.
    const r = resol.value[0]!;
    info.unitsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
  }
  const offset = options.find((o) => o.code === IF_TSOFFSET);
  if (offset !== undefined && offset.value.length >= 8) info.offsetSeconds = Number(le ? offset.value.readBigInt64LE(0) : offset.value.readBigInt64BE(0));
  return info;
}

function packetOf(block: PcapngBlock, section: number, interfaces: PcapngInterfaceInfo[]): PcapngPacketInfo {
  const { body } = block;
  const le = block.littleEndian;
  const u32 = (o: number): number => (le ? body.readUInt32LE(o) : body.readUInt32BE(o));
  if (body.length < 20) throw new PcapngFormatError(`offset ${block.offset}: Enhanced Packet Block too short`);
  const interfaceId = u32(0);
  const iface = interfaces[interfaceId];
  if (iface === undefined) throw new PcapngFormatError(`offset ${block.offset}: packet on interface ${interfaceId}, which the section has not described`);
  const timestamp = (BigInt(u32(4)) << 32n) | BigInt(u32(8));
  const captured = u32(12);
  if (20 + captured > body.length) throw new PcapngFormatError(`offset ${block.offset}: ${captured} captured bytes run past the block`);
  const options = readOptions(block, 20 + ((captured + 3) & ~3));
  const micros = Math.round((Number(timestamp) * 1e6) / iface.unitsPerSecond) + iface.offsetSeconds * 1e6;
  const packet: PcapngPacketInfo = {
    section,
    interfaceId,
    interface: iface,
    timestamp,
    micros,
    data: body.subarray(20, 20 + captured),
    originalLength: u32(16),
    comments: text(options, OPT_COMMENT),
    options,
    offset: block.offset,
  };
  const flags = options.find((o) => o.code === EPB_FLAGS && o.value.length >= 4);
  if (flags !== undefined) {
    packet.flags = le ? flags.value.readUInt32LE(0) : flags.value.readUInt32BE(0);
    const dir = packet.flags & 3;
    if (dir === 1) packet.direction = 'inbound';
    else if (dir === 2) packet.direction = 'outbound';
  }
  return packet;
}

/** Sections, interfaces and packets of a pcapng buffer (other block types are skipped). */
export function readPcapng(buf: Buffer): PcapngFile {
  const { blocks, truncated } = readPcapngBlocks(buf);
  const sections: PcapngSection[] = [];
  const packets: PcapngPacketInfo[] = [];
  for (const b of blocks) {
    if (b.type === BLOCK_SHB) {
      if (b.body.length < 16) throw new PcapngFormatError(`offset ${b.offset}: Section Header Block too short`);
      const options = readOptions(b, 16);
      const s: PcapngSection = {
        offset: b.offset,
        littleEndian: b.littleEndian,
        major: b.littleEndian ? b.body.readUInt16LE(4) : b.body.readUInt16BE(4),
        minor: b.littleEndian ? b.body.readUInt16LE(6) : b.body.readUInt16BE(6),
        comments: text(options, OPT_COMMENT),
        interfaces: [],
      };
      const userAppl = text(options, SHB_USERAPPL)[0];
      if (userAppl !== undefined) s.userAppl = userAppl;
      sections.push(s);
    } else if (b.type === BLOCK_IDB) {
      sections.at(-1)!.interfaces.push(interfaceOf(b));
    } else if (b.type === BLOCK_EPB) {
      packets.push(packetOf(b, sections.length - 1, sections.at(-1)!.interfaces));
    }
  }
  return { sections, packets, truncated };
}

export function readPcapngFile(path: string): PcapngFile {
  return readPcapng(readFileSync(path));
}
