/**
 * The impairment options of `up` and `connect` (cli/device.ts with
 * tun/impair/parse-cli.ts): what they parse to, their help, and every kind of
 * misuse as one line with exit status 2, before anything is created.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceConfig } from '../../cli/device.ts';
import { UsageError } from '../../cli/usage.ts';
import { describeImpairment, parseImpairOptions } from '../../tun/impair/parse-cli.ts';
import { runCli } from '../helpers/interop.ts';

const dir = mkdtempSync(join(tmpdir(), 'tcpstack-impair-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const badRules = join(dir, 'bad.json');
writeFileSync(badRules, JSON.stringify({ rules: [{ action: 'drop' }, { match: { flags: 'SX' }, action: 'drop' }] }));
const badRules6 = join(dir, 'bad6.json');
writeFileSync(badRules6, JSON.stringify({ rules: [{ match: { version: 6, dst: '2001:2::1/64' }, action: 'drop' }] }));
const goodRules = join(dir, 'good.json');
writeFileSync(goodRules, JSON.stringify({ rules: [{ match: { flags: 'SA', nth: 1 }, action: 'drop' }] }));

test('the options parse into per-direction faults: no prefix is both directions, in:/out: one', (t) => {
  const config = deviceConfig({
    loss: ['in:5%'],
    delay: ['50ms~10ms,unordered'],
    dup: ['out:0.01'],
    reorder: ['2%,hold=30ms'],
    corrupt: ['0.5%'],
    rate: ['in:20mbit,queue=64kb', 'out:1gbit,queue=50'],
    'mtu-clamp': ['out:1400'],
    blackout: ['out:2s-5s', '100ms-1.5s'],
    faults: goodRules,
    seed: '42',
  }).impair!;
  t.true(config.seedGiven);
  const { seed, in: inward, out, rules } = config.config;
  t.is(seed, 42);
  t.deepEqual(inward, {
    loss: 0.05,
    delay: { ms: 50, jitterMs: 10, ordered: false },
    reorder: { probability: 0.02, holdMs: 30 },
    corrupt: 0.005,
    rate: { bitsPerSecond: 20e6, queueBytes: 65536 },
    blackouts: [{ from: 100, until: 1500 }],
  });
  t.deepEqual(out, {
    delay: { ms: 50, jitterMs: 10, ordered: false },
    dup: 0.01,
    reorder: { probability: 0.02, holdMs: 30 },
    corrupt: 0.005,
    rate: { bitsPerSecond: 1e9, queuePackets: 50 },
    mtu: 1400,
    blackouts: [
      { from: 2000, until: 5000 },
      { from: 100, until: 1500 },
    ],
  });
  t.is(rules?.length, 1);
  t.is(
    describeImpairment(config),
    `in: loss 5%, delay 50ms~10ms unordered, reorder 2% hold<=30ms, corrupt 0.5%, rate 20mbit queue 65536B, blackout 100ms-1.5s; ` +
      `out: delay 50ms~10ms unordered, dup 1%, reorder 2% hold<=30ms, corrupt 0.5%, rate 1gbit queue 50p, mtu-clamp 1400, blackout 2s-5s, blackout 100ms-1.5s; ` +
      `rules: 1 from ${goodRules}; seed 42`,
  );
});

test('no impairment option: a clean link; without --seed the seed is drawn at random and reported', (t) => {
  t.is(deviceConfig({}).impair, undefined);
  const drawn = parseImpairOptions({ loss: ['1%'] }, () => 31337)!;
  t.false(drawn.seedGiven);
  t.is(drawn.config.seed, 31337);
  t.is(describeImpairment(drawn), 'both: loss 1%; seed 31337');
  const random = deviceConfig({ loss: ['1%'] }).impair!.config.seed;
  t.true(Number.isInteger(random) && random >= 0 && random <= 0xffffffff);
});

test('misuse is a UsageError (exit 2) from deviceConfig too', (t) => {
  t.throws(() => deviceConfig({ loss: ['5'] }), { instanceOf: UsageError });
});

const misuse: Array<[string[], RegExp]> = [
  [['up', '--loss', '5'], /--loss "5": write a percentage \(5%\) or a fraction from 0 to 1$/],
  [['up', '--loss', 'lots'], /--loss "lots": expected a probability like 5% or 0\.05$/],
  [['up', '--loss', '150%'], /--loss "150%": a percentage is at most 100%$/],
  [['up', '--loss', 'in:5%', '--loss', 'in:1%'], /--loss: given twice for direction in/],
  [['up', '--loss', '5%', '--loss', 'out:1%'], /--loss: given twice for direction out/],
  [['up', '--loss', 'sideways:5%'], /--loss "sideways:5%": expected a probability/],
  [['up', '--dup', '1%,x'], /--dup takes no ",x"$/],
  [['up', '--delay', '50'], /--delay "50": expected a time like 50ms or 1\.5s$/],
  [['up', '--delay', '50ms~5ms~1ms'], /--delay "50ms~5ms~1ms": expected T or T~J/],
  [['up', '--delay', '50ms,sideways'], /--delay: unknown ",sideways" \(known: ,unordered ,ordered\)$/],
  [['up', '--reorder', '2%,hold=0ms'], /--reorder "hold=0ms": the hold is at least 1ms$/],
  [['up', '--reorder', '2%,gap=3'], /--reorder: unknown ",gap=3" \(known: ,hold\)$/],
  [['up', '--corrupt', '-1%'], /--corrupt/],
  [['up', '--rate', '20'], /--rate "20": expected a rate like 20mbit, 500kbit or 2mbps \(bytes\/s\)$/],
  [['up', '--rate', '20mbit,queue=0'], /--rate "queue=0": the queue holds at least 1 packet$/],
  [['up', '--rate', '20mbit,queue=lots'], /--rate "queue=lots": expected queue=N \(packets\) or queue=SIZE \(bytes, e\.g\. 64kb\)$/],
  [['up', '--rate', '20mbit,queue=64gb'], /--rate "64gb": expected a size like 64kb, 1mb or 1500b$/],
  [['up', '--delay', '50ms~'], /--delay "50ms~": expected T or T~J/],
  [['up', '--mtu-clamp', '20'], /--mtu-clamp "20": expected a packet size from 68 to 65535 bytes$/],
  [['up', '--blackout', '5s'], /--blackout "5s": expected T1-T2, e\.g\. 2s-5s$/],
  [['up', '--blackout', 'in:5s-2s'], /--blackout "5s-2s": the window ends before it starts$/],
  [['up', '--seed', '42'], /--seed only applies with an impairment/],
  [['up', '--loss', '1%', '--seed', 'x'], /--seed expects an integer from 0 to 4294967295, got "x"$/],
  [['up', '--loss', '1%', '--seed', '4294967296'], /--seed expects an integer from 0 to 4294967295/],
  [['up', '--faults', '/nonexistent/rules.json'], /--faults \/nonexistent\/rules\.json: cannot read it \(ENOENT\)$/],
  [['up', '--faults', badRules], /--faults .*bad\.json: rule 2, match\.flags: unknown flag letter "X" \(use F S R P A U E W\)$/],
  [['up', '--faults'], /--faults/],
  [['up', '--faults', badRules6], /--faults .*bad6\.json: rule 1, match\.dst: "2001:2::1\/64": bits are set beyond the \/64 prefix \(the network is 2001:2::\/64; without \/64, one address\)$/],
  [['connect', '--loss', '5', '198.18.0.1', '7'], /--loss "5": write a percentage/],
  [['connect', '--faults', badRules, '198.18.0.1', '7'], /rule 2, match\.flags/],
];

for (const [args, message] of misuse) {
  test(`tcpstack ${args.map((a) => a.replace(dir, '$TMP')).join(' ')} → exit 2 with one line`, (t) => {
    const r = runCli(args);
    t.is(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    t.is(lines.length, 1, r.stderr);
    t.regex(lines[0]!, /^tcpstack: error: /);
    t.regex(lines[0]!, message);
    t.is(r.stdout, '', 'nothing started');
  });
}

for (const command of ['up', 'connect']) {
  test(`tcpstack ${command} --help documents every impairment option`, (t) => {
    const r = runCli([command, '--help']);
    t.is(r.code, 0);
    for (const option of ['--loss', '--delay', '--dup', '--reorder', '--corrupt', '--rate', '--mtu-clamp', '--blackout', '--faults', '--seed', 'in:', 'out:', ',unordered', 'hold=', 'queue=']) {
      t.true(r.stdout.includes(option), option);
    }
  });
}
