/**
 * The `tcp-seg` trace event of one segment, read back from the IPv4 packet.
 * Called only while a trace sink is installed (tcp.ts: one branch per segment
 * in and out otherwise), so it may allocate freely.
 */
import type { TcpSegmentEvent } from '../trace.ts';
import { readU16, readU32 } from '../wire/bytes.ts';
import { ipDestination, ipHeaderLength, ipSource, ipTotalLength } from '../wire/ipv4.ts';
import {
  TCPOLEN_MSS,
  TCPOLEN_SACK_BASE,
  TCPOLEN_SACK_PERMITTED,
  TCPOLEN_TIMESTAMP,
  TCPOLEN_WSCALE,
  TCPOPT_EOL,
  TCPOPT_MSS,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TCPOPT_WSCALE,
  decodeTcpOptionList,
  tcpAck,
  tcpDestinationPort,
  tcpFlags,
  tcpHeaderLength,
  tcpOptionArea,
  tcpSeq,
  tcpSourcePort,
  tcpWindow,
} from '../wire/tcp.ts';

/**
 * `packet` is a whole IPv4 datagram carrying one TCP segment whose header has
 * been validated (input: after the checksum and option checks; output: built
 * by buildSegment). `dir` says which end is ours: the destination of an
 * incoming segment, the source of an outgoing one.
 */
export function segmentEvent(t: number, dir: 'in' | 'out', packet: Uint8Array): TcpSegmentEvent {
  const total = Math.min(ipTotalLength(packet), packet.length);
  const tcp = packet.subarray(ipHeaderLength(packet), total);
  const thl = Math.min(tcpHeaderLength(tcp), tcp.length);
  const src = ipSource(packet);
  const dst = ipDestination(packet);
  const sport = tcpSourcePort(tcp);
  const dport = tcpDestinationPort(tcp);
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
    flags: tcpFlags(tcp),
    seq: tcpSeq(tcp),
    ack: tcpAck(tcp),
    len: tcp.length - thl,
    win: tcpWindow(tcp),
    options: '',
  };
  // tcpdump's names, in wire order, up to an EOL (as tcp_parse_options stops
  // there) or a malformed option ("bad-opt").
  const names: string[] = [];
  const list = decodeTcpOptionList(tcpOptionArea(tcp));
  let ended = false;
  for (const { kind, length, data } of list.options) {
    if (kind === TCPOPT_EOL) {
      names.push('eol');
      ended = true;
      break;
    }
    if (kind === TCPOPT_NOP) names.push('nop');
    else if (kind === TCPOPT_MSS && length === TCPOLEN_MSS) names.push(`mss ${readU16(data, 0)}`);
    else if (kind === TCPOPT_WSCALE && length === TCPOLEN_WSCALE) names.push(`wscale ${data[0]}`);
    else if (kind === TCPOPT_SACK_PERMITTED && length === TCPOLEN_SACK_PERMITTED) names.push('sackOK');
    else if (kind === TCPOPT_TIMESTAMP && length === TCPOLEN_TIMESTAMP) {
      names.push('TS');
      event.tsVal = readU32(data, 0);
      event.tsEcr = readU32(data, 4);
    } else if (kind === TCPOPT_SACK && (length - TCPOLEN_SACK_BASE) % 8 === 0) {
      const blocks: number[] = [];
      for (let j = 0; j < data.length; j += 4) blocks.push(readU32(data, j));
      names.push(`sack ${blocks.length / 2}`);
      event.sack = blocks;
    } else names.push(`opt-${kind}`);
  }
  if (!ended && list.malformed !== undefined) names.push('bad-opt');
  event.options = names.join(',');
  return event;
}
