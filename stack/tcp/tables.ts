/**
 * The demultiplexing tables (net/ipv4/inet_hashtables.c): connections by
 * 4-tuple, TIME_WAIT minisocks by 4-tuple, listeners by (address, port) with
 * the exact address tried before the wildcard, and the bind table that
 * enforces EADDRINUSE (inet_csk_bind_conflict).
 *
 * The stack owns one address, so a 4-tuple is (remote address, remote port,
 * local port): keyed as remote·2^16+rport (exact below 2^53) and then local
 * port, with no string building on the packet path. A remote endpoint almost
 * always talks to one local port, so its slot holds that entry itself and
 * grows a Map only for a second local port: one small object per entry, not
 * a Map per entry (a Map costs ~150 bytes even with one entry).
 */
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
  /** 0 = INADDR_ANY. */
  bindAddress: number;
  reuseAddress: boolean;
  listening: boolean;
  /** Bound implicitly by connect(): may share a port with other connects, never with bind(). */
  autobound?: boolean;
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
      const overlap = o.bindAddress === 0 || candidate.bindAddress === 0 || o.bindAddress === candidate.bindAddress;
      if (!overlap) continue;
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

/** Listeners by port; lookup prefers the exact local address, then the wildcard (__inet_lookup_listener). */
export class ListenerTable<L extends { bindAddress: number }> {
  private readonly byPort = new Map<number, L[]>();
  size = 0;

  lookup(address: number, port: number): L | undefined {
    const candidates = this.byPort.get(port);
    if (candidates === undefined) return undefined;
    let wildcard: L | undefined;
    for (const l of candidates) {
      if (l.bindAddress === address) return l;
      if (l.bindAddress === 0) wildcard ??= l;
    }
    return wildcard;
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
