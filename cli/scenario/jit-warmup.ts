/**
 * Warms the stack's code before the first stack run of a process. The
 * harness compares packet timings to the kernel's, and some of Linux's
 * decisions turn on a millisecond (tcp_tso_should_defer's "last write
 * within 1 ms"): how far apart the subject's segments leave decides how far
 * apart the peer's ACKs come back. Node runs a function in its interpreter
 * until the function has been called often enough to be compiled; a stack
 * run alone is a few hundred packets, too few. Cold, a batch of ten ACKs
 * took 1 to 5 ms to answer in loss-mid-cubic (50 to 300 µs an ACK), the
 * flight left in pieces milliseconds apart, and the peer's duplicate ACKs
 * came back that far apart too; warmed up, the same batches took 0.1 to
 * 1 ms (10 to 30 µs an ACK after the first of a batch). So before the
 * first run, two of our stacks, in virtual time over an in-memory wire with
 * a 10 ms path and seeded loss, run bulk transfers under CUBIC and Reno
 * (handshakes, SACK recovery, RACK, PRR, loss probes, retransmission
 * timeouts, closes), with a trace sink as the stack run has, until the hot
 * paths are compiled: about 0.4 s of work, once per process. The same again
 * over IPv6, whose input, output and checksum code is its own (the
 * scenarios run in both families): about as long again.
 */
import { VirtualClock } from '../../stack/clock.ts';
import type { Link, BatchHandler } from '../../stack/link.ts';
import { SeededRandom } from '../../stack/random.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { Stack } from '../../stack/stack.ts';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';
import { FAMILIES, type Family } from './family.ts';

/** One way of the in-memory wire: a seeded loss and a fixed delay. */
class DelayWire implements Link {
  readonly mtu = 1500;
  private handler: BatchHandler | undefined;
  peer: DelayWire | undefined;
  private readonly held: Array<{ at: number; packet: Uint8Array }> = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly random: SeededRandom,
    private readonly delayMs: number,
    private readonly lossRate: number,
  ) {}

  send(packets: readonly Uint8Array[]): void {
    const at = this.clock.now() + this.delayMs;
    for (const p of packets) if (this.random.float() >= this.lossRate) this.peer!.held.push({ at, packet: p });
  }

  onReceive(handler: BatchHandler): void {
    this.handler = handler;
  }

  close(): void {
    this.handler = undefined;
  }

  nextArrival(): number {
    return this.held.length > 0 ? this.held[0]!.at : Infinity;
  }

  /** Delivers, as one batch, what has arrived by now; returns how many packets. */
  deliver(): number {
    const now = this.clock.now();
    let n = 0;
    while (n < this.held.length && this.held[n]!.at <= now) n++;
    if (n === 0) return 0;
    const batch = this.held.splice(0, n).map((h) => h.packet);
    this.handler?.(batch);
    return n;
  }
}

/** Sends `bytes` from a client of stack A to a server of stack B over `family` and closes both ends; returns whether all arrived. */
function transfer(congestion: string, bytes: number, lossRate: number, seed: number, family: Family): boolean {
  const clock = new VirtualClock(0);
  const random = new SeededRandom(seed);
  const wireA = new DelayWire(clock, random, 10, lossRate);
  const wireB = new DelayWire(clock, random, 10, lossRate);
  wireA.peer = wireB;
  wireB.peer = wireA;
  const addrB = family === 4 ? '198.18.0.2' : '2001:2::2';
  // With a trace sink, as the stack run has one: building the events is part of the hot path.
  const trace = (): void => undefined;
  const v6 = (text: string) => (family === 6 ? { address6: parseIpv6(text)! } : {});
  const a = new Stack({ address: parseIpv4('198.18.0.1')!, ...v6('2001:2::1'), clock, random: new SeededRandom(seed + 1), link: wireA, trace });
  const b = new Stack({ address: parseIpv4('198.18.0.2')!, ...v6('2001:2::2'), clock, random: new SeededRandom(seed + 2), link: wireB, trace });
  wireA.onReceive((batch) => a.inputBatch(batch));
  wireB.onReceive((batch) => b.inputBatch(batch));

  const listener = b.tcp.socket(family);
  listener.bind(family === 4 ? 0 : '::', 5001);
  listener.listen(8);
  let received = 0;
  let server: Endpoint | null = null;
  listener.onEvent = () => {
    server ??= listener.accept();
    if (server) {
      const s = server;
      s.onEvent = () => {
        for (;;) {
          const d = s.read();
          if (d === null) return;
          if (d.length === 0) return s.close();
          received += d.length;
        }
      };
    }
  };
  const client = a.tcp.socket(family);
  (client as Endpoint & { setCongestionControl(name: string): void }).setCongestionControl(congestion);
  client.connect(addrB, 5001);
  const chunk = new Uint8Array(16384);
  let sent = 0;
  client.onEvent = () => {
    while (sent < bytes) {
      const n = client.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)));
      if (n === 0) return;
      sent += n;
    }
    if (client.state === 'ESTABLISHED') client.close();
  };

  // Packets move when they arrive; otherwise time jumps to the next arrival or timer (bounded).
  for (let step = 0; step < 1_000_000 && received < bytes; step++) {
    a.flush();
    b.flush();
    if (wireA.deliver() + wireB.deliver() > 0) continue;
    const next = Math.min(a.nextDeadline(), b.nextDeadline(), wireA.nextArrival(), wireB.nextArrival());
    if (next === Infinity || next > 600_000) break;
    clock.set(Math.max(clock.now(), next));
    a.runTimers();
    b.runTimers();
  }
  for (const name of WARMED) exercised[name] += a.counters[name];
  return received === bytes;
}

/** The sender's counters that show the recovery paths ran. */
const WARMED = ['TcpExtTCPSackRecovery', 'TcpExtTCPLossProbes', 'TcpExtTCPTimeouts', 'TcpRetransSegs'] as const;
const exercised = Object.fromEntries(WARMED.map((name) => [name, 0])) as Record<(typeof WARMED)[number], number>;

let warmed = false;

/**
 * Runs the warm-up once per process; returns what it did (`note`: how long
 * it took and the sender's recovery counters; `short`: transfers that did
 * not run to the end), or undefined when it had run already.
 */
export function warmUpStack(): { note: string; short: number } | undefined {
  if (warmed) return undefined;
  warmed = true;
  const started = performance.now();
  let short = 0;
  for (const family of FAMILIES) {
    for (let round = 0; round < 3; round++) {
      for (const cc of ['cubic', 'reno']) {
        if (!transfer(cc, 1_500_000, 0.01, 11 + round, family)) short++;
        // Short transfers: handshakes, tail loss probes, closes.
        for (let i = 0; i < 10; i++) if (!transfer(cc, 20_000, 0.05, 100 + round * 10 + i, family)) short++;
      }
    }
  }
  const ms = (performance.now() - started).toFixed(0);
  const counts = WARMED.map((name) => `${name} ${exercised[name]}`).join(', ');
  const note = short === 0 ? `stack code warmed up in ${ms} ms (${counts})` : `stack code warm-up: ${short} transfers fell short in ${ms} ms (${counts})`;
  return { note, short };
}
