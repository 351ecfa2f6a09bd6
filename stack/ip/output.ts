/**
 * IPv4 output: header construction, identification, fragmentation
 * (ip_fragment in net/ipv4/ip_output.c; RFC 791 §3.2), the per-batch
 * outbox the driver flushes in one write, and the loopback queue: a datagram
 * to the stack's own address never reaches the link but comes back to the
 * stack's own input, as Linux routes it through the local table and `lo`
 * (docs/linux-behaviour.md, "Connecting to our own address").
 */
import { IPV6_HANDLE_BASE } from '../address.ts';
import type { Counters } from '../counters.ts';
import { TX_CSUM_PARTIAL, TX_GSO_SIZE_MASK } from '../link.ts';
import { completeIpv4TcpChecksum } from '../wire/tcp.ts';
import type { Random } from '../random.ts';
import type { Ipv4Address } from '../wire/addr.ts';
import {
  IPV4_MIN_HEADER,
  IP_FLAG_DF,
  IP_FLAG_MF,
  IP_OFFSET_MASK,
  ipFragOffset,
  ipDestination,
  ipFragWord,
  ipHeaderLength,
  ipMoreFragments,
  ipTotalLength,
  rewriteIpv4Fragment,
  writeIpv4DatagramHeader,
  type Ipv4HeaderFields,
} from '../wire/ipv4.ts';

/** The header fields of a locally generated datagram: whole, so no fragment fields (send() fragments it). */
export type WholeDatagramFields = Pick<Ipv4HeaderFields, 'tos' | 'id' | 'dontFragment' | 'ttl' | 'protocol' | 'source' | 'destination'>;

/** IPv6 output as IP output hands it datagrams to IPv6 handles and IPv6 packets (stack/ipv6/output.ts). */
export interface Ipv6Sender {
  allocate(source: number, destination: number, nextHeader: number, flowLabel: number, hopLimit: number, trafficClass: number, payloadLength: number, overwrittenTail: number): Uint8Array;
  send(packet: Uint8Array, txMeta: number): boolean;
}

/** The transmit ring's size: a flush's worth of super-segments (an initial window of 10 segments is 14.5 KiB, a cwnd of 600 about 870 KiB); what does not fit gets fresh buffers. */
const TX_RING_BYTES = 1 << 20;

export class IpOutput {
  /** Packets ready for the link; the stack flushes them once per batch or timer run. */
  readonly outbox: Uint8Array[] = [];
  /**
   * Datagrams to our own address, waiting for the stack to feed them to its
   * own input (Stack.flush): never delivered from inside send(), so input
   * does not recurse into input (loopback_xmit → netif_rx queues them too).
   */
  readonly loopback: Uint8Array[] = [];
  /**
   * The txMeta word (stack/link.ts) of each packet in `outbox`, kept only
   * once a packet with one was queued since the last flush (zeros filled in
   * before it), so a flush without any costs nothing.
   */
  private readonly meta: number[] = [];
  private id: number;
  /**
   * Transmit memory used again flush after flush, as a NIC's transmit ring
   * is (set when the link copies on send, PacketSink.copiesOnSend):
   * datagrams for the link are views of it until the next flush hands them
   * over (sent()); undefined: every datagram is a fresh buffer. It saves the
   * allocation (a zero-filled buffer of up to 64 KiB per super-segment) and
   * the garbage collections that memory outside the JavaScript heap
   * triggers (docs/measurements.md).
   */
  private txRing: Uint8Array | undefined;
  private txRingUsed = 0;
  private v6: Ipv6Sender | undefined;
  /**
   * The device's queueing discipline drops every packet handed to it (`tc
   * qdisc add dev tun0 root pfifo limit 0`): its enqueue returns
   * NET_XMIT_DROP, which dev_queue_xmit hands back up to the sender (TCP
   * treats it as local congestion: tcp_output.c). Datagrams to our own
   * address go through `lo`, not the device, and are not dropped.
   */
  deviceDropsAll = false;

  constructor(
    private readonly counters: Counters,
    random: Random,
    /** The link MTU: the largest packet handed to the link. */
    public mtu: number,
    /** The stack's own address: datagrams to it go to `loopback`. */
    private readonly localAddress: Ipv4Address = 0,
  ) {
    // Linux draws IP IDs for packets without a full socket from a keyed,
    // time-perturbed counter (ip_select_ident); a counter from a random start
    // is the same on the wire as far as any peer can tell.
    this.id = random.u32() & 0xffff;
  }

  /** Builds the link's datagrams in reused memory from now on (the link is done with them when its send() returns). */
  reuseTransmitMemory(bytes = TX_RING_BYTES): void {
    this.txRing = new Uint8Array(bytes);
    this.txRingUsed = 0;
  }

  /** The link has been handed everything take() returned: the memory behind it is free again. */
  sent(): void {
    this.txRingUsed = 0;
  }

  nextId(): number {
    this.id = (this.id + 1) & 0xffff;
    return this.id;
  }

  /** Allocates a packet with a 20-byte header written for `payloadLength` bytes of payload. */
  allocate(fields: WholeDatagramFields, payloadLength: number): Uint8Array {
    const f = fields;
    return this.allocateDatagram(f.source, f.destination, f.protocol, f.id, f.ttl, f.dontFragment, f.tos ?? 0, payloadLength);
  }

  /**
   * The same from positional fields, for the per-segment path (TCP): no
   * object per packet, one call shape. Fragment fields are never set here:
   * a datagram is whole until send() fragments it.
   */
  allocateDatagram(
    source: number,
    destination: number,
    protocol: number,
    /** The IPv4 identification; for IPv6, the flow label. */
    id: number,
    /** TTL, or the IPv6 hop limit. */
    ttl: number,
    dontFragment: boolean,
    /** TOS, or the IPv6 traffic class. */
    tos: number,
    payloadLength: number,
    /** How many bytes at the end the caller overwrites whole (a payload copied in): they need not start zeroed. */
    overwrittenTail = 0,
  ): Uint8Array {
    if (destination >= IPV6_HANDLE_BASE) return this.ipv6().allocate(source, destination, protocol, id, ttl, tos, payloadLength, overwrittenTail);
    const packet = this.buffer(IPV4_MIN_HEADER + payloadLength, destination === this.localAddress, IPV4_MIN_HEADER, overwrittenTail);
    writeIpv4DatagramHeader(packet, 0, packet.length, tos, id, dontFragment, ttl, protocol, source, destination);
    return packet;
  }

  /**
   * Memory for a datagram of `length` bytes whose first `headerLength` the
   * caller writes whole, as the last `overwrittenTail`: the rest zeroed. In
   * the transmit ring when there is one and room, never for a datagram to
   * our own address (our own input may keep views of it).
   */
  buffer(length: number, toSelf: boolean, headerLength: number, overwrittenTail: number): Uint8Array {
    const ring = this.txRing;
    if (ring !== undefined && !toSelf && this.txRingUsed + length <= ring.length) {
      const start = this.txRingUsed;
      // 8-byte aligned starts, as the kernel's skb data is.
      this.txRingUsed = (start + length + 7) & ~7;
      const packet = ring.subarray(start, start + length);
      packet.fill(0, headerLength, length - overwrittenTail);
      return packet;
    }
    return new Uint8Array(length);
  }

  /** Sets IPv6 output (the stack has an IPv6 address): datagrams to IPv6 handles and IPv6 packets go through it. */
  attachIpv6(output: Ipv6Sender): void {
    this.v6 = output;
  }

  private ipv6(): Ipv6Sender {
    if (this.v6 === undefined) throw new Error('IPv6 output without an IPv6 address');
    return this.v6;
  }

  /**
   * Sends a locally generated datagram whose header is complete (checksum
   * included). Larger than the MTU: fragmented when DF is clear, dropped with
   * IpFragFails when set (the EMSGSIZE case of ip_fragment). `txMeta`
   * (stack/link.ts): a GSO size > 0, a TCP super-segment for a link with
   * offloads, which cuts it into segments of that size (skb_is_gso:
   * ip_finish_output_gso, no fragmentation), one IpOutRequests as for
   * Linux's one skb; TX_CSUM_PARTIAL, a TCP checksum the link completes,
   * completed here instead where the datagram does not go to the link whole
   * (to our own address, or fragmented: skb_checksum_help). Returns false
   * when the device's queue dropped it (NET_XMIT_DROP: deviceDropsAll);
   * true otherwise, a datagram refused for its size included (an error of
   * another kind, not local congestion).
   */
  send(packet: Uint8Array, txMeta = 0): boolean {
    if (packet[0]! >> 4 === 6) return this.ipv6().send(packet, txMeta);
    this.counters.IpOutRequests++;
    if ((txMeta & TX_GSO_SIZE_MASK) !== 0) return this.emit(packet, txMeta);
    if (ipDestination(packet) === this.localAddress) {
      if ((txMeta & TX_CSUM_PARTIAL) !== 0) completeIpv4TcpChecksum(packet); // skb_checksum_help
      // Routed through `lo`, whose MTU (65536) every datagram we build fits: never fragmented.
      this.counters.IpExtOutOctets += packet.length;
      this.loopback.push(packet);
      return true;
    }
    if (packet.length <= this.mtu) return this.emit(packet, txMeta);
    if ((ipFragWord(packet) & IP_FLAG_DF) !== 0) {
      this.counters.IpFragFails++;
      this.counters.IpOutDiscards++;
      return true;
    }
    if ((txMeta & TX_CSUM_PARTIAL) !== 0) completeIpv4TcpChecksum(packet); // skb_checksum_help
    return this.fragment(packet);
  }

  /**
   * Queues a finished packet for the link (IPv6 output's too; it counts its
   * own octets), unless the device's queue drops everything: false then.
   */
  toLink(packet: Uint8Array, txMeta = 0): boolean {
    if (this.deviceDropsAll) return false;
    const meta = this.meta;
    if (txMeta !== 0) while (meta.length < this.outbox.length) meta.push(0);
    this.outbox.push(packet);
    if (txMeta !== 0 || meta.length !== 0) meta.push(txMeta);
    return true;
  }

  /** ip_output counts the octets before the device's queue sees the packet (ip_finish_output2 → dev_queue_xmit). */
  private emit(packet: Uint8Array, txMeta = 0): boolean {
    this.counters.IpExtOutOctets += packet.length;
    return this.toLink(packet, txMeta);
  }

  /** Splits into MTU-sized fragments, each payload a multiple of 8 bytes but the last; false when the device's queue dropped them. */
  private fragment(packet: Uint8Array): boolean {
    const hl = ipHeaderLength(packet);
    const total = ipTotalLength(packet);
    const baseOffset = ipFragOffset(packet);
    const originalMf = ipMoreFragments(packet);
    const chunk = ((this.mtu - hl) >> 3) << 3;
    if (chunk <= 0) {
      this.counters.IpFragFails++;
      return true;
    }
    let queued = true;
    for (let start = hl; start < total; start += chunk) {
      const end = Math.min(start + chunk, total);
      const frag = new Uint8Array(hl + (end - start));
      // Options are never sent by this stack, so every fragment carries the
      // same header (RFC 791: only "copied" options would repeat).
      frag.set(packet.subarray(0, hl), 0);
      frag.set(packet.subarray(start, end), hl);
      const more = end < total || originalMf;
      const offsetUnits = (baseOffset + (start - hl)) >> 3;
      rewriteIpv4Fragment(frag, frag.length, (ipFragWord(frag) & IP_FLAG_DF) | (more ? IP_FLAG_MF : 0) | (offsetUnits & IP_OFFSET_MASK));
      this.counters.IpFragCreates++;
      queued = this.emit(frag) && queued;
    }
    this.counters.IpFragOKs++;
    return queued;
  }

  /** Hands back and clears everything queued since the last flush. */
  take(): Uint8Array[] {
    return this.outbox.splice(0, this.outbox.length);
  }

  /** The txMeta words of what take() will hand back (call first), or undefined when every one is 0; clears them. */
  takeTxMeta(): Uint32Array | undefined {
    if (this.meta.length === 0) return undefined;
    const words = Uint32Array.from(this.meta);
    this.meta.length = 0;
    return words;
  }

  /** Hands back and clears the datagrams queued for our own input. */
  takeLoopback(): Uint8Array[] {
    return this.loopback.splice(0, this.loopback.length);
  }
}

export type { Ipv4Address };
