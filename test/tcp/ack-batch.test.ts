/**
 * A batch of segments read at once is processed as the kernel's softirq
 * processes packets: each to the end of tcp_rcv_established, whose
 * tcp_data_snd_check and tcp_ack_snd_check send what that one segment
 * allows before the next is looked at. Sending once after the whole batch
 * instead loses what each ACK's own cwnd allowed: in a cwnd reduction, PRR
 * sets cwnd = in flight + sndcnt per ACK (prr.ts), so only the last ACK's
 * sndcnt survived, and a receiver in quick-ack mode acknowledged a batch
 * of data segments once instead of each.
 */
import test from 'ava';
import { segmentExchange } from '../helpers/segment-exchange.ts';
import { activeOpen, passiveOpen, pattern, type Seen } from '../helpers/tcp-peer.ts';

const MSS = 1448;

/**
 * Reno, initial window of ten at 100 ms with ten more segments queued;
 * segment 0 is lost and the peer SACKs 1..8 at 150 ms, one ACK per
 * segment, either each flushed on its own or all fed in before one flush.
 */
function sacksInRecovery(batched: boolean): { sent: number[][]; cwnd: number } {
  const o = passiveOpen({ rtt: 50, sysctl: { tcp_congestion_control: 'reno' } });
  const { peer: p, ep } = o;
  p.quietUntil(100);
  const x = segmentExchange(o, MSS);
  x.writes(10);
  ep.write(pattern(MSS * 10, MSS * 10)); // ten more, held by cwnd
  p.quietUntil(150);
  const sent: Seen[] = [];
  for (let i = 2; i <= 9; i++) {
    const sack = { flags: '.', seq: p.their(1), ack: p.our(1), opts: { sack: [[x.edge(1), x.edge(i)]] as Array<[number, number]> } };
    if (batched) p.input(sack);
    else sent.push(...p.send(sack));
  }
  sent.push(...p.flush());
  return { sent: x.idx(sent), cwnd: o.s.stack.tcp.connections()[0]!.cwnd };
}

test('SACKs in recovery read as one batch send what each allows, as when each is read alone', (t) => {
  const alone = sacksInRecovery(false);
  const batch = sacksInRecovery(true);
  // As test/scripts/prr-sack-by-sack.pkt has it on Linux: a new segment at
  // the first SACK (Disorder), the fast retransmission at the third, PRR's
  // new segments at the fifth and the eighth.
  t.deepEqual(alone.sent, [[10, MSS], [0, MSS], [11, MSS], [12, MSS]]);
  t.deepEqual(batch.sent, alone.sent);
  t.is(batch.cwnd, alone.cwnd);
});

test('a batch of data segments in quick-ack mode is acknowledged segment by segment', (t) => {
  const { peer: p } = activeOpen({ rtt: 50 });
  p.quietUntil(100);
  for (let i = 0; i < 4; i++) p.input({ flags: '.', seq: p.their(1 + MSS * i), ack: p.our(1), data: pattern(MSS, MSS * i) });
  t.deepEqual(
    p.flush().map((s) => [s.flags, s.ack - p.their(1)]),
    [1, 2, 3, 4].map((i) => ['.', MSS * i]),
  );
});
