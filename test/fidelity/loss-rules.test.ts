/**
 * The pure parts of the loss scenarios, without root: the nftables rules
 * that drop or duplicate chosen data segments, the subject's counters read
 * from /proc and compared, and which peer retransmissions count as racing a
 * prompt ACK (not compared).
 */
import test from 'ava';
import { compareRuns, comparisonOrder, eventKey, eventTimesAgree, REACTION_MS } from '../../cli/scenario/compare.ts';
import { compareCounters, parseProcNet } from '../../cli/scenario/counters.ts';
import { dsackBlock, normalise, type NormEvent, type RunRecord } from '../../cli/scenario/normalise.ts';
import type { TcpPacket } from '../../cli/scenario/pcap-read.ts';
import { racedPeerRetransmissions } from '../../cli/scenario/probe-race.ts';
import { findScenario } from '../../cli/scenario/registry.ts';
import { segmentFaultTable, segmentSequences } from '../../cli/scenario/segment-faults.ts';
import type { SegmentSelector } from '../../cli/scenario/types.ts';

const target = { subjectAddr: '198.19.7.2', peerAddr: '198.19.7.1', subjectPort: 5000, peerPort: 40000, isn: 1000 };
const sel = (over: Partial<SegmentSelector>): SegmentSelector => ({ sock: 'a', from: 20, to: 20, times: 1, action: 'drop', bytes: 1448, ...over });

test('segment k starts at ISN + 1 + (k-1)·bytes, modulo 2^32', (t) => {
  t.deepEqual(segmentSequences(sel({ from: 1, to: 3 }), 1000), [1001, 2449, 3897]);
  t.deepEqual(segmentSequences(sel({ from: 2, to: 2 }), 0xffff_ff00), [(0xffff_ff00 + 1 + 1448) >>> 0]);
  // Segments of a later write: the stream offset of segment 1 (injected-acks: after 1000 bytes).
  t.deepEqual(segmentSequences(sel({ from: 1, to: 3, start: 1000 }), 1000), [2001, 3449, 4897]);
  t.throws(() => segmentSequences(sel({ from: 0, to: 2 }), 0), { message: /bad range/ });
  t.throws(() => segmentSequences(sel({ from: 3, to: 2 }), 0), { message: /bad range/ });
});

test('drop once: one set, the packet goes through once its number is in it', (t) => {
  const body = segmentFaultTable(sel({}), target);
  t.regex(body, /set passed1 \{ typeof tcp sequence; flags dynamic; \}/);
  t.notRegex(body, /passed2/);
  t.regex(body, /tcp sequence @passed1 return\n\s+add @passed1 \{ tcp sequence \} drop/);
  t.regex(
    body,
    /iifname != "lo" ip saddr 198\.19\.7\.2 ip daddr 198\.19\.7\.1 ip length > 80 tcp sport 5000 tcp dport 40000 tcp sequence \{ 28513 \} jump count/,
  );
});

test('drop twice (a lost retransmission): the second pass moves the number to the second set and is dropped too', (t) => {
  const body = segmentFaultTable(sel({ times: 2 }), target);
  const chain = body.slice(body.indexOf('chain count'), body.indexOf('chain in'));
  const rules = chain.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('tcp') || l.startsWith('add'));
  t.deepEqual(rules, ['tcp sequence @passed2 return', 'tcp sequence @passed1 add @passed2 { tcp sequence } drop', 'add @passed1 { tcp sequence } drop']);
});

test('a burst lists every segment; a duplicate is sent to the peer itself, once', (t) => {
  t.regex(segmentFaultTable(sel({ from: 20, to: 22 }), target), /tcp sequence \{ 28513, 29961, 31409 \}/);
  const dup = segmentFaultTable(sel({ action: 'dup' }), target);
  t.regex(dup, /add @passed1 \{ tcp sequence \} dup to 198\.19\.7\.1/);
  t.notRegex(dup, /drop/);
  t.throws(() => segmentFaultTable(sel({ action: 'dup', times: 2 }), target), { message: /duplicate is made once/ });
  t.throws(() => segmentFaultTable(sel({ times: 0 }), target), { message: /times/ });
});

test('with super-segments (carrying): the packet that starts at the segment, or up to 44 segments before it with a payload reaching past it', (t) => {
  const body = segmentFaultTable(sel({}), { ...target, carrying: true });
  const rules = body.split('\n').filter((l) => l.includes('jump count'));
  t.is(rules.length, 45);
  t.regex(rules[0]!, /ip length > 80 tcp sport 5000 tcp dport 40000 tcp sequence \{ 28513 \} jump count/);
  t.regex(rules[1]!, new RegExp(`ip length > ${80 + 1448} tcp sport 5000 tcp dport 40000 tcp sequence \\{ ${28513 - 1448} \\} jump count`));
  t.regex(rules[44]!, new RegExp(`ip length > ${80 + 44 * 1448} tcp sport 5000 tcp dport 40000 tcp sequence \\{ ${(28513 - 44 * 1448) >>> 0} \\} jump count`));
  // Without offloads, only the segment's own number.
  t.is(segmentFaultTable(sel({}), target).split('\n').filter((l) => l.includes('jump count')).length, 1);
});

const SNMP = `Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors
Tcp: 1 200 120000 -1 0 1 0 0 0 30 45 3 0 0 0
TcpExt: SyncookiesSent TCPLossProbes TCPSackRecovery
TcpExt: 0 1 1
`;

test('/proc/net/snmp and netstat: every counter as prefix + name', (t) => {
  const c = parseProcNet(SNMP);
  t.is(c.TcpRetransSegs, 3);
  t.is(c.TcpMaxConn, -1);
  t.is(c.TcpExtTCPLossProbes, 1);
  t.is(c.TcpExtTCPSackRecovery, 1);
  t.throws(() => parseProcNet('TcpExt: A B\nTcp: 1 2\n'), { message: /does not follow its header/ });
});

test('counters: equal, different, and one the stack does not keep (agrees only at zero)', (t) => {
  const rows = compareCounters(['A', 'B', 'C', 'D'], { A: 1, B: 2, C: 0, D: 1 }, { A: 1, B: 1 });
  t.deepEqual(
    rows.map((r) => [r.name, r.ok, r.why]),
    [
      ['A', true, undefined],
      ['B', false, 'kernel 2, stack 1'],
      ['C', true, undefined],
      ['D', false, 'kernel 1, the stack does not keep this counter'],
    ],
  );
  t.false(compareCounters(['X'], { A: 1 }, { X: 0 })[0]!.ok);
});

test('a counter that differs makes the scenario differ, after every segment difference', (t) => {
  const scenario = findScenario('loss-mid-cubic')!;
  const rec = (mode: 'kernel' | 'stack', probes: number): RunRecord => ({
    mode,
    scenario: scenario.name,
    family: 4,
    subjectAddr: '198.19.7.2',
    peerAddr: '198.19.7.1',
    steps: scenario.steps.map((_, i) => ({ index: i + 1, startUs: 1_000_000 * (i + 1), endUs: 1_000_000 * (i + 1) + 1000, result: 'ok' })),
    packets: [],
    resets: [],
    notes: [],
    counters: Object.fromEntries(scenario.counters!.map((n) => [n, n === 'TcpExtTCPLossProbes' ? probes : 0])),
    wallMs: 1,
  });
  const same = compareRuns(scenario, normalise(rec('kernel', 1), scenario), normalise(rec('stack', 1), scenario));
  t.is(same.verdict, 'match');
  const c = compareRuns(scenario, normalise(rec('kernel', 1), scenario), normalise(rec('stack', 0), scenario));
  t.is(c.verdict, 'difference');
  t.is(c.first, 'counter TcpExtTCPLossProbes: kernel 1, stack 0');
});

const P = '198.19.7.1';
const S = '198.19.7.2';
function pkt(ms: number, fromPeer: boolean, seq: number, ack: number, len: number, sack?: Array<[number, number]>): TcpPacket {
  return {
    tUs: ms * 1000,
    src: fromPeer ? P : S,
    dst: fromPeer ? S : P,
    sport: fromPeer ? 40000 : 5000,
    dport: fromPeer ? 5000 : 40000,
    seq,
    ack,
    flags: 0x10,
    window: 100,
    options: sack ? ['nop', 'nop', 'sack'] : [],
    len,
    ...(sack ? { sack } : {}),
  };
}

test("the peer's probe that raced a prompt ACK and was D-SACKed is set apart; a delayed ACK's or a real loss's is not", (t) => {
  const flight = [pkt(0, true, 1000, 1, 100), pkt(1, true, 1100, 1, 100)];
  // The subject ACKs 4 ms after the flight; the probe (the last segment again) left at 3 ms.
  const raced = [...flight, pkt(3, true, 1100, 1, 100), pkt(4, false, 1, 1200, 0), pkt(4.1, false, 1, 1200, 0, [[1100, 1200]])];
  t.deepEqual([...racedPeerRetransmissions(raced, P, S).entries()], [[2, { ackUs: 3000, reply: 4 }]]);
  // The same probe when the subject held its ACK 45 ms (a delayed ACK): compared.
  const delayed = [...flight, pkt(3, true, 1100, 1, 100), pkt(45, false, 1, 1200, 0), pkt(45.1, false, 1, 1200, 0, [[1100, 1200]])];
  t.is(racedPeerRetransmissions(delayed, P, S).size, 0);
  // Or held until the probe came 32 ms after the flight, within a quarter of the ATO
  // of the timer's expiry, which sends the held ACK at once (tcp_send_delayed_ack): compared.
  const released = [...flight, pkt(33, true, 1100, 1, 100), pkt(33.2, false, 1, 1200, 0, [[1100, 1200]])];
  t.is(racedPeerRetransmissions(released, P, S).size, 0);
  // The same ACK 20 ms after the flight (a slow but prompt ACK, crossing the probe): set apart.
  const slow = [...flight, pkt(19, true, 1100, 1, 100), pkt(21, false, 1, 1200, 0), pkt(21.1, false, 1, 1200, 0, [[1100, 1200]])];
  t.is(racedPeerRetransmissions(slow, P, S).size, 1);
  // No D-SACK: the original was lost, the retransmission repaired it: compared.
  const lost = [...flight, pkt(3, true, 1100, 1, 100), pkt(4, false, 1, 1200, 0)];
  t.is(racedPeerRetransmissions(lost, P, S).size, 0);
  // The subject's own retransmissions are never set apart.
  const subject = [pkt(0, false, 1000, 1, 100), pkt(3, false, 1000, 1, 100), pkt(4, true, 1, 1100, 0), pkt(4.1, true, 1, 1100, 0, [[1000, 1100]])];
  t.is(racedPeerRetransmissions(subject, P, S).size, 0);
});

test('a segment racing a step boundary agrees when its offsets from the earlier step are within the floor, whatever the steps before took', (t) => {
  const ev = (step: number, offsetMs: number, tMs: number): NormEvent => ({
    step,
    offsetMs,
    tMs,
    dir: 'S>P',
    conn: 'c1',
    kind: 'rexmit',
    compared: true,
    flags: 'P.',
    seq: '56473',
    ack: '1',
    len: 1448,
    win: 100,
    opts: [],
  });
  // The kernel's probe 9 ms into the write; the stack's 10 ms into the sleep
  // after its 25 ms write (+25 ms settle), with 150 ms more of harness time before.
  const k = ev(6, 9, 1000);
  const s = ev(7, 10, 1210);
  t.false(eventTimesAgree(k, s));
  t.true(eventTimesAgree(k, s, undefined, undefined, { a: 9, b: 60 }));
  t.false(eventTimesAgree(k, s, undefined, undefined, { a: 9, b: 260 }));
  t.false(eventTimesAgree(k, ev(8, 10, 1210), undefined, undefined, { a: 9, b: 60 }), 'only neighbouring steps');
});

test("the peer's D-SACK is its own kind, compared on the duplicate it reports and not on its ACK number", (t) => {
  t.deepEqual(dsackBlock(pkt(0, true, 1, 3000, 0, [[1000, 1100]])), [1000, 1100], 'below the cumulative ACK');
  t.deepEqual(dsackBlock(pkt(0, true, 1, 900, 0, [[1000, 1100], [1000, 1300]])), [1000, 1100], 'inside the second block');
  t.is(dsackBlock(pkt(0, true, 1, 900, 0, [[1000, 1100]])), undefined, 'an ordinary SACK block');
  const ev = (ack: string): NormEvent => ({ step: 6, offsetMs: 1, tMs: 1, dir: 'P>S', conn: 'c1', kind: 'dsack', compared: true, flags: '.', seq: '1', ack, len: 0, win: 100, opts: ['sack'], dsack: '27513-28961' });
  t.is(eventKey(ev('28961'), false), eventKey(ev('31857'), false));
  t.not(eventKey(ev('28961'), false), eventKey({ ...ev('28961'), dsack: '56473-57921' }, false));
  // Through normalise: the peer's pure ACK with a D-SACK below its ACK.
  const scenario = findScenario('loss-dup-cubic')!;
  const syn = { ...pkt(0, false, 999, 0, 0), flags: 0x02 };
  const synAck = { ...pkt(0, true, 0, 1000, 0), flags: 0x12 };
  const run: RunRecord = {
    mode: 'kernel', scenario: scenario.name, family: 4, subjectAddr: S, peerAddr: P,
    steps: [{ index: 1, startUs: 0, endUs: 1, result: 'ok' }],
    packets: [syn, synAck, pkt(1, false, 1000, 1, 100), pkt(2, true, 1, 1100, 0), pkt(3, true, 1, 1100, 0, [[1000, 1100]])],
    resets: [], notes: [], wallMs: 1,
  };
  const kinds = normalise(run, scenario).events.map((e) => `${e.kind}${e.dsack ? ` ${e.dsack}` : ''}`);
  t.deepEqual(kinds, ['SYN', 'SYN', 'data', 'ack', 'dsack 1-101']);
});

test('order across directions: a subject segment within REACTION_MS of the peer segments before it is compared ahead of them', (t) => {
  const ev = (dir: 'P>S' | 'S>P', tMs: number, kind: string): NormEvent => ({ dir, tMs, kind }) as unknown as NormEvent;
  const names = (es: NormEvent[]) => es.map((e) => `${e.kind}@${e.tMs}`);
  // The kernel retransmits right after the third of ten duplicate ACKs; the stack after the tenth, 7 ms later.
  const dups = (at: number) => Array.from({ length: 10 }, (_, i) => ev('P>S', at + i * 0.1, `d${i + 1}`));
  const kernel = [...dups(100).slice(0, 3), ev('S>P', 100.3, 'R'), ...dups(100).slice(3)];
  const stack = [...dups(100), ev('S>P', 107, 'R')];
  t.deepEqual(names(comparisonOrder(kernel)).slice(0, 2), ['R@100.3', 'd1@100']);
  t.deepEqual(names(comparisonOrder(stack)).slice(0, 2), ['R@107', 'd1@100']);
  // Beyond the window the capture order stands: an answer a round trip later stays after what it answers.
  const late = [ev('P>S', 100, 'd1'), ev('S>P', 100 + REACTION_MS, 'R')];
  t.deepEqual(names(comparisonOrder(late)), ['d1@100', `R@${100 + REACTION_MS}`]);
  // Each direction keeps its own order; the peer's segments never move.
  const two = [ev('S>P', 10, 'a'), ev('P>S', 11, 'x'), ev('S>P', 12, 'b'), ev('P>S', 13, 'y')];
  t.deepEqual(names(comparisonOrder(two)), ['a@10', 'b@12', 'x@11', 'y@13']);
});
