/**
 * A received segment, parsed once at demux, and the one function through
 * which every segment TCP sends leaves (data, ACKs, SYNs, resets, the
 * answers of request socks and TIME_WAIT minisocks): TCP writes its header
 * with the wire/ codec, IP output writes the IPv4 or IPv6 header (tcp_transmit_skb →
 * ip_queue_xmit).
 */
import type { ByteQueue } from './buffers.ts';
import type { Random } from '../random.ts';
import { TX_CSUM_PARTIAL } from '../link.ts';
import { IPV6_HANDLE_BASE } from '../address.ts';
import { PROTO_TCP } from '../wire/ipv4.ts';
import { IPV6_DEFAULT_HOP_LIMIT } from '../wire/ipv6.ts';
import {
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_SYN,
  setTcpChecksumSum,
  setTcpPartialChecksumSum,
  tcpOptionsLength,
  writeTcpHeader,
  writeTcpOptionsLinux,
  type TcpOptions,
  type TcpOptionsToWrite,
} from '../wire/tcp.ts';
import { tsValAt } from './constants.ts';
import type { TcpContext } from './context.ts';
import { segmentEvent } from './trace-seg.ts';
import type { RetransMechanism } from '../trace.ts';

export interface Segment {
  /** The whole IP datagram (for quoting and tracing). */
  packet: Uint8Array;
  /** Where the TCP header begins in it (after the IPv4 header, or the IPv6 one and its extension headers). */
  tcpOffset: number;
  /** The ECN field of the IP header (RFC 3168 §5): the TOS byte's low bits, or the traffic class's. */
  ecn: number;
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
  /**
   * IPv6: the flow label (the socket's, from its txhash); absent, the auto
   * label of the flow as for a packet no socket sends (TcpContext.flowLabel).
   */
  flowLabel?: number;
  /** A retransmission, and what made it (the trace's `rtx`): not a TcpOutSegs (RFC 1213 tcpOutSegs excludes them, as __tcp_transmit_skb does). */
  retransmission?: RetransMechanism;
  /** The trace's `rtx` of a segment sent again whose counters its sender keeps (a request sock's SYN-ACK: Listener.retransmitSynAck). */
  traceRtx?: RetransMechanism;
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
  /** URG is in `flags`: the urgent pointer (tcp_transmit_skb in urgent mode). */
  urgent?: number;
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
 * behind the IP header that IP output wrote (IPv4: TTL from ip_default_ttl, DF
 * set as on every Linux TCP segment: PMTU discovery), counts TcpOutSegs,
 * traces, and queues the packet. Returns false when the device's queue
 * dropped it (NET_XMIT_DROP, which __tcp_transmit_skb hands back as a
 * positive error: local congestion); everything counted before the queue
 * (TcpOutSegs) is counted all the same.
 */
export function transmitSegment(ctx: TcpContext, o: OutgoingSegment): boolean {
  const optionBytes = o.options ? tcpOptionsLength(o.options) : 0;
  const headerLength = TCP_MIN_HEADER + optionBytes;
  const payloadLength = o.payloadLength ?? 0;
  // Over IPv6 the IP ID's place is the flow label's, and the hop limit the TTL's (tcp_v6_xmit → ip6_xmit).
  const v6 = o.dst >= IPV6_HANDLE_BASE;
  const id = v6 ? (o.flowLabel ?? ctx.flowLabel(o.src, o.dst, o.sport, o.dport)) : o.ipId;
  const ttl = v6 ? IPV6_DEFAULT_HOP_LIMIT : ctx.sysctl.ip_default_ttl;
  const packet = ctx.ip.allocateDatagram(o.src, o.dst, PROTO_TCP, id, ttl, o.dontFragment !== false, o.tos ?? 0, headerLength + payloadLength, payloadLength);
  const at = packet.length - headerLength - payloadLength;
  writeTcpHeader(packet, at, {
    sourcePort: o.sport,
    destinationPort: o.dport,
    seq: o.seq >>> 0,
    ack: o.ack >>> 0,
    flags: o.flags,
    window: o.window,
    headerLength,
    urgent: o.urgent,
  });
  if (o.options) writeTcpOptionsLinux(packet, at + TCP_MIN_HEADER, o.options);
  if (payloadLength > 0) {
    o.payloadFrom!.copyOut(o.payloadOffset!, payloadLength, packet, at + headerLength);
    ctx.copied.tx += payloadLength;
  }
  const gsoSize = o.gsoSize ?? 0;
  let txMeta = gsoSize;
  const sums = ctx.addresses.wordSum(o.src) + ctx.addresses.wordSum(o.dst);
  if (gsoSize !== 0) setTcpPartialChecksumSum(packet.subarray(at), sums);
  else if (ctx.checksumOffload && payloadLength >= CSUM_OFFLOAD_MIN_PAYLOAD) {
    // __tcp_v4_send_check / __tcp_v6_send_check with NETIF_F_HW_CSUM: the
    // link completes it (the TUN addon in C, or the kernel through the
    // virtio_net_hdr), the pseudo-header of either family already summed.
    setTcpPartialChecksumSum(packet.subarray(at), sums);
    txMeta = TX_CSUM_PARTIAL;
  } else setTcpChecksumSum(packet.subarray(at), sums);
  if (o.retransmission === undefined) ctx.counters.TcpOutSegs += gsoSize === 0 ? 1 : Math.ceil(payloadLength / gsoSize);
  const trace = ctx.trace;
  if (trace !== undefined) {
    const event = segmentEvent(ctx.now(), 'out', packet.subarray(at), o.src, o.dst, ctx.addresses);
    const rtx = o.retransmission ?? o.traceRtx;
    if (rtx !== undefined) event.rtx = rtx;
    trace(event);
  }
  return ctx.ip.send(packet, txMeta);
}

/** 20 random bits: the flow label of a new txhash (sk_set_txhash, net_tx_rndhash; RFC 6437). */
export function newFlowLabel(random: Random): number {
  return random.u32() & 0xfffff;
}

/** The two ends of a segment a minisock answers on. */
export interface MinisockEnds {
  local: number;
  localPort: number;
  remote: number;
  remotePort: number;
  /** Over IPv6: the flow label of the request or of the connection a minisock stands for (its txhash). */
  flowLabel?: number;
  /** The TOS byte (IPv6: traffic class): a SYN-ACK takes its listener's IP_TOS or IPV6_TCLASS. */
  tos?: number;
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
  traceRtx?: RetransMechanism,
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
    flowLabel: ends.flowLabel,
    tos: ends.tos,
    traceRtx,
  });
}

/**
 * tcp_segs_in: a segment that reached a connection counts in segs_in, and
 * in data_segs_in when it carries data; a GRO packet counts as the
 * segments it was made of (max(1, gso_segs)).
 */
export function countSegmentIn(c: { segsIn: number; dataSegsIn: number }, seg: Segment): void {
  const segs = segmentCount(seg);
  c.segsIn += segs;
  if (seg.payload.length > 0) c.dataSegsIn += segs;
}

/** max(1, gso_segs): the segments a received packet was made of (a GRO packet's several). */
export function segmentCount(seg: Segment): number {
  const len = seg.payload.length;
  return seg.gsoSize !== undefined && seg.gsoSize > 0 && len > seg.gsoSize ? Math.ceil(len / seg.gsoSize) : 1;
}
