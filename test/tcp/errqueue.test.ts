/**
 * The error queue of a TCP sender (stack/tcp/errqueue.ts): MSG_ZEROCOPY
 * completions once the bytes are acknowledged, SO_TIMESTAMPING's SCHED,
 * SND and ACK timestamps keyed to the last byte of each write, POLLERR
 * while a message waits, and the option checks of sk_setsockopt and
 * sock_set_timestamping. The same exchanges run on the kernel as
 * test/scripts/zerocopy-*.pkt and timestamping-*.pkt.
 */
import test from 'ava';
import { passiveOpen, pattern, type Opened } from '../helpers/tcp-peer.ts';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { POLLERR } from '../../stack/socket/types.ts';
import {
  ENOMSG,
  ErrorQueue,
  SCM_TSTAMP_ACK,
  SCM_TSTAMP_SCHED,
  SCM_TSTAMP_SND,
  SO_EE_CODE_ZEROCOPY_COPIED,
  SO_EE_ORIGIN_TIMESTAMPING,
  SO_EE_ORIGIN_ZEROCOPY,
  SOF_TIMESTAMPING_OPT_ID,
  SOF_TIMESTAMPING_OPT_ID_TCP,
  SOF_TIMESTAMPING_OPT_STATS,
  SOF_TIMESTAMPING_OPT_TSONLY,
  SOF_TIMESTAMPING_SOFTWARE,
  SOF_TIMESTAMPING_TX_ACK,
  SOF_TIMESTAMPING_TX_SCHED,
  SOF_TIMESTAMPING_TX_SOFTWARE,
} from '../../stack/tcp/errqueue.ts';

const ALL_TX = SOF_TIMESTAMPING_TX_SCHED | SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_TX_ACK | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID;
const write = { zerocopy: false, continued: false, tailUnsent: false, unsentAfter: true };

function tcp(o: Opened): TcpEndpoint {
  if (!(o.ep instanceof TcpEndpoint)) throw new Error('not a TCP endpoint');
  return o.ep;
}

/** [ee_info, ee_data] of every zerocopy completion waiting, oldest first. */
function drainZerocopy(ep: TcpEndpoint): [number, number][] {
  const out: [number, number][] = [];
  for (let m = ep.recvErrorQueue(); m !== null; m = ep.recvErrorQueue()) {
    if (m.ee.origin !== SO_EE_ORIGIN_ZEROCOPY || m.ee.code !== SO_EE_CODE_ZEROCOPY_COPIED || m.ee.errno !== 0) throw new Error(`not a zerocopy completion: ${JSON.stringify(m.ee)}`);
    out.push([m.ee.info, m.ee.data]);
  }
  return out;
}

test('ErrorQueue: consecutive completions fold into the message at the tail; one read in between starts a new one', (t) => {
  const q = new ErrorQueue();
  q.onWrite(1000, 10, { ...write, zerocopy: true });
  q.onWrite(1010, 10, { ...write, zerocopy: true });
  q.onAcked(1000, 1010, 0);
  q.onAcked(1010, 1020, 0);
  t.is(q.length, 1);
  t.is(q.reports, 2);
  const m = q.shift()!;
  t.deepEqual([m.ee.info, m.ee.data, m.payload, m.timestamp], [0, 1, 0, undefined]);
  q.onWrite(1020, 10, { ...write, zerocopy: true });
  q.onAcked(1020, 1030, 0);
  t.deepEqual([q.shift()!.ee.info, q.shift()], [2, undefined]);
});

test('ErrorQueue: a write appended to an unsent tail of the newest range extends it (msg_zerocopy_realloc); a continued write keeps its id', (t) => {
  const q = new ErrorQueue();
  q.onWrite(0, 10, { ...write, zerocopy: true });
  q.onWrite(10, 10, { ...write, zerocopy: true, tailUnsent: true });
  q.onWrite(20, 10, { ...write, zerocopy: true, continued: true });
  q.onAcked(0, 25, 0);
  t.is(q.length, 0, 'nothing completes before every byte of the range is acknowledged');
  q.onAcked(25, 30, 0);
  const m = q.shift()!;
  t.deepEqual([m.ee.info, m.ee.data], [0, 1]);
});

test('ErrorQueue: the timestamp key is the last byte of a write; SCHED and SND on each send of it, ACK once acknowledged, ee_data relative to the OPT_ID base', (t) => {
  const q = new ErrorQueue();
  t.is(q.setTimestamping(ALL_TX, { writeSeq: 500, sndUna: 100 }), undefined);
  q.onWrite(500, 400, write);
  q.onTransmit(500, 300, 1);
  t.is(q.length, 0, 'a segment without the key is not stamped');
  q.onTransmit(800, 100, 2);
  q.onAcked(100, 899, 3);
  q.onAcked(899, 900, 4);
  const got = [];
  for (let m = q.shift(); m !== undefined; m = q.shift()) got.push([m.ee.errno, m.ee.origin, m.ee.info, m.ee.data, m.timestamp]);
  t.deepEqual(got, [
    [ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SCHED, 799, 2],
    [ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND, 799, 2],
    [ENOMSG, SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_ACK, 799, 4],
  ]);
});

test('ErrorQueue: no key for a write already all sent; OPT_TSONLY stamps carry no packet; without OPT_ID ee_data is 0', (t) => {
  const q = new ErrorQueue();
  t.is(q.setTimestamping(SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_OPT_TSONLY, { writeSeq: 0, sndUna: 0 }), undefined);
  q.onWrite(0, 10, { ...write, unsentAfter: false });
  q.onTransmit(0, 10, 1);
  t.is(q.length, 0);
  q.onWrite(10, 10, write);
  q.onTransmit(10, 10, 2);
  const m = q.shift()!;
  t.deepEqual([m.ee.info, m.ee.data, m.payload], [SCM_TSTAMP_SND, 0, 0]);
});

test('ErrorQueue: sock_set_timestamping refuses unknown flags, OPT_ID_TCP alone, OPT_STATS without OPT_TSONLY, OPT_ID in CLOSE or LISTEN', (t) => {
  const q = new ErrorQueue();
  const seqs = { writeSeq: 7, sndUna: 3 };
  t.is(q.setTimestamping(1 << 19, seqs), 'EINVAL');
  t.is(q.setTimestamping(SOF_TIMESTAMPING_OPT_ID_TCP, seqs), 'EINVAL');
  t.is(q.setTimestamping(SOF_TIMESTAMPING_OPT_STATS, seqs), 'EINVAL');
  t.is(q.setTimestamping(SOF_TIMESTAMPING_OPT_ID, undefined), 'EINVAL');
  t.is(q.tsflags, 0);
  t.is(q.setTimestamping(SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_ID_TCP | SOF_TIMESTAMPING_TX_SOFTWARE, seqs), undefined);
  q.onWrite(7, 5, write);
  q.onTransmit(7, 5, 0);
  t.is(q.shift()!.ee.data, 4, 'OPT_ID_TCP counts from write_seq');
  // Once OPT_ID is on, setting it again keeps the base, whatever the state.
  t.is(q.setTimestamping(SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_TX_SOFTWARE, undefined), undefined);
});

test('ErrorQueue: purge completes every range left (tcp_write_queue_purge frees the skbs)', (t) => {
  const q = new ErrorQueue();
  q.onWrite(0, 10, { ...write, zerocopy: true });
  q.onWrite(10, 10, { ...write, zerocopy: true });
  q.purge();
  const m = q.shift()!;
  t.deepEqual([m.ee.info, m.ee.data, q.length], [0, 1, 0]);
});

test('MSG_ZEROCOPY with SO_ZEROCOPY: a completion with consecutive ids once each write is acknowledged, POLLERR until it is read, then EAGAIN', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10 });
  const ep = tcp(o);
  const p = o.peer;
  ep.setsockopt('SO_ZEROCOPY', 1);
  t.is(ep.sendmsg(pattern(3000), { zerocopy: true }), 3000);
  p.flush();
  t.is(ep.recvErrorQueue(), null);
  t.is(ep.poll() & POLLERR, 0);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(2001) });
  t.is(ep.recvErrorQueue(), null, 'not before every byte is acknowledged');
  p.send({ flags: '.', seq: p.their(1), ack: p.our(3001) });
  t.is(ep.poll() & POLLERR, POLLERR);
  t.is(ep.errorReports, 1);
  t.deepEqual(drainZerocopy(ep), [[0, 0]]);
  t.is(ep.poll() & POLLERR, 0);
  ep.sendmsg(pattern(10), { zerocopy: true });
  p.flush();
  p.send({ flags: '.', seq: p.their(1), ack: p.our(3011) });
  t.deepEqual(drainZerocopy(ep), [[1, 1]]);
});

test('MSG_ZEROCOPY without SO_ZEROCOPY is an ordinary write: no id, no completion', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10 });
  const ep = tcp(o);
  const p = o.peer;
  t.is(ep.sendmsg(pattern(100), { zerocopy: true }), 100);
  p.flush();
  p.send({ flags: '.', seq: p.their(1), ack: p.our(101) });
  t.is(ep.recvErrorQueue(), null);
  ep.setsockopt('SO_ZEROCOPY', 1);
  ep.sendmsg(pattern(100), { zerocopy: true });
  p.flush();
  p.send({ flags: '.', seq: p.their(1), ack: p.our(201) });
  t.deepEqual(drainZerocopy(ep), [[0, 0]], 'the first id is 0: the ignored write took none');
});

test('SO_ZEROCOPY takes 0 or 1 (EINVAL otherwise), on a listener too', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10 });
  const ep = tcp(o);
  t.throws(() => ep.setsockopt('SO_ZEROCOPY', 2), { message: /EINVAL/ });
  t.throws(() => ep.setsockopt('SO_ZEROCOPY', -1), { message: /EINVAL/ });
  t.is(ep.getsockopt('SO_ZEROCOPY'), 0);
  ep.setsockopt('SO_ZEROCOPY', 1);
  t.is(ep.getsockopt('SO_ZEROCOPY'), 1);
  const l = o.listener as TcpEndpoint;
  l.setsockopt('SO_ZEROCOPY', 1);
  t.is(l.getsockopt('SO_ZEROCOPY'), 1);
});

test('a zerocopy write of 18 one-byte buffers is two skbs: 17 frags and 1, both PSH; the second waits for the first one\'s ACK (Nagle)', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10 });
  const ep = tcp(o);
  const p = o.peer;
  ep.setsockopt('SO_ZEROCOPY', 1);
  t.is(ep.sendmsg(pattern(18), { zerocopy: true, pieces: Array.from({ length: 18 }, () => 1) }), 18);
  t.deepEqual(p.flush().map((x) => [x.flags, x.len]), [['P.', 17]]);
  t.deepEqual(p.send({ flags: '.', seq: p.their(1), ack: p.our(18) }).map((x) => [x.flags, x.len]), [['P.', 1]]);
});

test('SO_TIMESTAMPING: SCHED and SND when the last byte of the write leaves, ACK when it is acknowledged, at the stack\'s time', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10 });
  const ep = tcp(o);
  const p = o.peer;
  ep.setsockopt('SO_TIMESTAMPING', ALL_TX);
  t.is(ep.getsockopt('SO_TIMESTAMPING'), ALL_TX);
  const t0 = p.now();
  ep.write(pattern(2000));
  p.flush();
  p.quietUntil(t0 + 10);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(2001) });
  const got = [];
  for (let m = ep.recvErrorQueue(); m !== null; m = ep.recvErrorQueue()) got.push([m.ee.info, m.ee.data, m.timestamp! - t0]);
  t.deepEqual(got, [
    [SCM_TSTAMP_SCHED, 1999, 0],
    [SCM_TSTAMP_SND, 1999, 0],
    [SCM_TSTAMP_ACK, 1999, 10],
  ]);
});

test('SO_TIMESTAMPING with OPT_ID on a listener or a new socket is EINVAL (sock_set_timestamping)', (t) => {
  const o = passiveOpen({ mss: 1000, ts: false, rtt: 10 });
  const l = o.listener as TcpEndpoint;
  t.throws(() => l.setsockopt('SO_TIMESTAMPING', ALL_TX), { message: /EINVAL/ });
  l.setsockopt('SO_TIMESTAMPING', SOF_TIMESTAMPING_TX_SOFTWARE);
  t.is(l.getsockopt('SO_TIMESTAMPING'), SOF_TIMESTAMPING_TX_SOFTWARE);
  const fresh = o.s.stack.tcp.socket() as TcpEndpoint;
  t.throws(() => fresh.setsockopt('SO_TIMESTAMPING', ALL_TX), { message: /EINVAL/ });
  t.is(fresh.recvErrorQueue(), null);
});
