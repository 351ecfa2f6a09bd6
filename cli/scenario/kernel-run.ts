/**
 * The kernel run: two namespaces joined by a veth pair, the subject and the
 * peer both Linux, both driven by the Python agent. Segmentation offloads are
 * off on both ends so that the capture shows what TCP sent, MSS-sized.
 */
import { runIp } from '../../tun/netns.ts';
import { Agent } from './agent.ts';
import { Capture } from './capture.ts';
import { parseProcNet } from './counters.ts';
import { ResetTracer } from './tracefs.ts';
import { addNetns, leaseSubnet, nsRun, releaseLab, runDir, setQuickackRoute, setSysctlIn, uniqueName } from './lab.ts';
import type { ResetReason, RunRecord } from './normalise.ts';
import { AgentSide, runSteps } from './steps.ts';
import type { Scenario, StepRecord } from './types.ts';

export async function kernelRun(scenario: Scenario, offload = false): Promise<RunRecord> {
  const started = performance.now();
  const n = leaseSubnet();
  const peerAddr = `198.19.${n}.1`;
  const subjectAddr = `198.19.${n}.2`;
  const record: RunRecord = { mode: 'kernel', scenario: scenario.name, subjectAddr, peerAddr, steps: [], packets: [], resets: [], notes: [], wallMs: 0 };
  const steps: StepRecord[] = record.steps;
  let peerNs: string | undefined;
  let subjectNs: string | undefined;
  let tracer: ResetTracer | undefined;
  let capture: Capture | undefined;
  let dir: string | undefined;
  const agents: Agent[] = [];
  try {
    peerNs = addNetns(uniqueName('kp'));
    subjectNs = addNetns(uniqueName('ks'));
    runIp(['-n', peerNs, 'link', 'add', 'fidp', 'type', 'veth', 'peer', 'name', 'fids', 'netns', subjectNs]);
    runIp(['-n', peerNs, 'addr', 'add', `${peerAddr}/24`, 'dev', 'fidp']);
    runIp(['-n', subjectNs, 'addr', 'add', `${subjectAddr}/24`, 'dev', 'fids']);
    await nsRun(peerNs, ['ethtool', '-K', 'fidp', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    await nsRun(subjectNs, ['ethtool', '-K', 'fids', 'tso', offload ? 'on' : 'off', 'gso', offload ? 'on' : 'off', 'gro', 'off']);
    runIp(['-n', peerNs, 'link', 'set', 'fidp', 'up']);
    runIp(['-n', subjectNs, 'link', 'set', 'fids', 'up']);
    for (const [name, value] of Object.entries(scenario.sysctls?.subject ?? {})) await setSysctlIn(subjectNs, name, value);
    for (const [name, value] of Object.entries(scenario.sysctls?.peer ?? {})) await setSysctlIn(peerNs, name, value);
    if (scenario.peerQuickack) await setQuickackRoute(peerNs, 'fidp', subjectAddr);

    const traced = await ResetTracer.start();
    if (traced instanceof ResetTracer) tracer = traced;
    else {
      record.tracepointUnavailable = traced.why;
      record.notes.push(`RST reasons unknown: ${traced.why}`);
    }
    dir = runDir();
    capture = await Capture.start(peerNs, 'fidp', dir);
    const peerAgent = await Agent.start(peerNs);
    agents.push(peerAgent);
    const subjectAgent = await Agent.start(subjectNs);
    agents.push(subjectAgent);

    const peer = new AgentSide(peerAgent, subjectAddr, peerNs);
    const subject = new AgentSide(subjectAgent, peerAddr, subjectNs);
    try {
      await runSteps({ scenario, peerNs, peerAddr, subjectAddr, peer, subject, capture, offload }, steps);
    } catch (error) {
      record.error = (error as Error).message;
    }
    if (scenario.counters && record.error === undefined) {
      record.counters = parseProcNet(await nsRun(subjectNs, ['cat', '/proc/net/snmp', '/proc/net/netstat']));
    }
    record.packets = await capture.stop();
    if (process.env.TCPSTACK_FID_DEBUG) record.notes.push(`tcpdump: ${capture.stderr().trim().replace(/\n/g, '; ')}`);
    capture = undefined;
    if (tracer) record.resets = tracer.read().filter(ours(peerAddr, subjectAddr)).map((t): ResetReason => ({ ...t, origin: 'tracepoint' }));
  } catch (error) {
    record.error ??= (error as Error).message;
  } finally {
    for (const a of agents) await a.stop().catch(() => undefined);
    if (capture) await capture.stop(0).catch(() => undefined);
    tracer?.stop();
    releaseLab(record.notes, [peerNs, subjectNs], n, dir);
  }
  record.wallMs = performance.now() - started;
  return record;
}

/**
 * Tracepoint entries that may be ours (the tracepoint is host-wide): between
 * our two addresses, or sent on behalf of a listener, which the tracepoint
 * reports as src=0.0.0.0:PORT dest=0.0.0.0:0 (it prints the socket's
 * addresses, and a listener has no peer); normalise.ts matches those to a
 * captured RST by port and time.
 */
export function ours(a: string, b: string): (t: { src: string; dst: string }) => boolean {
  return (t) => (t.src === a && t.dst === b) || (t.src === b && t.dst === a) || (t.src === '0.0.0.0' && t.dst === '0.0.0.0');
}
