/**
 * The packet-script runner: packetdrill's timing tolerance, its sequence and
 * timestamp mapping, system-call checks, shell commands and warnings, and
 * what a failure looks like (one `file:line:` line, then the expected and
 * actual segments). The scripts here run against our stack in virtual time.
 */
import test from 'ava';
import { verifyTime, runScript, packetdrillSysctls, type RunResult } from '../../cli/pkt/runner.ts';
import { arithmetic, grepStatus, interpretCommand, nstatOutput, words } from '../../cli/pkt/shell.ts';
import { ddZeros } from '../../cli/pkt/files.ts';
import { runCli } from '../helpers/interop.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failure, passes, PASSIVE_OPEN } from '../helpers/pkt-result.ts';

const CFG = { toleranceUsecs: 4000, tolerancePercent: 12.5 };

const OPEN = PASSIVE_OPEN;

function run(body: string, file = 't.pkt'): RunResult {
  return runScript(body, file);
}

// ---------------------------------------------------------------------------
// Tolerance (run.c verify_time)

test('tolerance: max(4 ms, 12.5 % of the gap since the previous event)', (t) => {
  // Short gap: 4 ms either side.
  t.is(verifyTime(CFG, 'relative', 100_000, undefined, 104_000, 90_000, 'outbound packet'), undefined);
  t.is(
    verifyTime(CFG, 'relative', 100_000, undefined, 104_001, 90_000, 'outbound packet'),
    'timing error: expected outbound packet at 0.100000 sec but happened at 0.104001 sec; tolerance 0.004000 sec',
  );
  t.truthy(verifyTime(CFG, 'relative', 100_000, undefined, 95_999, 90_000, 'outbound packet'));
  // 1 s gap: 125 ms.
  t.is(verifyTime(CFG, 'absolute', 1_100_000, undefined, 1_225_000, 100_000, 'outbound packet'), undefined);
  t.regex(verifyTime(CFG, 'absolute', 1_100_000, undefined, 1_225_001, 100_000, 'outbound packet')!, /tolerance 0\.125000 sec$/);
  // No previous event: the fixed tolerance only.
  t.truthy(verifyTime(CFG, 'absolute', 5_000_000, undefined, 5_004_001, undefined, 'outbound packet'));
  // --tolerance_usecs and --tolerance_percent.
  t.is(verifyTime({ toleranceUsecs: 10_000, tolerancePercent: 0 }, 'relative', 1_000_000, undefined, 1_010_000, 0, 'x'), undefined);
});

test('tolerance: ranges and *', (t) => {
  t.is(verifyTime(CFG, 'relative-range', 300_000, 400_000, 399_000, 0, 'outbound packet', 0), undefined);
  t.is(verifyTime(CFG, 'relative-range', 1_300_000, 1_400_000, 1_500_000, 1_300_000, 'outbound packet', 1_000_000),
    'timing error: expected outbound packet in relative time range +0.300000~+0.400000 sec but happened at +0.500000 sec');
  t.is(verifyTime(CFG, 'absolute-range', 1_000_000, 2_000_000, 2_200_000, 900_000, 'outbound packet'),
    'timing error: expected outbound packet in time range 1.000000~2.000000 sec but happened at 2.200000 sec');
  t.is(verifyTime(CFG, 'any', 0, undefined, 99_000_000, 0, 'outbound packet'), undefined);
});

test('a late packet fails with its line and both segments; the dynamic tolerance applies', (t) => {
  // The RTO after a 100 ms RTT is 300 ms: expected at +.25 it is 50 ms late, beyond 12.5 % of 250 ms.
  const r = run(`${OPEN}
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1
+.25 > P. 1:11(10) ack 1
`, 'late.pkt');
  t.is(
    failure(r),
    [
      'late.pkt:13: error handling packet: timing error: expected outbound packet at 0.350000 sec but happened at 0.400000 sec; tolerance 0.031250 sec',
      'script packet:  0.350000 P. 1:11(10) ack 1',
      'actual packet:  0.400000 P. 1:11(10) ack 1 win 65535',
    ].join('\n'),
  );
  // Expected at +.28 it is 20 ms late, within 12.5 % of 280 ms: passes.
  passes(t, run(`${OPEN}
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1
+.28 > P. 1:11(10) ack 1
`));
});

// ---------------------------------------------------------------------------
// Matching

test('a field mismatch names the field, packetdrill-style', (t) => {
  const r = run(`${OPEN}
+.1 close(4) = 0
+0 > F. 1:1(0) ack 2
`, 'f.pkt');
  t.is(failure(r), [
    'f.pkt:12: error handling packet: live packet field tcp_ack_seq: expected: 2 (0x2) vs actual: 1 (0x1)',
    'script packet:  0.200000 F. 1:1(0) ack 2',
    'actual packet:  0.200000 F. 1:1(0) ack 1 win 65535',
  ].join('\n'));
});

test('IP info: the ECN field is checked as packetdrill checks it (ip_ecn, ect01, tos) and set on inbound packets', (t) => {
  const r = run(`${OPEN}
+0 write(4, ..., 10) = 10
+0 > [ect0] P. 1:11(10) ack 1
`, 'e.pkt');
  t.is(failure(r).split('\n')[0], 'e.pkt:12: error handling packet: live packet field ip_ecn: expected: 2 (0x2) vs actual: 0 (0x0)');
  const r01 = run(`${OPEN}
+0 write(4, ..., 10) = 10
+0 > [ect01] P. 1:11(10) ack 1
`, 'e.pkt');
  t.is(failure(r01).split('\n')[0], 'e.pkt:12: error handling packet: live packet field ip_ecn: expected: 0x1 or 0x2 vs actual: 0x0');
  const rTos = run(`${OPEN}
+0 write(4, ..., 10) = 10
+0 > [tos 0x4] P. 1:11(10) ack 1
`, 'e.pkt');
  t.is(failure(rTos).split('\n')[0], 'e.pkt:12: error handling packet: live packet field tos: expected: 4 (0x4) vs actual: 0 (0x0)');
  passes(t, run(`${OPEN}
+0 write(4, ..., 10) = 10
+0 > [noecn] P. 1:11(10) ack 1
+0 < [ce] . 1:1(0) ack 11 win 1000
`));
});

test('omitted options mean "none", <...> means "not checked", win absent means "not checked"', (t) => {
  passes(t, run('0 < S 0:0(0) win 1000 <mss 1460>\n+0 > R. 0:0(0) ack 1 win 0\n'));
  passes(t, run('0 < S 0:0(0) win 1000 <mss 1460>\n+0 > R. 0:0(0) ack 1 <...>\n'));
  const r = run('0 < S 0:0(0) win 1000 <mss 1460>\n+0 > R. 0:0(0) ack 1 win 0 <mss 1460>\n', 'o.pkt');
  t.regex(failure(r), /^o\.pkt:2: error handling packet: live packet field ipv4_total_length: expected: 44 \(0x2c\) vs actual: 40 \(0x28\)/);
  const s = run(`${OPEN}\n+.1 close(4) = 0\n+0 > F. 1:1(0) ack 1 <nop,nop,TS val 1 ecr 2>\n`, 's.pkt');
  t.regex(failure(s), /live packet field ipv4_total_length/);
});

test('options are compared kind by kind and value by value', (t) => {
  const r = run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>\n+0 > S. 0:0(0) ack 1 <mss 1000,nop,nop,sackOK>\n', 'm.pkt');
  t.is(r.error?.headline(), 'm.pkt:6: error handling packet: bad value in outbound TCP option (kind=2): expected: mss 1000 actual: mss 1460');
  const k = run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>\n+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,nop,nop>\n', 'k.pkt');
  t.is(k.error?.headline(), 'k.pkt:6: error handling packet: bad outbound TCP options');
});

test('sequence numbers are relative to each side\'s ISN; inbound TS ecr must echo an outbound TS val', (t) => {
  passes(t, run(`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 5000:5000(0) win 32792 <mss 1000,sackOK,TS val 100 ecr 0>
+0 > S. 0:0(0) ack 5001 <mss 1460,sackOK,TS val 700 ecr 100>
// after the SYNs, both sides count from their ISN
+.1 < . 1:1(0) ack 1 win 1000 <nop,nop,TS val 110 ecr 700>
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 100) = 100
+0 > P. 1:101(100) ack 1 <nop,nop,TS val 800 ecr 110>
+.1 < . 1:1(0) ack 51 win 1000 <nop,nop,TS val 120 ecr 800,nop,nop,sack 61:101>
+0 < P. 1:11(10) ack 101 win 1000 <nop,nop,TS val 130 ecr 800>
+0 > . 101:101(0) ack 11 <nop,nop,TS val 900 ecr 130>
`));
  const r = run(`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,TS val 100 ecr 0>
+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 700 ecr 100>
+.1 < . 1:1(0) ack 1 win 1000 <nop,nop,TS val 110 ecr 701>
`, 'e.pkt');
  t.is(r.error?.headline(), 'e.pkt:8: error handling packet: unable to infer live TS ecr for script TS ecr 701;  no matching or preceding outbound TS val');
});

test('--tcp_ts_tick_usecs checks outbound TS val against the script, in ticks', (t) => {
  const script = (val: number): string => `--tcp_ts_tick_usecs=1000
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,TS val 100 ecr 0>
+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 700 ecr 100>
+.1 < . 1:1(0) ack 1 win 1000 <nop,nop,TS val 110 ecr 700>
+0 accept(3, ..., ...) = 4
+.1 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1 <nop,nop,TS val ${val} ecr 110>
`;
  passes(t, run(script(900)));
  t.is(run(script(930), 'ts.pkt').error?.headline(), 'ts.pkt:11: error handling packet: bad outbound TCP timestamp value, tolerance 25000');
});

test('a second listening socket makes the next SYN a new connection from a new port', (t) => {
  passes(t, run(`${OPEN}
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
+0 listen(5, 1) = 0
+.1 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
+.1 < . 1:1(0) ack 1 win 1000
+0 accept(3, ..., ...) = 6
+0 close(6) = 0
+0 > F. 1:1(0) ack 1
`));
});

test('packets of other connections are skipped by the sniffer', (t) => {
  // Connection A's FIN goes out while the script follows connection B: not sniffed, no mismatch.
  passes(t, run(`${OPEN}
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
+0 listen(5, 1) = 0
+.1 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
+0 close(4) = 0
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
`));
});

// ---------------------------------------------------------------------------
// System calls

test('results and errnos are checked with packetdrill\'s messages', (t) => {
  t.is(run(`${OPEN}+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 10) = 10\n`, 'r.pkt').error?.headline(),
    'r.pkt:11: runtime error in read call: Expected result 10 but got -1 with errno 11 (Resource temporarily unavailable)');
  t.is(run(`${OPEN}+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 10) = -1 ECONNRESET (Connection reset by peer)\n`, 'e.pkt').error?.headline(),
    'e.pkt:11: runtime error in read call: Expected errno 104 (Connection reset by peer) but got 11 (Resource temporarily unavailable)');
  t.is(run(`${OPEN}+0 frobnicate(4) = 0\n`, 'u.pkt').error?.headline(), "u.pkt:10: runtime error in frobnicate call: Unknown system call: 'frobnicate'");
  t.is(run(`${OPEN}+0 close(9) = 0\n`, 'c.pkt').error?.headline(), 'c.pkt:10: runtime error in close call: unable to find fd with script fd 9');
  t.is(run(`${OPEN}+0 setsockopt(4, SOL_SOCKET, SO_BOGUS, [1], 4) = 0\n`, 'b.pkt').error?.headline(), "b.pkt:10: runtime error in setsockopt call: unknown symbol: 'SO_BOGUS'");
});

test('a blocking call without ... that nothing can wake is reported, not hung', (t) => {
  const r = run(`${OPEN}\n+0 read(4, ..., 10) = 10\n+.1 < P. 1:11(10) ack 1 win 1000\n`.replace('accept(3, ..., ...) = 4\n', 'accept(3, ..., ...) = 4\n+0 fcntl(4, F_SETFL, O_RDWR) = 0\n'), 'h.pkt');
  t.regex(r.error!.headline(), /^h\.pkt:12: runtime error in read call: the call blocks and nothing can wake it/);
});

test('blocking calls: ...END waits in virtual time and checks when the call returned', (t) => {
  passes(t, run(`${OPEN}
+0...0.2 read(4, ..., 100) = 10
+.2 < P. 1:11(10) ack 1 win 1000
+0 > . 1:1(0) ack 11
`));
  const r = run(`${OPEN}
+0...0.1 read(4, ..., 100) = 10
+.2 < P. 1:11(10) ack 1 win 1000
`, 'b.pkt');
  t.is(r.error?.headline(), 'b.pkt:11: timing error: expected system call return at 0.200000 sec but happened at 0.300000 sec; tolerance 0.012500 sec');
  // SO_LINGER with a time: close() waits for the ACK of our FIN.
  passes(t, run(`${OPEN}
+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=2}, 8) = 0
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1
+.05 < . 1:1(0) ack 11 win 1000
+0...0.1 close(4) = 0
+0 > F. 11:11(0) ack 1
+.1 < . 1:1(0) ack 12 win 1000
`));
  const left = run(`${OPEN}+0...5 read(4, ..., 100) = 10\n`, 'l.pkt');
  t.is(left.error?.headline(), 'l.pkt:10: runtime error: exiting while a blocking system call is in progress');
});

test('poll(), fcntl(), getsockopt() and connect() in packetdrill\'s conventions', (t) => {
  passes(t, run(`${OPEN}
+0 fcntl(4, F_GETFL) = 0x2 (flags O_RDWR)
+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 fcntl(4, F_GETFL) = 0x802
+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1
+0 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
+0 getsockopt(4, IPPROTO_TCP, TCP_SYNCNT, [5], [4]) = 0
+0...0.1 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 1000) = 1
+.1 < P. 1:11(10) ack 1 win 1000
+0 > . 1:1(0) ack 11
+0 recv(4, ..., 100, 0) = 10
+0...0.5 poll([{fd=4, events=POLLIN}], 1, 500) = 0
`));
  const r = run(`${OPEN}+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN}], 1, 0) = 1\n`, 'p.pkt');
  t.is(r.error?.headline(), 'p.pkt:10: runtime error in poll call: Expected revents of POLLIN but got POLLOUT for pollfd 0');
  passes(t, run(`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
+.1 < S. 0:0(0) ack 1 win 1000 <mss 1000>
+0 > . 1:1(0) ack 1
+0 connect(3, ..., ...) = 0
+0 connect(3, ..., ...) = -1 EISCONN (Transport endpoint is already connected)
`));
});

// ---------------------------------------------------------------------------
// Shell commands, Python, options

test('shell commands: the sysctl forms are recognised, the rest ignored', (t) => {
  t.deepEqual(interpretCommand('sysctl -q net.ipv4.tcp_syn_retries=2 net.ipv4.tcp_fin_timeout=5'), [
    { kind: 'sysctl', name: 'net.ipv4.tcp_syn_retries', value: '2', text: 'sysctl -q net.ipv4.tcp_syn_retries=2 net.ipv4.tcp_fin_timeout=5' },
    { kind: 'sysctl', name: 'net.ipv4.tcp_fin_timeout', value: '5', text: 'sysctl -q net.ipv4.tcp_syn_retries=2 net.ipv4.tcp_fin_timeout=5' },
  ]);
  t.deepEqual(interpretCommand('sysctl -w net.ipv4.tcp_rmem="4096 131072 6291456"'), [
    { kind: 'sysctl', name: 'net.ipv4.tcp_rmem', value: '4096 131072 6291456', text: 'sysctl -w net.ipv4.tcp_rmem="4096 131072 6291456"' },
  ]);
  t.deepEqual(interpretCommand('echo 7 > /proc/sys/net/ipv4/tcp_fin_timeout'), [
    { kind: 'sysctl', name: 'net.ipv4.tcp_fin_timeout', value: '7', text: 'echo 7 > /proc/sys/net/ipv4/tcp_fin_timeout' },
  ]);
  t.deepEqual(
    interpretCommand('../../common/defaults.sh\n ../../common/set_sysctls.py \\\n  /proc/sys/net/ipv4/tcp_fastopen=0x30403 /proc/sys/net/ipv4/tcp_syncookies=0').map((a) => a.kind === 'sysctl' ? `${a.name}=${a.value}` : a.kind),
    ['defaults', 'net.ipv4.tcp_fastopen=0x30403', 'net.ipv4.tcp_syncookies=0'],
  );
  t.deepEqual(interpretCommand('tc qdisc add dev tun0 root pfifo; nstat > /dev/null').map((a) => a.kind), ['noop', 'nstat']);
});

test('shell commands: $((...)) arithmetic, sysctl\'s / names, comments, no-ops, and checks that cannot be made', (t) => {
  t.is(arithmetic('15*1024*1024'), 15728640n);
  t.is(arithmetic('(1 << 4) + 0x10 - 010 % 3 * 2'), 28n);
  t.is(arithmetic('-3 / 2'), -1n);
  t.throws(() => arithmetic('1 / 0'), { message: '$((1 / 0)): division by 0' });
  t.throws(() => arithmetic('1 +'), { message: '$((1 +)): the expression ends too early' });
  t.deepEqual(words('sysctl -q net.ipv4.tcp_rmem="4096 540000 $((15*1024*1024))"'), ['sysctl', '-q', 'net.ipv4.tcp_rmem=4096 540000 15728640']);
  t.deepEqual(words('echo $(( (2+3) * 4 )) > x # a comment'), ['echo', '20', '>', 'x']);
  const one = (cmd: string): string => interpretCommand(cmd).map((a) => (a.kind === 'sysctl' ? `${a.name}=${a.value}` : a.kind)).join(' ');
  t.is(one('sysctl -q net/ipv4/tcp_pacing_ss_ratio=150'), 'net.ipv4.tcp_pacing_ss_ratio=150');
  t.is(one('sysctl -q net.ipv4.tcp_ecn=2  # fully enabled'), 'net.ipv4.tcp_ecn=2');
  t.is(one('sysctl -q net.ipv4.tcp_wmem="4096 $((256*1024)) 4194304"'), 'net.ipv4.tcp_wmem=4096 262144 4194304');
  t.is(one('ip tcp_metrics flush all > /dev/null 2>&1'), 'tcp-metrics-flush');
  t.is(one('/tmp/sysctl_restore_${PPID}.sh'), 'noop');
  t.is(one('tc qdisc delete dev tun0 root 2>/dev/null ; tc qdisc add dev tun0 root pfifo'), 'qdisc noop');
  t.is(one('tc qdisc delete dev tun0 root 2>/dev/null ; tc qdisc add dev tun0 root pfifo limit 0'), 'qdisc qdisc');
  t.deepEqual(
    interpretCommand('tc qdisc del dev tun0 root; tc qdisc replace dev tun0 root pfifo limit 0').map((a) => (a.kind === 'qdisc' ? a.dropsAll : a.kind)),
    [false, true],
  );
  t.is(one('tc qdisc add dev tun0 root pfifo limit 5'), 'unsupported');
  t.is(one('tc qdisc add dev eth0 root pfifo limit 0'), 'unsupported');
  t.is(one('tc qdisc replace dev tun0 root fq'), 'ignored');
  t.is(one('true'), 'noop');
  t.is(one('ip route change 192.0.2.1 via 192.168.0.2 dev tun0 advmss 600 mtu lock 640 initcwnd 11'), 'route');
  t.is(one('ip route change 192.0.2.1 via 192.168.0.2 dev tun0 ssthresh 5'), 'unsupported');
  t.is(one('echo 2 > /sys/module/tcp_cubic/parameters/hystart_detect'), 'unsupported');
  t.is(one('ethtool -K tun0 tso off gso off'), 'ignored');
  t.is(one('sysctl -q net.ipv4.tcp_fastopen_cookies=0 &> /dev/null ||\\\n ip tcp_metrics flush all &> /dev/null'), 'net.ipv4.tcp_fastopen_cookies=0 tcp-metrics-flush');
  t.is(one('grep " 0A " /proc/net/tcp /proc/net/tcp6 | grep ":1F90"'), 'proc-grep');
  t.is(one('grep -q ESTAB /tmp/x'), 'unsupported');
  t.like(interpretCommand('nstat -s | grep TcpExtBeyondWindow | grep -q " 2 "')[0], { kind: 'nstat', update: false, reset: false });
  t.like(interpretCommand('nstat | sort')[0], { kind: 'unsupported' });
});

test('nstat checks run against the stack\'s counters; an unmet one fails, one about a counter not kept is not supported', (t) => {
  const lines = nstatOutput([['TcpExtBeyondWindow', 3], ['TcpExtTCPRcvQDrop', 0]], false);
  t.deepEqual(lines, ['#kernel', 'TcpExtBeyondWindow              3                  0.0']);
  t.is(grepStatus(lines, [{ pattern: /TcpExtBeyondWindow/, invert: false }, { pattern: / 3 /, invert: false }]), 0);
  t.is(grepStatus(lines, [{ pattern: /TcpExtBeyondWindow/, invert: false }, { pattern: / 4 /, invert: false }]), 1);
  // An ACK to a listener draws a RST: TcpOutRsts moves, TcpExtBeyondWindow does not.
  const script = (check: string): RunResult =>
    run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 \`nstat -n\`\n+0 < . 1:1(0) ack 1 win 1000\n+0 > R 1:1(0)\n+0 \`${check}\`\n`, 'n.pkt');
  passes(t, script('nstat | grep TcpOutRsts | grep -q " 1 "'));
  t.is(script('nstat | grep TcpExtBeyondWindow > /dev/null').error?.headline(), 'n.pkt:7: error executing `nstat | grep TcpExtBeyondWindow > /dev/null` command: non-zero status 1');
  t.is(script('nstat | grep TcpExtNoSuchThing').error?.headline(), 'n.pkt:7: `nstat | grep TcpExtNoSuchThing` is not supported by tcpstack pkt: the stack does not count TcpExtNoSuchThing');
  t.is(script('grep " 0A " /proc/net/tcp | grep -q ":1F91"').error?.headline(), 'n.pkt:7: error executing `grep " 0A " /proc/net/tcp | grep -q ":1F91"` command: non-zero status 1');
  t.is(script('grep " 0A " /proc/net/tcp /proc/net/tcp6 | grep -c ":1F90"').error?.headline(), 'n.pkt:7: `grep " 0A " /proc/net/tcp /proc/net/tcp6 | grep -c ":1F90"` is not supported by tcpstack pkt: a pipeline of other than grep PATTERN');
  t.is(script('grep " 0A " /proc/net/udp').error?.headline(), 'n.pkt:7: `grep " 0A " /proc/net/udp` is not supported by tcpstack pkt: a check of the kernel\'s state by its exit status');
});

test('grep checks of /proc/net/tcp and tcp6 see the stack\'s sockets as Linux lists them', (t) => {
  const script = (check: string): RunResult => run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 \`${check}\`\n`, 'p.pkt');
  passes(t, script('grep " 0A " /proc/net/tcp /proc/net/tcp6 | grep ":1F90"'));
  passes(t, script('grep -q "0100A8C0:1F90 00000000:0000 0A" /proc/net/tcp'));
  t.is(script('grep ":1F90" /proc/net/tcp6').error?.headline(), 'p.pkt:4: error executing `grep ":1F90" /proc/net/tcp6` command: non-zero status 1');
});

test('sysctl commands reach the stack; unmodelled names and other commands warn; settings start from defaults.sh', (t) => {
  t.deepEqual(packetdrillSysctls().tcp_rmem, [4096, 540000, 15728640]);
  const r = run(`\`sysctl -q net.ipv4.tcp_syn_retries=3\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 getsockopt(3, IPPROTO_TCP, TCP_SYNCNT, [3], [4]) = 0
+0 \`echo 7 > /proc/sys/net/ipv4/tcp_fin_timeout\`
+0 getsockopt(3, IPPROTO_TCP, TCP_LINGER2, [7], [4]) = 0
+0 \`sysctl -q net.ipv4.tcp_frobnication=1\`
+0 \`ip route show\`
`, 'w.pkt');
  passes(t, r);
  t.deepEqual(r.warnings, [
    'w.pkt:6: warning: sysctl net.ipv4.tcp_frobnication is not modelled by the stack: `sysctl -q net.ipv4.tcp_frobnication=1` ignored',
    "w.pkt:7: warning: shell command not run: `ip route show` (ip route show: only add, change and replace (a route's metrics) are modelled)",
  ]);
  // Each script starts afresh: the sysctl above is gone.
  passes(t, run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, IPPROTO_TCP, TCP_SYNCNT, [5], [4]) = 0\n'));
  const bad = run('0 `sysctl -q net.ipv4.tcp_syn_retries=lots`\n', 'v.pkt');
  t.regex(bad.error!.headline(), /^v\.pkt:1: error executing `sysctl -q net\.ipv4\.tcp_syn_retries=lots` command: sysctl net\.ipv4\.tcp_syn_retries: "lots" is not an integer/);
});

test('%{ }% Python blocks run with python3 at the end, each with the tcp_info of its time', (t) => {
  // OPEN: no timestamps, no window scaling, SACK; the handshake's RTT sample 100 ms; the MSS half
  // the largest window the peer offered (tcp_bound_to_half_wnd: 500, as Linux 6.18.44 reports it).
  const r = run(`${OPEN}+0 %{ assert tcpi_state == TCP_ESTABLISHED, tcpi_state }%
+0 %{ assert tcpi_options == TCPI_OPT_SACK, tcpi_options }%
+0 %{ assert tcpi_ca_state == TCP_CA_Open and tcpi_snd_cwnd == 10 and tcpi_unacked == 0, (tcpi_ca_state, tcpi_snd_cwnd) }%
+0 %{ assert tcpi_rtt == 100000 and tcpi_snd_mss == 500 and tcpi_rto == 300000, (tcpi_rtt, tcpi_snd_mss, tcpi_rto) }%
+0 %{ assert tcpi_rcv_mss == 500 and tcpi_delivered == 1 and tcpi_last_data_sent == 0, (tcpi_rcv_mss, tcpi_delivered, tcpi_last_data_sent) }%
+0 write(4, ..., 3000) = 3000
+0 > P. 1:1001(1000) ack 1
+0 %{ assert tcpi_unacked == 2 and tcpi_notsent_bytes == 2000 and tcpi_bytes_sent == 1000 and tcpi_snd_wnd == 1000, (tcpi_unacked, tcpi_notsent_bytes) }%
`, 'py.pkt');
  passes(t, r);
  t.deepEqual(r.warnings, []);
});

test('%{ }%: a failing assertion fails the script at its block\'s line, with Python\'s message; values are of the block\'s time', (t) => {
  const r = run(`${OPEN}+0 %{ assert tcpi_unacked == 0 }%
+0 write(4, ..., 1000) = 1000
+0 > P. 1:1001(1000) ack 1
+0 %{ assert tcpi_unacked == 0, tcpi_unacked }%
+.1 < . 1:1(0) ack 1001 win 1000
`, 'py.pkt');
  t.is(r.error?.headline(), 'py.pkt:13: error in Python code: AssertionError: 2');
  t.is(r.error?.details.at(-1), "error executing code: 'python3' returned non-zero status 1");
  // The whole script ran first: the code runs at its end, as in packetdrill.
  t.is(r.events, 13);
});

test('%{ }%: a name the stack does not keep fails the block as not supported, and so does a block without a socket', (t) => {
  const rate = run(`${OPEN}+0 %{ assert tcpi_delivery_rate == 0 }%\n`, 'py.pkt');
  t.is(rate.error?.headline(), 'py.pkt:10: tcpi_delivery_rate in a %{ }% block is not supported by tcpstack pkt: the stack keeps no delivery rate samples (tcp_rate.c)');
  const mem = run(`${OPEN}+0 %{ assert SK_MEMINFO_WMEM_QUEUED >= 0 }%\n`, 'py.pkt');
  t.regex(mem.error!.headline(), /^py\.pkt:10: SK_MEMINFO_WMEM_QUEUED in a %\{ \}% block is not supported by tcpstack pkt/);
  t.is(run('0 %{ assert True }%\n', 'py.pkt').error?.headline(), 'py.pkt:1: runtime error in code: no socket to use for code');
});

test('%{ }%: a listener reports LISTEN, its accept queue as tcpi_unacked and its backlog as tcpi_sacked', (t) => {
  passes(t, run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 7) = 0
+0 %{ assert tcpi_state == TCP_LISTEN and tcpi_unacked == 0 and tcpi_sacked == 7, (tcpi_state, tcpi_sacked) }%
`));
});

test('script options: known ones apply, unknown ones are errors, irrelevant ones warn', (t) => {
  passes(t, run(`--tolerance_usecs=60000\n${OPEN}+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n+.25 > P. 1:11(10) ack 1\n`));
  passes(t, run('--local_ip=10.0.0.2\n--remote_ip=10.0.0.1\n--bind_port=9999\n0 < S 0:0(0) win 1000\n+0 > R. 0:0(0) ack 1 win 0\n'));
  t.is(run('--frobnicate=1\n0 close(3) = 0\n', 'o.pkt').error?.headline(), "o.pkt:1: option 'frobnicate' unknown");
  t.is(run('--mss\n0 close(3) = 0\n', 'o.pkt').error?.headline(), "o.pkt:1: option 'mss' requires an argument");
  t.is(run('--tolerance_usecs=-5\n0 close(3) = 0\n', 'o.pkt').error?.headline(), 'o.pkt:1: bad --tolerance_usecs: -5');
  const w = run('--speed=1000\n0 < S 0:0(0) win 1000\n+0 > R. 0:0(0) ack 1 win 0\n', 'w.pkt');
  passes(t, w);
  t.deepEqual(w.warnings, ['w.pkt:1: warning: --speed has no meaning for tcpstack pkt: ignored']);
});

test('the first event must be at time 0, absolute times may not go back', (t) => {
  t.is(run('1 close(3) = 0\n', 'z.pkt').error?.headline(), 'z.pkt:1: first event should be at time 0');
  t.is(run('0 < S 0:0(0) win 1000\n0.5 < . 1:1(0) ack 1 win 1000\n0.4 < . 1:1(0) ack 1 win 1000\n', 'z.pkt').error?.headline(),
    'z.pkt:3: time goes backward in script from 500000 usec to 400000 usec');
});

test('virtual time: two minutes of TIME_WAIT (restarted by a segment) cost nothing', (t) => {
  const started = Date.now();
  const r = run(`${OPEN}
+.1 close(4) = 0
+0 > F. 1:1(0) ack 1
+.1 < F. 1:1(0) ack 2 win 1000
+0 > . 2:2(0) ack 2
+59 < P. 2:12(10) ack 2 win 1000
+0 > . 2:2(0) ack 2
+61 < P. 2:12(10) ack 2 win 1000
+0 > R 2:2(0) win 0
`);
  passes(t, r);
  t.true(r.endUsecs > 120_000_000);
  t.true(Date.now() - started < 5000);
});

// ---------------------------------------------------------------------------
// The command

test('tcpstack pkt: exit 0 when all pass, 1 when one fails, 2 on misuse', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pkt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.pkt');
  const bad = join(dir, 'bad.pkt');
  writeFileSync(good, '0 < S 0:0(0) win 1000\n+0 > R. 0:0(0) ack 1 win 0\n');
  writeFileSync(bad, '0 < S 0:0(0) win 1000\n+0 > R. 1:1(0) ack 1 win 0\n');
  const ok = runCli(['pkt', good]);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /^PASS .*good\.pkt/);
  const ko = runCli(['pkt', good, bad]);
  t.is(ko.code, 1);
  t.regex(ko.stdout, /FAIL .*bad\.pkt\n {2}.*bad\.pkt:2: error handling packet: live packet field tcp_seq: expected: 1 \(0x1\) vs actual: 0 \(0x0\)\n {2}script packet: {2}0\.000000 R\. 1:1\(0\) ack 1 win 0\n {2}actual packet: {2}0\.000000 R\. 0:0\(0\) ack 1 win 0\n/);
  t.regex(ko.stdout, /2 scripts: 1 passed, 1 failed/);
  for (const args of [['pkt'], ['pkt', join(dir, 'missing.pkt')], ['pkt', '--bogus', good], ['pkt', '--seed', 'x', good]]) {
    const r = runCli(args);
    t.is(r.code, 2, args.join(' '));
    t.is(r.stderr.trim().split('\n').length, 1);
    t.regex(r.stderr, /^tcpstack: error: /);
  }
  const help = runCli(['pkt', '--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /^usage: tcpstack pkt/);
});

test('TCP_CONGESTION: getsockopt and setsockopt with a string, as packetdrill writes them; sysctl tcp_congestion_control', (t) => {
  passes(t, run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 getsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "cubic", [5]) = 0
+0 setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "reno", 4) = 0
+0 getsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "reno", [4]) = 0
+0 setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "bbr", 3) = -1 ENOENT (No such file or directory)
+0 setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "cubicx", 5) = 0
+0 getsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "cub", [3]) = 0
`));
  passes(t, run('0 `sysctl -q net.ipv4.tcp_congestion_control=reno`\n+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "reno", [4]) = 0\n'));
  const wrong = run('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "reno", [4]) = 0\n', 'cc.pkt');
  t.regex(failure(wrong), /Bad getsockopt optval: expected: 'reno' actual: 'cubi'/);
});

test('getsockopt(TCP_INFO) with [N] and [4]: the first 4 bytes of struct tcp_info as an s32, as packetdrill compares them', (t) => {
  // tcpi_state, tcpi_ca_state, tcpi_retransmits, tcpi_probes: a listener is 10 (TCP_LISTEN), an established connection 1.
  const script = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 getsockopt(3, SOL_TCP, TCP_INFO, [10], [4]) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
+.1 < . 1:1(0) ack 1 win 1000
+0 accept(3, ..., ...) = 4
+0 getsockopt(4, SOL_TCP, TCP_INFO, [1], [4]) = 0
`;
  passes(t, run(script));
  t.is(run(`${script}+0 getsockopt(4, SOL_TCP, TCP_INFO, [1], [8]) = 0\n`, 'i.pkt').error?.headline(), 'i.pkt:10: runtime error in getsockopt call: Unsupported getsockopt optlen: 8');
});

test('a suite\'s defaults.sh is run from the file when it is there (its unmodelled sysctls without warnings), else packetdrill\'s', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-defaults-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'defaults.sh');
  writeFileSync(file, '#!/bin/bash\n# a suite\'s own\nsysctl -q net.ipv4.tcp_syn_retries=$((1+1))\nsysctl -q net.ipv4.tcp_fack=0\ntc qdisc add dev tun0 root pfifo\n');
  const r = run(`\`${file}\`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, IPPROTO_TCP, TCP_SYNCNT, [2], [4]) = 0\n`);
  passes(t, r);
  t.deepEqual(r.warnings, []);
  // No such file: packetdrill's gtests/net/common/defaults.sh as recorded (tcp_syn_retries 5).
  passes(t, run(`\`${join(dir, 'none', 'defaults.sh')}\`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, IPPROTO_TCP, TCP_SYNCNT, [5], [4]) = 0\n`));
});

// ---------------------------------------------------------------------------
// The receive side: recvmsg, recv flags, epoll, connect(AF_UNSPEC)

test('recvmsg: msg_flags and TCP_CM_INQ are checked as packetdrill checks them; a failed call checks nothing', (t) => {
  const inq = `${OPEN}+0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0
+0 < P. 1:101(100) ack 1 win 1000
+0 > . 1:1(0) ack 101
`;
  passes(t, run(`${inq}+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 40}], msg_flags=0, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=60}]}, 0) = 40\n`));
  t.is(
    run(`${inq}+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 40}], msg_flags=0, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=61}]}, 0) = 40\n`, 'm.pkt').error?.headline(),
    'm.pkt:13: runtime error in recvmsg call: Bad data in cmsg 0: expected=61 actual=60',
  );
  t.is(
    run(`${inq}+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 40}], msg_flags=0}, 0) = 40\n`, 'm.pkt').error?.headline(),
    'm.pkt:13: runtime error in recvmsg call: Expected msg_flags 0x00000000 but got 0x00000008',
    'no room for the cmsg: MSG_CTRUNC',
  );
  t.is(
    run(`${OPEN}+0 < P. 1:101(100) ack 1 win 1000\n+0 > . 1:1(0) ack 101\n+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 40}], msg_flags=0, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=60}]}, 0) = 40\n`, 'm.pkt').error?.headline(),
    'm.pkt:12: runtime error in recvmsg call: received only 0 cmsgs',
  );
  t.is(
    run(`${OPEN}+0 recvmsg(4, {msg_name(...)=..., msg_iov(2)=[{..., 40}], msg_flags=0}, 0) = 40\n`, 'm.pkt').error?.headline(),
    'm.pkt:10: runtime error in recvmsg call: msg_iovlen 2 does not match 1-element iovec array',
  );
  passes(t, run(`${OPEN}+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 40}], msg_flags=0x1234}, 0) = -1 EAGAIN (Resource temporarily unavailable)\n`));
});

test('receive calls: flags and control messages the runner does not model are refused, never ignored', (t) => {
  t.regex(run(`${OPEN}+0 recv(4, ..., 10, MSG_DONTROUTE) = 0\n`, 'f.pkt').error?.headline() ?? '', /recv\(\) flags 0x4 are not supported by tcpstack pkt/);
  t.regex(
    run(`${OPEN}+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 4}], msg_flags=0, msg_control=[{cmsg_level=SOL_SOCKET, cmsg_type=37, cmsg_data={scm_sec=0,scm_nsec=0}}]}, 0) = 0\n`, 'f.pkt').error?.headline() ?? '',
    /cmsg_data .* is not supported by tcpstack pkt/,
  );
  t.regex(run(`${OPEN}+0 setsockopt(4, SOL_SOCKET, SO_RCVTIMEO, [1], 16) = 0\n`, 'f.pkt').error?.headline() ?? '', /setsockopt\(SO_RCVTIMEO\) with an int is not supported by tcpstack pkt/);
  t.regex(run(`${OPEN}+0 connect(4, AF_INET, ...) = 0\n`, 'f.pkt').error?.headline() ?? '', /connect\(\) to a bare AF_INET address is not supported by tcpstack pkt/);
});

test('epoll: a wrong event or data fails with packetdrill\'s message', (t) => {
  const body = `${OPEN}+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLOUT, fd=4}) = 0
`;
  passes(t, run(`${body}+0 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1\n`));
  t.is(run(`${body}+0 epoll_wait(5, {events=EPOLLIN|EPOLLOUT, fd=4}, 1, 0) = 1\n`, 'e.pkt').error?.headline(), 'e.pkt:12: runtime error in epoll_wait call: epoll_event->events does not match script: expected: 0x5 actual: 0x4');
  t.is(run(`${OPEN}+0 epoll_create(1) = 5\n+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=3}) = 0\n`, 'e.pkt').error?.headline(), 'e.pkt:11: runtime error in epoll_ctl call: wrong fd specified in epoll_event');
});

test('recvmsg(MSG_ERRQUEUE): the extended error and timestamp are checked field by field; a packet to read and unmodelled flags are refused', (t) => {
  const ee = (info: number, data: number): string =>
    `{cmsg_level=SOL_IP, cmsg_type=IP_RECVERR, cmsg_data={ee_errno=ENOMSG, ee_origin=SO_EE_ORIGIN_TIMESTAMPING, ee_type=0, ee_code=0, ee_info=${info}, ee_data=${data}}}`;
  const body = `${OPEN}+0 setsockopt(4, SOL_SOCKET, SO_TIMESTAMPING, [SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID], 4) = 0
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1
`;
  const recv = (iov: number, flags: string, control: string): string => `+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., ${iov}}], msg_flags=${flags}, msg_control=[${control}]}, MSG_ERRQUEUE) = 0\n`;
  const ts = (nsec: number): string => `{cmsg_level=SOL_SOCKET, cmsg_type=SCM_TIMESTAMPING, cmsg_data={scm_sec=0,scm_nsec=${nsec}}}`;
  passes(t, run(`${body}${recv(0, 'MSG_ERRQUEUE|MSG_TRUNC', `${ts(100000000)}, ${ee(0, 9)}`)}`));
  // A stamp written as 0 is not compared.
  passes(t, run(`${body}${recv(0, 'MSG_ERRQUEUE|MSG_TRUNC', `${ts(0)}, ${ee(0, 9)}`)}`));
  t.is(run(`${body}${recv(0, 'MSG_ERRQUEUE|MSG_TRUNC', `${ts(100000000)}, ${ee(0, 8)}`)}`, 'e.pkt').error?.headline(), 'e.pkt:13: runtime error in recvmsg call: Bad data in extended err 1: expected=8 actual=9');
  t.regex(run(`${body}${recv(0, 'MSG_ERRQUEUE|MSG_TRUNC', `${ts(150000000)}, ${ee(0, 9)}`)}`).error?.headline() ?? '', /Bad timestamp 0 in scm_timestamping 0: expected=150000 actual=100000/);
  t.regex(run(`${body}${recv(0, 'MSG_ERRQUEUE', `${ts(100000000)}, ${ee(0, 9)}`)}`).error?.headline() ?? '', /Expected msg_flags 0x00002000 but got 0x00002020/);
  // The control buffer is as long as the script's cmsgs: the timestamp takes it, the error no longer fits.
  t.regex(run(`${body}${recv(0, 'MSG_ERRQUEUE|MSG_TRUNC', ee(0, 9))}`).error?.headline() ?? '', /Expected msg_flags 0x00002020 but got 0x00002028/);
  t.regex(run(`${body}${recv(0, 'MSG_ERRQUEUE|MSG_TRUNC|MSG_CTRUNC', ee(0, 9))}`).error?.headline() ?? '', /Bad level in cmsg 0: expected=0 actual=1/);
  t.regex(run(`${body}${recv(100, 'MSG_ERRQUEUE', `${ts(100000000)}, ${ee(0, 9)}`)}`).error?.headline() ?? '', /reading the packet a timestamp carries .* is not supported by tcpstack pkt/);
  t.regex(run(`${OPEN}+0 setsockopt(4, SOL_SOCKET, SO_TIMESTAMPING, [SOF_TIMESTAMPING_RX_SOFTWARE], 4) = 0\n`).error?.headline() ?? '', /SO_TIMESTAMPING flags 0x8 are not supported by tcpstack pkt/);
  passes(t, run(`${OPEN}+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 0}], msg_flags=0, msg_control=[]}, MSG_ERRQUEUE) = -1 EAGAIN (Resource temporarily unavailable)\n`));
});

test('files of a script: rm -f and dd of zeros in memory, open() and sendfile(); other uses refused', (t) => {
  t.like(ddZeros(['bs=1000', 'count=3', 'if=/dev/zero', 'of=/tmp/x', 'status=none']), { path: '/tmp/x' });
  t.is((ddZeros(['bs=1000', 'count=3', 'if=/dev/zero', 'of=/tmp/x']) as { data: Uint8Array }).data.length, 3000);
  t.is(ddZeros(['if=/dev/urandom', 'of=/tmp/x', 'bs=1', 'count=1']), 'dd from other than /dev/zero');
  t.is(ddZeros(['if=/dev/zero', 'of=/tmp/x', 'bs=1', 'count=1', 'seek=3']), 'dd seek=');
  t.deepEqual(interpretCommand('/bin/rm -f /tmp/x').map((a) => a.kind), ['file']);
  t.deepEqual(interpretCommand('dd if=/dev/urandom of=/tmp/x bs=1 count=1').map((a) => a.kind), ['unsupported']);
  const script = `\`/bin/dd bs=1 count=5 if=/dev/zero of=/tmp/f status=none\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 open("/tmp/f", O_RDONLY) = 4
+0 open("/tmp/g", O_RDONLY) = -1 ENOENT (No such file or directory)
+0 close(4) = 0
`;
  passes(t, run(script));
  t.is(run('0 open("/tmp/f", O_RDONLY) = 4\n', 'o.pkt').error?.headline(), 'o.pkt:1: runtime error in open call: Expected non-negative result but got -1 with errno 2 (No such file or directory)');
});

// ---------------------------------------------------------------------------
// Fast Open's client calls: sendmsg, MSG_FASTOPEN, ip tcp_metrics flush

test('sendto with MSG_FASTOPEN: a cookie request and EINPROGRESS; an AF_UNSPEC address is EOPNOTSUPP; other flags are still refused', (t) => {
  passes(
    t,
    run(`\`sysctl -q net.ipv4.tcp_timestamps=0\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 sendto(3, ..., 0, MSG_FASTOPEN, AF_UNSPEC, ...) = -1 EOPNOTSUPP (Operation not supported)
+0 sendto(3, ..., 10, MSG_FASTOPEN, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 8,FO,nop,nop>
`),
  );
  t.regex(failure(run(`${OPEN}\n+0 send(4, ..., 10, MSG_DONTROUTE) = 10\n`)), /send\(\) flags 0x4 are not supported by tcpstack pkt/);
});

test('shell: ip tcp_metrics flush [all] is understood; other ip commands are not', (t) => {
  t.deepEqual(interpretCommand('ip tcp_metrics flush all &> /dev/null').map((a) => a.kind), ['tcp-metrics-flush']);
  t.deepEqual(interpretCommand('ip tcp_metrics flush').map((a) => a.kind), ['tcp-metrics-flush']);
  t.deepEqual(interpretCommand('ip tcp_metrics delete 192.0.2.1').map((a) => a.kind), ['ignored']);
});

test('shell: tc qdisc add dev tun0 root pfifo limit 0 drops what the stack sends (the data waits for the probe timer) until tc qdisc del', (t) => {
  const dropped = `${PASSIVE_OPEN}+0 \`tc qdisc delete dev tun0 root 2>/dev/null ; tc qdisc add dev tun0 root pfifo limit 0\`
+0 write(4, ..., 10) = 10
+.5 \`tc qdisc del dev tun0 root\`
+.3 > P. 1:11(10) ack 1
`;
  passes(t, run(dropped));
  const sentAtOnce = `${PASSIVE_OPEN}+0 \`tc qdisc add dev tun0 root pfifo limit 0\`
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1
`;
  t.regex(failure(run(sentAtOnce)), /expected outbound packet|Timed out waiting for packet/);
  t.regex(failure(run(`${PASSIVE_OPEN}+0 \`tc qdisc add dev tun0 root pfifo limit 100\`
`)), /not supported by tcpstack pkt/);
});

test('an accepted socket is of its listener\'s family: over IPv6 it reconnects after connect(AF_UNSPEC)', (t) => {
  const script = `--ip_version=ipv6
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
+.1 < . 1:1(0) ack 1 win 10000
+0 accept(3, ..., ...) = 4
+0 connect(4, AF_UNSPEC, ...) = 0
+0 > R. 1:1(0) ack 1
+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(4, ..., ...) = -1 EINPROGRESS (Operation is now in progress)
+0 > S 0:0(0) <...>
`;
  passes(t, run(script));
});

test('a shell block\'s status is its last command\'s, as system() returns it: an earlier failing sysctl warns, a last one fails', (t) => {
  const ok = run('`sysctl -q net.ipv4.tcp_ecn=3\nsysctl -q net.ipv4.tcp_syn_retries=2`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 getsockopt(3, IPPROTO_TCP, TCP_SYNCNT, [2], [4]) = 0\n', 'b.pkt');
  passes(t, ok);
  t.regex(ok.warnings[0] ?? '', /^b\.pkt:1: warning: `sysctl -q net\.ipv4\.tcp_ecn=3` failed \(sysctl net\.ipv4\.tcp_ecn: 3 is out of range/);
  const bad = run('`sysctl -q net.ipv4.tcp_syn_retries=2\nsysctl -q net.ipv4.tcp_ecn=3`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n', 'b.pkt');
  t.regex(bad.error?.headline() ?? '', /^b\.pkt:1: error executing `sysctl -q net\.ipv4\.tcp_syn_retries=2\nsysctl -q net\.ipv4\.tcp_ecn=3` command: sysctl net\.ipv4\.tcp_ecn: 3 is out of range/);
});

test('%{ }%: SO_MEMINFO\'s buffer sizes are the socket\'s (16384 and 262144 here, as Linux 6.18.44 gave them); its counters are not kept', (t) => {
  const script = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_RCVBUF, [8192], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
+0 > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 1000
+0 accept(3, ..., ...) = 4
`;
  passes(t, run(`${script}+0 %{ assert (SK_MEMINFO_RCVBUF, SK_MEMINFO_SNDBUF) == (16384, 262144), (SK_MEMINFO_RCVBUF, SK_MEMINFO_SNDBUF) }%\n`));
  t.regex(run(`${script}+0 %{ assert SK_MEMINFO_RMEM_ALLOC == 0 }%\n`, 'm.pkt').error?.headline() ?? '', /^m\.pkt:9: SK_MEMINFO_RMEM_ALLOC in a %\{ \}% block is not supported by tcpstack pkt/);
});
