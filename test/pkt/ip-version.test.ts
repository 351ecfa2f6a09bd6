/**
 * packetdrill's --ip_version in the runner: the three flavours' sockets,
 * addresses and packets (ipv4-mapped-ipv6: AF_INET6 sockets, IPv4 on the
 * wire; ipv6: the stack at an IPv6 address, IPv6 packets and ICMPv6), the
 * command line overriding the script, flow labels, run_all.py's selection
 * of *v4.pkt / *v6.pkt scripts, and a mismatch over IPv6 reported with its
 * line and both segments. The scripts that pass here passed under the real
 * packetdrill on Linux 6.18.44 in the same flavours, and the failures named
 * are the ones it reports.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyFlowLabel } from '../../cli/pkt/packets.ts';
import { runScript, type RunResult } from '../../cli/pkt/runner.ts';
import { scriptRunsIn, type IpVersion } from '../../cli/pkt/ip-version.ts';
import { runCli } from '../helpers/interop.ts';
import { failure, passes, PASSIVE_OPEN } from '../helpers/pkt-result.ts';

const OPEN = PASSIVE_OPEN;

function run(body: string, ipVersion?: IpVersion, file = 't.pkt', extra: Array<{ name: string; value: string }> = []): { r: RunResult; trace: string[] } {
  const trace: string[] = [];
  const options = [...(ipVersion ? [{ name: 'ip_version', value: ipVersion }] : []), ...extra];
  const r = runScript(body, file, { options, trace: (l) => trace.push(l) });
  return { r, trace };
}

test('each flavour runs with run_all.py\'s addresses and MTU: the MSS is 1460 in all three', (t) => {
  const script = `${OPEN}+0 write(4, ..., 100) = 100\n+0 > P. 1:101(100) ack 1\n`;
  const seen = new Map<string, string>();
  for (const v of ['ipv4', 'ipv4-mapped-ipv6', 'ipv6'] as const) {
    const { r, trace } = run(script, v);
    passes(t, r);
    seen.set(v, trace[0]!);
    t.true(trace.some((l) => l.includes('new passive connection from')));
  }
  t.is(seen.get('ipv4'), '--ip_version=ipv4: local 192.168.0.1, remote 192.0.2.1, MTU 1500');
  t.is(seen.get('ipv4-mapped-ipv6'), '--ip_version=ipv4-mapped-ipv6: local 192.168.0.1, remote 192.0.2.1, MTU 1500');
  t.is(seen.get('ipv6'), '--ip_version=ipv6: local fd3d:a0b:17d6::1, remote fd3d:fa7b:d17d::1, MTU 1520');
  // The default is ipv4; the trace shows the remote end of the IPv6 connection bracketed.
  t.is(run(script).trace[0], seen.get('ipv4'));
  t.true(run(script, 'ipv6').trace.some((l) => /new passive connection from \[fd3d:fa7b:d17d::1\]:\d+ /.test(l)));
});

test('ipv6 with packetdrill\'s bare MTU of 1500: the stack offers MSS 1440, as Linux does, and the mismatch names the field', (t) => {
  const { r } = run(OPEN, 'ipv6', 'v6.pkt', [{ name: 'mtu', value: '1500' }]);
  t.is(
    failure(r),
    [
      'v6.pkt:7: error handling packet: bad value in outbound TCP option (kind=2): expected: mss 1460 actual: mss 1440',
      'script packet:  0.000000 S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>',
      'actual packet:  0.000000 S. 0:0(0) ack 1 win 65535 <mss 1440,nop,nop,sackOK>',
    ].join('\n'),
  );
});

test('a mismatch over IPv6 is reported with its line, the field and both segments', (t) => {
  // Expecting a FIN where the stack resets (unread data at close).
  const script = `${OPEN}+0 < P. 1:101(100) ack 1 win 1000\n+0 > . 1:1(0) ack 101\n+.1 close(4) = 0\n+0 > F. 1:1(0) ack 101\n`;
  const { r } = run(script, 'ipv6', 'close.pkt');
  t.is(
    failure(r),
    [
      'close.pkt:13: error handling packet: live packet field tcp_fin: expected: 1 (0x1) vs actual: 0 (0x0)',
      'script packet:  0.200000 F. 1:1(0) ack 101',
      'actual packet:  0.200000 R. 1:1(0) ack 101 win 65535',
    ].join('\n'),
  );
  // IPv6 header fields: the hop limit is 64 ([ttl N]), the payload length follows the options.
  t.regex(failure(run(`${OPEN}+0 write(4, ..., 10) = 10\n+0 > [ttl 63] P. 1:11(10) ack 1\n`, 'ipv6', 'hl.pkt').r), /^hl\.pkt:11: error handling packet: live packet field ttl: expected: 63 \(0x3f\) vs actual: 64 \(0x40\)\n/);
  passes(t, run(`${OPEN}+0 write(4, ..., 10) = 10\n+0 > [ttl 64] P. 1:11(10) ack 1\n`, 'ipv6').r);
  // 255 is packetdrill's TTL_CHECK_NONE: [ttl 255] checks nothing.
  passes(t, run(`${OPEN}+0 write(4, ..., 10) = 10\n+0 > [ttl 255] P. 1:11(10) ack 1\n`, 'ipv6').r);
  t.regex(
    failure(run(OPEN.replace('<mss 1460,nop,nop,sackOK>', '<mss 1460>'), 'ipv6', 'len.pkt').r),
    /^len\.pkt:7: error handling packet: live packet field ipv6_payload_len: expected: 24 \(0x18\) vs actual: 28 \(0x1c\)\n/,
  );
  t.regex(
    failure(run(OPEN.replace('<mss 1460,nop,nop,sackOK>', '<mss 1460>'), 'ipv4', 'len.pkt').r),
    /^len\.pkt:7: error handling packet: live packet field ipv4_total_length: expected: 44 \(0x2c\) vs actual: 48 \(0x30\)\n/,
  );
});

test('inbound IP info over IPv6: the traffic class carries ECN ([ce] draws ECE on an ECN connection)', (t) => {
  const script = `\`sysctl -q net.ipv4.tcp_ecn=1\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < SEW 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
+0 > SE. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
+.1 < . 1:1(0) ack 1 win 1000
+0 accept(3, ..., ...) = 4
+0 < [ce] P. 1:101(100) ack 1 win 1000
+0 > [noecn] E. 1:1(0) ack 101
`;
  for (const v of ['ipv4', 'ipv6'] as const) passes(t, run(script, v).r);
});

test('ipv4-mapped-ipv6: AF_INET6 sockets with v4-mapped addresses; an explicit domain is the script\'s (EAFNOSUPPORT, EINVAL as Linux)', (t) => {
  passes(t, run(`${OPEN}+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n`, 'ipv4-mapped-ipv6').r);
  // bind() and connect() take the flavour's address: a v4-mapped sockaddr_in6 for an AF_INET socket
  // (inet_bind, tcp_v4_connect: EAFNOSUPPORT), a sockaddr_in for an AF_INET6 one (inet6_bind,
  // tcp_v6_connect: EINVAL). Confirmed with packetdrill on Linux 6.18.44.
  const v4socket = `0 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = -1 EAFNOSUPPORT (Address family not supported by protocol)
+0 connect(3, ..., ...) = -1 EAFNOSUPPORT (Address family not supported by protocol)
`;
  passes(t, run(v4socket, 'ipv4-mapped-ipv6').r);
  passes(t, run(v4socket, 'ipv6').r);
  passes(t, run(`0 socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = -1 EINVAL (Invalid argument)\n+0 connect(3, ..., ...) = -1 EINVAL (Invalid argument)\n`).r);
  // The explicit domain of the flavour works as `...` does.
  passes(t, run(`0 socket(AF_INET6, SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 < S 0:0(0) win 1000\n+0 > S. 0:0(0) ack 1 <mss 1460>\n`, 'ipv4-mapped-ipv6').r);
});

test('an active open over IPv6 and ipv4-mapped-ipv6: connect() reaches the remote address', (t) => {
  // (Under packetdrill, TSO off lets the kernel's 2000 bytes reach it as two segments.)
  const script = `\`ethtool -K tun0 tso off gso off\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
+.01 < S. 0:0(0) ack 1 win 65535 <mss 1460,nop,nop,sackOK>
+0 > . 1:1(0) ack 1
+0 write(3, ..., 2000) = 2000
+0 > . 1:1461(1460) ack 1
+0 > P. 1461:2001(540) ack 1
`;
  for (const v of ['ipv4', 'ipv4-mapped-ipv6', 'ipv6'] as const) passes(t, run(script, v).r);
});

test('ICMPv6 over IPv6: packet_too_big lowers the MSS to MTU - 60 and resends what no longer fits', (t) => {
  const open = OPEN.replace('<mss 1000,', '<mss 1460,').replace('ack 1 win 1000', 'ack 1 win 65535');
  const script = `\`ethtool -K tun0 tso off gso off\`
${open}+0 write(4, ..., 1460) = 1460
+0 > P. 1:1461(1460) ack 1
+.01 < icmp packet_too_big mtu 1280 [1:1461(1460)]
+0 > . 1:1221(1220) ack 1
+0 > P. 1221:1461(240) ack 1
`;
  const { r, trace } = run(script, 'ipv6');
  passes(t, r);
  t.true(trace.some((l) => l.endsWith('< icmpv6 type 2 code 0 mtu 1280 [1:1461(1460)]')));
  // Below IPv6's minimum MTU the report is ignored (tcp_v6_err): the next packet is the RTO's.
  const low = run(`${open}+0 write(4, ..., 1460) = 1460\n+0 > P. 1:1461(1460) ack 1\n+.01 < icmp packet_too_big mtu 1200 [1:1461(1460)]\n+.01~+1 > P. 1:1461(1460) ack 1\n`, 'ipv6');
  passes(t, low.r);
});

test('the command line\'s --ip_version overrides the script\'s, as packetdrill\'s parse_and_finalize_config', (t) => {
  const script = `--ip_version=ipv6\n${OPEN}`;
  t.regex(run(script).trace[0]!, /^--ip_version=ipv6:/);
  t.regex(run(script, 'ipv4').trace[0]!, /^--ip_version=ipv4:/);
  // --local_ip / --remote_ip are read in the wire's family.
  passes(t, run(`--local_ip=fd3d::2\n--remote_ip=2001:db8::1\n${OPEN}`, 'ipv6').r);
  t.is(run(`--local_ip=10.0.0.2\n${OPEN}`, 'ipv6', 'a.pkt').r.error?.headline(), 'a.pkt:1: bad --local_ip for --ip_version=ipv6: 10.0.0.2');
});

test('flow labels are names checked as verify_outbound_live_ipv6_flowlabel does, only over IPv6', (t) => {
  const map = { flowLabels: { script: 0, live: 0 } };
  t.is(verifyFlowLabel(map, 0, 0x777), undefined); // not written: not checked
  t.is(verifyFlowLabel(map, 1, 0), 'flowlabel unmarked in the live packet');
  t.is(verifyFlowLabel(map, 1, 0xabc), undefined); // the first one names the live label
  t.is(verifyFlowLabel(map, 1, 0xabc), undefined);
  t.is(verifyFlowLabel(map, 1, 0xdef), 'inconsistent flowlabels for this packet: expected: 0xabc vs actual: 0xdef');
  t.is(verifyFlowLabel(map, 2, 0xabc), 'expected a different flowlabel but got the same');
  t.is(verifyFlowLabel(map, 2, 0xdef), undefined);
  t.deepEqual(map.flowLabels, { script: 2, live: 0xdef });
  // In a script: the connection keeps its label; an RTO draws a new one (sk_rethink_txhash).
  const keeps = `${OPEN}+0 write(4, ..., 10) = 10\n+0 > (flowlabel 0x1) P. 1:11(10) ack 1\n+.3 > (flowlabel 0x1) P. 1:11(10) ack 1\n+.3 > (flowlabel 0x2) P. 1:11(10) ack 1\n`;
  passes(t, run(keeps, 'ipv6').r);
  const wrong = keeps.replace('+.3 > (flowlabel 0x2)', '+.3 > (flowlabel 0x1)');
  t.regex(failure(run(wrong, 'ipv6', 'fl.pkt').r), /^fl\.pkt:13: error handling packet: inconsistent flowlabels for this packet: expected: 0x[0-9a-f]+ vs actual: 0x[0-9a-f]+\n/);
  // Over IPv4 a flow label is no field: nothing is checked.
  passes(t, run(wrong, 'ipv4').r);
});

test('run_all.py\'s selection: *v4.pkt in ipv4 and ipv4-mapped-ipv6, *v6.pkt in ipv6 only; the rest everywhere', (t) => {
  t.true(scriptRunsIn('a/pmtu-frag-needed-v4.pkt', 'ipv4'));
  t.true(scriptRunsIn('a/pmtu-frag-needed-v4.pkt', 'ipv4-mapped-ipv6'));
  t.false(scriptRunsIn('a/pmtu-frag-needed-v4.pkt', 'ipv6'));
  t.true(scriptRunsIn('pmtu-packet-too-big-v6.pkt', 'ipv6'));
  t.false(scriptRunsIn('pmtu-packet-too-big-v6.pkt', 'ipv4'));
  t.false(scriptRunsIn('pmtu-packet-too-big-v6.pkt', 'ipv4-mapped-ipv6'));
  t.true(scriptRunsIn('a-v6.pkt/linger.pkt', 'ipv4'));
  const r = runScript('0 < icmp packet_too_big mtu 1300\n', 'x-v6.pkt', { options: [{ name: 'ip_version', value: 'ipv4' }] });
  t.deepEqual([r.ok, r.skipped, r.invalid, r.events], [false, 'ipv4', undefined, 0]);
  // By the version the script would run in: its own option counts.
  t.is(runScript('--ip_version=ipv6\n0 < icmp packet_too_big mtu 1300\n', 'x-v4.pkt').skipped, 'ipv6');
});

test('tcpstack pkt --ip_version: every script of the flavour, SKIP for another family\'s, exit 2 on a bad value', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pkt-v6-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const any = join(dir, 'rst.pkt');
  const v4 = join(dir, 'icmp-v4.pkt');
  writeFileSync(any, '0 < S 0:0(0) win 1000\n+0 > R. 0:0(0) ack 1 win 0\n');
  writeFileSync(v4, '0 < icmp unreachable frag_needed mtu 1200\n');
  const r = runCli(['pkt', '--ip_version=ipv6', any, v4]);
  t.is(r.code, 0, r.stdout + r.stderr);
  t.regex(r.stdout, /^PASS .*rst\.pkt/m);
  t.regex(r.stdout, /^SKIP .*icmp-v4\.pkt \(not run with --ip_version=ipv6: its name ends in v4\.pkt: ipv4 and ipv4-mapped-ipv6 only, as packetdrill's run_all\.py selects\)$/m);
  t.regex(r.stdout, /2 scripts: 1 passed, 0 failed, 1 skipped/);
  // With bare packetdrill's MTU the IPv6 MSS is 1440: a script expecting 1460 fails.
  const mss = join(dir, 'mss.pkt');
  writeFileSync(mss, OPEN);
  t.is(runCli(['pkt', '--ip_version', 'ipv6', mss]).code, 0);
  const bare = runCli(['pkt', '--ip_version', 'ipv6', '--mtu=1500', mss]);
  t.is(bare.code, 1);
  t.regex(bare.stdout, /expected: mss 1460 actual: mss 1440/);
  const bad = runCli(['pkt', '--ip_version=ipv5', any]);
  t.is(bad.code, 2);
  t.is(bad.stderr.trim(), 'tcpstack: error: --ip_version expects one of ipv4, ipv4-mapped-ipv6, ipv6, got "ipv5"');
});
