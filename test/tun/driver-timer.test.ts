/**
 * The real-time driver's one host timer (tun/driver.ts, rearm): it moves
 * only when the stack's earliest deadline moves earlier; a deadline pushed
 * later (an RTO or delayed ACK at every batch) leaves it armed, and when it
 * fires with nothing due it is armed for the deadline of that moment. With
 * no deadline left it stays but no longer keeps Node alive (unref), and a
 * deadline that comes back after it takes it again (ref): a request-response
 * exchange, with no deadline between the ACK and the reply, costs no
 * clearTimeout and setTimeout per round trip.
 */
import test from 'ava';
import type { BatchHandler, Link } from '../../stack/link.ts';
import type { Stack } from '../../stack/stack.ts';
import { MonotonicClock, RealtimeDriver } from '../../tun/driver.ts';

/** Just what the driver calls: the deadline is the test's to move; runTimers is recorded. */
class FakeStack {
  deadline = Infinity;
  timerRuns = 0;
  onFlushNeeded: (() => void) | undefined;
  onApplicationError: ((error: unknown) => void) | undefined;
  onRun: (() => void) | undefined;
  nextDeadline(): number {
    return this.deadline;
  }
  input(): undefined {
    return undefined;
  }
  flush(): void {}
  inputBatch(): void {}
  runTimers(): void {
    this.timerRuns++;
    this.onRun?.();
  }
}

test.serial('the host timer is set again only when the deadline moves earlier; with none it stays, unreferenced', async (t) => {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  let sets = 0;
  let clears = 0;
  let last: NodeJS.Timeout | undefined;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    sets++;
    last = realSet(fn, ms);
    return last;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((id: Parameters<typeof clearTimeout>[0]) => {
    clears++;
    realClear(id);
  }) as typeof clearTimeout;
  t.teardown(() => {
    globalThis.setTimeout = realSet;
    globalThis.clearTimeout = realClear;
  });

  const clock = new MonotonicClock();
  const stack = new FakeStack();
  let deliver: BatchHandler | undefined;
  const link: Link = { mtu: 1500, send: () => undefined, onReceive: (h) => (deliver = h), close: () => undefined };
  const driver = new RealtimeDriver(stack as unknown as Stack, link, clock);
  t.teardown(() => driver.stop());
  const batch = (): void => deliver!([new Uint8Array(20)]);

  // Deadlines from one base, far enough ahead that a loaded machine's
  // pauses between the steps cannot turn a later deadline into a due one.
  const base = performance.now();
  stack.deadline = base + 1000;
  batch();
  t.is(sets, 1, 'armed for the first deadline');
  for (let i = 1; i <= 5; i++) {
    stack.deadline = base + 1000 + i * 10;
    batch();
  }
  t.is(sets, 1, 'five later deadlines: still the same timer');
  t.is(clears, 0);
  stack.deadline = base + 500;
  batch();
  t.is(sets, 2, 'an earlier deadline moves it');
  t.is(clears, 1);

  // It fires at that deadline; the stack's deadline is later by then: nothing due, armed again.
  stack.deadline = base + 900;
  batch();
  t.is(sets, 2);
  const fired = new Promise<void>((resolve) => (stack.onRun = resolve));
  await Promise.race([fired, new Promise((resolve) => realSet(resolve, 2000))]);
  t.is(stack.timerRuns, 1, 'fired early, once');
  t.is(sets, 3, 'and armed again for the deadline of that moment');

  stack.deadline = Infinity;
  batch();
  t.is(clears, 1, 'no deadline: the timer stays...');
  t.false(last!.hasRef(), '...but keeps nothing alive');
  stack.deadline = performance.now() + 500;
  batch();
  t.deepEqual([sets, clears], [3, 1], 'a later deadline back: the same timer...');
  t.true(last!.hasRef(), '...referenced again');
});

test('what a batch queues is left to the flush it ends with; an application call between batches gets one flush on the next microtask', async (t) => {
  class CountingStack extends FakeStack {
    flushes = 0;
    override input(): undefined {
      // As TCP does for every segment that marks its connection for output (TcpLayer.dirty).
      this.onFlushNeeded?.();
      return undefined;
    }
    override flush(): void {
      this.flushes++;
    }
  }
  const stack = new CountingStack();
  let deliver: BatchHandler | undefined;
  const link: Link = { mtu: 1500, send: () => undefined, onReceive: (h) => (deliver = h), close: () => undefined };
  const driver = new RealtimeDriver(stack as unknown as Stack, link, new MonotonicClock());
  t.teardown(() => driver.stop());

  deliver!([new Uint8Array(20), new Uint8Array(20), new Uint8Array(20)]);
  await Promise.resolve();
  await Promise.resolve();
  t.is(stack.flushes, 1, "three segments, one flush: the batch's own");

  stack.onFlushNeeded!(); // a write from a timer callback or an I/O event of the application
  stack.onFlushNeeded!();
  t.is(stack.flushes, 1, 'not at once...');
  await Promise.resolve();
  t.is(stack.flushes, 2, '...but once, on the next microtask');
});
