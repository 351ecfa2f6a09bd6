/**
 * The benchmark's C client (test/bench/c/echo-client.c) against a kernel
 * echo server of the test's own, inside a throw-away network namespace: its
 * three measures report what they measured, and it refuses to report a
 * figure when the echo is wrong (a changed byte, a connection closed early)
 * or when called wrongly. Timings are printed, never asserted.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createNetns } from '../../tun/netns.ts';
import { buildBenchPrograms } from '../helpers/bench-c.ts';
import { ROOT, interopSkipReason, removeNetns, uniqueNetns } from '../helpers/interop.ts';

const CLIENT = join(ROOT, 'test', 'bench', 'c', 'build', 'echo-client');
const skip = interopSkipReason(['ip', 'python3', 'gcc', 'make', 'flock']);
const interop = skip === undefined ? test.serial : test.skip;
const withClient = skip === undefined ? test : test.skip;
if (skip !== undefined) console.log(`C client tests skipped: ${skip}`);

/**
 * A kernel echo server on 127.0.0.1 in the namespace (a thread per
 * connection) that can change byte 1000 of a stream or close after 5000
 * bytes; the client runs beside it and the script prints its exit code,
 * stdout and stderr as JSON.
 */
const HARNESS = `
import json, socket, subprocess, sys, threading
fault, argv = sys.argv[1], sys.argv[2:]
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('127.0.0.1', 0)); l.listen(128)
def handle(c):
    n = 0
    while True:
        d = c.recv(65536)
        if not d: break
        if fault == 'corrupt' and n <= 1000 < n + len(d):
            d = bytearray(d); d[1000 - n] ^= 0xff
        if fault == 'close' and n + len(d) > 5000:
            break
        c.sendall(d); n += len(d)
    c.close()
def serve():
    while True:
        c, _ = l.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
port = str(l.getsockname()[1])
argv = [a.replace('PORT', port) for a in argv]
r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
print(json.dumps({'code': r.returncode, 'stdout': r.stdout, 'stderr': r.stderr}))
`;

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function inNetns(fault: 'none' | 'corrupt' | 'close', args: string[]): Ran {
  const netns = uniqueNetns('cclient');
  createNetns(netns);
  try {
    spawnSync('ip', ['-n', netns, 'link', 'set', 'lo', 'up'], { timeout: 10_000 });
    const r = spawnSync('ip', ['netns', 'exec', netns, 'python3', '-c', HARNESS, fault, CLIENT, ...args], { encoding: 'utf8', timeout: 90_000 });
    if (r.status !== 0) throw new Error(`harness: ${r.stderr || r.error?.message}`);
    return JSON.parse(r.stdout) as Ran;
  } finally {
    removeNetns(netns);
  }
}

test.before(() => {
  if (skip === undefined) buildBenchPrograms(['build/echo-client']);
});

interop('echo: every byte of 8 MiB comes back, and the figure names what it measured', (t) => {
  const r = inNetns('none', ['echo', '127.0.0.1', 'PORT', String(8 << 20)]);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { mode: string; bytes: number; seconds: number; mibps: number };
  t.is(out.mode, 'echo');
  t.is(out.bytes, 8 << 20);
  t.true(out.seconds > 0 && out.mibps > 0);
  t.log(`kernel over lo: ${out.mibps} MiB/s`);
});

interop('echo: a byte changed by the server, or a connection closed early, is an error and no figure', (t) => {
  const changed = inNetns('corrupt', ['echo', '127.0.0.1', 'PORT', '100000']);
  t.is(changed.code, 1);
  t.is(changed.stdout, '');
  t.is(changed.stderr, `echo-client: byte 1000 came back as ${(1000 % 251) ^ 0xff}, not ${1000 % 251}\n`);
  const closed = inNetns('close', ['echo', '127.0.0.1', 'PORT', '100000']);
  t.is(closed.code, 1);
  t.is(closed.stdout, '');
  // Closed with our bytes unread, the server's socket resets the connection (RFC 2525 §2.17).
  t.regex(closed.stderr, /^echo-client: (the server closed after \d+ of 100000 bytes|recv: Connection reset by peer|send: (Connection reset by peer|Broken pipe))\n$/);
});

interop('rtt and conn: the count asked for, percentiles and a rate', (t) => {
  const rtt = inNetns('none', ['rtt', '127.0.0.1', 'PORT', '500']);
  t.is(rtt.code, 0, rtt.stderr);
  const r = JSON.parse(rtt.stdout) as { mode: string; count: number; p50_us: number; p99_us: number };
  t.deepEqual([r.mode, r.count], ['rtt', 500]);
  t.true(r.p50_us > 0 && r.p99_us >= r.p50_us);
  const conn = inNetns('none', ['conn', '127.0.0.1', 'PORT', '200']);
  t.is(conn.code, 0, conn.stderr);
  const c = JSON.parse(conn.stdout) as { mode: string; count: number; per_second: number };
  t.deepEqual([c.mode, c.count], ['conn', 200]);
  t.true(c.per_second > 0);
  t.log(`kernel over lo: RTT p50 ${r.p50_us} µs, p99 ${r.p99_us} µs; ${c.per_second} connections/s`);
});

withClient('misuse: one line naming what is wrong, exit 2', (t) => {
  for (const [args, line] of [
    [['echo', '127.0.0.1', '7'], 'echo-client: expected a measure, HOST, PORT and N'],
    [['ping', '127.0.0.1', '7', '1'], 'echo-client: the measure is echo, rtt or conn'],
    [['echo', 'localhost', '7', '1'], 'echo-client: HOST must be an IPv4 address'],
    [['echo', '127.0.0.1', '70000', '1'], 'echo-client: PORT must be 1-65535, not "70000"'],
    [['rtt', '127.0.0.1', '7', '0'], 'echo-client: COUNT must be 1-10000000, not "0"'],
  ] as const) {
    const r = spawnSync(CLIENT, args, { encoding: 'utf8', timeout: 10_000 });
    t.is(r.status, 2, args.join(' '));
    t.is(r.stderr.split('\n')[0], line);
    t.is(r.stdout, '');
  }
});
