/**
 * Keepalive (SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT; docs/linux-behaviour.md,
 * Keepalive). tcp_keepalive_timer: probes ACK seq SND.UNA−1 at idle,
 * idle+intvl, ...; an answer resets the count; after cnt unanswered probes,
 * at idle + cnt·intvl, the active reset (tcp_send_active_reset) RST,ACK seq
 * SND.NXT ack RCV.NXT with TS, reason TCP_KEEPALIVE_TIMEOUT, ETIMEDOUT;
 * TCPKeepAlive per probe, TCPAbortOnTimeout, TcpOutRsts, TcpEstabResets. A
 * probe answered by an exact RST → ECONNRESET (tcp_reset); out-of-range
 * values → EINVAL. The differential scenario keepalive checks the same
 * against the kernel.
 */
import test from 'ava';
import { call, moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { passiveOpen, PASSIVE_WIN, type TcpPeer } from '../helpers/tcp-peer.ts';

/** The keepalive probe the stack sends at `at` (nothing sent or received since the handshake but probes). */
const probe = (p: TcpPeer, at: number, ecrAt = 50) => ({ t: at, flags: '.', seq: p.our(0), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(at), p.tsVal(ecrAt)] as [number, number] } });
const reset = (p: TcpPeer, at: number, ecrAt = 50) => ({ t: at, flags: 'R.', seq: p.our(1), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(at), p.tsVal(ecrAt)] as [number, number] } });

test('Keepalive: idle 1 s, intvl 1 s, cnt 2, peer silent → probes at 1 s and 2 s, RST,ACK seq SND.NXT with TS at 3 s, ETIMEDOUT', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  ep.setKeepAlive(true, 1, 1, 2);
  const before = snap(s);
  t.deepEqual(p.runUntil(3049), [probe(p, 1050), probe(p, 2050)]);
  t.is(ep.state, 'ESTABLISHED');
  t.deepEqual(moved(s, before), { TcpExtTCPKeepAlive: 2 });
  t.deepEqual(p.runUntil(3050), [reset(p, 3050)]);
  t.deepEqual(p.log.at(-1)!.optionKinds, [1, 1, 8]);
  t.is(ep.state, 'CLOSED');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpOutRsts: 1, TcpExtTCPAbortOnTimeout: 1, TcpExtTCPKeepAlive: 2 });
  t.deepEqual(rsts(s.trace), [{ t: 3050, path: 'keepaliveTimeout', reason: 'TCP_KEEPALIVE_TIMEOUT', generator: 'active', flags: 'R.', seq: p.our(1), ack: p.their(1), local: 80, remote: 40000 }]);
  t.deepEqual([rd(ep), rd(ep), wr(ep)], ['ETIMEDOUT', 'EOF', 'EPIPE']);
  t.deepEqual(p.runUntil(100_000), []);
  t.deepEqual(s.stack.tcp.connections(), []);
});

test('Keepalive: answered probes keep the connection alive and reset the count; once the peer goes silent, cnt more probes, then the RST', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  ep.setKeepAlive(true, 1, 1, 2);
  const before = snap(s);
  for (const at of [1050, 2050, 3050]) {
    t.deepEqual(p.runUntil(at), [probe(p, at, at === 1050 ? 50 : at - 1000)], `probe at ${at}`);
    // The peer sees an old sequence number and answers with its duplicate ACK.
    t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1) }), []);
  }
  t.deepEqual(p.runUntil(6050), [probe(p, 4050, 3050), probe(p, 5050, 3050), reset(p, 6050, 3050)]);
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpOutRsts: 1, TcpExtTCPAbortOnTimeout: 1, TcpExtTCPKeepAlive: 5 });
  t.is(rd(ep), 'ETIMEDOUT');
});

test('Keepalive: Linux defaults (7200 s idle, 75 s interval, 9 probes): probes from 7200 s, the RST at 7875 s', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  ep.setKeepAlive(true);
  const before = snap(s);
  t.deepEqual(p.runUntil(7_200_049), [], 'two hours of silence first');
  const times = Array.from({ length: 9 }, (_, k) => 7_200_050 + k * 75_000);
  t.deepEqual(p.runUntil(7_875_049), times.map((at) => probe(p, at)));
  t.deepEqual(p.runUntil(7_875_050), [reset(p, 7_875_050)]);
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpOutRsts: 1, TcpExtTCPAbortOnTimeout: 1, TcpExtTCPKeepAlive: 9 });
  t.is(ep.getError(), 'ETIMEDOUT');
  t.deepEqual(rsts(s.trace).map((e) => [e.t, e.path, e.reason]), [[7_875_050, 'keepaliveTimeout', 'TCP_KEEPALIVE_TIMEOUT']]);
});

test('Keepalive: a probe answered by the forgetful peer\'s RST (seq = probe.ack = our RCV.NXT) → ECONNRESET, no segment back', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  ep.setKeepAlive(true, 1, 1, 2);
  const before = snap(s);
  t.deepEqual(p.runUntil(1050), [probe(p, 1050)]);
  t.deepEqual(p.send({ flags: 'R', seq: p.their(1) }), []);
  t.is(ep.state, 'CLOSED');
  t.deepEqual(moved(s, before), { TcpEstabResets: 1, TcpExtTCPKeepAlive: 1 });
  t.deepEqual([rd(ep), rd(ep), wr(ep)], ['ECONNRESET', 'EOF', 'EPIPE']);
  t.deepEqual(p.runUntil(100_000), []);
  t.deepEqual(rsts(s.trace), []);
});

test('Keepalive: TCP_KEEPIDLE/TCP_KEEPINTVL outside 1..32767 and TCP_KEEPCNT outside 1..127 → EINVAL', (t) => {
  const { ep } = passiveOpen({ rtt: 50 });
  t.deepEqual(
    [
      call(() => ep.setKeepAlive(true, 0)),
      call(() => ep.setKeepAlive(true, 32768)),
      call(() => ep.setKeepAlive(true, 1, 0)),
      call(() => ep.setKeepAlive(true, 1, 32768)),
      call(() => ep.setKeepAlive(true, 1, 1, 0)),
      call(() => ep.setKeepAlive(true, 1, 1, 128)),
      call(() => ep.setKeepAlive(true, 32767, 32767, 127)),
    ],
    ['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'ok'],
  );
});

test('Keepalive: the keepalive timer dies when the connection becomes a minisock: a closed keepalive connection in FIN_WAIT2 and TIME_WAIT sends nothing more (scenario keepalive)', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  ep.setKeepAlive(true, 1, 1, 2);
  p.quietUntil(100);
  ep.close();
  const fin = p.flush();
  t.deepEqual(fin.map((x) => x.flags), ['F.']);
  p.quietUntil(150);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(2) }), []);
  t.deepEqual(s.stack.tcp.connections().map((c) => c.state), ['FIN_WAIT2']);
  const before = snap(s);
  // The orphan FIN_WAIT2 minisock lives tcp_fin_timeout (60 s) and expires silently; no probe, no RST.
  t.deepEqual(p.runUntil(60_150), []);
  t.deepEqual(moved(s, before), {});
  t.deepEqual(rsts(s.trace), []);
  t.deepEqual(s.stack.tcp.connections(), []);
});
