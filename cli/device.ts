/**
 * The device half of every command that runs the stack on a TUN device
 * (`up`, `connect`): its options, their help text, their validation, and
 * bringing the stack up on the device (and down again).
 */
import { Stack } from '../stack/stack.ts';
import { SYSCTL_DEFAULTS, setSysctl, sysctlKey, sysctlNames, type Sysctls } from '../stack/sysctl.ts';
import { formatIpv4, inPrefix, parseIpv4, parseIpv4Prefix, type Ipv4Prefix } from '../stack/wire/addr.ts';
import type { Link } from '../stack/link.ts';
import { CryptoRandom, MonotonicClock, RealtimeDriver } from '../tun/driver.ts';
import { PcapTap, PcapWriter } from '../tun/pcap.ts';
import { isPcapngPath } from '../tun/pcapng.ts';
import { PcapngCapture } from '../tun/pcapng-capture.ts';
import type { TunDevice } from '../tun/tun-device.ts';
import { ipv6Ends, openConfiguredDevice } from '../tun/tun-stack.ts';
import { formatIpv6, type Ipv6Prefix } from '../stack/wire/addr6.ts';
import { ImpairedLink } from '../tun/impair/impaired-link.ts';
import { Impairment } from '../tun/impair/impairment.ts';
import { IMPAIR_HELP, IMPAIR_OPTIONS, describeImpairment, parseImpairOptions, type ImpairValues, type ParsedImpairment } from '../tun/impair/parse-cli.ts';
import { ImpairSyntaxError } from '../tun/impair/units.ts';
import { nearNames } from './args.ts';
import { checkOutputFile } from './output-file.ts';
import { invokedAs } from './program.ts';
import { UsageError, parseInteger } from './usage.ts';
import { wrapWords } from './wrap.ts';

/**
 * Defaults from 198.18.0.0/15, the block RFC 2544 reserves for benchmarking
 * network devices: unlikely to be anyone's LAN, VPN or container network.
 */
export const DEFAULT_TUN = 'tcp0';
export const DEFAULT_ADDR = '198.18.0.2';
export const DEFAULT_PEER = '198.18.0.1/24';
/** From 2001:2::/48, which RFC 5180 reserves for benchmarking. */
export const DEFAULT_ADDR6 = '2001:2::2';
export const DEFAULT_PEER6 = '2001:2::1/64';
export const DEFAULT_MTU = 1500;

/** `parseArgs` declarations of the device options (spread into a command's own). */
export const DEVICE_OPTIONS = {
  tun: { type: 'string' },
  create: { type: 'boolean' },
  attach: { type: 'boolean' },
  netns: { type: 'string' },
  addr: { type: 'string' },
  peer: { type: 'string' },
  addr6: { type: 'string' },
  peer6: { type: 'string' },
  mtu: { type: 'string' },
  offload: { type: 'string' },
  pcap: { type: 'string' },
  sysctl: { type: 'string', multiple: true },
  ...IMPAIR_OPTIONS,
} as const;

/** Help for the device options, shared by every command that takes them. */
export const DEVICE_HELP = `device:
  --tun NAME            TUN interface name (default ${DEFAULT_TUN})
  --create              create the interface and configure it (default); it is
                        removed when tcpstack exits
  --attach              open an existing persistent TUN device (made with
                        'ip tuntap add dev NAME mode tun') and configure nothing
  --netns NAME          put the device in network namespace NAME, creating it if
                        needed (and removing it on exit if tcpstack created it);
                        tcpstack itself stays in its own namespace
addresses:
  --addr A.B.C.D        the stack's own address (default ${DEFAULT_ADDR})
  --peer A.B.C.D/N      the kernel side's address and prefix on the TUN
                        (default ${DEFAULT_PEER}; only with --create)
  --addr6 ADDRESS       the stack's own IPv6 address (default ${DEFAULT_ADDR6});
                        "none": no IPv6 (the stack drops it, as disable_ipv6)
  --peer6 ADDRESS/N     the kernel side's IPv6 address and prefix on the TUN
                        (default ${DEFAULT_PEER6}; only with --create)
  --mtu N               interface MTU, 68-65535 (default ${DEFAULT_MTU})
  --offload on|off      TUN offloads: TCP super-segments of up to 64 KiB both
                        ways and checksums the kernel owes (default on; off
                        with impairments, which act on wire-sized packets)
capture and tuning:
  --pcap FILE           write every packet crossing the device to FILE, raw IP;
                        FILE.pcapng: pcapng as the kernel saw the wire, each
                        packet's direction and a comment on what happened to
                        it (a RST's reason, a retransmission, a drop by the
                        stack or the impairments; 'tshark -r FILE -T fields
                        -e frame.comment'); any other name: classic pcap
                        ('tcpdump -r FILE'). Its directory must exist and FILE
                        must not (nothing is overwritten)
  --sysctl NAME=VALUE   set a stack tunable by its Linux name, repeatable, e.g.
                        --sysctl net.ipv4.ipfrag_time=10 (or ipfrag_time=10)
${wrap(`known: ${sysctlNames().join(', ')}`, 24, 80)}
${IMPAIR_HELP}`;

/** Word-wraps `text` into lines of at most `width` columns, each indented by `indent`. */
function wrap(text: string, indent: number, width: number): string {
  return wrapWords(text, indent, width)
    .map((l) => ' '.repeat(indent) + l)
    .join('\n');
}

/** The parsed values of DEVICE_OPTIONS. */
export interface DeviceValues extends ImpairValues {
  tun?: string;
  create?: boolean;
  attach?: boolean;
  netns?: string;
  addr?: string;
  peer?: string;
  addr6?: string;
  peer6?: string;
  mtu?: string;
  offload?: string;
  pcap?: string;
  sysctl?: string[];
}

export interface DeviceConfig {
  tun: string;
  mode: 'create' | 'attach';
  netns: string | undefined;
  addr: number;
  peer: Ipv4Prefix | undefined;
  /** The stack's IPv6 address, or undefined for --addr6 none. */
  addr6: Uint8Array | undefined;
  peer6: Ipv6Prefix | undefined;
  mtu: number;
  /** Ask for TUN offloads (the kernel may still refuse: RunningDevice.device.offload). */
  offload: boolean;
  pcap: string | undefined;
  sysctl: Sysctls;
  /** Faults to inject on the device (both directions), or undefined for a clean link. */
  impair: ParsedImpairment | undefined;
}

/** Validates the device options; every misuse is a one-line UsageError. */
export function deviceConfig(values: DeviceValues): DeviceConfig {
  if (values.create && values.attach) throw new UsageError('--create and --attach exclude each other');
  const mode = values.attach ? 'attach' : 'create';
  if (mode === 'attach' && values.peer !== undefined) {
    throw new UsageError('--peer only applies with --create (an attached device is not configured)');
  }
  const tun = values.tun ?? DEFAULT_TUN;
  if (!/^[^\s/]{1,15}$/.test(tun) || tun === '.' || tun === '..') {
    throw new UsageError(`--tun ${JSON.stringify(tun)}: an interface name has 1-15 characters, no '/' or spaces`);
  }
  const netns = values.netns;
  if (netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(netns)) {
    throw new UsageError(`--netns ${JSON.stringify(netns)}: use letters, digits, '-', '_' or '.', at most 64`);
  }
  const addrText = values.addr ?? DEFAULT_ADDR;
  const addr = parseIpv4(addrText);
  if (addr === undefined) throw new UsageError(`--addr ${JSON.stringify(addrText)} is not an IPv4 address`);
  let peer: Ipv4Prefix | undefined;
  if (mode === 'create') {
    const peerText = values.peer ?? DEFAULT_PEER;
    peer = parseIpv4Prefix(peerText);
    if (peer === undefined) throw new UsageError(`--peer ${JSON.stringify(peerText)} is not A.B.C.D/N`);
    if (peer.address === addr) throw new UsageError('--addr and --peer must differ: they are the two ends of the link');
    if (!inPrefix(addr, peer)) {
      throw new UsageError(`--addr ${addrText} is outside --peer ${peerText}: the kernel would have no route to the stack`);
    }
  }
  const { addr6, peer6 } = ipv6Config(values, mode);
  const mtu = values.mtu === undefined ? DEFAULT_MTU : parseInteger('--mtu', values.mtu, 68, 65535);
  const sysctl: Sysctls = { ...SYSCTL_DEFAULTS };
  for (const setting of values.sysctl ?? []) {
    const eq = setting.indexOf('=');
    if (eq <= 0) throw new UsageError(`--sysctl ${JSON.stringify(setting)}: expected NAME=VALUE, e.g. net.ipv4.tcp_syn_retries=3`);
    const name = sysctlFullName(setting.slice(0, eq));
    try {
      setSysctl(sysctl, name, setting.slice(eq + 1));
    } catch (error) {
      throw new UsageError(`--sysctl: ${(error as Error).message}`);
    }
  }
  if (values.pcap !== undefined) checkOutputFile('--pcap', values.pcap);
  let impair: ParsedImpairment | undefined;
  try {
    impair = parseImpairOptions(values);
  } catch (error) {
    if (error instanceof ImpairSyntaxError) throw new UsageError(error.message);
    throw error;
  }
  if (values.offload !== undefined && values.offload !== 'on' && values.offload !== 'off') {
    throw new UsageError(`--offload ${JSON.stringify(values.offload)}: expected on or off`);
  }
  if (values.offload === 'on' && impair !== undefined) {
    throw new UsageError('--offload on: impairments act on wire-sized packets, so they run with offloads off');
  }
  const offload = values.offload === undefined ? impair === undefined : values.offload === 'on';
  return { tun, mode, netns, addr, peer, addr6, peer6, mtu, offload, pcap: values.pcap, sysctl, impair };
}

/** --addr6 and --peer6: both families by default; --addr6 none leaves IPv6 out. */
function ipv6Config(values: DeviceValues, mode: 'create' | 'attach'): { addr6: Uint8Array | undefined; peer6: Ipv6Prefix | undefined } {
  if (mode === 'attach' && values.peer6 !== undefined) throw new UsageError('--peer6 only applies with --create (an attached device is not configured)');
  if (values.addr6 === 'none') {
    if (values.peer6 !== undefined) throw new UsageError('--peer6 needs an IPv6 address: leave out --addr6 none');
    return { addr6: undefined, peer6: undefined };
  }
  try {
    const ends = ipv6Ends(values.addr6 ?? DEFAULT_ADDR6, mode === 'create' ? (values.peer6 ?? DEFAULT_PEER6) : undefined, { address: '--addr6', peer: '--peer6' });
    return { addr6: ends.address, peer6: ends.peer };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * A --sysctl name as Linux spells it: the full name (net.ipv4.tcp_syn_retries),
 * a /proc/sys path, or the last component alone (tcp_syn_retries). An unknown
 * one is refused naming the nearest known names.
 */
export function sysctlFullName(name: string): string {
  if (sysctlKey(name) !== undefined) return name;
  const names = sysctlNames();
  const short = names.find((full) => full.slice(full.lastIndexOf('.') + 1) === name.trim());
  if (short !== undefined) return short;
  const last = (full: string): string => full.slice(full.lastIndexOf('.') + 1);
  const wanted = last(name.trim().replace(/\//g, '.'));
  const near = nearNames(wanted, names.map(last)).map((n) => names.find((full) => last(full) === n)!);
  const hint = near.length > 0 ? `did you mean ${near.join(' or ')}?` : `the names: ${invokedAs()} up --help`;
  throw new UsageError(`--sysctl: unknown sysctl ${name} (${hint})`);
}

/**
 * Attaching found no persistent device: the remedy names the namespace the
 * device is looked for in, so the command it suggests creates it there and
 * not in the host's namespace.
 */
export function attachFailure(config: DeviceConfig, error: unknown): unknown {
  if (config.mode !== 'attach' || (error as NodeJS.ErrnoException).code !== 'ENODEV') return error;
  const add = `ip tuntap add dev ${config.tun} mode tun`;
  const message =
    config.netns !== undefined
      ? `no persistent TUN device ${config.tun} in namespace ${config.netns}: create it there with \`ip netns exec ${config.netns} ${add}\`, or leave out --attach`
      : `no persistent TUN device ${config.tun} in this namespace: create one in a namespace of its own with \`ip netns add NS && ip netns exec NS ${add}\` and run with --netns NS, or leave out --attach`;
  return Object.assign(new Error(message), { code: 'ENODEV' });
}

/** A stack running on its TUN device. */
export interface RunningDevice {
  readonly device: TunDevice;
  readonly link: Link;
  readonly stack: Stack;
  readonly driver: RealtimeDriver;
  /** The impaired link when impairments were asked for (its counters, its seed). */
  readonly impairment: Impairment | undefined;
  /** One line describing the impairments and the seed, when there are any. */
  readonly impairSummary: string | undefined;
  /** `tun=... mode=... addr=...` fields for a ready line. */
  readonly fields: string[];
  /** Registers work for teardown; runs before what was registered earlier. */
  onCleanup(step: () => void): void;
  /**
   * Stops the driver and removes what was created (device, namespace);
   * idempotent. It also runs when the process exits any other way (an
   * uncaught exception, process.exit): only SIGKILL leaves anything behind.
   */
  cleanup(): void;
}

/** Opens (and configures) the device and starts the stack on it in real time. */
export function bringUp(config: DeviceConfig): RunningDevice {
  const cleanups: Array<() => void> = [];
  const cleanup = (): void => {
    while (cleanups.length > 0) {
      try {
        cleanups.pop()!();
      } catch (error) {
        console.error(`tcpstack: cleanup: ${(error as Error).message}`);
      }
    }
    process.off('exit', cleanup);
  };
  // Every step below is undone synchronously, so an 'exit' listener can undo them too.
  process.on('exit', cleanup);
  try {
    const device = openConfiguredDevice(
      { name: config.tun, mode: config.mode, netns: config.netns, mtu: config.mtu, peer: config.peer, peer6: config.peer6, offload: config.offload },
      cleanups,
    );
    let link: Link = device;
    // Closing the outermost link closes the chain (the capture is flushed first); the device's own undo is then a no-op.
    cleanups.push(() => link.close());
    const clock = new MonotonicClock();
    // The impairment sits on the device. A pcapng capture records the wire as
    // the kernel sees it (its tap below the impairment, whose verdicts it
    // hears, and a second tap under the stack pairing the stack's trace with
    // the packets: docs/captures.md); a classic pcap, between the impairment
    // and the stack, records what the stack sent and what it was finally given.
    const capture = config.pcap !== undefined && isPcapngPath(config.pcap) ? new PcapngCapture(config.pcap, { interfaceName: device.name }) : undefined;
    if (capture !== undefined) link = capture.wire(link);
    let impaired: ImpairedLink | undefined;
    if (config.impair !== undefined) {
      const impairment = new Impairment(config.impair.config, clock);
      capture?.watch(impairment);
      link = impaired = new ImpairedLink(link, impairment);
    }
    if (config.pcap !== undefined && capture === undefined) link = new PcapTap(link, new PcapWriter(config.pcap));
    if (capture !== undefined) link = capture.stackSide(link);

    // keepsInput: every batch the device (or the impairment holding it) hands over is a fresh buffer.
    const stack = new Stack({ address: config.addr, ...(config.addr6 === undefined ? {} : { address6: config.addr6 }), clock, random: new CryptoRandom(), link, mtu: config.mtu, offload: device.offload, keepsInput: true, sysctl: config.sysctl });
    capture?.attach(stack);
    const driver = new RealtimeDriver(stack, link, clock, impaired ? [impaired] : []);
    cleanups.push(() => driver.stop());

    const fields = [
      `tun=${device.name}`,
      `mode=${config.mode}`,
      `addr=${formatIpv4(config.addr)}`,
      config.peer ? `peer=${formatIpv4(config.peer.address)}/${config.peer.length}` : undefined,
      `mtu=${config.mtu}`,
      // Asked for and refused by the kernel or the device: said so, not silently off.
      `offload=${device.offload ? 'on' : config.offload ? 'unavailable' : 'off'}`,
      config.netns ? `netns=${config.netns}` : undefined,
      config.pcap ? `pcap=${config.pcap}` : undefined,
      config.impair ? `seed=${config.impair.config.seed}` : undefined,
      `addr6=${config.addr6 === undefined ? 'none' : formatIpv6(config.addr6)}`,
      config.peer6 ? `peer6=${formatIpv6(config.peer6.address)}/${config.peer6.length}` : undefined,
    ].filter((f) => f !== undefined);
    return {
      device,
      link,
      stack,
      driver,
      impairment: impaired?.impairment,
      impairSummary: config.impair ? describeImpairment(config.impair) : undefined,
      fields,
      onCleanup: (step) => cleanups.push(step),
      cleanup,
    };
  } catch (error) {
    cleanup();
    throw attachFailure(config, error);
  }
}
