/**
 * `openTunStack()`: the stack on a TUN device in real time, for a Node
 * program: the device (created or attached, optionally in a network
 * namespace), the kernel side's address on it, a Stack with crypto randomness
 * and the monotonic clock, and the real-time driver. `tcpstack up` does the
 * same and adds services, impairments, capture and introspection.
 */
import { Stack, type TcpApi } from '../stack/stack.ts';
import type { Sysctls } from '../stack/sysctl.ts';
import type { TraceSink } from '../stack/trace.ts';
import { formatIpv4, inPrefix, parseIpv4, parseIpv4Prefix, type Ipv4Prefix } from '../stack/wire/addr.ts';
import {
  formatIpv6,
  ipv6Equal,
  ipv6InPrefix,
  isIpv6LinkLocal,
  isIpv6Loopback,
  isIpv6Multicast,
  isIpv6Unspecified,
  isIpv6V4Mapped,
  parseIpv6,
  parseIpv6Prefix,
  type Ipv6Prefix,
} from '../stack/wire/addr6.ts';
import { CryptoRandom, MonotonicClock, RealtimeDriver } from './driver.ts';
import { DEFAULT_TXQUEUELEN, configureInterface } from './netdev.ts';
import { assertNetnsName, createNetns, deleteNetns, runIp } from './netns.ts';
import { TunDevice } from './tun-device.ts';

export interface TunStackOptions {
  /** The TUN interface name, 1-15 characters (default 'tcp0'). */
  name?: string;
  /**
   * 'create' (default): a new device, given the `peer` address and brought
   * up, gone again after close(). 'attach': an existing persistent device
   * (`ip tuntap add dev NAME mode tun`), configured by whoever made it and
   * left in place by close().
   */
  mode?: 'create' | 'attach';
  /**
   * A named network namespace (`ip netns`) to put the device in, created if
   * missing (with lo up, and then deleted by close()). This process stays in its own
   * namespace; the kernel side of the link is in that one.
   */
  netns?: string;
  /** The stack's own IPv4 address (default '198.18.0.2'). */
  address?: string;
  /** The kernel side's address and prefix on the device (default '198.18.0.1/24'); 'create' only. */
  peer?: string;
  /**
   * The stack's own IPv6 address (default '2001:2::2', from 2001:2::/48,
   * RFC 5180's benchmarking range), or false for a stack without IPv6.
   */
  address6?: string | false;
  /** The kernel side's IPv6 address and prefix on the device (default '2001:2::1/64'); 'create' only. */
  peer6?: string;
  /** The interface MTU, 68-65535 (default 1500). */
  mtu?: number;
  /**
   * TUN offloads (default true): TCP super-segments of up to 64 KiB both
   * ways and checksums the kernel owes, where the kernel grants them
   * (`device.offload` says); false: every packet wire-sized.
   * docs/offloads.md.
   */
  offload?: boolean;
  /** Stack tunables under their Linux names without the prefix, e.g. `{ tcp_fin_timeout: 3 }`. */
  sysctl?: Partial<Sysctls>;
  /** Receives the stack's trace events (segments, state changes, timers, resets, drops). */
  trace?: TraceSink;
}

export interface TunStack {
  readonly stack: Stack;
  /** What TcpServer, TcpSocket.connect and TcpAgent take: `stack.tcp`. */
  readonly tcp: TcpApi;
  readonly device: TunDevice;
  readonly driver: RealtimeDriver;
  /**
   * Sends what the stack still has queued, stops the driver, closes the
   * device and deletes the namespace if openTunStack created it. Connections
   * still open are dropped without a segment (close them first for a FIN).
   * Idempotent.
   */
  close(): void;
}

/**
 * From 198.18.0.0/15, the block RFC 2544 reserves for benchmarking: unlikely
 * to be anyone's LAN, VPN or container network. The same as `tcpstack up`.
 */
const DEFAULTS = { name: 'tcp0', address: '198.18.0.2', peer: '198.18.0.1/24', address6: '2001:2::2', peer6: '2001:2::1/64', mtu: 1500 } as const;

/**
 * The two IPv6 ends of the link, checked: the stack's address (a unicast
 * global one: not multicast, loopback, link-local, v4-mapped or ::) and,
 * for a created device, the kernel side's address and prefix, which must
 * hold the stack's. Throws an Error with a one-line message naming `names`.
 */
export function ipv6Ends(
  addressText: string,
  peerText: string | undefined,
  names: { address: string; peer: string },
): { address: Uint8Array; peer: Ipv6Prefix | undefined } {
  const address = parseIpv6(addressText);
  if (address === undefined) throw new Error(`${names.address} ${JSON.stringify(addressText)} is not an IPv6 address`);
  if (isIpv6Multicast(address) || isIpv6Loopback(address) || isIpv6LinkLocal(address) || isIpv6V4Mapped(address) || isIpv6Unspecified(address)) {
    throw new Error(`${names.address} ${addressText}: the stack needs a global unicast address`);
  }
  if (peerText === undefined) return { address, peer: undefined };
  const peer = parseIpv6Prefix(peerText);
  if (peer === undefined) throw new Error(`${names.peer} ${JSON.stringify(peerText)} is not ADDRESS/N (an IPv6 address and a prefix length)`);
  if (ipv6Equal(peer.address, 0, address, 0)) throw new Error(`${names.address} and ${names.peer} must differ: they are the two ends of the link`);
  if (!ipv6InPrefix(address, 0, peer)) throw new Error(`${names.address} ${addressText} is outside ${names.peer} ${peerText}: the kernel would have no route to the stack`);
  return { address, peer };
}

/** One line, prefixed, keeping the errno name (`code`) and the original error (`cause`). */
function failure(message: string, cause?: unknown): Error {
  const error = new Error(`openTunStack: ${message}`, cause === undefined ? undefined : { cause });
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? Object.assign(error, { code }) : error;
}

interface CheckedOptions {
  mode: 'create' | 'attach';
  address: number;
  peer: Ipv4Prefix | undefined;
  address6: Uint8Array | undefined;
  peer6: Ipv6Prefix | undefined;
}

function checked(options: TunStackOptions): CheckedOptions {
  const v4 = checked4(options);
  if (options.address6 === false) {
    if (options.peer6 !== undefined) throw failure('peer6 without address6');
    return { ...v4, address6: undefined, peer6: undefined };
  }
  if (v4.mode === 'attach' && options.peer6 !== undefined) throw failure('peer6 only applies to a created device (an attached one is configured by its owner)');
  try {
    const ends = ipv6Ends(options.address6 ?? DEFAULTS.address6, v4.mode === 'create' ? (options.peer6 ?? DEFAULTS.peer6) : undefined, { address: 'address6', peer: 'peer6' });
    return { ...v4, address6: ends.address, peer6: ends.peer };
  } catch (error) {
    throw failure((error as Error).message);
  }
}

function checked4(options: TunStackOptions): { mode: 'create' | 'attach'; address: number; peer: Ipv4Prefix | undefined } {
  const mode = options.mode ?? 'create';
  if (mode !== 'create' && mode !== 'attach') throw failure(`mode ${JSON.stringify(mode)}: expected 'create' or 'attach'`);
  const addressText = options.address ?? DEFAULTS.address;
  const address = parseIpv4(addressText);
  if (address === undefined) throw failure(`address ${JSON.stringify(addressText)} is not an IPv4 address`);
  if (mode === 'attach') {
    if (options.peer !== undefined) throw failure('peer only applies to a created device (an attached one is configured by its owner)');
    return { mode, address, peer: undefined };
  }
  const peerText = options.peer ?? DEFAULTS.peer;
  const peer = parseIpv4Prefix(peerText);
  if (peer === undefined) throw failure(`peer ${JSON.stringify(peerText)} is not A.B.C.D/N`);
  if (peer.address === address) throw failure(`address and peer are both ${addressText}: they are the two ends of the link`);
  if (!inPrefix(address, peer)) throw failure(`address ${addressText} is outside peer ${peerText}: the kernel would have no route to the stack`);
  return { mode, address, peer };
}

/** What a configured device needs: its name and mode, the namespace, the MTU and, when created, the kernel side's prefix. */
export interface DeviceSetup {
  name: string;
  mode: 'create' | 'attach';
  netns: string | undefined;
  mtu: number;
  peer: Ipv4Prefix | undefined;
  /** The kernel side's IPv6 address and prefix, when the stack has IPv6 (created devices only). */
  peer6?: Ipv6Prefix | undefined;
  /** Ask for TUN offloads (TunOpenOptions.offload). */
  offload: boolean;
}

/**
 * The namespace (created if missing, with lo up), the TUN device in it, and for a created
 * device the kernel side's address, MTU and queue length, link up. Each step
 * pushes its own undo onto `undo` (run last-in first-out), so a caller that
 * fails later, or closes, takes back exactly what was done. Shared by
 * openTunStack and `tcpstack up`.
 */
export function openConfiguredDevice(setup: DeviceSetup, undo: Array<() => void>): TunDevice {
  if (setup.netns !== undefined) {
    const netns = setup.netns;
    assertNetnsName(netns);
    if (createNetns(netns)) {
      undo.push(() => deleteNetns(netns));
      // `ip netns add` leaves lo down, as in any new namespace: then the kernel
      // side cannot reach even its own address (ping of the peer address) nor
      // 127.0.0.1. One that existed before is someone else's, left as it is.
      runIp(['-n', netns, 'link', 'set', 'dev', 'lo', 'up']);
    }
  }
  const device = TunDevice.open({ name: setup.name, mode: setup.mode, netns: setup.netns, mtu: setup.mtu, offload: setup.offload });
  undo.push(() => device.close());
  if (setup.mode === 'create' && setup.peer !== undefined) {
    configureInterface({
      netns: setup.netns,
      name: device.name,
      peerCidr: `${formatIpv4(setup.peer.address)}/${setup.peer.length}`,
      peer6Cidr: setup.peer6 === undefined ? undefined : `${formatIpv6(setup.peer6.address)}/${setup.peer6.length}`,
      mtu: setup.mtu,
      txqueuelen: DEFAULT_TXQUEUELEN,
      up: true,
    });
  }
  return device;
}

/**
 * Brings the stack up on a TUN device and starts it in real time. Needs root
 * (CAP_NET_ADMIN) and /dev/net/tun. Throws an Error with a one-line message
 * (and the errno name in `code` when the system refused), after undoing what
 * it had done.
 */
export function openTunStack(options: TunStackOptions = {}): TunStack {
  const { mode, address, peer, address6, peer6 } = checked(options);
  const mtu = options.mtu ?? DEFAULTS.mtu;
  const netns = options.netns;
  const undo: Array<() => void> = [];
  const unwind = (): void => {
    while (undo.length > 0) {
      try {
        undo.pop()!();
      } catch {
        // Teardown goes on: a namespace that will not go is no reason to keep the device.
      }
    }
  };
  try {
    const device = openConfiguredDevice({ name: options.name ?? DEFAULTS.name, mode, netns, mtu, peer, peer6, offload: options.offload !== false }, undo);
    const clock = new MonotonicClock();
    const stack = new Stack({
      address,
      ...(address6 === undefined ? {} : { address6 }),
      clock,
      random: new CryptoRandom(),
      link: device,
      mtu,
      offload: device.offload,
      // Every batch the device hands over is a fresh buffer: TCP may keep views of it.
      keepsInput: true,
      ...(options.sysctl === undefined ? {} : { sysctl: options.sysctl }),
      ...(options.trace === undefined ? {} : { trace: options.trace }),
    });
    const driver = new RealtimeDriver(stack, device, clock);
    undo.push(() => driver.stop());
    undo.push(() => stack.flush());
    return { stack, tcp: stack.tcp, device, driver, close: unwind };
  } catch (error) {
    unwind();
    throw failure((error as Error).message ?? String(error), error);
  }
}
