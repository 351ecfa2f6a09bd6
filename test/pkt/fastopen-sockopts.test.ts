/**
 * Fast Open's server socket options in packet scripts: TCP_FASTOPEN (set
 * and get) and TCP_FASTOPEN_KEY, whose string the runner unescapes as
 * packetdrill does (unescape_cstring_expression) before the stack checks
 * its length (16 or 32 bytes, else EINVAL).
 */
import test from 'ava';
import { runScript } from '../../cli/pkt/runner.ts';
import { cStringBytes } from '../../cli/pkt/syscalls.ts';
import { failure, passes } from '../helpers/pkt-result.ts';

test('script strings unescape as packetdrill does: \\xhh, \\n and friends; \\\\ and \\" fall through to \\f', (t) => {
  t.deepEqual(Array.from(cStringBytes('\\xf7\\x63a')), [0xf7, 0x63, 0x61]);
  t.deepEqual(Array.from(cStringBytes('\\n\\r\\t\\v\\f')), [10, 13, 9, 11, 12]);
  t.deepEqual(Array.from(cStringBytes('\\\\\\"')), [12, 12]);
  t.throws(() => cStringBytes('\\xg1'), { message: /invalid hex escape/ });
  t.throws(() => cStringBytes('\\q'), { message: /unsupported escape code: 'q'/ });
});

const LISTEN = `
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 5) = 0
`;

test('under packetdrill\'s tcp_fastopen 0x70403 (TFO_SERVER_WO_SOCKOPT1) listen(5) gives queue length 5; TCP_FASTOPEN sets the length getsockopt reads; a key of 16 or 32 bytes is taken, any other length is EINVAL', (t) => {
  const key = '\\xa1'.repeat(16);
  passes(
    t,
    runScript(
      `${LISTEN}
+0 getsockopt(3, SOL_TCP, TCP_FASTOPEN, [5], [4]) = 0
+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN, [3], 4) = 0
+0 getsockopt(3, SOL_TCP, TCP_FASTOPEN, [3], [4]) = 0
+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN, [-1], 4) = -1 EINVAL (Invalid argument)
+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_KEY, "${key}", 16) = 0
+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_KEY, "${key}${key}", 32) = 0
+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_KEY, "${key}", 15) = -1 EINVAL (Invalid argument)
+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_KEY, "", 0) = -1 EINVAL (Invalid argument)
`,
      't.pkt',
    ),
  );
  t.regex(
    failure(runScript(`${LISTEN}\n+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN, [3], 4) = 0\n+0 getsockopt(3, SOL_TCP, TCP_FASTOPEN, [2], [4]) = 0\n`, 't.pkt')),
    /expected: 2 actual: 3/,
  );
});
