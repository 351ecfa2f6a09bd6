/**
 * A capture as plot records: classic pcap (cli/scenario/pcap-read.ts) or
 * pcapng (Section Header, Interface Description and Enhanced Packet
 * Blocks; a packet's opt_comments say what the trace and the impairment
 * said of it: comments.ts). The wire alone: no state samples. Which end is
 * "ours" (dir 'out'): the sender of packets pcapng's epb_flags call
 * outbound, else the end that answered the SYN, else the first packet's
 * sender.
 */
import { readFileSync } from 'node:fs';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import type { TcpSegmentEvent, TraceEvent } from '../../stack/trace.ts';
import { TCP_RST } from '../../stack/wire/tcp.ts';
import { parseTcp, readPcapBuffer, type TcpPacket } from '../scenario/pcap-read.ts';
import { readComments } from './comments.ts';
import type { TraceModel } from './model.ts';

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_IDB = 1;
const PCAPNG_EPB = 6;
const OPT_COMMENT = 1;
const EPB_FLAGS = 2;
const LINKTYPE_RAW = 101;

interface CapturedPacket {
  packet: TcpPacket;
  /** Every opt_comment, in order. */
  comments: string[];
  /** epb_flags' direction, when given: outbound is from the capturing host (the stack, in `up --pcap`). */
  direction?: 'inbound' | 'outbound';
}

/** TCP packets of a pcapng buffer with their comments (raw-IP interfaces; one section, either byte order). */
export function readPcapngBuffer(buf: Buffer): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  let le = true;
  const links: Array<{ linktype: number; unitsPerSecond: number }> = [];
  let off = 0;
  while (off + 12 <= buf.length) {
    const type = buf.readUInt32LE(off);
    if (type === PCAPNG_SHB) le = buf.readUInt32LE(off + 8) === 0x1a2b3c4d;
    const u32 = (at: number): number => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
    const u16 = (at: number): number => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
    const blockType = u32(off);
    const length = u32(off + 4);
    if (length < 12 || off + length > buf.length) break;
    if (blockType === PCAPNG_IDB) {
      let unitsPerSecond = 1e6;
      for (let o = off + 16; o + 4 <= off + length - 4; ) {
        const code = u16(o);
        const len = u16(o + 2);
        if (code === 0) break;
        if (code === 9 && len === 1) {
          const r = buf[o + 4]!;
          unitsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
        }
        o += 4 + ((len + 3) & ~3);
      }
      links.push({ linktype: u16(off + 8), unitsPerSecond });
    } else if (blockType === PCAPNG_EPB) {
      const link = links[u32(off + 8)];
      const ts = u32(off + 12) * 2 ** 32 + u32(off + 16);
      const captured = u32(off + 20);
      const data = buf.subarray(off + 28, off + 28 + captured);
      const comments: string[] = [];
      let direction: CapturedPacket['direction'];
      for (let o = off + 28 + ((captured + 3) & ~3); o + 4 <= off + length - 4; ) {
        const code = u16(o);
        const len = u16(o + 2);
        if (code === 0) break;
        if (code === OPT_COMMENT) comments.push(buf.toString('utf8', o + 4, o + 4 + len));
        if (code === EPB_FLAGS && len === 4) {
          const bits = u32(o + 4) & 3; // pcapng §4.3.1: 01 inbound, 10 outbound
          if (bits === 1) direction = 'inbound';
          else if (bits === 2) direction = 'outbound';
        }
        o += 4 + ((len + 3) & ~3);
      }
      if (link !== undefined && link.linktype === LINKTYPE_RAW) {
        const packet = parseTcp(data, 0, ts / (link.unitsPerSecond / 1e6)); // exact at the default microseconds
        if (packet !== undefined) out.push(direction === undefined ? { packet, comments } : { packet, comments, direction });
      }
    }
    off += length;
  }
  return out;
}

/** Reads FILE (pcap or pcapng, told by its first word) into `model`. */
export function loadCapture(path: string, model: TraceModel): void {
  const buf = readFileSync(path);
  const packets: CapturedPacket[] = buf.length >= 4 && buf.readUInt32LE(0) === PCAPNG_SHB ? readPcapngBuffer(buf) : readPcapBuffer(buf).map((packet) => ({ packet, comments: [] }));
  if (packets.length === 0) return;
  model.setOrigin(packets[0]!.packet.tUs / 1000);
  // Our end of each connection: what the capture says left this host, else the SYN-ACK's sender, else the first packet's.
  const ours = new Map<string, string>();
  const key = (p: TcpPacket): string => [`${p.src}:${p.sport}`, `${p.dst}:${p.dport}`].sort().join(' ');
  const end = (p: TcpPacket, outbound: boolean): string => (outbound ? `${p.src}:${p.sport}` : `${p.dst}:${p.dport}`);
  for (const { packet: p, direction } of packets) if (direction !== undefined && !ours.has(key(p))) ours.set(key(p), end(p, direction === 'outbound'));
  for (const { packet: p } of packets) if ((p.flags & 0x12) === 0x12 && !ours.has(key(p))) ours.set(key(p), `${p.src}:${p.sport}`);
  for (const { packet: p, comments } of packets) {
    const k = key(p);
    if (!ours.has(k)) ours.set(k, `${p.src}:${p.sport}`);
    const out = ours.get(k) === `${p.src}:${p.sport}`;
    const [localPort, remotePort] = out ? [p.sport, p.dport] : [p.dport, p.sport];
    const e: TcpSegmentEvent = {
      kind: 'tcp-seg',
      t: p.tUs / 1000,
      dir: out ? 'out' : 'in',
      conn: `${localPort}-${remotePort}`,
      local: 0,
      localPort,
      remote: 0,
      remotePort,
      flags: p.flags,
      seq: p.seq,
      ack: p.ack,
      len: p.len,
      win: p.window,
      options: p.options.map((o) => (o === 'wscale' ? `wscale ${p.wscale ?? 0}` : o)).join(','),
    };
    const [local, remote] = out ? [p.src, p.dst] : [p.dst, p.src];
    if (local.includes(':')) {
      e.local6 = local;
      e.remote6 = remote;
    } else {
      e.local = parseIpv4(local) ?? 0;
      e.remote = parseIpv4(remote) ?? 0;
    }
    if (p.sack !== undefined) e.sack = p.sack.flat();
    const said = readComments(comments);
    if (said.rtx !== undefined && out) e.rtx = said.rtx;
    if (said.rst !== undefined && out && p.flags & TCP_RST) {
      // The reset the trace recorded beside the segment, as `up --trace-file` would have it.
      const { path, linux, reason, generator, ipv6 } = said.rst;
      const rst: TraceEvent = { kind: 'tcp-rst', t: e.t, path, linux, reason, generator, seq: p.seq, ack: p.ack, flags: p.flags, local: localPort, remote: remotePort };
      if (ipv6) rst.ipv6 = true;
      model.push(rst);
    }
    model.push(e, said.mark);
  }
}
