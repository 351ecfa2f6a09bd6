/**
 * Introspection of a running `tcpstack up` through a real TUN device, in a
 * throw-away namespace: the live timeline of `--trace` shows the kernel
 * client's handshake with our echo service, segment by segment; `tcpstack ss`
 * and `tcpstack nstat` reach the running up through its control socket and
 * return the connection and the counters that moved; `--trace-file` records
 * what `tcpstack timeline` prints afterwards; the socket goes at exit. Over
 * IPv6: the status page fetched with curl -6 lists its own connection as
 * [address]:port and both of the stack's addresses, and nstat's IPv6 rows
 * come in the order the kernel's own nstat prints them. A running `connect`
 * answers ss and nstat as `up` does, prints its timeline on stderr, and the
 * timeline's wall clock agrees with tcpdump's capture of the same segment.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, execInNetns } from '../../tun/netns.ts';
import { CLI, Interactive, LineClient, interopSkipReason, parseCounters, removeNetns, startCli, uniqueNetns, type Exited } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'python3']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`interop introspection tests skipped: ${skip}`);

const ADDR = '198.18.0.2';

/** Polls `condition` every 20 ms until it holds; throws after `timeoutMs`. */
async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs the CLI without blocking this process (so it keeps reading up's output), bounded in time. */
function cli(args: string[], timeoutMs = 20_000): Promise<Exited> {
  return new Promise((resolve) => {
    const child = spawn(CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A kernel client in the namespace, driven by lines on stdin: "send TEXT" (answers the echo), "close". */
const CLIENT = `
import socket, sys
s = socket.create_connection(('${ADDR}', 7), timeout=10)
print('port', s.getsockname()[1], flush=True)
for line in sys.stdin:
    cmd, _, arg = line.rstrip('\\n').partition(' ')
    if cmd == 'send':
        s.sendall(arg.encode())
        got = b''
        while len(got) < len(arg):
            got += s.recv(100)
        print('echo', got.decode(), flush=True)
    elif cmd == 'reset':
        r = socket.create_connection(('${ADDR}', 4001), timeout=10)
        r.sendall(b'x' * 5000)
        try:
            r.recv(100); print('reset none', flush=True)
        except OSError as e:
            print('reset', e.errno, flush=True)
    elif cmd == 'close':
        s.close()
        print('closed', flush=True)
        break
`;

interop('up --trace shows the handshake live; tcpstack ss and nstat reach the running up; the trace file replays', async (t) => {
  const netns = uniqueNetns('introspect');
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-introspect-'));
  const traceFile = join(dir, 'trace.jsonl');
  const stack = startCli(['up', '--netns', netns, '--services', 'echo,partial-read', '--trace', '--trace-file', traceFile]);
  let client: LineClient | undefined;
  t.teardown(async () => {
    client?.kill();
    await stack.stop('SIGTERM'); // a graceful exit removes its control socket; stop() falls back to SIGKILL
    removeNetns(netns);
    rmSync(dir, { recursive: true, force: true });
  });
  const ready = await stack.ready();
  const ctl = /\bctl=(\S+)/.exec(ready)?.[1];
  t.is(ctl, `/run/tcpstack/${stack.pid}.sock`, 'the ready line names the control socket, by the PID');
  t.true(existsSync(ctl!));

  client = new LineClient(spawn('ip', ['netns', 'exec', netns, 'python3', '-u', '-c', CLIENT], { stdio: ['pipe', 'pipe', 'pipe'] }));
  const port = Number((await client.next('the client to connect')).split(' ')[1]);
  t.true(port > 0);
  t.is(await client.do('send hello'), 'echo hello');

  // The live timeline: the handshake and the echo, as tcpdump would show them.
  const conn = `198\\.18\\.0\\.2:7>198\\.18\\.0\\.1:${port}`;
  const T = '\\d+\\.\\d{3}';
  const expected = [
    new RegExp(`^${T} ${conn} < S 0:0\\(0\\) win \\d+ <mss 1460,sackOK,TS,nop,wscale \\d+>$`, 'm'),
    new RegExp(`^${T} ${conn} > S\\. 0:0\\(0\\) ack 1 win 65160 <mss 1460,sackOK,TS,nop,wscale 10>$`, 'm'),
    new RegExp(`^${T} ${conn} < \\. ack 1 win \\d+ <nop,nop,TS>$`, 'm'),
    new RegExp(`^${T} ${conn} SYN-RECV → ESTAB$`, 'm'),
    new RegExp(`^${T} ${conn} < P\\. 1:6\\(5\\) ack 1 win \\d+ <nop,nop,TS>$`, 'm'),
    new RegExp(`^${T} ${conn} > P\\. 1:6\\(5\\) ack 6 win \\d+ <nop,nop,TS>$`, 'm'),
  ];
  await until('the handshake and the echo in the live timeline', () => expected.every((r) => r.test(stack.stdout)));
  const positions = expected.map((r) => r.exec(stack.stdout)!.index);
  t.deepEqual([...positions].sort((a, b) => a - b), positions, 'in order');

  // ss: the connection, by --pid (the socket found in /run/tcpstack).
  const ss = await cli(['ss', '--pid', String(stack.pid)]);
  t.is(ss.code, 0, ss.stderr);
  t.regex(ss.stdout, /^LISTEN +0 +511 +0\.0\.0\.0:7 +0\.0\.0\.0:\*$/m);
  t.regex(ss.stdout, /^LISTEN +0 +511 +\[::\]:7 +\[::\]:\*$/m, "the service's v6-only listener beside it");
  t.regex(ss.stdout, new RegExp(`^ESTAB +0 +0 +198\\.18\\.0\\.2:7 +198\\.18\\.0\\.1:${port}\\b`, 'm'));
  // cwnd stays 10: 5 bytes each way never fill it (tcp_is_cwnd_limited).
  t.regex(ss.stdout, /^\t ts sack cubic wscale:\d+,10 rto:\d+ rtt:[\d.]+\/[\d.]+ mss:1448 pmtu:1500 cwnd:10 bytes_sent:5 bytes_acked:5 bytes_received:5 .*snd_wnd:\d+ rcv_wnd:\d+$/m);

  // nstat: the first call counts since start, the next only what moved in between.
  const first = await cli(['nstat', '--ctl', ctl!]);
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /^#kernel\n/);
  // nstat's three columns (%-32s%-16llu%6.1f): the rate of a first call is over the time since up started.
  t.regex(first.stdout, /^TcpPassiveOpens {17}1 {15} *\d+\.\d$/m, first.stdout);
  const c1 = parseCounters(first.stdout);
  t.is(c1.get('TcpPassiveOpens'), 1);
  t.is(c1.get('TcpCurrEstab'), 1);
  t.true((c1.get('TcpInSegs') ?? 0) >= 4);
  t.is(await client.do('send again'), 'echo again');
  const second = await cli(['nstat', '--ctl', ctl!]);
  const c2 = parseCounters(second.stdout);
  t.false(c2.has('TcpPassiveOpens'), 'no new connection since the last call');
  t.true((c2.get('TcpInSegs') ?? 0) >= 1 && (c2.get('TcpInSegs') ?? 0) <= 4, second.stdout);
  t.is(c2.get('TcpExtTCPAbortOnClose'), undefined);
  // The Io* rows (cli/io-counters.ts): the exchange's reads and writes on the
  // device and TCP's copies (the addon copies nothing): what TCP
  // received stays a view of the batch the addon read (up sets keepsInput),
  // and a one-segment read copies no more; the echo hands the 5 bytes it
  // read back over (writeZeroCopy): copied once, into the segment.
  t.true((c2.get('IoTunReadCalls') ?? 0) > (c2.get('TcpInSegs') ?? 0), 'a read per segment, and one that found the queue empty');
  t.true((c2.get('IoTunWriteCalls') ?? 0) >= (c2.get('TcpOutSegs') ?? 0));
  t.false(c2.has('IoTcpCopiedRxBytes'), second.stdout);
  t.is(c2.get('IoTcpCopiedTxBytes'), 'again'.length, second.stdout);
  const absolute = parseCounters((await cli(['nstat', '--ctl', ctl!, '-a', 'TcpPassiveOpens'])).stdout);
  t.deepEqual([...absolute], [['TcpPassiveOpens', 1]]);

  // A reset, with the path and Linux's reason.
  t.is(await client.do('reset'), 'reset 104');
  await until('the RST in the timeline', () => /RST via closeWithUnread \(tcp_send_active_reset, TCP_ABORT_ON_CLOSE\) in __tcp_close \(data_was_unread\)$/m.test(stack.stdout));
  t.is(parseCounters((await cli(['nstat', '--ctl', ctl!, 'TcpExtTCPAbortOnClose'])).stdout).get('TcpExtTCPAbortOnClose'), 1);

  t.is(await client.do('close'), 'closed');
  await until('the close in the timeline', () => new RegExp(`^${T} ${conn} LAST-ACK → UNCONN$`, 'm').test(stack.stdout));
  const exited = await stack.stop('SIGTERM');
  t.is(exited.code, 0, exited.stderr);
  t.is(exited.stderr, '');
  t.false(existsSync(ctl!), 'the control socket is removed at exit');
  const atExit = parseCounters(exited.stdout.slice(exited.stdout.indexOf('counters that moved:')));
  t.is(atExit.get('TcpPassiveOpens'), 2, 'the exit summary counts since start, as nstat -a');
  t.regex(exited.stdout, /\ngc pauses since ready: (0|\d+, p50 \d+\.\d{3} ms, p99 \d+\.\d{3} ms, max \d+\.\d{3} ms, total \d+\.\d{3} ms)\n$/, 'the last line: GC pauses');

  // The recorded trace prints the same lines offline, filtered.
  const replay = await cli(['timeline', traceFile, '--conn', String(port), '--kind', 'state']);
  t.is(replay.code, 0, replay.stderr);
  t.deepEqual(
    replay.stdout.trimEnd().split('\n').map((l) => l.replace(/^\d+\.\d{3} /, '')),
    [
      `198.18.0.2:7>198.18.0.1:${port} SYN-RECV → ESTAB`,
      `198.18.0.2:7>198.18.0.1:${port} ESTAB → CLOSE-WAIT`,
      `198.18.0.2:7>198.18.0.1:${port} CLOSE-WAIT → LAST-ACK`,
      `198.18.0.2:7>198.18.0.1:${port} LAST-ACK → UNCONN`,
    ],
  );
  const live = exited.stdout.split('\n').filter((l) => /^\d+\.\d{3} /.test(l));
  const all = await cli(['timeline', traceFile]);
  t.deepEqual(all.stdout.trimEnd().split('\n'), live, 'offline = live, line for line');
});

interop('over IPv6: the status page lists its own connection as [address]:port and both addresses; nstat counts Ip6InReceives, its IPv6 rows in the kernel nstat\'s order', async (t) => {
  const netns = uniqueNetns('introspect6');
  const stack = startCli(['up', '--netns', netns, '--services', 'http']);
  t.teardown(async () => {
    await stack.stop('SIGTERM');
    removeNetns(netns);
  });
  await stack.ready();
  const page = await execInNetns(netns, ['curl', '-6', '-g', '-sS', '--max-time', '10', 'http://[2001:2::2]/'], { timeoutMs: 20_000 });
  t.is(page.status, 0, page.stderr);
  t.regex(page.stdout, /<tr><td>198\.18\.0\.2<\/td><\/tr>\n<tr><td>2001:2::2<\/td><\/tr>/, 'both addresses');
  t.regex(page.stdout, /<td>0\.0\.0\.0:80<\/td>/);
  t.regex(page.stdout, /<td>\[::\]:80<\/td>/, 'the v6-only listener');
  t.regex(page.stdout, /<td>ESTAB<\/td><td>\d+<\/td><td>\d+<\/td><td>\[2001:2::2\]:80<\/td><td>\[2001:2::1\]:\d+<\/td>/, 'the request\'s own connection');

  const ours = await cli(['nstat', '--pid', String(stack.pid), '-a']);
  t.is(ours.code, 0, ours.stderr);
  const rows = [...parseCounters(ours.stdout).keys()];
  t.true((parseCounters(ours.stdout).get('Ip6InReceives') ?? 0) >= 4, ours.stdout);
  // The kernel's nstat in the same namespace: every name, zeros included, not touching its history (-s).
  const kernel = await execInNetns(netns, ['nstat', '-azs'], { timeoutMs: 10_000 });
  t.is(kernel.status, 0, kernel.stderr);
  const linux = kernel.stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0]!).filter((n) => n !== '');
  const ipv6 = rows.filter((n) => /^(Ip6|Icmp6|Udp6)/.test(n) && n !== 'Ip6ReasmOverlaps');
  t.true(ipv6.length >= 5, ours.stdout);
  for (const n of ipv6) t.true(linux.includes(n), `${n} is a name the kernel's nstat prints`);
  const positions = ipv6.map((n) => linux.indexOf(n));
  t.deepEqual(positions, [...positions].sort((a, b) => a - b), 'in its order');
  const around = (list: string[]): boolean => {
    const tcpExt = list.findIndex((n) => n.startsWith('TcpExt'));
    return list.indexOf('TcpPassiveOpens') >= 0 && list.indexOf('TcpPassiveOpens') < list.indexOf('Ip6InReceives') && list.indexOf('Ip6InReceives') < (tcpExt < 0 ? Infinity : tcpExt);
  };
  t.true(around(linux), 'the kernel: Tcp, then Ip6, then TcpExt');
  t.true(around(rows), ours.stdout);
});

const skipCapture = interopSkipReason(['ip', 'python3', 'tcpdump']);
const interopCapture = skipCapture === undefined ? test.serial : test.skip;
if (skipCapture !== undefined && skip === undefined) console.log(`interop connect introspection test skipped: ${skipCapture}`);

interopCapture('tcpstack connect --trace and --ctl: the timeline on stderr in tcpdump\'s clock, ss and nstat reach the running connect', async (t) => {
  const netns = uniqueNetns('introcon');
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-introcon-'));
  createNetns(netns);
  const ctl = join(dir, 'connect.sock');
  const pcap = join(dir, 'c.pcap');
  const server = new Interactive(netns, [
    'python3',
    '-c',
    `
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('0.0.0.0', 5555)); l.listen(1)
print('listening', flush=True)
c, _ = l.accept()
while True:
    d = c.recv(100)
    if not d: break
    c.sendall(d.upper())
c.close()
`,
  ]);
  const connect = spawn(CLI, ['connect', '--netns', netns, '--trace=seg,state', '--trace-time', 'epoch', '--ctl', ctl, '-v', '198.18.0.1', '5555'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  connect.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  connect.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => connect.once('close', (code) => resolve(code)));
  let tcpdump: ReturnType<typeof spawn> | undefined;
  t.teardown(() => {
    connect.kill('SIGKILL');
    tcpdump?.kill('SIGKILL');
    server.child.kill('SIGKILL');
    removeNetns(netns);
    rmSync(dir, { recursive: true, force: true });
  });
  await server.waitFor(/listening/);
  await until('connect to say it is connected', () => /tcpstack: connected 198\.18\.0\.2:\d+ -> 198\.18\.0\.1:5555/.test(stderr) || connect.exitCode !== null, 15_000);
  t.true(stderr.includes(`tcpstack: ctl=${ctl}\n`), stderr);

  // A capture on the kernel's side of the device, from here on.
  tcpdump = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '--immediate-mode', '-U', '-nn', '-i', 'tcp0', '-w', pcap, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let tcpdumpErr = '';
  tcpdump.stderr!.setEncoding('utf8').on('data', (d: string) => (tcpdumpErr += d));
  const captureEnded = new Promise((resolve) => tcpdump!.once('close', resolve));
  await until('tcpdump to listen', () => /listening on tcp0/.test(tcpdumpErr) || tcpdump!.exitCode !== null);
  t.is(tcpdump.exitCode, null, tcpdumpErr);

  const ss = await cli(['ss', '--ctl', ctl]);
  t.is(ss.code, 0, ss.stderr);
  t.regex(ss.stdout, /^ESTAB +0 +0 +198\.18\.0\.2:\d+ +198\.18\.0\.1:5555$/m, ss.stdout);
  const nstat = await cli(['nstat', '--ctl', ctl, 'TcpActiveOpens']);
  t.is(parseCounters(nstat.stdout).get('TcpActiveOpens'), 1, nstat.stdout);

  connect.stdin.write('hello\n');
  await until('the answer', () => stdout === 'HELLO\n');
  connect.stdin.end();
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => connect.kill('SIGKILL'), 15_000);
    void exited.then((c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  t.is(code, 0, stderr);
  t.false(existsSync(ctl), 'the control socket is removed at exit');
  tcpdump.kill('SIGINT');
  await captureEnded;

  // The live timeline, on stderr: the handshake in tcpdump's letters, the states as ss spells them.
  const E = '\\d+\\.\\d{6}';
  const conn = '198\\.18\\.0\\.2:\\d+>198\\.18\\.0\\.1:5555';
  for (const line of [`> S 0:0\\(0\\) win 64240 <mss 1460,sackOK,TS,nop,wscale 10>`, `< S\\. 0:0\\(0\\) ack 1 win 65160 `, 'SYN-SENT → ESTAB', '> P\\. 1:7\\(6\\) ack 1 ', '> F\\. 7:7\\(0\\) ack 7 ']) {
    t.regex(stderr, new RegExp(`^${E} ${conn} ${line}`, 'm'));
  }
  // --trace-time epoch is tcpdump -tt's clock: our data segment, written to the device, and the capture of it.
  const ours = Number(new RegExp(`^(${E}) ${conn} > P\\. 1:7`, 'm').exec(stderr)![1]);
  const read = spawnSync('tcpdump', ['-tt', '-nn', '-r', pcap], { encoding: 'utf8', timeout: 10_000 });
  const captured = /^(\d+\.\d{6}) IP 198\.18\.0\.2\.\d+ > 198\.18\.0\.1\.5555: Flags \[P\.\]/m.exec(read.stdout);
  t.truthy(captured, `${read.stdout}${read.stderr}${tcpdumpErr}`);
  const gap = Math.abs(Number(captured![1]) - ours);
  t.log(`trace ${ours.toFixed(6)}, capture ${captured![1]}: ${(gap * 1000).toFixed(3)} ms apart`);
  t.true(gap < 0.1, `the trace says ${ours}, tcpdump ${captured![1]}: ${gap.toFixed(6)} s apart`);
});
