/**
 * Targeted faults: the rule file's validation (one line naming the rule and
 * the field), every matcher and every action, on known packets in virtual time.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcpChecksumOk } from '../../stack/wire/tcp.ts';
import { ipHeaderChecksumOk, viewPacket } from '../../tun/impair/packet.ts';
import { loadRules, parseRules, RuleError } from '../../tun/impair/rules.ts';
import { KERNEL, STACK, udpDatagram } from '../helpers/packets.ts';
import { runStream, segment, seqOf, stream, type Timed } from './impair-stream.ts';

const rules = (...r: object[]) => parseRules({ rules: r });
const seqs = (out: Timed[]): number[] => out.map((e) => seqOf(e.packet));
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

const invalid: Array<[string, unknown, RegExp]> = [
  ['not a list', { rules: 3 }, /^expected \{"rules": \[\.\.\.\]\} or an array of rules$/],
  ['unknown top-level field', { rulez: [] }, /^unknown top-level field "rulez"/],
  ['a rule that is not an object', ['drop'], /^rule 1, rule: expected an object/],
  ['no action', [{ match: {} }], /^rule 1, action: missing/],
  ['empty action list', [{ action: [] }], /^rule 1, action: the list of actions is empty$/],
  ['unknown rule field', [{ action: 'drop', mach: {} }], /^rule 1, rule: unknown field "mach" \(known: name, match, action, comment\)$/],
  ['unknown match field', [{ match: { flag: 'S' }, action: 'drop' }], /^rule 1, match: unknown field "flag" \(known: direction, version, src, dst, host, protocol, flags/],
  ['bad direction', [{ match: { direction: 'up' }, action: 'drop' }], /^rule 1, match\.direction: expected "in", "out" or "both", got "up"$/],
  ['bad protocol', [{ match: { protocol: 'sctp' }, action: 'drop' }], /^rule 1, match\.protocol: unknown protocol "sctp"/],
  ['protocol out of range', [{ match: { protocol: 300 }, action: 'drop' }], /^rule 1, match\.protocol: expected an integer from 0 to 255, got 300$/],
  ['bad flag letter', [{ match: { flags: 'SX' }, action: 'drop' }], /^rule 1, match\.flags: unknown flag letter "X" \(use F S R P A U E W\)$/],
  ['flags with two modes', [{ match: { flags: { exact: 'S', contains: 'A' } }, action: 'drop' }], /^rule 1, match\.flags: give exactly one of "exact" or "contains"$/],
  ['empty contains', [{ match: { flags: { contains: '' } }, action: 'drop' }], /^rule 1, match\.flags\.contains: no flag letters$/],
  ['flags on UDP', [{ match: { protocol: 'udp', flags: 'S' }, action: 'drop' }], /^rule 1, match\.flags: TCP flags only match TCP/],
  ['ports on ICMP', [{ match: { protocol: 'icmp', dstPort: 7 }, action: 'drop' }], /^rule 1, match\.dstPort: ports only match TCP or UDP$/],
  ['port out of range', [{ match: { srcPort: 70000 }, action: 'drop' }], /^rule 1, match\.srcPort: expected an integer from 0 to 65535, got 70000$/],
  ['reversed port range', [{ match: { dstPort: [90, 80] }, action: 'drop' }], /^rule 1, match\.dstPort: the range \[90, 80\] is empty/],
  ['three-element range', [{ match: { port: [1, 2, 3] }, action: 'drop' }], /^rule 1, match\.port: a range is \[LOW, HIGH\], got 3 elements$/],
  ['length min above max', [{ match: { length: { min: 10, max: 5 } }, action: 'drop' }], /^rule 1, match\.length: min 10 is above max 5$/],
  ['length as a string', [{ match: { length: '>0' }, action: 'drop' }], /^rule 1, match\.length: expected N, \[LOW, HIGH\] or \{"min": N, "max": N\}/],
  ['nth 0', [{ match: { nth: 0 }, action: 'drop' }], /^rule 1, match\.nth: expected an integer from 1 to /],
  ['every 1.5', [{ match: { every: 1.5 }, action: 'drop' }], /^rule 1, match\.every: expected an integer from 1 to /],
  ['bad time', [{ match: { from: 'soon' }, action: 'drop' }], /^rule 1, match\.from: "soon": expected a time like 50ms or 1\.5s$/],
  ['empty time window', [{ match: { from: '5s', until: '2s' }, action: 'drop' }], /^rule 1, match\.until: the window 5000ms to 2000ms is empty$/],
  ['unknown action', [{ action: 'explode' }], /^rule 1, action: unknown action "explode" \(known: drop, delay/],
  ['action object with two keys', [{ action: { delay: '1s', drop: true } }], /^rule 1, action: an action object has exactly one key/],
  ['bad delay', [{ action: { delay: 'fast' } }], /^rule 1, action\.delay: "fast": expected a time/],
  ['duplicate 0', [{ action: { duplicate: 0 } }], /^rule 1, action\.duplicate: expected an integer from 1 to 100, got 0$/],
  ['drop with delay', [{ action: ['drop', { delay: '1s' }] }], /^rule 1, action: "drop" ends the packet, so "delay" cannot go with it/],
  ['rewrite without a TCP match', [{ action: { rewrite: { window: 0 } } }], /^rule 1, action\.rewrite: rewrites TCP fields: the match needs "protocol": "tcp"/],
  ['empty rewrite', [{ match: { protocol: 'tcp' }, action: { rewrite: {} } }], /^rule 1, action\.rewrite: nothing to rewrite/],
  ['rewrite window too big', [{ match: { protocol: 'tcp' }, action: { rewrite: { window: 65536 } } }], /^rule 1, action\.rewrite\.window: expected an integer from 0 to 65535, got 65536$/],
  ['rewrite unknown field', [{ match: { protocol: 'tcp' }, action: { rewrite: { ttl: 1 } } }], /^rule 1, action\.rewrite: unknown field "ttl" \(known: window, flags, seq, ack\)$/],
  ['bad relative seq', [{ match: { protocol: 'tcp' }, action: { rewrite: { seq: '+lots' } } }], /^rule 1, action\.rewrite\.seq: expected an absolute number 0-4294967295 or a relative "\+N" \/ "-N"/],
  ['seq beyond 32 bits', [{ match: { protocol: 'tcp' }, action: { rewrite: { seq: 2 ** 32 } } }], /^rule 1, action\.rewrite\.seq: expected an integer from 0 to 4294967295/],
  ['inject without flags', [{ match: { flags: 'S' }, action: { inject: { seq: '+0' } } }], /^rule 1, action\.inject: missing "flags"/],
  ['inject toward nobody', [{ match: { flags: 'S' }, action: { inject: { flags: 'R', toward: 'nobody' } } }], /^rule 1, action\.inject\.toward: expected "sender"/],
  ['inject data not a string', [{ match: { flags: 'S' }, action: { inject: { flags: 'PA', data: 5 } } }], /^rule 1, action\.inject\.data: expected a string, got 5$/],
  ['blackout without duration', [{ action: { blackout: { direction: 'in' } } }], /^rule 1, action\.blackout: missing "duration"$/],
  ['the third rule is named', [{ action: 'drop' }, { action: 'drop' }, { match: { nth: -1 }, action: 'drop' }], /^rule 3, match\.nth: /],
  ['an action in a list is named by its index', [{ match: { protocol: 'tcp' }, action: ['duplicate', { rewrite: { flags: 'Q' } }] }], /^rule 1, action\[1\]\.rewrite\.flags: unknown flag letter "Q"/],
];

for (const [what, json, message] of invalid) {
  test(`rule file validation: ${what}`, (t) => {
    const error = t.throws(() => parseRules(json), { instanceOf: RuleError });
    t.regex(error!.message, message);
    t.false(error!.message.includes('\n'), 'one line');
  });
}

test('rule files: read from disk, "not found" and "not JSON" are one line too', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-rules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.throws(() => loadRules(join(dir, 'missing.json')), { message: /^cannot read it \(ENOENT\)$/ });
  writeFileSync(join(dir, 'bad.json'), '{"rules": [');
  t.throws(() => loadRules(join(dir, 'bad.json')), { message: /^not valid JSON: / });
  writeFileSync(join(dir, 'ok.json'), JSON.stringify([{ name: 'x', match: { flags: { contains: 'S' } }, action: 'drop' }]));
  const [rule] = loadRules(join(dir, 'ok.json'));
  t.is(rule!.name, 'x');
  t.deepEqual(rule!.match.flags, { mode: 'contains', bits: TCP_SYN });
});

test('the example rule files of the README are valid', (t) => {
  for (const name of ['drop-first-synack', 'drop-every-third-data-to-port-7', 'blackhole-3s-after-10th-packet', 'rst-in-window']) {
    const r = loadRules(new URL(`../../tun/impair/examples/${name}.json`, import.meta.url).pathname);
    t.is(r.length, 1, name);
  }
});

// ---------------------------------------------------------------------------
// Matchers
// ---------------------------------------------------------------------------

/** Runs `input` through the rules and returns which seqs came out in each direction. */
function through(ruleList: object[], input: Timed[]): { out: Timed[]; hits: number[] } {
  const { out, imp } = runStream({ seed: 1, rules: rules(...ruleList) }, input);
  return { out, hits: imp.counters.ruleHits };
}

test('match.direction: a rule for "in" leaves "out" alone', (t) => {
  const input = [...stream(10, 'out'), ...stream(10, 'in')];
  const { out, hits } = through([{ match: { direction: 'in' }, action: 'drop' }], input);
  t.deepEqual(seqs(out.filter((e) => e.dir === 'out')), range(0, 10));
  t.is(out.filter((e) => e.dir === 'in').length, 0);
  t.deepEqual(hits, [10]);
});

test('match.protocol: by name and by number', (t) => {
  const udp = udpDatagram(1000, 2000, new Uint8Array(10), { source: STACK, destination: KERNEL });
  const input: Timed[] = [
    { t: 0, dir: 'out', packet: segment(1) },
    { t: 1, dir: 'out', packet: udp },
  ];
  t.deepEqual(
    through([{ match: { protocol: 'udp' }, action: 'drop' }], input).out.map((e) => e.packet),
    [input[0]!.packet],
  );
  t.deepEqual(
    through([{ match: { protocol: 6 }, action: 'drop' }], input).out.map((e) => e.packet),
    [udp],
  );
});

test('match.flags: exact and contains', (t) => {
  const flags = [TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK, TCP_ACK | TCP_PSH, TCP_FIN | TCP_ACK, TCP_RST];
  const input = flags.map((f, i) => ({ t: i, dir: 'out' as const, packet: segment(i, 'out', 40, f) }));
  const kept = (flagsMatch: unknown): number[] => seqs(through([{ match: { flags: flagsMatch }, action: 'drop' }], input).out);
  t.deepEqual(kept('S'), [1, 2, 3, 4, 5]);
  t.deepEqual(kept('SA'), [0, 2, 3, 4, 5]);
  t.deepEqual(kept({ exact: 'S.' }), [0, 2, 3, 4, 5]);
  t.deepEqual(kept({ contains: 'S' }), [2, 3, 4, 5]);
  t.deepEqual(kept({ contains: 'A' }), [0, 5]);
  t.deepEqual(kept({ contains: 'FA' }), [0, 1, 2, 3, 5]);
  t.deepEqual(kept({ exact: 'PA' }), [0, 1, 2, 4, 5]);
});

test('match.srcPort, dstPort, port: exact and ranges', (t) => {
  const input = [80, 443, 7, 8080].map((port, i) => ({ t: i, dir: 'out' as const, packet: segment(i, 'out', 100, TCP_ACK, [50000 + i, port]) }));
  const kept = (match: object): number[] => seqs(through([{ match, action: 'drop' }], input).out);
  t.deepEqual(kept({ dstPort: 7 }), [0, 1, 3]);
  t.deepEqual(kept({ dstPort: [80, 1000] }), [2, 3]);
  t.deepEqual(kept({ srcPort: 50001 }), [0, 2, 3]);
  t.deepEqual(kept({ srcPort: { min: 50002 } }), [0, 1]);
  t.deepEqual(kept({ port: 50000 }), [1, 2, 3], 'port matches the source...');
  t.deepEqual(kept({ port: 8080 }), [0, 1, 2], '...or the destination');
  t.deepEqual(kept({ srcPort: 50000, dstPort: 443 }), [0, 1, 2, 3], 'all matchers must hold');
});

test('match.length: the TCP payload, exact, range or open-ended', (t) => {
  const input = [40, 41, 540, 1040, 1500].map((size, i) => ({ t: i, dir: 'out' as const, packet: segment(i, 'out', size) }));
  const kept = (length: unknown): number[] => seqs(through([{ match: { length }, action: 'drop' }], input).out);
  t.deepEqual(kept(0), [1, 2, 3, 4], 'a pure ACK has length 0');
  t.deepEqual(kept([1, 999]), [0, 3, 4]);
  t.deepEqual(kept([1, 1000]), [0, 4], 'bounds included');
  t.deepEqual(kept({ min: 1 }), [0]);
  t.deepEqual(kept({ max: 500 }), [3, 4]);
});

test('match.nth, every, nth with every, times', (t) => {
  const input = stream(20);
  const dropped = (match: object): number[] => {
    const kept = new Set(seqs(through([{ match, action: 'drop' }], input).out));
    return range(0, 20).filter((i) => !kept.has(i));
  };
  t.deepEqual(dropped({ nth: 3 }), [2]);
  t.deepEqual(dropped({ every: 3 }), [2, 5, 8, 11, 14, 17]);
  t.deepEqual(dropped({ nth: 4, every: 5 }), [3, 8, 13, 18]);
  t.deepEqual(dropped({ every: 2, times: 3 }), [1, 3, 5]);
  t.deepEqual(dropped({ times: 2 }), [0, 1]);
  // Counting is over the packets that pass the other matchers.
  const mixed = stream(12).map((e, i) => (i % 2 ? e : { ...e, packet: segment(i, 'out', 40) }));
  const kept = new Set(seqs(through([{ match: { length: 0, nth: 2 } }].map((r) => ({ ...r, action: 'drop' })), mixed).out));
  t.deepEqual(range(0, 12).filter((i) => !kept.has(i)), [2], 'the second pure ACK');
});

test('match.from / until: a time window counted from the start', (t) => {
  const input = stream(100, 'out', 10);
  const kept = new Set(seqs(through([{ match: { from: '200ms', until: 0.5 * 1000 }, action: 'drop' }], input).out));
  t.deepEqual(range(0, 100).filter((i) => !kept.has(i)), range(20, 50));
});

test('rules run in file order as a pipeline: a dropped packet reaches no later rule', (t) => {
  const { out, hits } = through(
    [
      { match: { nth: 2 }, action: 'drop' },
      { match: { nth: 2 }, action: { delay: '1s' } },
    ],
    stream(5),
  );
  t.deepEqual(hits, [1, 1]);
  t.deepEqual(seqs(out), [0, 3, 4, 2], 'the second rule counted 0, 2, 3...: its second is packet 2');
});

// ---------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------

test('action drop: counted per rule and in ImpairRuleDrops', (t) => {
  const { imp } = runStream({ seed: 1, rules: rules({ match: { every: 4 }, action: 'drop' }) }, stream(100));
  t.is(imp.counters.total('ImpairRuleDrops'), 25);
  t.is(imp.counters.total('ImpairRuleHits'), 25);
  t.deepEqual(imp.counters.rows().find(([name]) => name === 'ImpairRule1Hits'), ['ImpairRule1Hits', 25]);
});

test('action delay: the packet leaves later and the ones behind it overtake it', (t) => {
  const { out } = runStream({ seed: 1, rules: rules({ match: { nth: 3 }, action: { delay: '5ms' } }) }, stream(10));
  t.deepEqual(seqs(out), [0, 1, 3, 4, 5, 6, 2, 7, 8, 9]);
  t.is(out.find((e) => seqOf(e.packet) === 2)!.t, 7);
});

test('action duplicate: extra copies right behind the original', (t) => {
  const { out, imp } = runStream({ seed: 1, rules: rules({ match: { nth: 2 }, action: { duplicate: 3 } }, { match: { nth: 5 }, action: 'duplicate' }) }, stream(6));
  t.deepEqual(seqs(out), [0, 1, 1, 1, 1, 2, 3, 4, 4, 5]);
  t.is(imp.counters.total('ImpairRuleDuplicated'), 4);
});

test('action corrupt: one bit flipped on a copy, the checksum fails', (t) => {
  const input = stream(3);
  const { out, imp } = runStream({ seed: 1, rules: rules({ match: { nth: 2 }, action: 'corrupt' }) }, input);
  t.is(imp.counters.total('ImpairCorrupted'), 1);
  const ok = out.map((e) => tcpChecksumOk(e.packet.subarray(20), STACK, KERNEL));
  t.deepEqual(ok, [true, false, true]);
  t.true(tcpChecksumOk(input[1]!.packet.subarray(20), STACK, KERNEL), 'the original is untouched');
});

test('action rewrite: window, flags, seq and ack (absolute and relative), checksums fixed', (t) => {
  const input = stream(2);
  const run = (rewrite: object) =>
    runStream({ seed: 1, rules: rules({ match: { protocol: 'tcp', nth: 2 }, action: { rewrite } }) }, input).out[1]!.packet;
  const check = (p: Uint8Array): void => {
    t.true(tcpChecksumOk(p.subarray(20), STACK, KERNEL), 'TCP checksum recomputed');
    t.true(ipHeaderChecksumOk(p));
  };
  const w = run({ window: 0 });
  t.is((w[34]! << 8) | w[35]!, 0);
  check(w);
  const f = run({ flags: 'R' });
  t.is(viewPacket(f).flags, TCP_RST);
  check(f);
  const s = run({ seq: '+1000', ack: 7 });
  t.is(viewPacket(s).seq, 1001);
  t.is(viewPacket(s).ack, 7);
  check(s);
  const wrap = run({ seq: '-2' });
  t.is(viewPacket(wrap).seq, 0xffffffff, 'relative values wrap modulo 2^32');
  check(wrap);
  const { imp } = runStream({ seed: 1, rules: rules({ match: { protocol: 'tcp' }, action: { rewrite: { window: 1 } } }) }, input);
  t.is(imp.counters.total('ImpairRuleRewritten'), 2);
});

test('action inject toward the sender: a RST whose seq is the ACK number of the matched packet', (t) => {
  // A data segment from the stack (out): seq 5000, ack 1, 1000 bytes of data.
  const matched = segment(5000, 'out', 1040);
  const { out, imp } = runStream(
    { seed: 1, rules: rules({ match: { flags: { contains: 'P' } }, action: { inject: { flags: 'R' } } }) },
    [{ t: 0, dir: 'out', packet: matched }],
  );
  t.is(imp.counters.total('ImpairInjected'), 1);
  const back = out.filter((e) => e.dir === 'in');
  t.is(out.filter((e) => e.dir === 'out').length, 1, 'the matched packet goes on');
  t.is(back.length, 1, 'and a RST comes back towards the stack, at once');
  t.is(back[0]!.t, 0);
  const rst = viewPacket(back[0]!.packet);
  t.is(rst.flags, TCP_RST);
  t.is(rst.seq, 1, "the matched packet's ACK number: exactly what its sender expects next");
  t.is(rst.ack, 0, 'no ACK flag, no ack number');
  t.is(rst.srcPort, 7);
  t.is(rst.dstPort, 40000);
  t.true(tcpChecksumOk(back[0]!.packet.subarray(20), KERNEL, STACK));
  t.true(ipHeaderChecksumOk(back[0]!.packet));
});

test('action inject toward the receiver: seq relative to the end of the matched segment, ack, window and data as given', (t) => {
  const matched = segment(5000, 'in', 1040);
  const { out } = runStream(
    {
      seed: 1,
      rules: rules({ match: { protocol: 'tcp' }, action: { inject: { toward: 'receiver', flags: 'PA', seq: '+1000', ack: '+0', window: 512, data: 'hello' } } }),
    },
    [{ t: 0, dir: 'in', packet: matched }],
  );
  t.deepEqual(
    out.map((e) => e.dir),
    ['in', 'in'],
  );
  const inj = viewPacket(out[1]!.packet);
  t.is(inj.seq, 5000 + 1000 + 1000, 'matched seq + its 1000 bytes + 1000');
  t.is(inj.ack, 1);
  t.is(inj.payloadLength, 5);
  t.is(inj.srcPort, 7);
  t.is(inj.dstPort, 40000);
  t.is((out[1]!.packet[34]! << 8) | out[1]!.packet[35]!, 512);
  t.true(tcpChecksumOk(out[1]!.packet.subarray(20), KERNEL, STACK));
  // An injection with a delay leaves that much later; drop + inject replaces the packet.
  const replaced = runStream(
    { seed: 1, rules: rules({ match: { protocol: 'tcp' }, action: ['drop', { inject: { toward: 'receiver', flags: 'R', delay: '30ms' } }] }) },
    [{ t: 0, dir: 'in', packet: matched }],
  ).out;
  t.deepEqual(
    replaced.map((e) => [e.t, viewPacket(e.packet).flags]),
    [[30, TCP_RST]],
  );
});

test('action blackout: everything is dropped for the duration after the matched packet, which itself passes', (t) => {
  const input = [...stream(5000, 'out', 1), ...stream(5000, 'in', 1)];
  const { out, imp } = runStream({ seed: 1, rules: rules({ match: { direction: 'out', nth: 10 }, action: { blackout: '3s' } }) }, input);
  const outSeqs = seqs(out.filter((e) => e.dir === 'out'));
  t.deepEqual(outSeqs, [...range(0, 10), ...range(3009, 5000)], 'packet 9 (the 10th) at t=9 passes; 10..3008 fall in [9, 3009)');
  t.is(out.filter((e) => e.dir === 'in').length, 5000 - 3000, 'both directions by default');
  t.is(imp.counters.total('ImpairBlackoutDrops'), 2 * 3000 - 1);
  const one = runStream({ seed: 1, rules: rules({ match: { nth: 1 }, action: { blackout: { duration: '10ms', direction: 'in' } } }) }, [...stream(20, 'out'), ...stream(20, 'in')]).out;
  t.is(one.filter((e) => e.dir === 'out').length, 20);
});
