/**
 * Receive windows and receive-buffer autotuning, segment by segment in
 * virtual time (docs/linux-behaviour.md, Receive windows): the window each
 * ACK offers as rcv_ssthresh grows (tcp_grow_window), the buffer growing
 * when the reader keeps up (tcp_rcv_space_adjust, tcp_rcvbuf_grow), no
 * growth with tcp_moderate_rcvbuf=0 or a buffer fixed by SO_RCVBUF, and
 * SO_RCVBUF on a listener and on an active open.
 *
 * Every window and buffer size below is what Linux 6.18 sends and reports in
 * the same exchange (confirmed with packetdrill on Linux 6.18.44, with
 * tcp_rmem 4096 131072 33554432 as in a fresh namespace). The exchanges are
 * timed so that no read falls within a few milliseconds of one receiver RTT
 * after the last measurement: DRS compares those times, and the kernel's
 * clock under packetdrill is not exact.
 */
import test from 'ava';
import { formatSs } from '../../cli/ss.ts';
import type { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import type { TcpInfo } from '../../stack/socket/types.ts';
import type { Sysctls } from '../../stack/sysctl.ts';
import { testStack } from '../helpers/stack.ts';
import { TcpPeer, activeOpen, pattern, type Seen } from '../helpers/tcp-peer.ts';

const SEG = 1448;

interface Transfer {
  synAck: Seen;
  /** The window field of every ACK, in order; negative for the ACKs a read sent (tcp_cleanup_rbuf). */
  wins: number[];
  /** SO_RCVBUF (sk_rcvbuf) and TCP_INFO at the end. */
  rcvbuf: number;
  info: TcpInfo;
  /** The window field of a 10-byte write after the transfer. */
  idleWin: number;
}

/**
 * A listener (with SO_RCVBUF when `rcvbuf` is given) accepts a connection
 * from a peer with MSS 1460, SACK, timestamps and scale 7; the third ACK at
 * 52 ms. From 100 ms the peer sends `bursts` bursts of 8 segments of 1448
 * bytes, 60 ms apart, each echoing the SYN-ACK's timestamp (so the receiver
 * RTT is 100 ms, from the first segment); the application reads each segment
 * as it arrives.
 */
function transfer(o: { bursts: number; rcvbuf?: number; sysctl?: Partial<Sysctls> }): Transfer {
  const s = testStack({ sysctl: o.sysctl });
  const l = s.stack.tcp.socket();
  l.bind(0, 80);
  if (o.rcvbuf !== undefined) l.setReceiveBuffer(o.rcvbuf);
  l.listen(16);
  const p = new TcpPeer(s, { win: 1000 });
  const synAck = p.send({ flags: 'S', seq: p.iss, win: 64240, opts: { mss: 1460, sackOk: true, ts: [p.tsVal(), 0], ws: 7 } })[0]!;
  const synAckTs = synAck.opts.ts![0];
  p.ts = true;
  p.quietUntil(52);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1), opts: { ts: [p.tsVal(), synAckTs] } });
  const ep = l.accept() as TcpEndpoint;
  const wins: number[] = [];
  for (let i = 0; i < 8 * o.bursts; i++) {
    p.quietUntil(100 + Math.floor(i / 8) * 60);
    const off = i * SEG;
    for (const a of p.send({ flags: 'P.', seq: p.their(1 + off), ack: p.our(1), data: pattern(SEG, off), opts: { ts: [p.tsVal(), synAckTs] } })) wins.push(a.win);
    if (ep.read()?.length !== SEG) throw new Error('the segment was not there to read');
    for (const a of p.flush()) wins.push(-a.win);
  }
  for (const a of p.runUntil(p.now() + 300)) wins.push(a.win);
  const rcvbuf = ep.getsockopt('SO_RCVBUF');
  const info = ep.info();
  ep.write(pattern(10));
  return { synAck, wins, rcvbuf, info, idleWin: p.flush()[0]!.win };
}

const repeat = (n: number, v: number): number[] => Array<number>(n).fill(v);

test('the window of each ACK grows by two segments per segment (rcv_ssthresh, tcp_grow_window) up to what the 131072-byte buffer holds', (t) => {
  const { synAck, wins, rcvbuf } = transfer({ bursts: 1 });
  t.deepEqual([synAck.win, synAck.opts.ws], [65160, 10]);
  // The first segment sets the payload/truesize ratio (1448/2304), the clamp becomes the
  // buffer's window (81920), and each segment read at once leaves rcv_ssthresh 2896 higher:
  // 64 units of 1024 (the SYN-ACK's edge), then 67, 70, 73, 75, 78, and 79 (the clamp, rounded).
  t.deepEqual(wins, [67, 70, 73, 75, 78, 79, 79, 79]);
  t.is(rcvbuf, 131072, 'tcp_rmem[1]: one burst is not more than DRS\'s first estimate (10 segments)');
});

test('autotuning: a reader that keeps up makes DRS grow sk_rcvbuf (tcp_rcv_space_adjust, tcp_rcvbuf_grow) and the window beyond the first buffer', (t) => {
  const { wins, rcvbuf, info } = transfer({ bursts: 8 });
  t.deepEqual(wins, [
    67, 70, 73, 75, 78, 79, 79, 79,
    // Which ACKs go at once and which the reads send is Linux's too. DRS measures at the first
    // read one receiver RTT (100 ms) after its last measure: at 160 ms, 11584 bytes read since
    // 52 ms, no more than its first estimate (14480): nothing grows; at 280 ms, 23168 bytes: the
    // buffer grows to twice that plus twice the growth again (101938 bytes of window, 163100 of
    // memory at 1448/2304), the clamp with it, and rcv_ssthresh grows again for the rest of the burst.
    ...repeat(14, 79), ...repeat(3, -79),
    82, 85, 88, 90, 93, 96, 99,
    ...repeat(32, -99),
  ]);
  t.is(rcvbuf, 163100, 'sk_rcvbuf as getsockopt(SO_RCVBUF) shows it on Linux after the same exchange');
  t.true(Math.max(...wins) * 1024 > 81920, 'a window the 131072-byte buffer could not offer');
  // TCP_INFO and ss -ti as Linux shows them after the same exchange: the receiver RTT (100 ms,
  // from the echo of the SYN-ACK's timestamp), DRS's estimate (what was read in the RTT that
  // grew the buffer) and rcv_ssthresh.
  t.deepEqual([info.rcvRtt, info.rcvSpace, info.rcvSsthresh], [100, 23168, 100497]);
  // ss prints minrtt between rcv_ssthresh and snd_wnd (tcp_show_info).
  t.true(formatSs([info]).includes(' rcv_rtt:100 rcv_space:23168 rcv_ssthresh:100497 minrtt:'));
});

test('tcp_moderate_rcvbuf=0: the same exchange leaves sk_rcvbuf at tcp_rmem[1] and the window at what it holds', (t) => {
  const { wins, rcvbuf } = transfer({ bursts: 8, sysctl: { tcp_moderate_rcvbuf: 0 } });
  t.deepEqual(wins, [67, 70, 73, 75, 78, ...repeat(17, 79), ...repeat(42, -79)]);
  t.is(rcvbuf, 131072);
});

test('SO_RCVBUF on a listener fixes the buffer (SOCK_RCVBUF_LOCK): SYN-ACK window and scale from it, the child inherits it, no autotuning', (t) => {
  // 65536 doubled: a 131072-byte buffer, as the default, but its window is also the clamp, so
  // the scale is 1 (not 10: tcp_select_initial_window needs no more), and DRS may not grow it.
  const { synAck, wins, rcvbuf } = transfer({ bursts: 8, rcvbuf: 65536 });
  t.deepEqual([synAck.win, synAck.opts.ws], [65160, 1]);
  t.deepEqual(wins, [34028, 35476, 36924, 38372, 39820, ...repeat(17, 40240), ...repeat(42, -40240)]);
  t.is(rcvbuf, 131072);

  // A small one (test/scripts/rcvbuf-listener.pkt): SO_RCVBUF 8192, a 16384-byte buffer whose
  // half, in whole segments, is the SYN-ACK's window, unscaled.
  const small = transfer({ bursts: 1, rcvbuf: 8192 });
  t.deepEqual([small.synAck.win, small.synAck.opts.ws], [7240, 0]);
  t.is(small.wins[0], 8688, 'the first ACK: the buffer\'s window at the measured ratio, in whole segments');
  t.is(small.rcvbuf, 16384);
});

test('SO_RCVBUF before connect(): the SYN offers half the doubled buffer in whole segments, unscaled; the windows follow the fixed buffer', (t) => {
  const { s, peer: p, ep, handshake } = activeOpen({ rtt: 50 }, (e) => e.setReceiveBuffer(8192));
  t.deepEqual([handshake[0]!.win, handshake[0]!.opts.ws], [7300, 0], '16384 bytes hold 8192 at the default ratio: 5 segments of 1460');
  t.is(handshake[1]!.win, 7300);
  const wins = [0, 1, 2].map((i) => {
    p.quietUntil(60 + 10 * i);
    return p.send({ flags: '.', seq: p.their(1 + i * SEG), ack: p.our(1), data: pattern(SEG, i * SEG) })[0]!.win;
  });
  t.deepEqual(wins, [8688, 7240, 5792], 'the clamp the ratio allows, then less for each unread segment (2304 bytes each)');
  t.is((ep as TcpEndpoint).getsockopt('SO_RCVBUF'), 16384);
  // tcp_init_buffer_space kept one segment of the 8192-byte window from the clamp (6744), DRS
  // starts from it; the ratio raised the clamp and rcv_ssthresh grew to 8800 (ss on Linux: the same).
  const info = ep.info();
  t.deepEqual([info.rcvRtt, info.rcvSpace, info.rcvSsthresh], [10, 6744, 8800]);
  t.is(ep.read()?.length, 3 * SEG);
  t.deepEqual(p.flush(), [], 'the read announces nothing: the window left is over half the clamp (tcp_cleanup_rbuf)');
  t.is(s.stack.counters.TcpExtTCPRcvQDrop, 0);
});

test('tcp_rmem set to 4096 65536 1048576: the buffer starts at 65536, the SYN-ACK offers half of it, and the scale is net.core.rmem_max\'s (7), not tcp_rmem[2]\'s', (t) => {
  // tcp_select_initial_window scales for max(tcp_rmem[2], net.core.rmem_max): 4 MiB needs 7.
  const { synAck, wins, rcvbuf, idleWin } = transfer({ bursts: 0, sysctl: { tcp_rmem: [4096, 65536, 1048576] } });
  t.deepEqual([synAck.win, synAck.opts.ws], [31856, 7], '32768 in whole 1448-byte segments');
  t.deepEqual(wins, []);
  t.is(rcvbuf, 65536);
  t.is(idleWin, 249, 'the first segment after the handshake: ALIGN(31856, 128) >> 7');
});
