/**
 * packetdrill's `--ip_version` (config.c): which family the script's
 * sockets and packets are, in its three flavours:
 *
 * | flavour            | socket_domain | bind/connect address     | on the wire |
 * |--------------------|---------------|--------------------------|-------------|
 * | `ipv4`             | AF_INET       | IPv4                     | IPv4        |
 * | `ipv4-mapped-ipv6` | AF_INET6      | IPv6 mapped from IPv4    | IPv4        |
 * | `ipv6`             | AF_INET6      | IPv6                     | IPv6        |
 *
 * and the addresses and MTU each flavour runs with: those of packetdrill's
 * own suite runner (run_all.py's CmdTestIPv4, CmdTestIPv4Mappedv6,
 * CmdTestIPv6), so that one script gives one verdict in all three: over
 * IPv6 it gives the device MTU 1520, whose MSS (1520 − 60) is IPv4's at
 * 1500 (1500 − 40). packetdrill run bare instead uses MTU 1500 in every
 * flavour, a random local address (192.168.0.0/16 or fd3d:fa7b:d17d::/48)
 * and the remote 192.0.2.1 or 2001:db8::1; `--mtu`, `--local_ip` and
 * `--remote_ip` give those.
 */
import { basename } from 'node:path';

export type IpVersion = 'ipv4' | 'ipv4-mapped-ipv6' | 'ipv6';

export const IP_VERSIONS: readonly IpVersion[] = ['ipv4', 'ipv4-mapped-ipv6', 'ipv6'];

/** The value of `--ip_version`, or undefined for anything else (config.c: "bad --ip_version"). */
export function parseIpVersion(text: string): IpVersion | undefined {
  return (IP_VERSIONS as readonly string[]).includes(text) ? (text as IpVersion) : undefined;
}

/** config->wire_protocol: the family of the packets. */
export const wireFamily = (v: IpVersion): 4 | 6 => (v === 'ipv6' ? 6 : 4);

/** config->socket_domain: the family of `socket(..., ...)`'s socket and of bind()'s and connect()'s `...` address. */
export const socketFamily = (v: IpVersion): 4 | 6 => (v === 'ipv4' ? 4 : 6);

export interface VersionDefaults {
  /** The stack's address (--local_ip). */
  localIp: string;
  /** The remote side's (--remote_ip). */
  remoteIp: string;
  mtu: number;
}

/** run_all.py's arguments for each flavour. */
export const VERSION_DEFAULTS: Readonly<Record<IpVersion, VersionDefaults>> = {
  ipv4: { localIp: '192.168.0.1', remoteIp: '192.0.2.1', mtu: 1500 },
  'ipv4-mapped-ipv6': { localIp: '192.168.0.1', remoteIp: '192.0.2.1', mtu: 1500 },
  ipv6: { localIp: 'fd3d:a0b:17d6::1', remoteIp: 'fd3d:fa7b:d17d::1', mtu: 1520 },
};

/**
 * run_all.py's selection (CmdsTests): a script whose file name ends in
 * `v6.pkt` runs only over IPv6, one ending in `v4.pkt` only in the two
 * flavours with IPv4 on the wire; every other script runs in all three.
 * (An ICMP line is one family's: `unreachable frag_needed` exists only in
 * ICMPv4's table, `packet_too_big` only in ICMPv6's.)
 */
export function scriptRunsIn(path: string, v: IpVersion): boolean {
  const name = basename(path);
  if (name.endsWith('v6.pkt')) return v === 'ipv6';
  if (name.endsWith('v4.pkt')) return v !== 'ipv6';
  return true;
}
