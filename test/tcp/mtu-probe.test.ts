/**
 * Path MTU probing (RFC 4821; stack/tcp/mtu-probe.ts), segment in and
 * segment out, as Linux 6.18 does it (test/scripts/mtu-probe-success.pkt
 * and mtu-probe-lost.pkt are the same exchanges, confirmed on the kernel):
 * with tcp_mtu_probing 2 an active open starts at tcp_base_mss's MSS; a
 * probe halfway to the peer's MSS goes first once cwnd is 11 or more;
 * acknowledged, it becomes the MSS; lost at SND.UNA, it lowers the top of
 * the search and is resent cut to the MSS without a congestion response;
 * with tcp_mtu_probing 1, RTOs past tcp_retries1 switch probing on (black
 * hole detection).
 */
import test from 'ava';
import { activeOpen, pattern, type Seen } from '../helpers/tcp-peer.ts';

const shape = (segs: Seen[], base: number): Array<[string, number, number]> => segs.map((x) => [x.flags, x.seq - base, x.len]);

/** An active open with probing on (no timestamps), the first flight of 10 × 1036 acknowledged: cwnd 20. */
function probing(sysctl = {}) {
  const o = activeOpen({ ts: false, win: 65535, ws: false, sysctl: { tcp_mtu_probing: 2, ...sysctl } });
  const { peer: p, ep, s } = o;
  const info = () => s.stack.tcp.connections()[0]!;
  ep.write(pattern(10 * 1036));
  const first = p.flush();
  p.quietUntil(150);
  t0Ack(p, 1 + 10 * 1036);
  return { ...o, p, info, first };
}

function t0Ack(p: ReturnType<typeof activeOpen>['peer'], n: number, sack?: Array<[number, number]>): Seen[] {
  return p.send({ flags: '.', seq: p.their(1), ack: p.our(n), win: 65535, ...(sack ? { opts: { sack: sack.map(([a, b]) => [p.our(a), p.our(b)] as [number, number]) } } : {}) });
}

test('tcp_mtu_probing 2: the MSS starts at tcp_base_mss (1036 = 1076 − 40, timestamps foreseen at connect()); no probe while cwnd < 11', (t) => {
  const { first, info, p } = probing();
  t.is(first.length, 10);
  t.true(first.every((x) => x.len === 1036), 'no probe in the first flight (cwnd 10)');
  t.like(info(), { mss: 1036, cwnd: 20 });
  t.is(p.s.stack.counters.TcpExtTCPMTUPSuccess, 0);
});

test('a probe of (1064 + 1500) / 2 − 40 = 1242 bytes goes first; its ACK makes it the MSS and rescales cwnd (TcpExtTCPMTUPSuccess)', (t) => {
  const { p, ep, info } = probing();
  ep.write(pattern(12000));
  const out = p.flush();
  const base = p.our(0);
  t.deepEqual(shape(out, base).slice(0, 3), [
    ['.', 10361, 1242],
    ['.', 11603, 1036],
    ['P.', 12639, 1036],
  ]);
  t.is(out.length, 12, 'the probe, ten full segments and the rest');
  t.like(info(), { cwnd: 19, mss: 1036 }, 'cwnd gives the probe one packet');
  p.quietUntil(250);
  t0Ack(p, 22361);
  // tcp_mtup_probe_success: 19 × 1076 / 1282 = 15, then slow start adds the 12 segments.
  t.like(info(), { mss: 1242, cwnd: 27 });
  t.is(p.s.stack.counters.TcpExtTCPMTUPSuccess, 1);
  ep.write(pattern(3000));
  t.deepEqual(shape(p.flush(), base), [
    ['.', 22361, 1242],
    ['P.', 23603, 1242],
    ['P.', 24845, 516],
  ]);
});

test('a lost probe: the third SACK resends it at the MSS as one packet of two segments, no recovery; search_high drops below it (TcpExtTCPMTUPFail)', (t) => {
  const { p, ep, info, s } = probing();
  ep.write(pattern(12000));
  p.flush();
  p.quietUntil(250);
  t.deepEqual(t0Ack(p, 10361, [[11603, 12639]]), []);
  t.deepEqual(t0Ack(p, 10361, [[11603, 13675]]), []);
  const resent = t0Ack(p, 10361, [[11603, 14711]]);
  t.deepEqual(shape(resent, p.our(0)), [
    ['.', 10361, 1036],
    ['P.', 11397, 206],
  ]);
  t.is(s.stack.counters.TcpExtTCPMTUPFail, 1);
  t.is(s.stack.counters.TcpExtTCPSackRecovery, 0, 'not a congestion episode');
  t.like(info(), { mss: 1036, cwnd: 20 }, 'cwnd gets back the packet the probe took');
  p.quietUntil(350);
  t0Ack(p, 22361);
  // The next probe is halfway to the lowered search_high, 1281: (1064 + 1281) / 2 − 40.
  ep.write(pattern(6000));
  t.deepEqual(shape(p.flush(), p.our(0))[0], ['.', 22361, 1132]);
});

test('too little data for the probe and four full segments after it (size_needed): no probe', (t) => {
  const { p, ep } = probing();
  ep.write(pattern(1242 + 4 * 1036 - 1));
  t.true(p.flush().every((x) => x.len <= 1036));
});

test('tcp_mtu_probing 1: probing starts only when RTOs pass tcp_retries1 (black hole detection), and cuts the MSS to tcp_base_mss', (t) => {
  const o = activeOpen({ ts: false, win: 65535, ws: false, sysctl: { tcp_mtu_probing: 1 } });
  const { peer: p, ep, s } = o;
  t.like(s.stack.tcp.connections()[0], { mss: 1460 }, 'no cap at search_low while probing is off');
  ep.write(pattern(1460));
  t.deepEqual(p.flush().map((x) => x.len), [1460]);
  const resent = p.runUntil(20_000).map((x) => x.len);
  // retransmits_timed_out(tcp_retries1 = 3): 200 ms × (2^4 − 1) after the
  // first retransmission, at the fifth RTO; each later one halves the MSS.
  t.deepEqual(resent.slice(0, 7), [1460, 1460, 1460, 1460, 1024, 512, 256]);
});

test('tcp_mtu_probing 0 (the default): RTOs leave the MSS alone', (t) => {
  const o = activeOpen({ ts: false, win: 65535, ws: false });
  const { peer: p, ep, s } = o;
  ep.write(pattern(1460));
  p.flush();
  t.true(p.runUntil(20_000).every((x) => x.len === 1460));
  t.like(s.stack.tcp.connections()[0], { mss: 1460 });
});
