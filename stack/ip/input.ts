/**
 * IPv4 input: the checks of `ip_rcv_core` in the kernel's order, local
 * delivery (`ip_local_deliver`), reassembly, and dispatch to the protocols
 * (`ip_protocol_deliver_rcu`). Forwarding is off, as on a host.
 */
import type { Counters } from '../counters.ts';
import type { DropReason } from '../drop.ts';
import { LIMITED_BROADCAST, isMulticast, type Ipv4Address } from '../wire/addr.ts';
import { verifies } from '../wire/checksum.ts';
import { ICMP_DEST_UNREACH, ICMP_PARAMETER_PROBLEM, ICMP_PROT_UNREACH } from '../wire/icmp.ts';
import {
  IPV4_MIN_HEADER,
  IP_FLAG_MF,
  IP_OFFSET_MASK,
  ipDestination,
  ipFragWord,
  ipHeaderLength,
  ipProtocol,
  ipSource,
  ipTotalLength,
} from '../wire/ipv4.ts';
import type { Icmp } from './icmp.ts';
import type { Reassembler } from './reassembly.ts';

/**
 * A transport protocol's input. `packet` is the whole datagram, trimmed to
 * its total length (reassembled if it came in fragments); `hl` is the IP
 * header length; `rxMeta` what a link with offloads said of it (link.ts;
 * 0 for a reassembled datagram). Returns the drop reason, or undefined
 * when consumed.
 */
export type ProtocolInput = (packet: Uint8Array, hl: number, total: number, rxMeta: number) => DropReason | undefined;

const IPOPT_END = 0;
const IPOPT_NOOP = 1;

/** IpExtInNoECTPkts, IpExtInECT1Pkts, IpExtInECT0Pkts, IpExtInCEPkts by the low two TOS bits. */
const ECN_COUNTERS = ['IpExtInNoECTPkts', 'IpExtInECT1Pkts', 'IpExtInECT0Pkts', 'IpExtInCEPkts'] as const;

export class Ipv4Input {
  private readonly protocols: Array<ProtocolInput | undefined> = new Array(256).fill(undefined);

  constructor(
    private readonly address: Ipv4Address,
    private readonly counters: Counters,
    private readonly icmp: Icmp,
    private readonly reassembler: Reassembler,
  ) {}

  register(protocol: number, handler: ProtocolInput): void {
    this.protocols[protocol] = handler;
  }

  /**
   * One packet from the link, or from `lo` when `looped` (a datagram we sent
   * to our own address); byte 0 is the first byte of the IP header.
   */
  input(p: Uint8Array, looped = false, rxMeta = 0): DropReason | undefined {
    const c = this.counters;
    if (p.length === 0 || p[0]! >> 4 !== 4) {
      // The TUN device tags packets by their version nibble; IPv6 and anything
      // else never reaches Linux's IPv4 input, so no Ip counter moves here.
      return 'UNHANDLED_PROTO';
    }
    c.IpInReceives++;
    c.IpExtInOctets += p.length;
    if (p.length < IPV4_MIN_HEADER) {
      c.IpInHdrErrors++;
      return 'PKT_TOO_SMALL';
    }
    const hl = ipHeaderLength(p);
    if (hl < IPV4_MIN_HEADER) {
      c.IpInHdrErrors++;
      return 'IP_INHDR';
    }
    // ip_rcv_core counts the ECN codepoint (IPSTATS_MIB_NOECTPKTS + tos & INET_ECN_MASK)
    // once the version and IHL are sane, before the header length and checksum checks.
    c[ECN_COUNTERS[p[1]! & 3]!]++;
    if (p.length < hl) {
      c.IpInHdrErrors++;
      return 'IP_INHDR';
    }
    if (!verifies(p, 0, hl)) {
      c.IpExtInCsumErrors++;
      c.IpInHdrErrors++;
      return 'IP_CSUM';
    }
    const total = ipTotalLength(p);
    if (p.length < total) {
      c.IpExtInTruncatedPkts++;
      return 'PKT_TOO_SMALL';
    }
    if (total < hl) {
      c.IpInHdrErrors++;
      return 'IP_INHDR';
    }
    // Bytes past the total length (link padding) are not part of the datagram (pskb_trim_rcsum).
    const packet = total === p.length ? p : p.subarray(0, total);

    if (hl > IPV4_MIN_HEADER) {
      const bad = malformedOptionAt(packet, hl);
      if (bad >= 0) {
        // ip_options_compile: parameter problem pointing at the offending byte.
        c.IpInHdrErrors++;
        if (this.isForUs(ipDestination(packet))) this.icmp.sendError(packet, ICMP_PARAMETER_PROBLEM, 0, (bad << 24) >>> 0);
        return 'IP_INHDR';
      }
    }

    const source = ipSource(packet);
    if (source === LIMITED_BROADCAST || isMulticast(source) || source >>> 24 === 127) {
      return 'IP_INVALID_SOURCE'; // martian source (ip_route_input_slow)
    }
    if (source === this.address && !looped) {
      // Our own address as the source of a packet from the link: only `lo`
      // may carry those (fib_validate_source, accept_local = 0).
      return 'IP_INVALID_SOURCE';
    }
    const destination = ipDestination(packet);
    if (destination !== this.address) {
      if (destination === LIMITED_BROADCAST) {
        c.IpExtInBcastPkts++;
        return 'OTHERHOST';
      }
      if (isMulticast(destination)) {
        c.IpExtInMcastPkts++;
        return 'OTHERHOST';
      }
      c.IpInAddrErrors++;
      return 'IP_INADDRERRORS';
    }

    if ((ipFragWord(packet) & (IP_FLAG_MF | IP_OFFSET_MASK)) !== 0) {
      const r = this.reassembler.add(packet, hl);
      if ('drop' in r) return r.drop;
      if ('queued' in r) return undefined;
      return this.deliver(r.datagram, hl, r.datagram.length, 0);
    }
    return this.deliver(packet, hl, total, rxMeta);
  }

  private isForUs(destination: number): boolean {
    return destination === this.address;
  }

  private deliver(packet: Uint8Array, hl: number, total: number, rxMeta: number): DropReason | undefined {
    const protocol = ipProtocol(packet);
    const handler = this.protocols[protocol];
    if (handler === undefined) {
      this.counters.IpInUnknownProtos++;
      this.icmp.sendError(packet, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH);
      return 'IP_NOPROTO';
    }
    this.counters.IpInDelivers++;
    return handler(packet, hl, total, rxMeta);
  }
}

/**
 * Checks the options' TLV structure (RFC 791 §3.1): returns the offset of the
 * first malformed byte, or -1. Option contents are not acted on: source
 * routes are refused by hosts anyway, and record-route/timestamp are not
 * echoed (Linux would fill them in).
 */
function malformedOptionAt(p: Uint8Array, hl: number): number {
  let i = IPV4_MIN_HEADER;
  while (i < hl) {
    const kind = p[i]!;
    if (kind === IPOPT_END) return -1;
    if (kind === IPOPT_NOOP) {
      i++;
      continue;
    }
    if (i + 1 >= hl) return i;
    const len = p[i + 1]!;
    if (len < 2 || i + len > hl) return i + 1;
    i += len;
  }
  return -1;
}
