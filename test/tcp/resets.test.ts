/**
 * The reply resets (tcp_v4_send_reset, built from the offending segment) for
 * segments that find no socket (tcp_v4_rcv → no_tcp_socket) or only a
 * listener (tcp_rcv_state_process, TCP_LISTEN), case by case
 * (docs/linux-behaviour.md, The two reset generators, No listener and Bad
 * ACKs). Every RST has window 0, no options, IP ID 0, TTL 64 and DF; a RST
 * is never answered (RFC 9293 §3.5.2).
 */
import test from 'ava';
import type { DropReason } from '../../stack/drop.ts';
import { testStack } from '../helpers/stack.ts';
import { TcpPeer, type Out, type Seen } from '../helpers/tcp-peer.ts';

interface Row {
  name: string;
  /** Whether a listener holds the destination port. */
  listener: boolean;
  segment: Out;
  reply: Seen[];
  drop: DropReason;
}

const rst = (seq: number): Seen => ({ flags: 'R', seq, ack: 0, win: 0, len: 0, opts: {} });
const rstAck = (ack: number): Seen => ({ flags: 'R.', seq: 0, ack, win: 0, len: 0, opts: {} });
const ts = { ts: [123456, 0] as [number, number] };

const rows: Row[] = [
  // No socket: a SYN to a closed port.
  { name: 'SYN to a closed port → RST,ACK seq 0 ack SEQ+1', listener: false, segment: { flags: 'S', seq: 1000, opts: { mss: 1460, sackOk: true, ...ts, ws: 7 } }, reply: [rstAck(1001)], drop: 'NO_SOCKET' },
  { name: 'SYN+FIN with 5 data bytes, no socket → RST,ACK ack SEQ+5+SYN+FIN', listener: false, segment: { flags: 'SF', seq: 1000, data: 5 }, reply: [rstAck(1007)], drop: 'NO_SOCKET' },
  // No socket, no ACK flag: RST,ACK seq 0 ack SEG.SEQ+SEG.LEN (+1 for SYN, +1 for FIN).
  { name: 'bare FIN, no socket → RST,ACK seq 0 ack SEQ+1', listener: false, segment: { flags: 'F', seq: 1000 }, reply: [rstAck(1001)], drop: 'NO_SOCKET' },
  { name: '2 data bytes without flags, no socket → RST,ACK seq 0 ack SEQ+2', listener: false, segment: { flags: 'none', seq: 1000, data: 2 }, reply: [rstAck(1002)], drop: 'NO_SOCKET' },
  { name: 'FIN with data and PSH, no ACK, no socket → RST,ACK ack SEQ+LEN+1', listener: false, segment: { flags: 'FP', seq: 0xfffffff0, data: 20 }, reply: [rstAck(0x00000005)], drop: 'NO_SOCKET' },
  // No socket, with ACK: RST seq SEG.ACK.
  { name: 'ACK, no socket → RST seq SEG.ACK', listener: false, segment: { flags: '.', seq: 1000, ack: 5555, opts: ts }, reply: [rst(5555)], drop: 'NO_SOCKET' },
  { name: 'ACK with data, no socket → RST seq SEG.ACK', listener: false, segment: { flags: 'P.', seq: 1000, ack: 5555, data: 100 }, reply: [rst(5555)], drop: 'NO_SOCKET' },
  { name: 'FIN+ACK, no socket → RST seq SEG.ACK', listener: false, segment: { flags: 'F.', seq: 1000, ack: 5555 }, reply: [rst(5555)], drop: 'NO_SOCKET' },
  { name: 'SYN+ACK, no socket → RST seq SEG.ACK', listener: false, segment: { flags: 'S.', seq: 1000, ack: 5555, opts: { mss: 1460 } }, reply: [rst(5555)], drop: 'NO_SOCKET' },
  // No socket: never answer a RST.
  { name: 'RST, no socket → nothing', listener: false, segment: { flags: 'R', seq: 1000 }, reply: [], drop: 'NO_SOCKET' },
  { name: 'RST+ACK, no socket → nothing', listener: false, segment: { flags: 'R.', seq: 1000, ack: 5555 }, reply: [], drop: 'NO_SOCKET' },
  // A listener: anything with ACK gets RST seq SEG.ACK.
  { name: 'ACK to a listener → RST seq SEG.ACK', listener: true, segment: { flags: '.', seq: 1000, ack: 5555, opts: ts }, reply: [rst(5555)], drop: 'TCP_FLAGS' },
  { name: 'FIN+ACK to a listener → RST seq SEG.ACK', listener: true, segment: { flags: 'F.', seq: 1000, ack: 7777 }, reply: [rst(7777)], drop: 'TCP_FLAGS' },
  { name: 'data+ACK to a listener → RST seq SEG.ACK', listener: true, segment: { flags: 'P.', seq: 1000, ack: 0xffffffff, data: 10 }, reply: [rst(0xffffffff)], drop: 'TCP_FLAGS' },
  // A listener: never answer a RST.
  { name: 'RST to a listener → nothing', listener: true, segment: { flags: 'R', seq: 1000 }, reply: [], drop: 'TCP_RESET' },
  { name: 'RST+ACK to a listener → nothing (the ACK branch, but a reply reset never answers a RST)', listener: true, segment: { flags: 'R.', seq: 1000, ack: 5555 }, reply: [], drop: 'TCP_FLAGS' },
  // A listener: a segment with neither ACK nor RST nor a plain SYN is dropped silently.
  { name: 'bare FIN to a listener → nothing', listener: true, segment: { flags: 'F', seq: 1000 }, reply: [], drop: 'TCP_FLAGS' },
  { name: 'SYN+FIN to a listener → nothing', listener: true, segment: { flags: 'SF', seq: 1000 }, reply: [], drop: 'TCP_FLAGS' },
  { name: 'data without flags to a listener → nothing', listener: true, segment: { flags: 'none', seq: 1000, data: 2 }, reply: [], drop: 'TCP_FLAGS' },
];

for (const row of rows) {
  test(`no-socket RST rules: ${row.name}`, (t) => {
    const s = testStack();
    if (row.listener) {
      const l = s.stack.tcp.socket();
      l.bind(0, 80);
      l.listen(16);
    }
    const p = new TcpPeer(s, { port: 40000, stackPort: row.listener ? 80 : 9 });
    t.deepEqual(p.send({ win: 29200, ...row.segment }), row.reply);
    for (const c of p.log) {
      t.deepEqual([c.ipId, c.ttl, c.df, c.optionKinds.length, c.sport, c.dport], [0, 64, true, 0, row.listener ? 80 : 9, 40000]);
    }
    t.is(s.stack.counters.TcpOutRsts, row.reply.length);
    t.is(s.stack.counters.TcpOutSegs, row.reply.length);
    t.is(s.stack.drops[row.drop], 1, `dropped as ${row.drop}`);
    t.is(s.stack.counters.TcpInSegs, 1);
    t.is(s.stack.tcp.connections().length, 0, 'no state was created');
    if (row.listener) t.is(s.stack.tcp.listeners()[0]!.synQueue, 0);
  });
}

test('no-socket RST rules: a segment with a bad checksum gets no RST (TcpInCsumErrors)', (t) => {
  const s = testStack();
  const p = new TcpPeer(s, { stackPort: 9 });
  const packet = p.packet({ flags: 'S', seq: 1000 });
  packet[36] = packet[36]! ^ 0xff; // a checksum byte (IP header 20 + TCP offset 16)
  s.stack.input(packet);
  s.stack.flush();
  t.deepEqual(s.wire.take(), []);
  t.is(s.stack.counters.TcpInCsumErrors, 1);
  t.is(s.stack.counters.TcpInErrs, 1);
  t.is(s.stack.counters.TcpOutRsts, 0);
});
