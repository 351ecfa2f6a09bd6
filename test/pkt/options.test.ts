/**
 * packetdrill's command line and definitions: `tcpstack pkt` reads its
 * arguments as packetdrill's getopt_long does (the suites' runners pass
 * them), and a `-D NAME=VALUE` definition turns the word NAME into the
 * token packetdrill's lexer makes of VALUE.
 */
import test from 'ava';
import { CommandLineError, readPktCommandLine, splitDefinition } from '../../cli/pkt/options.ts';
import { substituteDefinition, tokenize } from '../../cli/pkt/lexer.ts';
import { parseScript } from '../../cli/pkt/parser.ts';
import { runScript } from '../../cli/pkt/runner.ts';
import { failure, passes } from '../helpers/pkt-result.ts';

const RUN_ALL_V4 = [
  '--send_omit_free', '--ip_version=ipv4', '--local_ip=192.168.0.1', '--gateway_ip=192.168.0.1', '--netmask_ip=255.255.0.0',
  '--remote_ip=192.0.2.1', '-D', 'TFO_COOKIE=3021b9d889017eeb', '-D', 'CODE=host_unreachable', '-D', 'CMSG_LEVEL_IP=SOL_IP',
  '-D', 'CMSG_TYPE_RECVERR=IP_RECVERR', 'a.pkt',
];

test('run_all.py\'s argument list is read whole, in order, with -D as define', (t) => {
  const c = readPktCommandLine(RUN_ALL_V4);
  t.deepEqual(c.files, ['a.pkt']);
  t.deepEqual(c.options.map((o) => `${o.name}=${o.value ?? ''}`), [
    'send_omit_free=', 'ip_version=ipv4', 'local_ip=192.168.0.1', 'gateway_ip=192.168.0.1', 'netmask_ip=255.255.0.0',
    'remote_ip=192.0.2.1', 'define=TFO_COOKIE=3021b9d889017eeb', 'define=CODE=host_unreachable', 'define=CMSG_LEVEL_IP=SOL_IP',
    'define=CMSG_TYPE_RECVERR=IP_RECVERR',
  ]);
});

test('getopt_long\'s forms: --name value, a unique prefix, -DX=Y, clustered -vD, files anywhere, -- ends the options', (t) => {
  const c = readPktCommandLine(['x.pkt', '--mtu', '1500', '--tolerance_u=9000', '-DA=1', '-vD', 'B=2', '--define=C="reno"', '--seed', '7', '--', '--odd.pkt']);
  t.deepEqual(c.files, ['x.pkt', '--odd.pkt']);
  t.deepEqual(c.options.map((o) => `${o.name}=${o.value ?? ''}`), ['mtu=1500', 'tolerance_usecs=9000', 'define=A=1', 'verbose=', 'define=B=2', 'define=C="reno"']);
  t.true(c.verbose);
  t.is(c.seed, '7');
  // An option's argument is the next word, whatever it looks like.
  t.deepEqual(readPktCommandLine(['--remote_ip', '-x', 'a.pkt']).options, [{ name: 'remote_ip', value: '-x' }]);
});

test('misuse: unknown, ambiguous, a missing or a forbidden value', (t) => {
  const problem = (argv: string[]): unknown => (t.throws(() => readPktCommandLine(argv), { instanceOf: CommandLineError }) as CommandLineError).problem;
  t.deepEqual(problem(['--frobnicate', 'a.pkt']), { kind: 'unknown', option: '--frobnicate' });
  t.deepEqual(problem(['-x', 'a.pkt']), { kind: 'unknown', option: '-x' });
  t.like(problem(['--so=1', 'a.pkt']), { kind: 'ambiguous', option: '--so' });
  t.deepEqual(problem(['a.pkt', '--mtu']), { kind: 'needs-value', name: 'mtu' });
  t.deepEqual(problem(['--dry_run=yes', 'a.pkt']), { kind: 'no-value', name: 'dry_run', value: 'yes' });
  t.is(splitDefinition('=1'), undefined);
  t.is(splitDefinition('X'), undefined);
  t.deepEqual(splitDefinition('X=a=b'), { name: 'X', value: 'a=b' });
});

test('a definition becomes the token packetdrill\'s lexer returns: STRING, BACKQUOTED, INTEGER (strtol base 0) or WORD', (t) => {
  const defs = new Map([['S', '"reno"'], ['B', '`echo hi`'], ['H', '0x10'], ['O', '010'], ['N', '-5'], ['W', '3021b9d889017eeb'], ['K', 'mss']]);
  const sub = (src: string): string[] => tokenize(src).slice(0, -1).map((tok) => substituteDefinition(tok, defs)).map((tok) => `${tok.kind}:${tok.value}`);
  t.deepEqual(sub('S B H O N W K'), ['STRING:reno', 'BACKQUOTED:echo hi', 'INTEGER:16', 'INTEGER:8', 'INTEGER:-5', 'WORD:3021b9d889017eeb', 'WORD:mss']);
  // Keywords are matched before the word rule: never substituted.
  t.deepEqual(tokenize('mss').slice(0, 1).map((tok) => substituteDefinition(tok, new Map([['mss', '5']])).kind), ['KEYWORD']);
  // 08 is no whole octal number: a WORD, as strtol stops at the 8; past LONG_MAX strtol clamps: a WORD too.
  t.is(substituteDefinition(tokenize('X')[0]!, new Map([['X', '08']])).kind, 'WORD');
  t.is(substituteDefinition(tokenize('X')[0]!, new Map([['X', '99999999999999999999']])).kind, 'WORD');
  t.is(substituteDefinition(tokenize('X')[0]!, new Map([['X', '1234567890123456789']])).text, '1234567890123456789');
});

test('command-line definitions in a script: an ICMP code, a symbol and a string; a script\'s own --define applies after its options', (t) => {
  const defines = new Map([['CODE', 'host_unreachable'], ['LEVEL', 'SOL_SOCKET'], ['CC', '"reno"']]);
  const s = parseScript('0 < icmp unreachable CODE\n+0 setsockopt(3, LEVEL, SO_REUSEADDR, [1], 4) = 0\n+0 setsockopt(3, SOL_TCP, TCP_CONGESTION, CC, 4) = 0\n', 'd.pkt', undefined, defines);
  const [icmp, level, cc] = s.events.map((e) => e.action);
  t.like(icmp, { kind: 'packet', packet: { icmp: { type: 3, code: 1 } } });
  t.like(level, { kind: 'syscall', call: { args: [{ type: 'int' }, { type: 'word', name: 'SOL_SOCKET' }] } });
  t.deepEqual(cc?.kind === 'syscall' ? cc.call.args[3] : undefined, { type: 'string', value: 'reno', ellipsis: false });
  const own = parseScript('--define=FD=descriptor\n0 close(FD) = 0\n', 'd.pkt');
  t.like(own.events[0]!.action, { kind: 'syscall', call: { args: [{ type: 'word', name: 'descriptor' }] } });
  // As in packetdrill's grammar, a script's definition is WORD=WORD, WORD="string" or WORD=`command`.
  t.throws(() => parseScript('--define=FD=9\n0 close(FD) = 0\n', 'd.pkt'), { message: "parse error at '9': expected a word, string or back-quoted value" });
});

test('runScript takes run_all.py\'s options: the silent ones pass, a definition reaches the script', (t) => {
  const options = [
    { name: 'ip_version', value: 'ipv4' },
    { name: 'local_ip', value: '192.168.0.1' },
    { name: 'define', value: 'WIN=0' },
  ];
  passes(t, runScript('0 < S 0:0(0) win 1000\n+0 > R. 0:0(0) ack 1 win WIN\n', 'd.pkt', { options }));
  const wrong = runScript('0 < S 0:0(0) win 1000\n+0 > R. 0:0(0) ack 1 win WIN\n', 'd.pkt', { options: [{ name: 'define', value: 'WIN=7' }] });
  t.regex(failure(wrong), /^d\.pkt:2: error handling packet: live packet field tcp_window: expected: 7/);
});
