/**
 * The stack's own view in the trace: the state sample after each ACK and
 * timer (tcp-cc), congestion-avoidance state changes (tcp-ca), undo
 * (tcp-undo), timers armed, and the mechanism of every retransmission on
 * its segment (rtx). The exchanges are those of loss-probe.test.ts and
 * prr.test.ts, whose segments and counters are checked there against
 * Linux; here, what the trace says about them.
 */
import test from 'ava';
import type { TcpSegmentEvent, TcpStateSample, TraceEvent } from '../../stack/trace.ts';
import { segmentExchange } from '../helpers/segment-exchange.ts';
import { passiveOpen, pattern, type Opened, type TcpPeer } from '../helpers/tcp-peer.ts';

const MSS = 1448;

const edge = (p: TcpPeer, i: number) => p.our(1 + MSS * i);

function since(o: Opened, t0: number): TraceEvent[] {
  return o.s.trace.filter((e) => e.t >= t0);
}

function samples(events: TraceEvent[]): TcpStateSample[] {
  return events.filter((e): e is TcpStateSample => e.kind === 'tcp-cc');
}

function retransmissions(o: Opened, events: TraceEvent[]): Array<[number, number, string]> {
  return events
    .filter((e): e is TcpSegmentEvent => e.kind === 'tcp-seg' && e.dir === 'out' && e.rtx !== undefined)
    .map((e) => [e.t, (e.seq - o.peer.our(0)) >>> 0, e.rtx!]);
}

test('a tail loss probe and two RTOs: each retransmission names its mechanism, the timers armed and fired, Loss entered with cwnd 1', (t) => {
  const o = passiveOpen({ rtt: 50 });
  const { peer: p, ep } = o;
  p.quietUntil(100);
  const t0 = o.s.clock.now();
  ep.write(pattern(2 * MSS));
  p.flush();
  p.runUntil(1000);
  const events = since(o, t0);
  // loss-probe.test.ts: the probe resends the last segment at 208, the RTO the head at 460 and 964.
  t.deepEqual(retransmissions(o, events), [
    [208, 1 + MSS, 'tlp'],
    [460, 1, 'rto'],
    [964, 1, 'rto'],
  ]);
  const timers = events.filter((e) => e.kind === 'tcp-timer').map((e) => (e.kind === 'tcp-timer' ? [e.t, e.timer, e.action, e.ms] : []));
  t.deepEqual(timers.slice(0, 5), [
    [100, 'rto', 'arm', 252], // tcp_event_new_data_sent arms the RTO, then tcp_schedule_loss_probe takes its slot
    [100, 'tlp', 'arm', 108], // PTO = 2·SRTT + TCP_TIMEOUT_MIN
    [208, 'tlp', 'fire', undefined],
    [208, 'rto', 'arm', 252],
    [460, 'rto', 'fire', undefined],
  ]);
  const ca = events.filter((e) => e.kind === 'tcp-ca').map((e) => (e.kind === 'tcp-ca' ? [e.t, e.from, e.to] : []));
  t.deepEqual(ca, [[460, 'open', 'loss']]);
  const afterRto = samples(events).find((s) => s.t === 460 && s.why === 'timer')!;
  t.like(afterRto, { ca: 'loss', cwnd: 1, inflight: 1, srtt: 50, rto: 504, sndQ: 2 * MSS, mss: MSS });
  const conn = o.s.stack.tcp.connections()[0]!;
  t.is(afterRto.una, o.peer.our(1));
  t.is(afterRto.ssthresh, conn.ssthresh, 'ssthresh as ss reports it');
});

test('SACK recovery: the fast retransmission is "fast", each SACK gives a state sample with PRR\'s cwnd, recovery entered and left', (t) => {
  const o = passiveOpen({ rtt: 50, sysctl: { tcp_congestion_control: 'reno' } });
  const { peer: p } = o;
  p.quietUntil(100);
  segmentExchange(o, MSS).writes(10);
  p.quietUntil(150);
  const t0 = o.s.clock.now();
  for (let i = 2; i <= 7; i++) p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(p, 1), edge(p, i)]] } });
  p.quietUntil(200);
  p.send({ flags: '.', seq: p.their(1), ack: edge(p, 10) });
  const events = since(o, t0);
  t.deepEqual(retransmissions(o, events), [[150, 1, 'fast']]);
  const acks = samples(events).filter((s) => s.why === 'ack');
  t.is(acks.length, 7, 'one sample per ACK processed');
  // prr.test.ts: Reno's PRR gives 7, 6, 5, 5 from the third SACK, 5 when recovery ends.
  t.deepEqual(
    acks.map((s) => [s.ca, s.cwnd]),
    [
      ['disorder', 10],
      ['disorder', 10],
      ['recovery', 7],
      ['recovery', 6],
      ['recovery', 5],
      ['recovery', 5],
      ['open', 5],
    ],
  );
  t.true(acks.slice(2).every((s) => s.ssthresh === 5));
  t.is(acks.at(-1)!.una, edge(p, 10));
  t.is(acks.at(-1)!.inflight, 0);
  const ca = events.filter((e) => e.kind === 'tcp-ca').map((e) => (e.kind === 'tcp-ca' ? `${e.from}→${e.to}` : ''));
  t.deepEqual(ca, ['open→disorder', 'disorder→recovery', 'recovery→open']);
});

test('an RTT sample is reported with the ACK that gave it, none with an ACK that gave none', (t) => {
  const o = passiveOpen({ rtt: 50 });
  const { peer: p, ep } = o;
  p.quietUntil(100);
  ep.write(pattern(MSS));
  p.flush();
  p.quietUntil(130);
  const t0 = o.s.clock.now();
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1 + MSS) });
  p.quietUntil(140);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1 + MSS), win: 100 });
  const acks = samples(since(o, t0));
  t.is(acks.length, 2);
  t.is(acks[0]!.rtt, 30);
  t.is(acks[1]!.rtt, undefined, 'a window update measures nothing');
});

test('nothing is built while no sink is installed: the same exchange with the trace off sends the same segments', (t) => {
  const run = (traced: boolean) => {
    const o = passiveOpen({ rtt: 50 });
    if (!traced) o.s.stack.trace = undefined;
    o.peer.quietUntil(100);
    o.ep.write(pattern(2 * MSS));
    const first = o.peer.flush().map((x) => [x.flags, x.len]);
    return [...first, ...o.peer.runUntil(1000).map((x) => [x.t, x.flags, x.len])];
  };
  t.deepEqual(run(false), run(true));
});
