/**
 * UDP input (`__udp4_lib_rcv`, net/ipv4/udp.c). The stack serves no UDP
 * sockets yet, so every valid datagram meets "no socket": UdpNoPorts and an
 * ICMP port unreachable, as Linux answers a closed port (RFC 1122 §4.1.3.1).
 */
import type { Counters } from '../counters.ts';
import type { DropReason } from '../drop.ts';
import { pseudoHeaderSum, verifies } from '../wire/checksum.ts';
import { ICMP_DEST_UNREACH, ICMP_PORT_UNREACH } from '../wire/icmp.ts';
import { PROTO_UDP, ipDestination, ipSource } from '../wire/ipv4.ts';
import { UDP_HEADER, udpChecksum, udpLength } from '../wire/udp.ts';
import type { Icmp } from './icmp.ts';
import { RX_CSUM_TRUSTED } from '../link.ts';

export class Udp {
  constructor(
    private readonly counters: Counters,
    private readonly icmp: Icmp,
  ) {}

  input(packet: Uint8Array, hl: number, total: number, rxMeta = 0): DropReason | undefined {
    const c = this.counters;
    const available = total - hl;
    const length = available >= UDP_HEADER ? udpLength(packet.subarray(hl)) : 0;
    // udp4_lib_rcv "short_packet": the UDP length must fit what IP delivered.
    if (available < UDP_HEADER || length < UDP_HEADER || length > available) {
      c.UdpInErrors++;
      return 'UDP_INVALID';
    }
    const end = hl + length;
    const sum = udpChecksum(packet.subarray(hl));
    // A zero checksum means "not computed" (RFC 768); otherwise it must verify,
    // unless the link says the kernel owes it or checked it (skb_csum_unnecessary).
    if (sum !== 0 && (rxMeta & RX_CSUM_TRUSTED) === 0 && !verifies(packet, hl, end, pseudoHeaderSum(ipSource(packet), ipDestination(packet), PROTO_UDP, length))) {
      c.UdpInCsumErrors++;
      c.UdpInErrors++;
      return 'UDP_CSUM';
    }
    c.UdpNoPorts++;
    this.icmp.sendError(packet.subarray(0, total), ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);
    return 'NO_SOCKET';
  }
}
