/**
 * Running a scenario's steps, the part both runs share: the global order
 * (each step awaited, bounded, before the next), the peer's agent, wire
 * faults in the peer namespace, crafted segments, and the short settle after
 * each step so that what a step causes on the wire is captured within it.
 */
import type { Agent } from './agent.ts';
import type { Capture } from './capture.ts';
import { crashConnections, delay, nftDeleteTable, nftTable, nowUs, setSysctlIn } from './lab.ts';
import type { TcpPacket } from './pcap-read.ts';
import { startDelay, startReorder, type QueueFault } from './queue-faults.ts';
import { segmentFaultFamily, segmentFaultTable, segmentSequences, type SegmentTarget } from './segment-faults.ts';
import type { Family } from './family.ts';
import type { CraftSpec, Fault, Scenario, SegmentSelector, Side, Step, StepRecord } from './types.ts';

/**
 * After each step (but a sleep) the runner waits this long before the next:
 * direct consequences (a RST answering data, the peer's reply to it) then
 * land inside the step that caused them, which is how compare.ts anchors
 * time. Shorter than a delayed ACK (40 ms) would matter for nothing compared.
 */
export const SETTLE_MS = 25;
/** Extra bound on top of a step's own timeout: beyond it the run is a harness failure. */
const STEP_MARGIN_MS = 5000;

/** Executes the socket steps of one side. */
export interface SideRunner {
  exec(step: Step & { side: Side }): Promise<string>;
  /** Local/remote ports of a connected socket, if known. */
  ports(sock: string): { lport: number; rport: number } | undefined;
}

/** A side played by the Python agent (the peer in both runs, the subject in the kernel run). */
export class AgentSide implements SideRunner {
  private readonly portMap = new Map<string, { lport: number; rport: number }>();

  constructor(
    readonly agent: Agent,
    /** The address connect() goes to: the other side's. */
    private readonly remote: string,
    /** How this side crashes and changes sysctls (kernel namespaces). */
    private readonly ns: string,
  ) {}

  ports(sock: string): { lport: number; rport: number } | undefined {
    return this.portMap.get(sock);
  }

  async exec(step: Step & { side: Side }): Promise<string> {
    const bound = ('timeoutMs' in step ? step.timeoutMs : 0) + STEP_MARGIN_MS;
    switch (step.op) {
      case 'crash':
        await crashConnections(this.ns, this.remote);
        return 'ok';
      case 'sysctl':
        await setSysctlIn(this.ns, step.name, step.value);
        return 'ok';
      case 'craft':
        throw new Error('craft is not an agent socket step');
      case 'connect': {
        const reply = await this.agent.call({ ...step, addr: this.remote }, bound);
        if (reply.info.lport !== undefined) this.portMap.set(step.sock, { lport: reply.info.lport, rport: reply.info.rport! });
        return reply.r;
      }
      case 'accept': {
        const reply = await this.agent.call({ ...step }, bound);
        if (reply.info.lport !== undefined) this.portMap.set(step.sock, { lport: reply.info.lport, rport: reply.info.rport! });
        return reply.r;
      }
      default:
        return (await this.agent.call({ ...step }, bound)).r;
    }
  }
}

export interface StepContext {
  scenario: Scenario;
  /** The run's address family: the faults' match and table family. */
  family: Family;
  peerNs: string;
  peerAddr: string;
  subjectAddr: string;
  peer: AgentSide;
  subject: SideRunner;
  capture: Capture;
  /** The subject sends super-segments (--offload on): segment faults select the packet carrying the segment. */
  offload?: boolean;
}

const FAULT_TABLE = 'tcpstack_faults';

function faultMatch(f: Fault): string {
  switch (f.only) {
    case 'rst':
      return 'tcp flags & rst == rst ';
    case 'syn-ack':
      return 'tcp flags & (syn | ack) == syn | ack ';
    case 'pure-ack':
      return 'tcp flags == ack ';
    default:
      return '';
  }
}

/**
 * The body of the peer namespace's fault table (family inet) for the
 * faults now on: drops at the input hook of what the subject sends, at the
 * output hook of what the peer sends it.
 */
export function faultTableBody(family: Family, subjectAddr: string, faults: Iterable<Fault>): string {
  const inRules: string[] = [];
  const outRules: string[] = [];
  const ip = family === 4 ? 'ip' : 'ip6';
  if (family === 6) {
    // Neighbour discovery is the link's business, as ARP is over IPv4 (where
    // no `ip` rule sees it): dropped with the rest, the kernel subject behind
    // an 'in' fault never resolved the peer, and its SYNs never left it.
    const nd = '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept';
    inRules.push(nd);
    outRules.push(nd);
  }
  for (const f of faults) {
    if (f.dir === 'in' || f.dir === 'both') inRules.push(`    ${ip} saddr ${subjectAddr} ${faultMatch(f)}drop`);
    if (f.dir === 'out' || f.dir === 'both') outRules.push(`    ${ip} daddr ${subjectAddr} ${faultMatch(f)}drop`);
  }
  return `  chain in {\n    type filter hook input priority 0; policy accept;\n${inRules.join('\n')}\n  }\n  chain out {\n    type filter hook output priority 0; policy accept;\n${outRules.join('\n')}\n  }`;
}

/** Rewrites the peer namespace's fault table from the faults now on. */
async function applyFaults(ctx: StepContext, faults: Map<string, Fault>): Promise<void> {
  if (faults.size === 0) {
    await nftDeleteTable(ctx.peerNs, FAULT_TABLE);
    return;
  }
  await nftTable(ctx.peerNs, FAULT_TABLE, faultTableBody(ctx.family, ctx.subjectAddr, faults.values()));
}

const segTable = (name: string): string => `tcpstack_seg_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;

/**
 * A segment fault (segment-faults.ts) in a table of its own, so that its
 * pass counts survive other faults being switched: the connection's ports
 * from the peer's socket, the subject's ISN from its SYN or SYN-ACK in the
 * capture so far.
 */
async function segmentTarget(ctx: StepContext, g: SegmentSelector): Promise<SegmentTarget> {
  const ports = ctx.peer.ports(g.sock);
  if (!ports) throw new Error(`segment fault: peer socket ${g.sock} is not connected`);
  // tcpdump writes packet by packet (-U), but on a loaded machine the SYN-ACK
  // may reach the file a little after the accept returned: look again, bounded.
  const findSyn = () =>
    ctx.capture.packets().find((p) => p.src === ctx.subjectAddr && p.sport === ports.rport && p.dport === ports.lport && (p.flags & 0x02) !== 0);
  let syn = findSyn();
  for (let tries = 0; !syn && tries < 100; tries++) {
    await delay(20);
    syn = findSyn();
  }
  if (!syn) throw new Error(`segment fault: no SYN of the subject captured on ${ports.lport}/${ports.rport} within 2 s`);
  return { family: ctx.family, subjectAddr: ctx.subjectAddr, peerAddr: ctx.peerAddr, subjectPort: ports.rport, peerPort: ports.lport, isn: syn.seq, carrying: ctx.offload === true };
}

async function applySegmentFault(ctx: StepContext, name: string, g: SegmentSelector): Promise<void> {
  await nftTable(ctx.peerNs, segTable(name), segmentFaultTable(g, await segmentTarget(ctx, g)), segmentFaultFamily(ctx.family));
}

async function startSegmentReorder(ctx: StepContext, g: SegmentSelector): Promise<QueueFault> {
  if (g.times !== 1) throw new Error('reorder fault: a segment is held once');
  const target = await segmentTarget(ctx, g);
  return startReorder(ctx.peerNs, target, segmentSequences(g, target.isn), g.after ?? 0);
}

/** The live sequence numbers of a peer connection, from the capture so far. */
function liveNumbers(packets: TcpPacket[], peerAddr: string, lport: number, rport: number): { peerNxt: number; subjectNxt: number } {
  const next = (fromPeer: boolean): number => {
    let isn: number | undefined;
    let max = 0;
    for (const p of packets) {
      const match = fromPeer ? p.src === peerAddr && p.sport === lport && p.dport === rport : p.dst === peerAddr && p.dport === lport && p.sport === rport;
      if (!match || p.flags & 0x04) continue;
      if (p.flags & 0x02 && isn === undefined) isn = p.seq;
      // After the handshake every segment a kernel sends carries ACK; a
      // crafted SYN (no ACK) must not count as what the peer has sent.
      if (isn === undefined || !(p.flags & 0x10)) continue;
      const end = ((p.seq - isn) >>> 0) + p.len + (p.flags & 0x02 ? 1 : 0) + (p.flags & 0x01 ? 1 : 0);
      max = Math.max(max, end);
    }
    if (isn === undefined) throw new Error(`craft: no SYN of ${fromPeer ? 'the peer' : 'the subject'} captured on ${lport}/${rport}`);
    return (isn + max) >>> 0;
  };
  return { peerNxt: next(true), subjectNxt: next(false) };
}

async function craft(ctx: StepContext, spec: CraftSpec): Promise<string> {
  let sport = spec.sport ?? 0;
  let dport = spec.dport ?? 0;
  let seq = spec.seq >>> 0;
  let ack = spec.ack >>> 0;
  if (spec.sock !== undefined) {
    const ports = ctx.peer.ports(spec.sock);
    if (!ports) throw new Error(`craft: peer socket ${spec.sock} is not connected`);
    ({ lport: sport, rport: dport } = ports);
    const live = liveNumbers(ctx.capture.packets(), ctx.peerAddr, sport, dport);
    seq = (live.peerNxt + spec.seq) >>> 0;
    ack = (live.subjectNxt + spec.ack) >>> 0;
  }
  const reply = await ctx.peer.agent.call(
    { op: 'craft', src: ctx.peerAddr, dst: ctx.subjectAddr, sport, dport, seq, ack, flags: spec.flags, window: spec.window ?? 8192, payload: spec.payload ?? 0 },
    STEP_MARGIN_MS,
  );
  return reply.r;
}

function withBound<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/**
 * Runs every step in order, appending to `records` as each completes; a step
 * that errs or outlives its bound is a harness failure and throws (what
 * completed stays in `records`).
 */
export async function runSteps(ctx: StepContext, records: StepRecord[]): Promise<void> {
  const faults = new Map<string, Fault>();
  const segmentFaults = new Set<string>();
  const queueFaults = new Map<string, QueueFault>();
  try {
    for (let i = 0; i < ctx.scenario.steps.length; i++) {
      const step = ctx.scenario.steps[i]!;
      const startUs = nowUs();
      const bound = ('timeoutMs' in step ? step.timeoutMs : step.op === 'sleep' ? step.ms : 0) + STEP_MARGIN_MS + 5000;
      const run = async (): Promise<string> => {
        switch (step.op) {
          case 'sleep': {
            const anchor = step.since !== undefined ? records[step.since - 1]?.startUs : undefined;
            if (step.since !== undefined && anchor === undefined) throw new Error(`sleep: step ${step.since} has not run`);
            await delay(anchor === undefined ? step.ms : Math.max(0, (anchor - nowUs()) / 1000 + step.ms));
            return 'ok';
          }
          case 'fault':
            if (step.fault && queueFaults.has(step.name)) throw new Error(`fault ${step.name} is already on`);
            if (step.fault?.segments?.action === 'reorder') {
              if (step.fault.dir !== 'in') throw new Error('segment fault: only what the subject sends (dir in)');
              queueFaults.set(step.name, await startSegmentReorder(ctx, step.fault.segments));
              return 'ok';
            }
            if (step.fault?.delayMs !== undefined) {
              if (step.fault.dir !== 'out' || step.fault.only || step.fault.segments) throw new Error('delay fault: dir out, every packet');
              queueFaults.set(step.name, await startDelay(ctx.peerNs, ctx.subjectAddr, step.fault.delayMs));
              return 'ok';
            }
            if (!step.fault && queueFaults.has(step.name)) {
              const q = queueFaults.get(step.name)!;
              queueFaults.delete(step.name);
              await q.stop();
              return 'ok';
            }
            if (step.fault?.segments) {
              if (step.fault.dir !== 'in') throw new Error('segment fault: only what the subject sends (dir in)');
              await applySegmentFault(ctx, step.name, step.fault.segments);
              segmentFaults.add(step.name);
              return 'ok';
            }
            if (!step.fault && segmentFaults.delete(step.name)) {
              await nftDeleteTable(ctx.peerNs, segTable(step.name), segmentFaultFamily(ctx.family));
              return 'ok';
            }
            if (step.fault) faults.set(step.name, step.fault);
            else faults.delete(step.name);
            await applyFaults(ctx, faults);
            return 'ok';
          case 'craft':
            return craft(ctx, step.segment);
          default:
            return step.side === 'peer' ? ctx.peer.exec(step) : ctx.subject.exec(step);
        }
      };
      const result = await withBound(`step ${i + 1} (${step.op})`, run(), bound);
      records.push({ index: i + 1, startUs, endUs: nowUs(), result });
      if (step.op !== 'sleep') await delay(SETTLE_MS);
    }
  } finally {
    for (const q of queueFaults.values()) await q.stop().catch(() => undefined);
    if (faults.size > 0) await nftDeleteTable(ctx.peerNs, FAULT_TABLE).catch(() => undefined);
    for (const name of segmentFaults) await nftDeleteTable(ctx.peerNs, segTable(name), segmentFaultFamily(ctx.family)).catch(() => undefined);
  }
}
