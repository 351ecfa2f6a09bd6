/**
 * The `ss -ti` view of TCP sockets (tcp_get_info, inet_diag): one row per
 * connection, minisock or listener, timers shown the way ss shows them.
 */
import { socketAddressText } from '../address.ts';
import type { Connection } from './connection.ts';
import type { TcpInfo } from './types.ts';

/** A listing row for something that has a state but no full connection (minisock, listener, unbound socket). */
export function stateOnlyInfo(fields: Pick<TcpInfo, 'state' | 'localAddress' | 'localPort'> & Partial<TcpInfo>): TcpInfo {
  return {
    remoteAddress: '',
    remotePort: 0,
    recvQ: 0,
    sendQ: 0,
    rtt: 0,
    rttvar: 0,
    rto: 0,
    mss: 0,
    cwnd: 0,
    ssthresh: 0,
    retransmits: 0,
    backoff: 0,
    sndWnd: 0,
    rcvWnd: 0,
    sndWscale: 0,
    rcvWscale: 0,
    timestamps: false,
    sack: false,
    timer: undefined,
    bytesSent: 0,
    bytesRetrans: 0,
    bytesAcked: 0,
    bytesReceived: 0,
    ...fields,
  };
}

/**
 * icsk_probes_out, one counter in Linux for zero-window (probe timer) and
 * keepalive probes; kept apart here: the zero-window count while probing or
 * after an episode that ended without an ACK (tcp_write_err leaves it as it
 * was), else the keepalive one.
 */
export function probesOut(c: Connection): number {
  return c.xmitMode === 'probe' || c.probesOut > 0 ? c.probesOut : c.keepaliveProbes;
}

export function connectionInfo(c: Connection): TcpInfo {
  const now = c.now();
  const timers: Array<[string, { armed: boolean; deadline: number }]> = [
    [c.xmitMode === 'probe' ? 'persist' : 'on', c.xmitTimer],
    ['delack', c.delackTimer],
    ['keepalive', c.keepaliveTimer],
  ];
  const pending = timers.find(([, t]) => t.armed);
  return {
    state: c.state,
    localAddress: c.addressText?.local ?? socketAddressText(c.ctx.addresses, c.local, c.ipv6Socket),
    localPort: c.localPort,
    remoteAddress: c.addressText?.remote ?? socketAddressText(c.ctx.addresses, c.remote, c.ipv6Socket),
    remotePort: c.remotePort,
    recvQ: c.recvQueue.length,
    sendQ: c.sendQueue.length,
    rtt: c.rtt.srtt,
    rttvar: c.rtt.rttvar,
    rto: c.rtt.rto,
    mss: c.mss,
    pmtu: c.pmtuCookie,
    cwnd: c.cc.cwnd,
    ssthresh: c.cc.ssthresh,
    congestion: c.cc.name,
    retransmits: c.totalRetrans,
    backoff: c.backoff,
    sndWnd: c.sndWnd,
    rcvWnd: c.rcvWnd,
    sndWscale: c.sndWscale,
    rcvWscale: c.rcvWscale,
    timestamps: c.tsOk,
    sack: c.sackOk,
    ecn: c.ecnOk,
    ecnSeen: c.ecnSeen,
    ...(c.synData || c.synDataAcked ? { synData: c.synDataAcked } : {}),
    timer: pending ? { on: pending[0], expiresIn: Math.max(0, pending[1].deadline - now) } : undefined,
    bytesSent: c.bytesSent,
    bytesRetrans: c.bytesRetrans,
    bytesAcked: c.bytesAcked,
    bytesReceived: c.bytesReceived,
    curRetrans: c.retransmits,
    probes: probesOut(c),
    unacked: c.rtx.length,
    // tcp_get_info: tcpi_retrans is retrans_out, tcpi_sacked sacked_out (the
    // duplicate-ACK count without SACK), tcpi_lost lost_out.
    retransOut: c.rtx.retransOut,
    lost: c.rtx.lostOut,
    sacked: c.sackOk ? c.rtx.sackedOut : c.renoSacked,
    reordering: c.reordering,
    reordSeen: c.reordSeen,
    minRtt: c.minRtt.value === Infinity ? undefined : c.minRtt.value / 1000,
    timers: timers.filter(([, t]) => t.armed).map(([on, t]) => ({ on, expiresIn: Math.max(0, t.deadline - now) })),
    rcvRtt: Math.floor(c.rcvRttUs8 / 8) / 1000,
    rcvSpace: c.rcvqSpace,
    rcvSsthresh: c.rcvSsthresh,
    lastSend: c.lastSendTime > 0 ? now - c.lastSendTime : undefined,
    lastRecv: c.lastRcvTime > 0 ? now - c.lastRcvTime : undefined,
  };
}
