/**
 * The `tcp-seg` trace event of one segment, read back from the IPv4 packet.
 * Called only while a trace sink is installed (tcp.ts: one branch per segment
 * in and out otherwise), so it may allocate freely.
 */
import type { TcpSegmentEvent } from '../trace.ts';

const u16 = (b: Uint8Array, i: number): number => (b[i]! << 8) | b[i + 1]!;
const u32 = (b: Uint8Array, i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;

/**
 * `packet` is a whole IPv4 datagram carrying one TCP segment whose header has
 * been validated (input: after the checksum and option checks; output: built
 * by buildSegment). `dir` says which end is ours: the destination of an
 * incoming segment, the source of an outgoing one.
 */
export function segmentEvent(t: number, dir: 'in' | 'out', packet: Uint8Array): TcpSegmentEvent {
  const hl = (packet[0]! & 0x0f) << 2;
  const total = Math.min(u16(packet, 2), packet.length);
  const tcp = packet.subarray(hl, total);
  const thl = Math.min((tcp[12]! >> 4) << 2, tcp.length);
  const src = u32(packet, 12);
  const dst = u32(packet, 16);
  const sport = u16(tcp, 0);
  const dport = u16(tcp, 2);
  const inbound = dir === 'in';
  const event: TcpSegmentEvent = {
    kind: 'tcp-seg',
    t,
    dir,
    conn: inbound ? `${dport}-${sport}` : `${sport}-${dport}`,
    local: inbound ? dst : src,
    localPort: inbound ? dport : sport,
    remote: inbound ? src : dst,
    remotePort: inbound ? sport : dport,
    flags: tcp[13]!,
    seq: u32(tcp, 4),
    ack: u32(tcp, 8),
    len: tcp.length - thl,
    win: u16(tcp, 14),
    options: '',
  };
  const names: string[] = [];
  for (let i = 20; i < thl; ) {
    const kind = tcp[i]!;
    if (kind === 0) {
      names.push('eol');
      break;
    }
    if (kind === 1) {
      names.push('nop');
      i++;
      continue;
    }
    const len = i + 1 < thl ? tcp[i + 1]! : 0;
    if (len < 2 || i + len > thl) {
      names.push('bad-opt');
      break;
    }
    if (kind === 2 && len === 4) names.push(`mss ${u16(tcp, i + 2)}`);
    else if (kind === 3 && len === 3) names.push(`wscale ${tcp[i + 2]}`);
    else if (kind === 4 && len === 2) names.push('sackOK');
    else if (kind === 8 && len === 10) {
      names.push('TS');
      event.tsVal = u32(tcp, i + 2);
      event.tsEcr = u32(tcp, i + 6);
    } else if (kind === 5 && (len - 2) % 8 === 0) {
      const blocks: number[] = [];
      for (let j = i + 2; j < i + len; j += 4) blocks.push(u32(tcp, j));
      names.push(`sack ${blocks.length / 2}`);
      event.sack = blocks;
    } else names.push(`opt-${kind}`);
    i += len;
  }
  event.options = names.join(',');
  return event;
}
