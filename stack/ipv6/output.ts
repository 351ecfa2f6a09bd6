/**
 * IPv6 output (net/ipv6/ip6_output.c): the fixed header of every datagram
 * we originate, our own fragmentation of a datagram larger than the link
 * MTU (RFC 8200 §4.5: only the source fragments; the fragment header
 * follows the fixed header, every fragment's data but the last a multiple
 * of 8 bytes, as ip6_append_data cuts them), the auto flow label, and the
 * loopback path for datagrams to our own address. Packets share IP
 * output's outbox, transmit ring and loopback queue (stack/ip/output.ts).
 */
import type { Counters } from '../counters.ts';
import type { IpOutput, Ipv6Sender } from '../ip/output.ts';
import type { Ipv6AddressTable } from '../ip/ipv6-addresses.ts';
import { TX_CSUM_PARTIAL, TX_GSO_SIZE_MASK } from '../link.ts';
import type { Random } from '../random.ts';
import { ipv6Equal } from '../wire/addr6.ts';
import { FRAG_HEADER, IPV6_DST_OFFSET, IPV6_HEADER, NEXTHDR_FRAGMENT, ip6NextHeader, writeFragmentHeader, writeIpv6Header } from '../wire/ipv6.ts';
import { completeIpv6TcpChecksum } from '../wire/tcp.ts';
import * as bytes from '../wire/bytes.ts';

const { writeU16 } = bytes;

/** The 20 bits of a flow label (RFC 6437). */
const FLOW_LABEL_MASK = 0xfffff;

export class Ipv6Output implements Ipv6Sender {
  private fragmentId: number;
  private readonly flowSecret: number;

  constructor(
    private readonly ip: IpOutput,
    private readonly counters: Counters,
    private readonly addresses: Ipv6AddressTable,
    /** Our address's handle: datagrams to it go to the loopback queue. */
    private readonly local: number,
    random: Random,
  ) {
    // ipv6_select_ident draws fragment identifications from a keyed,
    // per-destination counter; a counter from a random start looks the same
    // to any peer.
    this.fragmentId = random.u32();
    this.flowSecret = random.u32();
  }

  /**
   * The auto flow label of a flow between two addresses (ip6_make_flowlabel
   * with auto_flowlabels = 1): Linux takes 20 bits of the flow's hash, keyed
   * by a boot-time secret, so a label is stable for a flow and says nothing
   * else. `salt` separates flows between the same addresses (ports).
   */
  flowLabel(source: number, destination: number, salt = 0): number {
    const a = this.addresses;
    let h = Math.imul(a.digest(source) ^ this.flowSecret, 0x9e3779b1);
    h = Math.imul(h ^ a.digest(destination) ^ (h >>> 15), 0x85ebca6b);
    h = Math.imul(h ^ salt ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & FLOW_LABEL_MASK;
  }

  allocate(source: number, destination: number, nextHeader: number, flowLabel: number, hopLimit: number, trafficClass: number, payloadLength: number, overwrittenTail: number): Uint8Array {
    const packet = this.ip.buffer(IPV6_HEADER + payloadLength, destination === this.local, IPV6_HEADER, overwrittenTail);
    const a = this.addresses;
    writeIpv6Header(packet, 0, payloadLength, nextHeader, hopLimit, trafficClass, flowLabel, a.store, a.offsetOf(source), a.store, a.offsetOf(destination));
    return packet;
  }

  /**
   * ip6_local_out → ip6_finish_output: a super-segment goes whole (the link
   * cuts it); to our own address, through `lo`; larger than the link MTU,
   * in fragments; else as it is. A checksum left to the link is completed
   * where the datagram does not reach the link whole (skb_checksum_help).
   * False when the device's queue dropped it (IpOutput.deviceDropsAll).
   */
  send(packet: Uint8Array, txMeta = 0): boolean {
    const c = this.counters;
    c.Ip6OutRequests++;
    if ((txMeta & TX_GSO_SIZE_MASK) !== 0) return this.emit(packet, txMeta);
    const a = this.addresses;
    if (ipv6Equal(packet, IPV6_DST_OFFSET, a.store, a.offsetOf(this.local))) {
      if ((txMeta & TX_CSUM_PARTIAL) !== 0) completeIpv6TcpChecksum(packet);
      c.Ip6OutOctets += packet.length;
      c.Ip6OutTransmits++;
      this.ip.loopback.push(packet);
      return true;
    }
    if (packet.length <= this.ip.mtu) return this.emit(packet, txMeta);
    if ((txMeta & TX_CSUM_PARTIAL) !== 0) completeIpv6TcpChecksum(packet);
    return this.fragment(packet);
  }

  private emit(packet: Uint8Array, txMeta = 0): boolean {
    this.counters.Ip6OutOctets += packet.length;
    this.counters.Ip6OutTransmits++;
    return this.ip.toLink(packet, txMeta);
  }

  /**
   * The fixed header, then a fragment header naming what it held, then
   * (MTU − 48) & ~7 bytes of the rest per fragment (the last takes what is
   * left). Ip6FragCreates per fragment, Ip6FragOKs per datagram.
   */
  private fragment(packet: Uint8Array): boolean {
    const c = this.counters;
    const chunk = (this.ip.mtu - IPV6_HEADER - FRAG_HEADER) & ~7;
    if (chunk <= 0) {
      c.Ip6FragFails++;
      c.Ip6OutDiscards++;
      return true;
    }
    let queued = true;
    const nextHeader = ip6NextHeader(packet);
    const id = this.fragmentId;
    this.fragmentId = (this.fragmentId + 1) >>> 0;
    for (let start = IPV6_HEADER; start < packet.length; start += chunk) {
      const end = Math.min(start + chunk, packet.length);
      const frag = new Uint8Array(IPV6_HEADER + FRAG_HEADER + (end - start));
      frag.set(packet.subarray(0, IPV6_HEADER), 0);
      frag[6] = NEXTHDR_FRAGMENT;
      writeU16(frag, 4, frag.length - IPV6_HEADER);
      writeFragmentHeader(frag, IPV6_HEADER, nextHeader, start - IPV6_HEADER, end < packet.length, id);
      frag.set(packet.subarray(start, end), IPV6_HEADER + FRAG_HEADER);
      c.Ip6FragCreates++;
      queued = this.emit(frag) && queued;
    }
    c.Ip6FragOKs++;
    return queued;
  }
}
