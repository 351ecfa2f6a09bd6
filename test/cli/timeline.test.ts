/**
 * The timeline: exact lines for synthetic events of every kind, the filters,
 * segment events from a real stack, and the trace file round trip (what
 * `up --trace` prints live is what `tcpstack timeline FILE` prints later).
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TcpSegmentEvent, TraceEvent } from '../../stack/trace.ts';
import { tcpPacket } from '../helpers/packets.ts';
import { ACTIVE_WIN } from '../helpers/tcp-peer.ts';
import { segmentEvent } from '../../stack/tcp/trace-seg.ts';
import { formatIpv4, parseIpv4 } from '../../stack/wire/addr.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../stack/wire/tcp.ts';
import { printTimeline, parseRecord } from '../../cli/timeline/command.ts';
import { ALL, matches, parseFilterOptions, parseTraceFilter } from '../../cli/timeline/filter.ts';
import { NoWallClockError, TimelinePrinter, flagLetters, formatTime } from '../../cli/timeline/format.ts';
import { formatEpoch, formatWall, isoMicro, parseWall } from '../../cli/timeline/time.ts';
import { installLiveTrace } from '../../cli/timeline/live.ts';
import { UsageError } from '../../cli/usage.ts';
import { ADDR_B, World } from '../helpers/world.ts';

const US = parseIpv4('198.18.0.2')!;
const PEER = parseIpv4('198.18.0.1')!;

function seg(t: number, dir: 'in' | 'out', fields: Partial<TcpSegmentEvent>, conn: [number, number] = [7, 41234]): TcpSegmentEvent {
  return {
    kind: 'tcp-seg',
    t,
    dir,
    conn: `${conn[0]}-${conn[1]}`,
    local: US,
    localPort: conn[0],
    remote: PEER,
    remotePort: conn[1],
    flags: TCP_ACK,
    seq: 0,
    ack: 0,
    len: 0,
    win: 0,
    options: '',
    ...fields,
  };
}

const C = '198.18.0.2:7>198.18.0.1:41234';

/** A conversation of every kind of event, and the line each must give. */
const conversation: Array<[TraceEvent | { kind: string; t: number; [k: string]: unknown }, string]> = [
  [{ kind: 'tcp-state', t: 1000, conn: '80-5555', from: 'CLOSED', to: 'SYN_SENT' }, '0.000 80-5555 UNCONN → SYN-SENT'],
  [seg(1000, 'in', { flags: TCP_SYN, seq: 1000, win: 64240, options: 'mss 1460,sackOK,TS,nop,wscale 7', tsVal: 1, tsEcr: 0 }), `0.000 ${C} < S 0:0(0) win 64240 <mss 1460,sackOK,TS,nop,wscale 7>`],
  [
    seg(1000.4, 'out', { flags: TCP_SYN | TCP_ACK, seq: 5000, ack: 1001, win: 65160, options: 'mss 1460,sackOK,TS,nop,wscale 10' }),
    `0.000 ${C} > S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS,nop,wscale 10>`,
  ],
  [seg(1050, 'in', { seq: 1001, ack: 5001, win: 502, options: 'nop,nop,TS' }), `0.050 ${C} < . ack 1 win 502 <nop,nop,TS>`],
  [{ kind: 'tcp-state', t: 1050, conn: '7-41234', from: 'SYN_RECV', to: 'ESTABLISHED' }, `0.050 ${C} SYN-RECV → ESTAB`],
  [seg(1100, 'in', { flags: TCP_ACK | TCP_PSH, seq: 1001, ack: 5001, len: 5, win: 502, options: 'nop,nop,TS' }), `0.100 ${C} < P. 1:6(5) ack 1 win 502 <nop,nop,TS>`],
  [seg(1120, 'in', { flags: TCP_ACK | TCP_PSH, seq: 1011, ack: 5001, len: 5, win: 502 }), `0.120 ${C} < P. 11:16(5) ack 1 win 502`],
  [
    seg(1120, 'out', { seq: 5001, ack: 1006, win: 1024, options: 'nop,nop,TS,nop,nop,sack 1', sack: [1011, 1016] }),
    `0.120 ${C} > . ack 6 win 1024 <nop,nop,TS,nop,nop,sack 1 {11:16}>`,
  ],
  [seg(1200, 'out', { flags: TCP_ACK | TCP_PSH, seq: 5001, ack: 1006, len: 1448, win: 1024 }), `0.200 ${C} > P. 1:1449(1448) ack 6 win 1024`],
  [{ kind: 'tcp-timer', t: 1404, conn: '7-41234', timer: 'rto', action: 'fire' }, `0.404 ${C} timer rto fired`],
  [seg(1404, 'out', { flags: TCP_ACK | TCP_PSH, seq: 5001, ack: 1006, len: 1448, win: 1024, rtx: 'rto' }), `0.404 ${C} > P. 1:1449(1448) ack 6 win 1024 (RTO retransmit)`],
  [seg(1500, 'out', { seq: 6449, ack: 1006, win: 1024 }), `0.500 ${C} > . ack 6 win 1024`],
  [seg(1600, 'out', { seq: 6448, ack: 1006, win: 1024 }), `0.600 ${C} > . 1448:1448(0) ack 6 win 1024`],
  [{ kind: 'tcp-challenge-ack', t: 1700, conn: '7-41234', why: 'syn' }, `0.700 ${C} challenge ACK (syn)`],
  [seg(1800, 'out', { flags: 0x14, seq: 6449, ack: 1006, win: 1024 }), `0.800 ${C} > R. 1449:1449(0) ack 6 win 1024`],
  [
    {
      kind: 'tcp-rst',
      t: 1800,
      path: 'closeWithUnread',
      linux: '__tcp_close (data_was_unread)',
      reason: 'TCP_ABORT_ON_CLOSE',
      generator: 'active',
      seq: 6449,
      ack: 1006,
      flags: 0x14,
      local: 7,
      remote: 41234,
    },
    `0.800 ${C} RST via closeWithUnread (tcp_send_active_reset, TCP_ABORT_ON_CLOSE) in __tcp_close (data_was_unread)`,
  ],
  [{ kind: 'tcp-error', t: 1800, conn: '7-41234', errno: 'ECONNRESET' }, `0.800 ${C} errno ECONNRESET`],
  // A SYN for no socket, and the reply reset that answers it.
  [seg(2000, 'in', { flags: TCP_SYN, seq: 77, win: 64240 }, [9, 1234]), '1.000 198.18.0.2:9>198.18.0.1:1234 < S 0:0(0) win 64240'],
  [seg(2000, 'out', { flags: 0x14, seq: 0, ack: 78 }, [9, 1234]), '1.000 198.18.0.2:9>198.18.0.1:1234 > R. 0:0(0) ack 1 win 0'],
  [
    { kind: 'tcp-rst', t: 2000, path: 'noSocket', linux: 'tcp_v4_rcv no_tcp_socket', reason: 'NO_SOCKET', generator: 'reply', seq: 0, ack: 78, flags: 0x14, local: 9, remote: 1234 },
    '1.000 198.18.0.2:9>198.18.0.1:1234 RST via noSocket (tcp_v4_send_reset, NO_SOCKET) in tcp_v4_rcv no_tcp_socket',
  ],
  [{ kind: 'drop', t: 2000, reason: 'NO_SOCKET' }, '1.000 - drop NO_SOCKET'],
  [{ kind: 'drop', t: 2001, reason: 'IP_CSUM', detail: 'header' }, '1.001 - drop IP_CSUM (header)'],
  [{ kind: 'icmp-out', t: 2002, type: 3, code: 3, to: PEER }, '1.002 - icmp port unreachable to 198.18.0.1'],
  [{ kind: 'icmp-ratelimit', t: 2003, type: 3, code: 3, to: PEER, scope: 'host' }, '1.003 - icmp port unreachable to 198.18.0.1 rate-limited (host)'],
  [{ kind: 'reasm-timeout', t: 32_000, source: PEER, id: 4660 }, '31.000 - reassembly timeout: id 4660 from 198.18.0.1'],
  [{ kind: 'internal-error', t: 32_000, message: 'boom' }, '31.000 - internal error: boom'],
  [{ kind: 'host-crash', t: 62_345.6789, connections: 2, timeWait: 0, requests: 0 }, '61.346 - host crash: 2 connections forgotten'],
  [{ kind: 'host-crash', t: 62_345.6789, connections: 4, timeWait: 1, requests: 0 }, '61.346 - host crash: 4 connections and 1 TIME_WAIT forgotten'],
  [{ kind: 'host-crash', t: 62_345.6789, connections: 1, timeWait: 2, requests: 1 }, '61.346 - host crash: 1 connection, 2 TIME_WAIT and 1 request forgotten'],
  [{ kind: 'tcp-frobnicate', t: 62_346, a: 1 }, '61.346 - tcp-frobnicate {"a":1}'],
];

test('every kind of event gives its exact line', (t) => {
  const printer = new TimelinePrinter({ start: 1000 });
  for (const [event, line] of conversation) t.is(printer.format(event as TraceEvent), line);
});

test('the start defaults to the first record; a trace-start header sets it', (t) => {
  const p = new TimelinePrinter();
  t.is(p.format({ kind: 'drop', t: 500, reason: 'NO_SOCKET' }), '0.000 - drop NO_SOCKET');
  t.is(p.format({ kind: 'drop', t: 1750.6, reason: 'NO_SOCKET' }), '1.251 - drop NO_SOCKET');
  const q = new TimelinePrinter();
  t.is(q.format({ kind: 'trace-start', t: 100, version: 1 }), undefined);
  t.is(q.format({ kind: 'drop', t: 2100, reason: 'NO_SOCKET' }), '2.000 - drop NO_SOCKET');
  t.is(formatTime(-5), '0.000');
});

test("wall-clock columns: the header's wall (to the microsecond) plus the record's offset from the header's t", (t) => {
  const wallMs = Date.UTC(2024, 11, 5, 22, 59, 1, 123) + 0.456;
  t.is(isoMicro(wallMs), '2024-12-05T22:59:01.123456Z');
  t.is(parseWall('2024-12-05T22:59:01.123456Z'), wallMs);
  t.is(parseWall('2024-12-05T22:59:01.123Z'), Date.UTC(2024, 11, 5, 22, 59, 1, 123), 'a millisecond header (older traces) reads too');
  t.is(parseWall('yesterday'), undefined);
  const header = { kind: 'trace-start', t: 1000, version: 1, wall: '2024-12-05T22:59:01.123456Z' } as const;
  const epoch = new TimelinePrinter({ time: 'epoch' });
  t.is(epoch.format(header), undefined);
  t.is(epoch.format({ kind: 'drop', t: 1500.25, reason: 'NO_SOCKET' }), '1733439541.623706 - drop NO_SOCKET');
  t.is(epoch.format({ kind: 'drop', t: 4000, reason: 'NO_SOCKET' }), '1733439544.123456 - drop NO_SOCKET');
  // tcpdump's local time of day: whatever the zone (offsets are whole minutes), the seconds and microseconds are these.
  const wall = new TimelinePrinter({ time: 'wall', start: 0, anchor: { t: 1000, wallMs } });
  t.regex(wall.format({ kind: 'drop', t: 1500.25, reason: 'NO_SOCKET' })!, /^\d\d:\d\d:01\.623706 - drop NO_SOCKET$/);
  t.is(formatWall(wallMs).length, 'HH:MM:SS.ffffff'.length);
  t.is(formatEpoch(wallMs), '1733439541.123456');
  const rel = new TimelinePrinter({ time: 'rel' });
  rel.format(header);
  t.is(rel.format({ kind: 'drop', t: 1500.25, reason: 'NO_SOCKET' }), '0.500 - drop NO_SOCKET', 'rel ignores the wall clock');
  const noHeader = new TimelinePrinter({ time: 'wall' });
  t.throws(() => noHeader.format({ kind: 'drop', t: 1, reason: 'NO_SOCKET' }), { instanceOf: NoWallClockError });
});

test("flag letters are tcpdump's and packetdrill's, in tcpdump's order (F S R P . U E W)", (t) => {
  // Each as tcpdump 4.99 -nn printed it for the kernel's own segments over lo (tcp_ecn=1 for the ECN ones).
  t.is(flagLetters(TCP_ACK), '.');
  t.is(flagLetters(TCP_SYN), 'S');
  t.is(flagLetters(TCP_SYN | TCP_ACK), 'S.');
  t.is(flagLetters(TCP_PSH | TCP_ACK), 'P.');
  t.is(flagLetters(TCP_FIN | TCP_ACK), 'F.');
  t.is(flagLetters(0x19), 'FP.');
  t.is(flagLetters(0x04), 'R');
  t.is(flagLetters(0x14), 'R.');
  t.is(flagLetters(0xc2), 'SEW');
  t.is(flagLetters(0x52), 'S.E');
  t.is(flagLetters(0x30), '.U');
  t.is(flagLetters(0), 'none');
});

test('a retransmission says what sent it, in the words of its counter', (t) => {
  const p = new TimelinePrinter({ start: 0 });
  const data = { flags: TCP_ACK | TCP_PSH, seq: 5001, ack: 1006, len: 100, win: 1024 };
  const marks = (['rto', 'slow-start', 'fast', 'tlp', 'syn', 'synack', 'newer'] as const).map((rtx) => p.format(seg(0, 'out', { ...data, rtx: rtx as TcpSegmentEvent['rtx'] }))!.replace(/^.* win 1024 /, ''));
  t.deepEqual(marks, ['(RTO retransmit)', '(slow-start retransmit)', '(fast retransmit)', '(TLP retransmit)', '(SYN retransmit)', '(SYN-ACK retransmit)', '(newer retransmit)']);
  t.is(p.format(seg(0, 'out', data)), `0.000 ${C} > P. 0:100(100) ack 1 win 1024`, 'new data carries no mark');
});

test('a SYN starts the numbering over (a new incarnation of the pair)', (t) => {
  const p = new TimelinePrinter({ start: 0 });
  p.format(seg(0, 'in', { flags: TCP_SYN, seq: 100 }));
  t.is(p.format(seg(1, 'in', { seq: 101, ack: 1, len: 10, flags: TCP_ACK | TCP_PSH })), `0.001 ${C} < P. 1:11(10) ack 1 win 0`);
  t.is(p.format(seg(2, 'in', { flags: TCP_SYN, seq: 900_000 })), `0.002 ${C} < S 0:0(0) win 0`);
  // Numbers wrap like sequence numbers do.
  const q = new TimelinePrinter({ start: 0 });
  q.format(seg(0, 'in', { flags: TCP_SYN, seq: 0xfffffff0 }));
  t.is(q.format(seg(1, 'in', { seq: 0xfffffff1, len: 32, flags: TCP_PSH | TCP_ACK, ack: 7 })), `0.001 ${C} < P. 1:33(32) ack 1 win 0`, 'our ISN unseen: the ACK names it');
});

test('filters: kinds, ports at either end, connection ids; no connection once one is asked for', (t) => {
  const f = parseTraceFilter('7,seg,rst');
  t.deepEqual([...f.kinds], ['seg', 'rst']);
  t.deepEqual(f.conns, [{ port: 7 }]);
  t.true(matches(f, seg(0, 'in', {})));
  t.false(matches(f, seg(0, 'in', {}, [9, 1234])));
  t.true(matches(f, seg(0, 'in', {}, [80, 7])), 'the port at the remote end matches too');
  t.false(matches(f, { kind: 'tcp-state', t: 0, conn: '7-41234', from: 'A', to: 'B' }));
  t.false(matches(f, { kind: 'drop', t: 0, reason: 'NO_SOCKET' }));
  const rst = conversation[15]![0] as TraceEvent;
  t.true(matches(f, rst));
  const id = parseFilterOptions([], ['7-41234']);
  t.true(matches(id, rst));
  t.false(matches(id, seg(0, 'in', {}, [7, 41235])));
  const kinds = parseFilterOptions(['rst,state', 'tcp-error']);
  t.deepEqual([...kinds.kinds], ['rst', 'state', 'error']);
  t.true(matches(kinds, { kind: 'tcp-error', t: 0, conn: '1-2', errno: 'ETIMEDOUT' }));
  t.false(matches(kinds, { kind: 'drop', t: 0, reason: 'NO_SOCKET' }));
  t.true(matches(parseFilterOptions(['drop']), { kind: 'drop', t: 0, reason: 'NO_SOCKET' }));
  t.true(matches(parseTraceFilter(''), { kind: 'drop', t: 0, reason: 'NO_SOCKET' }));
  t.true(matches(ALL, rst));
  t.true(matches(parseTraceFilter('icmp'), { kind: 'icmp-ratelimit', t: 0, type: 3, code: 3, to: 1, scope: 'global' }));
});

test('filter misuse is a UsageError naming what is wrong', (t) => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => parseTraceFilter('bogus'), /--trace: unknown kind "bogus" \(known: seg, state, timer, rst, challenge, error, drop, icmp, reasm, internal, crash, cc, ca, arm\)/],
    [() => parseTraceFilter('0'), /--trace: "0" is neither a port \(1-65535\) nor a connection id LOCALPORT-REMOTEPORT/],
    [() => parseTraceFilter('70000'), /neither a port/],
    [() => parseTraceFilter('7-'), /neither a port/],
    [() => parseTraceFilter('7,,seg'), /--trace: empty entry in "7,,seg"/],
    [() => parseFilterOptions(['seg,nope']), /--kind: unknown kind "nope"/],
    [() => parseFilterOptions([], ['x']), /--conn: "x" is neither a port/],
  ];
  for (const [f, message] of cases) {
    const error = t.throws(f, { instanceOf: UsageError });
    t.regex(error!.message, message);
  }
});

test('a kind filter still learns names and numbering from the segments it hides', async (t) => {
  const lines: string[] = [];
  const records = conversation.map(([e]) => JSON.stringify(e));
  await printTimeline([JSON.stringify({ kind: 'trace-start', t: 1000, version: 1 }), ...records], parseFilterOptions(['rst']), (l) => lines.push(l));
  t.deepEqual(lines, [conversation[15]![1], conversation[19]![1]]);
});

test('a line that is not a trace event is refused with its line number', async (t) => {
  t.throws(() => parseRecord('nope'), { message: 'not JSON' });
  t.throws(() => parseRecord('{"kind":"drop"}'), { message: /not a trace event/ });
  t.throws(() => parseRecord('[1]'), { message: /not a trace event/ });
  await t.throwsAsync(printTimeline(['{"kind":"drop","t":1,"reason":"X"}', '', 'garbage'], ALL, () => {}, 'f.jsonl'), { message: 'timeline: f.jsonl:3: not JSON' });
});

test('segment events are read back from the packets the stack builds', (t) => {
  const packet = tcpPacket({
    src: US,
    dst: PEER,
    sport: 7,
    dport: 41234,
    seq: 5000,
    ack: 1001,
    flags: TCP_SYN | TCP_ACK,
    window: 65160,
    options: { mss: 1460, sackPermitted: true, ts: { val: 11, ecr: 22 }, wscale: 10 },
    ipId: 0,
    ttl: 64,
  });
  const book = new World().b.addresses;
  t.deepEqual(segmentEvent(3, 'out', packet.subarray(20), US, PEER, book), {
    kind: 'tcp-seg',
    t: 3,
    dir: 'out',
    conn: '7-41234',
    local: US,
    localPort: 7,
    remote: PEER,
    remotePort: 41234,
    flags: TCP_SYN | TCP_ACK,
    seq: 5000,
    ack: 1001,
    len: 0,
    win: 65160,
    options: 'mss 1460,sackOK,TS,nop,wscale 10',
    tsVal: 11,
    tsEcr: 22,
  });
  const data = tcpPacket({
    src: PEER,
    dst: US,
    sport: 41234,
    dport: 7,
    seq: 1,
    ack: 2,
    flags: TCP_ACK,
    window: 9,
    options: { ts: { val: 1, ecr: 2 }, sackBlocks: [10, 20, 30, 40] },
    payload: new Uint8Array([1, 2, 3]),
    ipId: 0,
    ttl: 64,
  });
  const e = segmentEvent(4, 'in', data.subarray(20), PEER, US, book);
  t.is(e.conn, '7-41234', 'an incoming segment is named from our end');
  t.is(e.len, 3);
  t.is(e.options, 'nop,nop,TS,nop,nop,sack 2');
  t.deepEqual(e.sack, [10, 20, 30, 40]);
});

const ADDR6_A = '2001:2::1';
const ADDR6_B = '2001:2::2';

/** Two stacks in virtual time; B ("ours") is traced live to `file` and to `lines`; A connects to B's echo on 7 (over IPv6 with `family` 6). */
function tracedEcho(file: string, family: 4 | 6 = 4): { lines: string[]; clientPort: number; close: () => void; w: World } {
  const w = family === 4 ? new World() : new World({ a: { address6: parseIpv6(ADDR6_A)! }, b: { address6: parseIpv6(ADDR6_B)! } });
  const lines: string[] = [];
  const live = installLiveTrace(w.b, { print: ALL, file, out: (text) => lines.push(...text.trimEnd().split('\n')) });
  const server = w.b.tcp.socket(family);
  server.bind(family === 4 ? 0 : '::', 7);
  server.listen(8);
  server.onEvent = () => {
    const child = server.accept();
    if (child) {
      child.onEvent = (ep) => {
        const d = ep.read();
        if (d === null) return;
        if (d.length === 0) ep.close();
        else ep.write(d);
      };
    }
  };
  const client = w.a.tcp.socket(family);
  client.connect(family === 4 ? formatIpv4(ADDR_B) : ADDR6_B, 7);
  w.run(1000, () => client.state === 'ESTABLISHED');
  client.write(new TextEncoder().encode('hello'));
  w.run(2000, () => client.readableBytes === 5);
  client.read();
  client.close();
  w.run(70_000);
  return { lines, clientPort: client.localPort, close: () => live.close(), w };
}

test('the live timeline of a real handshake, and the trace file prints the same lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-timeline-'));
  try {
    const file = join(dir, 'trace.jsonl');
    const { lines, clientPort, close, w } = tracedEcho(file);
    close();
    t.is(w.b.trace, undefined, 'close() uninstalls the sink');
    const name = `198.18.0.2:7>198.18.0.1:${clientPort}`;
    t.deepEqual(lines.slice(0, 3), [
      `0.000 ${name} < S 0:0(0) win 64240 <mss 1460,sackOK,TS,nop,wscale 10>`,
      `0.000 ${name} > S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS,nop,wscale 10>`,
      // The client's idle window after an active open: rcv_ssthresh 64088 rounded up (test/helpers/tcp-peer.ts, ACTIVE_WIN).
      `0.000 ${name} < . ack 1 win ${ACTIVE_WIN} <nop,nop,TS>`,
    ]);
    t.true(lines.includes(`0.000 ${name} < P. 1:6(5) ack 1 win ${ACTIVE_WIN} <nop,nop,TS>`), lines.join('\n'));
    t.true(lines.some((l) => l.startsWith(`0.000 ${name} > P. 1:6(5) ack 6 `)), 'the echo');
    t.true(lines.some((l) => /ESTAB → CLOSE-WAIT$/.test(l)));
    t.regex(lines.at(-1)!, /LAST-ACK → UNCONN$/);

    const text = readFileSync(file, 'utf8');
    const records = text.trimEnd().split('\n');
    t.deepEqual(Object.keys(JSON.parse(records[0]!)), ['kind', 't', 'version', 'addr', 'wall']);
    t.is(JSON.parse(records[0]!).kind, 'trace-start');
    t.regex(JSON.parse(records[0]!).wall, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'the wall clock to the microsecond');
    t.true(Math.abs(parseWall(JSON.parse(records[0]!).wall)! - Date.now()) < 60_000, 'and it is now');
    const quiet = (r: { kind: string; action?: string }): boolean => r.kind === 'tcp-cc' || (r.kind === 'tcp-timer' && r.action === 'arm');
    const parsed = records.map((r) => JSON.parse(r) as { kind: string; action?: string });
    t.true(parsed.some((r) => r.kind === 'tcp-cc'), 'the file has the state samples');
    t.true(parsed.some((r) => r.kind === 'tcp-timer' && r.action === 'arm'), 'and the timers armed');
    t.is(parsed.filter((r) => !quiet(r)).length, lines.length + 1, 'one record per event the timeline prints by default, plus the header');
    const again: string[] = [];
    await printTimeline(records, ALL, (l) => again.push(l));
    t.deepEqual(again, lines, 'offline = live');
    const onlyState: string[] = [];
    await printTimeline(records, parseFilterOptions(['state'], [String(clientPort)]), (l) => onlyState.push(l));
    t.deepEqual(
      onlyState.map((l) => l.slice(l.lastIndexOf(' ', l.indexOf('→') - 2) + 1)),
      ['SYN-RECV → ESTAB', 'ESTAB → CLOSE-WAIT', 'CLOSE-WAIT → LAST-ACK', 'LAST-ACK → UNCONN'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('over IPv6 the timeline names both ends in brackets, the header carries both addresses, a reset names tcp_v6_send_reset', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-timeline-'));
  try {
    const file = join(dir, 'trace.jsonl');
    const { lines, clientPort, close, w } = tracedEcho(file, 6);
    // A SYN to a port nobody listens on, while the trace is still installed.
    const probe = w.a.tcp.socket(6);
    probe.connect(ADDR6_B, 9);
    w.run(w.clock.now() + 1000, () => probe.state === 'CLOSED');
    close();
    const name = `[2001:2::2]:7>[2001:2::1]:${clientPort}`;
    t.is(lines[0], `0.000 ${name} < S 0:0(0) win 64800 <mss 1440,sackOK,TS,nop,wscale 10>`);
    // 45 × (1440 − 12), as the SYN-ACK over IPv4 is 45 × (1460 − 12)
    t.is(lines[1], `0.000 ${name} > S. 0:0(0) ack 1 win 64260 <mss 1440,sackOK,TS,nop,wscale 10>`);
    t.true(lines.some((l) => l.startsWith(`0.000 ${name} > P. 1:6(5) ack 6 `)), 'the echo');
    t.true(
      lines.some((l) => / \[2001:2::2\]:9>\[2001:2::1\]:\d+ RST via noSocket \(tcp_v6_send_reset, NO_SOCKET\) in tcp_v6_rcv no_tcp_socket$/.test(l)),
      lines.slice(-4).join('\n'),
    );
    const records = readFileSync(file, 'utf8').trimEnd().split('\n');
    const header = JSON.parse(records[0]!) as { addr: string; addr6: string };
    t.is(header.addr, '198.18.0.2');
    t.is(header.addr6, ADDR6_B);
    const again: string[] = [];
    await printTimeline(records, ALL, (l) => again.push(l));
    t.deepEqual(again, lines, 'offline = live over IPv6 too: the text of each address is in the record');
    t.true(records.slice(1).every((r) => (JSON.parse(r) as TraceEvent).kind !== 'tcp-seg' || (JSON.parse(r) as TcpSegmentEvent).local6 === ADDR6_B));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable trace file is one line, exit 1 (FatalError)', (t) => {
  const w = new World();
  t.throws(() => installLiveTrace(w.b, { file: '/nonexistent-dir/trace.jsonl' }), { message: '--trace-file /nonexistent-dir/trace.jsonl: ENOENT' });
  t.is(w.b.trace, undefined);
});
