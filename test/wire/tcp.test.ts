import test from 'ava';
import {
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  TCPOPT_EOL,
  TCPOPT_MSS,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TCPOPT_WSCALE,
  computeTcpChecksum,
  decodeTcpSegment,
  formatTcpFlags,
  newTcpOptions,
  parseTcpOptions,
  resetTcpOptions,
  setTcpChecksum,
  tcpAck,
  tcpChecksum,
  tcpChecksumOk,
  tcpDestinationPort,
  tcpFlags,
  tcpHeaderLength,
  tcpOptionsLength,
  tcpSeq,
  tcpSourcePort,
  tcpUrgent,
  tcpWindow,
  writeTcpHeader,
  writeTcpOptionsLinux,
  type TcpOptions,
  type TcpOptionsToWrite,
} from '../../stack/wire/tcp.ts';
import { SeededRandom } from '../../stack/random.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** TCP part of a SYN captured from Linux 6.18 (see checksum.test.ts), 10.0.0.1 → 10.0.0.2. */
const LINUX_SYN_TCP = hex('e6f81f90cd47d2d600000000a002faf0820e0000' + '020405b40402080a85928ac1000000000103030a');
/** A PSH|ACK with "hello" and NOP NOP TS from the same capture setup. */
const LINUX_DATA_TCP = hex('b00a1f9091ed2389000003e98018003ff87f0000' + '0101080ad4ab841011223344' + '68656c6c6f');
const SRC = 0x0a000001;
const DST = 0x0a000002;

/** A segment with a 20-byte header whose options area is `opts` (padded with EOL to 32 bits). */
function withOptions(opts: number[], payload: number[] = []): Uint8Array {
  const optLen = (opts.length + 3) & ~3;
  const seg = new Uint8Array(20 + optLen + payload.length);
  writeTcpHeader(seg, 0, {
    sourcePort: 1,
    destinationPort: 2,
    seq: 3,
    ack: 4,
    flags: TCP_SYN,
    window: 5,
    headerLength: 20 + optLen,
  });
  seg.set(opts, 20);
  seg.set(payload, 20 + optLen);
  return seg;
}

function parsed(seg: Uint8Array): { ok: boolean; o: TcpOptions } {
  const o = newTcpOptions();
  const ok = parseTcpOptions(seg, o);
  return { ok, o };
}

const u32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

// ---------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------

test('accessors read the captured Linux SYN', (t) => {
  const s = LINUX_SYN_TCP;
  t.is(tcpSourcePort(s), 0xe6f8);
  t.is(tcpDestinationPort(s), 8080);
  t.is(tcpSeq(s), 0xcd47d2d6);
  t.is(tcpAck(s), 0);
  t.is(tcpHeaderLength(s), 40);
  t.is(tcpFlags(s), TCP_SYN);
  t.is(tcpWindow(s), 64240);
  t.is(tcpChecksum(s), 0x820e);
  t.is(tcpUrgent(s), 0);
});

test('header round trip through writeTcpHeader and the accessors (random values)', (t) => {
  const rng = new SeededRandom(9293);
  const buf = new Uint8Array(80);
  for (let n = 0; n < 2000; n++) {
    const offset = rng.below(20);
    buf.fill(0xa5);
    const f = {
      sourcePort: rng.below(65536),
      destinationPort: rng.below(65536),
      seq: rng.u32(),
      ack: rng.u32(),
      flags: rng.below(256),
      window: rng.below(65536),
      urgent: rng.below(65536),
      headerLength: 20 + 4 * rng.below(11),
    };
    writeTcpHeader(buf, offset, f);
    const s = buf.subarray(offset);
    t.is(tcpSourcePort(s), f.sourcePort);
    t.is(tcpDestinationPort(s), f.destinationPort);
    t.is(tcpSeq(s), f.seq);
    t.is(tcpAck(s), f.ack);
    t.is(tcpFlags(s), f.flags);
    t.is(tcpWindow(s), f.window);
    t.is(tcpUrgent(s), f.urgent);
    t.is(tcpHeaderLength(s), f.headerLength);
    t.is(tcpChecksum(s), 0);
    t.is(s[12]! & 0x0f, 0, 'reserved bits and AE are zero');
    t.true(buf.subarray(0, offset).every((x) => x === 0xa5));
    t.true(buf.subarray(offset + 20).every((x) => x === 0xa5), 'writes exactly 20 bytes');
  }
});

test('seq and ack are unsigned above 2^31', (t) => {
  const s = new Uint8Array(20);
  writeTcpHeader(s, 0, { sourcePort: 0, destinationPort: 0, seq: 0xffffffff, ack: 0x80000000, flags: 0, window: 0, headerLength: 20 });
  t.is(tcpSeq(s), 0xffffffff);
  t.is(tcpAck(s), 0x80000000);
  t.is(toHex(s.subarray(4, 12)), 'ffffffff80000000');
});

test('tcpFlags ignores the AE/NS bit and reserved bits of byte 12', (t) => {
  const s = Uint8Array.from(LINUX_SYN_TCP);
  s[12]! |= 0x0f;
  t.is(tcpFlags(s), TCP_SYN);
  t.is(tcpHeaderLength(s), 40);
});

// ---------------------------------------------------------------------------
// Options: exact Linux layouts
// ---------------------------------------------------------------------------

test('Linux SYN options: MSS, SACK_PERM+TS, NOP+WS (20 bytes), equal to the capture', (t) => {
  const buf = new Uint8Array(40);
  const opts: TcpOptionsToWrite = { mss: 1460, sackPermitted: true, ts: { val: 0x85928ac1, ecr: 0 }, wscale: 10 };
  const n = writeTcpOptionsLinux(buf, 0, opts);
  t.is(n, 20);
  t.is(tcpOptionsLength(opts), 20);
  t.is(toHex(buf.subarray(0, n)), toHex(LINUX_SYN_TCP.subarray(20, 40)));
  const n7 = writeTcpOptionsLinux(buf, 0, { mss: 1460, sackPermitted: true, ts: { val: 0x01020304, ecr: 0 }, wscale: 7 });
  t.is(toHex(buf.subarray(0, n7)), '020405b4' + '0402080a' + '01020304' + '00000000' + '01030307');
});

test('Linux established options with TS: NOP NOP TS (12 bytes), equal to the capture', (t) => {
  const buf = new Uint8Array(40);
  const opts = { ts: { val: 0xd4ab8410, ecr: 0x11223344 } };
  const n = writeTcpOptionsLinux(buf, 0, opts);
  t.is(n, 12);
  t.is(tcpOptionsLength(opts), 12);
  t.is(toHex(buf.subarray(0, n)), toHex(LINUX_DATA_TCP.subarray(20, 32)));
});

test('Linux layouts for the other combinations', (t) => {
  const cases: Array<[TcpOptionsToWrite, string]> = [
    [{}, ''],
    [{ mss: 1460 }, '020405b4'],
    [{ mss: 0 }, ''], // Linux writes MSS only when non-zero
    [{ sackPermitted: true }, '01010402'],
    [{ mss: 1460, sackPermitted: true }, '020405b4' + '01010402'],
    [{ mss: 1460, sackPermitted: true, wscale: 7 }, '020405b4' + '01010402' + '01030307'],
    [{ mss: 536, ts: { val: 1, ecr: 2 }, wscale: 0 }, '02040218' + '0101080a' + '00000001' + '00000002' + '01030300'],
    [{ mss: 1460, wscale: 14 }, '020405b4' + '0103030e'],
    [{ wscale: -1, mss: -1 }, ''],
    [{ sackBlocks: [1, 2] }, '0101050a' + '00000001' + '00000002'],
    [
      { ts: { val: 0xaabbccdd, ecr: 0x11223344 }, sackBlocks: [0xfffffff0, 0x10] },
      '0101080a' + 'aabbccdd' + '11223344' + '0101050a' + 'fffffff0' + '00000010',
    ],
  ];
  const buf = new Uint8Array(40);
  for (const [opts, expected] of cases) {
    buf.fill(0xee);
    const n = writeTcpOptionsLinux(buf, 0, opts);
    t.is(toHex(buf.subarray(0, n)), expected, JSON.stringify(opts));
    t.is(tcpOptionsLength(opts), n);
    t.is(n % 4, 0);
    t.true(buf.subarray(n).every((x) => x === 0xee), 'writes nothing past its length');
  }
});

test('SACK blocks are limited to what fits: 4 alone, 3 with timestamps', (t) => {
  const buf = new Uint8Array(48);
  const five = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  let n = writeTcpOptionsLinux(buf, 0, { sackBlocks: five });
  t.is(n, 4 + 32);
  t.is(buf[3], 2 + 32);
  n = writeTcpOptionsLinux(buf, 0, { ts: { val: 1, ecr: 2 }, sackBlocks: five });
  t.is(n, 12 + 4 + 24);
  t.is(buf[15], 2 + 24);
  t.is(tcpOptionsLength({ ts: { val: 1, ecr: 2 }, sackBlocks: five }), 40);
  // An odd trailing number is not half a block.
  t.is(tcpOptionsLength({ sackBlocks: [1, 2, 3] }), 12);
});

test('writeTcpOptionsLinux at an offset after writeTcpHeader builds a parseable segment', (t) => {
  const opts = { mss: 1400, sackPermitted: true, ts: { val: 7, ecr: 9 }, wscale: 3 };
  const hl = 20 + tcpOptionsLength(opts);
  const buf = new Uint8Array(4 + hl);
  writeTcpHeader(buf, 4, { sourcePort: 1, destinationPort: 2, seq: 3, ack: 0, flags: TCP_SYN, window: 65535, headerLength: hl });
  t.is(writeTcpOptionsLinux(buf, 4 + 20, opts), hl - 20);
  const { ok, o } = parsed(buf.subarray(4));
  t.true(ok);
  t.like(o, { mss: 1400, sackPermitted: true, tsPresent: true, tsVal: 7, tsEcr: 9, wscale: 3, sackCount: 0, unknownCount: 0 });
});

// ---------------------------------------------------------------------------
// Options: parsing
// ---------------------------------------------------------------------------

test('parses the captured Linux SYN and data segment', (t) => {
  let { ok, o } = parsed(LINUX_SYN_TCP);
  t.true(ok);
  t.deepEqual(o, {
    mss: 1460,
    wscale: 10,
    sackPermitted: true,
    tsPresent: true,
    tsVal: 0x85928ac1,
    tsEcr: 0,
    sackCount: 0,
    sackBlocks: [0, 0, 0, 0, 0, 0, 0, 0],
    fastOpenLength: -1,
    fastOpenExp: false,
    fastOpenCookie: new Uint8Array(16),
    unknownCount: 0,
    malformed: false,
  });
  ({ ok, o } = parsed(LINUX_DATA_TCP));
  t.true(ok);
  t.like(o, { mss: -1, wscale: -1, sackPermitted: false, tsPresent: true, tsVal: 0xd4ab8410, tsEcr: 0x11223344 });
});

test('no options: defaults', (t) => {
  const { ok, o } = parsed(withOptions([]));
  t.true(ok);
  t.deepEqual(o, newTcpOptions());
});

test('round trip of random options through writer and parser', (t) => {
  const rng = new SeededRandom(7323);
  const buf = new Uint8Array(60);
  const o = newTcpOptions();
  for (let n = 0; n < 5000; n++) {
    const opts: TcpOptionsToWrite = {};
    if (rng.below(2)) opts.mss = 1 + rng.below(65535);
    if (rng.below(2)) opts.sackPermitted = true;
    if (rng.below(2)) opts.ts = { val: rng.u32(), ecr: rng.u32() };
    if (rng.below(2)) opts.wscale = rng.below(15);
    if (rng.below(2)) {
      opts.sackBlocks = [];
      for (let b = 1 + rng.below(4); b > 0; b--) opts.sackBlocks.push(rng.u32(), rng.u32());
    }
    const optLen = tcpOptionsLength(opts);
    writeTcpHeader(buf, 0, { sourcePort: 1, destinationPort: 2, seq: 0, ack: 0, flags: TCP_ACK, window: 0, headerLength: 20 + optLen });
    t.is(writeTcpOptionsLinux(buf, 20, opts), optLen);
    t.true(optLen <= 40);
    t.true(parseTcpOptions(buf.subarray(0, 20 + optLen), o));
    t.is(o.mss, opts.mss ?? -1);
    t.is(o.sackPermitted, !!opts.sackPermitted);
    t.is(o.tsPresent, opts.ts !== undefined);
    t.is(o.tsVal, opts.ts?.val ?? 0);
    t.is(o.tsEcr, opts.ts?.ecr ?? 0);
    t.is(o.wscale, opts.wscale ?? -1);
    const fixed = tcpOptionsLength({ ...opts, sackBlocks: undefined });
    const room = Math.floor((40 - fixed - 4) / 8);
    const expectedBlocks = opts.sackBlocks ? Math.min(opts.sackBlocks.length / 2, 4, room) : 0;
    t.is(optLen, fixed + (expectedBlocks ? 4 + 8 * expectedBlocks : 0));
    t.is(o.sackCount, expectedBlocks);
    t.deepEqual(o.sackBlocks.slice(0, 2 * o.sackCount), (opts.sackBlocks ?? []).slice(0, 2 * expectedBlocks));
    t.is(o.unknownCount, 0);
  }
});

test('the options object is reused and reset between segments', (t) => {
  const o = newTcpOptions();
  const blocks = o.sackBlocks;
  t.true(parseTcpOptions(withOptions([TCPOPT_SACK, 18, ...u32(1), ...u32(2), ...u32(3), ...u32(4)]), o));
  t.is(o.sackCount, 2);
  t.true(parseTcpOptions(LINUX_SYN_TCP, o));
  t.is(o.sackCount, 0);
  t.is(o.sackBlocks, blocks, 'the same array, not a new one');
  t.deepEqual(o.sackBlocks, [0, 0, 0, 0, 0, 0, 0, 0]);
  t.true(parseTcpOptions(withOptions([]), o));
  t.deepEqual(o, newTcpOptions());
  o.mss = 5;
  resetTcpOptions(o);
  t.deepEqual(o, newTcpOptions());
});

test('EOL ends parsing; NOPs are skipped', (t) => {
  let { ok, o } = parsed(withOptions([TCPOPT_NOP, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_MSS, 4, 0x05, 0xb4]));
  t.true(ok);
  t.is(o.mss, 1460);
  // Everything after EOL is ignored, even garbage that would be malformed.
  ({ ok, o } = parsed(withOptions([TCPOPT_EOL, TCPOPT_MSS, 0, 0xff, 0xff, TCPOPT_WSCALE, 3, 7])));
  t.true(ok);
  t.deepEqual(o, newTcpOptions());
  ({ ok, o } = parsed(withOptions([TCPOPT_WSCALE, 3, 7, TCPOPT_EOL, TCPOPT_MSS, 4, 1, 0])));
  t.true(ok);
  t.is(o.wscale, 7);
  t.is(o.mss, -1);
});

test('a malformed option stops parsing without throwing; the segment stays good (tcp_parse_options)', (t) => {
  const cases: Array<[string, Uint8Array]> = [
    ['length 0', withOptions([TCPOPT_MSS, 0, 0, 0])],
    ['length 1', withOptions([TCPOPT_NOP, 99, 1, 0])],
    ['length 1 on a known kind', withOptions([TCPOPT_TIMESTAMP, 1, 0, 0])],
    ['length past the end', withOptions([TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TIMESTAMP, 10, 0, 0, 0, 0])],
    ['unknown kind past the end', withOptions([30, 12, 0, 0])],
    ['kind without its length byte', withOptions([TCPOPT_NOP, TCPOPT_NOP, TCPOPT_NOP, TCPOPT_MSS])],
    ['SACK past the end', withOptions([TCPOPT_SACK, 18, ...u32(1), ...u32(2), 0, 0])],
  ];
  for (const [name, seg] of cases) {
    const o = newTcpOptions();
    let ok = false;
    t.notThrows(() => {
      ok = parseTcpOptions(seg, o);
    }, name);
    t.true(ok, name);
    t.true(o.malformed, name);
    t.false(decodeTcpSegment(seg).optionsOk, `${name}: decodeTcpSegment reports it`);
  }
  // The flag is reset with the rest.
  const o = newTcpOptions();
  parseTcpOptions(withOptions([TCPOPT_MSS, 0, 0, 0]), o);
  t.true(parseTcpOptions(LINUX_SYN_TCP, o));
  t.false(o.malformed);
});

test('truncated headers return false without throwing', (t) => {
  const cases: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['19 bytes', LINUX_SYN_TCP.subarray(0, 19)],
    ['data offset past the end', LINUX_SYN_TCP.subarray(0, 36)],
    ['data offset past the end, no options present', LINUX_SYN_TCP.subarray(0, 20)],
  ];
  const small = Uint8Array.from(LINUX_SYN_TCP);
  small[12] = 4 << 4;
  cases.push(['data offset 4', small]);
  const zero = Uint8Array.from(LINUX_SYN_TCP);
  zero[12] = 0;
  cases.push(['data offset 0', zero]);
  for (const [name, seg] of cases) {
    const o = newTcpOptions();
    t.notThrows(() => parseTcpOptions(seg, o), name);
    t.false(parseTcpOptions(seg, o), name);
  }
});

test('options before a malformed one are kept, those after it are not read (Linux keeps the segment)', (t) => {
  let { ok, o } = parsed(withOptions([TCPOPT_MSS, 4, 0x05, 0xb4, TCPOPT_WSCALE, 3, 7, TCPOPT_TIMESTAMP, 0]));
  t.true(ok);
  t.true(o.malformed);
  t.is(o.mss, 1460);
  t.is(o.wscale, 7);
  t.false(o.tsPresent);
  ({ ok, o } = parsed(withOptions([TCPOPT_SACK_PERMITTED, 2, 99, 1, TCPOPT_MSS, 4, 0x05, 0xb4, TCPOPT_NOP, TCPOPT_WSCALE, 3, 7])));
  t.true(ok);
  t.true(o.malformed);
  t.true(o.sackPermitted);
  t.is(o.mss, -1);
  t.is(o.wscale, -1);
});

test('WS above 14 is clamped to 14', (t) => {
  for (const ws of [14, 15, 16, 255]) {
    const { ok, o } = parsed(withOptions([TCPOPT_NOP, TCPOPT_WSCALE, 3, ws]));
    t.true(ok);
    t.is(o.wscale, 14, `WS ${ws}`);
  }
  t.is(parsed(withOptions([TCPOPT_NOP, TCPOPT_WSCALE, 3, 0])).o.wscale, 0);
});

test('MSS 0 is ignored', (t) => {
  t.is(parsed(withOptions([TCPOPT_MSS, 4, 0, 0])).o.mss, -1);
  // ... and does not undo an earlier valid one.
  t.is(parsed(withOptions([TCPOPT_MSS, 4, 0x05, 0xb4, TCPOPT_MSS, 4, 0, 0])).o.mss, 1460);
});

test('known kinds with the wrong length are skipped and ignored, not counted as unknown', (t) => {
  const { ok, o } = parsed(
    withOptions([
      TCPOPT_MSS, 5, 0x05, 0xb4, 0,
      TCPOPT_WSCALE, 4, 7, 0,
      TCPOPT_SACK_PERMITTED, 3, 0,
      TCPOPT_TIMESTAMP, 6, 0, 0, 0, 1,
      TCPOPT_SACK, 6, 0, 0, 0, 1,
      TCPOPT_SACK, 11, ...u32(1), ...u32(2), 0,
      TCPOPT_WSCALE, 3, 5,
    ]),
  );
  t.true(ok);
  t.like(o, { mss: -1, sackPermitted: false, tsPresent: false, sackCount: 0, unknownCount: 0, wscale: 5 });
});

test('unknown kinds are skipped by their length and counted', (t) => {
  const { ok, o } = parsed(
    withOptions([
      34, 10, 1, 2, 3, 4, 5, 6, 7, 8, // Fast Open: known, read on a SYN only
      254, 4, 0xf9, 0x89, // experimental Fast Open: known too
      254, 6, 0x12, 0x34, 0, 0, // another experiment
      TCPOPT_MSS, 4, 0x05, 0xb4,
      99, 2, // empty unknown
      TCPOPT_NOP, TCPOPT_WSCALE, 3, 2,
    ]),
  );
  t.true(ok);
  t.is(o.unknownCount, 2);
  t.is(o.mss, 1460);
  t.is(o.wscale, 2);
});

test('duplicates: the last valid one wins', (t) => {
  const { ok, o } = parsed(
    withOptions([
      TCPOPT_MSS, 4, 0x05, 0xb4,
      TCPOPT_MSS, 4, 0x02, 0x18,
      TCPOPT_WSCALE, 3, 7,
      TCPOPT_WSCALE, 3, 9,
      TCPOPT_TIMESTAMP, 10, ...u32(1), ...u32(2),
      TCPOPT_TIMESTAMP, 10, ...u32(3), ...u32(4),
    ]),
  );
  t.true(ok);
  t.like(o, { mss: 536, wscale: 9, tsVal: 3, tsEcr: 4 });
  const sacks = parsed(
    withOptions([TCPOPT_SACK, 18, ...u32(1), ...u32(2), ...u32(3), ...u32(4), TCPOPT_SACK, 10, ...u32(5), ...u32(6)]),
  ).o;
  t.is(sacks.sackCount, 1);
  t.deepEqual(sacks.sackBlocks, [5, 6, 0, 0, 0, 0, 0, 0]);
});

test('SACK with 1..4 blocks, unsigned', (t) => {
  for (let n = 1; n <= 4; n++) {
    const blocks: number[] = [];
    for (let i = 0; i < n; i++) blocks.push(0xfffffff0 + i, 0x80000000 + i);
    const bytes: number[] = [TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, 2 + 8 * n];
    for (const b of blocks) bytes.push(...u32(b));
    const { ok, o } = parsed(withOptions(bytes));
    t.true(ok);
    t.is(o.sackCount, n);
    t.deepEqual(o.sackBlocks.slice(0, 2 * n), blocks);
    t.true(o.sackBlocks.slice(2 * n).every((x) => x === 0));
  }
});

test('timestamps are unsigned 32-bit', (t) => {
  const { o } = parsed(withOptions([TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TIMESTAMP, 10, ...u32(0xffffffff), ...u32(0x80000000)]));
  t.is(o.tsVal, 0xffffffff);
  t.is(o.tsEcr, 0x80000000);
});

test('a TS option not in the aligned position is still found', (t) => {
  const { ok, o } = parsed(withOptions([TCPOPT_TIMESTAMP, 10, ...u32(5), ...u32(6), TCPOPT_NOP, TCPOPT_NOP]));
  t.true(ok);
  t.like(o, { tsPresent: true, tsVal: 5, tsEcr: 6 });
});

// ---------------------------------------------------------------------------
// Checksum
// ---------------------------------------------------------------------------

test('checksum of the captured segments', (t) => {
  t.true(tcpChecksumOk(LINUX_SYN_TCP, SRC, DST));
  t.true(tcpChecksumOk(LINUX_DATA_TCP, SRC, DST));
  t.false(tcpChecksumOk(LINUX_DATA_TCP, SRC, DST + 1));
  t.is(computeTcpChecksum(SRC, DST, LINUX_SYN_TCP, 0, LINUX_SYN_TCP.length), 0x820e);
  t.is(computeTcpChecksum(SRC, DST, LINUX_DATA_TCP, 0, LINUX_DATA_TCP.length), 0xf87f);
  const copy = Uint8Array.from(LINUX_DATA_TCP);
  copy[16] = 0x12;
  copy[17] = 0x34;
  t.false(tcpChecksumOk(copy, SRC, DST));
  setTcpChecksum(copy, SRC, DST);
  t.is(tcpChecksum(copy), 0xf87f);
  t.true(tcpChecksumOk(copy, SRC, DST));
});

test('checksum of a hand-made segment verifies, with the segment at an offset', (t) => {
  const payload = new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n!'); // odd length
  const opts = { ts: { val: 123456789, ecr: 987654321 } };
  const hl = 20 + tcpOptionsLength(opts);
  const buf = new Uint8Array(7 + hl + payload.length + 5);
  const start = 7;
  const end = start + hl + payload.length;
  writeTcpHeader(buf, start, { sourcePort: 40000, destinationPort: 80, seq: 0xdeadbeef, ack: 0x01020304, flags: TCP_PSH | TCP_ACK, window: 502, headerLength: hl });
  writeTcpOptionsLinux(buf, start + 20, opts);
  buf.set(payload, start + hl);
  const src = 0xc0000201;
  const dst = 0xc6336407;
  const sum = computeTcpChecksum(src, dst, buf, start, end);
  buf[start + 16] = sum >>> 8;
  buf[start + 17] = sum & 255;
  const seg = buf.subarray(start, end);
  t.true(tcpChecksumOk(seg, src, dst));
  t.is(computeTcpChecksum(src, dst, buf, start, end), sum, 'independent of the field content');
  t.false(tcpChecksumOk(seg, dst + 1, src));
});

// ---------------------------------------------------------------------------
// decodeTcpSegment and formatTcpFlags
// ---------------------------------------------------------------------------

test('decodeTcpSegment', (t) => {
  const d = decodeTcpSegment(LINUX_DATA_TCP);
  t.like(d, {
    sourcePort: 0xb00a,
    destinationPort: 8080,
    seq: 0x91ed2389,
    ack: 0x3e9,
    headerLength: 32,
    flags: TCP_PSH | TCP_ACK,
    window: 63,
    checksum: 0xf87f,
    urgent: 0,
    optionsOk: true,
  });
  t.like(d.options, { tsPresent: true, tsVal: 0xd4ab8410, tsEcr: 0x11223344, mss: -1 });
  t.is(new TextDecoder().decode(d.payload), 'hello');
  t.is(d.payload.buffer, LINUX_DATA_TCP.buffer, 'the payload is a view, not a copy');

  const syn = decodeTcpSegment(LINUX_SYN_TCP);
  t.is(syn.payload.length, 0);
  t.is(syn.options.mss, 1460);
  t.not(syn.options, d.options, 'a fresh options object each time');

  const bad = decodeTcpSegment(LINUX_SYN_TCP.subarray(0, 30));
  t.false(bad.optionsOk);
  t.is(bad.payload.length, 0);
  t.throws(() => decodeTcpSegment(new Uint8Array(19)), { instanceOf: RangeError });
});

test('formatTcpFlags uses tcpdump letters and order', (t) => {
  t.is(formatTcpFlags(0), 'none');
  t.is(formatTcpFlags(TCP_SYN), 'S');
  t.is(formatTcpFlags(TCP_SYN | TCP_ACK), 'S.');
  t.is(formatTcpFlags(TCP_ACK), '.');
  t.is(formatTcpFlags(TCP_PSH | TCP_ACK), 'P.');
  t.is(formatTcpFlags(TCP_FIN | TCP_ACK), 'F.');
  t.is(formatTcpFlags(TCP_FIN | TCP_PSH | TCP_ACK), 'FP.');
  t.is(formatTcpFlags(TCP_RST), 'R');
  t.is(formatTcpFlags(TCP_RST | TCP_ACK), 'R.');
  t.is(formatTcpFlags(TCP_SYN | TCP_ECE | TCP_CWR), 'SEW');
  t.is(formatTcpFlags(TCP_URG | TCP_ACK), '.U');
  t.is(formatTcpFlags(0xff), 'FSRP.UEW');
  t.is(TCP_MIN_HEADER, 20);
});
