/**
 * A capture as plot records: classic pcap (cli/scenario/pcap-read.ts) or
 * pcapng (tun/pcapng-read.ts, the reader of the captures `up --pcap`
 * writes; a packet's opt_comments say what the trace and the impairment
 * said of it: comments.ts). The wire alone: no state samples. Which end is
 * "ours" (dir 'out'): the sender of packets pcapng's epb_flags call
 * outbound, else the end that answered the SYN, else the first packet's
 * sender.
 */
import { readFileSync } from 'node:fs';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import type { TcpSegmentEvent, TraceEvent } from '../../stack/trace.ts';
import { TCP_RST } from '../../stack/wire/tcp.ts';
import { isPcapng, readPcapng } from '../../tun/pcapng-read.ts';
import { parseTcp, readPcapBuffer, type TcpPacket } from '../scenario/pcap-read.ts';
import { readComments } from './comments.ts';
import type { TraceModel } from './model.ts';

const LINKTYPE_RAW = 101;

interface CapturedPacket {
  packet: TcpPacket;
  /** Every opt_comment, in order. */
  comments: string[];
  /** epb_flags' direction, when given: outbound is from the capturing host (the stack, in `up --pcap`). */
  direction?: 'inbound' | 'outbound';
}

/** TCP packets of a pcapng buffer (tun/pcapng-read.ts: raw-IP interfaces) with their comments and direction. */
export function readPcapngBuffer(buf: Buffer): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  for (const p of readPcapng(buf).packets) {
    if (p.interface.linktype !== LINKTYPE_RAW) continue;
    const packet = parseTcp(p.data, 0, p.micros);
    if (packet === undefined) continue;
    out.push(p.direction === undefined ? { packet, comments: p.comments } : { packet, comments: p.comments, direction: p.direction });
  }
  return out;
}

/** Reads FILE (pcap or pcapng, told by its first word) into `model`. */
export function loadCapture(path: string, model: TraceModel): void {
  const buf = readFileSync(path);
  const packets: CapturedPacket[] = isPcapng(buf) ? readPcapngBuffer(buf) : readPcapBuffer(buf).map((packet) => ({ packet, comments: [] }));
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
