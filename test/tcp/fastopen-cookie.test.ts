/**
 * Fast Open cookies and their option, against outside oracles: SipHash-2-4's
 * reference vector (the paper's appendix), the cookies Linux 6.18 gives for
 * packetdrill's standard key (`a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4`, set by
 * its defaults.sh) and the addresses its suite runs with (the values its
 * run_all.py passes as TFO_COOKIE, which the kernel's SYN-ACKs carried in
 * the runs of docs/upstream-suites.md), and the option bytes RFC 7413 §4.1.1
 * lays out.
 */
import test from 'ava';
import { fastOpenCookie, formatFastOpenKeys, parseFastOpenKeys, siphash24 } from '../../stack/tcp/fastopen-cookie.ts';
import {
  TCP_ACK,
  TCP_SYN,
  fastOpenCookieOf,
  newTcpOptions,
  parseTcpOptions,
  rawTcpOption,
  tcpOptionsLength,
  writeTcpOptionsLinux,
} from '../../stack/wire/tcp.ts';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const bytes = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));

test('SipHash-2-4: the reference vector (key 00..0f, message 00..0e)', (t) => {
  const key = Uint8Array.from({ length: 16 }, (_, i) => i);
  const msg = Uint8Array.from({ length: 15 }, (_, i) => i);
  t.is(siphash24(key, msg), 0xa129ca6149be45e5n);
  t.is(siphash24(key, new Uint8Array(0)), 0x726fdb47dd0e0e31n);
});

test("the kernel's cookies for packetdrill's key: IPv4 and IPv6 suite addresses", (t) => {
  const [key] = parseFastOpenKeys('a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4')!;
  // The SYN's source (the remote peer) first, then its destination (us).
  t.is(hex(fastOpenCookie(key!, bytes('c0000201'), bytes('c0a80001'))), '3021b9d889017eeb');
  t.is(hex(fastOpenCookie(key!, bytes('fd3dfa7bd17d00000000000000000001'), bytes('fd3d0a0b17d600000000000000000001'))), 'c1d1e9742a47a9bc');
});

test('keys as the sysctl reads and prints them: words little-endian, a backup after a comma', (t) => {
  const keys = parseFastOpenKeys('1-2-3-4,a-b-c-d')!;
  t.is(keys.length, 2);
  t.deepEqual(Array.from(keys[0]!.subarray(0, 8)), [1, 0, 0, 0, 2, 0, 0, 0]);
  t.is(formatFastOpenKeys(keys), '00000001-00000002-00000003-00000004,0000000a-0000000b-0000000c-0000000d');
  for (const bad of ['', '1-2-3', '1-2-3-4-5', 'x-2-3-4', '1-2-3-4,5-6-7-8,9-a-b-c', '123456789-1-1-1']) {
    t.is(parseFastOpenKeys(bad), undefined, bad);
  }
});

/** A bare header with `options` (padded with EOL to 32 bits) and `flags`. */
function synWith(options: Uint8Array, flags = TCP_SYN): Uint8Array {
  const seg = new Uint8Array(20 + ((options.length + 3) & ~3));
  seg.set(options, 20);
  seg[12] = (seg.length / 4) << 4;
  seg[13] = flags;
  return seg;
}

function optionArea(o: Parameters<typeof writeTcpOptionsLinux>[2]): Uint8Array {
  const buf = new Uint8Array(40);
  return buf.slice(0, writeTcpOptionsLinux(buf, 0, o));
}

test('Fast Open options written as tcp_options_write: after the others, NOP-padded when 2 mod 4', (t) => {
  const cookie = bytes('3021b9d889017eeb');
  t.is(hex(optionArea({ mss: 1460, fastOpen: { cookie, exp: false } })), '020405b4' + '220a3021b9d889017eeb0101');
  t.is(hex(optionArea({ fastOpen: { cookie, exp: true } })), 'fe0cf9893021b9d889017eeb');
  t.is(hex(optionArea({ fastOpen: { cookie: new Uint8Array(0), exp: false } })), '22020101');
  t.is(hex(optionArea({ fastOpen: { cookie: new Uint8Array(0), exp: true } })), 'fe04f989');
  t.is(tcpOptionsLength({ mss: 1460, fastOpen: { cookie, exp: false } }), 16);
});

test('Fast Open options read as tcp_parse_fastopen_option: on a SYN only; odd lengths ignored, bad sizes -1', (t) => {
  const o = newTcpOptions();
  const cookie = bytes('3021b9d889017eeb');
  t.true(parseTcpOptions(synWith(optionArea({ fastOpen: { cookie, exp: true } })), o));
  t.is(o.fastOpenLength, 8);
  t.true(o.fastOpenExp);
  t.is(hex(fastOpenCookieOf(o)!), '3021b9d889017eeb');
  parseTcpOptions(synWith(optionArea({ fastOpen: { cookie: new Uint8Array(0), exp: false } })), o);
  t.is(o.fastOpenLength, 0, 'a cookie request');
  t.is(fastOpenCookieOf(o), undefined);
  parseTcpOptions(synWith(optionArea({ fastOpen: { cookie, exp: false } }), TCP_ACK), o);
  t.is(o.fastOpenLength, -1, 'not on a segment without SYN');
  // A 2-byte cookie is below the minimum: malformed. A 3-byte one is odd: ignored.
  const two = new Uint8Array(4);
  two.set([34, 4, 1, 2]);
  parseTcpOptions(synWith(two), o);
  t.is(o.fastOpenLength, -1);
  const odd = Uint8Array.of(34, 5, 1, 2, 3, 1, 1, 1);
  parseTcpOptions(synWith(odd), o);
  t.is(o.fastOpenLength, -1);
  t.is(o.unknownCount, 0);
  // Kind 254 with another magic is an unknown option.
  parseTcpOptions(synWith(Uint8Array.of(254, 4, 0x12, 0x34)), o);
  t.is(o.fastOpenLength, -1);
  t.is(o.unknownCount, 1);
});

test('the named form gives the same bytes as the Linux writer', (t) => {
  const cookie = bytes('c1d1e9742a47a9bc');
  const raw = rawTcpOption({ kind: 'fastopen', exp: true, cookie });
  t.is(raw.kind, 254);
  t.is(raw.length, 12);
  t.is(hex(raw.data), 'f989c1d1e9742a47a9bc');
});
