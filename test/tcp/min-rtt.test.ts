/**
 * The windowed minimum RTT (lib/minmax.c's minmax_running_min, as
 * tcp_update_rtt_min uses it over tcp_min_rtt_wlen): the best sample of the
 * window, aged out by quarters so an old minimum does not stick.
 */
import test from 'ava';
import { MinRttFilter } from '../../stack/tcp/min-rtt.ts';

const WIN = 300_000; // ms

test('no sample: Infinity (tcp_min_rtt ~0U); a lower sample takes over at once', (t) => {
  const f = new MinRttFilter();
  t.is(f.value, Infinity);
  f.update(0, WIN, 100_000);
  t.is(f.value, 100_000);
  f.update(10, WIN, 120_000);
  t.is(f.value, 100_000);
  f.update(20, WIN, 50_000);
  t.is(f.value, 50_000);
});

test('the minimum expires with the window: the best later sample replaces it', (t) => {
  const f = new MinRttFilter();
  f.update(0, WIN, 50_000);
  // A quarter of the window later a second choice is taken, half later a third.
  f.update(80_000, WIN, 90_000);
  f.update(160_000, WIN, 70_000);
  t.is(f.value, 50_000);
  // Past the window the first expires; the second-best (70 ms) remains.
  f.update(300_001, WIN, 95_000);
  t.is(f.value, 70_000);
});
