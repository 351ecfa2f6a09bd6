/**
 * A SYN to a port with no listener, and any segment for no socket
 * (docs/linux-behaviour.md, No listener): tcp_v4_rcv → no_tcp_socket →
 * the reply reset (tcp_v4_send_reset); a RST in SYN_SENT
 * (tcp_rcv_synsent_state_process) and what the connecting application then
 * sees. The differential scenarios no-listener and bad-ack check the same
 * against the kernel.
 *
 * Already covered exactly elsewhere (not repeated): the whole table of
 * segments to no socket and to a listener, with IP ID 0, TTL 64, DF, no
 * options, TcpOutRsts and drop reasons, and the bad-checksum case:
 * resets.test.ts ("no-socket RST rules: ..."). This file adds the trace
 * event (path, sk_rst_reason, generator) of each kind of reply reset, and
 * the connecting side: our stack in SYN_SENT receiving that RST,ACK.
 */
import test from 'ava';
import { POLLERR } from '../../stack/socket/types.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { moved, rd, rsts, snap, wr } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_IP, TcpPeer, type Out, type Seen } from '../helpers/tcp-peer.ts';
import { ADDR_B, World } from '../helpers/world.ts';
import type { TraceEvent } from '../../stack/trace.ts';

const rows: Array<{ name: string; seg: Out; reply: Seen[] }> = [
  { name: 'SYN → RST,ACK seq 0 ack SEG.SEQ+1', seg: { flags: 'S', seq: 1000, opts: { mss: 1460 } }, reply: [{ flags: 'R.', seq: 0, ack: 1001, win: 0, len: 0, opts: {} }] },
  { name: 'data with ACK → RST seq SEG.ACK', seg: { flags: 'P.', seq: 1000, ack: 5555, data: 100 }, reply: [{ flags: 'R', seq: 5555, ack: 0, win: 0, len: 0, opts: {} }] },
  { name: 'data+FIN without ACK → RST,ACK ack SEG.SEQ+LEN+1', seg: { flags: 'F', seq: 1000, data: 7 }, reply: [{ flags: 'R.', seq: 0, ack: 1008, win: 0, len: 0, opts: {} }] },
];

for (const row of rows) {
  test(`No listener: no socket, ${row.name}; traced as noSocket / NO_SOCKET / reply; only TcpOutRsts moves`, (t) => {
    const s = testStack();
    const p = new TcpPeer(s, { port: 40000, stackPort: 9 });
    const before = snap(s);
    p.quietUntil(25);
    t.deepEqual(p.send({ win: 29200, ...row.seg }), row.reply);
    const r = row.reply[0]!;
    t.deepEqual(rsts(s.trace), [{ t: 25, path: 'noSocket', reason: 'NO_SOCKET', generator: 'reply', flags: r.flags, seq: r.seq, ack: r.ack, local: 9, remote: 40000 }]);
    t.deepEqual(moved(s, before), { TcpOutRsts: 1 });
  });
}

test('No listener: a RST or RST,ACK for no socket is never answered and leaves no trace event', (t) => {
  const s = testStack();
  const p = new TcpPeer(s, { port: 40000, stackPort: 9 });
  const before = snap(s);
  t.deepEqual(p.send({ flags: 'R', seq: 1000 }), []);
  t.deepEqual(p.send({ flags: 'R.', seq: 1000, ack: 5555 }), []);
  t.deepEqual(rsts(s.trace), []);
  t.deepEqual(moved(s, before), {});
  t.is(s.stack.drops.NO_SOCKET, 2);
});

test('No listener: our stack connecting gets the RST,ACK seq 0 ack ISS+1 → ECONNREFUSED (once), TcpAttemptFails, nothing sent back', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort });
  const [syn] = p.flush();
  t.is(syn!.flags, 'S');
  const before = snap(s);

  p.quietUntil(1);
  t.deepEqual(p.send({ flags: 'R.', seq: 0, ack: p.our(1), win: 0 }), [], 'no answer to a RST');
  t.is(ep.state, 'CLOSED');
  t.is(ep.poll() & POLLERR, POLLERR);
  t.deepEqual(moved(s, before), { TcpAttemptFails: 1 });
  t.deepEqual(s.trace.filter((e) => e.kind === 'tcp-error').map((e) => (e as { errno: string }).errno), ['ECONNREFUSED']);
  // connect() fails with ECONNREFUSED; afterwards the socket is done: read 0, write EPIPE (docs/linux-behaviour.md, What the application sees after a reset).
  t.deepEqual([rd(ep), rd(ep), wr(ep), wr(ep)], ['ECONNREFUSED', 'EOF', 'EPIPE', 'EPIPE']);
  t.is(ep.getError(), undefined, 'reported once');
  t.deepEqual(s.stack.tcp.connections(), []);
  t.deepEqual(p.runUntil(200_000), [], 'no SYN retransmission after the refusal');
  t.deepEqual(rsts(s.trace), []);
});

test('No listener: in SYN_SENT a RST that does not acknowledge our SYN is dropped silently; an unacceptable RST,ACK still cuts the SYN timer (tcp_rcv_synsent_state_process, test/scripts/rst-syn-sent.pkt)', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort });
  p.flush();
  const before = snap(s);
  p.quietUntil(10);
  t.deepEqual(p.send({ flags: 'R', seq: 0 }), [], 'RST without ACK: dropped');
  t.deepEqual(p.runUntil(500), [], 'and the SYN timer is untouched');
  t.deepEqual(p.send({ flags: 'R.', seq: 0, ack: p.our(2) }), [], 'RST,ACK with ack ≠ ISS+1: dropped, not answered');
  t.deepEqual(p.send({ flags: 'R.', seq: 0, ack: p.our(0) }), [], 'RST,ACK with ack = ISS: dropped, not answered');
  t.is(ep.state, 'SYN_SENT');
  t.deepEqual(p.runUntil(510).map((x) => [x.t, x.flags, x.seq]), [[508, 'S', p.our(0)]], 'the unacceptable ACK brought the SYN forward (TCP_TIMEOUT_MIN, 8 ms)');
  t.deepEqual(moved(s, before), { TcpExtTCPSynRetrans: 1, TcpExtTCPTimeouts: 1, TcpExtTcpTimeoutRehash: 1, TcpRetransSegs: 1 });
  t.is(ep.getError(), undefined);
});

test('No listener, both ends ours: connect to a port nobody listens on → the server stack answers RST,ACK, the client gets ECONNREFUSED', (t) => {
  const traceB: TraceEvent[] = [];
  const w = new World({ b: { trace: (e) => traceB.push(e) } });
  const beforeA = snap(w.a);
  const beforeB = snap(w.b);
  const client = w.a.tcp.socket();
  client.connect(formatIpv4(ADDR_B), 7);
  w.run(10_000, () => client.state === 'CLOSED');
  t.is(w.clock.now(), 0, 'refused at once, no retransmission');
  t.is(client.getError(), 'ECONNREFUSED');
  t.deepEqual(moved(w.a, beforeA), { TcpActiveOpens: 1, TcpAttemptFails: 1 });
  t.deepEqual(moved(w.b, beforeB), { TcpOutRsts: 1 });
  t.deepEqual(rsts(traceB).map((e) => [e.path, e.reason, e.generator, e.flags, e.seq, e.local]), [['noSocket', 'NO_SOCKET', 'reply', 'R.', 0, 7]]);
  t.is(rsts(traceB)[0]!.remote, client.localPort);
});
