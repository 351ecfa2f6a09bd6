/**
 * The runner's pipes and splice (cli/pkt/pipes.ts), and the urgent-data
 * calls of packet scripts: recv/recvmsg/send with MSG_OOB, SIOCATMARK,
 * SO_OOBINLINE, IP_FREEBIND.
 */
import test from 'ava';
import { runScript } from '../../cli/pkt/runner.ts';
import { PAGE_SIZE, PIPE_DEF_BUFFERS, Pipe } from '../../cli/pkt/pipes.ts';
import { failure, passes, PASSIVE_OPEN } from '../helpers/pkt-result.ts';

const OPEN = PASSIVE_OPEN;

test('a pipe holds 16 page buffers: write() merges an odd part into the last page written, spliced pages never merge', (t) => {
  const p = new Pipe();
  t.is(p.write(10), 10);
  t.is(p.write(10), 10);
  t.is(p.freeSlots, PIPE_DEF_BUFFERS - 1, 'two small writes share a page');
  t.is(p.splice(10), 10);
  t.is(p.write(10), 10);
  t.is(p.freeSlots, PIPE_DEF_BUFFERS - 3, 'after a spliced buffer a write takes a new page');
  t.is(p.read(25), 25);
  t.is(p.bytes, 15);
  const q = new Pipe();
  t.is(q.write(PIPE_DEF_BUFFERS * PAGE_SIZE + 1), PIPE_DEF_BUFFERS * PAGE_SIZE, "Linux's default 64 KiB");
  t.is(q.write(1), 0);
  t.is(q.splice(1), 0);
});

test('splice from a TCP socket into a pipe stops at the urgent mark, 0 at it on a blocking socket; read() steps over the byte', (t) => {
  const r = runScript(
    `${OPEN}
+0 pipe([5, 6]) = 0
+0 < U. 1:101(100) ack 1 win 257 urg 100
+0 > . 1:1(0) ack 101
+0 splice(4, NULL, 6, NULL, 200, 0) = 99
+0 splice(4, NULL, 6, NULL, 1, 0) = 0
+0 ioctl(4, 0x8905, [1]) = 0
+0 recv(4, ..., 10, MSG_OOB) = 1
+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 splice(4, NULL, 6, NULL, 1, 0) = -1 EAGAIN (Resource temporarily unavailable)
+0 read(4, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)
+0 ioctl(4, 0x8905, [0]) = 0
+0 read(5, ..., 1000) = 99
+0 close(5) = 0
+0 close(6) = 0
`,
    'splice.pkt',
  );
  passes(t, r);
});

test('splice argument errors: socket to socket EINVAL, the wrong pipe end EBADF, an offset on the pipe ESPIPE, on the socket EFAULT', (t) => {
  const r = runScript(
    `${OPEN}
+0 pipe([5, 6]) = 0
+0 splice(4, NULL, 4, NULL, 10, 0) = -1 EINVAL (Invalid argument)
+0 splice(4, NULL, 5, NULL, 10, 0) = -1 EBADF (Bad file descriptor)
+0 splice(4, NULL, 6, 8, 10, 0) = -1 ESPIPE (Illegal seek)
+0 splice(4, 8, 6, NULL, 10, 0) = -1 EFAULT (Bad address)
+0 splice(4, NULL, 6, NULL, 10, 0x10) = -1 EINVAL (Invalid argument)
+0 splice(4, NULL, 6, NULL, 0, 0x10) = 0
+0 write(5, ..., 1) = -1 EBADF (Bad file descriptor)
`,
    'args.pkt',
  );
  passes(t, r);
  const pp = runScript(`${OPEN}\n+0 pipe([5, 6]) = 0\n+0 pipe([7, 8]) = 0\n+0 splice(5, NULL, 8, NULL, 10, 0) = 0\n`, 'pp.pkt');
  t.regex(failure(pp), /splice\(\) from a pipe into a pipe is not supported by tcpstack pkt/);
  const dup = runScript(`${OPEN}\n+0 pipe([4, 6]) = 0\n`, 'dup.pkt');
  t.regex(failure(dup), /duplicate fd 4 in script/);
});

test('splice from a pipe into a socket writes what it holds; an empty pipe is EAGAIN when non-blocking, 0 with no writer', (t) => {
  const r = runScript(
    `${OPEN}
+0 pipe([5, 6]) = 0
+0 fcntl(5, F_SETFL, O_RDONLY|O_NONBLOCK) = 0
+0 fcntl(5, F_GETFL) = 0x800
+0 splice(5, NULL, 4, NULL, 100, 0) = -1 EAGAIN (Resource temporarily unavailable)
+0 write(6, ..., 50) = 50
+0 splice(5, NULL, 4, NULL, 100, 0) = 50
+0 > P. 1:51(50) ack 1
+0 close(6) = 0
+0 splice(5, NULL, 4, NULL, 100, 0) = 0
`,
    'out.pkt',
  );
  passes(t, r);
});

test('MSG_OOB: recv gets the byte with msg_flags MSG_OOB; send marks it on the wire; SO_OOBINLINE and IP_FREEBIND read back', (t) => {
  const r = runScript(
    `${OPEN}
+0 setsockopt(4, SOL_IP, IP_FREEBIND, [1], 4) = 0
+0 getsockopt(4, SOL_IP, IP_FREEBIND, [1], [4]) = 0
+0 getsockopt(4, SOL_SOCKET, SO_OOBINLINE, [0], [4]) = 0
+0 < U. 1:11(10) ack 1 win 257 urg 10
+0 > . 1:1(0) ack 11
+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{...,10}], msg_flags=MSG_OOB}, MSG_OOB) = 1
+0 recv(4, ..., 1, MSG_OOB) = -1 EINVAL (Invalid argument)
+0 send(4, ..., 5, MSG_OOB) = 5
+0 > UP. 1:6(5) ack 11 urg 5
`,
    'oob.pkt',
  );
  passes(t, r);
  const v4 = runScript(`${OPEN}\n+0 setsockopt(4, SOL_IPV6, 78, [1], 4) = -1 ENOPROTOOPT (Protocol not available)\n`, 'v6opt.pkt');
  passes(t, v4);
});

test('a blocking splice waits for data, at most SO_RCVTIMEO (tcp_splice_read: sock_rcvtimeo), then EAGAIN; data ends the wait first', (t) => {
  const timeo = '"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\xa0\\x86\\x01\\x00\\x00\\x00\\x00\\x00"'; // 100 ms
  const r = runScript(
    `${OPEN}
+0 pipe([5, 6]) = 0
+0 setsockopt(4, SOL_SOCKET, SO_RCVTIMEO, ${timeo}, 16) = 0
0.1...0.2 splice(4, NULL, 6, NULL, 100, 0) = -1 EAGAIN (Resource temporarily unavailable)
0.2...0.25 splice(4, NULL, 6, NULL, 100, SPLICE_F_NONBLOCK) = 10
0.25 < P. 1:11(10) ack 1 win 257
`,
    'timeo.pkt',
  );
  passes(t, r);
  const early = runScript(`${OPEN}\n+0 pipe([5, 6]) = 0\n+0 setsockopt(4, SOL_SOCKET, SO_RCVTIMEO, ${timeo}, 16) = 0\n+0...0.05 splice(4, NULL, 6, NULL, 100, 0) = -1 EAGAIN (Resource temporarily unavailable)\n`, 'early.pkt');
  t.regex(failure(early), /timing error|expected .* sec/i, 'it does not give up before the timeout');
});
