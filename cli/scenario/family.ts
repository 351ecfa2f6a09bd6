/**
 * The address family a scenario runs over. Every scenario runs over IPv4
 * and over IPv6: the same steps, the subject and the peer each with one
 * address of the family on their link, AF_INET or AF_INET6 sockets on both
 * sides (the agent's and our stack's), the capture, faults and crafted
 * segments in that family. What differs by family is only what Linux makes
 * differ: the MSS (the MTU less 40 over IPv4, less 60 over IPv6,
 * tcp_v6_connect / tcp_v6_syn_recv_sock), the names of the IP and ICMP
 * counters (counters.ts), and the kernel's own choices (flow labels,
 * tcp_v6_send_reset's details), which the comparison meets as they are.
 */
import { formatIpv6, parseIpv6 } from '../../stack/wire/addr6.ts';

export type Family = 4 | 6;

export const FAMILIES: readonly Family[] = [4, 6];

export function familyName(family: Family): string {
  return family === 4 ? 'IPv4' : 'IPv6';
}

/** The link MTU of every run (veth and TUN device alike). */
export const SCENARIO_MTU = 1500;

/** The IP and TCP headers of a segment without options: 20 + 20, or 40 + 20. */
function headers(family: Family): number {
  return (family === 4 ? 20 : 40) + 20;
}

/** The MSS a SYN announces over the family on a SCENARIO_MTU link: 1460 over IPv4, 1440 over IPv6. */
export function familyMss(family: Family): number {
  return SCENARIO_MTU - headers(family);
}

/** The timestamp option (10 bytes, padded to 12) every segment carries once negotiated. */
const TIMESTAMP_OPTION = 12;

/** A full segment's payload with timestamps: 1448 over IPv4, 1428 over IPv6. */
export function fullSegmentBytes(family: Family): number {
  return familyMss(family) - TIMESTAMP_OPTION;
}

/**
 * The two ends of leased subnet `n` (1-250): 198.19.N.1 (peer) and .2
 * (subject) from RFC 2544's benchmarking block, or 2001:2:0:N::1 and ::2
 * (the group in hex) from RFC 5180's 2001:2::/48, each with its prefix
 * length. The text is the canonical form (inet_ntop's), as pcap-read.ts and
 * the tracepoint parser print addresses, so that they compare as strings.
 */
export function leaseAddresses(n: number, family: Family): { peer: string; subject: string; prefix: number } {
  if (!Number.isInteger(n) || n < 1 || n > 250) throw new Error(`subnet ${n}: expected 1-250`);
  if (family === 4) return { peer: `198.19.${n}.1`, subject: `198.19.${n}.2`, prefix: 24 };
  const canonical = (text: string): string => formatIpv6(parseIpv6(text)!);
  const group = n.toString(16);
  return { peer: canonical(`2001:2:0:${group}::1`), subject: canonical(`2001:2:0:${group}::2`), prefix: 64 };
}

/** An address's family, from its text. */
export function familyOf(address: string): Family {
  return address.includes(':') ? 6 : 4;
}

/** The host prefix of an address (a route to it alone): /32 or /128. */
export function hostPrefix(address: string): string {
  return `${address}/${familyOf(address) === 4 ? 32 : 128}`;
}

/** The unspecified address: what a listener's reset shows in the tcp_send_reset tracepoint (it has no peer). */
export function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}
