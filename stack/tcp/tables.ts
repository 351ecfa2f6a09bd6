/**
 * The demultiplexing tables (net/ipv4/inet_hashtables.c): connections by
 * 4-tuple, TIME_WAIT minisocks by 4-tuple, listeners by (address, port) with
 * the exact address tried before the wildcard, and the bind table that
 * enforces EADDRINUSE (inet_csk_bind_conflict).
 *
 * The stack owns one address in each family, and a peer of one family only
 * ever talks to ours of the same, so a 4-tuple is (remote address, remote
 * port, local port), the address a number in both families
 * (stack/address.ts): keyed as remote·2^16+rport (exact below 2^53: an IPv6
 * handle is below 2^34) and then local port, with no string building on
 * the packet path. A remote endpoint almost
 * always talks to one local port, so its slot holds that entry itself and
 * grows a Map only for a second local port: one small object per entry, not
 * a Map per entry (a Map costs ~150 bytes even with one entry).
 */
import { IPV6_HANDLE_BASE } from '../address.ts';

export class FourTupleMap<T> {
  private readonly outer = new Map<number, Slot<T>>();
  size = 0;

  get(raddr: number, rport: number, lport: number): T | undefined {
    const slot = this.outer.get(raddr * 65536 + rport);
    if (slot === undefined) return undefined;
    if (slot.lport === lport) return slot.value;
    return slot.more?.get(lport);
  }

  set(raddr: number, rport: number, lport: number, value: T): void {
    const key = raddr * 65536 + rport;
    const slot = this.outer.get(key);
    if (slot === undefined) {
      this.outer.set(key, new Slot(lport, value));
      this.size++;
      return;
    }
    if (slot.lport === lport) {
      slot.value = value;
      return;
    }
    slot.more ??= new Map();
    if (!slot.more.has(lport)) this.size++;
    slot.more.set(lport, value);
  }

  delete(raddr: number, rport: number, lport: number): boolean {
    const key = raddr * 65536 + rport;
    const slot = this.outer.get(key);
    if (slot === undefined) return false;
    const more = slot.more;
    if (slot.lport === lport) {
      if (more === undefined || more.size === 0) {
        this.outer.delete(key);
      } else {
        // The slot takes over one of the others.
        const [nextPort, nextValue] = more.entries().next().value as [number, T];
        more.delete(nextPort);
        slot.lport = nextPort;
        slot.value = nextValue;
        if (more.size === 0) slot.more = undefined;
      }
      this.size--;
      return true;
    }
    if (more === undefined || !more.delete(lport)) return false;
    if (more.size === 0) slot.more = undefined;
    this.size--;
    return true;
  }

  *values(): IterableIterator<T> {
    for (const slot of this.outer.values()) {
      yield slot.value;
      if (slot.more !== undefined) yield* slot.more.values();
    }
  }

  clear(): void {
    this.outer.clear();
    this.size = 0;
  }
}

/** One remote endpoint's entries in a FourTupleMap: the first inline, any others by local port. */
class Slot<T> {
  more: Map<number, T> | undefined = undefined;
  constructor(
    public lport: number,
    public value: T,
  ) {}
}

/** Something bound to a local port: a listener or a bound/connected socket. */
export interface PortOwner {
  /**
   * 0 = the wildcard (INADDR_ANY; for an IPv6 socket, ::); an IPv4 address
   * (for an IPv6 socket: bound to it v4-mapped, ::ffff:a.b.c.d); or an IPv6
   * address's handle (stack/address.ts).
   */
  bindAddress: number;
  /** An AF_INET6 socket; absent or false: AF_INET. */
  ipv6?: boolean;
  /** IPV6_V6ONLY: an IPv6 socket that takes no IPv4 (net.ipv6.bindv6only by default, 0). */
  v6only?: boolean;
  reuseAddress: boolean;
  listening: boolean;
  /** Bound implicitly by connect(): may share a port with other connects, never with bind(). */
  autobound?: boolean;
}

/** LOOPBACK4_IPV6 (127.0.0.6): the IPv4 address Linux gives an IPv6 socket bound to a real IPv6 address, so that no IPv4 one ever equals it. */
const LOOPBACK4_IPV6 = 0x7f000006;

/** sk_rcv_saddr: a socket's bound address as IPv4 sees it. */
function ipv4View(o: PortOwner): number {
  if (o.ipv6 !== true) return o.bindAddress;
  return o.bindAddress >= IPV6_HANDLE_BASE ? LOOPBACK4_IPV6 : o.bindAddress;
}

/** ipv6_addr_type of an IPv6 socket's bound address, as far as binding cares. */
function ipv6Kind(o: PortOwner): 'any' | 'mapped' | 'ipv6' {
  if (o.ipv6 !== true || (o.bindAddress !== 0 && o.bindAddress < IPV6_HANDLE_BASE)) return 'mapped';
  return o.bindAddress === 0 ? 'any' : 'ipv6';
}

/** ipv4_rcv_saddr_equal with both wildcards matching. */
function ipv4AddressesOverlap(a: number, b: number, bV6only: boolean): boolean {
  if (bV6only) return false;
  return a === b || a === 0 || b === 0;
}

/**
 * inet_rcv_saddr_equal(sk, sk2, match_wildcard = true): whether two
 * sockets' bound addresses overlap for bind's conflict check, across the
 * families: an IPv6 wildcard overlaps every IPv4 address unless it is
 * v6-only; a v4-mapped address is its IPv4 address; an IPv4 wildcard
 * overlaps an IPv6 socket unless that one is v6-only (ipv6_rcv_saddr_equal).
 */
export function boundAddressesOverlap(sk: PortOwner, sk2: PortOwner): boolean {
  if (sk.ipv6 !== true) return ipv4AddressesOverlap(ipv4View(sk), ipv4View(sk2), sk2.v6only === true);
  const kind1 = ipv6Kind(sk);
  const kind2 = ipv6Kind(sk2);
  if (kind1 === 'mapped' && kind2 === 'mapped') return ipv4AddressesOverlap(ipv4View(sk), ipv4View(sk2), sk2.v6only === true);
  if (kind1 === 'any' && kind2 === 'any') return true;
  if (kind2 === 'any' && !(sk2.v6only === true && kind1 === 'mapped')) return true;
  if (kind1 === 'any' && !(sk.v6only === true && kind2 === 'mapped')) return true;
  return sk2.ipv6 === true && sk.bindAddress === sk2.bindAddress;
}

/**
 * Whether a listener takes a segment for local address `address`: an IPv4
 * one (below 2^32) reaches IPv4 listeners and IPv6 ones that are not
 * v6-only, bound to it (v4-mapped) or to the wildcard; an IPv6 one only
 * IPv6 listeners bound to it or to ::. 'exact', 'wildcard' or false.
 */
function listenerMatch(l: PortOwner, address: number): 'exact' | 'wildcard' | false {
  if (address >= IPV6_HANDLE_BASE) {
    if (l.ipv6 !== true) return false;
    return l.bindAddress === address ? 'exact' : l.bindAddress === 0 ? 'wildcard' : false;
  }
  if (l.ipv6 === true && (l.v6only === true || l.bindAddress >= IPV6_HANDLE_BASE)) return false;
  return l.bindAddress === address ? 'exact' : l.bindAddress === 0 ? 'wildcard' : false;
}

/**
 * Who holds each local port (the bind hash's owner lists). An owner may be
 * added more than once (the accepted children of one listener share one
 * PortOwner, as their inet_inherit_port entries would all answer a bind
 * conflict check alike); it leaves when every add has been removed.
 */
export class BindTable {
  private readonly ports = new Map<number, Map<PortOwner, number>>();

  owners(port: number): Iterable<PortOwner> | undefined {
    return this.ports.get(port)?.keys();
  }

  /**
   * inet_csk_bind_conflict: two sockets on one port conflict when their
   * addresses overlap (equal, or either is the wildcard), unless both set
   * SO_REUSEADDR and the existing one is not listening; listen() re-checks
   * with the candidate listening, as inet_csk_listen_start does.
   */
  conflicts(port: number, candidate: PortOwner): boolean {
    const owners = this.ports.get(port);
    if (owners === undefined) return false;
    for (const o of owners.keys()) {
      if (o === candidate) continue;
      if (!boundAddressesOverlap(candidate, o)) continue;
      const reuse = o.reuseAddress && candidate.reuseAddress && !o.listening;
      if (!reuse) return true;
    }
    return false;
  }

  add(port: number, owner: PortOwner): void {
    let owners = this.ports.get(port);
    if (owners === undefined) {
      owners = new Map();
      this.ports.set(port, owners);
    }
    owners.set(owner, (owners.get(owner) ?? 0) + 1);
  }

  remove(port: number, owner: PortOwner): void {
    const owners = this.ports.get(port);
    const held = owners?.get(owner);
    if (owners === undefined || held === undefined) return;
    if (held > 1) owners.set(owner, held - 1);
    else owners.delete(owner);
    if (owners.size === 0) this.ports.delete(port);
  }

  /** Every add not yet removed, over all ports (a leak check counts these). */
  get references(): number {
    let n = 0;
    for (const owners of this.ports.values()) for (const held of owners.values()) n += held;
    return n;
  }

  clear(): void {
    this.ports.clear();
  }

  inUse(port: number): boolean {
    return this.ports.has(port);
  }
}

/**
 * Listeners by port (__inet_lookup_listener, inet6_lookup_listener): the
 * listeners bound to the segment's local address first, then those bound
 * to the wildcard; within each, for an IPv4 segment, an IPv4 listener
 * before an IPv6 one (compute_score's point for PF_INET).
 */
export class ListenerTable<L extends PortOwner> {
  private readonly byPort = new Map<number, L[]>();
  size = 0;

  lookup(address: number, port: number): L | undefined {
    const candidates = this.byPort.get(port);
    if (candidates === undefined) return undefined;
    let exact: L | undefined;
    let wildcard: L | undefined;
    for (const l of candidates) {
      const match = listenerMatch(l, address);
      if (match === 'exact') {
        if (exact === undefined || (exact.ipv6 === true && l.ipv6 !== true)) exact = l;
      } else if (match === 'wildcard') {
        if (wildcard === undefined || (wildcard.ipv6 === true && l.ipv6 !== true)) wildcard = l;
      }
    }
    return exact ?? wildcard;
  }

  add(port: number, listener: L): void {
    const list = this.byPort.get(port);
    if (list) list.push(listener);
    else this.byPort.set(port, [listener]);
    this.size++;
  }

  remove(port: number, listener: L): void {
    const list = this.byPort.get(port);
    if (!list) return;
    const i = list.indexOf(listener);
    if (i < 0) return;
    list.splice(i, 1);
    this.size--;
    if (list.length === 0) this.byPort.delete(port);
  }

  *all(): IterableIterator<L> {
    for (const list of this.byPort.values()) yield* list;
  }

  clear(): void {
    this.byPort.clear();
    this.size = 0;
  }
}
