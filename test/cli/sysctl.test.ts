/**
 * `--sysctl` for the timers the lab experiments turn down (keepalive,
 * FIN_WAIT2, retries, TIME_WAIT): the names are accepted as Linux spells
 * them, and the values reach the stack and change what it does, in virtual
 * time on two stacks (the one configured by the CLI's parser is A).
 */
import test from 'ava';
import { deviceConfig } from '../../cli/device.ts';
import { UsageError } from '../../cli/usage.ts';
import type { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { Stack } from '../../stack/stack.ts';
import { SocketError } from '../../stack/socket/types.ts';
import { VirtualClock } from '../../stack/clock.ts';
import { SeededRandom } from '../../stack/random.ts';
import type { Sysctls } from '../../stack/sysctl.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { ADDR_A, ADDR_B, World } from '../helpers/world.ts';

const B = formatIpv4(ADDR_B);

/** The sysctls `--sysctl NAME=VALUE ...` gives the stack. */
function cliSysctl(...settings: string[]): Sysctls {
  return deviceConfig({ sysctl: settings }).sysctl;
}

const TIMER_SYSCTLS: Array<[string, keyof Sysctls, number]> = [
  ['net.ipv4.tcp_keepalive_time', 'tcp_keepalive_time', 5],
  ['net.ipv4.tcp_keepalive_intvl', 'tcp_keepalive_intvl', 2],
  ['net.ipv4.tcp_keepalive_probes', 'tcp_keepalive_probes', 3],
  ['net.ipv4.tcp_fin_timeout', 'tcp_fin_timeout', 3],
  ['net.ipv4.tcp_retries2', 'tcp_retries2', 3],
  ['net.ipv4.tcp_syn_retries', 'tcp_syn_retries', 2],
  ['net.ipv4.tcp_synack_retries', 'tcp_synack_retries', 1],
  ['net.ipv4.tcp_syn_linear_timeouts', 'tcp_syn_linear_timeouts', 0],
  ['net.ipv4.tcp_orphan_retries', 'tcp_orphan_retries', 2],
  ['net.ipv4.tcp_early_retrans', 'tcp_early_retrans', 0],
  ['net.ipv4.tcp_rfc1337', 'tcp_rfc1337', 1],
  ['net.ipv4.tcp_max_tw_buckets', 'tcp_max_tw_buckets', 10],
  ['net.ipv4.tcp_abort_on_overflow', 'tcp_abort_on_overflow', 1],
  ['net.ipv4.tcp_syncookies', 'tcp_syncookies', 0],
  ['net.core.somaxconn', 'somaxconn', 8],
];

test('--sysctl accepts the keepalive, FIN_WAIT2, retry and TIME_WAIT names and the stack gets the values', (t) => {
  const sysctl = cliSysctl(...TIMER_SYSCTLS.map(([name, , value]) => `${name}=${value}`));
  const stack = new Stack({ address: ADDR_A, clock: new VirtualClock(0), random: new SeededRandom(1), link: { send() {} }, sysctl });
  for (const [name, key, value] of TIMER_SYSCTLS) t.is(stack.sysctl[key], value, name);
  // /proc/sys paths work too, and misspellings are refused.
  t.is(cliSysctl('/proc/sys/net/ipv4/tcp_fin_timeout=7').tcp_fin_timeout, 7);
  t.throws(() => cliSysctl('net.ipv4.tcp_keepalive_timeout=1'), { instanceOf: UsageError, message: /unknown sysctl/ });
  t.throws(() => cliSysctl('net.ipv4.somaxconn=1'), { instanceOf: UsageError, message: /unknown sysctl/ });
});

test('--sysctl tcp_rmem takes Linux\'s three values (min, default, max) and tcp_moderate_rcvbuf 0-255; a connection\'s buffer starts at the default', (t) => {
  const sysctl = cliSysctl('net.ipv4.tcp_rmem=4096 65536 1048576', 'tcp_moderate_rcvbuf=0');
  t.deepEqual([sysctl.tcp_rmem, sysctl.tcp_moderate_rcvbuf], [[4096, 65536, 1048576], 0]);
  t.throws(() => cliSysctl('tcp_rmem=4096 65536'), { instanceOf: UsageError, message: /takes 3 integers/ });
  t.throws(() => cliSysctl('tcp_moderate_rcvbuf=256'), { instanceOf: UsageError, message: /out of range/ });
  const w = new World({ b: { sysctl } });
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(4);
  const client = w.a.tcp.socket();
  client.connect(B, 7);
  w.run(1000, () => client.state === 'ESTABLISHED');
  w.run(w.clock.now() + 100);
  t.is((server.accept() as TcpEndpoint).getsockopt('SO_RCVBUF'), 65536);
});

test('tcp_syn_retries=2 tcp_syn_linear_timeouts=0: SYNs at 0, 1, 3 s, ETIMEDOUT at 7 s', (t) => {
  const w = new World({ a: { sysctl: cliSysctl('net.ipv4.tcp_syn_retries=2', 'net.ipv4.tcp_syn_linear_timeouts=0') } });
  w.filter = (p, from) => (from === 'a' ? [] : [p]); // B never hears A
  const c = w.a.tcp.socket();
  c.connect(B, 7);
  w.run(60_000, () => c.state === 'CLOSED');
  t.deepEqual(
    w.log.filter((e) => e.from === 'a').map((e) => e.t),
    [0, 1000, 3000],
  );
  t.is(w.clock.now(), 7000);
  t.throws(() => c.read(), { instanceOf: SocketError, code: 'ETIMEDOUT' });
});

test('tcp_synack_retries=1: the SYN-ACK is sent at 0 and 1 s, the request is dropped at 3 s', (t) => {
  const w = new World({ b: { sysctl: cliSysctl('net.ipv4.tcp_synack_retries=1') } });
  const listener = w.b.tcp.socket();
  listener.bind(0, 7);
  listener.listen(8);
  const synAcks: number[] = [];
  let fromA = 0;
  // Only the first SYN gets through (a retransmitted SYN would re-arm the request), no SYN-ACK does.
  w.filter = (p, from, now) => {
    if (from === 'b') synAcks.push(now);
    return from === 'a' && fromA++ === 0 ? [p] : [];
  };
  const c = w.a.tcp.socket();
  c.connect(B, 7);
  w.run(2900);
  t.is(w.b.tcp.listeners()[0]!.synQueue, 1);
  w.run(3100);
  t.is(w.b.tcp.listeners()[0]!.synQueue, 0, 'gone when the last SYN-ACK timed out');
  t.deepEqual(synAcks, [0, 1000]);
  c.close();
  listener.close();
});

test('keepalive 2 s / 1 s / 2 probes: probes at 2 and 3 s of silence, ETIMEDOUT at 4 s', (t) => {
  const w = new World({
    a: { sysctl: cliSysctl('net.ipv4.tcp_keepalive_time=2', 'net.ipv4.tcp_keepalive_intvl=1', 'net.ipv4.tcp_keepalive_probes=2') },
  });
  const listener = w.b.tcp.socket();
  listener.bind(0, 7);
  listener.listen(8);
  const c = w.a.tcp.socket();
  c.setKeepAlive(true);
  c.connect(B, 7);
  w.run(1000, () => c.state === 'ESTABLISHED');
  const start = w.clock.now();
  w.filter = () => []; // the peer vanishes
  w.run(start + 60_000, () => c.state === 'CLOSED');
  t.is(w.a.counters.TcpExtTCPKeepAlive, 2);
  t.is(w.clock.now() - start, 4000);
  t.throws(() => c.read(), { instanceOf: SocketError, code: 'ETIMEDOUT' });
  listener.close();
});

test('tcp_fin_timeout=3: an orphaned FIN_WAIT2 lasts 3 s instead of 60', (t) => {
  const w = new World({ b: { sysctl: cliSysctl('net.ipv4.tcp_fin_timeout=3') } });
  const listener = w.b.tcp.socket();
  listener.bind(0, 7);
  listener.listen(8);
  const c = w.a.tcp.socket();
  c.connect(B, 7);
  w.run(1000, () => c.state === 'ESTABLISHED');
  const server = listener.accept()!;
  server.close(); // the client never closes: B sits in FIN_WAIT2 as an orphan
  w.run(w.clock.now() + 1000, () => c.state === 'CLOSE_WAIT');
  const closedAt = w.clock.now();
  const states = (): string[] => w.b.tcp.connections().map((i) => i.state);
  w.run(closedAt + 2900);
  t.deepEqual(states(), ['FIN_WAIT2']);
  w.run(closedAt + 3100);
  t.deepEqual(states(), [], 'gone after 3 s');
  listener.close();
});

test('tcp_retries2=3: a connection to a vanished peer gives up within seconds, not 15 minutes', (t) => {
  const w = new World({ a: { sysctl: cliSysctl('net.ipv4.tcp_retries2=3') } });
  const listener = w.b.tcp.socket();
  listener.bind(0, 7);
  listener.listen(8);
  const c = w.a.tcp.socket();
  c.connect(B, 7);
  w.run(1000, () => c.state === 'ESTABLISHED');
  w.filter = () => [];
  const start = w.clock.now();
  c.write(new Uint8Array(100));
  w.run(start + 60_000, () => c.state === 'CLOSED');
  t.is(c.state, 'CLOSED');
  const elapsed = w.clock.now() - start;
  t.true(elapsed > 2000 && elapsed < 10_000, `gave up after ${elapsed} ms`);
  t.throws(() => c.read(), { instanceOf: SocketError, code: 'ETIMEDOUT' });
  listener.close();
});

test('--sysctl net.ipv4.tcp_congestion_control takes cubic (the default) or reno by name; another name is ENOENT', (t) => {
  t.is(cliSysctl().tcp_congestion_control, 'cubic');
  t.is(cliSysctl('net.ipv4.tcp_congestion_control=reno').tcp_congestion_control, 'reno');
  t.is(cliSysctl('tcp_congestion_control=cubic').tcp_congestion_control, 'cubic');
  t.throws(() => cliSysctl('net.ipv4.tcp_congestion_control=bbr'), {
    instanceOf: UsageError,
    message: '--sysctl: sysctl net.ipv4.tcp_congestion_control: "bbr" is not available: this stack has cubic, reno (ENOENT)',
  });
});
