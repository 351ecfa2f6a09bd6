/** A stack in virtual time whose output the test reads directly. */
import { VirtualClock } from '../../stack/clock.ts';
import { SeededRandom } from '../../stack/random.ts';
import { Stack, type StackOptions } from '../../stack/stack.ts';
import type { PacketSink } from '../../stack/link.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { STACK } from './packets.ts';

export class RecordingSink implements PacketSink {
  readonly packets: Uint8Array[] = [];
  send(packets: readonly Uint8Array[]): void {
    this.packets.push(...packets);
  }
  /** Returns and forgets what was sent so far. */
  take(): Uint8Array[] {
    return this.packets.splice(0, this.packets.length);
  }
}

export interface TestStack {
  stack: Stack;
  clock: VirtualClock;
  wire: RecordingSink;
  trace: TraceEvent[];
  /** Feeds one packet and flushes; returns what the stack sent in answer. */
  send(packet: Uint8Array): Uint8Array[];
  /** Moves virtual time to `t`, firing timers in order; returns what they sent. */
  advanceTo(t: number): Uint8Array[];
}

export function testStack(options: Partial<StackOptions> = {}, seed = 1): TestStack {
  const clock = new VirtualClock(0);
  const wire = new RecordingSink();
  const trace: TraceEvent[] = [];
  const stack = new Stack({
    address: STACK,
    clock,
    random: new SeededRandom(seed),
    link: wire,
    trace: (e) => trace.push(e),
    ...options,
  });
  return {
    stack,
    clock,
    wire,
    trace,
    send(packet) {
      stack.input(packet);
      stack.flush();
      return wire.take();
    },
    advanceTo(t) {
      for (;;) {
        const next = stack.nextDeadline();
        if (next > t) break;
        clock.set(Math.max(next, clock.now()));
        stack.runTimers();
      }
      clock.set(t);
      return wire.take();
    },
  };
}
