/** The table of IPv6 address handles (stack/ip/ipv6-addresses.ts): lookup, holds, the sweep, growth. */
import test from 'ava';
import { IPV6_HANDLE_BASE, isIpv6 } from '../../stack/address.ts';
import { Ipv6AddressTable } from '../../stack/ip/ipv6-addresses.ts';
import { SeededRandom } from '../../stack/random.ts';
import { formatIpv6, ipv6WordSum, parseIpv6 } from '../../stack/wire/addr6.ts';

const addr = (text: string): Uint8Array => parseIpv6(text)!;

test('the same bytes give the same handle, wherever they lie; handles are above every IPv4 address', (t) => {
  const table = new Ipv6AddressTable(new SeededRandom(1));
  const a = table.intern(addr('2001:2::1'), 0);
  const packet = new Uint8Array(40);
  packet.set(addr('2001:2::1'), 8);
  t.is(table.intern(packet, 8), a);
  t.true(isIpv6(a));
  t.true(a >= IPV6_HANDLE_BASE);
  t.false(isIpv6(0xffffffff));
  t.not(table.intern(addr('2001:2::2'), 0), a);
  t.is(table.format(a), '2001:2::1');
  t.is(table.format(0xc6120001), '198.18.0.1');
  t.is(table.wordSum(a), ipv6WordSum(addr('2001:2::1'), 0));
  t.is(table.wordSum(0xc6120001), 0xc612 + 0x0001);
  t.is(formatIpv6(table.store, table.offsetOf(a)), '2001:2::1');
});

test('an unheld handle goes at the sweep; a held one stays until every hold is released', (t) => {
  const table = new Ipv6AddressTable(new SeededRandom(2));
  const passing = table.intern(addr('2001:db8::1'), 0);
  const kept = table.intern(addr('2001:db8::2'), 0);
  table.hold(kept);
  table.hold(kept);
  table.sweep();
  t.is(table.size, 1);
  t.throws(() => table.format(passing), { message: /not a live IPv6 address handle/ });
  table.release(kept);
  table.sweep();
  t.is(table.format(kept), '2001:db8::2', 'one hold left');
  table.release(kept);
  t.is(table.heldCount, 0);
  table.sweep();
  t.is(table.size, 0);
  t.throws(() => table.release(kept));
  // Held and released within one round, then interned again: the same address, still findable.
  const again = table.intern(addr('2001:db8::3'), 0);
  table.hold(again);
  table.release(again);
  t.is(table.intern(addr('2001:db8::3'), 0), again);
  table.sweep();
  t.is(table.size, 0);
});

test('IPv4 numbers pass through hold, release, digest and sum untouched', (t) => {
  const table = new Ipv6AddressTable(new SeededRandom(3));
  table.hold(0x0a000001);
  table.release(0x0a000001);
  table.release(0x0a000001);
  t.is(table.digest(0x0a000001), 0x0a000001);
  t.is(table.size, 0);
});

test('thousands of addresses: the table grows, every handle finds its bytes, freed slots are reused', (t) => {
  const table = new Ipv6AddressTable(new SeededRandom(4));
  const handles: number[] = [];
  const bytes = (i: number): Uint8Array => addr(`2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::${((i * 7919) & 0xffff || 1).toString(16)}`);
  for (let i = 0; i < 5000; i++) {
    const h = table.intern(bytes(i), 0);
    table.hold(h);
    handles.push(h);
  }
  t.is(new Set(handles).size, 5000);
  for (let i = 0; i < 5000; i++) {
    if (table.intern(bytes(i), 0) !== handles[i]) t.fail(`address ${i} lost`);
  }
  const highest = Math.max(...handles);
  for (let i = 0; i < 5000; i += 2) table.release(handles[i]!);
  table.sweep();
  t.is(table.size, 2500);
  for (let i = 5000; i < 7500; i++) table.hold(table.intern(bytes(i), 0));
  t.is(table.size, 5000);
  t.is(Math.max(highest, ...Array.from({ length: 2500 }, (_, k) => table.intern(bytes(5000 + k), 0))), highest, 'new addresses took the freed slots');
  for (let i = 1; i < 5000; i += 2) if (table.intern(bytes(i), 0) !== handles[i]) t.fail(`address ${i} moved`);
});

test('the digest depends on the bytes and the secret, not on the handle', (t) => {
  const a = new Ipv6AddressTable(new SeededRandom(5));
  const b = new Ipv6AddressTable(new SeededRandom(5));
  const c = new Ipv6AddressTable(new SeededRandom(6));
  b.intern(addr('2001:db8::99'), 0); // moves b's handles by one
  const x = addr('2001:db8::1');
  t.is(a.digest(a.intern(x, 0)), b.digest(b.intern(x, 0)));
  t.not(a.digest(a.intern(x, 0)), c.digest(c.intern(x, 0)));
});
