/**
 * The subject's counters at the end of a scenario, by Linux's nstat names
 * (`TcpExtTCPLossProbes`, `TcpRetransSegs`): the kernel's read from
 * /proc/net/snmp and /proc/net/netstat in the subject's namespace (fresh for
 * each run, so every counter starts at zero), our stack's from its
 * `counters`. The names a scenario lists are compared exactly, over IPv6
 * under their IPv6 names (familyCounterName).
 */
import { familyName, type Family } from './family.ts';

/**
 * The files the kernel run reads the subject's counters from, as nstat
 * does: /proc/net/snmp and netstat, and snmp6 over IPv6 (Tcp and TcpExt are
 * one MIB for both families: tcp_v6_rcv counts into the same TCP_MIB_* and
 * LINUX_MIB_* as tcp_v4_rcv).
 */
export const COUNTER_FILES: Readonly<Record<Family, readonly string[]>> = {
  4: ['/proc/net/snmp', '/proc/net/netstat'],
  6: ['/proc/net/snmp', '/proc/net/netstat', '/proc/net/snmp6'],
};

/**
 * /proc/net/snmp and /proc/net/netstat as nstat reads them: lines in pairs,
 * a header `Prefix: Name1 Name2 ...` then `Prefix: v1 v2 ...`; each counter
 * is Prefix + Name (`TcpExt` + `TCPLossProbes`). /proc/net/snmp6 has one
 * counter a line, `Ip6InReceives   14`, named in full. Several files may be
 * concatenated.
 */
export function parseProcNet(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i]!.trim().split(/\s+/);
    if (!head[0]!.endsWith(':')) {
      if (head.length !== 2 || !/^-?\d+$/.test(head[1]!)) throw new Error(`counters: line ${i + 1} (${lines[i]!.trim()}) is neither NAME VALUE nor a header`);
      out[head[0]!] = Number(head[1]);
      continue;
    }
    const vals = (lines[++i] ?? '').trim().split(/\s+/);
    const prefix = head[0]!.replace(/:$/, '');
    if (vals[0] !== head[0]) throw new Error(`counters: line ${i + 1} (${vals[0]}) does not follow its header (${head[0]})`);
    for (let j = 1; j < head.length && j < vals.length; j++) out[`${prefix}${head[j]}`] = Number(vals[j]);
  }
  return out;
}

/**
 * IPv4 counters whose IPv6 counterpart is not the same name with Ip6,
 * Icmp6 or Udp6 for Ip, IpExt, Icmp or Udp (snmp6_ipstats_list,
 * snmp6_icmp6_list, icmp6_mib_names; per-type counts: ICMP destination
 * unreachable 3 is ICMPv6 type 1, time exceeded 11 is 3, parameter problem
 * 12 is 4, echo 8 and echo reply 0 are 128 and 129).
 */
const IPV6_COUNTERPART: Record<string, string | null> = {
  IpForwDatagrams: 'Ip6OutForwDatagrams',
  IcmpInParmProbs: 'Icmp6InParmProblems',
  IcmpOutParmProbs: 'Icmp6OutParmProblems',
  IcmpInEchoReps: 'Icmp6InEchoReplies',
  IcmpOutEchoReps: 'Icmp6OutEchoReplies',
  IcmpMsgInType0: 'Icmp6InType129',
  IcmpMsgInType3: 'Icmp6InType1',
  IcmpMsgInType8: 'Icmp6InType128',
  IcmpMsgInType11: 'Icmp6InType3',
  IcmpMsgInType12: 'Icmp6InType4',
  IcmpMsgOutType0: 'Icmp6OutType129',
  IcmpMsgOutType3: 'Icmp6OutType1',
  IcmpMsgOutType8: 'Icmp6OutType128',
  IcmpMsgOutType11: 'Icmp6OutType3',
  IcmpMsgOutType12: 'Icmp6OutType4',
  // One counter for both families (the host-wide ICMP limit, icmp_global_allow).
  IcmpOutRateLimitGlobal: 'IcmpOutRateLimitGlobal',
  // No IPv6 counterpart.
  IpForwarding: null,
  IpDefaultTTL: null,
  IpExtInBcastPkts: null,
  IpExtOutBcastPkts: null,
  IpExtInCsumErrors: null,
  IpExtInNoRoutes: null,
  IpExtReasmOverlaps: null,
  IcmpInSrcQuenchs: null,
  IcmpOutSrcQuenchs: null,
  IcmpInTimestamps: null,
  IcmpInTimestampReps: null,
  IcmpOutTimestamps: null,
  IcmpOutTimestampReps: null,
  IcmpInAddrMasks: null,
  IcmpInAddrMaskReps: null,
  IcmpOutAddrMasks: null,
  IcmpOutAddrMaskReps: null,
};

/**
 * The name a scenario's counter has over `family`. Scenarios list IPv4
 * names (`IpOutRequests`, `IcmpInDestUnreachs`); over IPv6 the IP, ICMP and
 * UDP ones are their /proc/net/snmp6 counterparts (`Ip6OutRequests`,
 * `Icmp6InDestUnreachs`), and Tcp and TcpExt ones stay as they are.
 * Undefined: an IPv4 counter with no IPv6 counterpart.
 */
export function familyCounterName(name: string, family: Family): string | undefined {
  if (family === 4) return name;
  if (name in IPV6_COUNTERPART) return IPV6_COUNTERPART[name] ?? undefined;
  const m = /^(IpExt|Ip|IcmpMsg|Icmp|UdpLite|Udp)(?!6)(.+)$/.exec(name);
  if (m === null) return name;
  if (m[1] === 'IcmpMsg') return undefined;
  const prefix = m[1] === 'IpExt' ? 'Ip6' : `${m[1]}6`;
  return `${prefix}${m[2]}`;
}

export interface CounterRow {
  name: string;
  kernel: number | undefined;
  stack: number | undefined;
  ok: boolean;
  why?: string;
}

/**
 * One row per listed counter. A counter the stack does not keep agrees only
 * where the kernel's is 0 (nothing happened that it would count); one the
 * kernel does not have is a scenario error, shown as a difference.
 */
export function compareCounters(names: readonly string[], kernel: Record<string, number> | undefined, stack: Record<string, number> | undefined, family: Family = 4): CounterRow[] {
  return names.map((listed): CounterRow => {
    const name = familyCounterName(listed, family);
    if (name === undefined) return { name: listed, kernel: undefined, stack: undefined, ok: false, why: `no ${familyName(family)} counterpart of this counter` };
    const k = kernel?.[name];
    const s = stack?.[name];
    if (k === undefined) return { name, kernel: k, stack: s, ok: false, why: kernel ? 'the kernel has no such counter' : 'the kernel run read no counters' };
    if (s === undefined) {
      if (!stack) return { name, kernel: k, stack: s, ok: false, why: 'the stack run read no counters' };
      return k === 0 ? { name, kernel: k, stack: s, ok: true } : { name, kernel: k, stack: s, ok: false, why: `kernel ${k}, the stack does not keep this counter` };
    }
    return k === s ? { name, kernel: k, stack: s, ok: true } : { name, kernel: k, stack: s, ok: false, why: `kernel ${k}, stack ${s}` };
  });
}
