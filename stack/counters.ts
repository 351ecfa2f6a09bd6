/**
 * Counters named exactly as Linux's `nstat` prints them, so that a run of our
 * stack can be compared line by line with a kernel's: `Ip*`, `Icmp*`, `Udp*`
 * and `Tcp*` come from /proc/net/snmp, `IpExt*` and `TcpExt*` from
 * /proc/net/netstat. The hot path increments fields of a fixed-shape object
 * (`counters.IpInReceives++`), which V8 compiles to a plain store.
 */
export const COUNTER_NAMES = [
  // /proc/net/snmp, Ip (RFC 4293 ipSystemStats)
  'IpInReceives',
  'IpInHdrErrors',
  'IpInAddrErrors',
  'IpInUnknownProtos',
  'IpInDiscards',
  'IpInDelivers',
  'IpOutRequests',
  'IpOutDiscards',
  'IpOutNoRoutes',
  'IpReasmTimeout',
  'IpReasmReqds',
  'IpReasmOKs',
  'IpReasmFails',
  'IpFragOKs',
  'IpFragFails',
  'IpFragCreates',
  // /proc/net/netstat, IpExt
  'IpExtInTruncatedPkts',
  'IpExtInCsumErrors',
  'IpExtInBcastPkts',
  'IpExtInMcastPkts',
  'IpExtInOctets',
  'IpExtOutOctets',
  // ip_rcv_core: every datagram by the ECN codepoint of its TOS byte (RFC 3168 §5)
  'IpExtInNoECTPkts',
  'IpExtInECT1Pkts',
  'IpExtInECT0Pkts',
  'IpExtInCEPkts',
  'IpExtReasmOverlaps',
  // Icmp
  'IcmpInMsgs',
  'IcmpInErrors',
  'IcmpInCsumErrors',
  'IcmpInDestUnreachs',
  'IcmpInTimeExcds',
  'IcmpInParmProbs',
  'IcmpInSrcQuenchs',
  'IcmpInRedirects',
  'IcmpInEchos',
  'IcmpInEchoReps',
  'IcmpOutMsgs',
  'IcmpOutErrors',
  'IcmpOutRateLimitGlobal',
  'IcmpOutRateLimitHost',
  'IcmpOutDestUnreachs',
  'IcmpOutTimeExcds',
  'IcmpOutParmProbs',
  'IcmpOutEchoReps',
  // IcmpMsg: per-type counts for the types we meet
  'IcmpMsgInType0',
  'IcmpMsgInType3',
  'IcmpMsgInType8',
  'IcmpMsgInType11',
  'IcmpMsgOutType0',
  'IcmpMsgOutType3',
  'IcmpMsgOutType11',
  'IcmpMsgOutType12',
  // Udp
  'UdpInDatagrams',
  'UdpNoPorts',
  'UdpInErrors',
  'UdpOutDatagrams',
  'UdpInCsumErrors',
  // Tcp (RFC 4022) and TcpExt
  'TcpActiveOpens',
  'TcpPassiveOpens',
  'TcpAttemptFails',
  'TcpEstabResets',
  'TcpCurrEstab',
  'TcpInSegs',
  'TcpOutSegs',
  'TcpRetransSegs',
  'TcpInErrs',
  'TcpOutRsts',
  'TcpInCsumErrors',
  'TcpExtSyncookiesSent',
  'TcpExtSyncookiesRecv',
  'TcpExtSyncookiesFailed',
  'TcpExtEmbryonicRsts',
  'TcpExtTW',
  'TcpExtTWKilled',
  'TcpExtTWRecycled',
  'TcpExtPAWSActiveRejected',
  'TcpExtPAWSEstab',
  'TcpExtDelayedACKs',
  'TcpExtListenOverflows',
  'TcpExtListenDrops',
  'TcpExtTCPTimeouts',
  'TcpExtTCPLossProbes',
  'TcpExtTCPLossProbeRecovery',
  'TcpExtTCPSynRetrans',
  'TcpExtTCPFastRetrans',
  'TcpExtTCPSlowStartRetrans',
  // tcp_count_delivered: segments newly delivered by ACKs carrying ECE
  'TcpExtTCPDeliveredCE',
  'TcpExtTCPLostRetransmit',
  'TcpExtTCPSackRecovery',
  'TcpExtTCPRenoRecovery',
  'TcpExtTCPSackRecoveryFail',
  'TcpExtTCPRenoRecoveryFail',
  'TcpExtTCPLossFailures',
  'TcpExtTCPSackFailures',
  'TcpExtTCPRenoFailures',
  'TcpExtTCPSACKReorder',
  'TcpExtTCPRenoReorder',
  'TcpExtTCPTSReorder',
  'TcpExtDelayedACKLost',
  'TcpExtTCPHystartTrainDetect',
  'TcpExtTCPHystartTrainCwnd',
  'TcpExtTCPHystartDelayDetect',
  'TcpExtTCPHystartDelayCwnd',
  'TcpExtTCPDSACKRecv',
  'TcpExtTCPDSACKOfoRecv',
  'TcpExtTCPDSACKRecvSegs',
  'TcpExtTCPDSACKIgnoredOld',
  'TcpExtTCPDSACKIgnoredNoUndo',
  'TcpExtTCPDSACKIgnoredDubious',
  'TcpExtTCPSACKDiscard',
  'TcpExtTCPDSACKOldSent',
  'TcpExtTCPDSACKOfoSent',
  // Undo of spurious window reductions (undo.ts) and F-RTO (frto.ts).
  'TcpExtTCPFullUndo',
  'TcpExtTCPPartialUndo',
  'TcpExtTCPDSACKUndo',
  'TcpExtTCPLossUndo',
  'TcpExtTCPSpuriousRTOs',
  'TcpExtTCPAbortOnData',
  'TcpExtTCPAbortOnClose',
  'TcpExtTCPAbortOnMemory',
  'TcpExtTCPAbortOnTimeout',
  'TcpExtTCPAbortOnLinger',
  'TcpExtTCPAbortFailed',
  'TcpExtTCPChallengeACK',
  'TcpExtTCPSYNChallenge',
  'TcpExtTCPACKSkippedSynRecv',
  'TcpExtTCPACKSkippedPAWS',
  'TcpExtTCPACKSkippedSeq',
  'TcpExtTCPACKSkippedFinWait2',
  'TcpExtTCPACKSkippedTimeWait',
  'TcpExtTCPACKSkippedChallenge',
  'TcpExtTCPWinProbe',
  'TcpExtTCPKeepAlive',
  'TcpExtTCPOFOQueue',
  'TcpExtTCPOFODrop',
  'TcpExtTCPOFOMerge',
  'TcpExtTCPRcvQDrop',
  'TcpExtTCPZeroWindowDrop',
  'TcpExtTCPWantZeroWindowAdv',
  'TcpExtTCPToZeroWindowAdv',
  'TcpExtTCPFromZeroWindowAdv',
  'TcpExtTCPReqQFullDrop',
  'TcpExtTCPReqQFullDoCookies',
  'TcpExtTCPTimeWaitOverflow',
  'TcpExtBeyondWindow',
  'TcpExtOutOfWindowIcmps',
] as const;

export type CounterName = (typeof COUNTER_NAMES)[number];
export type Counters = Record<CounterName, number>;

export function newCounters(): Counters {
  const c = {} as Counters;
  for (const name of COUNTER_NAMES) c[name] = 0;
  return c;
}

export function snapshotCounters(c: Counters): Counters {
  return { ...c };
}

/** The counters that moved between two snapshots, in declaration order. */
export function counterDeltas(before: Counters, after: Counters): Array<[CounterName, number]> {
  const moved: Array<[CounterName, number]> = [];
  for (const name of COUNTER_NAMES) {
    const d = after[name] - before[name];
    if (d !== 0) moved.push([name, d]);
  }
  return moved;
}

/** `nstat`-style text: one counter a line, name padded, value right-aligned. */
export function formatCounters(rows: ReadonlyArray<readonly [string, number]>): string {
  return rows.map(([name, value]) => `${name.padEnd(32)}${String(value).padStart(12)}`).join('\n');
}
