/**
 * ImpairedLink between real stacks: in virtual time through the World of the
 * TCP tests (the README's example rule files doing what they say), and in
 * real time under RealtimeDriver, which releases held packets at their
 * deadline.
 */
import test from 'ava';
import { VirtualClock } from '../../stack/clock.ts';
import type { BatchHandler, Link } from '../../stack/link.ts';
import { SeededRandom } from '../../stack/random.ts';
import { Stack } from '../../stack/stack.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { MonotonicClock, RealtimeDriver } from '../../tun/driver.ts';
import { ImpairedLink } from '../../tun/impair/impaired-link.ts';
import { Impairment, type ImpairConfig } from '../../tun/impair/impairment.ts';
import { loadRules } from '../../tun/impair/rules.ts';
import { memoryLinkPair } from '../../tun/memory-link.ts';
import { echoRequest, STACK } from '../helpers/packets.ts';
import { ADDR_B, World } from '../helpers/world.ts';
import { payload, transfer } from './transfer.ts';

const example = (name: string) => loadRules(new URL(`../../tun/impair/examples/${name}.json`, import.meta.url).pathname);
const B = formatIpv4(ADDR_B);

/** Connects A to a listener on B; returns when A is established (virtual ms) or undefined. */
function connectTime(w: World, port: number, limit = 30_000): number | undefined {
  const server = w.b.tcp.socket();
  server.bind(0, port);
  server.listen(4);
  const client = w.a.tcp.socket();
  client.connect(B, port);
  w.run(limit, () => client.state === 'ESTABLISHED');
  return client.state === 'ESTABLISHED' ? w.clock.now() : undefined;
}

test('example "drop the first SYN-ACK": the client connects when its SYN is retransmitted, 1 s later', (t) => {
  const clean = connectTime(new World(), 80);
  t.is(clean, 0);
  const w = new World({ impair: { a: { seed: 1, rules: example('drop-first-synack') } } });
  t.is(connectTime(w, 80), 1000);
  const c = w.impairA!.impairment.counters;
  t.is(c.ruleHits[0], 1);
  t.is(c.in.ImpairRuleDrops, 1, 'the SYN-ACK came in, towards A');
  t.is(w.a.counters.TcpExtTCPSynRetrans, 1);
});

test('example "drop every third data segment to port 7": an echo-like transfer still arrives intact', (t) => {
  const w = new World({ impair: { a: { seed: 1, rules: example('drop-every-third-data-to-port-7') } } });
  const r = transfer(w, payload(1, 300_000), payload(2, 300_000), 7);
  t.is(r.up.got, r.up.sent);
  t.is(r.down.got, r.down.sent);
  const c = w.impairA!.impairment.counters;
  t.true(c.ruleHits[0]! > 50, `${c.ruleHits[0]} data segments dropped`);
  t.is(c.in.ImpairRuleDrops, 0, 'data towards A comes from port 7, it is not to it');
  t.true(w.a.counters.TcpRetransSegs >= c.ruleHits[0]!);
});

test('example "blackhole for 3 s after the 10th packet": the transfer stalls 3 s, then completes', (t) => {
  const w = new World({ impair: { a: { seed: 1, rules: example('blackhole-3s-after-10th-packet') } } });
  const r = transfer(w, payload(3, 200_000), payload(4, 200_000));
  t.is(r.up.got, r.up.sent);
  t.is(r.down.got, r.down.sent);
  const c = w.impairA!.impairment.counters;
  t.is(c.ruleHits[0], 1);
  t.true(c.total('ImpairBlackoutDrops') > 0);
  t.true(r.virtualMs > 3000, `took ${r.virtualMs} ms`);
});

test('example "RST with an in-window sequence number": the receiver answers with a challenge ACK and the connection lives', (t) => {
  const w = new World({ impair: { b: { seed: 1, rules: example('rst-in-window') } } });
  const r = transfer(w, payload(5, 100_000), payload(6, 100_000), 7);
  t.is(r.up.got, r.up.sent);
  t.is(r.down.got, r.down.sent);
  t.is(w.impairB!.impairment.counters.in.ImpairInjected, 1);
  t.is(w.b.counters.TcpExtTCPChallengeACK, 1, 'RFC 5961 §3.2: an in-window RST that is not exact is challenged');
  t.is(w.b.counters.TcpEstabResets, 0);
});

test('the same RST at exactly the next sequence number ("+0") resets the receiver', (t) => {
  const rules = example('rst-in-window');
  const inject = rules[0]!.actions[0]!;
  if (inject.kind !== 'inject') throw new Error('example changed');
  inject.inject.seq = { relative: 0 };
  const w = new World({ impair: { b: { seed: 1, rules } } });
  const server = w.b.tcp.socket();
  server.bind(0, 7);
  server.listen(4);
  let child: ReturnType<typeof server.accept> = null;
  server.onEvent = () => {
    child ??= server.accept();
  };
  const client = w.a.tcp.socket();
  client.connect(B, 7);
  let sent = 0;
  client.onEvent = () => {
    while (client.state === 'ESTABLISHED' && sent < 20) {
      if (client.write(new Uint8Array(1000).fill(sent)) === 0) break;
      sent++;
    }
  };
  w.run(10_000, () => child !== null && child.state === 'CLOSED');
  t.is(w.b.counters.TcpEstabResets, 1);
  t.is(child!.getError(), 'ECONNRESET');
});

test('a rule on the send path injecting towards the stack: a RST+ACK answering our SYN refuses the connection', (t) => {
  const config: ImpairConfig = {
    seed: 1,
    rules: [
      {
        number: 1,
        name: 'refuse',
        match: { direction: 'out', flags: { mode: 'exact', bits: 0x02 } },
        actions: [{ kind: 'drop' }, { kind: 'inject', inject: { toward: 'sender', flags: 0x14, seq: { relative: 0 }, ack: { relative: 0 }, window: 0, data: new Uint8Array(0), delayMs: 0 } }],
      },
    ],
  };
  const w = new World({ impair: { a: config } });
  const client = w.a.tcp.socket();
  client.connect(B, 9999);
  w.run(5000, () => client.state === 'CLOSED');
  t.is(client.state, 'CLOSED');
  t.is(client.getError(), 'ECONNREFUSED');
  t.is(w.clock.now(), 0, 'at once: the injection is due immediately');
  t.is(w.b.counters.IpInReceives, 0, 'the SYN never reached B');
});

test('random faults in the World are deterministic: the same seed gives the same run, counters and virtual time', (t) => {
  const run = (seed: number) => {
    const impair: ImpairConfig = { seed, both: { loss: 0.05, dup: 0.01, corrupt: 0.005, reorder: { probability: 0.02 }, delay: { ms: 5, jitterMs: 2 } } };
    const w = new World({ seed: 3, impair: { a: impair } });
    const r = transfer(w, payload(7, 500_000), payload(8, 500_000));
    return { r, rows: w.impairA!.impairment.counters.rows(true), a: { ...w.a.counters }, b: { ...w.b.counters } };
  };
  const one = run(77);
  const two = run(77);
  t.is(one.r.up.got, one.r.up.sent);
  t.is(one.r.down.got, one.r.down.sent);
  t.deepEqual(one, two);
  t.notDeepEqual(run(78).rows, one.rows);
});

test('RealtimeDriver releases held packets at their deadline: a ping delayed 60 ms in and 40 ms out is answered after 100 ms', async (t) => {
  const clock = new MonotonicClock();
  const [stackSide, kernelSide] = memoryLinkPair();
  const link = new ImpairedLink(stackSide, new Impairment({ seed: 1, in: { delay: { ms: 60 } }, out: { delay: { ms: 40 } } }, clock));
  const stack = new Stack({ address: STACK, clock, random: new SeededRandom(1), link });
  const driver = new RealtimeDriver(stack, link, clock, [link]);
  t.teardown(() => {
    driver.stop();
    link.close();
  });
  const replies: number[] = [];
  kernelSide.onReceive((batch) => {
    for (const p of batch) if (p[20] === 0) replies.push(clock.now());
  });
  const start = clock.now();
  kernelSide.send([echoRequest(1, 1, 56)]);
  stackSide.deliver(); // the device "reads" the request: it goes into the impairment, held 60 ms
  t.is(link.impairment.pending('in'), 1);
  // Only the driver's timer moves it; poll the wire until the reply is there (bounded).
  for (let i = 0; i < 100 && replies.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    kernelSide.deliver();
  }
  t.is(replies.length, 1);
  const rtt = replies[0]! - start;
  t.true(rtt >= 100 && rtt < 400, `answered after ${rtt.toFixed(1)} ms`);
  t.is(link.impairment.counters.total('ImpairDelayed'), 2);
});

test('a batch marked backlogged keeps its mark through the impairment when it passes at once; what a delay held comes unmarked', (t) => {
  const clock = new VirtualClock(0);
  let inner: BatchHandler | undefined;
  const innerLink: Link = { mtu: 1500, send: () => undefined, onReceive: (h) => (inner = h), close: () => undefined };
  const seen: Array<{ n: number; backlogged: boolean | undefined }> = [];
  const passing = new ImpairedLink(innerLink, new Impairment({ seed: 1 }, clock));
  passing.onReceive((batch, backlogged) => seen.push({ n: batch.length, backlogged }));
  inner!([echoRequest(1, 1, 8), echoRequest(1, 2, 8)], true);
  inner!([echoRequest(1, 3, 8)], false);
  t.deepEqual(seen, [
    { n: 2, backlogged: true },
    { n: 1, backlogged: false },
  ]);

  seen.length = 0;
  const delaying = new ImpairedLink(innerLink, new Impairment({ seed: 1, in: { delay: { ms: 10 } } }, clock));
  delaying.onReceive((batch, backlogged) => seen.push({ n: batch.length, backlogged }));
  inner!([echoRequest(1, 4, 8)], true);
  t.deepEqual(seen, [], 'held');
  clock.set(10);
  delaying.runTimers();
  t.deepEqual(seen, [{ n: 1, backlogged: undefined }]);
});
