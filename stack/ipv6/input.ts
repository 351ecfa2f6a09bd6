/**
 * IPv6 input as a Linux host does it (net/ipv6/ip6_input.c): the checks of
 * ip6_rcv_core in the kernel's order with its counters, the hop-by-hop
 * header (which must come first, RFC 8200 §4.3), the route decision of a
 * host that does not forward (our address; the multicast groups we have
 * joined; anything else is ip6_forward refusing: Ip6InAddrErrors), then
 * ip6_protocol_deliver_rcu: each extension header is a protocol of its own
 * that hands the rest on (destination options, routing, fragment), until
 * an upper-layer protocol takes the packet or none is registered for its
 * number (a parameter problem, code 1, pointing at that Next Header field).
 *
 * A TUN device is a layer-3 link: there is no neighbour discovery, and
 * what the kernel sends on a new interface (router solicitations to
 * ff02::2, MLD reports to ff02::16) is for groups a host has not joined, so
 * it is counted (Ip6InMcastPkts) and dropped without a word, as Linux's
 * ip6_mc_input drops it.
 */
import type { Counters } from '../counters.ts';
import type { DropReason } from '../drop.ts';
import type { ProtocolInput } from '../ip/input.ts';
import type { Sysctls } from '../sysctl.ts';
import { IPV6_ALL_NODES, ipv6Equal, ipv6MulticastScope, isIpv6Loopback, isIpv6Multicast } from '../wire/addr6.ts';
import { ICMPV6_PARAMPROB, ICMPV6_UNK_NEXTHDR } from '../wire/icmpv6.ts';
import {
  IPV6_DST_OFFSET,
  IPV6_HEADER,
  IPV6_SRC_OFFSET,
  NEXTHDR_DEST,
  NEXTHDR_FRAGMENT,
  NEXTHDR_HOP,
  NEXTHDR_NONE,
  NEXTHDR_ROUTING,
  ip6NextHeader,
  ip6PayloadLength,
} from '../wire/ipv6.ts';
import { parseOptions, routingHeader, type HeaderVerdict } from './exthdrs.ts';
import type { Icmpv6 } from './icmp.ts';
import type { Ipv6AddressTable } from '../ip/ipv6-addresses.ts';
import type { Ipv6Reassembler } from './reassembly.ts';

/** Ip6InNoECTPkts … Ip6InCEPkts by the ECN field of the traffic class (RFC 3168 §5). */
const ECN_COUNTERS = ['Ip6InNoECTPkts', 'Ip6InECT1Pkts', 'Ip6InECT0Pkts', 'Ip6InCEPkts'] as const;
/** IP6_MAX_EXT_HDRS_CNT (measured on 6.18: 12 destination options headers pass, 13 are discarded). */
const MAX_EXTENSION_HEADERS = 12;
/** Offset of the Next Header field in the fixed header. */
const NEXT_HEADER_FIELD = 6;
/** RFC 4291 §2.7: interface-local and reserved multicast scopes. */
const SCOPE_INTERFACE_LOCAL = 1;
const SCOPE_RESERVED = 0;

export class Ipv6Input {
  private readonly protocols: Array<ProtocolInput | undefined> = new Array(256).fill(undefined);

  constructor(
    /** Our IPv6 address's handle (held by the stack). */
    private readonly address: number,
    private readonly addresses: Ipv6AddressTable,
    private readonly counters: Counters,
    private readonly sysctl: Sysctls,
    private readonly icmp: Icmpv6,
    private readonly reassembler: Ipv6Reassembler,
  ) {
    // No Next Header (RFC 8200 §4.7): Linux's nodata_protocol takes it and discards it as delivered.
    this.protocols[NEXTHDR_NONE] = () => undefined;
  }

  /** Installs an upper-layer protocol: `hl` is then the offset of its header, after every extension header. */
  register(protocol: number, handler: ProtocolInput): void {
    this.protocols[protocol] = handler;
  }

  /** One packet from the link, or from our own output to our own address (`looped`). */
  input(p: Uint8Array, looped = false, rxMeta = 0): DropReason | undefined {
    const c = this.counters;
    c.Ip6InReceives++;
    c.Ip6InOctets += p.length;
    if (p.length < IPV6_HEADER) return this.headerError();
    if (p[0]! >> 4 !== 6) {
      c.Ip6InHdrErrors++;
      return 'UNHANDLED_PROTO';
    }
    c[ECN_COUNTERS[(p[1]! >> 4) & 3]!]++;
    // RFC 4291 §2.5.3: ::1 never arrives from a link; §2.7: interface-local
    // multicast only over loopback, reserved-scope multicast never, and a
    // multicast source never.
    if (!looped && (isIpv6Loopback(p, IPV6_SRC_OFFSET) || isIpv6Loopback(p, IPV6_DST_OFFSET))) return this.headerError();
    if (isIpv6Multicast(p, IPV6_DST_OFFSET)) {
      const scope = ipv6MulticastScope(p, IPV6_DST_OFFSET);
      if ((scope === SCOPE_INTERFACE_LOCAL && !looped) || scope === SCOPE_RESERVED) return this.headerError();
    }
    if (isIpv6Multicast(p, IPV6_SRC_OFFSET)) return this.headerError();

    const payloadLength = ip6PayloadLength(p);
    const first = ip6NextHeader(p);
    let packet = p;
    // A payload length of 0 before a hop-by-hop header may be a jumbogram (RFC 2675): not trimmed.
    if (payloadLength !== 0 || first !== NEXTHDR_HOP) {
      if (IPV6_HEADER + payloadLength > p.length) {
        c.Ip6InTruncatedPkts++;
        return 'PKT_TOO_SMALL';
      }
      // Link padding is not part of the datagram (pskb_trim_rcsum).
      if (IPV6_HEADER + payloadLength < p.length) packet = p.subarray(0, IPV6_HEADER + payloadLength);
    }

    let transport = IPV6_HEADER;
    let nhoff = NEXT_HEADER_FIELD;
    if (first === NEXTHDR_HOP) {
      // ipv6_parse_hopopts: ip6_rcv_core counts any failure as a header error.
      const verdict = this.extensionHeader(packet, transport, true);
      if (verdict !== undefined) {
        c.Ip6InHdrErrors++;
        if (verdict.problem !== undefined) this.icmp.paramProblem(packet, verdict.problem.code, verdict.problem.pointer);
        return verdict.reason;
      }
      nhoff = transport;
      transport += (packet[transport + 1]! + 1) * 8;
    }

    // ip6_rcv_finish → the route: ours, a group we joined, or ip6_forward with forwarding off.
    if (isIpv6Multicast(packet, IPV6_DST_OFFSET)) {
      c.Ip6InMcastPkts++;
      c.Ip6InMcastOctets += packet.length;
      if (!this.joined(packet)) return 'OTHERHOST';
    } else if (!ipv6Equal(packet, IPV6_DST_OFFSET, this.addresses.store, this.addresses.offsetOf(this.address))) {
      c.Ip6InAddrErrors++;
      return 'IP_INADDRERRORS';
    }
    return this.deliver(packet, transport, nhoff, rxMeta);
  }

  private headerError(): DropReason {
    this.counters.Ip6InHdrErrors++;
    return 'IP_INHDR';
  }

  /**
   * ipv6_chk_mcast_addr for the groups a host joins on its interface: all
   * nodes (ff02::1, and ff01::1 over loopback) and the solicited-node group
   * of its address (RFC 4291 §2.7.1, §2.8).
   */
  private joined(packet: Uint8Array): boolean {
    if (ipv6Equal(packet, IPV6_DST_OFFSET, IPV6_ALL_NODES, 0)) return true;
    if (packet[IPV6_DST_OFFSET + 1] === 0x01 && ipv6Equal(packet, IPV6_DST_OFFSET + 2, IPV6_ALL_NODES, 2)) return true; // ff01::1
    const ours = this.addresses.offsetOf(this.address);
    const store = this.addresses.store;
    // ff02::1:ffXX:XXXX with our address's low 24 bits.
    const d = IPV6_DST_OFFSET;
    if (packet[d] !== 0xff || packet[d + 1] !== 0x02) return false;
    for (let i = 2; i < 11; i++) if (packet[d + i] !== 0) return false;
    return packet[d + 11] === 1 && packet[d + 12] === 0xff && packet[d + 13] === store[ours + 13] && packet[d + 14] === store[ours + 14] && packet[d + 15] === store[ours + 15];
  }

  /**
   * ip6_protocol_deliver_rcu: `transport` is where the header named by the
   * Next Header field at `nhoff` begins. Each extension header moves both
   * on (at least 8 bytes a step, so the walk ends); reassembly replaces the
   * packet with the whole datagram and goes on after its fragment header.
   */
  private deliver(packet: Uint8Array, transport: number, nhoff: number, rxMeta: number): DropReason | undefined {
    const c = this.counters;
    for (let headers = 0; ; headers++) {
      // IP6_MAX_EXT_HDRS_CNT: a chain of more than 12 extension headers after the hop-by-hop one is discarded.
      if (headers > MAX_EXTENSION_HEADERS) {
        c.Ip6InDiscards++;
        return 'IPV6_TOO_MANY_EXTHDRS';
      }
      const next = packet[nhoff]!;
      if (next === NEXTHDR_DEST || next === NEXTHDR_ROUTING) {
        const verdict = this.extensionHeader(packet, transport, false, next);
        if (verdict !== undefined) {
          if (verdict.counter !== undefined) c[verdict.counter]++;
          if (verdict.problem !== undefined) this.icmp.paramProblem(packet, verdict.problem.code, verdict.problem.pointer);
          return verdict.reason;
        }
        nhoff = transport;
        transport += (packet[transport + 1]! + 1) * 8;
        continue;
      }
      if (next === NEXTHDR_FRAGMENT) {
        const r = this.reassembler.add(packet, transport, nhoff);
        if (r.kind === 'drop') return r.reason;
        if (r.kind === 'queued') return undefined;
        if (r.kind === 'atomic') {
          // Not really fragmented (RFC 6946): on past the fragment header.
          nhoff = transport;
          transport += 8;
        } else {
          // The whole datagram, with the first fragment's headers and no
          // fragment header: its Next Header at nhoff names what followed it.
          packet = r.datagram;
          transport = r.transport;
          nhoff = r.nhoff;
          rxMeta = 0;
        }
        continue;
      }
      const handler = this.protocols[next];
      if (handler === undefined) {
        // Hop-by-hop anywhere but first lands here too: no protocol 0 is registered.
        c.Ip6InUnknownProtos++;
        this.icmp.send(packet, ICMPV6_PARAMPROB, ICMPV6_UNK_NEXTHDR, nhoff);
        return 'IP_NOPROTO';
      }
      c.Ip6InDelivers++;
      return handler(packet, transport, packet.length, rxMeta);
    }
  }

  /**
   * A hop-by-hop, destination options (ipv6_destopt_rcv) or routing header
   * at `at`: it must fit the packet, then its own rules. Returns undefined
   * when the packet goes on.
   */
  private extensionHeader(packet: Uint8Array, at: number, hopByHop: boolean, type = NEXTHDR_HOP): HeaderVerdict | undefined {
    if (at + 8 > packet.length || at + (packet[at + 1]! + 1) * 8 > packet.length) {
      // Hop-by-hop failures are counted by the caller; the others count here.
      return { reason: 'PKT_TOO_SMALL', counter: hopByHop ? undefined : 'Ip6InHdrErrors' };
    }
    if (type === NEXTHDR_ROUTING) return routingHeader(packet, at);
    const length = (packet[at + 1]! + 1) * 8;
    // Longer than max_*_opts_len: dropped with no counter of its own.
    if (length > (hopByHop ? this.sysctl.max_hbh_length : this.sysctl.max_dst_opts_length)) return { reason: 'IP_INHDR' };
    const verdict = parseOptions(packet, at, hopByHop, this.sysctl);
    // ipv6_destopt_rcv counts every failure of ip6_parse_tlv as a header error.
    if (verdict !== undefined && !hopByHop) return { ...verdict, counter: 'Ip6InHdrErrors' };
    return verdict;
  }
}
