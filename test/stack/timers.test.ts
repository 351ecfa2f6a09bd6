import test from 'ava';
import { SeededRandom } from '../../stack/random.ts';
import { Timer, TimerQueue } from '../../stack/timers.ts';

test('timers fire in deadline order, ties in arming order', (t) => {
  const q = new TimerQueue();
  const fired: string[] = [];
  const mk = (name: string): Timer => new Timer(name, () => fired.push(name));
  const a = mk('a');
  const b = mk('b');
  const c = mk('c');
  const d = mk('d');
  q.arm(a, 30);
  q.arm(b, 10);
  q.arm(c, 10);
  q.arm(d, 20);
  t.is(q.nextDeadline(), 10);
  t.is(q.runDue(15), 2);
  t.deepEqual(fired, ['b', 'c']);
  q.runDue(100);
  t.deepEqual(fired, ['b', 'c', 'd', 'a']);
  t.is(q.nextDeadline(), Infinity);
});

test('re-arming moves a timer, cancelling removes it, and a callback may re-arm itself', (t) => {
  const q = new TimerQueue();
  const fired: number[] = [];
  let count = 0;
  const periodic: Timer = new Timer('periodic', () => {
    fired.push(periodic.deadline);
    if (++count < 3) q.arm(periodic, periodic.deadline + 5);
  });
  const x = new Timer('x', () => fired.push(-1));
  q.arm(periodic, 5);
  q.arm(x, 1);
  q.arm(x, 50);
  q.cancel(x);
  t.false(x.armed);
  q.cancel(x); // twice is harmless
  q.runDue(100);
  t.deepEqual(fired, [5, 10, 15]);
});

test('the heap stays ordered under random arm/cancel/re-arm (against a sorted model)', (t) => {
  const rng = new SeededRandom(7);
  const q = new TimerQueue();
  const timers = Array.from({ length: 200 }, (_, i) => new Timer(`t${i}`, () => undefined));
  for (let step = 0; step < 20_000; step++) {
    const timer = timers[rng.below(timers.length)]!;
    if (rng.below(3) === 0) q.cancel(timer);
    else q.arm(timer, rng.below(1000));
    if (step % 500 === 0) {
      const armed = timers.filter((x) => x.armed).map((x) => x.deadline);
      t.is(q.size, armed.length);
      t.is(q.nextDeadline(), armed.length ? Math.min(...armed) : Infinity);
    }
  }
  const order: number[] = [];
  for (const timer of timers) if (timer.armed) order.push(timer.deadline);
  const seen: number[] = [];
  const q2 = q;
  for (const timer of timers) {
    const original = timer.deadline;
    if (timer.armed) q2.arm(new Timer('probe', () => seen.push(original)), original);
  }
  q2.runDue(Infinity);
  t.deepEqual(
    seen,
    [...seen].sort((a, b) => a - b),
    'fired in non-decreasing deadline order',
  );
  t.is(seen.length, order.length);
});
