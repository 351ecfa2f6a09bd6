/**
 * `tcpstack ss`, `nstat`, `timeline` and up's and connect's
 * --trace/--trace-time/--trace-file/--ctl:
 * misuse is one line and exit 2; no running up (or an unreadable trace) is
 * one line and exit 1; the help documents every option.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/interop.ts';

/** An empty run directory: no `up` of a concurrently running test is ever found. */
const RUN_DIR = mkdtempSync(join(tmpdir(), 'tcpstack-introspect-'));
test.after.always(() => rmSync(RUN_DIR, { recursive: true, force: true }));

function cli(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(CLI, args, { encoding: 'utf8', timeout: 20_000, input, env: { ...process.env, TCPSTACK_RUN_DIR: RUN_DIR } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const misuse: Array<[string[], RegExp]> = [
  [['ss', 'extra'], /ss: unexpected "extra" in the filter \(expected sport, dport, src, dst, not or "\("\)/],
  [['ss', '--bogus'], /ss: unknown option --bogus \(the options: .*tcpstack ss --help\)/],
  [['ss', 'state', 'bogus'], /ss: wrong state name: bogus \(known: established, syn-sent, syn-recv/],
  [['ss', '--pid', 'x'], /--pid expects an integer from 1 to 4194304, got "x"/],
  [['ss', '--pid', '0'], /--pid expects an integer from 1 to 4194304, got 0/],
  [['ss', '--ctl', '/a.sock', '--pid', '1'], /--ctl and --pid exclude each other/],
  [['ss', '--ctl', ''], /--ctl needs a path/],
  [['nstat', '--bogus'], /nstat: unknown option --bogus \(nstat takes --ctl PATH, --pid PID, --json, -a\/--absolute, -r\/--reset, -s\/--no-update, -z\/--zeros, -h\/--help\)/],
  [['nstat', '--pid'], /--pid/],
  [['timeline'], /timeline needs FILE/],
  [['timeline', 'a', 'b'], /timeline takes one FILE, got 2/],
  [['timeline', 'f', '--kind', 'nope'], /--kind: unknown kind "nope" \(known: seg, state, timer, rst, challenge, error, drop, icmp, reasm, internal, crash, cc, ca, arm\)/],
  [['timeline', 'f', '--conn', 'http'], /--conn: "http" is neither a port/],
  [['timeline', 'f', '--kind', 'rst,,seg'], /--kind: empty entry/],
  [['up', '--trace', 'bogus'], /--trace: unknown kind "bogus"/],
  [['up', '--trace=0'], /--trace: "0" is neither a port/],
  [['up', '--trace', '7,', '--netns', 'x'], /--trace: empty entry in "7,"/],
  [['up', '--trace-file'], /--trace-file/],
  [['up', '--trace-file='], /--trace-file needs a file name/],
  [['up', '--ctl='], /--ctl needs a path \(or "none"\)/],
  [['timeline', 'f', '--time', 'utc'], /--time: "utc" is not a clock \(known: rel, wall, epoch\)/],
  [['up', '--trace-time', 'wall'], /--trace-time needs --trace \(it is the live timeline's TIME column; a trace file is printed with: tcpstack timeline FILE --time CLOCK\)/],
  [['up', '--trace', '--trace-time', 'now'], /--trace-time: "now" is not a clock/],
  [['connect', '--trace', '7', '198.18.0.1', '80'], /connect takes HOST and PORT only, got 3 arguments: "7" "198\.18\.0\.1" "80" \(a --trace filter is written --trace=FILTER\)$/],
  [['connect', '--trace=bogus', '198.18.0.1', '80'], /--trace: unknown kind "bogus"/],
  [['connect', '--ctl=', '198.18.0.1', '80'], /--ctl needs a path \(or "none"\)/],
];

for (const [args, message] of misuse) {
  test(`tcpstack ${args.join(' ')} → exit 2 with one line`, (t) => {
    const r = cli(args);
    t.is(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    t.is(lines.length, 1, r.stderr);
    t.regex(lines[0]!, /^tcpstack: error: /);
    t.regex(lines[0]!, message);
    t.is(r.stdout, '');
  });
}

const failures: Array<[string[], string]> = [
  [['ss'], `tcpstack: ss: no running tcpstack up or connect (no live control socket in ${RUN_DIR}; start one with: ${CLI} up)`],
  [['nstat', '-a'], `tcpstack: nstat: no running tcpstack up or connect (no live control socket in ${RUN_DIR}; start one with: ${CLI} up)`],
  [['ss', '--ctl', '/nonexistent/up.sock'], 'tcpstack: ss: no tcpstack up or connect is listening on /nonexistent/up.sock (ENOENT)'],
  [['ss', '--pid', '4194304'], 'tcpstack: ss: no process 4194304 (is tcpstack up running?)'],
  [['timeline', '/nonexistent/trace.jsonl'], 'tcpstack: timeline: cannot read /nonexistent/trace.jsonl: ENOENT'],
  [['timeline', '/'], 'tcpstack: timeline: cannot read /: EISDIR'],
];

for (const [args, line] of failures) {
  test(`tcpstack ${args.join(' ')} → exit 1 with one line`, (t) => {
    const r = cli(args);
    t.is(r.code, 1, r.stderr);
    t.is(r.stderr, `${line}\n`);
    t.is(r.stdout, '');
  });
}

test('a stale socket of a killed up is not a running up', (t) => {
  writeFileSync(join(RUN_DIR, '4194303.sock'), '');
  try {
    const r = cli(['nstat']);
    t.is(r.code, 1);
    t.regex(r.stderr, /no running tcpstack up/);
  } finally {
    rmSync(join(RUN_DIR, '4194303.sock'));
  }
});

test('timeline reads a file or stdin; a bad line names its number', (t) => {
  const file = join(RUN_DIR, 'trace.jsonl');
  writeFileSync(
    file,
    [
      '{"kind":"trace-start","t":1000,"version":1}',
      '{"kind":"tcp-state","t":1500,"conn":"7-41234","from":"ESTABLISHED","to":"FIN_WAIT1"}',
      '{"kind":"tcp-error","t":2000,"conn":"9-1","errno":"ETIMEDOUT"}',
      '{"kind":"drop","t":2001,"reason":"NO_SOCKET"}',
      '',
    ].join('\n'),
  );
  t.deepEqual(cli(['timeline', file]), { code: 0, stderr: '', stdout: '0.500 7-41234 ESTAB → FIN-WAIT-1\n1.000 9-1 errno ETIMEDOUT\n1.001 - drop NO_SOCKET\n' });
  t.deepEqual(cli(['timeline', file, '--conn', '9']), { code: 0, stderr: '', stdout: '1.000 9-1 errno ETIMEDOUT\n' });
  t.deepEqual(cli(['timeline', file, '--kind', 'state,drop']), { code: 0, stderr: '', stdout: '0.500 7-41234 ESTAB → FIN-WAIT-1\n1.001 - drop NO_SOCKET\n' });
  t.deepEqual(cli(['timeline', '-', '--kind', 'error'], '{"kind":"tcp-error","t":3,"conn":"1-2","errno":"EPIPE"}\n'), { code: 0, stderr: '', stdout: '0.000 1-2 errno EPIPE\n' });
  const bad = cli(['timeline', '-'], '{"kind":"drop","t":1,"reason":"X"}\nnot json\n');
  t.is(bad.code, 1);
  t.is(bad.stderr, 'tcpstack: timeline: stdin:2: not JSON\n');
});

test("timeline --time: tcpdump's wall clock and -tt's seconds from the header's wall; a trace without one cannot say", (t) => {
  const file = join(RUN_DIR, 'wall.jsonl');
  writeFileSync(file, ['{"kind":"trace-start","t":1000,"version":1,"wall":"2024-12-05T22:59:01.123456Z"}', '{"kind":"drop","t":1500.25,"reason":"NO_SOCKET"}', ''].join('\n'));
  const utc = (args: string[]): ReturnType<typeof cli> => {
    const r = spawnSync(CLI, args, { encoding: 'utf8', timeout: 20_000, env: { ...process.env, TZ: 'UTC' } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  t.deepEqual(utc(['timeline', file, '--time', 'wall']), { code: 0, stderr: '', stdout: '22:59:01.623706 - drop NO_SOCKET\n' });
  t.deepEqual(utc(['timeline', file, '--time', 'epoch']), { code: 0, stderr: '', stdout: '1733439541.623706 - drop NO_SOCKET\n' });
  t.deepEqual(utc(['timeline', file]), { code: 0, stderr: '', stdout: '0.500 - drop NO_SOCKET\n' });
  const bare = cli(['timeline', '-', '--time', 'wall'], '{"kind":"drop","t":1,"reason":"X"}\n');
  t.is(bare.code, 1);
  t.is(bare.stderr, 'tcpstack: timeline: stdin:1: no wall-clock time: the trace has no trace-start header with "wall" (--time rel needs none)\n');
});

test('the help of ss, nstat, timeline and up documents the options', (t) => {
  const ss = cli(['ss', '--help']);
  t.is(ss.code, 0);
  for (const o of ['--ctl', '--pid', '--json', 'timer:(', 'Exit status']) t.true(ss.stdout.includes(o), o);
  const nstat = cli(['nstat', '--help']);
  t.is(nstat.code, 0);
  for (const o of ['--ctl', '--pid', '-a, --absolute', '-r, --reset', '-s, --no-update', '-z, --zeros', '--json', 'PATTERN', 'rate per second']) t.true(nstat.stdout.includes(o), o);
  const timeline = cli(['timeline', '--help']);
  t.is(timeline.code, 0);
  for (const o of ['--conn', '--kind', 'seg, state, timer, rst', 'RST via closeWithUnread (tcp_send_active_reset, TCP_ABORT_ON_CLOSE)']) t.true(timeline.stdout.includes(o), o);
  const up = cli(['up', '--help']);
  for (const o of ['--trace [FILTER]', '--trace-time CLOCK', '--trace-file FILE', '--ctl PATH', 'ctl=PATH']) t.true(up.stdout.includes(o), o);
  const connect = cli(['connect', '--help']);
  for (const o of ['--trace[=FILTER]', '--trace-time CLOCK', '--trace-file FILE', '--ctl PATH', 'on stderr']) t.true(connect.stdout.includes(o), o);
  for (const o of ['--time CLOCK', 'tcpdump -tt']) t.true(timeline.stdout.includes(o), o);
  const main = cli(['--help']);
  for (const c of [/\bss\b/, /\bnstat\b/, /\btimeline\b/]) t.regex(main.stdout, c);
});
