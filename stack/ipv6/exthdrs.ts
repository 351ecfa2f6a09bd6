/**
 * IPv6 extension headers a host processes on input (RFC 8200 §4), as
 * net/ipv6/exthdrs.c does: the options of a hop-by-hop or destination
 * options header (ip6_parse_tlv, with the hop-by-hop options Linux knows:
 * router alert, jumbo payload) and the routing header (ipv6_rthdr_rcv).
 * The fragment header is reassembly.ts.
 */
import type { DropReason } from '../drop.ts';
import type { Sysctls } from '../sysctl.ts';
import { isIpv6Multicast } from '../wire/addr6.ts';
import { ICMPV6_HDR_FIELD, ICMPV6_UNK_OPTION } from '../wire/icmpv6.ts';
import { IPV6_DST_OFFSET, IPV6_HEADER, IPV6_MAX_PAYLOAD, IPV6_TLV_JUMBO, IPV6_TLV_PAD1, IPV6_TLV_PADN, IPV6_TLV_ROUTERALERT, ip6PayloadLength } from '../wire/ipv6.ts';
import * as bytes from '../wire/bytes.ts';

const { readU32 } = bytes;

/** An ICMPv6 parameter problem to send about the packet before it is dropped (icmpv6_param_prob). */
export interface ParamProblem {
  code: number;
  /** Offset in the packet of the offending byte. */
  pointer: number;
}

/** Why an extension header ends the packet: the drop reason, the counter Linux moves, and any parameter problem it sends. */
export interface HeaderVerdict {
  reason: DropReason;
  /** The Ip6 counter Linux moves; absent when it counts nothing at the IP layer (an unknown option that says discard). */
  counter?: 'Ip6InHdrErrors' | 'Ip6InTruncatedPkts' | 'Ip6InAddrErrors';
  problem?: ParamProblem;
}

const BAD_OPTIONS: HeaderVerdict = { reason: 'IP_INHDR', counter: 'Ip6InHdrErrors' };

/**
 * ip6_parse_tlv over the options of the header at `at` (hop-by-hop when
 * `hopByHop`) in `packet`, whose length the caller has checked covers the
 * header. Pad1 and PadN may pad at most 7 bytes in a row and PadN must be
 * zeros (RFC 4942 §2.1.9.5); at most max_*_opts_number other options (a
 * negative limit also refuses unknown ones); an unknown option's two high
 * bits say skip, discard, or discard with a parameter problem (RFC 8200
 * §4.2; the last not toward a multicast destination). Returns undefined
 * when the packet goes on.
 */
export function parseOptions(packet: Uint8Array, at: number, hopByHop: boolean, sysctl: Sysctls): HeaderVerdict | undefined {
  let maxCount = hopByHop ? sysctl.max_hbh_opts_number : sysctl.max_dst_opts_number;
  let disallowUnknowns = false;
  if (maxCount < 0) {
    disallowUnknowns = true;
    maxCount = -maxCount;
  }
  let off = at + 2;
  let len = (packet[at + 1]! + 1) * 8 - 2;
  let count = 0;
  let padding = 0;
  while (len > 0) {
    const type = packet[off]!;
    if (type === IPV6_TLV_PAD1) {
      if (++padding > 7) return BAD_OPTIONS;
      off++;
      len--;
      continue;
    }
    if (len < 2) return BAD_OPTIONS;
    const optionLength = packet[off + 1]! + 2;
    if (optionLength > len) return BAD_OPTIONS;
    if (type === IPV6_TLV_PADN) {
      padding += optionLength;
      if (padding > 7) return BAD_OPTIONS;
      for (let i = 2; i < optionLength; i++) if (packet[off + i] !== 0) return BAD_OPTIONS;
    } else {
      if (++count > maxCount) return BAD_OPTIONS;
      let verdict: HeaderVerdict | undefined;
      if (hopByHop && type === IPV6_TLV_ROUTERALERT) verdict = packet[off + 1] === 2 ? undefined : BAD_OPTIONS; // ipv6_hop_ra
      else if (hopByHop && type === IPV6_TLV_JUMBO) verdict = jumboPayload(packet, off);
      else verdict = unknownOption(packet, off, disallowUnknowns);
      if (verdict !== undefined) return verdict;
      padding = 0;
    }
    off += optionLength;
    len -= optionLength;
  }
  return undefined;
}

/** ip6_tlvopt_unknown: the action in the option type's two high bits (RFC 8200 §4.2). */
function unknownOption(packet: Uint8Array, off: number, disallowUnknowns: boolean): HeaderVerdict | undefined {
  if (disallowUnknowns) return { reason: 'UNHANDLED_PROTO' };
  switch (packet[off]! >> 6) {
    case 0:
      return undefined; // skip over it
    case 1:
      return { reason: 'UNHANDLED_PROTO' };
    case 3:
      if (isIpv6Multicast(packet, IPV6_DST_OFFSET)) return { reason: 'UNHANDLED_PROTO' };
      return { reason: 'UNHANDLED_PROTO', problem: { code: ICMPV6_UNK_OPTION, pointer: off } };
    default:
      return { reason: 'UNHANDLED_PROTO', problem: { code: ICMPV6_UNK_OPTION, pointer: off } };
  }
}

/**
 * ipv6_hop_jumbo (RFC 2675): a jumbogram needs a payload length of 0 and a
 * jumbo length above 65535 that the packet holds. A TUN device never
 * delivers one, so in practice this answers the malformed ones.
 */
function jumboPayload(packet: Uint8Array, off: number): HeaderVerdict | undefined {
  if (packet[off + 1] !== 4 || (off & 3) !== 2) return BAD_OPTIONS;
  const jumboLength = readU32(packet, off + 2);
  if (jumboLength <= IPV6_MAX_PAYLOAD) return { reason: 'IP_INHDR', counter: 'Ip6InHdrErrors', problem: { code: ICMPV6_HDR_FIELD, pointer: off + 2 } };
  if (ip6PayloadLength(packet) !== 0) return { reason: 'IP_INHDR', counter: 'Ip6InHdrErrors', problem: { code: ICMPV6_HDR_FIELD, pointer: off } };
  // Longer than any packet here can be (measured on 6.18: only the header error moves).
  if (jumboLength > packet.length - IPV6_HEADER) return { reason: 'PKT_TOO_SMALL' };
  return undefined;
}

/** Routing header types (IANA): 0 is deprecated (RFC 5095), 2 is Mobile IPv6, 3 RPL, 4 segment routing. */
const RT_TYPE_RPL = 3;
const RT_TYPE_SEGMENT_ROUTING = 4;

/**
 * ipv6_rthdr_rcv for the routing header at `at`: never toward a multicast
 * destination (Ip6InAddrErrors); segment routing and RPL headers are
 * dropped unprocessed (seg6_enabled and rpl_seg_enabled are 0 by default);
 * any other type is skipped when no segments are left, and answered with a
 * parameter problem pointing at its type otherwise (type 0 is refused since
 * RFC 5095; type 2 needs Mobile IPv6).
 */
export function routingHeader(packet: Uint8Array, at: number): HeaderVerdict | undefined {
  if (isIpv6Multicast(packet, IPV6_DST_OFFSET)) return { reason: 'IP_INADDRERRORS', counter: 'Ip6InAddrErrors' };
  const type = packet[at + 2]!;
  if (type === RT_TYPE_SEGMENT_ROUTING || type === RT_TYPE_RPL) return { reason: 'IPV6_BAD_EXTHDR' };
  const segmentsLeft = packet[at + 3]!;
  if (segmentsLeft === 0) return undefined;
  return { reason: 'IPV6_BAD_EXTHDR', counter: 'Ip6InHdrErrors', problem: { code: ICMPV6_HDR_FIELD, pointer: at + 2 } };
}
