/** The packet-script lexer and parser: every syntax feature, and one clear `file:line:` line for each kind of mistake. */
import test from 'ava';
import { ScriptError, type Action, type PacketSpec, type SyscallSpec } from '../../cli/pkt/ast.ts';
import { tokenize } from '../../cli/pkt/lexer.ts';
import { parseScript, readIpVersion } from '../../cli/pkt/parser.ts';
import type { IpVersion } from '../../cli/pkt/ip-version.ts';

const kinds = (src: string): string[] => tokenize(src).map((t) => `${t.kind}:${t.text}`);

function only(src: string): Action {
  const s = parseScript(src, 't.pkt');
  return s.events[s.events.length - 1]!.action;
}

function packet(line: string, ipVersion?: IpVersion): PacketSpec {
  const s = parseScript(line, 't.pkt', ipVersion);
  const a = s.events[s.events.length - 1]!.action;
  if (a.kind !== 'packet') throw new Error('not a packet');
  return a.packet;
}

function call(line: string): SyscallSpec {
  const a = only(line);
  if (a.kind !== 'syscall') throw new Error('not a syscall');
  return a.call;
}

/** The error a script raises, as the one line the CLI prints. */
function error(src: string, ipVersion?: IpVersion): string {
  try {
    parseScript(src, 'bad.pkt', ipVersion);
  } catch (e) {
    if (e instanceof ScriptError) {
      const line = e.headline();
      if (line.includes('\n')) throw new Error(`error spans lines: ${line}`);
      return line;
    }
    throw e;
  }
  throw new Error('no error');
}

// ---------------------------------------------------------------------------
// Lexer

test('lexer: times, ellipsis and floats as flex splits them', (t) => {
  t.deepEqual(kinds('+0...0.2'), ['CHAR:+', 'INTEGER:0', 'ELLIPSIS:...', 'FLOAT:0.2', 'EOF:']);
  t.deepEqual(kinds('+.1...0.200'), ['CHAR:+', 'FLOAT:.1', 'ELLIPSIS:...', 'FLOAT:0.200', 'EOF:']);
  t.deepEqual(kinds('+.3~+.4'), ['CHAR:+', 'FLOAT:.3', 'CHAR:~', 'CHAR:+', 'FLOAT:.4', 'EOF:']);
  t.deepEqual(kinds('-1 0x802 192.0.2.1'), ['INTEGER:-1', 'HEX:0x802', 'IPV4:192.0.2.1', 'EOF:']);
});

test("lexer: IPv6 addresses as lexer.l's ipv6_addr spells them, never a sequence range", (t) => {
  t.deepEqual(kinds('fd3d:a0b:17d6::1 2001:db8::1 :: ::ffff:192.0.2.1 1:2:3:4:5:6:7:8'), [
    'IPV6:fd3d:a0b:17d6::1',
    'IPV6:2001:db8::1',
    'IPV6:::',
    'IPV6:::ffff:192.0.2.1',
    'IPV6:1:2:3:4:5:6:7:8',
    'EOF:',
  ]);
  t.deepEqual(kinds('1:1001(1000) sack 1:2'), ['INTEGER:1', 'CHAR::', 'INTEGER:1001', 'CHAR:(', 'INTEGER:1000', 'CHAR:)', 'KEYWORD:sack', 'INTEGER:1', 'CHAR::', 'INTEGER:2', 'EOF:']);
});

test('lexer: keywords are reserved, longer words are not', (t) => {
  t.deepEqual(kinds('ack acked sackOK TS val ecr win SO_LINGER linger sequence#'), [
    'KEYWORD:ack',
    'WORD:acked',
    'KEYWORD:sackOK',
    'KEYWORD:TS',
    'KEYWORD:val',
    'KEYWORD:ecr',
    'KEYWORD:win',
    'WORD:SO_LINGER',
    'KEYWORD:linger',
    'KEYWORD:sequence#',
    'EOF:',
  ]);
});

test('lexer: comments, strings, commands and code blocks; line numbers', (t) => {
  const toks = tokenize('// comment\n/* a\nb */ x "s" `sysctl -q\n a=1` %{ print(1) }%\ny\n// last line without newline');
  t.deepEqual(
    toks.map((x) => [x.kind, x.value, x.line]),
    [
      ['WORD', 'x', 3],
      ['STRING', 's', 3],
      ['BACKQUOTED', 'sysctl -q\n a=1', 3],
      ['CODE', 'print(1)', 4],
      ['WORD', 'y', 5],
      ['EOF', '', 6],
    ],
  );
});

test('lexer: unterminated constructs are one file:line error', (t) => {
  t.is(error('0 `sysctl -q a=1\n'), 'bad.pkt:1: parse error: unterminated back-quoted command');
  t.is(error('\n0 write(3, "abc, 3) = 3'), 'bad.pkt:2: parse error: unterminated string');
  t.is(error('/* never closed\n0 close(3) = 0'), 'bad.pkt:1: parse error: unterminated /* comment');
  t.is(error('0 %{ x = 1\n'), 'bad.pkt:1: parse error: unterminated %{ code block (no closing }%)');
});

// ---------------------------------------------------------------------------
// Script structure

test('options, init command, events and cleanup command', (t) => {
  const s = parseScript('--tolerance_usecs=10000\n--local_ip=10.0.0.1\n--tcp_ts_ecr_scaled\n`sysctl -q net.ipv4.tcp_fin_timeout=5`\n0 close(3) = 0\n`echo done`\n', 'x.pkt');
  t.deepEqual(
    s.options.map((o) => [o.name, o.value, o.line]),
    [
      ['tolerance_usecs', '10000', 1],
      ['local_ip', '10.0.0.1', 2],
      ['tcp_ts_ecr_scaled', undefined, 3],
    ],
  );
  t.deepEqual(s.initCommand, { text: 'sysctl -q net.ipv4.tcp_fin_timeout=5', line: 4 });
  t.is(s.events.length, 1);
  t.deepEqual(s.cleanupCommand, { text: 'echo done', line: 6 });
});

test('event times: absolute, relative, any, ranges; floats truncate to µs like packetdrill', (t) => {
  const s = parseScript('0 close(3) = 0\n0.2 close(3) = 0\n+.1 close(3) = 0\n* > S 0:0(0)\n+.3~+.4 > S 0:0(0)\n1~2 > S 0:0(0)\n1.001 close(3) = 0\n', 'x.pkt');
  t.deepEqual(
    s.events.map((e) => [e.timeType, e.timeUsecs, e.timeEndUsecs, e.line]),
    [
      ['absolute', 0, undefined, 1],
      ['absolute', 200000, undefined, 2],
      ['relative', 100000, undefined, 3],
      ['any', 0, undefined, 4],
      ['relative-range', 300000, 400000, 5],
      ['absolute-range', 1000000, 2000000, 6],
      ['absolute', 1000999, undefined, 7], // (s64)(1.001 * 1e6), as packetdrill computes it
    ],
  );
});

test('event time rules: negative, backwards range, * and ranges only for outbound packets', (t) => {
  t.is(error('0 close(3) = 0\n+-1 close(3) = 0'), 'bad.pkt:2: semantic error: negative time');
  t.is(error('0 close(3) = 0\n+.4~+.3 > S 0:0(0)'), 'bad.pkt:2: semantic error: time range is backwards');
  t.is(error('0 close(3) = 0\n* < S 0:0(0) win 1000'), 'bad.pkt:2: semantic error: event time <star> can only be used with outbound packets');
  t.is(error('0 close(3) = 0\n\n+0~+1 close(3) = 0'), 'bad.pkt:3: semantic error: event time range can only be used with outbound packets');
  t.is(error('--mss=1000\n'), 'bad.pkt:2: parse error at end of file: expected an event (the script has none)');
  t.is(error('0 close(3) = 0\n`cleanup`\n+1 close(3) = 0'), "bad.pkt:3: parse error at '+': expected the end of the script after the cleanup command (a command among the events needs a time)");
});

// ---------------------------------------------------------------------------
// Packets

test('packet flags: letters, . for ACK, - for none, ECN letters, C for CWR', (t) => {
  t.is(packet('0 < S 0:0(0) win 1000').flags, 'S');
  t.is(packet('0 > S. 0:0(0)').flags, 'S.');
  t.is(packet('0 > . 1:1(0)').flags, '.');
  t.is(packet('0 < - 1:11(10) win 1000').flags, '');
  t.is(packet('0 > F. 1:1(0)').flags, 'F.');
  t.is(packet('0 > P. 1:1(0)').flags, 'P.');
  t.is(packet('0 > R 1:1(0)').flags, 'R');
  t.is(packet('0 < SEW 0:0(0) win 1000').flags, 'SEW');
  t.is(packet('0 > UC. 0:0(0)').flags, 'UC.');
  t.is(error('0 > SX 0:0(0)'), "bad.pkt:1: semantic error: Invalid TCP flag: 'X'");
});

test('packet fields: seq start:end(len), ack, win, urg, ports, direction', (t) => {
  t.deepEqual(packet('0 < P. 1:1001(1000) ack 5 win 257 urg 3'), {
    direction: 'inbound',
    srcPort: 0,
    dstPort: 0,
    flags: 'P.',
    seq: 1,
    len: 1000,
    ack: 5,
    win: 257,
    urg: 3,
    options: [],
  });
  const p = packet('0 > 8080>12345 R 0:0(0)');
  t.deepEqual([p.direction, p.srcPort, p.dstPort, p.win, p.options], ['outbound', 8080, 12345, undefined, []]);
  t.is(error('0 > . 1:10(10)'), 'bad.pkt:1: semantic error: inconsistent TCP sequence numbers and payload size');
  t.is(error('0 < . 1:1(0) ack 1'), 'bad.pkt:1: semantic error: window must be specified for inbound packets');
  t.is(error('0 > . 1:1(0) win 70000'), 'bad.pkt:1: semantic error: TCP window value out of range');
  t.is(error('0 > . 1 1(0)'), "bad.pkt:1: parse error at '1': expected ':'");
});

test('TCP options: every kind, <...>, and packetdrill\'s padding and length rules', (t) => {
  t.deepEqual(packet('0 > S. 0:0(0) <mss 1460,sackOK,TS val 100 ecr 7,nop,wscale 8>').options, [
    { kind: 'mss', value: 1460 },
    { kind: 'sackOK' },
    { kind: 'ts', val: 100, ecr: 7 },
    { kind: 'nop' },
    { kind: 'wscale', value: 8 },
  ]);
  t.deepEqual(packet('0 < . 1:1(0) ack 1 win 9 <nop,nop,sack 1001:2001 3001:4001>').options, [
    { kind: 'nop' },
    { kind: 'nop' },
    {
      kind: 'sack',
      blocks: [
        [1001, 2001],
        [3001, 4001],
      ],
    },
  ]);
  t.deepEqual(packet('0 > . 1:1(0) <nop,eol,nop,nop>').options, [{ kind: 'nop' }, { kind: 'eol' }, { kind: 'nop' }, { kind: 'nop' }]);
  t.is(packet('0 > . 1:1(0) <...>').options, undefined);
  t.is(error('0 < . 1:1(0) ack 1 win 9 <...>'), 'bad.pkt:1: semantic error: <...> for TCP options can only be used with outbound packets');
  t.is(error('0 > S 0:0(0) <sackOK>'), 'bad.pkt:1: semantic error: TCP options are not padded correctly to ensure TCP header is a multiple of 4 bytes: 2 excess bytes');
  t.is(error('0 > . 1:1(0) <sack 1:2 3:4 5:6 7:8 9:10>'), 'bad.pkt:1: semantic error: TCP option list too long');
  t.is(error('0 > S 0:0(0) <mss 70000>'), 'bad.pkt:1: semantic error: mss value out of range');
  t.is(error('0 > S 0:0(0) <TS 5>'), "bad.pkt:1: parse error at '5': expected 'val'");
});

test("Fast Open and MD5 options: FO and FOEXP, with or without a cookie, md5 with its digest, and packetdrill's checks", (t) => {
  t.deepEqual(packet('0 < S 0:10(10) win 9 <mss 1460,nop,nop,sackOK,nop,nop,FO 3021b9d889017eeb>').options!.slice(-1), [
    { kind: 'fastopen', exp: false, cookie: Uint8Array.of(0x30, 0x21, 0xb9, 0xd8, 0x89, 0x01, 0x7e, 0xeb) },
  ]);
  t.deepEqual(packet('0 > S 0:0(0) <FOEXP>').options![0], { kind: 'fastopen', exp: true, cookie: new Uint8Array(0) });
  t.deepEqual(packet('0 > S 0:0(0) <FO 12345678,nop,nop>').options![0], { kind: 'fastopen', exp: false, cookie: Uint8Array.of(0x12, 0x34, 0x56, 0x78) });
  t.is(error('0 > S 0:0(0) <FO 123>'), 'bad.pkt:1: semantic error: TCP fast open cookie has an odd number of digits');
  t.is(error('0 > S 0:0(0) <FO TFO_COOKIE>'), "bad.pkt:1: semantic error: TCP fast open cookie 'TFO_COOKIE' is not a valid hex string");
  t.is(error(`0 > S 0:0(0) <FO ${'ab'.repeat(39)}>`), 'bad.pkt:1: semantic error: TCP fast open cookie of 39 bytes exceeds maximum cookie length of 38 bytes');
  t.deepEqual(packet('0 < . 1:1(0) ack 1 win 9 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>').options![0], {
    kind: 'md5',
    digest: Uint8Array.from({ length: 16 }, (_, i) => i),
  });
  t.is(error(`0 > S 0:0(0) <md5 ${'00'.repeat(17)}>`), 'bad.pkt:1: semantic error: TCP MD5 digest longer than 16 bytes');
  t.is(error('0 > S 0:0(0) <md5 xyz0>'), 'bad.pkt:1: semantic error: TCP MD5 digest is not a valid hex string');
});

test('ICMP lines as packetdrill writes them: type and code names (or type_N/code_N), mtu, the quoted segment; its semantic checks', (t) => {
  t.deepEqual(packet('0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]').icmp, { family: 4, type: 3, code: 4, rest: 1200, mtu: 1200, id: 0, echoedSeq: 1, echoedLen: 1460 });
  t.deepEqual(packet('0 < icmp unreachable host_unreachable').icmp, { family: 4, type: 3, code: 1, rest: 0, mtu: undefined, id: 0, echoedSeq: 0, echoedLen: 0 });
  t.deepEqual(packet('0 < icmp time_exceeded [5:5(0)]').icmp, { family: 4, type: 11, code: 0, rest: 0, mtu: undefined, id: 0, echoedSeq: 5, echoedLen: 0 });
  t.deepEqual(packet('0 < icmp type_3 code_13 [0:0(0)]').icmp, { family: 4, type: 3, code: 13, rest: 0, mtu: undefined, id: 0, echoedSeq: 0, echoedLen: 0 });
  t.deepEqual(packet('0 < icmp echo_request id 7').icmp, { family: 4, type: 8, code: 0, rest: 7 << 16, mtu: undefined, id: 7, echoedSeq: 0, echoedLen: 0 });
  t.is(error('0 < icmp unreachable host_unreachable mtu 1200'), 'bad.pkt:1: semantic error: ICMPv4 MTU is only valid for unreachable-frag_needed');
  t.is(error('0 < icmp unreachable frag_needed mtu 70000'), 'bad.pkt:1: semantic error: ICMPv4 MTU out of 16-bit range');
  t.is(error('0 < icmp bogus'), 'bad.pkt:1: semantic error: bad ICMP type bogus');
  t.is(error('0 < icmp time_exceeded frag_needed'), 'bad.pkt:1: semantic error: bad ICMP code frag_needed');
  t.is(error('0 < icmp unreachable frag_needed mtu 1200 [1:1400(1460)]'), 'bad.pkt:1: semantic error: inconsistent TCP sequence numbers and payload size');
});

test('IP info after the direction, as packetdrill writes it: [ect0], (ce), [noecn], [ect01] outbound only, [tos 0xNN], [ttl N], flow labels', (t) => {
  t.deepEqual(packet('0 < [ce] P. 1:101(100) ack 1 win 100').ipInfo, { tosCheck: 'ecn', tos: 3, ttl: 0, flowLabel: 0 });
  t.deepEqual(packet('0 > (ect0) P. 1:101(100) ack 1').ipInfo, { tosCheck: 'ecn', tos: 2, ttl: 0, flowLabel: 0 });
  t.deepEqual(packet('0 > [noecn] SE. 0:0(0) ack 1').ipInfo, { tosCheck: 'ecn', tos: 0, ttl: 0, flowLabel: 0 });
  t.deepEqual(packet('0 > [ect01] . 1:1(0) ack 1').ipInfo, { tosCheck: 'ect01', tos: 0, ttl: 0, flowLabel: 0 });
  t.deepEqual(packet('0 > [tos 0x12] . 1:1(0) ack 1').ipInfo, { tosCheck: 'tos', tos: 0x12, ttl: 0, flowLabel: 0 });
  t.deepEqual(packet('0 > [ttl 64] . 1:1(0) ack 1').ipInfo, { tosCheck: 'none', tos: 0, ttl: 64, flowLabel: 0 });
  t.deepEqual(packet('0 < [ect1] icmp unreachable frag_needed mtu 1200 [1:1461(1460)]').ipInfo, { tosCheck: 'ecn', tos: 1, ttl: 0, flowLabel: 0 });
  // parser.y's flow_label: alone or after a tos_spec, hexadecimal, 20 bits.
  t.deepEqual(packet('0 > (flowlabel 0x12345) S. 0:0(0) ack 1').ipInfo, { tosCheck: 'none', tos: 0, ttl: 0, flowLabel: 0x12345 });
  t.deepEqual(packet('0 < [ect0, flowlabel 0x1] S 0:0(0) win 10').ipInfo, { tosCheck: 'ecn', tos: 2, ttl: 0, flowLabel: 1 });
  t.deepEqual(packet('0 > [tos 0x4, flowlabel 0xfffff] . 1:1(0) ack 1').ipInfo, { tosCheck: 'tos', tos: 4, ttl: 0, flowLabel: 0xfffff });
  t.is(error('0 > [flowlabel 0x100000] . 1:1(0) ack 1'), 'bad.pkt:1: semantic error: flowlabel out of range for 20 bits');
  t.is(error('0 > [flowlabel 12] . 1:1(0) ack 1'), "bad.pkt:1: parse error at '12': expected a hexadecimal flow label (like 0x12345)");
  t.is(error('0 > [ttl 3, flowlabel 0x1] . 1:1(0) ack 1'), "bad.pkt:1: parse error at ',': expected ']'");
  t.is(packet('0 > S 0:0(0)').ipInfo, undefined);
  t.is(error('0 < [ect01] . 1:1(0) ack 1 win 10'), 'bad.pkt:1: semantic error: [ect01] can only be used with outbound packets');
  t.is(error('0 > [tos 0x100] . 1:1(0) ack 1'), 'bad.pkt:1: semantic error: tos out of range for 8 bits');
});

test('syntax the runner does not execute is refused with a line saying so', (t) => {
  t.is(error('0 < udp (10)'), 'bad.pkt:1: not supported by tcpstack pkt: UDP packets (TCP and ICMP only)');
  t.is(error('0 > icmp unreachable port_unreachable'), 'bad.pkt:1: not supported by tcpstack pkt: outbound ICMP packets (inbound ICMP only)');
  t.is(error('0 < icmp unreachable [udp (10)]'), 'bad.pkt:1: not supported by tcpstack pkt: ICMP quoting a UDP packet (TCP only)');
  t.is(error('0 > S. 0:0(0) ack 1 <ECN e0b 1 ceb 2 e1b 3,nop>'), 'bad.pkt:1: not supported by tcpstack pkt: the ECN TCP option');
  t.is(error('0 < ipv6 ::1 > ::2: S 0:0(0) win 1'), 'bad.pkt:1: not supported by tcpstack pkt: encapsulation headers (ipv6) in packet lines');
});

test('--ip_version: the script\'s option line, overridden by the command line\'s; packetdrill\'s values only', (t) => {
  t.is(parseScript('0 close(3) = 0\n', 'v.pkt').ipVersion, 'ipv4');
  t.is(parseScript('--ip_version=ipv6\n0 close(3) = 0\n', 'v.pkt').ipVersion, 'ipv6');
  t.is(parseScript('--ip_version=ipv6\n--ip_version=ipv4\n0 close(3) = 0\n', 'v.pkt').ipVersion, 'ipv4');
  t.is(parseScript('--ip_version=ipv6\n0 close(3) = 0\n', 'v.pkt', 'ipv4-mapped-ipv6').ipVersion, 'ipv4-mapped-ipv6');
  t.is(readIpVersion('--ip_version=ipv6\n0 close(3) = 0\n', 'v.pkt'), 'ipv6');
  t.is(readIpVersion('--ip_version=ipv6\n0 close(3) = 0\n', 'v.pkt', 'ipv4'), 'ipv4');
  t.is(error('--ip_version=ipv5\n0 close(3) = 0\n'), 'bad.pkt:1: bad --ip_version: ipv5');
  // packetdrill's lexer splits ipv4-mapped-ipv6 at the '-': only the command line can say it.
  t.is(error('--ip_version=ipv4-mapped-ipv6\n0 close(3) = 0\n'), "bad.pkt:1: parse error at '-': expected an event time (like 0, +.1, *, or +.1~+.2)");
  // An option's value may be an IPv6 address.
  t.deepEqual(parseScript('--local_ip=fd3d::2\n--remote_ip=2001:db8::1\n0 close(3) = 0\n', 'v.pkt').options.map((o) => o.value), ['fd3d::2', '2001:db8::1']);
});

test('ICMP lines name the wire family\'s messages: ICMPv6 over IPv6, nothing translated (icmp_packet.c)', (t) => {
  t.deepEqual(packet('0 < icmp packet_too_big mtu 1280 [1:1461(1460)]', 'ipv6').icmp, { family: 6, type: 2, code: 0, rest: 1280, mtu: 1280, id: 0, echoedSeq: 1, echoedLen: 1460 });
  t.deepEqual(packet('0 < icmp unreachable port_unreachable [1:1(0)]', 'ipv6').icmp, { family: 6, type: 1, code: 4, rest: 0, mtu: undefined, id: 0, echoedSeq: 1, echoedLen: 0 });
  t.deepEqual(packet('0 < icmp unreachable admin_prohibited', 'ipv6').icmp!.code, 1);
  t.deepEqual(packet('0 < icmp time_exceeded exceeded_frag_time', 'ipv6').icmp!.code, 1);
  t.deepEqual(packet('0 < icmp parameter_problem unknown_next_header', 'ipv6').icmp, { family: 6, type: 4, code: 1, rest: 0, mtu: undefined, id: 0, echoedSeq: 0, echoedLen: 0 });
  // ipv4-mapped-ipv6 has IPv4 on the wire: ICMPv4.
  t.is(packet('0 < icmp unreachable frag_needed mtu 1200', 'ipv4-mapped-ipv6').icmp!.family, 4);
  // What one family has and the other lacks, with packetdrill's messages (confirmed with its binary).
  t.is(error('0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]', 'ipv6'), 'bad.pkt:1: semantic error: bad ICMP code frag_needed');
  t.is(error('0 < icmp packet_too_big mtu 1300 [0:0(0)]'), 'bad.pkt:1: semantic error: bad ICMP type packet_too_big');
  t.is(error('0 < icmp source_quench', 'ipv6'), 'bad.pkt:1: semantic error: bad ICMP type source_quench');
  t.is(error('0 < icmp unreachable no_route mtu 1300', 'ipv6'), 'bad.pkt:1: semantic error: ICMPv6 MTU is only valid for packet_too_big-0');
  t.is(error('0 < icmp type_2 code_0 mtu 4294967296', 'ipv6'), 'bad.pkt:1: semantic error: ICMPv6 MTU out of 32-bit range');
  t.is(packet('0 < icmp type_2 code_0 mtu 70000', 'ipv6').icmp!.rest, 70000);
});

// ---------------------------------------------------------------------------
// System calls

test('system calls: arguments, results, errno and notes', (t) => {
  const c = call('0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0');
  t.is(c.name, 'setsockopt');
  t.deepEqual(c.args, [
    { type: 'int', value: 3, hex: false },
    { type: 'word', name: 'SOL_SOCKET' },
    { type: 'word', name: 'SO_LINGER' },
    { type: 'linger', onoff: 1, linger: 0 },
    { type: 'int', value: 8, hex: false },
  ]);
  t.is(c.endUsecs, undefined);
  const r = call('0 read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)');
  t.deepEqual([r.args[1], r.result, r.errno, r.note], [{ type: 'ellipsis' }, { type: 'int', value: -1, hex: false }, 'ECONNRESET', 'Connection reset by peer']);
  const f = call('0 fcntl(3, F_GETFL) = 0x802 (flags O_RDWR)');
  t.deepEqual([f.result, f.errno, f.note], [{ type: 'int', value: 0x802, hex: true }, undefined, 'flags O_RDWR']);
  const o = call('0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0');
  t.deepEqual(o.args[2], { type: 'binary', op: '|', lhs: { type: 'word', name: 'O_RDWR' }, rhs: { type: 'word', name: 'O_NONBLOCK' } });
  const g = call('0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0');
  t.deepEqual(g.args[3], { type: 'list', items: [{ type: 'word', name: 'ECONNREFUSED' }] });
});

test('blocking calls: ...END times', (t) => {
  const s = parseScript('0 close(3) = 0\n+.1...0.2 read(4, ..., 10) = 10\n+0...0 accept(3, ..., ...) = 4\n1...2 connect(3, ..., ...) = 0\n', 'x.pkt');
  t.deepEqual(
    s.events.slice(1).map((e) => [e.timeType, e.timeUsecs, (e.action as { call: SyscallSpec }).call.endUsecs]),
    [
      ['relative', 100000, 200000],
      ['relative', 0, 0],
      ['absolute', 1000000, 2000000],
    ],
  );
});

test('poll() arguments, with and without revents', (t) => {
  const p = call('0 poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLOUT}, {fd=4, events=POLLIN}], 2, 0) = 1');
  const list = p.args[0]!;
  t.is(list.type, 'list');
  if (list.type !== 'list') return;
  t.deepEqual(list.items[1], { type: 'pollfd', fd: { type: 'int', value: 4, hex: false }, events: { type: 'word', name: 'POLLIN' }, revents: { type: 'int', value: 0, hex: false } });
});

test("sendmsg's msghdr as parser.y spells it: msg_iov(N), msg_flags, an optional msg_control", (t) => {
  const p = call('0 sendmsg(4, {msg_name(...)=..., msg_iov(2)=[{..., 40}, {..., 0}], msg_flags=0}, MSG_MORE) = 40');
  const m = p.args[1]!;
  t.is(m.type, 'msghdr');
  if (m.type !== 'msghdr') return;
  t.is(m.iovlen, 2);
  t.deepEqual(m.iov, { type: 'list', items: [{ type: 'iovec', len: { type: 'int', value: 40, hex: false } }, { type: 'iovec', len: { type: 'int', value: 0, hex: false } }] });
  t.deepEqual(m.flags, { type: 'int', value: 0, hex: false });
  t.deepEqual(m.control, []);
  const c = call('0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 1}], msg_flags=0, msg_control=[{cmsg_level=SOL_IP, cmsg_type=IP_TOS, cmsg_data=1}]}, 0) = 1');
  const mc = c.args[1]!;
  t.true(mc.type === 'msghdr' && mc.control[0]?.type === 'cmsg');
  t.is(error('0 sendmsg(4, {msg_name(...)=..., msg_iov(1)={..., 1}, msg_flags=0}, 0) = 1'), "bad.pkt:1: parse error at ',': expected an iovec array [...]");
});

test('malformed system-call lines', (t) => {
  t.is(error('0 close(3)'), "bad.pkt:1: parse error at end of file: expected '=' and the expected result of close()");
  t.is(error('0 close(3) = -1 EBADF'), 'bad.pkt:1: parse error at end of file: expected a parenthesised note after EBADF, like (Connection reset by peer)');
  t.is(error('0 close(3 = 0'), "bad.pkt:1: parse error at '=': expected ')'");
  t.is(error('0 read(4, ..., 10) = 10 (no ack here)'), "bad.pkt:1: parse error at 'ack': expected ')'");
  t.is(error('0 < S 0:0(0) win 1\n\n  oops'), "bad.pkt:3: parse error at 'oops': expected an event time (like 0, +.1, *, or +.1~+.2)");
});

test('commands and %{ }% blocks as events', (t) => {
  t.deepEqual(only('0 `sysctl -q net.ipv4.tcp_syn_retries=2`'), { kind: 'command', text: 'sysctl -q net.ipv4.tcp_syn_retries=2' });
  t.deepEqual(only('0 close(3) = 0\n+0 %{ assert tcpi_rto == 200000 }%'), { kind: 'code', text: 'assert tcpi_rto == 200000' });
});
