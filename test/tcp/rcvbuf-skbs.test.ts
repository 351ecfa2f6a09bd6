/**
 * What received segments cost in receive memory, per the skbs they arrive
 * as (StackOptions.rxSkbs, stack/tcp/rcvbuf.ts), against `ss -m` on Linux
 * 6.18 (skmem r, sk_rmem_alloc) with a receiver that does not read:
 * - from a TUN device (this stack's link): 2304 bytes per 1448-byte segment,
 *   each its own linear skb;
 * - from a local sender over a veth with GSO off (the differential
 *   harness's kernel subject): 2280 for the first, then 1448 for each next
 *   segment coalesced as page fragments, up to 17 per skb; a 100-byte
 *   segment 100.
 */
import test from 'ava';
import type { Connection } from '../../stack/tcp/connection.ts';
import { chargeInOrder } from '../../stack/tcp/rcvbuf.ts';
import { seqAdd } from '../../stack/tcp/seq.ts';

/** The fields chargeInOrder reads and writes, with rcv_nxt moved on as tcp_queue_rcv does. */
function receiver(rxSkbs: 'tun' | 'veth') {
  const c = { ctx: { rxSkbs }, rcvSkbs: [], rmemAlloc: 0, rcvNxt: 1000, tcpHeaderLen: () => 32 } as unknown as Connection;
  const charge = (len: number): number => {
    const before = c.rmemAlloc;
    chargeInOrder(c, len);
    c.rcvNxt = seqAdd(c.rcvNxt, len);
    return c.rmemAlloc - before;
  };
  return { c, charge };
}

test('over a veth: 2280 for the first segment, 1448 for each of the next sixteen, 2280 for the eighteenth; 100 bytes cost 100', (t) => {
  const { c, charge } = receiver('veth');
  const costs = Array.from({ length: 18 }, () => charge(1448));
  t.deepEqual(costs, [2280, ...Array<number>(16).fill(1448), 2280]);
  t.is(charge(100), 100);
  t.is(c.rcvSkbs.length, 2);
});

test('from a TUN device: 2304 for every full segment, each its own skb', (t) => {
  const { c, charge } = receiver('tun');
  t.deepEqual(
    Array.from({ length: 18 }, () => charge(1448)),
    Array<number>(18).fill(2304),
  );
  t.is(c.rcvSkbs.length, 18);
});
