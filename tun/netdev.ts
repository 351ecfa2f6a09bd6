/**
 * Interface configuration with iproute2, optionally inside a named network
 * namespace (`ip -n NS ...`).
 */
import { isIPv4 } from 'node:net';
import { assertNetnsName, runIp } from './netns.ts';

export interface InterfaceConfig {
  /** Named network namespace holding the interface; the host's own if absent. */
  netns?: string;
  name: string;
  /** The kernel side's address with prefix, e.g. "198.18.0.1/24". */
  peerCidr?: string;
  /**
   * The kernel side's IPv6 address and prefix (ADDRESS/N), added with
   * nodad: no duplicate address detection on a link with one other end.
   */
  peer6Cidr?: string;
  mtu?: number;
  /**
   * Packets the kernel may queue towards us (the TUN's txqueuelen, 500 by
   * default). A window's worth of segments arrives in one burst while Node
   * may be busy; with 500 the queue overflows and the kernel sees losses that
   * are only ours, so a created device gets DEFAULT_TXQUEUELEN.
   */
  txqueuelen?: number;
  up: boolean;
}

export const DEFAULT_TXQUEUELEN = 10_000;

function ipArgs(netns: string | undefined, args: string[]): string[] {
  if (netns === undefined) return args;
  assertNetnsName(netns);
  return ['-n', netns, ...args];
}

function assertCidr(cidr: string): void {
  const [addr, prefix, extra] = cidr.split('/');
  const bits = Number(prefix);
  if (extra !== undefined || !addr || !isIPv4(addr) || !/^\d{1,2}$/.test(prefix ?? '') || bits > 32) {
    throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}: expected e.g. 198.18.0.1/24`);
  }
}

/**
 * `ip addr add CIDR dev NAME` then `ip link set dev NAME [mtu N] [up|down]`.
 * Errors are one line naming the failing command and ip's stderr.
 */
export function configureInterface(cfg: InterfaceConfig): void {
  if (cfg.peerCidr !== undefined) assertCidr(cfg.peerCidr);
  if (cfg.mtu !== undefined && (!Number.isInteger(cfg.mtu) || cfg.mtu < 68 || cfg.mtu > 65535)) {
    throw new Error(`invalid MTU ${cfg.mtu}: expected an integer from 68 to 65535`);
  }
  if (cfg.peerCidr !== undefined) {
    runIp(ipArgs(cfg.netns, ['addr', 'add', cfg.peerCidr, 'dev', cfg.name]));
  }
  if (cfg.peer6Cidr !== undefined) {
    if (!/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(cfg.peer6Cidr)) throw new Error(`invalid IPv6 CIDR ${JSON.stringify(cfg.peer6Cidr)}: expected e.g. 2001:2::1/64`);
    runIp(ipArgs(cfg.netns, ['-6', 'addr', 'add', cfg.peer6Cidr, 'dev', cfg.name, 'nodad']));
  }
  const link = ['link', 'set', 'dev', cfg.name];
  if (cfg.mtu !== undefined) link.push('mtu', String(cfg.mtu));
  if (cfg.txqueuelen !== undefined) link.push('txqueuelen', String(cfg.txqueuelen));
  link.push(cfg.up ? 'up' : 'down');
  runIp(ipArgs(cfg.netns, link));
}

/** Whether an interface of that name exists (in the netns if given). */
export function interfaceExists(name: string, netns?: string): boolean {
  try {
    runIp(ipArgs(netns, ['link', 'show', 'dev', name]));
    return true;
  } catch {
    return false;
  }
}

/** Interface packet counters from `ip -s -j link show` (kernel's view). */
export function interfaceStats(
  name: string,
  netns?: string,
): { rxPackets: number; txPackets: number; rxDropped: number; txDropped: number } {
  const out = runIp(ipArgs(netns, ['-s', '-j', 'link', 'show', 'dev', name]));
  const parsed = JSON.parse(out) as Array<{
    stats64?: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } };
  }>;
  const s = parsed[0]?.stats64;
  if (!s) throw new Error(`\`ip -s -j link show dev ${name}\` returned no statistics`);
  return { rxPackets: s.rx.packets, txPackets: s.tx.packets, rxDropped: s.rx.dropped, txDropped: s.tx.dropped };
}
