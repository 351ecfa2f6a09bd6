/**
 * The impairment layer between two kernels, for the goodput figure of
 * `make bench`: joins two TUN devices in two namespaces and runs every packet
 * through the same Impairment (tun/impair/) that `tcpstack connect` puts on
 * its own device, with the same options and seed.
 *
 *   node --import tsx test/bench/impair-forward.ts --sender NS_A --receiver NS_B \
 *        [--loss 1% --delay 10ms --seed 42 ...] [--max-seconds S]
 *
 * NS_A gets TUN `fwd0` with 198.18.0.2/24, NS_B TUN `fwd0` with 198.18.0.1/24:
 * the addresses of our stack and of its kernel peer in `tcpstack connect`'s
 * default setup. What NS_A sends leaves as the "out" direction (from the
 * stack, in our stack's run), what NS_B sends back as "in". Prints `ready`
 * once both devices are up; on SIGTERM/SIGINT (or after --max-seconds) prints
 * the impairment counters and exits. The namespaces belong to the caller.
 */
import { parseArgs } from 'node:util';
import { MonotonicClock } from '../../tun/driver.ts';
import { ImpairedLink } from '../../tun/impair/impaired-link.ts';
import { Impairment } from '../../tun/impair/impairment.ts';
import { IMPAIR_OPTIONS, parseImpairOptions } from '../../tun/impair/parse-cli.ts';
import { openConfiguredDevice } from '../../tun/tun-stack.ts';
import { parseIpv4Prefix } from '../../stack/wire/addr.ts';

const { values } = parseArgs({
  options: { sender: { type: 'string' }, receiver: { type: 'string' }, 'max-seconds': { type: 'string' }, ...IMPAIR_OPTIONS },
  strict: true,
});
if (values.sender === undefined || values.receiver === undefined) {
  console.error('impair-forward: --sender NS and --receiver NS are required');
  process.exit(2);
}
const parsed = parseImpairOptions(values);
if (parsed === undefined) {
  console.error('impair-forward: no impairment given');
  process.exit(2);
}

const undo: Array<() => void> = [];
const cleanup = (): void => {
  while (undo.length > 0) {
    try {
      undo.pop()!();
    } catch {
      /* the namespaces go with the caller anyway */
    }
  }
};
process.on('exit', cleanup);

const MTU = 1500;
const side = (netns: string, cidr: string) => openConfiguredDevice({ name: 'fwd0', mode: 'create', netns, mtu: MTU, peer: parseIpv4Prefix(cidr), offload: false }, undo);
const a = side(values.sender, '198.18.0.2/24');
const b = side(values.receiver, '198.18.0.1/24');

const clock = new MonotonicClock();
const impairment = new Impairment(parsed.config, clock);
// The sender's device takes the place of our stack: what it sends is "out",
// written to the receiver's device after the faults; the receiver's packets
// come back as "in". The same roles as ImpairedLink on our stack's device.
const link = new ImpairedLink(b, impairment);
link.onReceive((batch) => a.send(batch));
a.onReceive((batch) => link.send(batch));

// One timer for the earliest held packet, as RealtimeDriver arms for the stack.
let timer: NodeJS.Timeout | undefined;
let armedFor = Infinity;
const rearm = (): void => {
  const deadline = link.nextDeadline();
  if (deadline === armedFor) return;
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  armedFor = deadline;
  if (deadline === Infinity) return;
  timer = setTimeout(() => {
    timer = undefined;
    armedFor = Infinity;
    link.runTimers();
    rearm();
  }, Math.ceil(Math.max(0, deadline - clock.now())));
};
link.onDeadlineChanged = rearm;
undo.push(() => link.close());

const finish = (why: string): void => {
  if (timer !== undefined) clearTimeout(timer);
  link.onDeadlineChanged = undefined;
  const rows = impairment.counters.rows(true);
  console.log(`stopped (${why}); impairments (seed ${impairment.seed}):`);
  for (const [name, v] of rows) console.log(`${name} ${v}`);
  for (const dir of ['out', 'in'] as const) console.log(`${dir}.ImpairLossDrops ${impairment.counters[dir].ImpairLossDrops}`);
  cleanup();
  process.exit(0);
};
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, () => finish(sig));
const maxSeconds = Number(values['max-seconds'] ?? 300);
setTimeout(() => finish('time limit'), maxSeconds * 1000).unref();
// Keeps the process alive while the devices are idle.
setInterval(() => {}, 1 << 30);
console.log(`ready seed=${impairment.seed}`);
