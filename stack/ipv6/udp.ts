/**
 * UDP over IPv6 (`__udp6_lib_rcv`, net/ipv6/udp.c). As over IPv4 the stack
 * serves no UDP sockets, so every valid datagram meets "no socket":
 * Udp6NoPorts and an ICMPv6 port unreachable. Over IPv6 the checksum is
 * mandatory (RFC 8200 §8.1): a zero one is a checksum error. A datagram to
 * a multicast group finds no member and is ignored (Udp6IgnoredMulti).
 */
import type { Counters } from '../counters.ts';
import type { DropReason } from '../drop.ts';
import { RX_CSUM_TRUSTED } from '../link.ts';
import { verifies } from '../wire/checksum.ts';
import { ipv6WordSum, isIpv6Multicast } from '../wire/addr6.ts';
import { ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH } from '../wire/icmpv6.ts';
import { IPV6_DST_OFFSET, IPV6_SRC_OFFSET, NEXTHDR_UDP, pseudoHeaderSum6 } from '../wire/ipv6.ts';
import { UDP_HEADER, udpChecksum, udpLength } from '../wire/udp.ts';
import type { Icmpv6 } from './icmp.ts';

export class Udp6 {
  constructor(
    private readonly counters: Counters,
    private readonly icmp: Icmpv6,
  ) {}

  input(packet: Uint8Array, hl: number, total: number, rxMeta = 0): DropReason | undefined {
    const c = this.counters;
    const available = total - hl;
    if (available < UDP_HEADER) {
      c.Udp6InErrors++;
      return 'UDP_INVALID';
    }
    // A length of 0 is a jumbogram's (RFC 2675 §4): the datagram is what IP delivered.
    let length = udpLength(packet.subarray(hl));
    if (length === 0) length = available;
    if (length < UDP_HEADER || length > available) {
      c.Udp6InErrors++;
      return 'UDP_INVALID';
    }
    const sums = ipv6WordSum(packet, IPV6_SRC_OFFSET) + ipv6WordSum(packet, IPV6_DST_OFFSET);
    const multicast = isIpv6Multicast(packet, IPV6_DST_OFFSET);
    // The sum itself is checked only on the way to "no socket" (udp_lib_checksum_complete); a zero one never passes.
    const bad = udpChecksum(packet.subarray(hl)) === 0 || (!multicast && (rxMeta & RX_CSUM_TRUSTED) === 0 && !verifies(packet, hl, hl + length, pseudoHeaderSum6(sums, NEXTHDR_UDP, length)));
    if (bad) {
      c.Udp6InCsumErrors++;
      c.Udp6InErrors++;
      return 'UDP_CSUM';
    }
    // __udp6_lib_mcast_deliver with no socket in the group: ignored, no error.
    if (multicast) {
      c.Udp6IgnoredMulti++;
      return undefined;
    }
    c.Udp6NoPorts++;
    this.icmp.send(packet.subarray(0, total), ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0);
    return 'NO_SOCKET';
  }
}
