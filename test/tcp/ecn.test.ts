/**
 * ECN (RFC 3168) as Linux 6.18 with net.ipv4.tcp_ecn (docs/linux-behaviour.md,
 * ECN): negotiation on both opens (ECE+CWR asks, ECE alone accepts), ECT(0)
 * only on new data, CE on the peer's data echoed with ECE until its CWR, an
 * ECE answered by one window reduction (CWR state, PRR) announced with CWR,
 * the IP layer's ECN counters, ss's ecn/ecnseen.
 */
import test from 'ava';
import { setSysctl } from '../../stack/sysctl.ts';
import type { Sysctls } from '../../stack/sysctl.ts';
import { checksum } from '../../stack/wire/checksum.ts';
import { IPV4_CHECKSUM_FIELD } from '../../stack/wire/ipv4.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, pattern, type Out } from '../helpers/tcp-peer.ts';

const NOT_ECT = 0;
const ECT0 = 2;
const CE = 3;

/** The peer's segment with the ECN field of its IP header set to `ecn`. */
function withEcn(p: TcpPeer, spec: Out, ecn: number): Uint8Array {
  const packet = p.packet(spec);
  packet[1] = (packet[1]! & ~3) | ecn;
  packet[IPV4_CHECKSUM_FIELD] = 0;
  packet[IPV4_CHECKSUM_FIELD + 1] = 0;
  const sum = checksum(packet, 0, 20);
  packet[IPV4_CHECKSUM_FIELD] = sum >> 8;
  packet[IPV4_CHECKSUM_FIELD + 1] = sum & 0xff;
  return packet;
}

/** Sends the peer's segment with an ECN codepoint and returns what the stack answered, with each packet's ECN field. */
function sendEcn(p: TcpPeer, spec: Out, ecn: number): Array<[string, number, number]> {
  p.s.stack.input(withEcn(p, spec, ecn));
  return flushEcn(p);
}

/** What the stack sent: [flags, length, ECN field]. */
function flushEcn(p: TcpPeer): Array<[string, number, number]> {
  p.s.stack.flush();
  return p.take().map((c) => [c.seen.flags, c.seen.len, c.tos & 3]);
}

/** Listener on 80; the peer's SYN with `synFlags` (ECN field `synEcn`), then its third ACK at 50 ms. */
function passive(synFlags: string, sysctl: Partial<Sysctls> = {}, synEcn = NOT_ECT) {
  const s = testStack({ sysctl });
  const p = new TcpPeer(s, { port: 40000, stackPort: 80, iss: 1000, win: 65535 });
  const l = s.stack.tcp.socket();
  l.bind(0, 80);
  l.listen(8);
  const synAck = sendEcn(p, { flags: synFlags, seq: p.iss, opts: { mss: 1000, sackOk: true } }, synEcn);
  p.quietUntil(50);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1) });
  const ep = l.accept()!;
  return { s, p, ep, synAck };
}

test('passive open, tcp_ecn=2: SYN with ECE+CWR gets a not-ECT SYN-ACK with ECE; data is ECT(0), pure ACKs not-ECT; ss shows ecn', (t) => {
  const { s, p, ep, synAck } = passive('SEW');
  t.deepEqual(synAck, [['S.E', 0, NOT_ECT]]);
  ep.write(pattern(1000));
  t.deepEqual(flushEcn(p), [['P.', 1000, ECT0]]);
  t.deepEqual(sendEcn(p, { flags: 'P.', seq: p.their(1), ack: p.our(1001), data: 100 }, ECT0), [['.', 0, NOT_ECT]], 'a quick ACK, not-ECT');
  t.like(s.stack.tcp.connections()[0]!, { ecn: true, ecnSeen: true });
  t.is(s.stack.counters.IpExtInECT0Pkts, 1);
  t.is(s.stack.counters.IpExtInNoECTPkts, 2);
});

test('passive open: only a not-ECT SYN with ECE and CWR, with tcp_ecn 1 or 2, is accepted; tcp_ecn=0, a SYN without CWR or one itself marked ECT(0) gets a plain SYN-ACK and data stays not-ECT', (t) => {
  for (const [flags, sysctl, ecn, accepted] of [
    ['SEW', { tcp_ecn: 1 }, NOT_ECT, true],
    ['SEW', { tcp_ecn: 0 }, NOT_ECT, false],
    ['SE', {}, NOT_ECT, false],
    ['SEW', {}, ECT0, false],
  ] as const) {
    const { p, ep, synAck } = passive(flags, sysctl, ecn);
    const what = `${flags} ${JSON.stringify(sysctl)} ECN ${ecn}`;
    t.deepEqual(synAck, [[accepted ? 'S.E' : 'S.', 0, NOT_ECT]], what);
    ep.write(pattern(100));
    t.deepEqual(flushEcn(p), [['P.', 100, accepted ? ECT0 : NOT_ECT]], what);
  }
});

function connect(sysctl: Partial<Sysctls>) {
  const s = testStack({ sysctl });
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000, win: 1000 });
  return { s, ep, p, syn: flushEcn(p) };
}

test('active open: tcp_ecn=1 asks with a not-ECT SYN carrying ECE+CWR; tcp_ecn=2 does not ask', (t) => {
  t.deepEqual(connect({ tcp_ecn: 1 }).syn, [['SEW', 0, NOT_ECT]]);
  t.deepEqual(connect({}).syn, [['S', 0, NOT_ECT]]);
});

for (const [synAck, ok] of [
  ['S.E', true],
  ['S.', false],
  ['S.EW', false],
] as const) {
  test(`active open, tcp_ecn=1: a SYN-ACK "${synAck}" ${ok ? 'accepts: data is ECT(0)' : 'refuses: data is not-ECT'}`, (t) => {
    const { s, ep, p } = connect({ tcp_ecn: 1 });
    p.quietUntil(50);
    t.deepEqual(sendEcn(p, { flags: synAck, seq: p.iss, ack: p.our(1), opts: { mss: 1460 } }, NOT_ECT), [['.', 0, NOT_ECT]]);
    ep.write(pattern(100));
    t.deepEqual(flushEcn(p), [['P.', 100, ok ? ECT0 : NOT_ECT]]);
    t.is(s.stack.tcp.connections()[0]!.ecn, ok);
  });
}

test('active open, tcp_ecn=1: the retransmitted SYN no longer asks (tcp_ecn_fallback); a SYN-ACK with ECE still enables ECN and the first data carries CWR (the SYN timeout was a loss episode)', (t) => {
  const { ep, p } = connect({ tcp_ecn: 1 });
  const again = p.runUntil(1000);
  t.deepEqual(again.map((x) => x.flags), ['S']);
  p.quietUntil(1010);
  sendEcn(p, { flags: 'S.E', seq: p.iss, ack: p.our(1), opts: { mss: 1460 } }, NOT_ECT);
  ep.write(pattern(100));
  t.deepEqual(flushEcn(p), [['P.W', 100, ECT0]]);
});

test('tcp_ecn_fallback=0: the retransmitted SYN asks again', (t) => {
  const { p } = connect({ tcp_ecn: 1, tcp_ecn_fallback: 0 });
  t.deepEqual(p.runUntil(1000).map((x) => x.flags), ['SEW']);
});

test('CE on the peer\'s data: an ACK with ECE at once, ECE on every segment (data too) until the peer\'s CWR, which is ACKed at once; IpExtInCEPkts', (t) => {
  const { s, p, ep } = passive('SEW');
  p.quietUntil(5000); // out of the initial quick ACKs' reach: a plain segment would wait for the delayed ACK
  p.send({ flags: 'P.', seq: p.their(1), ack: p.our(1), data: 100 });
  p.runUntil(6000);
  t.deepEqual(sendEcn(p, { flags: 'P.', seq: p.their(101), ack: p.our(1), data: 100 }, CE), [['.E', 0, NOT_ECT]]);
  t.deepEqual(sendEcn(p, { flags: 'P.', seq: p.their(201), ack: p.our(1), data: 100 }, ECT0), [['.E', 0, NOT_ECT]], 'second quick ACK');
  ep.write(pattern(500));
  t.deepEqual(flushEcn(p), [['P.E', 500, ECT0]]);
  t.deepEqual(sendEcn(p, { flags: 'P.W', seq: p.their(301), ack: p.our(501), data: 100 }, ECT0), [['.', 0, NOT_ECT]]);
  ep.write(pattern(500));
  t.deepEqual(flushEcn(p), [['P.', 500, ECT0]], 'no ECE after CWR');
  t.is(s.stack.counters.IpExtInCEPkts, 1);
});

test('a CWR on a pure ACK also ends the echo (tcp_ecn_accept_cwr from tcp_ack), without an ACK of its own', (t) => {
  const { p, ep } = passive('SEW');
  sendEcn(p, { flags: 'P.', seq: p.their(1), ack: p.our(1), data: 100 }, CE);
  t.deepEqual(sendEcn(p, { flags: '.W', seq: p.their(101), ack: p.our(1) }, NOT_ECT), []);
  ep.write(pattern(100));
  t.deepEqual(flushEcn(p), [['P.', 100, ECT0]]);
});

test('ECE: one reduction per window (ssthresh 7 with CUBIC, PRR lets in flight + 2 go), CWR on the next new data, TcpExtTCPDeliveredCE; the ACK past the reduction\'s start ends it (cwnd 7)', (t) => {
  const { s, p, ep } = passive('SEW');
  p.quietUntil(100);
  const writes = (n: number): Array<[string, number, number]> => {
    const out: Array<[string, number, number]> = [];
    for (let i = 0; i < n; i++) {
      ep.write(pattern(1000));
      out.push(...flushEcn(p));
    }
    return out;
  };
  t.deepEqual(writes(3), [
    ['P.', 1000, ECT0],
    ['P.', 1000, ECT0],
    ['P.', 1000, ECT0],
  ]);
  p.quietUntil(110);
  t.deepEqual(sendEcn(p, { flags: '.E', seq: p.their(1), ack: p.our(1001) }, NOT_ECT), []);
  t.like(s.stack.tcp.connections()[0]!, { cwnd: 4, ssthresh: 7 });
  t.is(s.stack.counters.TcpExtTCPDeliveredCE, 1);
  t.deepEqual(writes(3), [
    ['P.W', 1000, ECT0],
    ['P.', 1000, ECT0],
  ]);
  // A second ECE below the reduction's start (SND.NXT 3001 then): no new
  // reduction; PRR lets the waiting segment go (cwnd = 3 in flight + 2).
  p.quietUntil(120);
  t.deepEqual(sendEcn(p, { flags: '.E', seq: p.their(1), ack: p.our(2001) }, NOT_ECT), [['P.', 1000, ECT0]]);
  t.like(s.stack.tcp.connections()[0]!, { cwnd: 5, ssthresh: 7 });
  // SND.UNA past 3001 ends the reduction: cwnd = ssthresh.
  p.quietUntil(130);
  t.deepEqual(sendEcn(p, { flags: '.', seq: p.their(1), ack: p.our(4001) }, NOT_ECT), []);
  t.like(s.stack.tcp.connections()[0]!, { cwnd: 7, ssthresh: 7 });
  t.is(s.stack.counters.TcpExtTCPDeliveredCE, 2);
});

test('retransmissions are not-ECT; an RTO queues CWR for the next new data (tcp_enter_loss)', (t) => {
  const { p, ep } = passive('SEW');
  p.quietUntil(100);
  ep.write(pattern(1000));
  flushEcn(p);
  const rtx = p.runUntil(2000);
  t.true(rtx.length >= 1);
  t.true(p.log.slice(-rtx.length).every((c) => (c.tos & 3) === NOT_ECT));
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1001) });
  ep.write(pattern(100));
  t.deepEqual(flushEcn(p), [['P.W', 100, ECT0]]);
});

test('net.ipv4.tcp_ecn takes 0 to 2 on Linux 6.18 (the AccECN values are refused), tcp_ecn_fallback 0 or 1', (t) => {
  const s = testStack();
  setSysctl(s.stack.sysctl, 'net.ipv4.tcp_ecn', '1');
  t.is(s.stack.sysctl.tcp_ecn, 1);
  t.throws(() => setSysctl(s.stack.sysctl, 'net.ipv4.tcp_ecn', '3'), { message: /out of range/ });
  t.throws(() => setSysctl(s.stack.sysctl, 'net.ipv4.tcp_ecn_fallback', '2'), { message: /out of range/ });
  t.is(s.stack.sysctl.tcp_ecn_fallback, 1);
});

test('fast recovery entered during CWR does not reduce the window again (tcp_enter_recovery: no tcp_init_cwnd_reduction while one is under way)', (t) => {
  const { s, p, ep } = passive('SEW');
  p.quietUntil(100);
  for (let i = 0; i < 10; i++) ep.write(pattern(1000));
  t.is(flushEcn(p).length, 10);
  const conn = () => s.stack.tcp.connections()[0]!;
  // An ECN echo: CWR, ssthresh 7 from cwnd 10.
  p.quietUntil(110);
  sendEcn(p, { flags: '.E', seq: p.their(1), ack: p.our(1001) }, NOT_ECT);
  t.like(conn(), { ssthresh: 7 });
  // PRR brings cwnd down as the window drains: 8 once 7 are in flight.
  p.quietUntil(120);
  sendEcn(p, { flags: '.', seq: p.their(1), ack: p.our(2001) }, NOT_ECT);
  p.quietUntil(130);
  sendEcn(p, { flags: '.', seq: p.their(1), ack: p.our(3001) }, NOT_ECT);
  t.like(conn(), { cwnd: 8, ssthresh: 7 });
  // Three SACKs above 3001: that segment is lost, fast recovery; ssthresh
  // stays the CWR reduction's 7 (a new reduction from the window then would give 4).
  const sack = (n: number) => ({ flags: '.', seq: p.their(1), ack: p.our(3001), opts: { sack: [[p.our(4001), p.our(4001 + 1000 * n)]] as Array<[number, number]> } });
  p.quietUntil(140);
  sendEcn(p, sack(1), NOT_ECT);
  sendEcn(p, sack(2), NOT_ECT);
  const out = sendEcn(p, sack(3), NOT_ECT);
  t.deepEqual(out, [['.', 1000, NOT_ECT]], 'the fast retransmission, not-ECT');
  t.is(s.stack.counters.TcpExtTCPSackRecovery, 1);
  t.like(conn(), { ssthresh: 7 });
});
