/**
 * The control protocol of a running `up`, in-process: nstat's history rules
 * on a fake target, then the real unix socket server in front of two stacks
 * in virtual time (ss and nstat as `tcpstack ss` / `tcpstack nstat` ask them),
 * and how the client finds a running up. Plus the ss-style formatting.
 */
import test from 'ava';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctlRequest } from '../../cli/ctl/client.ts';
import { formatNstatRows, globToRegExp, resolveSocket } from '../../cli/ctl/command.ts';
import { runningPids, socketPathFor } from '../../cli/ctl/paths.ts';
import { ControlHandler, type ControlTarget } from '../../cli/ctl/protocol.ts';
import { ControlServer } from '../../cli/ctl/server.ts';
import { nonzeroCounters, statusPage } from '../../cli/services/http.ts';
import { formatSs, ssTime, ssTimer } from '../../cli/ss.ts';
import { FatalError, UsageError } from '../../cli/usage.ts';
import type { TcpInfo } from '../../stack/socket/types.ts';
import { COUNTER_NAMES } from '../../stack/counters.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';
import { ADDR_B, World } from '../helpers/world.ts';

const RUN_DIR = mkdtempSync(join(tmpdir(), 'tcpstack-ctl-'));
process.env.TCPSTACK_RUN_DIR = RUN_DIR;
test.after.always(() => rmSync(RUN_DIR, { recursive: true, force: true }));

function fakeTarget(rows: Map<string, number>): ControlTarget {
  return {
    info: () => ({ tun: 'tcp0', services: 'echo:7' }),
    connections: () => [],
    listeners: () => [],
    destroy: () => 0,
    // All of them, zeros too, as up's target gives them (cli/ctl/start.ts counterRows).
    counters: () => [...rows],
  };
}

test('nstat: increments since the previous call, -a absolute, -s keeps the history, --reset starts over; the rate is the increase per second since the history moved', (t) => {
  const rows = new Map([
    ['TcpInSegs', 10],
    ['TcpOutSegs', 4],
    ['drop NO_SOCKET', 0],
  ]);
  let now = 1000;
  const h = new ControlHandler(fakeTarget(rows), () => now, 4242);
  t.deepEqual(h.handle({ cmd: 'nstat' }), { ok: true, rows: [['TcpInSegs', 10, 0], ['TcpOutSegs', 4, 0]], interval: 0 }, 'first call: since start, no time for a rate');
  now = 3500;
  t.deepEqual(h.handle({ cmd: 'nstat' }), { ok: true, rows: [], interval: 2.5 }, 'nothing moved');
  rows.set('TcpInSegs', 15);
  rows.set('drop NO_SOCKET', 2);
  now = 4000;
  t.deepEqual(h.handle({ cmd: 'nstat', noUpdate: true }), { ok: true, rows: [['TcpInSegs', 5, 10], ['drop NO_SOCKET', 2, 4]], interval: 0.5 }, '5 and 2 in half a second');
  t.deepEqual(h.handle({ cmd: 'nstat' }), { ok: true, rows: [['TcpInSegs', 5, 10], ['drop NO_SOCKET', 2, 4]], interval: 0.5 }, '-s did not move the history');
  t.deepEqual(h.handle({ cmd: 'nstat' }), { ok: true, rows: [], interval: 0 });
  t.deepEqual(h.handle({ cmd: 'nstat', absolute: true }), { ok: true, rows: [['TcpInSegs', 15, 0], ['TcpOutSegs', 4, 0], ['drop NO_SOCKET', 2, 0]], interval: 3 }, '-a: values since start; rates since the last call');
  rows.set('TcpOutSegs', 9);
  t.deepEqual(h.handle({ cmd: 'nstat', reset: true }), { ok: true, rows: [['TcpInSegs', 15, 5], ['TcpOutSegs', 9, 3], ['drop NO_SOCKET', 2, 2 / 3]], interval: 3 }, '-r: since start, rates too');
  t.deepEqual(h.handle({ cmd: 'nstat' }), { ok: true, rows: [], interval: 0 });
  now = 5000;
  rows.set('TcpInSegs', 20);
  t.deepEqual(h.handle({ cmd: 'nstat', absolute: true }), { ok: true, rows: [['TcpInSegs', 20, 5], ['TcpOutSegs', 9, 0], ['drop NO_SOCKET', 2, 0]], interval: 4 });
});

test('nstat -z shows the counters that did not move; a gauge back at zero shows its decrease', (t) => {
  const rows = new Map([
    ['TcpCurrEstab', 1],
    ['TcpInSegs', 3],
    ['drop NO_SOCKET', 0],
  ]);
  let now = 0;
  const h = new ControlHandler(fakeTarget(rows), () => now, 4242);
  h.handle({ cmd: 'nstat' });
  now = 2000;
  rows.set('TcpCurrEstab', 0);
  t.deepEqual(h.handle({ cmd: 'nstat', noUpdate: true }), { ok: true, rows: [['TcpCurrEstab', -1, -0.5]], interval: 2 });
  t.deepEqual(h.handle({ cmd: 'nstat', zeros: true }), { ok: true, rows: [['TcpCurrEstab', -1, -0.5], ['TcpInSegs', 0, 0], ['drop NO_SOCKET', 0, 0]], interval: 2 });
});

test('nstat prints three columns as iproute2 nstat does: %-32s%-16llu%6.1f', (t) => {
  t.is(
    formatNstatRows([
      ['TcpInSegs', 12, 2.4],
      ['TcpExtTCPLossProbes', 3, 0],
      ['drop NO_SOCKET', 1234567, 1234.56],
    ]),
    ['TcpInSegs                       12                 2.4', 'TcpExtTCPLossProbes             3                  0.0', 'drop NO_SOCKET                  1234567         1234.6'].join('\n'),
  );
});

test('info, and what a bad request gets', (t) => {
  let now = 0;
  const h = new ControlHandler(fakeTarget(new Map()), () => now, 4242);
  now = 1500;
  t.deepEqual(h.handle({ cmd: 'info' }), { ok: true, pid: 4242, fields: { tun: 'tcp0', services: 'echo:7' }, uptime: 1.5 });
  t.deepEqual(h.handle({ cmd: 'ss' }), { ok: true, connections: [], listeners: [] });
  t.is(h.handleLine('{"cmd":"frobnicate"}'), '{"ok":false,"error":"unknown command \\"frobnicate\\" (known: info, ss, kill, nstat)"}');
  t.is(h.handleLine('nstat'), '{"ok":false,"error":"bad request: not JSON"}');
  t.is(h.handleLine('[1]'), '{"ok":false,"error":"bad request: expected {\\"cmd\\": ...}"}');
  t.is(h.handleLine('{"cmd":7}'), '{"ok":false,"error":"bad request: expected {\\"cmd\\": ...}"}');
  const broken = new ControlHandler({ ...fakeTarget(new Map()), connections: () => { throw new Error('boom'); } });
  t.deepEqual(broken.handle({ cmd: 'ss' }), { ok: false, error: 'internal error: boom' });
});

test('over the unix socket: ss lists a live connection, nstat gives deltas, close removes the socket', async (t) => {
  const w = new World();
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(8);
  let child: ReturnType<typeof server.accept> = null;
  server.onEvent = () => {
    child ??= server.accept();
  };
  const client = w.a.tcp.socket();
  client.connect(formatIpv4(ADDR_B), 7);
  w.run(1000, () => client.state === 'ESTABLISHED' && child !== null);
  const path = join(RUN_DIR, 'unit.sock');
  const ctl = await ControlServer.listen(path, {
    info: () => ({ addr: formatIpv4(w.b.address) }),
    connections: () => w.b.tcp.connections(),
    listeners: () => w.b.tcp.listeners(),
    counters: () => nonzeroCounters({ counters: w.b.counters, drops: w.b.drops }),
    destroy: (f) => w.b.tcp.destroy({ localPort: f.localPort, remotePort: f.remotePort, remoteAddress: f.remoteAddress }),
  });
  try {
    t.is(statSync(path).mode & 0o777, 0o600, 'only the owner may ask');
    const [info, ss, first] = await ctlRequest(path, [{ cmd: 'info' }, { cmd: 'ss' }, { cmd: 'nstat' }]);
    t.like(info, { ok: true, fields: { addr: '198.18.0.2' }, pid: process.pid });
    t.true(ss!.ok && 'connections' in ss!);
    if (!ss!.ok || !('connections' in ss!)) return;
    t.deepEqual(ss.listeners, [{ family: 4, v6only: false, localAddress: '0.0.0.0', localPort: 7, backlog: 8, acceptQueue: 0, synQueue: 0 }]);
    t.is(ss.connections.length, 1);
    t.like(ss.connections[0], { state: 'ESTABLISHED', localPort: 7, remotePort: client.localPort, remoteAddress: '198.18.0.1', mss: 1448, cwnd: 10 });
    t.like(first, { ok: true, rows: [['IpInReceives', 2], ['IpInDelivers', 2], ['IpOutRequests', 1]] });
    t.true(first!.ok && 'rows' in first! && first.rows.some(([n, v]) => n === 'TcpPassiveOpens' && v === 1));

    client.write(new Uint8Array(3000));
    w.run(2000, () => child!.readableBytes === 3000);
    const [delta] = await ctlRequest(path, [{ cmd: 'nstat' }]);
    t.true(delta!.ok && 'rows' in delta!);
    if (!delta!.ok || !('rows' in delta!)) return;
    const moved = new Map(delta.rows.map(([n, v]) => [n, v]));
    t.is(moved.get('TcpInSegs'), w.b.counters.TcpInSegs - 2, 'only what moved since the last call');
    t.false(moved.has('TcpPassiveOpens'));
    const [again] = await ctlRequest(path, [{ cmd: 'nstat' }]);
    t.deepEqual(again, { ok: true, rows: [], interval: (again as { interval: number }).interval });

    // ss -K: the wrong peer port matches nothing; the right one aborts the child, the client hears a reset.
    const [none, killed, bad] = await ctlRequest(path, [
      { cmd: 'kill', localPort: 7, remotePort: client.localPort + 1 },
      { cmd: 'kill', localPort: 7, remoteAddress: '198.18.0.1', remotePort: client.localPort },
      { cmd: 'kill', localPort: 0 },
    ]);
    t.deepEqual([none, killed], [{ ok: true, killed: 0 }, { ok: true, killed: 1 }]);
    t.deepEqual(bad, { ok: false, error: 'bad request: kill needs localPort (1..65535)' });
    w.run(1000, () => client.state === 'CLOSED');
    t.is(client.getError(), 'ECONNRESET');
    t.is(child!.getError(), 'ECONNABORTED');
    t.is(w.b.counters.TcpOutRsts, 1);
  } finally {
    ctl.close();
  }
  t.false(existsSync(path), 'the socket file is gone');
  const error = await t.throwsAsync(ctlRequest(path, [{ cmd: 'ss' }]), { instanceOf: FatalError });
  t.is(error!.message, `no tcpstack up or connect is listening on ${path} (ENOENT)`);
});

test('the client finds the one running up, refuses to guess between several, skips dead ones', async (t) => {
  t.deepEqual(runningPids(), []);
  t.throws(() => resolveSocket({}), { instanceOf: FatalError, message: `no running tcpstack up or connect (no live control socket in ${RUN_DIR}; start one with: tcpstack up)` });
  writeFileSync(join(RUN_DIR, '999999999.sock'), ''); // no such process: a stale socket of a killed up
  t.deepEqual(runningPids(), []);
  const ours = await ControlServer.listen(socketPathFor(process.pid), fakeTarget(new Map([['TcpInSegs', 1]])));
  try {
    t.is(resolveSocket({}), join(RUN_DIR, `${process.pid}.sock`));
    t.is(resolveSocket({ pid: String(process.pid) }), join(RUN_DIR, `${process.pid}.sock`));
    t.is(resolveSocket({ ctl: '/some/where.sock' }), '/some/where.sock');
    t.throws(() => resolveSocket({ ctl: 'a', pid: '1' }), { instanceOf: UsageError, message: '--ctl and --pid exclude each other' });
    t.throws(() => resolveSocket({ pid: 'x' }), { instanceOf: UsageError, message: /--pid expects an integer/ });
    t.throws(() => resolveSocket({ pid: '999999999' }), { instanceOf: UsageError, message: /--pid expects an integer from 1 to 4194304/ });
    t.throws(() => resolveSocket({ pid: String(process.ppid) }), { instanceOf: FatalError, message: /has no control socket/ });
    writeFileSync(join(RUN_DIR, `${process.ppid}.sock`), '');
    t.throws(() => resolveSocket({}), { instanceOf: UsageError, message: `2 tcpstack up or connect processes are running (PIDs ${[process.pid, process.ppid].sort((a, b) => a - b).join(', ')}): pick one with --pid` });
    const [r] = await ctlRequest(resolveSocket({ pid: String(process.pid) }), [{ cmd: 'nstat', absolute: true }]);
    t.true(r!.ok && 'rows' in r!);
    t.deepEqual((r as { rows: Array<[string, number, number]> }).rows.map(([n, v]) => [n, v]), [['TcpInSegs', 1]]);
  } finally {
    ours.close();
    rmSync(join(RUN_DIR, `${process.ppid}.sock`), { force: true });
  }
});

test('nstat patterns are shell globs over the whole name', (t) => {
  t.true(globToRegExp('TcpExt*').test('TcpExtTCPAbortOnClose'));
  t.false(globToRegExp('TcpExt*').test('IpExtInOctets'));
  t.true(globToRegExp('drop *').test('drop NO_SOCKET'));
  t.true(globToRegExp('Tcp?nSegs').test('TcpInSegs'));
  t.false(globToRegExp('TcpIn').test('TcpInSegs'));
});

test('ss timers are printed as ss prints them', (t) => {
  const cases: Array<[number, string]> = [
    [0, '0ms'],
    [204, '204ms'],
    [1200, '1.200ms'],
    [9500, '9.500ms'],
    [10_500, '10sec'],
    [59_000, '59sec'],
    [60_000, '1min'],
    [112_400, '1min52sec'],
    [7_140_000, '119min'],
  ];
  for (const [ms, text] of cases) t.is(ssTime(ms), text, String(ms));
});

const info = (over: Partial<TcpInfo>): TcpInfo => ({
  state: 'ESTABLISHED',
  localAddress: '198.18.0.2',
  localPort: 7,
  remoteAddress: '198.18.0.1',
  remotePort: 41234,
  recvQ: 0,
  sendQ: 1448,
  rtt: 1.5,
  rttvar: 0.75,
  rto: 204,
  mss: 1448,
  cwnd: 5,
  ssthresh: 7,
  retransmits: 3,
  backoff: 1,
  sndWnd: 64512,
  rcvWnd: 65536,
  sndWscale: 10,
  rcvWscale: 10,
  timestamps: true,
  sack: true,
  timer: { on: 'on', expiresIn: 380 },
  bytesSent: 4344,
  bytesRetrans: 1448,
  bytesAcked: 2896,
  bytesReceived: 5,
  curRetrans: 1,
  probes: 0,
  unacked: 1,
  timers: [
    { on: 'on', expiresIn: 380 },
    { on: 'keepalive', expiresIn: 7_200_000 },
  ],
  lastSend: 24,
  lastRecv: 1000,
  ...over,
});

test('ss listing: ecn and ecnseen after sack, pmtu after mss, as ss -i prints them', (t) => {
  const text = formatSs([info({ ecn: true, ecnSeen: true, pmtu: 1200, mss: 1148 })], []);
  t.is(
    text.split('\n')[2],
    '\t ts sack ecn ecnseen wscale:10,10 rto:204 backoff:1 rtt:1.5/0.75 mss:1148 pmtu:1200 cwnd:5 ssthresh:7 bytes_sent:4344 bytes_retrans:1448 bytes_acked:2896 bytes_received:5 lastsnd:24 lastrcv:1000 unacked:1 retrans:1/3 snd_wnd:64512 rcv_wnd:65536',
  );
});

test('ss listing: the timer on the first line, the internals in ss -i order', (t) => {
  const text = formatSs(
    [
      info({}),
      info({ remotePort: 5, timer: { on: 'keepalive', expiresIn: 1200 }, timers: [{ on: 'delack', expiresIn: 30 }, { on: 'keepalive', expiresIn: 1200 }], probes: 2, curRetrans: 0, retransmits: 0, backoff: 0, ssthresh: 0x7fffffff, bytesRetrans: 0, unacked: 0, lastSend: 0, lastRecv: undefined }),
      info({ state: 'TIME_WAIT', remotePort: 6, mss: 0, timer: { on: 'timewait', expiresIn: 59_000 }, timers: undefined }),
      info({ state: 'FIN_WAIT2', remotePort: 8, mss: 0, timer: { on: 'fin_wait2', expiresIn: 60_000 }, timers: undefined }),
    ],
    [
      { family: 4, v6only: false, localAddress: '0.0.0.0', localPort: 7, backlog: 511, acceptQueue: 0, synQueue: 0 },
      { family: 6, v6only: true, localAddress: '::', localPort: 7, backlog: 511, acceptQueue: 0, synQueue: 0 },
      { family: 6, v6only: false, localAddress: '::', localPort: 9, backlog: 5, acceptQueue: 1, synQueue: 0 },
      { family: 6, v6only: false, localAddress: '2001:2::2', localPort: 10, backlog: 5, acceptQueue: 0, synQueue: 0 },
    ],
  );
  t.is(
    text,
    [
      'State       Recv-Q  Send-Q  Local Address:Port     Peer Address:Port',
      // As ss from iproute2 6.x writes an IPv4 listener, a v6-only one, one taking both families, one on an address.
      'LISTEN           0     511  0.0.0.0:7              0.0.0.0:*',
      'LISTEN           0     511  [::]:7                 [::]:*',
      'LISTEN           1       5  *:9                    *:*',
      'LISTEN           0       5  [2001:2::2]:10         [::]:*',
      'ESTAB            0    1448  198.18.0.2:7           198.18.0.1:41234       timer:(on,380ms,1)',
      '\t ts sack wscale:10,10 rto:204 backoff:1 rtt:1.5/0.75 mss:1448 cwnd:5 ssthresh:7 bytes_sent:4344 bytes_retrans:1448 bytes_acked:2896 bytes_received:5 lastsnd:24 lastrcv:1000 unacked:1 retrans:1/3 snd_wnd:64512 rcv_wnd:65536',
      'ESTAB            0    1448  198.18.0.2:7           198.18.0.1:5           timer:(keepalive,1.200ms,2)',
      '\t ts sack wscale:10,10 rto:204 rtt:1.5/0.75 mss:1448 cwnd:5 bytes_sent:4344 bytes_acked:2896 bytes_received:5 snd_wnd:64512 rcv_wnd:65536',
      'TIME-WAIT        0    1448  198.18.0.2:7           198.18.0.1:6           timer:(timewait,59sec,0)',
      'FIN-WAIT-2       0    1448  198.18.0.2:7           198.18.0.1:8           timer:(timewait,1min,0)',
    ].join('\n'),
  );
  t.is(ssTimer(info({ timers: [{ on: 'delack', expiresIn: 30 }] })), '', 'ss never shows the delayed-ACK timer');
  const v6 = formatSs([info({ localAddress: '2001:2::2', remoteAddress: '2001:2::1', timers: [] }), info({ localAddress: '::ffff:198.18.0.2', remoteAddress: '::ffff:198.18.0.1', remotePort: 5, timers: [] })], []).split('\n');
  t.is(v6[1], 'ESTAB            0    1448  [2001:2::2]:7          [2001:2::1]:41234');
  t.is(v6[3], 'ESTAB            0    1448  [::ffff:198.18.0.2]:7  [::ffff:198.18.0.1]:5', 'a dual-stack socket shows its IPv4 peer v4-mapped, in brackets');
  t.is(ssTimer(info({ timers: [{ on: 'persist', expiresIn: 400 }], probes: 3 })), 'timer:(persist,400ms,3)');
});

test('ss -i loss-recovery fields as in Linux ss: retrans is retransmissions in flight over the total, then lost, sacked, reordering (when not 3), reord_seen, minrtt', (t) => {
  const line = formatSs([info({ curRetrans: 0, retransOut: 2, retransmits: 5, lost: 3, sacked: 4, reordering: 5, reordSeen: 1, minRtt: 20.5 })], []).split('\n')[2]!;
  t.regex(line, / unacked:1 retrans:2\/5 lost:3 sacked:4 reordering:5 reord_seen:1 minrtt:20.5 snd_wnd:/);
  const plain = formatSs([info({ curRetrans: 0, retransOut: 0, retransmits: 0, lost: 0, sacked: 0, reordering: 3, reordSeen: 0 })], []).split('\n')[2]!;
  t.notRegex(plain, / (retrans|lost|sacked|reordering|reord_seen|minrtt):/);
});

test('nstat rows are /counters rows: Linux counters, then drop reasons, then the impairment counters', (t) => {
  const w = new World();
  w.b.counters.TcpInSegs = 3;
  w.b.drops.NO_SOCKET = 1;
  const impair: Array<[string, number]> = [['ImpairPackets', 4]];
  const h = new ControlHandler({
    info: () => ({}),
    connections: () => [],
    listeners: () => [],
    destroy: () => 0,
    counters: () => nonzeroCounters({ counters: w.b.counters, drops: w.b.drops, extraCounters: () => impair }),
  });
  const rows = (): unknown => (h.handle({ cmd: 'nstat' }) as { rows: Array<[string, number, number]> }).rows.map(([n, v]) => [n, v]);
  t.deepEqual(rows(), [['TcpInSegs', 3], ['drop NO_SOCKET', 1], ['ImpairPackets', 4]]);
  impair[0]![1] = 9;
  t.deepEqual(rows(), [['ImpairPackets', 5]]);
});

/**
 * The Ip6, Icmp6 and Udp6 lines of `nstat -az` in a fresh namespace on this
 * machine's kernel (6.18), in its order (UdpLite6 left out; the per-type
 * Icmp6InTypeN / Icmp6OutTypeN lines come after Icmp6OutMLDv2Reports, and
 * only for the types seen).
 */
const LINUX_NSTAT_IPV6 = `Ip6InReceives Ip6InHdrErrors Ip6InTooBigErrors Ip6InNoRoutes Ip6InAddrErrors Ip6InUnknownProtos Ip6InTruncatedPkts
  Ip6InDiscards Ip6InDelivers Ip6OutForwDatagrams Ip6OutRequests Ip6OutDiscards Ip6OutNoRoutes Ip6ReasmTimeout Ip6ReasmReqds Ip6ReasmOKs
  Ip6ReasmFails Ip6FragOKs Ip6FragFails Ip6FragCreates Ip6InMcastPkts Ip6OutMcastPkts Ip6InOctets Ip6OutOctets Ip6InMcastOctets
  Ip6OutMcastOctets Ip6InBcastOctets Ip6OutBcastOctets Ip6InNoECTPkts Ip6InECT1Pkts Ip6InECT0Pkts Ip6InCEPkts Ip6OutTransmits
  Icmp6InMsgs Icmp6InErrors Icmp6OutMsgs Icmp6OutErrors Icmp6InCsumErrors Icmp6OutRateLimitHost Icmp6InDestUnreachs Icmp6InPktTooBigs
  Icmp6InTimeExcds Icmp6InParmProblems Icmp6InEchos Icmp6InEchoReplies Icmp6InGroupMembQueries Icmp6InGroupMembResponses
  Icmp6InGroupMembReductions Icmp6InRouterSolicits Icmp6InRouterAdvertisements Icmp6InNeighborSolicits Icmp6InNeighborAdvertisements
  Icmp6InRedirects Icmp6InMLDv2Reports Icmp6OutDestUnreachs Icmp6OutPktTooBigs Icmp6OutTimeExcds Icmp6OutParmProblems Icmp6OutEchos
  Icmp6OutEchoReplies Icmp6OutGroupMembQueries Icmp6OutGroupMembResponses Icmp6OutGroupMembReductions Icmp6OutRouterSolicits
  Icmp6OutRouterAdvertisements Icmp6OutNeighborSolicits Icmp6OutNeighborAdvertisements Icmp6OutRedirects Icmp6OutMLDv2Reports
  Udp6InDatagrams Udp6NoPorts Udp6InErrors Udp6OutDatagrams Udp6RcvbufErrors Udp6SndbufErrors Udp6InCsumErrors Udp6IgnoredMulti
  Udp6MemErrors`.split(/\s+/);

test("nstat's IPv6 rows: Linux's names in nstat's order, after Tcp and Udp and before TcpExt", (t) => {
  const ours = COUNTER_NAMES.filter((n) => /^(Ip6|Icmp6|Udp6)/.test(n));
  const perType = ours.filter((n) => /^Icmp6(In|Out)Type\d+$/.test(n));
  // The one row Linux keeps but does not print for IPv6 (docs/cli.md).
  const named = ours.filter((n) => !perType.includes(n) && n !== 'Ip6ReasmOverlaps');
  for (const n of named) t.true(LINUX_NSTAT_IPV6.includes(n), `${n} is a name nstat prints`);
  const positions = named.map((n) => LINUX_NSTAT_IPV6.indexOf(n));
  t.deepEqual(positions, [...positions].sort((a, b) => a - b), 'in the order nstat prints them');
  const at = (n: string): number => COUNTER_NAMES.indexOf(n as (typeof COUNTER_NAMES)[number]);
  t.true(perType.every((n) => at(n) > at('Icmp6OutEchoReplies') && at(n) < at('Udp6InDatagrams')), 'the per-type lines between Icmp6 and Udp6');
  t.true(at('Ip6InReceives') > at('TcpInCsumErrors') && at('Ip6InReceives') > at('UdpInCsumErrors'));
  t.true(at('Udp6IgnoredMulti') < at('TcpExtSyncookiesSent'));
  t.is(at('Ip6ReasmOverlaps'), at('Ip6OutTransmits') + 1);
});

test('over IPv6: ss lists the connection, nstat counts it in Ip6InReceives, the status page shows [address]:port and both our addresses', async (t) => {
  const w = new World({ a: { address6: parseIpv6('2001:2::1')! }, b: { address6: parseIpv6('2001:2::2')! } });
  const server = w.b.tcp.socket(6);
  server.setV6Only(true);
  server.bind('::', 7);
  server.listen(8);
  let child: ReturnType<typeof server.accept> = null;
  server.onEvent = () => {
    child ??= server.accept();
  };
  const client = w.a.tcp.socket(6);
  client.connect('2001:2::2', 7);
  w.run(1000, () => client.state === 'ESTABLISHED' && child !== null);
  client.write(new Uint8Array(2000));
  w.run(2000, () => child!.readableBytes === 2000);
  const view = { counters: w.b.counters, drops: w.b.drops, ownAddresses: ['198.18.0.2', '2001:2::2'] };
  const path = join(RUN_DIR, 'unit6.sock');
  const ctl = await ControlServer.listen(path, {
    info: () => ({}),
    connections: () => w.b.tcp.connections(),
    listeners: () => w.b.tcp.listeners(),
    counters: () => nonzeroCounters(view),
    destroy: (f) => w.b.tcp.destroy({ localPort: f.localPort, remotePort: f.remotePort, remoteAddress: f.remoteAddress }),
  });
  try {
    const [ss, nstat] = await ctlRequest(path, [{ cmd: 'ss' }, { cmd: 'nstat' }]);
    if (!ss!.ok || !('connections' in ss!) || !nstat!.ok || !('rows' in nstat!)) return t.fail(JSON.stringify([ss, nstat]));
    t.like(ss.connections[0], { state: 'ESTABLISHED', localAddress: '2001:2::2', localPort: 7, remoteAddress: '2001:2::1', remotePort: client.localPort });
    const rows = new Map(nstat.rows.map(([n, v]) => [n, v]));
    t.is(rows.get('Ip6InReceives'), w.b.counters.Ip6InReceives);
    t.true(w.b.counters.Ip6InReceives >= 3, 'the handshake and the data');
    t.is(rows.get('IpInReceives'), undefined, 'nothing over IPv4');
    const names = nstat.rows.map(([n]) => n);
    t.true(names.indexOf('TcpPassiveOpens') < names.indexOf('Ip6InReceives'), 'Tcp before Ip6, as nstat prints them');
    t.true(names.indexOf('Ip6OutTransmits') > names.indexOf('Ip6InOctets'), 'Ip6OutTransmits last of Ip6');
    t.true(names.indexOf('Ip6OutTransmits') >= 0);
  } finally {
    ctl.close();
  }

  const page = statusPage(w.b.tcp, view);
  t.regex(page, /<h2>Addresses<\/h2>\n<table>\n<tr><th>Address<\/th><\/tr>\n<tr><td>198\.18\.0\.2<\/td><\/tr>\n<tr><td>2001:2::2<\/td><\/tr>\n<\/table>/);
  t.regex(page, /<td>\[::\]:7<\/td><td>8<\/td>/, 'the v6-only listener as ss shows it');
  t.regex(page, new RegExp(`<td>ESTAB</td><td>2000</td><td>0</td><td>\\[2001:2::2\\]:7</td><td>\\[2001:2::1\\]:${client.localPort}</td>`));
  t.regex(page, new RegExp(`<td>Ip6InReceives</td><td>${w.b.counters.Ip6InReceives}</td>`));
  // An IPv6 wildcard that takes IPv4 too is *:PORT, as ss prints it; its IPv4 peer v4-mapped, in brackets.
  const dual = w.b.tcp.socket(6);
  dual.bind('::', 9);
  dual.listen(4);
  const v4client = w.a.tcp.socket();
  v4client.connect('198.18.0.2', 9);
  w.run(w.clock.now() + 1000, () => v4client.state === 'ESTABLISHED');
  const page2 = statusPage(w.b.tcp, view);
  t.regex(page2, /<td>\*:9<\/td><td>4<\/td>/);
  t.regex(page2, new RegExp(`<td>\\[::ffff:198\\.18\\.0\\.2\\]:9</td><td>\\[::ffff:198\\.18\\.0\\.1\\]:${v4client.localPort}</td>`));
});
