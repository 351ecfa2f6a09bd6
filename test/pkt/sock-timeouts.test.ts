/**
 * SO_RCVTIMEO and SO_SNDTIMEO in packet scripts (cli/pkt/sock-timeouts.ts):
 * the struct timeval as a string of escaped bytes, getsockopt checked as
 * packetdrill checks it, and the blocking calls giving up at the timeout
 * with what Linux returns then (each case confirmed with packetdrill on
 * Linux 6.18.44; test/scripts/so-rcvtimeo.pkt and so-sndtimeo*.pkt have
 * the rest).
 */
import test from 'ava';
import { runScript } from '../../cli/pkt/runner.ts';
import { failure, passes } from '../helpers/pkt-result.ts';

/** A timeval's 16 bytes as a script string: two little-endian longs. */
function timeval(sec: number, usec: number): string {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setBigInt64(0, BigInt(sec), true);
  v.setBigInt64(8, BigInt(usec), true);
  return `"${Array.from(b, (x) => `\\x${x.toString(16).padStart(2, '0')}`).join('')}"`;
}

const MS20 = timeval(0, 20_000);
const MS100 = timeval(0, 100_000);
const ZERO = timeval(-1, 0);

/** A listener (fd 3) with SO_RCVTIMEO `rcv` and its accepted connection (fd 4), 300 bytes queued at 0.1 s. */
const accepted = (rcv: string): string => `
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 setsockopt(3, SOL_SOCKET, SO_RCVTIMEO, ${rcv}, 16) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
+.1 < . 1:1(0) ack 1 win 257
+0 accept(3, ..., ...) = 4
+0 < P. 1:301(300) ack 1 win 257
+0 > . 1:1(0) ack 301
`;

test('getsockopt: min(optlen, 16) bytes come back; a string is compared byte for byte and [N] as the first 4 bytes, with packetdrill\'s messages', (t) => {
  const open = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, SO_SNDTIMEO, ${timeval(2, 12_345)}, 16) = 0\n`;
  passes(t, runScript(`${open}+0 getsockopt(3, SOL_SOCKET, SO_SNDTIMEO, ${timeval(2, 16_000)}, [16]) = 0\n+0 getsockopt(3, SOL_SOCKET, SO_SNDTIMEO, [2], [4]) = 0\n+0 getsockopt(3, SOL_SOCKET, SO_SNDTIMEO, "\\x02", [1]) = 0\n`, 't.pkt'));
  const fails = (line: string): string => failure(runScript(`${open}+0 ${line}\n`, 't.pkt'));
  t.regex(fails(`getsockopt(3, SOL_SOCKET, SO_SNDTIMEO, ${timeval(2, 16_000)}, [20]) = 0`), /Bad getsockopt optlen: expected: 20 actual: 16/);
  t.regex(
    fails(`getsockopt(3, SOL_SOCKET, SO_SNDTIMEO, ${timeval(2, 12_345)}, [16]) = 0`),
    /Bad getsockopt optval: expected: '\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x0090\\x00\\x00\\x00\\x00\\x00' actual: '\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80>\\x00\\x00\\x00\\x00\\x00'/,
    'to_printable_string: printable bytes as they are, a last NUL as nothing',
  );
  t.regex(fails(`getsockopt(3, SOL_SOCKET, SO_SNDTIMEO, "\\x02\\x00", [4]) = 0`), /expected optlen \(4 bytes\) does not match length of expected optval string '\\x02' \(2 bytes\)/);
  t.regex(fails('getsockopt(3, SOL_SOCKET, SO_SNDTIMEO, [2], [8]) = 0'), /Unsupported getsockopt optlen: 8/);
  t.regex(fails('getsockopt(3, SOL_SOCKET, SO_SNDTIMEO, [1], [4]) = 0'), /Bad getsockopt optval: expected: 1 actual: 2/);
  t.regex(fails('getsockopt(3, SOL_SOCKET, SO_RCVTIMEO, [2], [4]) = 0'), /expected: 2 actual: 0/, 'SO_RCVTIMEO is its own');
});

test('setsockopt: the timeval\'s NUL bytes survive the unescaping; an int or a string shorter than 16 bytes with optlen 16 would hand the kernel packetdrill\'s own memory and is refused', (t) => {
  const open = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n';
  passes(t, runScript(`${open}+0 setsockopt(3, SOL_SOCKET, SO_RCVTIMEO, ${timeval(0, 1)}, 16) = 0\n+0 getsockopt(3, SOL_SOCKET, SO_RCVTIMEO, ${timeval(0, 4000)}, [16]) = 0\n`, 't.pkt'));
  passes(t, runScript(`${open}+0 setsockopt(3, SOL_SOCKET, SO_RCVTIMEO, "ab", 8) = -1 EINVAL (Invalid argument)\n+0 setsockopt(3, SOL_SOCKET, SO_RCVTIMEO, [1], -1) = -1 EINVAL (Invalid argument)\n`, 't.pkt'));
  t.regex(failure(runScript(`${open}+0 setsockopt(3, SOL_SOCKET, SO_RCVTIMEO, [1], 16) = 0\n`, 't.pkt')), /setsockopt\(SO_RCVTIMEO\) with an int is not supported by tcpstack pkt/);
  t.regex(failure(runScript(`${open}+0 setsockopt(3, SOL_SOCKET, SO_SNDTIMEO, "\\x01", 16) = 0\n`, 't.pkt')), /SO_SNDTIMEO\) with 1 bytes of string is not supported by tcpstack pkt: the kernel reads 16/);
});

test('a blocking read gives up at the timeout, jiffies-rounded, after the call started: with the bytes it took (MSG_PEEK, recvmsg with MSG_WAITALL), or EAGAIN (readv); MSG_DONTWAIT does not wait at all', (t) => {
  const script = `${accepted(MS20)}
+0...0.020 recv(4, ..., 1000, MSG_PEEK|MSG_WAITALL) = 300
+.03...0.050 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 1000}], msg_flags=0}, MSG_WAITALL) = 300
+.03...0.050 readv(4, [{..., 100}], 1) = -1 EAGAIN (Resource temporarily unavailable)
+.03 recv(4, ..., 100, MSG_DONTWAIT) = -1 EAGAIN (Resource temporarily unavailable)
`;
  passes(t, runScript(script, 't.pkt'));
  // 20 ms after the call, to the µs: with a tolerance of 1 µs, 25 ms fails.
  const exactly = '--tolerance_usecs=1\n--tolerance_percent=0\n';
  t.regex(failure(runScript(exactly + script.replace('+.03...0.050 readv', '+.03...0.055 readv'), 't.pkt')), /timing error: expected system call return at 0\.185000 sec but happened at 0\.180000 sec/);
  // {0, 10001} is 3 jiffies: 12 ms.
  passes(t, runScript(`${exactly}${accepted(timeval(0, 10_001))}+0 read(4, ..., 1000) = 300\n+0...0.012 read(4, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)\n`, 't.pkt'));
});

test('without a timeout a read still waits for data; with one, data that comes first ends the wait', (t) => {
  const drained = (rcv: string): string => `${accepted(rcv)}+0 read(4, ..., 1000) = 300\n`;
  const late = '+0...0.060 read(4, ..., 100) = 100\n+.06 < P. 301:401(100) ack 1 win 257\n+0 > . 1:1(0) ack 401\n';
  passes(t, runScript(drained(timeval(0, 0)) + late, 't.pkt'));
  passes(t, runScript(drained(MS100) + late, 't.pkt'));
  t.regex(failure(runScript(drained(MS20) + late, 't.pkt')), /Expected result 100 but got -1 with errno 11/);
});

test('a zero timeout (negative tv_sec) returns at once: accept() EAGAIN, connect() EINPROGRESS, write() EAGAIN on a connecting socket', (t) => {
  passes(
    t,
    runScript(
      `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_RCVTIMEO, ${ZERO}, 16) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
+0 setsockopt(5, SOL_SOCKET, SO_SNDTIMEO, ${ZERO}, 16) = 0
+0 connect(5, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
+0 write(5, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)
+0 connect(5, ..., ...) = -1 EALREADY (Operation already in progress)
`,
      't.pkt',
    ),
  );
});

test('an accepted connection reads with its listener\'s SO_RCVTIMEO; its own setting leaves the listener\'s alone', (t) => {
  passes(
    t,
    runScript(
      `${accepted(MS20)}+0 read(4, ..., 1000) = 300
+0...0.020 read(4, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)
+.03 setsockopt(4, SOL_SOCKET, SO_RCVTIMEO, ${MS100}, 16) = 0
+0...0.100 read(4, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)
+.11 getsockopt(3, SOL_SOCKET, SO_RCVTIMEO, ${MS20}, [16]) = 0
`,
      't.pkt',
    ),
  );
});
