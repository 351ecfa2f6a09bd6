/**
 * Addresses as the packet-script runner keeps them: numbers, in the stack's
 * convention (stack/address.ts): an IPv4 address is its 32-bit value, an
 * IPv6 address a number at or above 2^32, here an index into this table of
 * the 16-byte addresses the run has met (the script's two, and whatever the
 * stack sends from or to). So a socket's ends and a packet's source and
 * destination compare as numbers in either family.
 */
import { IPV6_HANDLE_BASE, isIpv6 } from '../../stack/address.ts';
import { formatIpv4, parseIpv4 } from '../../stack/wire/addr.ts';
import { formatIpv6, parseIpv6 } from '../../stack/wire/addr6.ts';

export class ScriptAddresses {
  private readonly list: Uint8Array[] = [];
  private readonly byText = new Map<string, number>();

  /** The number of the IPv6 address in the 16 bytes at `offset` of `b`. */
  intern(b: Uint8Array, offset = 0): number {
    const bytes = b.slice(offset, offset + 16);
    const text = formatIpv6(bytes);
    let id = this.byText.get(text);
    if (id === undefined) {
      id = IPV6_HANDLE_BASE + this.list.length;
      this.list.push(bytes);
      this.byText.set(text, id);
    }
    return id;
  }

  /** An IPv6 address's 16 bytes (do not write them). */
  bytes(a: number): Uint8Array {
    const b = isIpv6(a) ? this.list[a - IPV6_HANDLE_BASE] : undefined;
    if (b === undefined) throw new RangeError(`${a} is not an IPv6 address of this run`);
    return b;
  }

  /** Text of an address of either family, as inet_ntop prints it. */
  format(a: number): string {
    return isIpv6(a) ? formatIpv6(this.bytes(a)) : formatIpv4(a);
  }

  /** An address given as text (an option's value): IPv4 or IPv6 as `family` says, a /prefix allowed; undefined when it is not one. */
  parse(text: string, family: 4 | 6): number | undefined {
    const bare = text.replace(/\/\d+$/, '');
    if (family === 4) return parseIpv4(bare);
    const b = parseIpv6(bare);
    return b === undefined ? undefined : this.intern(b);
  }
}
