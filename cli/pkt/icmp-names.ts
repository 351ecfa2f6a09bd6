/**
 * ICMP type and code names as packetdrill reads them (icmp_packet.c:
 * icmpv4_types, icmpv6_types and their code tables, parse_icmp_type_and_code,
 * set_icmpv4_header, set_icmpv6_header). The table is the wire family's:
 * over IPv6 a line names an ICMPv6 message (`packet_too_big mtu 1280`), and
 * IPv4's names that ICMPv6 lacks (`frag_needed`, `source_quench`) are
 * errors, as in packetdrill; nothing is translated between the families.
 */

/** The bytes of an ICMP line's header: type, code, and the 32-bit field after the checksum. */
export interface IcmpHeaderValues {
  type: number;
  code: number;
  /** The rest-of-header field: the MTU (IPv4: in its low 16 bits; IPv6: all 32), or the echo id in the high 16 bits. */
  rest: number;
}

interface TypeInfo {
  type: number;
  codes?: Readonly<Record<string, number>>;
}

const ICMPV4_UNREACHABLE_CODES: Readonly<Record<string, number>> = {
  net_unreachable: 0,
  host_unreachable: 1,
  protocol_unreachable: 2,
  port_unreachable: 3,
  frag_needed: 4,
  source_route_failed: 5,
  net_unknown: 6,
  host_unknown: 7,
  source_host_isolated: 8,
  net_prohibited: 9,
  host_prohibited: 10,
  net_unreachable_for_tos: 11,
  host_unreachable_for_tos: 12,
  packet_filtered: 13,
  precedence_violation: 14,
  precedence_cutoff: 15,
};

const ICMPV4_TYPES: Readonly<Record<string, TypeInfo>> = {
  echo_reply: { type: 0 },
  unreachable: { type: 3, codes: ICMPV4_UNREACHABLE_CODES },
  source_quench: { type: 4 },
  redirect: { type: 5 },
  echo_request: { type: 8 },
  time_exceeded: { type: 11 },
  parameter_problem: { type: 12 },
  timestamp_request: { type: 13 },
  timestamp_reply: { type: 14 },
  information_request: { type: 15 },
  information_reply: { type: 16 },
  address_mask_request: { type: 17 },
  address_mask_reply: { type: 18 },
};

/** RFC 4443's types with packetdrill's names (its net_unreachable is code 0, as no_route). */
const ICMPV6_TYPES: Readonly<Record<string, TypeInfo>> = {
  unreachable: {
    type: 1,
    codes: { net_unreachable: 0, no_route: 0, admin_prohibited: 1, not_neighbour: 2, address_unreachable: 3, port_unreachable: 4 },
  },
  packet_too_big: { type: 2 },
  time_exceeded: { type: 3, codes: { exceeded_hop_limit: 0, exceeded_frag_time: 1 } },
  parameter_problem: { type: 4, codes: { header_field: 0, unknown_next_header: 1, unknown_option: 2 } },
  echo_request: { type: 128 },
  echo_reply: { type: 129 },
};

const ICMPV4_DEST_UNREACH = 3;
const ICMP_FRAG_NEEDED = 4;
const ICMPV6_PKT_TOOBIG = 2;

const isU8 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xff;

/**
 * new_icmp_packet's checks and header values, for the wire family `family`:
 * the echo id's range, the type (a name of the family's table or type_N),
 * the code (a name of the type's code table or code_N; none means 0), and
 * an MTU only where the family has one. Returns the values, or packetdrill's
 * error message.
 */
export function icmpHeaderValues(
  family: 4 | 6,
  typeText: string,
  codeText: string | undefined,
  mtu: number | undefined,
  id: number,
): IcmpHeaderValues | string {
  if (id < 0 || id > 65535) return 'invalid echo_id, must be between 0 and 65535';
  const info = (family === 4 ? ICMPV4_TYPES : ICMPV6_TYPES)[typeText];
  const typeN = /^type_(\d+)$/.exec(typeText);
  const type = typeN ? Number(typeN[1]) : (info?.type ?? -1);
  if (!isU8(type)) return `bad ICMP type ${typeText}`;
  let code = -1;
  if (codeText === undefined) code = 0;
  else {
    const codeN = /^code_(\d+)$/.exec(codeText);
    if (codeN) code = Number(codeN[1]);
    else if (!typeN && info?.codes?.[codeText] !== undefined) code = info.codes[codeText]!;
  }
  if (!isU8(code)) return `bad ICMP code ${codeText}`;
  let rest = 0;
  if (mtu !== undefined) {
    if (family === 4) {
      if (type !== ICMPV4_DEST_UNREACH || code !== ICMP_FRAG_NEEDED) return 'ICMPv4 MTU is only valid for unreachable-frag_needed';
      if (mtu < 0 || mtu > 0xffff) return 'ICMPv4 MTU out of 16-bit range';
    } else {
      if (type !== ICMPV6_PKT_TOOBIG || code !== 0) return 'ICMPv6 MTU is only valid for packet_too_big-0';
      if (mtu < 0 || mtu > 0xffffffff) return 'ICMPv6 MTU out of 32-bit range';
    }
    // struct icmpv4's frag is 16 unused bits and the MTU; ICMPv6's MTU takes all 32.
    rest = mtu;
  }
  // The echo identifier, written after the MTU, takes the first 16 bits.
  if (id > 0) rest = ((id << 16) | (rest & 0xffff)) >>> 0;
  return { type, code, rest: rest >>> 0 };
}
