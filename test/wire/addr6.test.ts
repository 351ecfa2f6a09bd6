/**
 * IPv6 addresses: the text forms checked against the C library as the
 * oracle (Python's socket.inet_pton and socket.inet_ntop call glibc's
 * inet_pton and inet_ntop directly), then the predicates, prefixes and
 * constructors against straightforward references.
 *
 * One python3 process per oracle test, fed the whole batch as JSON on stdin.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import {
  IPV6_ALL_NODES,
  IPV6_ALL_ROUTERS,
  IPV6_ANY,
  IPV6_LOOPBACK,
  copyIpv6,
  formatIpv6,
  ipv4FromMapped,
  ipv6Equal,
  ipv6InPrefix,
  ipv6MulticastScope,
  ipv6WordSum,
  isIpv6LinkLocal,
  isIpv6Loopback,
  isIpv6Multicast,
  isIpv6Unspecified,
  isIpv6V4Mapped,
  parseIpv6,
  parseIpv6Prefix,
  readIpv6,
  solicitedNodeMulticast,
  v4MappedIpv6,
} from '../../stack/wire/addr6.ts';
import { SeededRandom } from '../../stack/random.ts';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

interface OracleAnswer {
  libc: string;
  ntop: string[];
  pton: (string | null)[];
}

const ORACLE = `
import json, platform, socket, sys
req = json.load(sys.stdin)
def pton(text):
    try:
        return socket.inet_pton(socket.AF_INET6, text).hex()
    except OSError:
        return None
json.dump({
    "libc": platform.libc_ver()[0],
    "ntop": [socket.inet_ntop(socket.AF_INET6, bytes.fromhex(h)) for h in req["ntop"]],
    "pton": [pton(t) for t in req["pton"]],
}, sys.stdout)
`;

/** Asks glibc, through python3, to format `ntop` (hex addresses) and parse `pton` (texts). */
function libc(t: ExecutionContext, ntop: string[], pton: string[]): OracleAnswer | undefined {
  const r = spawnSync('python3', ['-c', ORACLE], { input: JSON.stringify({ ntop, pton }), encoding: 'utf8' });
  if (r.error !== undefined) {
    t.fail(`python3 is needed as the glibc oracle for inet_pton/inet_ntop and could not be run: ${r.error.message}`);
    return undefined;
  }
  if (r.status !== 0) {
    t.fail(`the python3 oracle failed (status ${r.status}): ${r.stderr}`);
    return undefined;
  }
  const answer = JSON.parse(r.stdout) as OracleAnswer;
  if (answer.libc !== 'glibc') {
    t.fail(`the oracle must be glibc's inet_pton/inet_ntop; python3 reports libc "${answer.libc}"`);
    return undefined;
  }
  return answer;
}

/** A 16-bit word, biased toward the values that change how an address is printed. */
function word(rng: SeededRandom): number {
  switch (rng.below(6)) {
    case 0:
    case 1:
      return 0;
    case 2:
      return 0xffff;
    case 3:
      return rng.below(16) === 0 ? 1 : rng.below(0x100);
    default:
      return rng.below(0x10000);
  }
}

/** Random addresses biased toward zero runs and the embedded-IPv4 shapes. */
function randomAddresses(rng: SeededRandom, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const fixed = [
    '00000000000000000000000000000000',
    '00000000000000000000000000000001',
    '00000000000000000000000000000002',
    '00000000000000000000000000010000',
    '00000000000000000000000000010001',
    '00000000000000000000ffff00000000',
    '00000000000000000000ffff00000001',
    '00000000000000000000ffff01020304',
    '0000000000000000ffff000001020304',
    '00000000000000000000fffe01020304',
    '000000000000000000000000ffff0000',
    '00000000000000000001000000000000',
    '00010000000000000000000000000000',
    '00000000000000010000000000000000',
    'ffffffffffffffffffffffffffffffff',
    '20010db8000000000001000000000001',
    'fe800000000000000000000000000001',
    'ff020000000000000000000000000001',
    '00010000000100000001000000010000',
  ];
  for (const h of fixed) out.push(fromHex(h));
  while (out.length < n) {
    const a = new Uint8Array(16);
    const w = (i: number, v: number): void => {
      a[2 * i] = v >>> 8;
      a[2 * i + 1] = v;
    };
    const shape = rng.below(8);
    if (shape <= 2) {
      for (let i = 0; i < 8; i++) w(i, word(rng));
    } else if (shape === 3) {
      // v4-mapped, with zero words inside the IPv4 part now and then
      w(5, 0xffff);
      w(6, word(rng));
      w(7, word(rng));
    } else if (shape === 4) {
      // IPv4-compatible (first 96 bits zero), and its neighbours
      w(6, word(rng));
      w(7, word(rng));
      if (rng.below(4) === 0) w(rng.below(6), word(rng));
    } else if (shape === 5) {
      // one zero run of random position and length in random words
      for (let i = 0; i < 8; i++) w(i, 1 + rng.below(0xffff));
      const base = rng.below(8);
      const len = 1 + rng.below(8 - base);
      for (let i = base; i < base + len; i++) w(i, 0);
    } else if (shape === 6) {
      // two runs, often of equal length (the first must win a tie)
      for (let i = 0; i < 8; i++) w(i, 1 + rng.below(0xffff));
      const len = 1 + rng.below(3);
      const first = rng.below(8 - 2 * len);
      const second = first + len + 1 + rng.below(8 - first - 2 * len);
      for (let i = 0; i < len; i++) w(first + i, 0);
      const len2 = rng.below(3) === 0 ? len + 1 : len;
      for (let i = 0; i < len2 && second + i < 8; i++) w(second + i, 0);
    } else {
      for (let i = 0; i < 16; i++) a[i] = rng.below(256);
    }
    out.push(a);
  }
  return out;
}

const hexWords = (a: Uint8Array): number[] => Array.from({ length: 8 }, (_, i) => (a[2 * i]! << 8) | a[2 * i + 1]!);

function dotted(a: Uint8Array): string {
  return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
}

/** Other spellings of the same address, valid and (with mixed case, padding, other runs) still accepted by glibc. */
function spellings(rng: SeededRandom, a: Uint8Array): string[] {
  const ws = hexWords(a);
  const out: string[] = [];
  out.push(ws.map((x) => x.toString(16)).join(':'));
  out.push(ws.map((x) => x.toString(16).padStart(4, '0')).join(':').toUpperCase());
  out.push(ws.slice(0, 6).map((x) => x.toString(16)).join(':') + ':' + dotted(a));
  // "::" in place of a random run of groups (zero or not: a non-zero run
  // makes a different address, which the oracle parses all the same).
  const base = rng.below(8);
  const len = 1 + rng.below(8 - base);
  const head = ws.slice(0, base).map((x) => x.toString(16));
  const tail = ws.slice(base + len).map((x) => x.toString(16));
  out.push(head.join(':') + '::' + tail.join(':'));
  if (base + len <= 6) {
    const tail6 = ws.slice(base + len, 6).map((x) => x.toString(16));
    out.push(head.join(':') + '::' + [...tail6, dotted(a)].join(':'));
  }
  // Random case.
  const s = out[3]!;
  out.push([...s].map((c) => (rng.below(2) === 0 ? c.toUpperCase() : c)).join(''));
  return out;
}

const ALPHABET = ':::..0123456789abcdefABCDEFgG% /[]x';

/** One to three random edits of a text: mostly invalid, sometimes valid in a new way. */
function mutate(rng: SeededRandom, s: string): string {
  let m = s;
  const edits = 1 + rng.below(3);
  for (let e = 0; e < edits; e++) {
    const at = rng.below(m.length + 1);
    const c = ALPHABET[rng.below(ALPHABET.length)]!;
    switch (rng.below(5)) {
      case 0:
        m = m.slice(0, at) + c + m.slice(at);
        break;
      case 1:
        m = m.slice(0, at) + m.slice(at + 1);
        break;
      case 2:
        m = m.slice(0, at) + c + m.slice(at + 1);
        break;
      case 3:
        m = m.slice(0, at) + m.slice(at, at + 3) + m.slice(at);
        break;
      default:
        m = m.slice(0, at) + (rng.below(2) === 0 ? '0' : ':') + m.slice(at);
    }
  }
  return m;
}

const FIXED_TEXTS: [string, string | undefined][] = [
  ['::', '00000000000000000000000000000000'],
  ['::1', '00000000000000000000000000000001'],
  ['1::', '00010000000000000000000000000000'],
  ['0::', '00000000000000000000000000000000'],
  ['::0000', '00000000000000000000000000000000'],
  ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
  ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
  ['::1:2:3:4:5:6:7', '00000001000200030004000500060007'],
  ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
  ['::FFFF:1.2.3.4', '00000000000000000000ffff01020304'],
  ['::ffff:0.0.0.0', '00000000000000000000ffff00000000'],
  ['::ffff:255.255.255.255', '00000000000000000000ffffffffffff'],
  ['::1.2.3.4', '00000000000000000000000001020304'],
  ['::0:1.2.3.4', '00000000000000000000000001020304'],
  ['1::1.2.3.4', '00010000000000000000000001020304'],
  ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ['1:2::3:1.2.3.4', '00010002000000000000000301020304'],
  ['::12.3.4.5', '0000000000000000000000000c030405'],
  ['FE80::Ab:cD', 'fe800000000000000000000000ab00cd'],
  ['', undefined],
  [':', undefined],
  [':::', undefined],
  [':1', undefined],
  ['1:', undefined],
  ['1::2:', undefined],
  ['::1:', undefined],
  ['1::2::3', undefined],
  ['1:::2', undefined],
  ['1::2:3:4:5:6:7:8', undefined],
  ['::1:2:3:4:5:6:7:8', undefined],
  ['1:2:3:4:5:6:7:8::', undefined],
  ['1:2:3:4:5:6:7', undefined],
  ['1:2:3:4:5:6:7:8:9', undefined],
  ['12345::', undefined],
  ['::00000', undefined],
  ['g::', undefined],
  ['fe80::1%eth0', undefined],
  ['fe80::1%1', undefined],
  ['[::1]', undefined],
  [' ::1', undefined],
  ['::1 ', undefined],
  ['::1/128', undefined],
  ['1.2.3.4', undefined],
  ['::ffff:1.2.3', undefined],
  ['::ffff:01.2.3.4', undefined],
  ['::ffff:1.2.3.04', undefined],
  ['::ffff:1.2.3.256', undefined],
  ['::1.2.3.4.', undefined],
  ['::.1.2.3.4', undefined],
  ['::1.2.3.4:1', undefined],
  ['::1.2.3.4::', undefined],
  ['::ab.1.2.3', undefined],
  ['::1.0.0.0x', undefined],
  ['1:2:3:4:5:6:7:1.2.3.4', undefined],
  ['::ffff:1.2.3.4.5', undefined],
  ['0x1::', undefined],
];

test('parseIpv6 accepts and rejects exactly what glibc inet_pton(AF_INET6) does', (t) => {
  const rng = new SeededRandom(4291);
  const texts: string[] = FIXED_TEXTS.map(([s]) => s);
  for (const a of randomAddresses(rng, 400)) {
    const spelled = spellings(rng, a);
    texts.push(formatIpv6(a), ...spelled);
    for (let k = 0; k < 3; k++) texts.push(mutate(rng, spelled[rng.below(spelled.length)]!));
    texts.push(mutate(rng, formatIpv6(a)));
  }
  const answer = libc(t, [], texts);
  if (answer === undefined) return;
  let accepted = 0;
  let mismatches = 0;
  for (let i = 0; i < texts.length; i++) {
    const ours = parseIpv6(texts[i]!);
    const theirs = answer.pton[i] ?? undefined;
    if (theirs !== undefined) accepted++;
    if ((ours === undefined ? undefined : toHex(ours)) !== theirs) {
      mismatches++;
      if (mismatches <= 10) t.log(`${JSON.stringify(texts[i])}: ours ${ours && toHex(ours)}, glibc ${theirs}`);
    }
  }
  t.is(mismatches, 0);
  // The batch must exercise both sides.
  t.true(accepted > texts.length / 3, `${accepted} of ${texts.length} accepted`);
  t.true(texts.length - accepted > 600, `${texts.length - accepted} of ${texts.length} rejected`);
  // And the fixed list says what it says independently of the oracle.
  for (const [text, expected] of FIXED_TEXTS) {
    const ours = parseIpv6(text);
    t.is(ours === undefined ? undefined : toHex(ours), expected, JSON.stringify(text));
  }
});

test('formatIpv6 prints exactly what glibc inet_ntop(AF_INET6) prints', (t) => {
  const rng = new SeededRandom(5952);
  const addresses = randomAddresses(rng, 600);
  const answer = libc(t, addresses.map(toHex), []);
  if (answer === undefined) return;
  let mismatches = 0;
  const padded = new Uint8Array(3 + 16 + 5).fill(0xab);
  for (let i = 0; i < addresses.length; i++) {
    const a = addresses[i]!;
    const ours = formatIpv6(a);
    padded.set(a, 3);
    if (ours !== answer.ntop[i] || formatIpv6(padded, 3) !== ours) {
      mismatches++;
      if (mismatches <= 10) t.log(`${toHex(a)}: ours ${ours}, glibc ${answer.ntop[i]}`);
    }
  }
  t.is(mismatches, 0);
});

test('formatIpv6: the BIND rules, spelled out', (t) => {
  const f = (h: string): string => formatIpv6(fromHex(h));
  t.is(f('00000000000000000000000000000000'), '::');
  t.is(f('00000000000000000000000000000001'), '::1');
  t.is(f('00000000000000000000000000000002'), '::2'); // a run of 7: plain hex, not ::0.0.0.2
  t.is(f('00000000000000000000000001020304'), '::1.2.3.4'); // IPv4-compatible, run of 6
  t.is(f('00000000000000000000000000010000'), '::0.1.0.0'); // run of 6 followed by a zero group
  t.is(f('00000000000000000000ffff01020304'), '::ffff:1.2.3.4');
  t.is(f('00000000000000000000ffff00000000'), '::ffff:0.0.0.0');
  t.is(f('0000000000000000ffff000001020304'), '::ffff:0:102:304'); // RFC 6052 form: no dotted tail
  t.is(f('00000000000000000000fffe01020304'), '::fffe:102:304');
  t.is(f('00010000000000000000000000000000'), '1::');
  t.is(f('20010db8000000000001000000000001'), '2001:db8::1:0:0:1'); // tie: the first run
  t.is(f('20010db8000000010000000000000001'), '2001:db8:0:1::1'); // a lone zero group stays
  t.is(f('00010000000100000001000000010000'), '1:0:1:0:1:0:1:0');
  t.is(f('ffffffffffffffffffffffffffffffff'), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  t.is(f('fe8000000000000000000000000000ab'), 'fe80::ab');
});

test('round trips: parse(format(a)) is a, and format(parse(text)) is canonical', (t) => {
  const rng = new SeededRandom(1884);
  for (const a of randomAddresses(rng, 2000)) {
    const text = formatIpv6(a);
    const back = parseIpv6(text);
    if (back === undefined || toHex(back) !== toHex(a)) t.fail(`${toHex(a)} → ${text} → ${back && toHex(back)}`);
    for (const s of spellings(rng, a)) {
      const p = parseIpv6(s);
      if (p !== undefined && formatIpv6(parseIpv6(formatIpv6(p))!) !== formatIpv6(p)) t.fail(s);
    }
  }
  t.is(formatIpv6(parseIpv6('0000:0000:0000:0000:0000:FFFF:0102:0304')!), '::ffff:1.2.3.4');
  t.is(formatIpv6(parseIpv6('2001:DB8:0:0:8:800:200C:417A')!), '2001:db8::8:800:200c:417a');
});

test('parseIpv6Prefix: address/N with N in 0..128, no leading zeros', (t) => {
  const p = parseIpv6Prefix('2001:db8::/32');
  t.truthy(p);
  t.is(formatIpv6(p!.address), '2001:db8::');
  t.is(p!.length, 32);
  t.is(parseIpv6Prefix('::/0')!.length, 0);
  t.is(parseIpv6Prefix('::1/128')!.length, 128);
  t.is(parseIpv6Prefix('fe80::1/10')!.length, 10);
  t.is(formatIpv6(parseIpv6Prefix('fe80::1/10')!.address), 'fe80::1'); // host bits kept as written
  t.is(parseIpv6Prefix('::ffff:10.0.0.0/104')!.length, 104);
  const bad = ['::1', '::1/', '::1/129', '::1/01', '::1/00', '::1/1000', '::1/+1', '::1/-1', '::1/ 1', '::1/1 '];
  bad.push('::1/1e1', '::1/0x10', '::1/1/2', '1::2::3/64', '/64', '::1%lo/64');
  for (const text of bad) {
    t.is(parseIpv6Prefix(text), undefined, text);
  }
});

test('ipv6InPrefix agrees with a bit-by-bit reference', (t) => {
  const rng = new SeededRandom(8200);
  const bit = (b: Uint8Array, o: number, i: number): number => (b[o + (i >> 3)]! >> (7 - (i & 7))) & 1;
  const buf = new Uint8Array(16 + 7);
  for (let n = 0; n < 3000; n++) {
    const q = new Uint8Array(16);
    for (let i = 0; i < 16; i++) q[i] = rng.below(256);
    const length = rng.below(129);
    // An address equal to q up to a random bit, then random (or all different).
    const diffAt = rng.below(129);
    const o = rng.below(8);
    for (let i = 0; i < 16; i++) buf[o + i] = rng.below(256);
    for (let i = 0; i < 128; i++) {
      const want = i < diffAt ? bit(q, 0, i) : 1 - bit(q, 0, i);
      const byte = o + (i >> 3);
      const m = 1 << (7 - (i & 7));
      buf[byte] = want ? buf[byte]! | m : buf[byte]! & ~m;
    }
    let ref = true;
    for (let i = 0; i < length; i++) if (bit(buf, o, i) !== bit(q, 0, i)) ref = false;
    t.is(ipv6InPrefix(buf, o, { address: q, length }), ref, `length ${length} diffAt ${diffAt}`);
  }
  const net = parseIpv6Prefix('2001:db8:abcd:12::/63')!;
  t.true(ipv6InPrefix(parseIpv6('2001:db8:abcd:13::1')!, 0, net));
  t.false(ipv6InPrefix(parseIpv6('2001:db8:abcd:14::1')!, 0, net));
  t.true(ipv6InPrefix(parseIpv6('ffff::')!, 0, parseIpv6Prefix('::/0')!));
});

test('predicates read the address where it lies', (t) => {
  const at = (text: string, offset: number): Uint8Array => {
    const b = new Uint8Array(offset + 16 + 3).fill(0x55);
    b.set(parseIpv6(text)!, offset);
    return b;
  };
  const cases: [string, boolean, boolean, boolean, boolean, boolean, number][] = [
    // text, multicast, loopback, unspecified, v4-mapped, link-local, scope
    ['ff02::1', true, false, false, false, false, 2],
    ['ff05::1:3', true, false, false, false, false, 5],
    ['ff1e::1234', true, false, false, false, false, 0xe],
    ['ff01::1', true, false, false, false, false, 1],
    ['::1', false, true, false, false, false, 0],
    ['::', false, false, true, false, false, 0],
    ['::ffff:10.0.0.1', false, false, false, true, false, 0],
    ['::ffff:0.0.0.0', false, false, false, true, false, 0],
    ['::fffe:10.0.0.1', false, false, false, false, false, 0],
    ['::ffff:0:10.0.0.1', false, false, false, false, false, 0],
    ['::1.0.0.1', false, false, false, false, false, 0],
    ['::100', false, false, false, false, false, 0],
    ['1::1', false, false, false, false, false, 1], // the nibble is read whatever the address
    ['fe80::1', false, false, false, false, true, 0x80 & 0x0f],
    ['febf:ffff::1', false, false, false, false, true, 0xbf & 0x0f],
    ['fec0::1', false, false, false, false, false, 0xc0 & 0x0f],
    ['fe7f::1', false, false, false, false, false, 0x7f & 0x0f],
    ['fd00::2', false, false, false, false, false, 0],
  ];
  for (const offset of [0, 5]) {
    for (const [text, mc, lo, any, mapped, ll, scope] of cases) {
      const b = at(text, offset);
      t.is(isIpv6Multicast(b, offset), mc, text);
      t.is(isIpv6Loopback(b, offset), lo, text);
      t.is(isIpv6Unspecified(b, offset), any, text);
      t.is(isIpv6V4Mapped(b, offset), mapped, text);
      t.is(isIpv6LinkLocal(b, offset), ll, text);
      t.is(ipv6MulticastScope(b, offset), scope, text);
      if (offset === 0) {
        // The default offset is 0.
        t.is(isIpv6Multicast(b), mc);
        t.is(isIpv6Loopback(b), lo);
        t.is(isIpv6Unspecified(b), any);
        t.is(isIpv6V4Mapped(b), mapped);
        t.is(isIpv6LinkLocal(b), ll);
      }
    }
  }
});

test('ipv6Equal, copyIpv6 and readIpv6 work at offsets', (t) => {
  const a = new Uint8Array(40);
  const b = new Uint8Array(40);
  a.set(parseIpv6('2001:db8::1')!, 8);
  b.set(parseIpv6('2001:db8::1')!, 24);
  t.true(ipv6Equal(a, 8, b, 24));
  t.false(ipv6Equal(a, 8, b, 23));
  for (let i = 0; i < 16; i++) {
    b[24 + i]! ^= 1;
    t.false(ipv6Equal(a, 8, b, 24), `byte ${i}`);
    b[24 + i]! ^= 1;
  }
  const c = new Uint8Array(20).fill(9);
  copyIpv6(c, 2, a, 8);
  t.is(formatIpv6(c, 2), '2001:db8::1');
  t.deepEqual([c[0], c[1], c[18], c[19]], [9, 9, 9, 9]);
  const r = readIpv6(a, 8);
  t.is(r.length, 16);
  t.is(formatIpv6(r), '2001:db8::1');
  r[0] = 0;
  t.is(a[8], 0x20); // a copy
});

test('solicitedNodeMulticast: ff02::1:ff00:0/104 plus the low 24 bits (RFC 4291 §2.7.1)', (t) => {
  // The RFC's own example: 4037::01:800:200E:8C6C → FF02::1:FF0E:8C6C.
  t.is(formatIpv6(solicitedNodeMulticast(parseIpv6('4037::01:800:200E:8C6C')!)), 'ff02::1:ff0e:8c6c');
  t.is(formatIpv6(solicitedNodeMulticast(parseIpv6('fe80::fc:ff:fe00:1')!)), 'ff02::1:ff00:1');
  t.is(formatIpv6(solicitedNodeMulticast(parseIpv6('::')!)), 'ff02::1:ff00:0');
  const b = new Uint8Array(30);
  b.set(parseIpv6('2001:db8::ab:cdef:1234')!, 7);
  const m = solicitedNodeMulticast(b, 7);
  t.is(formatIpv6(m), 'ff02::1:ffef:1234');
  t.true(isIpv6Multicast(m));
  t.is(ipv6MulticastScope(m), 2);
});

test('v4MappedIpv6 and ipv4FromMapped', (t) => {
  t.is(formatIpv6(v4MappedIpv6(0xc0000201)), '::ffff:192.0.2.1');
  t.is(formatIpv6(v4MappedIpv6(0)), '::ffff:0.0.0.0');
  t.is(formatIpv6(v4MappedIpv6(0xffffffff)), '::ffff:255.255.255.255');
  t.true(isIpv6V4Mapped(v4MappedIpv6(0x0a000001)));
  t.is(ipv4FromMapped(v4MappedIpv6(0xffffffff)), 0xffffffff); // unsigned
  t.is(ipv4FromMapped(v4MappedIpv6(0x80000000)), 0x80000000);
  const b = new Uint8Array(24);
  b.set(parseIpv6('::ffff:203.0.113.9')!, 4);
  t.is(ipv4FromMapped(b, 4), 0xcb007109);
  const rng = new SeededRandom(6052);
  for (let i = 0; i < 200; i++) {
    const v = rng.u32();
    t.is(ipv4FromMapped(v4MappedIpv6(v)), v);
  }
});

test('ipv6WordSum is the plain sum of the eight words', (t) => {
  t.is(ipv6WordSum(IPV6_ANY, 0), 0);
  t.is(ipv6WordSum(parseIpv6('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')!, 0), 8 * 0xffff); // unfolded
  t.is(ipv6WordSum(parseIpv6('2001:db8::1')!, 0), 0x2001 + 0x0db8 + 1);
  const rng = new SeededRandom(2460);
  const b = new Uint8Array(40);
  for (let n = 0; n < 200; n++) {
    for (let i = 0; i < b.length; i++) b[i] = rng.below(256);
    const o = rng.below(24);
    let ref = 0;
    for (let i = 0; i < 16; i += 2) ref += b[o + i]! * 256 + b[o + i + 1]!;
    t.is(ipv6WordSum(b, o), ref);
  }
});

test('constants', (t) => {
  t.is(formatIpv6(IPV6_ANY), '::');
  t.is(IPV6_ANY.length, 16);
  t.true(isIpv6Unspecified(IPV6_ANY));
  t.is(formatIpv6(IPV6_LOOPBACK), '::1');
  t.is(formatIpv6(IPV6_ALL_NODES), 'ff02::1');
  t.is(formatIpv6(IPV6_ALL_ROUTERS), 'ff02::2');
});
