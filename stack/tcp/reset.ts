/**
 * Every decision to send a RST lives here. Two generators, as in Linux:
 *
 * - the reply reset, `tcp_v4_send_reset` (RFC 9293 §3.10.7.1, "reset
 *   generation"): built from the offending segment alone. If it carried an
 *   ACK: <SEQ=SEG.ACK><CTL=RST>; otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
 *   <CTL=RST,ACK>. Window 0, no options, IP ID 0, never in answer to a RST.
 * - the active reset, `tcp_send_active_reset`: from a connection the stack
 *   is aborting: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=RST,ACK> with the
 *   connection's window and timestamps; best effort, never retransmitted.
 *
 * Each path is named after the kernel code it mirrors and tagged with the
 * kernel's reset reason (include/net/rstreason.h), and bumps the counters
 * Linux bumps on that path. docs/linux-behaviour.md describes every path.
 */
import { IPV6_HANDLE_BASE } from '../address.ts';
import { ip6TrafficClass } from '../wire/ipv6.ts';
import type { CounterName } from '../counters.ts';
import type { TcpOptionsToWrite } from '../wire/tcp.ts';
import { TCP_ACK, TCP_RST } from '../wire/tcp.ts';
import type { TcpContext } from './context.ts';
import { segmentLength, transmitSegment, type Segment } from './segment.ts';
import { seqAdd } from './seq.ts';

/** `enum sk_rst_reason` names. */
export type RstReason =
  | 'NOT_SPECIFIED'
  | 'NO_SOCKET'
  | 'TCP_INVALID_ACK_SEQUENCE'
  | 'TCP_RFC7323_PAWS'
  | 'TCP_TOO_OLD_ACK'
  | 'TCP_ACK_UNSENT_DATA'
  | 'TCP_FLAGS'
  | 'TCP_OLD_ACK'
  | 'TCP_ABORT_ON_DATA'
  | 'TCP_TIMEWAIT_SOCKET'
  | 'INVALID_SYN'
  | 'TCP_ABORT_ON_CLOSE'
  | 'TCP_ABORT_ON_LINGER'
  | 'TCP_ABORT_ON_MEMORY'
  | 'TCP_STATE'
  | 'TCP_KEEPALIVE_TIMEOUT'
  | 'TCP_DISCONNECT_WITH_DATA';

/** `reply`: tcp_v4_send_reset (tcp_v6_send_reset over IPv6), from the offending segment; `active`: tcp_send_active_reset, from a connection. */
export type ResetGenerator = 'reply' | 'active';

interface ResetPath {
  /** The kernel function whose decision this mirrors. */
  linux: string;
  /** Its IPv6 twin, where the decision is taken in a family's own function. */
  linux6?: string;
  generator: ResetGenerator;
  reason: RstReason;
  /** Counters Linux bumps on this path besides TcpOutRsts/TcpOutSegs. */
  counters: readonly CounterName[];
}

/** Every path on which this stack sends a RST. */
export const RESET_PATHS = {
  /** Segment for no socket at all (no connection, TIME_WAIT or listener). */
  noSocket: { linux: 'tcp_v4_rcv no_tcp_socket', linux6: 'tcp_v6_rcv no_tcp_socket', generator: 'reply', reason: 'NO_SOCKET', counters: [] },
  /** ACK (with or without data/FIN) arriving at a listener. */
  listenerAck: { linux: 'tcp_rcv_state_process TCP_LISTEN (ack)', generator: 'reply', reason: 'TCP_FLAGS', counters: [] },
  /** Request sock: ACK that does not acknowledge our SYN-ACK; the request survives. */
  requestBadAck: { linux: 'tcp_check_req (ack != snt_isn+1)', generator: 'reply', reason: 'TCP_FLAGS', counters: [] },
  /** Request sock: in-window SYN; the request is dropped. */
  requestSyn: { linux: 'tcp_check_req embryonic_reset', generator: 'reply', reason: 'INVALID_SYN', counters: ['TcpExtEmbryonicRsts'] },
  /** A Fast Open child still holding its request: in-window SYN; the child survives (no EmbryonicRsts). */
  fastOpenChildSyn: { linux: 'tcp_check_req embryonic_reset (fastopen)', generator: 'reply', reason: 'INVALID_SYN', counters: [] },
  /** Third ACK while the accept queue is full, with tcp_abort_on_overflow=1. */
  acceptOverflow: { linux: 'tcp_check_req listen_overflow (abort_on_overflow)', generator: 'reply', reason: 'INVALID_SYN', counters: ['TcpExtEmbryonicRsts'] },
  /** SYN_SENT: ACK beyond SND.NXT. */
  synSentBadAck: { linux: 'tcp_rcv_synsent_state_process reset_and_undo (ack after snd_nxt)', generator: 'reply', reason: 'TCP_ACK_UNSENT_DATA', counters: [] },
  /** SYN_SENT: ACK at or before ISS. */
  synSentOldAck: { linux: 'tcp_rcv_synsent_state_process reset_and_undo (ack not after snd_una)', generator: 'reply', reason: 'TCP_TOO_OLD_ACK', counters: [] },
  /** SYN_RECV (full socket, simultaneous open): unacceptable ACK. */
  synRecvBadAck: { linux: 'tcp_rcv_state_process TCP_SYN_RECV (!acceptable)', generator: 'reply', reason: 'TCP_INVALID_ACK_SEQUENCE', counters: [] },
  /** New data after the receive side was shut by close()/shutdown(RDWR). */
  abortOnData: { linux: 'tcp_rcv_state_process step 7 (tcp_reset + send_reset)', generator: 'reply', reason: 'TCP_ABORT_ON_DATA', counters: ['TcpExtTCPAbortOnData'] },
  /** Orphaned FIN_WAIT2 minisock: new data or a misplaced FIN / SYN. */
  timewaitSocket: { linux: 'tcp_timewait_state_process TCP_TW_RST', generator: 'reply', reason: 'TCP_TIMEWAIT_SOCKET', counters: [] },
  /** close() with unread data in the receive queue (RFC 2525 §2.17). */
  closeWithUnread: { linux: '__tcp_close (data_was_unread)', generator: 'active', reason: 'TCP_ABORT_ON_CLOSE', counters: ['TcpExtTCPAbortOnClose'] },
  /** SO_LINGER {1, 0}: close() aborts (tcp_disconnect). */
  lingerZero: { linux: '__tcp_close → tcp_disconnect (SO_LINGER 0)', generator: 'active', reason: 'TCP_STATE', counters: ['TcpExtTCPAbortOnData'] },
  /** TCP_LINGER2 < 0 and close() in FIN_WAIT2. */
  linger2: { linux: '__tcp_close (TCP_LINGER2 < 0)', generator: 'active', reason: 'TCP_ABORT_ON_LINGER', counters: ['TcpExtTCPAbortOnLinger'] },
  /** connect(AF_UNSPEC) on a synchronized connection (tcp_disconnect). */
  disconnect: { linux: 'inet_stream_connect(AF_UNSPEC) → tcp_disconnect', generator: 'active', reason: 'TCP_STATE', counters: [] },
  /** Listener closed with children still in the accept queue. */
  listenerClose: { linux: 'inet_csk_listen_stop → tcp_disconnect', generator: 'active', reason: 'TCP_STATE', counters: [] },
  /** Keepalive gave up (tcp_keepalive_probes unanswered). */
  keepaliveTimeout: { linux: 'tcp_keepalive_timer', generator: 'active', reason: 'TCP_KEEPALIVE_TIMEOUT', counters: ['TcpExtTCPAbortOnTimeout'] },
  /** Orphaned full socket in FIN_WAIT2 whose timer expired. */
  finWait2Timeout: { linux: 'tcp_keepalive_timer (orphan FIN_WAIT2)', generator: 'active', reason: 'TCP_STATE', counters: [] },
  /** The socket was destroyed from outside its application (`tcpstack ss -K`, SOCK_DESTROY): tcp_abort. */
  userAbort: { linux: 'tcp_abort', generator: 'active', reason: 'TCP_STATE', counters: [] },
} as const satisfies Record<string, ResetPath>;

export type ResetPathName = keyof typeof RESET_PATHS;

/** Reply reset: answers `seg`; returns false when the rules say no RST may be sent. */
export function replyReset(ctx: TcpContext, seg: Segment, path: ResetPathName): boolean {
  if (seg.flags & TCP_RST) return false; // never a RST in answer to a RST
  const p = RESET_PATHS[path];
  const hasAck = (seg.flags & TCP_ACK) !== 0;
  const seq = hasAck ? seg.ack : 0;
  const ack = hasAck ? 0 : seqAdd(seg.seq, segmentLength(seg));
  const flags = hasAck ? TCP_RST : TCP_RST | TCP_ACK;
  let tos: number | undefined;
  if (seg.src >= IPV6_HANDLE_BASE) {
    // tcp_v6_send_reset: no route answers a v4-mapped or unspecified source (ip6_dst_lookup fails).
    if (!ctx.addresses.routable(seg.src)) {
      ctx.counters.Ip6OutNoRoutes++;
      return false;
    }
    // The reset keeps the segment's DSCP, not its ECN bits (measured on 6.18 with tcp_reflect_tos = 0).
    tos = ip6TrafficClass(seg.packet) & ~3;
  }
  transmitSegment(ctx, { src: seg.dst, dst: seg.src, sport: seg.dport, dport: seg.sport, seq, ack, flags, window: 0, ipId: 0, tos });
  count(ctx, p);
  const linux = tos !== undefined && 'linux6' in p ? p.linux6 : p.linux;
  ctx.trace?.({ kind: 'tcp-rst', t: ctx.now(), path, linux, reason: p.reason, generator: 'reply', seq, ack, flags, local: seg.dport, remote: seg.sport, ...(tos === undefined ? {} : { ipv6: true as const }) });
  return true;
}

export interface ActiveResetSource {
  local: number;
  remote: number;
  localPort: number;
  remotePort: number;
  /** tcp_acceptable_seq(): SND.NXT, or the right edge of the peer's window when SND.NXT lies beyond it. */
  seq: number;
  ack: number;
  window: number;
  options: TcpOptionsToWrite | undefined;
  ipId: number;
  /** Over IPv6, the connection's flow label (tcp_v6_send_response with the socket's txhash). */
  flowLabel?: number;
}

/** Active reset: a connection aborting. */
export function activeReset(ctx: TcpContext, c: ActiveResetSource, path: ResetPathName): void {
  const p = RESET_PATHS[path];
  const flags = TCP_RST | TCP_ACK;
  transmitSegment(ctx, {
    src: c.local,
    dst: c.remote,
    sport: c.localPort,
    dport: c.remotePort,
    seq: c.seq,
    ack: c.ack,
    flags,
    window: c.window,
    options: c.options,
    ipId: c.ipId,
    flowLabel: c.flowLabel,
  });
  count(ctx, p);
  ctx.trace?.({ kind: 'tcp-rst', t: ctx.now(), path, linux: p.linux, reason: p.reason, generator: 'active', seq: c.seq, ack: c.ack, flags, local: c.localPort, remote: c.remotePort, ...(c.remote >= IPV6_HANDLE_BASE ? { ipv6: true as const } : {}) });
}

/** TcpOutRsts and the path's own counters (TcpOutSegs is counted by transmitSegment). */
function count(ctx: TcpContext, p: ResetPath): void {
  ctx.counters.TcpOutRsts++;
  for (const name of p.counters) ctx.counters[name]++;
}
