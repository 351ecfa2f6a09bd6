/** Command-line misuse: one clear line on stderr and exit status 2, before anything is created. */
import test from 'ava';
import { runCli } from '../helpers/interop.ts';

const misuse: Array<[string[], RegExp]> = [
  [['bogus'], /unknown command "bogus"/],
  [['up', '--mtu', '10'], /--mtu expects an integer from 68 to 65535, got 10/],
  [['up', '--mtu', 'big'], /--mtu expects an integer/],
  [['up', '--addr', '300.1.1.1'], /--addr "300\.1\.1\.1" is not an IPv4 address/],
  [['up', '--peer', '198.18.0.1'], /--peer "198\.18\.0\.1" is not A\.B\.C\.D\/N/],
  [['up', '--addr', '10.0.0.2'], /--addr 10\.0\.0\.2 is outside --peer 198\.18\.0\.1\/24/],
  [['up', '--addr', '198.18.0.1'], /--addr and --peer must differ/],
  [['up', '--attach', '--peer', '198.18.0.1/24'], /--peer only applies with --create/],
  [['up', '--create', '--attach'], /--create and --attach exclude each other/],
  [['up', '--tun', 'a-name-that-is-too-long'], /--tun .*1-15 characters/],
  [['up', '--netns', 'bad/name'], /--netns .*letters, digits/],
  [['up', '--sysctl', 'net.ipv4.nonsense=1'], /unknown sysctl net\.ipv4\.nonsense/],
  [['up', '--sysctl', 'net.ipv4.ipfrag_time'], /expected NAME=VALUE/],
  [['up', '--frobnicate'], /up: unknown option --frobnicate \(the options: .*tcpstack up --help\)/],
  [['up', '--services', 'gopher'], /--services: unknown service "gopher" \(known: echo, discard, daytime, chargen, chat, http, partial-read, close-on-accept, linger0, no-accept, no-read, lab\)/],
  [['up', '--services', 'echo:0'], /--services: "echo:0": the port must be an integer from 1 to 65535/],
  [['up', '--services', 'http:http'], /--services: "http:http": the port must be/],
  [['up', '--services', 'echo,,chat'], /--services .*empty entry/],
  [['up', '--services', ''], /--services: empty list/],
  [['up', '--services', 'echo:80,http'], /port 80 is given to both echo and http/],
  [['up', '--services'], /--services/],
  [['up', '--services', 'no-accept:4004:-1'], /--services: "no-accept:4004:-1": BACKLOG must be an integer from 0 to 4096/],
  [['up', '--services', 'lab:1'], /"lab" takes no port/],
  [['connect'], /connect needs HOST and PORT/],
  [['connect', '198.18.0.1'], /connect needs HOST and PORT/],
  [['connect', '198.18.0.1', '7', '8'], /connect takes HOST and PORT only/],
  [['connect', 'example.com', '80'], /HOST "example\.com" is not an IPv4 or IPv6 address/],
  [['connect', '2001:2::1:', '80'], /HOST "2001:2::1:" is not an IPv4 or IPv6 address/],
  [['connect', '--addr6', 'none', '2001:2::1', '80'], /HOST 2001:2::1 is an IPv6 address, and --addr6 none leaves the stack without one/],
  [['connect', '198.18.0.1', '0'], /PORT expects an integer from 1 to 65535, got 0/],
  [['connect', '198.18.0.1', 'http'], /PORT expects an integer/],
  [['connect', '--mtu', '10', '198.18.0.1', '7'], /--mtu expects an integer from 68 to 65535, got 10/],
  [['connect', '--attach', '--peer', '198.18.0.1/24', '198.18.0.1', '7'], /--peer only applies with --create/],
  [['connect', '--services', 'echo', '198.18.0.1', '7'], /connect: unknown option --services \(the options: .*tcpstack connect --help\)/],
];

for (const [args, message] of misuse) {
  test(`tcpstack ${args.map((a) => (a === '' ? "''" : a)).join(' ')} → exit 2 with one line`, (t) => {
    const r = runCli(args);
    t.is(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    t.is(lines.length, 1, r.stderr);
    t.regex(lines[0]!, /^tcpstack: error: /);
    t.regex(lines[0]!, message);
    t.is(r.stdout, '', 'nothing started');
  });
}

test('tcpstack --help lists the commands; no command at all prints it and exits 2', (t) => {
  const help = runCli(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /^usage: tcpstack <command>/);
  t.regex(help.stdout, /\bup\b/);
  t.is(runCli([]).code, 2);
});

test('tcpstack up --help documents every option', (t) => {
  const r = runCli(['up', '--help']);
  t.is(r.code, 0);
  for (const option of ['--tun', '--create', '--attach', '--netns', '--addr', '--peer', '--mtu', '--pcap', '--sysctl', '--services', '--help']) {
    t.true(r.stdout.includes(option), option);
  }
  t.regex(r.stdout, /default tcp0/);
  t.regex(r.stdout, /default 198\.18\.0\.2/);
  for (const service of ['echo:7', 'discard:9', 'daytime:13', 'chargen:19', 'chat:23', 'http:80']) t.true(r.stdout.includes(service), service);
  for (const service of ['partial-read:4001', 'close-on-accept:4002', 'linger0:4003', 'no-accept:4004[:BACKLOG]', 'no-read:4005', '"lab"']) {
    t.true(r.stdout.includes(service), service);
  }
  t.regex(r.stdout, /SIGUSR1 +crash and restart the host/);
  t.regex(r.stdout, /SIGUSR2 +freeze the applications/);
  t.regex(r.stdout, /net\.core\.somaxconn/, 'sysctl names as Linux spells them');
});

test('tcpstack connect --help documents every option', (t) => {
  const r = runCli(['connect', '--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^usage: tcpstack connect \[options\] HOST PORT/);
  for (const option of ['--tun', '--create', '--attach', '--netns', '--addr', '--peer', '--mtu', '--pcap', '--sysctl', '--verbose', '--counters', '--help', 'HOST', 'PORT']) {
    t.true(r.stdout.includes(option), option);
  }
  t.regex(r.stdout, /ECONNREFUSED/);
});

test('tcpstack --help lists connect', (t) => {
  t.regex(runCli(['--help']).stdout, /\bconnect\b/);
});
