/**
 * `tcpstack plot` of a SACK recovery (the exchange of
 * test/tcp/trace-state.test.ts: ten segments, the first lost, six SACKs,
 * the fast retransmission, the cumulative ACK): the graph's marks read
 * back from the SVG's descriptions against the trace itself. Every segment
 * sent, the fast retransmission by its mechanism, each SACK block, each
 * ACK with its receive-window edge equal to what the stack's own state
 * sample says it may send up to (una + sndWnd), every cwnd of every state
 * sample, ssthresh and in flight, the Recovery period shaded.
 */
import test from 'ava';
import type { TcpSegmentEvent, TcpStateSample } from '../../stack/trace.ts';
import { TraceModel, chartSpec, renderSvg } from '../../cli/plot/index.ts';
import { segmentExchange } from '../helpers/segment-exchange.ts';
import { passiveOpen } from '../helpers/tcp-peer.ts';

const MSS = 1448;

function sackRecovery() {
  const o = passiveOpen({ rtt: 50, sysctl: { tcp_congestion_control: 'reno' } });
  const { peer: p } = o;
  const edge = (i: number) => p.our(1 + MSS * i);
  p.quietUntil(100);
  segmentExchange(o, MSS).writes(10);
  p.quietUntil(150);
  for (let i = 2; i <= 7; i++) p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[edge(1), edge(i)]] } });
  p.quietUntil(200);
  p.send({ flags: '.', seq: p.their(1), ack: edge(10) });
  return o;
}

const at = (ms: number): string => `at ${(ms / 1000).toFixed(6)} s`;

test('a SACK recovery drawn: segments, the fast retransmission, SACK blocks, ACK and window edges, every cwnd, Recovery shaded', async (t) => {
  const o = sackRecovery();
  const model = new TraceModel();
  for (const e of o.s.trace) model.push(e);
  const [conn] = model.connections();
  const series = model.series(conn!.id)!;
  t.is(series.sending, 'out', 'the direction that carried the data');
  const svg = await renderSvg(series);
  const marks = new Set([...svg.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]!));
  const isn = o.peer.our(0);
  const rel = (seq: number): number => (seq - isn) >>> 0;
  const segs = o.s.trace.filter((e): e is TcpSegmentEvent => e.kind === 'tcp-seg');

  const sent = segs.filter((e) => e.dir === 'out' && e.len > 0);
  t.is(sent.length, 11, 'ten segments and one retransmission');
  for (const s of sent) {
    const label = `${s.rtx === undefined ? 'new data' : `retransmission (${s.rtx})`} ${rel(s.seq)}:${rel(s.seq) + s.len} ${at(s.t)}`;
    t.true(marks.has(label), label);
  }
  t.true(marks.has(`retransmission (fast) 1:${1 + MSS} ${at(150)}`));

  for (let i = 2; i <= 7; i++) t.true(marks.has(`sack ${1 + MSS}:${1 + MSS * i} ${at(150)}`), `SACK block up to segment ${i}`);

  // Each ACK's window edge against the sender's own view after it: una + sndWnd.
  const samples = o.s.trace.filter((e): e is TcpStateSample => e.kind === 'tcp-cc');
  const ackSamples = samples.filter((s) => s.why === 'ack');
  t.is(ackSamples.length, 7, 'six SACKs and the cumulative ACK');
  for (const s of ackSamples) t.true(marks.has(`ack ${rel(s.una)} window ${rel(s.una) + s.sndWnd} ${at(s.t)}`), `ack ${rel(s.una)} + ${s.sndWnd} ${at(s.t)}`);

  for (const s of samples) t.true(marks.has(`cwnd ${s.cwnd} ${at(s.t)}`), `cwnd ${s.cwnd} ${at(s.t)}`);
  t.true(marks.has(`recovery from ${(0.15).toFixed(6)} to ${(0.2).toFixed(6)} s`), [...marks].filter((m) => m.startsWith('recovery')).join(' | '));

  // The lines whose path carries one description: their data, from the spec.
  const layers = (chartSpec(series).vconcat as Array<{ layer: Array<{ data?: { values: Array<Record<string, unknown>> }; encoding: { y?: { field: string } } }> }>).flatMap((p) => p.layer);
  const valuesOf = (field: string): unknown[] => layers.find((l) => l.encoding.y?.field === field)!.data!.values.map((v) => v[field]);
  t.deepEqual(valuesOf('ssthresh'), samples.filter((s) => s.ssthresh < 0x7fffffff).map((s) => s.ssthresh));
  t.deepEqual(valuesOf('inflight'), samples.map((s) => s.inflight));
});
