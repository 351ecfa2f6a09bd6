/** The 4-tuple table (stack/tcp/tables.ts): one entry inline per remote endpoint, more by local port. */
import test from 'ava';
import { FourTupleMap } from '../../stack/tcp/tables.ts';

const R = 0xc6120001; // 198.18.0.1: above 2^31, as most addresses are

test('entries of one remote endpoint on several local ports: set, get, replace, delete in any order', (t) => {
  const m = new FourTupleMap<string>();
  m.set(R, 5000, 7, 'a');
  m.set(R, 5000, 8, 'b');
  m.set(R, 5000, 9, 'c');
  m.set(R, 5001, 7, 'd');
  t.is(m.size, 4);
  t.is(m.get(R, 5000, 7), 'a');
  t.is(m.get(R, 5000, 8), 'b');
  t.is(m.get(R, 5000, 10), undefined);
  t.is(m.get(R + 1, 5000, 7), undefined);
  m.set(R, 5000, 8, 'B');
  t.is(m.size, 4, 'replacing is not adding');
  t.is(m.get(R, 5000, 8), 'B');
  // Deleting the inline entry: another one takes its place.
  t.true(m.delete(R, 5000, 7));
  t.is(m.get(R, 5000, 7), undefined);
  t.is(m.get(R, 5000, 8), 'B');
  t.is(m.get(R, 5000, 9), 'c');
  t.false(m.delete(R, 5000, 7), 'gone already');
  t.is(m.size, 3);
  t.deepEqual([...m.values()].sort(), ['B', 'c', 'd']);
  t.true(m.delete(R, 5000, 9));
  t.true(m.delete(R, 5000, 8));
  t.is(m.get(R, 5000, 8), undefined);
  t.true(m.delete(R, 5001, 7));
  t.is(m.size, 0);
  t.deepEqual([...m.values()], []);
  m.set(R, 5000, 8, 'again');
  t.is(m.get(R, 5000, 8), 'again');
  m.clear();
  t.is(m.size, 0);
  t.is(m.get(R, 5000, 8), undefined);
});

test('agrees with a plain map of string keys over a seeded sequence of operations', (t) => {
  const m = new FourTupleMap<number>();
  const model = new Map<string, number>();
  let x = 12345;
  const next = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  for (let i = 0; i < 20_000; i++) {
    const raddr = R + next(3);
    const rport = 5000 + next(4);
    const lport = 7 + next(4);
    const key = `${raddr}:${rport}:${lport}`;
    if (next(3) === 0) {
      t.is(m.delete(raddr, rport, lport), model.delete(key), key);
    } else {
      m.set(raddr, rport, lport, i);
      model.set(key, i);
    }
    if (m.get(raddr, rport, lport) !== model.get(key) || m.size !== model.size) {
      t.fail(`diverged at step ${i} on ${key}`);
      return;
    }
  }
  t.deepEqual([...m.values()].sort((a, b) => a - b), [...model.values()].sort((a, b) => a - b));
});
