/**
 * The `tcp-seg` trace event of one segment, read back from its IPv4 or IPv6
 * packet.
 * Called only while a trace sink is installed (tcp.ts: one branch per segment
 * in and out otherwise), so it may allocate freely.
 */
import type { TcpSegmentEvent } from '../trace.ts';
import { type AddressBook, isIpv6 } from '../address.ts';
import { readU16, readU32 } from '../wire/bytes.ts';
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
 * `tcp` is one TCP segment whose header has been validated (input: after the
 * checksum and option checks; output: built by transmitSegment), `src` and
 * `dst` the addresses of its packet as the stack carries them (an IPv6 one
 * as its handle, valid for this round: the event carries its text). `dir`
 * says which end is ours: the destination of an incoming segment, the
 * source of an outgoing one.
 */
export function segmentEvent(
  t: number,
  dir: 'in' | 'out',
  tcp: Uint8Array,
  src: number,
  dst: number,
  addresses: AddressBook,
): TcpSegmentEvent {
  const thl = Math.min(tcpHeaderLength(tcp), tcp.length);
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
  if (isIpv6(src)) {
    // A handle means nothing once the round is over: the text stays (local and remote are 0).
    event.local = 0;
    event.remote = 0;
    event.local6 = addresses.format(inbound ? dst : src);
    event.remote6 = addresses.format(inbound ? src : dst);
  }
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
