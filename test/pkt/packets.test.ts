/**
 * The runner's packet helpers: converting SACK blocks between script space
 * (relative to the ISN) and the stack's absolute sequence numbers, as
 * packetdrill's offset_sack_blocks does for every edge of every block.
 */
import test from 'ava';
import { encodeOptions, offsetSackBlocks, optionToString, parseOptions, type TcpView } from '../../cli/pkt/packets.ts';

function sackView(blocks: Array<[number, number]>): TcpView {
  const parsed = parseOptions(encodeOptions([{ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks }]));
  if (typeof parsed === 'string') throw new Error(parsed);
  return { options: parsed } as TcpView;
}

function sackText(v: TcpView): string {
  return v.options.map(optionToString).join(',');
}

test('every edge of every SACK block is offset, the right edge of the last block too', (t) => {
  const one = sackView([[1001, 2001]]);
  offsetSackBlocks(one, 100_000);
  t.is(sackText(one), 'nop,nop,sack 101001:102001');

  const three = sackView([[1001, 2001], [3001, 4001], [5001, 6001]]);
  offsetSackBlocks(three, 100_000);
  t.is(sackText(three), 'nop,nop,sack 101001:102001 103001:104001 105001:106001');
});

test('the offset wraps modulo 2^32, and the inverse offset restores script space', (t) => {
  const v = sackView([[1, 1001]]);
  offsetSackBlocks(v, 0xffff_ff00);
  t.is(sackText(v), `nop,nop,sack ${0xffff_ff01}:${(0xffff_ff00 + 1001) >>> 0}`);
  offsetSackBlocks(v, -0xffff_ff00 >>> 0);
  t.is(sackText(v), 'nop,nop,sack 1:1001');
});
