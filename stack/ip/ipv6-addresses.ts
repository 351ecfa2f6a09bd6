/**
 * The stack's table of IPv6 addresses: each address seen in a packet or
 * given by the application gets a small integer handle (stack/address.ts),
 * so that connections, listeners and the demultiplexing tables key on
 * numbers as they do for IPv4, and the packet path never builds a string.
 *
 * Lookup hashes the four 32-bit words with a secret drawn from the stack's
 * Random (a peer cannot choose addresses that pile into one chain, as
 * Linux keys inet6_ehashfn with a random secret) and compares the words.
 *
 * Lifetime: a handle made by intern() lives until the end of the current
 * round (sweep(), called by the stack's flush) unless something holds it;
 * each hold is paired with one release, and a handle whose holds are all
 * released is freed at the next sweep. A spoofed-source flood therefore
 * costs nothing after its round, while a connection keeps its peer's
 * handle for as long as it exists. Freed slots are reused.
 */
import { IPV6_HANDLE_BASE, type AddressBook } from '../address.ts';
import type { Random } from '../random.ts';
import { formatIpv4 } from '../wire/addr.ts';
import { formatIpv6, ipv6WordSum, isIpv6Unspecified, isIpv6V4Mapped } from '../wire/addr6.ts';
import * as bytes from '../wire/bytes.ts';

const { readU32 } = bytes;

const INITIAL_SLOTS = 64;
const EMPTY = -1;

export class Ipv6AddressTable implements AddressBook {
  store: Uint8Array;
  /** The four big-endian words of each slot's address (compared on lookup). */
  private words: Uint32Array;
  private holds: Int32Array;
  private sums: Int32Array;
  private digests: Uint32Array;
  /** The next slot in the same hash chain, or EMPTY. */
  private next: Int32Array;
  private hashes: Int32Array;
  private live: Uint8Array;
  /** First slot of each hash chain, by hash. */
  private readonly chains = new Map<number, number>();
  private readonly free: number[] = [];
  private used = 0;
  /** Slots made or released to no holds since the last sweep: freed then if still unheld. */
  private pending: number[] = [];
  /** Drawn at the first intern, so a stack that never meets IPv6 draws nothing (its runs stay as they were). */
  private secretWords: Uint32Array | undefined;
  private count = 0;

  constructor(private readonly random: Random) {
    this.store = new Uint8Array(INITIAL_SLOTS * 16);
    this.words = new Uint32Array(INITIAL_SLOTS * 4);
    this.holds = new Int32Array(INITIAL_SLOTS);
    this.sums = new Int32Array(INITIAL_SLOTS);
    this.digests = new Uint32Array(INITIAL_SLOTS);
    this.next = new Int32Array(INITIAL_SLOTS);
    this.hashes = new Int32Array(INITIAL_SLOTS);
    this.live = new Uint8Array(INITIAL_SLOTS);
  }

  /** Addresses in the table (held, or made this round). */
  get size(): number {
    return this.count;
  }

  /** Holds not yet released, over all addresses (a leak check counts these). */
  get heldCount(): number {
    let n = 0;
    for (let s = 0; s < this.used; s++) if (this.live[s] === 1) n += this.holds[s]!;
    return n;
  }

  intern(b: Uint8Array, offset: number): number {
    const w0 = readU32(b, offset);
    const w1 = readU32(b, offset + 4);
    const w2 = readU32(b, offset + 8);
    const w3 = readU32(b, offset + 12);
    const hash = this.hash(w0, w1, w2, w3);
    const head = this.chains.get(hash);
    const words = this.words;
    for (let s = head ?? EMPTY; s !== EMPTY; s = this.next[s]!) {
      const i = s * 4;
      if (words[i] === w0 && words[i + 1] === w1 && words[i + 2] === w2 && words[i + 3] === w3) return IPV6_HANDLE_BASE + s;
    }
    const slot = this.allocate();
    const i = slot * 4;
    this.words[i] = w0;
    this.words[i + 1] = w1;
    this.words[i + 2] = w2;
    this.words[i + 3] = w3;
    this.store.set(b.subarray(offset, offset + 16), slot * 16);
    this.sums[slot] = ipv6WordSum(this.store, slot * 16);
    this.digests[slot] = this.digestOf(w0, w1, w2, w3);
    this.holds[slot] = 0;
    this.hashes[slot] = hash;
    this.next[slot] = head ?? EMPTY;
    this.chains.set(hash, slot);
    this.live[slot] = 1;
    this.count++;
    this.pending.push(slot);
    return IPV6_HANDLE_BASE + slot;
  }

  hold(a: number): void {
    if (a < IPV6_HANDLE_BASE) return;
    this.holds[this.slotOf(a)]!++;
  }

  release(a: number): void {
    if (a < IPV6_HANDLE_BASE) return;
    const slot = this.slotOf(a);
    const held = this.holds[slot]!;
    if (held <= 0) throw new Error(`IPv6 address ${this.format(a)} released more often than held`);
    this.holds[slot] = held - 1;
    if (held === 1) this.pending.push(slot);
  }

  /** Frees every address made or released this round that nobody holds (the stack calls it at each flush). */
  sweep(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    for (const slot of pending) {
      if (this.live[slot] === 1 && this.holds[slot] === 0) this.unlink(slot);
    }
    pending.length = 0;
  }

  offsetOf(a: number): number {
    return this.slotOf(a) * 16;
  }

  wordSum(a: number): number {
    if (a < IPV6_HANDLE_BASE) return (a >>> 16) + (a & 0xffff);
    return this.sums[this.slotOf(a)]!;
  }

  digest(a: number): number {
    if (a < IPV6_HANDLE_BASE) return a;
    return this.digests[this.slotOf(a)]!;
  }

  format(a: number): string {
    if (a < IPV6_HANDLE_BASE) return formatIpv4(a);
    return formatIpv6(this.store, this.offsetOf(a));
  }

  routable(a: number): boolean {
    if (a < IPV6_HANDLE_BASE) return true;
    const at = this.offsetOf(a);
    return !isIpv6V4Mapped(this.store, at) && !isIpv6Unspecified(this.store, at);
  }

  /** A copy of an IPv6 handle's 16 bytes. */
  bytes(a: number): Uint8Array {
    const at = this.offsetOf(a);
    return this.store.slice(at, at + 16);
  }

  private slotOf(a: number): number {
    const slot = a - IPV6_HANDLE_BASE;
    if (!(slot >= 0 && slot < this.used && this.live[slot] === 1)) throw new Error(`not a live IPv6 address handle: ${a}`);
    return slot;
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.holds.length) this.grow();
    return this.used++;
  }

  private grow(): void {
    const n = this.holds.length * 2;
    this.store = copyInto(new Uint8Array(n * 16), this.store);
    this.words = copyInto(new Uint32Array(n * 4), this.words);
    this.holds = copyInto(new Int32Array(n), this.holds);
    this.sums = copyInto(new Int32Array(n), this.sums);
    this.digests = copyInto(new Uint32Array(n), this.digests);
    this.next = copyInto(new Int32Array(n), this.next);
    this.hashes = copyInto(new Int32Array(n), this.hashes);
    this.live = copyInto(new Uint8Array(n), this.live);
  }

  private unlink(slot: number): void {
    const hash = this.hashes[slot]!;
    const head = this.chains.get(hash)!;
    if (head === slot) {
      const after = this.next[slot]!;
      if (after === EMPTY) this.chains.delete(hash);
      else this.chains.set(hash, after);
    } else {
      let s = head;
      while (this.next[s] !== slot) s = this.next[s]!;
      this.next[s] = this.next[slot]!;
    }
    this.live[slot] = 0;
    this.count--;
    this.free.push(slot);
  }

  private get secret(): Uint32Array {
    const r = this.random;
    return (this.secretWords ??= Uint32Array.of(r.u32(), r.u32(), r.u32(), r.u32(), r.u32()));
  }

  /** The chain key: a keyed mix of the four words, kept to 30 bits so V8 stores it as a small integer. */
  private hash(w0: number, w1: number, w2: number, w3: number): number {
    const k = this.secret;
    let h = k[0]!;
    h = mix(h, w0 ^ k[1]!);
    h = mix(h, w1 ^ k[2]!);
    h = mix(h, w2 ^ k[3]!);
    h = mix(h, w3 ^ k[4]!);
    return (h ^ (h >>> 15)) & 0x3fffffff;
  }

  /** The digest: the same mix under the secret's words in another order, so it says nothing of the chain key. */
  private digestOf(w0: number, w1: number, w2: number, w3: number): number {
    const k = this.secret;
    let h = k[4]!;
    h = mix(h, w3 ^ k[0]!);
    h = mix(h, w2 ^ k[1]!);
    h = mix(h, w1 ^ k[2]!);
    h = mix(h, w0 ^ k[3]!);
    return (h ^ (h >>> 16)) >>> 0;
  }
}

/** One round of a multiply-rotate mix (murmur3's body). */
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function copyInto<T extends Uint8Array | Uint32Array | Int32Array>(to: T, from: T): T {
  to.set(from);
  return to;
}
