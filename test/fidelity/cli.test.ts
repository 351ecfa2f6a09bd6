/** `tcpstack scenario`: the listing, the help, and misuse (one line, exit 2, nothing started). No root needed. */
import test from 'ava';
import { runCli } from '../helpers/interop.ts';
import { SCENARIOS } from '../../cli/scenario/registry.ts';

const misuse: Array<[string[], RegExp]> = [
  [['scenario'], /scenario needs list, run NAME or table/],
  [['scenario', 'bogus'], /unknown scenario subcommand "bogus"/],
  [['scenario', 'list', 'extra'], /scenario list takes no arguments/],
  [['scenario', 'run'], /scenario run takes one NAME/],
  [['scenario', 'run', 'nope'], /no scenario "nope"/],
  [['scenario', 'run', 'close-unread', '--against', 'bsd'], /--against "bsd": expected kernel, stack or both/],
  [['scenario', 'run', 'close-unread', '--frobnicate'], /scenario run: unknown option --frobnicate \(scenario run takes --against WHAT, --family 4\|6\|both, --all, --offload on\|off, -h\/--help\)/],
  [['scenario', 'run', 'close-unread', '--family', '5'], /--family "5": expected 4, 6 or both/],
  [['scenario', 'table', '--family', 'ipv6'], /--family "ipv6": expected 4, 6 or both/],
  [['scenario', 'table', '--family'], /--family needs a value: --family 4\|6\|both/],
  [['scenario', 'table', 'nope'], /no scenario "nope"/],
];

for (const [args, message] of misuse) {
  test(`tcpstack ${args.join(' ')} → exit 2 with one line`, (t) => {
    const r = runCli(args);
    t.is(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    t.is(lines.length, 1, r.stderr);
    t.regex(lines[0]!, /^tcpstack: error: /);
    t.regex(lines[0]!, message);
    t.is(r.stdout, '', 'nothing started');
  });
}

test('tcpstack scenario list names every scenario with its title and the docs/ sections it checks', (t) => {
  const r = runCli(['scenario', 'list']);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, SCENARIOS.length);
  t.is(SCENARIOS.length, 29);
  for (const [i, s] of SCENARIOS.entries()) {
    t.true(lines[i]!.startsWith(`${s.name} `), lines[i]);
    t.true(lines[i]!.includes(s.title), lines[i]);
    t.true(s.docs.length > 0, s.name);
    t.true(lines[i]!.endsWith(`(${s.docs.join(', ')})`), lines[i]);
    for (const d of s.docs) t.regex(d, /^docs\/[a-z-]+\.md#[a-z0-9_-]+$/, s.name);
  }
  t.true(lines[SCENARIOS.findIndex((s) => s.name === 'keepalive')]!.includes('docs/linux-behaviour.md#7-keepalive'));
});

test('tcpstack scenario --help documents the subcommands and options; tcpstack --help lists scenario', (t) => {
  const r = runCli(['scenario', '--help']);
  t.is(r.code, 0);
  for (const word of ['list', 'run NAME', 'table', '--against', '--family 4|6|both', '--all', 'kernel', 'stack', 'both', 'IPv6']) t.true(r.stdout.includes(word), word);
  t.regex(runCli(['--help']).stdout, /\bscenario\b/);
});
