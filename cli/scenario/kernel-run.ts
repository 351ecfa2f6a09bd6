/**
 * The kernel run: two namespaces joined by a veth pair, the subject and the
 * peer both Linux, both driven by the Python agent. Segmentation offloads are
 * off on both ends so that the capture shows what TCP sent, MSS-sized.
 * Over IPv6 each end has one global address, added with nodad, and
 * duplicate address detection is off in both namespaces (accept_dad 0,
 * before the veth exists, so its link-local addresses skip it too): nothing
 * is tentative when the first step runs.
 */
import { runIp } from '../../tun/netns.ts';
import { Agent } from './agent.ts';
import { Capture } from './capture.ts';
import { COUNTER_FILES, parseProcNet } from './counters.ts';
import { isUnspecified, leaseAddresses, type Family } from './family.ts';
import { ResetTracer } from './tracefs.ts';
import { addNetns, disableDad, leaseSubnet, nsRun, releaseLab, runDir, setQuickackRoute, setSysctlIn, uniqueName, waitForIpv6Link } from './lab.ts';
import type { ResetReason, RunRecord } from './normalise.ts';
import { AgentSide, runSteps } from './steps.ts';
import type { Scenario, StepRecord } from './types.ts';

export async function kernelRun(scenario: Scenario, offload = false, family: Family = 4): Promise<RunRecord> {
  const started = performance.now();
  const n = leaseSubnet();
  const { peer: peerAddr, subject: subjectAddr, prefix } = leaseAddresses(n, family);
  const record: RunRecord = { mode: 'kernel', scenario: scenario.name, family, subjectAddr, peerAddr, steps: [], packets: [], resets: [], notes: [], wallMs: 0 };
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
    if (family === 6) for (const ns of [peerNs, subjectNs]) await disableDad(ns);
    runIp(['-n', peerNs, 'link', 'add', 'fidp', 'type', 'veth', 'peer', 'name', 'fids', 'netns', subjectNs]);
    const nodad = family === 6 ? ['nodad'] : [];
    runIp(['-n', peerNs, 'addr', 'add', `${peerAddr}/${prefix}`, 'dev', 'fidp', ...nodad]);
    runIp(['-n', subjectNs, 'addr', 'add', `${subjectAddr}/${prefix}`, 'dev', 'fids', ...nodad]);
    await nsRun(peerNs, ['ethtool', '-K', 'fidp', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    await nsRun(subjectNs, ['ethtool', '-K', 'fids', 'tso', offload ? 'on' : 'off', 'gso', offload ? 'on' : 'off', 'gro', 'off']);
    runIp(['-n', peerNs, 'link', 'set', 'fidp', 'up']);
    runIp(['-n', subjectNs, 'link', 'set', 'fids', 'up']);
    if (family === 6) {
      await waitForIpv6Link(peerNs, 'fidp');
      await waitForIpv6Link(subjectNs, 'fids');
    }
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
    capture = await Capture.start(peerNs, 'fidp', dir, family);
    const peerAgent = await Agent.start(peerNs, family);
    agents.push(peerAgent);
    const subjectAgent = await Agent.start(subjectNs, family);
    agents.push(subjectAgent);

    const peer = new AgentSide(peerAgent, subjectAddr, peerNs);
    const subject = new AgentSide(subjectAgent, peerAddr, subjectNs);
    try {
      await runSteps({ scenario, family, peerNs, peerAddr, subjectAddr, peer, subject, capture, offload }, steps);
    } catch (error) {
      record.error = (error as Error).message;
    }
    if (scenario.counters && record.error === undefined) {
      record.counters = parseProcNet(await nsRun(subjectNs, ['cat', ...COUNTER_FILES[family]]));
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
 * reports as src=0.0.0.0:PORT dest=0.0.0.0:0, or [::]:PORT and [::]:0 for
 * an IPv6 listener (it prints the socket's addresses, and a listener has no
 * peer); normalise.ts matches those to a captured RST by port and time.
 */
export function ours(a: string, b: string): (t: { src: string; dst: string }) => boolean {
  return (t) => (t.src === a && t.dst === b) || (t.src === b && t.dst === a) || (isUnspecified(t.src) && isUnspecified(t.dst));
}
