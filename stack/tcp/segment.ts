/**
 * A received segment, parsed once at demux, and the one function through
 * which every segment TCP sends leaves (data, ACKs, SYNs, resets, the
 * answers of request socks and TIME_WAIT minisocks): TCP writes its header
 * with the wire/ codec, IP output writes the IPv4 header (tcp_transmit_skb →
 * ip_queue_xmit).
 */
import type { ByteQueue } from './buffers.ts';
import { TX_CSUM_PARTIAL } from '../link.ts';
import { PROTO_TCP } from '../wire/ipv4.ts';
import {
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_SYN,
  setTcpChecksum,
  setTcpPartialChecksum,
  tcpOptionsLength,
  writeTcpHeader,
  writeTcpOptionsLinux,
  type TcpOptions,
  type TcpOptionsToWrite,
} from '../wire/tcp.ts';
import { tsValAt } from './constants.ts';
import type { TcpContext } from './context.ts';
import { segmentEvent } from './trace-seg.ts';

export interface Segment {
  /** The whole IP datagram (for quoting and tracing). */
  packet: Uint8Array;
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  /** The raw 16-bit window field (unscaled). */
  window: number;
  payload: Uint8Array;
  /** Options, parsed into an object owned by the TCP layer and reused for the next segment. */
  options: TcpOptions;
  /**
   * A super-segment from a link with offloads: the size of the segments it
   * was made of (skb_shinfo(skb)->gso_size; what tcp_measure_rcv_mss takes
   * for its length). 0 or absent: a plain segment.
   */
  gsoSize?: number;
}

/** SEG.LEN as RFC 9293 counts it: payload plus one for SYN and one for FIN. */
export function segmentLength(s: Segment): number {
  return s.payload.length + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0);
}

export interface OutgoingSegment {
  src: number;
  dst: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  /** The 16-bit window field, already scaled down. */
  window: number;
  options?: TcpOptionsToWrite | undefined;
  payloadLength?: number;
  /** Where the payload is: `payloadLength` bytes of this queue from `payloadOffset`, copied straight into the packet (no closure per segment). */
  payloadFrom?: ByteQueue;
  payloadOffset?: number;
  /** IP ID: the socket's counter (inet->inet_id), or 0 from a minisock or a reply reset. */
  ipId: number;
  /** A retransmission: not a TcpOutSegs (RFC 1213 tcpOutSegs excludes them, as __tcp_transmit_skb does). */
  retransmission?: boolean;
  /** DF; true unless the route's MTU is locked (ip_dont_fragment). */
  dontFragment?: boolean;
  /** The IP TOS byte: its ECN field is ECT(0) on new data of an ECN connection (tcp_ecn_send). */
  tos?: number;
  /**
   * > 0: a super-segment the link cuts into segments of this many payload
   * bytes (TcpContext.gso). Its checksum field then holds the pseudo-header
   * sum (CHECKSUM_PARTIAL: the kernel completes each segment's), and it
   * counts as that many TcpOutSegs (tcp_skb_pcount).
   */
  gsoSize?: number;
}

/**
 * The least payload whose checksum is left to a link that completes them
 * (TcpContext.checksumOffload). Summing a segment here costs about a
 * nanosecond a byte; marking it costs a word per packet and an array per
 * flush handed to the link: for a bare ACK or a small write the sum is the
 * cheaper (1-byte round trips on one CPU, p50: 9.67 us against 9.92 with
 * every packet marked, three interleaved pairs of runs).
 */
const CSUM_OFFLOAD_MIN_PAYLOAD = 256;

/**
 * tcp_transmit_skb: writes the TCP header, options, payload and checksum
 * behind the IPv4 header that IP output wrote (TTL from ip_default_ttl, DF
 * set as on every Linux TCP segment: PMTU discovery), counts TcpOutSegs,
 * traces, and queues the packet.
 */
export function transmitSegment(ctx: TcpContext, o: OutgoingSegment): void {
  const optionBytes = o.options ? tcpOptionsLength(o.options) : 0;
  const headerLength = TCP_MIN_HEADER + optionBytes;
  const payloadLength = o.payloadLength ?? 0;
  const packet = ctx.ip.allocateDatagram(o.src, o.dst, PROTO_TCP, o.ipId, ctx.sysctl.ip_default_ttl, o.dontFragment !== false, o.tos ?? 0, headerLength + payloadLength, payloadLength);
  const at = packet.length - headerLength - payloadLength;
  writeTcpHeader(packet, at, {
    sourcePort: o.sport,
    destinationPort: o.dport,
    seq: o.seq >>> 0,
    ack: o.ack >>> 0,
    flags: o.flags,
    window: o.window,
    headerLength,
  });
  if (o.options) writeTcpOptionsLinux(packet, at + TCP_MIN_HEADER, o.options);
  if (payloadLength > 0) {
    o.payloadFrom!.copyOut(o.payloadOffset!, payloadLength, packet, at + headerLength);
    ctx.copied.tx += payloadLength;
  }
  const gsoSize = o.gsoSize ?? 0;
  let txMeta = gsoSize;
  if (gsoSize !== 0) setTcpPartialChecksum(packet.subarray(at), o.src, o.dst);
  else if (ctx.checksumOffload && payloadLength >= CSUM_OFFLOAD_MIN_PAYLOAD) {
    // __tcp_v4_send_check with NETIF_F_HW_CSUM: the link completes it.
    setTcpPartialChecksum(packet.subarray(at), o.src, o.dst);
    txMeta = TX_CSUM_PARTIAL;
  } else setTcpChecksum(packet.subarray(at), o.src, o.dst);
  if (o.retransmission !== true) ctx.counters.TcpOutSegs += gsoSize === 0 ? 1 : Math.ceil(payloadLength / gsoSize);
  const trace = ctx.trace;
  if (trace !== undefined) trace(segmentEvent(ctx.now(), 'out', packet));
  ctx.ip.send(packet, txMeta);
}

/** The two ends of a segment a minisock answers on. */
export interface MinisockEnds {
  local: number;
  localPort: number;
  remote: number;
  remotePort: number;
}

/** The timestamp state a minisock keeps: whether negotiated, its clock offset and the TSval to echo. */
export interface MinisockTimestamps {
  tsOk: boolean;
  tsOffset: number;
  tsRecent: number;
}

/**
 * What a request sock or a TIME_WAIT minisock sends (tcp_v4_send_synack,
 * tcp_v4_reqsk_send_ack, tcp_v4_timewait_ack): no full socket behind it, so
 * IP ID 0; the timestamp option when negotiated; `extra` adds the SYN-ACK's
 * options.
 */
export function sendMinisockSegment(
  ctx: TcpContext,
  ends: MinisockEnds,
  fields: { seq: number; ack: number; flags: number; window: number },
  ts: MinisockTimestamps,
  extra?: Omit<TcpOptionsToWrite, 'ts'>,
): void {
  let options: TcpOptionsToWrite | undefined = extra === undefined ? undefined : { ...extra };
  if (ts.tsOk) {
    options ??= {};
    options.ts = { val: tsValAt(ctx.now(), ts.tsOffset), ecr: ts.tsRecent };
  }
  transmitSegment(ctx, {
    src: ends.local,
    dst: ends.remote,
    sport: ends.localPort,
    dport: ends.remotePort,
    seq: fields.seq,
    ack: fields.ack,
    flags: fields.flags,
    window: fields.window,
    options,
    ipId: 0,
  });
}
