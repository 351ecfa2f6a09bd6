/**
 * The bytes of an inbound ICMP line (packetdrill's new_icmp_packet and
 * map_inbound_icmp_tcp_packet, icmp_packet.c and run_packet.c): from the
 * live remote address to the live local one, an ICMP message (ICMPv6 over
 * IPv6, with RFC 4443 §2.3's pseudo-header checksum) quoting an IP header
 * from the local to the remote address (its length for a 20-byte TCP
 * header and the line's payload; TOS and TTL 0) and the first 8 bytes of
 * TCP: the live ports and the sequence number moved into live space.
 */
import type { IcmpSpec } from './ast.ts';
import type { ScriptAddresses } from './addresses.ts';
import type { Ends } from './sockets.ts';
import { ipv6WordSum } from '../../stack/wire/addr6.ts';
import { writeU16, writeU32 } from '../../stack/wire/bytes.ts';
import { ICMP_HEADER, writeIcmpHeader } from '../../stack/wire/icmp.ts';
import { ICMPV6_HEADER, writeIcmpv6Header } from '../../stack/wire/icmpv6.ts';
import { IPV4_MIN_HEADER, PROTO_ICMP, PROTO_TCP, writeIpv4Header } from '../../stack/wire/ipv4.ts';
import { IPV6_HEADER, NEXTHDR_ICMPV6, writeIpv6Header } from '../../stack/wire/ipv6.ts';
import { TCP_MIN_HEADER } from '../../stack/wire/tcp.ts';

/** The 8 quoted TCP bytes: ports and the live sequence number (the rest stays zero). */
const QUOTED_TCP = 8;

export function encodeInboundIcmp(icmp: IcmpSpec, live: Ends, addresses: ScriptAddresses): Uint8Array {
  const quotedTcp = (p: Uint8Array, at: number): void => {
    writeU16(p, at, live.localPort);
    writeU16(p, at + 2, live.remotePort);
    writeU32(p, at + 4, (icmp.echoedSeq + live.localIsn) >>> 0);
  };
  if (icmp.family === 6) {
    const local = addresses.bytes(live.localIp);
    const remote = addresses.bytes(live.remoteIp);
    const message = ICMPV6_HEADER + IPV6_HEADER + QUOTED_TCP;
    const p = new Uint8Array(IPV6_HEADER + message);
    writeIpv6Header(p, 0, message, NEXTHDR_ICMPV6, 64, 0, 0, remote, 0, local, 0);
    const q = IPV6_HEADER + ICMPV6_HEADER;
    writeIpv6Header(p, q, TCP_MIN_HEADER + icmp.echoedLen, PROTO_TCP, 0, 0, 0, local, 0, remote, 0);
    quotedTcp(p, q + IPV6_HEADER);
    writeIcmpv6Header(p, IPV6_HEADER, p.length, icmp.type, icmp.code, icmp.rest, ipv6WordSum(remote, 0) + ipv6WordSum(local, 0));
    return p;
  }
  const p = new Uint8Array(IPV4_MIN_HEADER + ICMP_HEADER + IPV4_MIN_HEADER + QUOTED_TCP);
  writeIpv4Header(p, 0, { totalLength: p.length, id: 0, dontFragment: false, ttl: 64, tos: 0, protocol: PROTO_ICMP, source: live.remoteIp, destination: live.localIp });
  const q = IPV4_MIN_HEADER + ICMP_HEADER;
  writeIpv4Header(p, q, {
    totalLength: IPV4_MIN_HEADER + TCP_MIN_HEADER + icmp.echoedLen,
    id: 0,
    dontFragment: false,
    ttl: 0,
    tos: 0,
    protocol: PROTO_TCP,
    source: live.localIp,
    destination: live.remoteIp,
  });
  quotedTcp(p, q + IPV4_MIN_HEADER);
  writeIcmpHeader(p, IPV4_MIN_HEADER, p.length, icmp.type, icmp.code, icmp.rest);
  return p;
}
