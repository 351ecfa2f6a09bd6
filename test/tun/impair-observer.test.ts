/**
 * Impairment.observer: every verdict told with its packet (what a pcapng
 * capture comments), checked against what the impairment then released.
 */
import test from 'ava';
import { VirtualClock } from '../../stack/clock.ts';
import { TCP_ACK, TCP_RST } from '../../stack/wire/tcp.ts';
import { Impairment, type ImpairConfig } from '../../tun/impair/impairment.ts';
import { rewriteTcp, viewPacket } from '../../tun/impair/packet.ts';
import { parseRules } from '../../tun/impair/rules.ts';
import { firstDifferingBit, type ImpairVerdict } from '../../tun/impair/verdict.ts';
import { segment } from './impair-stream.ts';

function observed(config: ImpairConfig): { imp: Impairment; clock: VirtualClock; verdicts: ImpairVerdict[] } {
  const clock = new VirtualClock(0);
  const imp = new Impairment(config, clock);
  const verdicts: ImpairVerdict[] = [];
  imp.observer = (v) => verdicts.push(v);
  return { imp, clock, verdicts };
}

test('each drop is told with its cause: blackout, MTU clamp, the rule (counted from 1), loss, the rate queue\'s tail', (t) => {
  const { imp, clock, verdicts } = observed({
    seed: 1,
    out: { blackouts: [{ from: 0, until: 10 }], mtu: 1000, loss: 0.5, rate: { bitsPerSecond: 8_000_000, queuePackets: 1 } },
    rules: parseRules({ rules: [{ match: { protocol: 'tcp', dstPort: 9 }, action: { delay: '1ms' } }, { match: { protocol: 'tcp', dstPort: 7, nth: 2 }, action: 'drop' }] }),
  });
  const blackedOut = segment(1, 'out', 100);
  imp.push('out', blackedOut);
  clock.set(20);
  const tooLong = segment(2, 'out', 1200);
  imp.push('out', tooLong);
  const first = segment(3, 'out', 100);
  imp.push('out', first);
  const second = segment(4, 'out', 100);
  imp.push('out', second);
  for (let i = 5; i < 40; i++) imp.push('out', segment(i, 'out', 100));
  const drops = verdicts.filter((v) => v.kind === 'drop');
  t.like(drops[0], { kind: 'drop', dir: 'out', packet: blackedOut, cause: 'blackout' });
  t.like(drops[1], { kind: 'drop', dir: 'out', packet: tooLong, cause: 'mtu' });
  t.deepEqual(
    verdicts.filter((v) => v.kind === 'drop' && v.cause === 'rule').map((v) => [v.packet, v.kind === 'drop' ? v.rule : 0]),
    [[second, 2]],
    'rule 2 took the second segment to port 7',
  );
  const causes = new Set(drops.map((v) => (v.kind === 'drop' ? v.cause : '')));
  t.deepEqual([...causes].sort(), ['blackout', 'loss', 'mtu', 'rate', 'rule']);
  const rate = drops.find((v) => v.kind === 'drop' && v.cause === 'rate');
  t.is(rate?.kind === 'drop' ? rate.copy?.index : -1, 0, 'the rate queue drops one copy, and says which');
  // Counters and verdicts agree.
  const c = imp.counters.out;
  t.is(drops.length, c.ImpairBlackoutDrops + c.ImpairMtuDrops + c.ImpairRuleDrops + c.ImpairLossDrops + c.ImpairRateDrops);
  const queued = verdicts.filter((v) => v.kind === 'queue').length;
  t.is(queued + drops.length, c.ImpairPackets);
});

test('a queued copy: the duplicate\'s index, the bit flipped (as the released bytes show), the time held, the rule that rewrote it', (t) => {
  const { imp, clock, verdicts } = observed({
    seed: 7,
    out: { delay: { ms: 30 } },
    rules: parseRules({ rules: [{ match: { protocol: 'tcp', dstPort: 7 }, action: ['duplicate', 'corrupt', { rewrite: { window: 77 } }, { delay: '5ms' }] }] }),
  });
  const p = segment(1, 'out', 200);
  imp.push('out', p);
  const queued = verdicts.filter((v) => v.kind === 'queue');
  t.is(queued.length, 2);
  clock.set(35);
  const released = imp.takeDue('out');
  t.is(released.length, 2);
  queued.forEach((v, i) => {
    if (v.kind !== 'queue') return;
    t.is(v.packet, p, 'told with the packet as pushed');
    t.is(v.copy.index, i);
    t.is(v.copy.bytes, released[i]!, 'the bytes that were released');
    t.deepEqual(v.copy.rewrittenBy, [1]);
    t.is(v.heldMs, 35);
    t.false(v.reordered);
    t.is(viewPacket(v.copy.bytes).window, 77);
    // Flipping the bit told back gives the packet as rule 1 rewrote it, before the flip.
    const unflipped = Uint8Array.from(v.copy.bytes);
    const bit = v.copy.corruptedBit!;
    unflipped[bit >> 3]! ^= 0x80 >> (bit & 7);
    t.deepEqual(unflipped, rewriteTcp(p, { window: 77 })!);
    t.is(firstDifferingBit(unflipped, v.copy.bytes), bit);
  });
});

test('an injection is told with its rule, its direction and the packet it answered', (t) => {
  const { imp, verdicts } = observed({
    seed: 1,
    rules: parseRules({ rules: [{ match: { protocol: 'tcp', dstPort: 9 }, action: { delay: '1ms' } }, { match: { direction: 'in', protocol: 'tcp', dstPort: 7 }, action: { inject: { toward: 'sender', flags: 'R' } } }] }),
  });
  const trigger = segment(1, 'in', 100, TCP_ACK, [7, 40000]);
  imp.push('in', trigger);
  const inject = verdicts.find((v) => v.kind === 'inject');
  t.like(inject, { kind: 'inject', dir: 'out', rule: 2, trigger, heldMs: 0 });
  t.is(inject?.kind === 'inject' ? viewPacket(inject.packet).flags : 0, TCP_RST);
  t.deepEqual(imp.takeDue('out'), [inject!.packet]);
  t.like(verdicts.find((v) => v.kind === 'queue'), { dir: 'in', packet: trigger, heldMs: 0 });
});

test('without an observer, the same seed gives the same faults (nothing drawn for it)', (t) => {
  const config: ImpairConfig = { seed: 3, both: { loss: 0.2, dup: 0.2, corrupt: 0.2, delay: { ms: 5, jitterMs: 4, ordered: false }, reorder: { probability: 0.2 } } };
  const run = (observe: boolean): Uint8Array[] => {
    const clock = new VirtualClock(0);
    const imp = new Impairment(config, clock);
    if (observe) imp.observer = () => undefined;
    const out: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      imp.push(i % 2 === 0 ? 'out' : 'in', segment(i, i % 2 === 0 ? 'out' : 'in', 100));
      clock.advance(1);
      out.push(...imp.takeDue('out'), ...imp.takeDue('in'));
    }
    clock.advance(100);
    return [...out, ...imp.takeDue('out'), ...imp.takeDue('in')];
  };
  t.deepEqual(run(true), run(false));
});
