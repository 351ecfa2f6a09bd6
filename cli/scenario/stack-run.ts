/**
 * The stack run: one namespace (the peer's) holding a TUN device; our stack,
 * in this very process, is the subject on the other end of it, its steps
 * executed on the Endpoint API with blocking emulated by waiting for
 * readiness events (bounded), and its results in the agent's vocabulary.
 * Over IPv6 the stack has an IPv6 address too (StackOptions.address6), the
 * device the kernel side's, added with nodad, and the subject's sockets are
 * AF_INET6 ones (stack.tcp.socket(6)).
 */
import { Stack } from '../../stack/stack.ts';
import { POLLOUT, SocketError, type Endpoint } from '../../stack/socket/types.ts';
import { defaultSysctls, setSysctl } from '../../stack/sysctl.ts';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';
import type { TraceEvent } from '../../stack/trace.ts';
import { CryptoRandom, MonotonicClock, RealtimeDriver } from '../../tun/driver.ts';
import { DEFAULT_TXQUEUELEN, configureInterface } from '../../tun/netdev.ts';
import { TunDevice } from '../../tun/tun-device.ts';
import { Agent } from './agent.ts';
import { Capture } from './capture.ts';
import { ours } from './kernel-run.ts';
import { ResetTracer } from './tracefs.ts';
import { warmUpStack } from './jit-warmup.ts';
import { runRealtime } from './realtime-priority.ts';
import { isUnspecified, leaseAddresses, SCENARIO_MTU, type Family } from './family.ts';
import { addNetns, disableDad, leaseSubnet, nsRun, onTeardown, perfMsToWallUs, releaseLab, runDir, setQuickackRoute, setSysctlIn, uniqueName } from './lab.ts';
import type { ResetReason, RunRecord } from './normalise.ts';
import { AgentSide, runSteps, type SideRunner } from './steps.ts';
import type { Scenario, Side, SockOpt, Step, StepRecord } from './types.ts';

function errnoOf(error: unknown): string {
  if (error instanceof SocketError) return error.code;
  throw error;
}

/** The subject played by our stack. */
export class StackSide implements SideRunner {
  private readonly socks = new Map<string, Endpoint>();
  /** Listening sockets the application holds, to open again after a crash. */
  private readonly listening = new Map<string, { port: number; backlog: number }>();

  constructor(
    private readonly stack: Stack,
    private readonly remote: string,
    /** RealtimeDriver.kick: what an application calls after acting on the stack (flush, re-arm). */
    private readonly kick: () => void,
    /** AF_INET or AF_INET6 sockets, as the kernel run's agent makes. */
    private readonly family: Family = 4,
  ) {}

  /** A listener on `port` of every address, as the agent's (0.0.0.0, or :: not v6-only). */
  private listener(port: number, backlog: number): Endpoint {
    const ep = this.stack.tcp.socket(this.family);
    ep.bind(this.family === 6 ? '::' : 0, port);
    ep.listen(backlog);
    return ep;
  }

  ports(sock: string): { lport: number; rport: number } | undefined {
    const ep = this.socks.get(sock);
    return ep ? { lport: ep.localPort, rport: ep.remotePort } : undefined;
  }

  private sock(name: string): Endpoint {
    const ep = this.socks.get(name);
    if (!ep) throw new Error(`stack subject: no socket named ${name}`);
    return ep;
  }

  /**
   * Blocks like a socket call with a timeout: `check` is tried now, on every
   * readiness event of the endpoint, and every 10 ms (a safety net); the
   * first defined answer wins, else 'timeout'.
   */
  private wait(ep: Endpoint, timeoutMs: number, check: () => string | undefined): Promise<string> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (value: string | Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        if (ep.onEvent === attempt) ep.onEvent = undefined;
        if (value instanceof Error) reject(value);
        else resolve(value);
      };
      const attempt = (): void => {
        if (done) return;
        try {
          const v = check();
          this.kick();
          if (v !== undefined) finish(v);
        } catch (error) {
          finish(error instanceof Error ? error : new Error(String(error)));
        }
      };
      const timer = setTimeout(() => finish('timeout'), Math.max(1, timeoutMs));
      const poll = setInterval(attempt, 10);
      ep.onEvent = attempt;
      attempt();
    });
  }

  /** Lets the driver's microtask flush and this turn's output leave before the step counts as done. */
  private async settled<T>(value: T): Promise<T> {
    await new Promise((resolve) => setImmediate(resolve));
    return value;
  }

  async exec(step: Step & { side: Side }): Promise<string> {
    const result = await this.run(step);
    this.kick();
    return this.settled(result);
  }

  private async run(step: Step & { side: Side }): Promise<string> {
    switch (step.op) {
      case 'listen': {
        try {
          this.socks.set(step.sock, this.listener(step.port, step.backlog));
        } catch (error) {
          return errnoOf(error);
        }
        this.listening.set(step.sock, { port: step.port, backlog: step.backlog });
        return 'ok';
      }
      case 'accept': {
        const l = this.sock(step.listener);
        return this.wait(l, step.timeoutMs, () => {
          let child: Endpoint | null;
          try {
            child = l.accept();
          } catch (error) {
            return errnoOf(error);
          }
          if (!child) return undefined;
          this.socks.set(step.sock, child);
          return 'ok';
        });
      }
      case 'connect': {
        const ep = this.stack.tcp.socket(this.family);
        this.socks.set(step.sock, ep);
        try {
          for (const opt of step.before ?? []) applyOption(ep, opt);
          ep.connect(this.remote, step.port);
        } catch (error) {
          return errnoOf(error);
        }
        const r = await this.wait(ep, step.timeoutMs, () => {
          const err = ep.getError();
          if (err !== undefined) return err;
          if (ep.state === 'SYN_SENT' || ep.state === 'SYN_RECV') return undefined;
          return ep.state === 'CLOSED' ? 'ECONNREFUSED' : 'ok';
        });
        if (r === 'timeout') {
          // The application gives up: close() in SYN_SENT.
          ep.close();
          this.socks.delete(step.sock);
        }
        return r;
      }
      case 'read': {
        const ep = this.sock(step.sock);
        return this.wait(ep, step.timeoutMs, () => {
          try {
            const data = ep.read(step.max);
            if (data === null) return undefined;
            return data.length === 0 ? 'EOF' : String(data.length);
          } catch (error) {
            return errnoOf(error);
          }
        });
      }
      case 'write': {
        const ep = this.sock(step.sock);
        const buf = new Uint8Array(step.bytes).fill(0x78);
        let sent = 0;
        // As the kernel run's agent writes (Python's socket.send with a
        // timeout): each send waits for POLLOUT, then takes what the buffer
        // takes. A writer that appended to the last skb at every event would
        // get ahead of one that sleeps until the socket is writable again.
        const r = await this.wait(ep, step.timeoutMs, () => {
          try {
            while (sent < buf.length) {
              if (!(ep.poll() & POLLOUT)) return undefined;
              const n = ep.write(buf.subarray(sent));
              if (n === 0) return undefined;
              sent += n;
            }
            return String(sent);
          } catch (error) {
            return errnoOf(error);
          }
        });
        return r === 'timeout' ? `timeout(${sent})` : r;
      }
      case 'close': {
        const ep = this.sock(step.sock);
        ep.close();
        this.socks.delete(step.sock);
        this.listening.delete(step.sock);
        return 'ok';
      }
      case 'shutdown':
        try {
          this.sock(step.sock).shutdown(step.how);
          return 'ok';
        } catch (error) {
          return errnoOf(error);
        }
      case 'setsockopt':
        try {
          applyOption(this.sock(step.sock), step.opt);
          return 'ok';
        } catch (error) {
          return errnoOf(error);
        }
      case 'sysctl':
        setSysctl(this.stack.sysctl, step.name, String(step.value));
        return 'ok';
      case 'crash': {
        this.stack.tcp.crash();
        // A rebooted host whose server came back: its listeners open again.
        for (const [name, l] of this.listening) this.socks.set(name, this.listener(l.port, l.backlog));
        return 'ok';
      }
      default:
        throw new Error(`${step.op} is not a subject socket step`);
    }
  }

  closeAll(): void {
    for (const ep of this.socks.values()) ep.onEvent = undefined;
  }
}

function applyOption(ep: Endpoint, opt: SockOpt): void {
  if ('linger' in opt) ep.setLinger(opt.linger.on, opt.linger.seconds);
  else if ('keepalive' in opt) {
    const k = opt.keepalive;
    if (k.enableLast) {
      // The tunables with SO_KEEPALIVE off, then SO_KEEPALIVE on: the idle time runs from now.
      ep.setKeepAlive(false, k.idle, k.intvl, k.cnt);
      ep.setKeepAlive(true);
    } else ep.setKeepAlive(true, k.idle, k.intvl, k.cnt);
  }
  else if ('userTimeoutMs' in opt) ep.setUserTimeout(opt.userTimeoutMs);
  else if ('linger2' in opt) {
    const withLinger2 = ep as Endpoint & { setLinger2?: (seconds: number) => void };
    if (!withLinger2.setLinger2) throw new Error('this Endpoint has no TCP_LINGER2');
    withLinger2.setLinger2(opt.linger2);
  } else if ('congestion' in opt) {
    const withCc = ep as Endpoint & { setCongestionControl?: (name: string) => void };
    if (!withCc.setCongestionControl) throw new Error('this Endpoint has no TCP_CONGESTION');
    withCc.setCongestionControl(opt.congestion);
  } else if ('sndbuf' in opt) ep.setSendBuffer(opt.sndbuf);
  else ep.setReceiveBuffer(opt.rcvbuf);
}

export async function stackRun(scenario: Scenario, offload = false, family: Family = 4): Promise<RunRecord> {
  // Before the clock of the run starts: the first run of a process pays for it.
  const warmUp = warmUpStack();
  const started = performance.now();
  const n = leaseSubnet();
  // The stack always has the IPv4 address of the lease; over IPv6 the IPv6 one too.
  const v4 = leaseAddresses(n, 4);
  const { peer: peerAddr, subject: subjectAddr, prefix } = leaseAddresses(n, family);
  const record: RunRecord = { mode: 'stack', scenario: scenario.name, family, subjectAddr, peerAddr, steps: [], packets: [], resets: [], notes: [], wallMs: 0 };
  const steps: StepRecord[] = record.steps;
  let peerNs: string | undefined;
  let tracer: ResetTracer | undefined;
  let capture: Capture | undefined;
  let dir: string | undefined;
  let agent: Agent | undefined;
  let device: TunDevice | undefined;
  let driver: RealtimeDriver | undefined;
  let removeHook: (() => void) | undefined;
  const stackResets: ResetReason[] = [];
  if (warmUp !== undefined && warmUp.short > 0) record.notes.push(warmUp.note);
  try {
    peerNs = addNetns(uniqueName('sp'));
    if (family === 6) await disableDad(peerNs);
    device = TunDevice.open({ name: 'fidt', mode: 'create', netns: peerNs, mtu: SCENARIO_MTU, offload });
    if (offload && !device.offload) record.notes.push('TUN offloads asked for and refused: the run is without them');
    const dev = device;
    removeHook = onTeardown(() => dev.close());
    configureInterface({
      netns: peerNs,
      name: device.name,
      peerCidr: `${v4.peer}/${v4.prefix}`,
      ...(family === 6 ? { peer6Cidr: `${peerAddr}/${prefix}` } : {}),
      mtu: SCENARIO_MTU,
      txqueuelen: DEFAULT_TXQUEUELEN,
      up: true,
    });
    // A TUN without IFF_VNET_HDR offers no segmentation offloads; ask anyway (harmless if refused).
    await nsRun(peerNs, ['ethtool', '-K', device.name, 'tso', 'off', 'gso', 'off', 'gro', 'off']).catch(() => undefined);
    for (const [name, value] of Object.entries(scenario.sysctls?.peer ?? {})) await setSysctlIn(peerNs, name, value);
    if (scenario.peerQuickack) await setQuickackRoute(peerNs, device.name, subjectAddr);

    const sysctl = defaultSysctls();
    for (const [name, value] of Object.entries(scenario.sysctls?.subject ?? {})) setSysctl(sysctl, name, String(value));
    const clock = new MonotonicClock();
    const trace = (e: TraceEvent): void => {
      if (e.kind !== 'tcp-rst') return;
      stackResets.push({ tUs: perfMsToWallUs(e.t), src: subjectAddr, sport: e.local, dst: peerAddr, dport: e.remote, reason: e.reason, origin: 'stack' });
    };
    // rxSkbs 'veth': receive memory charged as the kernel run's subject is
    // charged for what it gets over its veth (stack/tcp/rcvbuf.ts), not as a
    // kernel fed by a TUN device would be.
    const stack = new Stack({
      address: parseIpv4(v4.subject)!,
      ...(family === 6 ? { address6: parseIpv6(subjectAddr)! } : {}),
      clock,
      random: new CryptoRandom(),
      link: device,
      mtu: SCENARIO_MTU,
      rxSkbs: 'veth',
      sysctl,
      trace,
      offload: device.offload,
    });
    driver = new RealtimeDriver(stack, device, clock);

    const traced = await ResetTracer.start();
    if (traced instanceof ResetTracer) tracer = traced;
    else {
      record.tracepointUnavailable = traced.why;
      record.notes.push(`the peer's RST reasons unknown: ${traced.why}`);
    }
    dir = runDir();
    capture = await Capture.start(peerNs, device.name, dir, family);
    agent = await Agent.start(peerNs, family);
    const peer = new AgentSide(agent, subjectAddr, peerNs);
    const drv = driver;
    const subject = new StackSide(stack, peerAddr, () => drv.kick(), family);
    // SCHED_FIFO while the steps run (realtime-priority.ts).
    const restorePriority = runRealtime(record.notes);
    try {
      await runSteps({ scenario, family, peerNs, peerAddr, subjectAddr, peer, subject, capture, offload: device.offload }, steps);
    } catch (error) {
      record.error = (error as Error).message;
    } finally {
      restorePriority();
    }
    subject.closeAll();
    if (scenario.counters) record.counters = { ...stack.counters };
    record.packets = await capture.stop();
    if (process.env.TCPSTACK_FID_DEBUG) record.notes.push(`tcpdump: ${capture.stderr().trim().replace(/\n/g, '; ')}`);
    capture = undefined;
    // The subject's reasons from our own trace; the peer kernel's from the tracepoint.
    const peerResets = tracer ? tracer.read().filter(ours(peerAddr, subjectAddr)).filter((t) => t.src === peerAddr || isUnspecified(t.src)) : [];
    record.resets = [...stackResets, ...peerResets.map((t): ResetReason => ({ ...t, origin: 'tracepoint' }))];
    if (stack.drops.INTERNAL_ERROR > 0) record.notes.push(`our stack counted ${stack.drops.INTERNAL_ERROR} INTERNAL_ERROR drops`);
  } catch (error) {
    record.error ??= (error as Error).message;
  } finally {
    if (agent) await agent.stop().catch(() => undefined);
    if (capture) await capture.stop(0).catch(() => undefined);
    driver?.stop();
    device?.close();
    removeHook?.();
    tracer?.stop();
    releaseLab(record.notes, [peerNs], n, dir);
  }
  record.wallMs = performance.now() - started;
  return record;
}
