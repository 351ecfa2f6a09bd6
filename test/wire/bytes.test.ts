import test from 'ava';
import { readU16, readU32, writeU16, writeU32 } from '../../stack/wire/bytes.ts';
import { readIpv4, writeIpv4 } from '../../stack/wire/addr.ts';
import { SeededRandom } from '../../stack/random.ts';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('big-endian: the most significant byte first', (t) => {
  const b = new Uint8Array(6);
  writeU16(b, 0, 0x1234);
  writeU32(b, 2, 0xdeadbeef);
  t.is(toHex(b), '1234deadbeef');
  t.is(readU16(b, 0), 0x1234);
  t.is(readU32(b, 2), 0xdeadbeef);
});

test('readU32 is unsigned above 2^31', (t) => {
  const b = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0);
  t.is(readU32(b, 0), 0xffffffff);
  t.is(readU32(b, 4), 0x80000000);
});

test('writes keep the value modulo 2^16 / 2^32 and touch only their bytes', (t) => {
  const b = new Uint8Array(8).fill(0xa5);
  writeU16(b, 1, 0x12345);
  t.is(toHex(b), 'a52345a5a5a5a5a5');
  writeU32(b, 3, -1);
  t.is(toHex(b), 'a52345ffffffffa5');
  writeU32(b, 3, 2 ** 32 + 7);
  t.is(readU32(b, 3), 7);
});

test('round trips at every offset agree with Node Buffer (random values)', (t) => {
  const rng = new SeededRandom(1071);
  const ours = new Uint8Array(16);
  const node = Buffer.alloc(16);
  for (let n = 0; n < 2000; n++) {
    const i = rng.below(13);
    const v32 = rng.u32();
    const v16 = rng.below(65536);
    writeU32(ours, i, v32);
    node.writeUInt32BE(v32, i);
    t.is(readU32(ours, i), v32);
    t.is(readU32(node, i), node.readUInt32BE(i));
    writeU16(ours, i, v16);
    node.writeUInt16BE(v16, i);
    t.is(readU16(ours, i), v16);
    t.is(toHex(ours), toHex(node));
  }
});

test('readIpv4 and writeIpv4 are the 32-bit helpers', (t) => {
  t.is(readIpv4, readU32);
  t.is(writeIpv4, writeU32);
});
