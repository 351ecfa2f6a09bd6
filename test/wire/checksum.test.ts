import test from 'ava';
import { checksum, fold, pseudoHeaderSum, sumWords, verifies } from '../../stack/wire/checksum.ts';
import { SeededRandom } from '../../stack/random.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/**
 * Captured from Linux 6.18 through a TUN device in a scratch network
 * namespace (`connect()` to 10.0.0.2:8080 from 10.0.0.1; the TUN has no
 * checksum offload, so the kernel filled in the full checksums).
 * IP checksum 0x4158, TCP checksum 0x820e; options MSS 1460, SACK_PERM,
 * TS val 0x85928ac1 ecr 0, NOP, WS 10.
 */
const LINUX_SYN = hex(
  '4500003ce5614000400641580a0000010a000002' +
    'e6f81f90cd47d2d600000000a002faf0820e0000' +
    '020405b40402080a85928ac1000000000103030a',
);
/** The same setup, a PSH|ACK carrying "hello": an odd-length segment (37 bytes). */
const LINUX_DATA = hex(
  '4500003915d44000400610e90a0000010a000002' +
    'b00a1f9091ed2389000003e98018003ff87f0000' +
    '0101080ad4ab841011223344' +
    '68656c6c6f',
);
const SRC = 0x0a000001;
const DST = 0x0a000002;

test('RFC 1071 §3 example: sum 0xddf2, checksum 0x220d', (t) => {
  const b = hex('0001f203f4f5f6f7');
  t.is(fold(sumWords(b, 0, b.length)), 0xddf2);
  t.is(checksum(b, 0, b.length), 0x220d);
});

test('RFC 1071: byte order independence shows as a byte swap of the sum', (t) => {
  // §2(B): summing the byte-swapped data gives the byte-swapped sum.
  const b = hex('0100 03f2 f5f4 f7f6');
  t.is(fold(sumWords(b, 0, b.length)), 0xf2dd);
});

test('odd lengths pad the trailing byte with zero', (t) => {
  t.is(sumWords(hex('ab'), 0, 1), 0xab00);
  t.is(sumWords(hex('0102ab'), 0, 3), 0x0102 + 0xab00);
  t.is(checksum(hex('0102ab'), 0, 3), ~(0x0102 + 0xab00) & 0xffff);
  // An odd range inside a larger buffer ignores the byte after it.
  const b = hex('0102abff');
  t.is(sumWords(b, 0, 3), sumWords(hex('0102ab00'), 0, 4));
  // An empty range sums to the initial value.
  t.is(sumWords(b, 2, 2, 7), 7);
  t.is(checksum(new Uint8Array(0), 0, 0), 0xffff);
});

test('odd lengths: random data checked against a byte-at-a-time reference', (t) => {
  const rng = new SeededRandom(1071);
  for (let n = 0; n < 200; n++) {
    const len = 1 + rng.below(99);
    const start = rng.below(4);
    const b = new Uint8Array(start + len + 3);
    for (let i = 0; i < b.length; i++) b[i] = rng.below(256);
    let ref = 0;
    for (let i = 0; i < len; i++) ref += (i & 1) === 0 ? b[start + i]! << 8 : b[start + i]!;
    t.is(sumWords(b, start, start + len), ref);
    // Writing the checksum as a trailing word (at even distance) makes the range verify.
    if (len % 2 === 0) {
      const c = checksum(b, start, start + len);
      const withSum = new Uint8Array(len + 2);
      withSum.set(b.subarray(start, start + len));
      withSum[len] = c >>> 8;
      withSum[len + 1] = c & 255;
      t.true(verifies(withSum, 0, len + 2));
    }
  }
});

test('IPv4 header vector 45 00 00 73 ... c0 a8 00 c7 has checksum 0xb861', (t) => {
  const h = hex('450000730000400040110000c0a80001c0a800c7');
  t.is(checksum(h, 0, 20), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  t.true(verifies(h, 0, 20));
});

test('a SYN captured from Linux verifies (IP header and TCP with pseudo header)', (t) => {
  t.true(verifies(LINUX_SYN, 0, 20));
  t.is(checksum(Uint8Array.from([...LINUX_SYN.subarray(0, 10), 0, 0, ...LINUX_SYN.subarray(12, 20)]), 0, 20), 0x4158);
  const tcp = LINUX_SYN.subarray(20);
  t.is(tcp.length, 40);
  t.true(verifies(tcp, 0, tcp.length, pseudoHeaderSum(SRC, DST, 6, tcp.length)));
  const zeroed = Uint8Array.from(tcp);
  zeroed[16] = 0;
  zeroed[17] = 0;
  t.is(checksum(zeroed, 0, zeroed.length, pseudoHeaderSum(SRC, DST, 6, zeroed.length)), 0x820e);
});

test('an odd-length data segment captured from Linux verifies', (t) => {
  t.true(verifies(LINUX_DATA, 0, 20));
  const tcp = LINUX_DATA.subarray(20);
  t.is(tcp.length, 37);
  t.true(verifies(tcp, 0, tcp.length, pseudoHeaderSum(SRC, DST, 6, tcp.length)));
});

test('verifies() is false after any single bit flip', (t) => {
  const tcp = Uint8Array.from(LINUX_DATA.subarray(20));
  const initial = pseudoHeaderSum(SRC, DST, 6, tcp.length);
  t.true(verifies(tcp, 0, tcp.length, initial));
  for (let byte = 0; byte < tcp.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      tcp[byte]! ^= 1 << bit;
      t.false(verifies(tcp, 0, tcp.length, initial), `byte ${byte} bit ${bit}`);
      tcp[byte]! ^= 1 << bit;
    }
  }
  // A flipped bit in the pseudo header (the destination address) fails too.
  t.false(verifies(tcp, 0, tcp.length, pseudoHeaderSum(SRC, DST ^ 1, 6, tcp.length)));
});

test('fold() handles sums far above 16 bits', (t) => {
  t.is(fold(0), 0);
  t.is(fold(0xffff), 0xffff);
  t.is(fold(0x10000), 1);
  t.is(fold(0x1fffe), 0xffff);
  t.is(fold(0x2ddf0), 0xddf2);
  // The largest sum of a 64 KiB datagram: 32768 words of 0xffff.
  t.is(fold(32768 * 0xffff), 0xffff);
  // Beyond 32 bits, where `>>` and `&` would go wrong.
  t.is(fold(0xffffffff), 0xffff);
  t.is(fold(0x1_0000_0000), 1);
  t.is(fold(2 ** 52 + 5), fold((2 ** 52 % 0xffff) + 5));
  // fold agrees with reducing modulo 0xffff (one's complement arithmetic), 0 ↦ 0xffff aside.
  const rng = new SeededRandom(7);
  for (let i = 0; i < 1000; i++) {
    const s = rng.u32() * 1024 + rng.u32();
    const f = fold(s);
    t.true(f <= 0xffff);
    t.is(f % 0xffff, s % 0xffff);
  }
});

test('pseudoHeaderSum adds addresses, protocol and length as 16-bit words', (t) => {
  t.is(pseudoHeaderSum(0xc0a80001, 0xc0a800c7, 6, 40), 0xc0a8 + 0x0001 + 0xc0a8 + 0x00c7 + 6 + 40);
  t.is(pseudoHeaderSum(0xffffffff, 0xffffffff, 17, 0xffff), 4 * 0xffff + 17 + 0xffff);
});
