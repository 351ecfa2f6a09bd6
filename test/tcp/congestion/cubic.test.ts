/**
 * CUBIC in virtual time, against numbers from Linux's net/ipv4/tcp_cubic.c:
 * its bictcp_update, cubictcp_recalc_ssthresh, cubic_root, tcp_slow_start
 * and tcp_cong_avoid_ai transcribed to C with their u32/u64 arithmetic
 * (HZ 250, INITIAL_JIFFIES) and run through the same ACK sequences.
 */
import test from 'ava';
import { newCounters } from '../../../stack/counters.ts';
import { Cubic, CUBE_FACTOR } from '../../../stack/tcp/congestion/cubic.ts';
import { cubicRoot } from '../../../stack/tcp/congestion/cubic-root.ts';

function cubicAt(cwnd: number, ssthresh: number) {
  const host = { t: 0, sndNxt: 1000, ctx: { counters: newCounters() }, now: () => host.t };
  const cc = new Cubic(host);
  cc.cwnd = cwnd;
  cc.ssthresh = ssthresh;
  return { cc, host };
}

/** One ACK of one segment every `gap` ms from t0 for `duration` ms, the sender cwnd-limited. */
function ackClock(x: ReturnType<typeof cubicAt>, t0: number, gap: number, duration: number): void {
  for (let t = t0; t < t0 + duration; t += gap) {
    x.host.t = t;
    x.cc.onAck(1, true);
  }
}

test('cubic_root gives the kernel table-and-Newton results, not the exact cube root', (t) => {
  const cases: Array<[bigint, number]> = [
    [0n, 0],
    [1n, 1],
    [5n, 2],
    [63n, 4],
    [64n, 4],
    [100n, 5],
    [1000n, 10],
    [27000n, 30],
    [1n << 20n, 101],
    [CUBE_FACTOR * 30n, 4316],
    [CUBE_FACTOR * 12n, 3179],
    [CUBE_FACTOR * 1000n, 13897],
    [CUBE_FACTOR * 100000n, 64487],
    [0xffffffffffffn, 65533],
  ];
  for (const [a, root] of cases) t.is(cubicRoot(a), root, `cubic_root(${a})`);
  t.is(CUBE_FACTOR, 2681735677n);
});

test('congestion avoidance before any loss grows at most 5% per RTT (cnt 20), Reno estimate tracked', (t) => {
  const x = cubicAt(10, 10);
  x.cc.onRttSample(100_000, 1, 1448, 100_000); // delay_min 100 ms
  ackClock(x, 0, 10, 2000);
  t.is(x.cc.cwnd, 20);
  t.is(x.cc.cnt, 20);
  t.is(x.cc.tcpCwnd, 17);
});

test('a loss at cwnd 100: ssthresh 70 (beta 717/1024), W_max 100, K 4316/1024 s, back at W_max after K', (t) => {
  const x = cubicAt(10, 10);
  x.cc.onRttSample(100_000, 1, 1448, 100_000);
  ackClock(x, 0, 10, 2000);
  x.cc.cwnd = 100;
  x.cc.onEnterRecovery();
  t.is(x.cc.ssthresh, 70);
  t.is(x.cc.cwnd, 100, 'PRR, not the congestion control, brings cwnd down');
  t.is(x.cc.lastMaxCwnd, 100);
  x.cc.onExitRecovery();
  t.is(x.cc.cwnd, 70);
  ackClock(x, 5000, 1, 1);
  t.is(x.cc.k, 4316);
  t.is(x.cc.originPoint, 100);
  ackClock(x, 5001, 1, 3000);
  t.is(x.cc.cwnd, 100, 'the concave part ends at W_max');
  ackClock(x, 8001, 1, 3000);
  t.is(x.cc.cwnd, 103, 'then the convex probe above it');

  // Fast convergence: a loss below W_max lowers W_max to cwnd (1 + beta) / 2.
  x.cc.cwnd = 80;
  x.cc.onEnterRecovery();
  x.cc.onExitRecovery();
  ackClock(x, 20000, 1, 1);
  t.is(x.cc.ssthresh, 56);
  t.is(x.cc.lastMaxCwnd, 68);
  t.is(x.cc.k, 3179);

  // A loss above W_max: W_max is the cwnd itself.
  x.cc.cwnd = 120;
  x.cc.onEnterRecovery();
  x.cc.onExitRecovery();
  ackClock(x, 30000, 1, 1);
  t.is(x.cc.ssthresh, 84);
  t.is(x.cc.lastMaxCwnd, 120);
  t.is(x.cc.k, 4587);
});

test('ssthresh on loss is never below 2; an RTO resets W_max and the epoch (TCP_CA_Loss), cwnd 1', (t) => {
  const x = cubicAt(2, 2);
  x.cc.onEnterRecovery();
  t.is(x.cc.ssthresh, 2);
  const y = cubicAt(50, 50);
  ackClock(y, 0, 1, 10);
  y.cc.onTimeout();
  t.is(y.cc.cwnd, 1);
  t.is(y.cc.ssthresh, Math.floor((50 * 717) / 1024));
  t.is(y.cc.lastMaxCwnd, 0);
  t.is(y.cc.epochStart, 0);
  t.is(y.cc.undoCwnd(40), 40, 'tcp_reno_undo_cwnd: max(cwnd, prior_cwnd)');
});

test('HyStart delay detection: the round minimum RTT 4 ms above delay_min after 8 samples ends slow start', (t) => {
  const x = cubicAt(16, 0x7fffffff);
  // A first round at 20 ms: delay_min 20 ms. ACKs 3 ms apart, so no ACK train.
  let now = 0;
  for (let i = 0; i < 8; i++) {
    x.host.t = now += 3;
    x.cc.onRttSample(20_000, 100 + i, 1448, 20_000);
  }
  t.is(x.cc.ssthresh, 0x7fffffff);
  // The next round (snd_una past the round's end_seq) sees 24.001 ms: over 20 + max(20/8, 4) ms.
  x.host.sndNxt = 5000;
  for (let i = 0; i < 9; i++) {
    x.host.t = now += 3;
    x.cc.onRttSample(24_001, 2000 + i, 1448, 22_000);
  }
  t.is(x.cc.ssthresh, 16, 'ssthresh = cwnd ends slow start');
  t.is(x.host.ctx.counters.TcpExtTCPHystartDelayDetect, 1);
  t.is(x.host.ctx.counters.TcpExtTCPHystartDelayCwnd, 16);
  t.is(x.host.ctx.counters.TcpExtTCPHystartTrainDetect, 0);
});

test('HyStart delay detection does not fire at exactly delay_min + 4 ms, nor below hystart_low_window', (t) => {
  const x = cubicAt(16, 0x7fffffff);
  let now = 0;
  x.host.t = now += 3;
  x.cc.onRttSample(20_000, 1, 1448, 20_000);
  for (let i = 0; i < 20; i++) {
    x.host.t = now += 3;
    x.cc.onRttSample(24_000, 2 + i, 1448, 20_000);
  }
  t.is(x.cc.ssthresh, 0x7fffffff);
  const small = cubicAt(15, 0x7fffffff);
  small.cc.onRttSample(20_000, 1, 1448, 20_000);
  for (let i = 0; i < 20; i++) {
    small.host.t += 3;
    small.cc.onRttSample(40_000, 2 + i, 1448, 20_000);
  }
  t.is(small.cc.ssthresh, 0x7fffffff);
});

test('HyStart ACK train: ACKs within 2 ms of each other spanning more than (delay_min + 1 ms) / 2 end slow start', (t) => {
  const x = cubicAt(20, 0x7fffffff);
  // delay_min 10 ms; with srtt 10 ms and cwnd 20 the hystart_ack_delay cushion is 1 ms: threshold 5.5 ms.
  x.host.t = 0;
  x.cc.onRttSample(10_000, 1, 1448, 10_000);
  for (let i = 1; i <= 5; i++) {
    x.host.t = i;
    x.cc.onRttSample(10_000, 1 + i, 1448, 10_000);
  }
  t.is(x.cc.ssthresh, 0x7fffffff, '5 ms of train is not enough');
  x.host.t = 5.6;
  x.cc.onRttSample(10_000, 7, 1448, 10_000);
  t.is(x.cc.ssthresh, 20);
  t.is(x.host.ctx.counters.TcpExtTCPHystartTrainDetect, 1);
  t.is(x.host.ctx.counters.TcpExtTCPHystartTrainCwnd, 20);
});

test('after an idle period (CA_EVENT_TX_START) the epoch moves by the idle time', (t) => {
  const x = cubicAt(10, 10);
  x.host.t = 0;
  x.cc.onDataSent(0);
  ackClock(x, 0, 10, 100);
  const epoch = x.cc.epochStart;
  t.not(epoch, 0);
  x.host.t = 2000; // nothing sent since t = 0 (lsndtime)
  x.cc.onDataSent(0);
  t.is(x.cc.epochStart, (epoch + 500) >>> 0, '2000 ms of idle since lsndtime = 500 jiffies at HZ 250');
  x.host.t = 2010;
  x.cc.onDataSent(3);
  t.is(x.cc.epochStart, (epoch + 500) >>> 0, 'data with segments in flight is no TX_START');
});

test('HyStart rounds start from the first sample, whatever SND.NXT was when the socket was made', (t) => {
  // Made before the ISS is chosen (SND.NXT 0), then the connection's sequence space is far "before" 0.
  const x = cubicAt(16, 0x7fffffff);
  x.host.sndNxt = 0;
  const y = new Cubic(x.host);
  y.cwnd = 16;
  x.host.sndNxt = 0x90000100;
  let now = 0;
  for (let i = 0; i < 8; i++) {
    x.host.t = now += 3;
    y.onRttSample(20_000, 0x90000000 + i, 1448, 20_000);
  }
  x.host.sndNxt = 0x90000400;
  for (let i = 0; i < 9; i++) {
    x.host.t = now += 3;
    y.onRttSample(24_001, 0x90000200 + i, 1448, 22_000);
  }
  t.is(y.ssthresh, 16, 'the second round sees the delay increase');
});
