/**
 * What TCP needs from the stack around it, and nothing more: time, counters,
 * tunables, the timer queue, randomness, the local address and MSS, the trace
 * sink, IP output and the destination cache. The Stack builds it; TCP never sees the Stack itself,
 * so tests can see exactly which services a connection uses.
 */
import type { AddressBook } from '../address.ts';
import type { Clock } from '../clock.ts';
import type { Counters } from '../counters.ts';
import type { Random } from '../random.ts';
import type { Sysctls } from '../sysctl.ts';
import type { TimerQueue } from '../timers.ts';
import type { TraceSink } from '../trace.ts';
import type { RouteMetrics } from '../ip/route-metrics.ts';
import type { FastOpenClientState } from './fastopen-cache.ts';

/** IP output as a transport protocol uses it (ip_queue_xmit, ip_build_and_send_pkt). */
export interface TransportOutput {
  /**
   * A packet with the IP header written by IP (TOS, TTL, DF as given; for an
   * IPv6 destination, `id` is the flow label, TTL the hop limit and TOS the
   * traffic class, DF meaningless) for
   * `transportLength` bytes after it, zeroed but for the last
   * `overwrittenTail` bytes, which the caller writes whole (a payload). Valid
   * until it is sent: the memory may serve the next flush's packets.
   */
  allocateDatagram(
    source: number,
    destination: number,
    protocol: number,
    id: number,
    ttl: number,
    dontFragment: boolean,
    tos: number,
    transportLength: number,
    overwrittenTail?: number,
  ): Uint8Array;
  /**
   * Queues a packet from `allocate` for the link (fragmented or refused by
   * IP as its DF bit says). `txMeta` (stack/link.ts): a GSO size > 0, a
   * super-segment for a link with offloads (TcpContext.gso), cut by the link
   * into segments of that size; TX_CSUM_PARTIAL, a checksum the link
   * completes (TcpContext.checksumOffload). Returns false when the device's
   * queue dropped it (NET_XMIT_DROP: local congestion, tcp_output.c).
   */
  send(packet: Uint8Array, txMeta?: number): boolean;
}

/** The destination cache as TCP uses it (ipv4_mtu, ip_mtu_locked, dst_metric_advmss, dst_metric, ip_rt_update_pmtu). */
export interface TcpRoute {
  /** rt_genid: bumped by every route change; a connection's cached dst older than it is looked up again at its next transmit (dst.ts). */
  readonly generation: number;
  /** The metrics of the route toward a destination, as a lookup finds them now (stack/ip/route-metrics.ts). */
  metrics(destination: number): RouteMetrics;
  /**
   * Path MTU toward a destination: a learnt exception until it expires, else
   * the route's MTU metric, else the device MTU; `dst` is the route's
   * metrics as the connection last looked them up (by default, now).
   */
  mtu(destination: number, now: number, dst?: RouteMetrics): number;
  /** The route's MTU is locked (learnt below route.min_pmtu, or `mtu lock`): segments go without DF. */
  mtuLocked(destination: number, now: number): boolean;
  /** The MSS to advertise toward a destination: the route's advmss, else path MTU − 40, at least 256 (IPv6: − 60, at least 1220). */
  advMss(destination: number, now: number, dst?: RouteMetrics): number;
  /** "Fragmentation needed" with next-hop MTU `mtu` (__ip_rt_update_pmtu). */
  update(destination: number, mtu: number, now: number): void;
}

/**
 * Payload bytes copied in user space: `rx` into the receive queue (in
 * order or out of order; not with keepsInput) and out of it when a read
 * spans segments; `tx` into the send queue and from it into each segment
 * sent (retransmissions too). What make bench divides by the bytes carried.
 */
export interface CopiedBytes {
  rx: number;
  tx: number;
}

export interface TcpContext {
  readonly clock: Clock;
  readonly counters: Counters;
  readonly sysctl: Sysctls;
  readonly timers: TimerQueue;
  readonly random: Random;
  /** The stack's IPv4 address. */
  readonly address: number;
  /** The handle of its IPv6 address, or undefined without IPv6 (stack/address.ts). */
  readonly address6: number | undefined;
  /** IPv6 addresses by handle: their bytes, word sums and digests; holds on those TCP keeps. */
  readonly addresses: AddressBook;
  /**
   * The auto flow label of an IPv6 segment no socket of ours owns (a reset
   * in reply, a minisock's answer): ip6_make_flowlabel over the flow's hash.
   */
  flowLabel(source: number, destination: number, sourcePort: number, destinationPort: number): number;
  /** MSS we advertise over IPv4: link MTU − 40 (IPv6 takes 20 more, the route says: advMss). */
  readonly advMss: number;
  /** The trace sink of the moment (undefined costs one branch per event). */
  readonly trace: TraceSink | undefined;
  readonly ip: TransportOutput;
  /** Path MTU per destination (stack/ip/route-cache.ts). */
  readonly route: TcpRoute;
  /** Whose skbs received segments are charged as (StackOptions.rxSkbs). */
  readonly rxSkbs: 'tun' | 'veth';
  /** Payload bytes TCP copied in user space, each way (stack.ts: Stack.copied). */
  readonly copied: CopiedBytes;
  /** Received packets are TCP's to keep (StackOptions.keepsInput): queue views of payloads, not copies. */
  readonly keepsInput: boolean;
  /**
   * The link takes TCP super-segments (StackOptions.offload): a packet of
   * several segments leaves as one, with a partial checksum, and the link
   * cuts it (Linux's GSO/TSO); otherwise TCP cuts it here.
   */
  readonly gso: boolean;
  /**
   * The link completes TCP checksums (PacketSink.completesChecksums): TCP
   * writes the pseudo-header sum and marks the packet TX_CSUM_PARTIAL, as
   * Linux leaves CHECKSUM_PARTIAL to a device with NETIF_F_HW_CSUM;
   * otherwise it sums the segment in JavaScript.
   */
  readonly checksumOffload: boolean;
  /** Fast Open's client side for the namespace: the per-destination cookie cache and the blackhole pause (fastopen-client.ts). */
  readonly fastOpen: FastOpenClientState;
  now(): number;
}
