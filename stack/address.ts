/**
 * How the stack carries an address: as one number, so that every table is
 * keyed by integers and no address string is built on the packet path.
 *
 * - An IPv4 address is its unsigned 32-bit value (0 … 2^32 − 1).
 * - An IPv6 address is a handle at or above 2^32 into the stack's table of
 *   IPv6 addresses (stack/ip/ipv6-addresses.ts): the table keeps each
 *   address's 16 bytes once, with what the packet path needs of it (the
 *   pseudo-header word sum, a keyed digest for hashes).
 *
 * Connections, listeners, request socks and TIME_WAIT minisocks keep the
 * numbers they were made with; whatever keeps an IPv6 handle beyond the
 * current round of input, timers or an application call holds it
 * (AddressBook.hold) and releases it when done. A v4-mapped IPv6 address
 * (::ffff:a.b.c.d) is never a handle: a dual-stack socket talks IPv4 on the
 * wire and carries the IPv4 number; only its Endpoint shows it mapped.
 */

import { formatIpv4 } from './wire/addr.ts';

/** The first IPv6 handle: above every IPv4 address. */
export const IPV6_HANDLE_BASE = 2 ** 32;

/** True for an IPv6 handle, false for an IPv4 address. */
export const isIpv6 = (a: number): boolean => a >= IPV6_HANDLE_BASE;

/** The stack's IPv6 addresses as TCP, IP and the sockets use them (Ipv6AddressTable). */
export interface AddressBook {
  /**
   * The handle of the 16 bytes at `offset` in `b` (an address read from a
   * packet or parsed from text). A new one lives until the end of the
   * current round (the stack's next flush) unless someone holds it.
   */
  intern(b: Uint8Array, offset: number): number;
  /** Keeps an IPv6 handle alive beyond the current round (no-op for IPv4). */
  hold(a: number): void;
  /** Gives up one hold (no-op for IPv4). */
  release(a: number): void;
  /**
   * Where an IPv6 handle's 16 bytes are: `store` at `offsetOf(a)`. Read
   * them there (never write); `store` may be replaced when the table grows,
   * so read it again after any intern.
   */
  readonly store: Uint8Array;
  offsetOf(a: number): number;
  /** The sum of the address's 16-bit words, as a pseudo header adds it (RFC 8200 §8.1; RFC 9293 §3.1 for IPv4). */
  wordSum(a: number): number;
  /** A keyed 32-bit digest of the address, stable for its bytes (IPv4: the address itself): what the ISN and SYN-cookie hashes take. */
  digest(a: number): number;
  /** The address in text: dotted quad, or IPv6 as inet_ntop prints it. */
  format(a: number): string;
  /**
   * False for an IPv6 address no route leads to (v4-mapped, or the
   * unspecified ::): what arrives from one is delivered, but anything sent
   * back fails the route lookup (Ip6OutNoRoutes). True for IPv4.
   */
  routable(a: number): boolean;
}

/**
 * An address as a socket of the given family shows it (getsockname,
 * getpeername, `ss`): an IPv6 socket's IPv4 addresses v4-mapped
 * ('::ffff:198.18.0.1'), its wildcard '::' (RFC 4291 §2.5.5.2).
 */
export function socketAddressText(book: AddressBook, a: number, ipv6Socket: boolean): string {
  if (!ipv6Socket || isIpv6(a)) return book.format(a);
  return a === 0 ? '::' : `::ffff:${formatIpv4(a)}`;
}
