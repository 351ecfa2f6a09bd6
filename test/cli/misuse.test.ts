/**
 * Deliberate misuse of every subcommand's options (missing values, bad and
 * negative numbers, unknown options, extra arguments): each is one line
 * `tcpstack: error: ...` that names the option and says what it takes, exit
 * status 2, before anything is created. The hints name the command as it was
 * called (here: the path of cli/tcpstack, which is not on $PATH).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachFailure, deviceConfig, sysctlFullName } from '../../cli/device.ts';
import { UsageError } from '../../cli/usage.ts';
import { netnsExists } from '../../tun/netns.ts';
import { CLI, interopSkipReason, removeNetns, uniqueNetns } from '../helpers/interop.ts';

/** An empty run directory: ss/nstat never find an up of a concurrently running test. */
const RUN_DIR = mkdtempSync(join(tmpdir(), 'tcpstack-misuse-'));
test.after.always(() => rmSync(RUN_DIR, { recursive: true, force: true }));

/** A namespace name for up/connect: were the misuse not caught, nothing would touch the host's namespace. */
const NS = uniqueNetns('misuse');
test.after.always(() => removeNetns(NS));

const cases: Array<[string[], string]> = [
  [['up', '--netns', NS, '--seed', '-1', '--loss', '1%'], '--seed expects an integer from 0 to 4294967295, got "-1"'],
  [['up', '--netns', NS, '--mtu', '-5'], '--mtu expects an integer from 68 to 65535, got "-5"'],
  [['up', '--netns', NS, '--mtu'], '--mtu needs a value: --mtu N'],
  [['up', '--netns', NS, '--loss'], '--loss needs a value: --loss [DIR:]P'],
  [['up', '--netns', NS, '--tun', '--create'], '--tun needs a value: --tun NAME, got the option --create'],
  [['up', '--netns', NS, '--create=yes'], '--create takes no value, got "yes"'],
  [['up', '--netns', NS, '--frobnicate'], `up: unknown option --frobnicate (the options: ${CLI} up --help)`],
  [['up', '--netns', NS, '--servics', 'echo'], 'up: unknown option --servics (did you mean --services?)'],
  [['up', '--netns', NS, 'extra'], `up takes no arguments, got "extra" (the options: ${CLI} up --help)`],
  [['up', '--netns', NS, '--sysctl', 'tcp_syn_retrie=3'], '--sysctl: unknown sysctl tcp_syn_retrie (did you mean net.ipv4.tcp_syn_retries or net.ipv4.tcp_synack_retries?)'],
  [['up', '--netns', NS, '--sysctl', 'tcp_syn_retries'], '--sysctl "tcp_syn_retries": expected NAME=VALUE, e.g. net.ipv4.tcp_syn_retries=3'],
  [['up', '--netns', NS, '--sysctl', 'tcp_syn_retries=-1'], '--sysctl: sysctl net.ipv4.tcp_syn_retries: -1 is out of range: Linux takes 1 to 127 (EINVAL)'],
  [['up', '--netns', NS, '--sysctl', 'net.ipv4.ip_local_port_range=2000 1500'], '--sysctl: sysctl net.ipv4.ip_local_port_range: the low end 2000 is above the high end 1500 (EINVAL)'],
  [['up', '--netns', NS, '--ctl'], '--ctl needs a value: --ctl PATH'],
  [['connect', '--netns', NS, '--bogus', '198.18.0.1', '7'], `connect: unknown option --bogus (the options: ${CLI} connect --help)`],
  [['connect', '--netns', NS, '--verbos', '198.18.0.1', '7'], 'connect: unknown option --verbos (did you mean --verbose?)'],
  [['connect', '--netns', NS, '198.18.0.1', '-5'], 'PORT expects an integer from 1 to 65535, got "-5"'],
  [['connect', '--netns', NS, '198.18.0.1', '7', '8'], 'connect takes HOST and PORT only, got 3 arguments: "198.18.0.1" "7" "8"'],
  [['connect', '--netns', NS, '198.18.0.1', '7', '--mtu'], '--mtu needs a value: --mtu N'],
  [['ss', '--pid', '-1'], '--pid expects an integer from 1 to 4194304, got "-1"'],
  [['ss', '-K', '--sport', '-1'], '--sport expects an integer from 1 to 65535, got "-1"'],
  [['ss', '-K', '--sport'], '--sport needs a value: --sport PORT'],
  [['ss', '-x'], `ss: unknown option -x (the options: ${CLI} ss --help)`],
  [['nstat', '--bogus'], 'nstat: unknown option --bogus (nstat takes --ctl PATH, --pid PID, --json, -a/--absolute, -r/--reset, -s/--no-update, -z/--zeros, -h/--help)'],
  [['nstat', '--pid'], '--pid needs a value: --pid PID'],
  [['timeline', 'f', '--kind'], '--kind needs a value: --kind LIST'],
  [['timeline', 'a', 'b'], 'timeline takes one FILE, got 2: "a" "b"'],
  [['plot'], `plot needs FILE (try: ${CLI} plot --help)`],
  [['plot', 'f'], 'plot needs -o OUT.svg or -o OUT.png (or --list)'],
  [['plot', 'f', '-o', 'g.gif'], '-o: "g.gif" must end in .svg or .png'],
  [['plot', 'f', '--list', '--panes', 'x'], '--panes: unknown pane "x" (known: tsg, cwnd, rtt, inflight)'],
  [['pkt', '--seed', '-1', 'x.pkt'], '--seed expects an integer from 0 to 4294967295, got "-1"'],
  [['pkt', '--bogus', 'x.pkt'], `pkt: unknown option --bogus (the options: ${CLI} pkt --help)`],
  [['pkt', '--tolerence_usecs=5', 'x.pkt'], 'pkt: unknown option --tolerence_usecs (did you mean --tolerance_usecs?)'],
  [['pkt', '--mtu=big', 'x.pkt'], 'bad --mtu: big'],
  [['pkt', '-D', 'NOVALUE', 'x.pkt'], 'bad definition: NOVALUE'],
  [['pkt', 'x.pkt', '-D'], '-D needs a value: -D NAME=VALUE'],
  [['pkt', '--send_omit_free=1', 'x.pkt'], '--send_omit_free takes no value, got "1"'],
  [['pkt'], `pkt needs at least one FILE.pkt (try: ${CLI} pkt --help)`],
  [['scenario', 'run', 'x', '--against'], '--against needs a value: --against WHAT'],
  [['scenario', 'run'], `scenario run takes one NAME, got none (${CLI} scenario list shows them)`],
  [['scenario', 'table', '--x'], 'scenario table: unknown option --x (scenario table takes --family 4|6|both, --offload on|off, -h/--help)'],
  [['scenario', 'table', '--offload', 'maybe'], '--offload "maybe": expected on or off'],
  [['scenario', 'bogus'], `unknown scenario subcommand "bogus": expected list, run NAME or table (try: ${CLI} scenario --help)`],
  [['uo'], `unknown command "uo": did you mean up? (try: ${CLI} --help)`],
  [['--bogus'], `unknown option --bogus before the command (the options: -h/--help, -V/--version; try: ${CLI} --help)`],
  [['help', 'bogus'], `unknown command "bogus": the commands are up, connect, scenario, pkt, ss, nstat, timeline, plot (try: ${CLI} --help)`],
];

for (const [args, line] of cases) {
  test(`tcpstack ${args.join(' ').replace(NS, 'NS')} → exit 2: ${line.replace(CLI, 'CLI')}`, (t) => {
    const r = spawnSync(CLI, args, { encoding: 'utf8', timeout: 20_000, env: { ...process.env, TCPSTACK_RUN_DIR: RUN_DIR } });
    t.is(r.status, 2, r.stderr);
    t.is(r.stderr, `tcpstack: error: ${line}\n`);
    t.is(r.stdout, '');
    t.false(netnsExists(NS), 'nothing was created');
  });
}

test('--sysctl takes the short names docs/cli.md lists, and the full ones', (t) => {
  t.is(sysctlFullName('tcp_syn_retries'), 'net.ipv4.tcp_syn_retries');
  t.is(sysctlFullName('somaxconn'), 'net.core.somaxconn');
  t.is(sysctlFullName('net.ipv4.tcp_syn_retries'), 'net.ipv4.tcp_syn_retries');
  t.is(deviceConfig({ sysctl: ['tcp_syn_retries=3'] }).sysctl.tcp_syn_retries, 3);
  const error = t.throws(() => deviceConfig({ sysctl: ['net.ipv4.nonsense=1'] }), { instanceOf: UsageError });
  t.is(error!.message, '--sysctl: unknown sysctl net.ipv4.nonsense (the names: tcpstack up --help)');
});

test('--attach to a missing device suggests creating it in a namespace, never in the host one', (t) => {
  const enodev = Object.assign(new Error('no persistent TUN device'), { code: 'ENODEV' });
  const inNs = attachFailure(deviceConfig({ attach: true, tun: 'nosuch0', netns: 'lab' }), enodev) as Error;
  t.is(inNs.message, 'no persistent TUN device nosuch0 in namespace lab: create it there with `ip netns exec lab ip tuntap add dev nosuch0 mode tun`, or leave out --attach');
  const here = attachFailure(deviceConfig({ attach: true, tun: 'nosuch0' }), enodev) as Error;
  t.is(
    here.message,
    'no persistent TUN device nosuch0 in this namespace: create one in a namespace of its own with `ip netns add NS && ip netns exec NS ip tuntap add dev nosuch0 mode tun` and run with --netns NS, or leave out --attach',
  );
  const other = new Error('busy');
  t.is(attachFailure(deviceConfig({ attach: true }), other), other, 'other failures pass unchanged');
});

const interop = interopSkipReason(['ip']) === undefined ? test.serial : test.skip;

interop('up --attach to a missing device in --netns names the namespaced command, exit 1', (t) => {
  const netns = uniqueNetns('misuse');
  t.teardown(() => removeNetns(netns));
  const r = spawnSync(CLI, ['up', '--attach', '--tun', 'nosuch0', '--netns', netns, '--ctl', 'none'], { encoding: 'utf8', timeout: 20_000 });
  t.is(r.status, 1, r.stderr);
  t.is(
    r.stderr,
    `tcpstack: no persistent TUN device nosuch0 in namespace ${netns}: create it there with \`ip netns exec ${netns} ip tuntap add dev nosuch0 mode tun\`, or leave out --attach\n`,
  );
  t.false(netnsExists(netns), 'the namespace made for the attempt is removed');
});
