/**
 * What the kernel does with a super-segment written to a TUN device with
 * offloads, in software, for virtual-time tests: tcp_gso_segment cuts it
 * into gso_size segments, each with a copy of the header (IP ID + i, the
 * sequence number moved on, FIN and PSH only on the last, CWR only on the
 * first) and its checksums completed. An independent implementation from
 * the packet bytes, so a test can compare the stack's super-segments with
 * the segments it sends without offloads, byte for byte.
 */
import { checksum, pseudoHeaderSum } from '../../stack/wire/checksum.ts';
import { PROTO_TCP } from '../../stack/wire/ipv4.ts';
import { TCP_CWR, TCP_FIN, TCP_PSH } from '../../stack/wire/tcp.ts';

const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const put16 = (b: Uint8Array, at: number, v: number): void => {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
};
const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

export function cutSuperSegment(packet: Uint8Array, gsoSize: number): Uint8Array[] {
  const hl = (packet[0]! & 15) * 4;
  if (packet[9] !== PROTO_TCP) throw new Error('a super-segment must be TCP');
  const thl = (packet[hl + 12]! >> 4) * 4;
  const headers = hl + thl;
  const payload = packet.length - headers;
  const src = u32(packet, 12);
  const dst = u32(packet, 16);
  const id = u16(packet, 4);
  const seq = u32(packet, hl + 4);
  const flags = packet[hl + 13]!;
  const out: Uint8Array[] = [];
  for (let off = 0, i = 0; off < payload; off += gsoSize, i++) {
    const len = Math.min(gsoSize, payload - off);
    const last = off + len === payload;
    const seg = new Uint8Array(headers + len);
    seg.set(packet.subarray(0, headers), 0);
    seg.set(packet.subarray(headers + off, headers + off + len), headers);
    put16(seg, 2, seg.length);
    put16(seg, 4, (id + i) & 0xffff);
    put16(seg, 10, 0);
    put16(seg, 10, checksum(seg, 0, hl));
    const s = (seq + off) >>> 0;
    seg[hl + 4] = s >>> 24;
    seg[hl + 5] = (s >>> 16) & 0xff;
    seg[hl + 6] = (s >>> 8) & 0xff;
    seg[hl + 7] = s & 0xff;
    seg[hl + 13] = flags & ~(last ? 0 : TCP_FIN | TCP_PSH) & ~(i === 0 ? 0 : TCP_CWR);
    put16(seg, hl + 16, 0);
    put16(seg, hl + 16, checksum(seg, hl, seg.length, pseudoHeaderSum(src, dst, PROTO_TCP, seg.length - hl)));
    out.push(seg);
  }
  return out;
}
