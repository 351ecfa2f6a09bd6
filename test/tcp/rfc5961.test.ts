/**
 * RST, SYN and ACK acceptance on a synchronized connection (RFC 5961;
 * tcp_validate_incoming, tcp_ack; docs/linux-behaviour.md, RFC 5961):
 * - the sequence check comes first (tcp_sequence); an out-of-window RST is
 *   dropped silently;
 * - a RST exactly at RCV.NXT (or RCV.NXT−1 in CLOSE_WAIT/CLOSING/LAST_ACK)
 *   resets; elsewhere in the window it draws a challenge ACK
 *   <SEQ=SND.NXT><ACK=RCV.NXT> (RFC 5961 §3.2);
 * - a SYN: challenge ACK, TCPSYNChallenge, TcpInErrs (§4.2);
 * - ACK > SND.NXT or ACK < SND.UNA − min(max window, bytes acked): challenge
 *   ACK (§5.2);
 * - one challenge ACK per 500 ms per socket (tcp_invalid_ratelimit), sharing
 *   last_oow_ack_time with out-of-window duplicate ACKs,
 *   TCPACKSkippedChallenge;
 * - the errno of an accepted RST by state (tcp_reset).
 * The differential scenario rfc5961 checks the same against the kernel.
 *
 * SYN_SENT's RST (ECONNREFUSED, TcpAttemptFails) is in no-listener.test.ts.
 */
import test from 'ava';
import { moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, activeOpen, passiveOpen, pattern, PASSIVE_WIN, type Opened } from '../helpers/tcp-peer.ts';

interface StateCase {
  state: string;
  setup(): Opened;
  errno: string;
  counters: Record<string, number>;
  /** RCV.NXT−1 is accepted too (tcp_reset_check). */
  minusOne: boolean;
}

function inState(state: string): Opened {
  const o = activeOpen({ rtt: 50 });
  const { peer: p, ep } = o;
  p.quietUntil(100);
  switch (state) {
    case 'ESTABLISHED':
      break;
    case 'CLOSE_WAIT':
      p.input({ flags: 'F.', seq: p.their(1), ack: p.our(1) });
      break;
    case 'FIN_WAIT1':
      ep.shutdown('write');
      break;
    case 'FIN_WAIT2':
      ep.shutdown('write');
      p.flush();
      p.input({ flags: '.', seq: p.their(1), ack: p.our(2) });
      break;
    case 'CLOSING':
      ep.shutdown('write');
      p.flush();
      p.input({ flags: 'F.', seq: p.their(1), ack: p.our(1) });
      break;
    case 'LAST_ACK':
      p.input({ flags: 'F.', seq: p.their(1), ack: p.our(1) });
      ep.shutdown('write');
      break;
  }
  p.flush();
  if (ep.state !== state) throw new Error(`${ep.state} instead of ${state}`);
  return o;
}

const cases: StateCase[] = [
  { state: 'ESTABLISHED', setup: () => inState('ESTABLISHED'), errno: 'ECONNRESET', counters: { TcpEstabResets: 1 }, minusOne: false },
  { state: 'CLOSE_WAIT', setup: () => inState('CLOSE_WAIT'), errno: 'EPIPE', counters: { TcpEstabResets: 1 }, minusOne: true },
  { state: 'FIN_WAIT1', setup: () => inState('FIN_WAIT1'), errno: 'ECONNRESET', counters: {}, minusOne: false },
  { state: 'FIN_WAIT2', setup: () => inState('FIN_WAIT2'), errno: 'ECONNRESET', counters: {}, minusOne: false },
  { state: 'CLOSING', setup: () => inState('CLOSING'), errno: 'ECONNRESET', counters: {}, minusOne: true },
  { state: 'LAST_ACK', setup: () => inState('LAST_ACK'), errno: 'ECONNRESET', counters: {}, minusOne: true },
];

for (const c of cases) {
  for (const offset of c.minusOne ? [0, -1] : [0]) {
    test(`RFC 5961: RST seq = RCV.NXT${offset ? '−1' : ''} in ${c.state} → reset, ${c.errno}, nothing sent`, (t) => {
      const { s, peer: p, ep } = c.setup();
      const rcvNxt = p.their(c.state === 'CLOSE_WAIT' || c.state === 'CLOSING' || c.state === 'LAST_ACK' ? 2 : 1);
      const before = snap(s);
      p.quietUntil(120);
      t.deepEqual(p.send({ flags: 'R', seq: (rcvNxt + offset) >>> 0 }), []);
      t.is(ep.state, 'CLOSED');
      t.deepEqual(moved(s, before), c.counters);
      t.is(ep.getError() as string | undefined, c.errno);
      t.deepEqual(p.runUntil(100_000), [], 'nothing is sent afterwards: no FIN retransmission, no ACK');
      t.deepEqual(rsts(s.trace), []);
    });
  }
}

test('RFC 5961: RST seq = RCV.NXT in SYN_RECV (simultaneous open, full socket) → ECONNRESET, TcpAttemptFails', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  p.flush();
  p.quietUntil(10);
  p.send({ flags: 'S', seq: 5000, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } });
  t.is(ep.state, 'SYN_RECV');
  const before = snap(s);
  t.deepEqual(p.send({ flags: 'R', seq: 5001 }), []);
  t.is(ep.state, 'CLOSED');
  t.deepEqual(moved(s, before), { TcpAttemptFails: 1 });
  t.is(ep.getError(), 'ECONNRESET');
});

test('RFC 5961: RST in window but not exact → challenge ACK seq SND.NXT ack RCV.NXT; one per 500 ms (TCPACKSkippedChallenge); the connection lives', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.write(pattern(10));
  p.flush();
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(11) });
  const before = snap(s);
  const challenge = (at: number) => ({ flags: '.', seq: p.our(11), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(at), p.tsVal(150)] as [number, number] } });
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'R', seq: p.their(1001) }), [challenge(200)]);
  t.deepEqual(p.log.at(-1)!.optionKinds, [1, 1, 8]);
  p.quietUntil(300);
  t.deepEqual(p.send({ flags: 'R.', seq: p.their(5), ack: p.our(11) }), [], 'within 500 ms: suppressed');
  p.quietUntil(700);
  t.deepEqual(p.send({ flags: 'R', seq: p.their(2) }), [challenge(700)], '500 ms later: sent again');
  t.is(ep.state, 'ESTABLISHED');
  t.is(ep.getError(), undefined);
  t.deepEqual(moved(s, before), { TcpExtTCPChallengeACK: 2, TcpExtTCPACKSkippedChallenge: 1 });
  t.deepEqual(s.trace.filter((e) => e.kind === 'tcp-challenge-ack').map((e) => [e.t, (e as { why: string }).why]), [[200, 'rst'], [700, 'rst']]);
  t.deepEqual(rsts(s.trace), []);
  // The exact RST still works afterwards.
  p.send({ flags: 'R', seq: p.their(1) });
  t.is(rd(ep), 'ECONNRESET');
});

test('RFC 5961: RST out of window (beyond RCV.NXT + RCV.WND, or before RCV.NXT) → dropped silently, no counter', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  const before = snap(s);
  p.quietUntil(100);
  t.deepEqual(p.send({ flags: 'R', seq: p.their(1 + 2 * 1024 * 1024) }), []);
  t.deepEqual(p.send({ flags: 'R.', seq: p.their(-100), ack: p.our(1) }), []);
  t.deepEqual(p.send({ flags: 'R', seq: p.their(0) }), [], 'RCV.NXT−1 resets only in CLOSE_WAIT/CLOSING/LAST_ACK');
  t.is(ep.state, 'ESTABLISHED');
  t.deepEqual(moved(s, before), {});
});

test('RFC 5961: SYN on an ESTABLISHED connection, in window or not → challenge ACK, TCPChallengeACK, TCPSYNChallenge, TcpInErrs; the connection is unchanged', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  const before = snap(s);
  p.quietUntil(100);
  t.deepEqual(p.send({ flags: 'S', seq: p.their(100), opts: { mss: 1460 } }), [
    { flags: '.', seq: p.our(1), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(100), p.tsVal(50)] } },
  ]);
  t.deepEqual(moved(s, before), { TcpInErrs: 1, TcpExtTCPChallengeACK: 1, TcpExtTCPSYNChallenge: 1 });
  p.quietUntil(700);
  t.deepEqual(p.send({ flags: 'S', seq: p.their(-5_000_000), opts: { mss: 1460 } }).map((x) => [x.flags, x.seq, x.ack]), [['.', p.our(1), p.their(1)]], 'out of window: the same');
  t.deepEqual(moved(s, before), { TcpInErrs: 2, TcpExtTCPChallengeACK: 2, TcpExtTCPSYNChallenge: 2 });
  t.is(ep.state, 'ESTABLISHED');
  t.is(ep.getError(), undefined);
  t.deepEqual(rsts(s.trace), []);
});

test('RFC 5961: SYN in CLOSE_WAIT → challenge ACK and TCPSYNChallenge, but no TcpInErrs (only tcp_rcv_established passes syn_inerr)', (t) => {
  const { s, peer: p, ep } = inState('CLOSE_WAIT');
  p.runUntil(1000);
  const before = snap(s);
  t.deepEqual(p.send({ flags: 'S', seq: p.their(100), opts: { mss: 1460 } }).map((x) => [x.flags, x.seq, x.ack]), [['.', p.our(1), p.their(2)]]);
  t.deepEqual(moved(s, before), { TcpExtTCPChallengeACK: 1, TcpExtTCPSYNChallenge: 1 });
  t.is(ep.state, 'CLOSE_WAIT');
});

test('RFC 5961: ACK of data never sent (SEG.ACK > SND.NXT) → challenge ACK (6.18.38+), the segment and its data dropped', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  const before = snap(s);
  p.quietUntil(100);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1000), data: pattern(10) }), [
    { flags: '.', seq: p.our(1), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(100), p.tsVal(50)] } },
  ]);
  t.is(ep.readableBytes, 0, 'its data is not accepted');
  t.deepEqual(moved(s, before), { TcpExtTCPChallengeACK: 1 });
  t.is(ep.state, 'ESTABLISHED');
});

test('RFC 5961: ACK older than SND.UNA − min(max window, bytes acked) → challenge ACK; a less old ACK is a duplicate whose data is taken', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  p.quietUntil(100);
  ep.write(pattern(100));
  p.flush();
  p.quietUntil(150);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(101) });
  // bytes_acked = 100 < the max window seen (1000 << 7): the bound is SND.UNA − 100.
  const before = snap(s);
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(0), data: pattern(10) }), [
    { flags: '.', seq: p.our(101), ack: p.their(1), win: PASSIVE_WIN, len: 0, opts: { ts: [p.stackTs(200), p.tsVal(150)] } },
  ]);
  t.is(ep.readableBytes, 0);
  t.deepEqual(moved(s, before), { TcpExtTCPChallengeACK: 1 });
  p.quietUntil(300);
  t.deepEqual(p.send({ flags: 'P.', seq: p.their(1), ack: p.our(51), data: pattern(10) }).map((x) => [x.flags, x.seq, x.ack]), [['.', p.our(101), p.their(11)]]);
  t.is(rd(ep), 'data:10');
  t.deepEqual(moved(s, before), { TcpExtTCPChallengeACK: 1 });
});

test('RFC 5961: the challenge-ACK limit shares its 500 ms with out-of-window duplicate ACKs (tp->last_oow_ack_time)', (t) => {
  const { s, peer: p, ep } = passiveOpen({ rtt: 50 });
  const before = snap(s);
  p.quietUntil(100);
  // A pure ACK far beyond the window: a duplicate ACK, which stamps last_oow_ack_time.
  t.deepEqual(p.send({ flags: '.', seq: p.their(1 + 4 * 1024 * 1024), ack: p.our(1) }).map((x) => [x.flags, x.seq, x.ack]), [['.', p.our(1), p.their(1)]]);
  p.quietUntil(200);
  t.deepEqual(p.send({ flags: 'R', seq: p.their(7) }), [], 'the challenge ACK is suppressed');
  t.deepEqual(moved(s, before), { TcpExtBeyondWindow: 1, TcpExtTCPACKSkippedChallenge: 1 });
  t.is(ep.state, 'ESTABLISHED');
  t.is(wr(ep, 0), 'wrote:0');
});
