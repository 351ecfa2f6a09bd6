/**
 * The in-memory transfer the trace-cost benchmarks time: two of our stacks
 * joined by a memory link, in virtual time, `mib` MiB one way over one
 * connection to a discarding reader. `setUp` gets both stacks before the
 * connection opens (to install trace sinks or listeners).
 */
import { VirtualClock } from '../../stack/clock.ts';
import { SeededRandom } from '../../stack/random.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { Stack } from '../../stack/stack.ts';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { memoryLinkPair } from '../../tun/memory-link.ts';

/** Wall-clock ms of the transfer, and the segments both stacks sent. */
export function memoryTransfer(mib: number, setUp: (sender: Stack, receiver: Stack) => void = () => {}): { ms: number; segments: number } {
  const clock = new VirtualClock(0);
  const [la, lb] = memoryLinkPair(1500);
  const a = new Stack({ address: parseIpv4('198.18.0.1')!, clock, random: new SeededRandom(1), link: la });
  const b = new Stack({ address: parseIpv4('198.18.0.2')!, clock, random: new SeededRandom(2), link: lb });
  setUp(a, b);
  la.onReceive((batch) => a.inputBatch(batch));
  lb.onReceive((batch) => b.inputBatch(batch));
  const server = b.tcp.socket();
  server.bind(0, 9);
  server.listen(8);
  let received = 0;
  const total = mib * 1024 * 1024;
  server.onEvent = () => {
    const child = server.accept();
    if (!child) return;
    child.onEvent = (ep: Endpoint) => {
      for (let d = ep.read(); d !== null && d.length > 0; d = ep.read()) received += d.length;
    };
  };
  const client = a.tcp.socket();
  const chunk = new Uint8Array(65536);
  let sent = 0;
  client.onEvent = (ep: Endpoint) => {
    if (ep.state !== 'ESTABLISHED') return;
    while (sent < total) {
      const n = ep.write(chunk.subarray(0, Math.min(chunk.length, total - sent)));
      if (n === 0) break;
      sent += n;
    }
  };
  client.connect('198.18.0.2', 9);
  const t0 = performance.now();
  while (received < total) {
    a.flush();
    b.flush();
    if (la.deliver() + lb.deliver() === 0) {
      const next = Math.min(a.nextDeadline(), b.nextDeadline());
      if (next === Infinity) throw new Error(`stalled at ${received}`);
      clock.set(Math.max(clock.now(), next));
      a.runTimers();
      b.runTimers();
    }
  }
  return { ms: performance.now() - t0, segments: a.counters.TcpOutSegs + b.counters.TcpOutSegs };
}
