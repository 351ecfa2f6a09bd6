/**
 * An application that never accepts or never reads (docs/linux-behaviour.md,
 * Blocked application). Nothing in Linux resets such a connection: the
 * handshake completes into the accept queue, data is queued up to the
 * window, the window closes (tcp_select_window), the sender's zero-window
 * probes (seq SND.UNA−1, no data) are answered with the zero window
 * (tcp_sequence: an old sequence number gets a duplicate ACK, pure ACKs at
 * most one per 500 ms, TCPACKSkippedSeq), and the sender probes forever
 * (tcp_probe_timer; RFC 1122 §4.2.2.17, RFC 9293 §3.8.6.1).
 *
 * The other role (our stack probing a blocked peer that keeps answering with
 * window 0, for 30 probes, no give-up) is in retransmit-giveup.test.ts
 * ("zero-window probes answered with window 0 → probed forever").
 */
import test from 'ava';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { moved, rsts, snap } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { TcpPeer, pattern, type Seen } from '../helpers/tcp-peer.ts';
import { ADDR_B, World } from '../helpers/world.ts';

/** Window scale the stack uses (32 MiB tcp_rmem[2]): window fields are in KiB. */
const WS = 10;

for (const accepted of [false, true]) {
  test(`Blocked application: ${accepted ? 'accepted but never read' : 'never accepted'}: data fills the window, the window closes, probes are answered with window 0 for 10 minutes, nothing is reset`, (t) => {
    const s = testStack();
    const l = s.stack.tcp.socket();
    l.bind(0, 80);
    l.listen(16);
    const p = new TcpPeer(s, { win: 1000 });
    p.send({ flags: 'S', seq: p.iss, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } });
    p.ts = true;
    p.quietUntil(50);
    t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(1) }), []);
    const ep = accepted ? l.accept()! : undefined;
    const before = snap(s);

    // The peer sends whatever the advertised window allows, one segment each 200 ms: first the
    // SYN-ACK's 65160 bytes, then what the ACKs open. The window grows with the first segments
    // (rcv_ssthresh, tcp_grow_window), then shrinks as the unread segments take the 131072-byte
    // buffer (each 1448 bytes costs 2304 of it, rcvbuf.ts); the scaled window never moves its right
    // edge back, so the stack takes all it advertised and the window closes with nothing dropped.
    // Linux 6.18 sends the same ACKs, window for window, and accepts the same 113968 bytes in this
    // exchange under packetdrill.
    let next = 0;
    let acked = 0;
    let rightEdge = 65160;
    let lastAck: Seen | undefined;
    p.quietUntil(100);
    while (rightEdge > next && acked === next) {
      const n = Math.min(1448, rightEdge - next);
      const answers = p.send({ flags: 'P.', seq: p.their(1 + next), ack: p.our(1), data: pattern(n, next) });
      next += n;
      answers.push(...p.runUntil(p.now() + 200)); // a delayed ACK, if one is pending (the ATO adapts, at most TCP_DELACK_MAX)
      for (const a of answers) {
        lastAck = a;
        acked = a.ack - p.their(1);
        rightEdge = Math.max(rightEdge, acked + a.win * 2 ** WS);
      }
    }
    const N = 113_968;
    t.deepEqual([acked, next], [N, N], 'every byte the window allowed was accepted');
    const closing = lastAck!;
    t.deepEqual([closing.flags, closing.seq, closing.ack, closing.win, closing.len], ['.', p.our(1), p.their(1 + N), 0, 0], 'the ACK that closes the window');
    t.is(s.stack.counters.TcpExtTCPRcvQDrop, 0);
    t.is(s.stack.drops.PROTO_MEM ?? 0, 0);
    const ecr = lastAck!.opts.ts![1];
    next = N;

    // Zero-window probes (seq = RCV.NXT − 1) at the peer's backed-off intervals, for 10 minutes.
    const zeroAck = (at: number) => [{ flags: '.', seq: p.our(1), ack: p.their(1 + next), win: 0, len: 0, opts: { ts: [p.stackTs(at), ecr] as [number, number] } }];
    let at = p.now();
    const firstProbeAt = at;
    let gap = 1000;
    let probes = 0;
    while (at + gap <= firstProbeAt + 607_000) {
      at += gap;
      gap = Math.min(gap * 2, 120_000);
      p.quietUntil(at);
      t.deepEqual(p.send({ flags: '.', seq: p.their(next), ack: p.our(1) }), zeroAck(at), `probe at ${at}`);
      probes++;
    }
    // A probe within 500 ms of the last answer is not answered (tcp_oow_rate_limited).
    p.quietUntil(at + 100);
    t.deepEqual(p.send({ flags: '.', seq: p.their(next), ack: p.our(1) }), []);
    t.deepEqual([probes, at - firstProbeAt], [11, 1000 * (2 ** 7 - 1) + 4 * 120_000], 'probes at +1, +3, +7, ..., +127 s, then every 120 s, past 10 minutes');

    const c = s.stack.counters;
    t.deepEqual([c.TcpOutRsts, c.TcpEstabResets, c.TcpExtTCPACKSkippedSeq], [0, 0, 1]);
    t.deepEqual(rsts(s.trace), []);
    t.deepEqual(s.stack.tcp.connections().map((x) => [x.state, x.recvQ]), [['ESTABLISHED', N]]);
    // (TcpExtDelayedACKs left out: it only reflects how the loop above paces the peer's segments.)
    // TCPWantZeroWindowAdv: each of the last ACKs wanted a zero window the right edge forbade (tcp_select_window);
    // nstat on Linux shows the same counts after this exchange.
    const { TcpExtDelayedACKs: _pacing, ...pathCounters } = moved(s, before);
    t.deepEqual(pathCounters, { TcpExtTCPACKSkippedSeq: 1, TcpExtTCPToZeroWindowAdv: 1, TcpExtTCPWantZeroWindowAdv: 25 });

    // The application wakes up: everything is there, and reading reopens the window as far as
    // rcv_ssthresh, which the first segments had raised to 75 units (Linux: the same ACK).
    const child = ep ?? l.accept()!;
    t.is(child.state, 'ESTABLISHED');
    t.deepEqual(child.read(), pattern(N));
    t.deepEqual(p.flush().map((x) => [x.flags, x.ack, x.win]), [['.', p.their(1 + next), 75]]);
  });
}

test('Blocked application, both ends ours: a server that never accepts; the client writes until its buffer is full, probes for 10 minutes; both stay ESTABLISHED, no RST', (t) => {
  const w = new World();
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(16);
  const client = w.a.tcp.socket();
  client.connect(formatIpv4(ADDR_B), 7);
  w.run(1000, () => client.state === 'ESTABLISHED');
  let written = 0;
  for (let i = 0; i < 100 && client.writableBytes > 0; i++) {
    written += client.write(pattern(65536));
    w.run(w.clock.now() + 1000);
  }
  t.is(client.writableBytes, 0, 'the send buffer is full');
  // The server's receive queue holds what its window let in: more than the SYN-ACK's 65160 bytes,
  // less than its 131072-byte buffer (1448 bytes cost 2304 of it, rcvbuf.ts).
  const serverQ = w.b.tcp.connections()[0]!.recvQ;
  t.true(serverQ > 65160 && serverQ < 131072, `server receive queue ${serverQ}`);
  // The client's Send-Q is what its send buffer holds: the buffer grew from
  // tcp_wmem[1] with the handshake and with each ACK that found the writer
  // waiting and cwnd not full (tcp_sndbuf_expand: 2 · cwnd · 2304 for MSS
  // 1460, cwnd at least 10), and a write is charged its payload plus 832
  // bytes per skb, filling the last skb first (sndbuf.ts).
  const sendQ = w.a.tcp.connections()[0]!.sendQ;
  const sndbuf = client.sendBuffer;
  t.true(sndbuf >= 46080 && sndbuf % (2 * 2304) === 0, `SO_SNDBUF ${sndbuf}`);
  t.true(sendQ > sndbuf - 4 * 832 && sendQ < sndbuf + 65536, `client Send-Q ${sendQ}, SO_SNDBUF ${sndbuf}`);
  t.is(written, sendQ + serverQ, "the server's receive queue and the client's send buffer");
  w.run(w.clock.now() + 600_000);
  t.is(client.state, 'ESTABLISHED');
  t.deepEqual(w.b.tcp.connections().map((x) => [x.state, x.recvQ]), [['ESTABLISHED', serverQ]]);
  t.deepEqual([w.a.counters.TcpOutRsts, w.b.counters.TcpOutRsts, w.a.counters.TcpEstabResets, w.b.counters.TcpEstabResets], [0, 0, 0, 0]);
  t.deepEqual([w.a.counters.TcpExtTCPWinProbe, w.a.counters.TcpExtTCPTimeouts], [13, 0], 'the client probed (and was answered) 13 times, no retransmission timeout');
  t.is(w.a.counters.TcpExtTCPAbortOnTimeout, 0);
  const child = server.accept()!;
  t.is(child.read()!.length, serverQ);
  w.run(w.clock.now() + 10_000);
  t.true(child.readableBytes > 0, 'the window reopened and more arrived');
});
