import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LINKTYPE_RAW, SNAPLEN } from '../../tun/pcap.ts';
import {
  BLOCK_EPB,
  BLOCK_IDB,
  BLOCK_SHB,
  EPB_FLAGS,
  EPB_INBOUND,
  EPB_OUTBOUND,
  IF_NAME,
  IF_TSRESOL,
  OPT_COMMENT,
  PcapngWriter,
  isPcapngPath,
} from '../../tun/pcapng.ts';
import { PcapngFormatError, isPcapng, readOptions, readPcapng, readPcapngBlocks } from '../../tun/pcapng-read.ts';
import { echoRequest } from '../helpers/packets.ts';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-pcapng-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const T0 = 1_700_000_000_000_000;

/** Packets of 28 + 0..4 bytes (every padding 0-3), comments of 0..5 bytes, one in UTF-8 beyond ASCII. */
const CASES = [
  { data: echoRequest(1, 1, 0), comment: undefined, flags: EPB_INBOUND },
  { data: echoRequest(1, 2, 1), comment: 'a', flags: EPB_OUTBOUND },
  { data: echoRequest(1, 3, 2), comment: 'ab', flags: EPB_INBOUND },
  { data: echoRequest(1, 4, 3), comment: 'abc', flags: undefined },
  { data: echoRequest(1, 5, 4), comment: 'abcd', flags: EPB_OUTBOUND },
  { data: echoRequest(1, 6, 5), comment: 'délai', flags: EPB_INBOUND },
];

function writeCases(path: string): void {
  const w = new PcapngWriter(path, { name: 'tcp0' });
  CASES.forEach((c, i) => w.write({ micros: T0 + i * 250_001, data: c.data, ...(c.flags === undefined ? {} : { flags: c.flags }), ...(c.comment === undefined ? {} : { comment: c.comment }) }));
  w.close();
}

test('pcapng blocks: SHB, IDB, then one EPB per packet, each a multiple of 4 bytes with its length repeated at the end', (t) => {
  const path = join(tempDir(t), 'blocks.pcapng');
  writeCases(path);
  const buf = readFileSync(path);
  t.true(isPcapng(buf));
  t.true(isPcapngPath(path));
  t.false(isPcapngPath('x.pcap'));
  t.true(isPcapngPath('X.PCAPNG'));

  // The raw layout, read here without the reader.
  t.is(buf.readUInt32LE(0), BLOCK_SHB);
  t.is(buf.readUInt32LE(8), 0x1a2b3c4d, 'byte-order magic, little-endian');
  t.is(buf.readUInt16LE(12), 1, 'major version');
  t.is(buf.readUInt16LE(14), 0, 'minor version');
  t.is(buf.readBigInt64LE(16), -1n, 'section length not given');
  const types: number[] = [];
  for (let off = 0; off < buf.length; ) {
    const length = buf.readUInt32LE(off + 4);
    t.is(length % 4, 0, `block at ${off}: 32-bit aligned`);
    t.is(buf.readUInt32LE(off + length - 4), length, `block at ${off}: trailing length`);
    types.push(buf.readUInt32LE(off));
    off += length;
  }
  t.deepEqual(types, [BLOCK_SHB, BLOCK_IDB, ...CASES.map(() => BLOCK_EPB)]);

  const { blocks, truncated } = readPcapngBlocks(buf);
  t.false(truncated);
  const idb = blocks[1]!;
  t.is(idb.body.readUInt16LE(0), LINKTYPE_RAW);
  t.is(idb.body.readUInt32LE(4), SNAPLEN);
  const idbOptions = readOptions(idb, 8);
  t.deepEqual(
    idbOptions.map((o) => [o.code, [...o.value]]),
    [
      [IF_NAME, [...Buffer.from('tcp0')]],
      [IF_TSRESOL, [6]],
    ],
  );
  // Each EPB: 20 fixed bytes, the packet padded to 4, then options padded to 4 and opt_endofopt.
  CASES.forEach((c, i) => {
    const b = blocks[2 + i]!;
    const padded = (c.data.length + 3) & ~3;
    t.is(b.body.readUInt32LE(12), c.data.length, `packet ${i}: captured length`);
    t.is(b.body.readUInt32LE(16), c.data.length, `packet ${i}: original length`);
    t.deepEqual([...b.body.subarray(20 + c.data.length, 20 + padded)], new Array(padded - c.data.length).fill(0), `packet ${i}: zero padding`);
    const options = readOptions(b, 20 + padded);
    const expected: Array<[number, number[]]> = [];
    if (c.comment !== undefined) expected.push([OPT_COMMENT, [...Buffer.from(c.comment, 'utf8')]]);
    if (c.flags !== undefined) expected.push([EPB_FLAGS, [c.flags, 0, 0, 0]]);
    t.deepEqual(
      options.map((o) => [o.code, [...o.value]]),
      expected,
      `packet ${i}: options`,
    );
    const optionBytes = expected.reduce((n, [, v]) => n + 4 + ((v.length + 3) & ~3), 0) + (expected.length > 0 ? 4 : 0);
    t.is(b.length, 12 + 20 + padded + optionBytes, `packet ${i}: block length`);
  });
});

test('the reader gives the section, the interface and each packet with its comment, direction and timestamp', (t) => {
  const path = join(tempDir(t), 'read.pcapng');
  writeCases(path);
  const file = readPcapng(readFileSync(path));
  t.false(file.truncated);
  t.is(file.sections.length, 1);
  t.is(file.sections[0]!.userAppl, 'tcpstack');
  const iface = file.sections[0]!.interfaces[0]!;
  t.like(iface, { linktype: LINKTYPE_RAW, snaplen: SNAPLEN, name: 'tcp0', unitsPerSecond: 1e6 });
  t.is(file.packets.length, CASES.length);
  file.packets.forEach((p, i) => {
    const c = CASES[i]!;
    t.deepEqual(p.data, Buffer.from(c.data));
    t.is(p.micros, T0 + i * 250_001);
    t.deepEqual(p.comments, c.comment === undefined ? [] : [c.comment]);
    t.is(p.flags, c.flags);
    t.is(p.direction, c.flags === EPB_INBOUND ? 'inbound' : c.flags === EPB_OUTBOUND ? 'outbound' : undefined);
  });
});

test('a packet longer than the snap length is cut, its original length kept', (t) => {
  const path = join(tempDir(t), 'snap.pcapng');
  const w = new PcapngWriter(path, { snaplen: 30 });
  const packet = echoRequest(1, 1, 13);
  w.write({ micros: T0, data: packet, comment: 'cut' });
  w.close();
  const file = readPcapng(readFileSync(path));
  t.is(file.sections[0]!.interfaces[0]!.snaplen, 30);
  t.deepEqual(file.packets[0]!.data, Buffer.from(packet.subarray(0, 30)));
  t.is(file.packets[0]!.originalLength, packet.length);
  t.deepEqual(file.packets[0]!.comments, ['cut']);
});

test('a file cut inside its last block reads up to it and says so; a bad trailing length is an error naming the offset', (t) => {
  const path = join(tempDir(t), 'cut.pcapng');
  writeCases(path);
  const buf = readFileSync(path);
  const cut = readPcapng(buf.subarray(0, buf.length - 6));
  t.true(cut.truncated);
  t.is(cut.packets.length, CASES.length - 1);

  const bad = Buffer.from(buf);
  const { blocks } = readPcapngBlocks(buf);
  const last = blocks.at(-1)!;
  bad.writeUInt32LE(last.length + 4, last.offset + last.length - 4);
  const error = t.throws(() => readPcapng(bad), { instanceOf: PcapngFormatError });
  t.regex(error.message, new RegExp(`offset ${last.offset}: block length ${last.length} but trailing length ${last.length + 4}`));
  t.throws(() => readPcapng(Buffer.from([0xd4, 0xc3, 0xb2, 0xa1])), { instanceOf: PcapngFormatError, message: /not a pcapng file/ });
});

test('a big-endian section is read as well (another writer\'s byte order), with a nanosecond interface', (t) => {
  const be = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const block = (type: number, body: Buffer): Buffer => Buffer.concat([be(type), be(12 + body.length), body, be(12 + body.length)]);
  const shb = block(BLOCK_SHB, Buffer.concat([be(0x1a2b3c4d), Buffer.from([0, 1, 0, 0]), Buffer.alloc(8, 0xff)]));
  const idb = block(BLOCK_IDB, Buffer.concat([Buffer.from([0, LINKTYPE_RAW, 0, 0]), be(65535), Buffer.from([0, IF_TSRESOL, 0, 1, 9, 0, 0, 0]), Buffer.alloc(4)]));
  const packet = Buffer.from(echoRequest(1, 1, 4));
  const ns = BigInt(T0) * 1000n + 789n;
  const epb = block(
    BLOCK_EPB,
    Buffer.concat([be(0), be(Number(ns >> 32n)), be(Number(ns & 0xffffffffn)), be(packet.length), be(packet.length), packet, Buffer.from([0, EPB_FLAGS, 0, 4]), be(EPB_OUTBOUND), Buffer.alloc(4)]),
  );
  const dir = tempDir(t);
  writeFileSync(join(dir, 'be.pcapng'), Buffer.concat([shb, idb, epb]));
  const file = readPcapng(readFileSync(join(dir, 'be.pcapng')));
  t.false(file.sections[0]!.littleEndian);
  t.is(file.sections[0]!.interfaces[0]!.unitsPerSecond, 1e9);
  t.is(file.packets[0]!.micros, T0 + 1, '789 ns round to 1 us');
  t.is(file.packets[0]!.direction, 'outbound');
  t.deepEqual(file.packets[0]!.data, packet);
});

test('a pcapng writer never overwrites a file that is already there (O_EXCL)', (t) => {
  const path = join(tempDir(t), 'kept.pcapng');
  writeFileSync(path, 'not ours\n');
  const error = t.throws(() => new PcapngWriter(path));
  t.is((error as NodeJS.ErrnoException).code, 'EEXIST');
  t.is(readFileSync(path, 'utf8'), 'not ours\n');
});
