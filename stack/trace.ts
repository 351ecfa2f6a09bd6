/**
 * A typed trace of what the stack did and why: the record tests assert on and
 * the CLI prints as a timeline. Emitting costs one branch when nobody listens.
 */
import type { DropReason } from './drop.ts';

export type TraceEvent =
  | {
      kind: 'drop';
      t: number;
      reason: DropReason;
      detail?: string;
      /** Which packet from the link it was: Stack.packetsFromLink when it came (1 for the first); absent for one we sent ourselves. */
      rx?: number;
    }
  | { kind: 'icmp-out'; t: number; type: number; code: number; to: number; to6?: string }
  | { kind: 'icmp-ratelimit'; t: number; type: number; code: number; to: number; scope: 'host' | 'global'; to6?: string }
  | { kind: 'reasm-timeout'; t: number; source: number; id: number; source6?: string }
  | { kind: 'internal-error'; t: number; message: string }
  | {
      kind: 'tcp-rst';
      t: number;
      /** The reset path (stack/tcp/reset.ts RESET_PATHS) and the kernel function it mirrors. */
      path: string;
      linux: string;
      reason: string;
      generator: 'reply' | 'active';
      seq: number;
      ack: number;
      flags: number;
      /** The ports of our end and the peer's. */
      local: number;
      remote: number;
      /** Sent over IPv6 (the reply generator is then tcp_v6_send_reset). */
      ipv6?: true;
    }
  | TcpSegmentEvent
  | { kind: 'tcp-state'; t: number; conn: string; from: string; to: string }
  | TcpStateSample
  | { kind: 'tcp-ca'; t: number; conn: string; from: CaStateName; to: CaStateName }
  | { kind: 'tcp-undo'; t: number; conn: string; how: UndoKind }
  | TcpTimerEvent
  | { kind: 'tcp-challenge-ack'; t: number; conn: string; why: string }
  | { kind: 'tcp-error'; t: number; conn: string; errno: string }
  | ({ kind: 'host-crash'; t: number } & ForgottenCounts);

/**
 * A timer of one connection armed (with the delay it was armed for) or
 * fired. `timer` is the slot's use, as `ss -o` names it where it can: the
 * xmit slot's `rto`, `probe` (zero window), `tlp`, `reo` (RACK's reordering
 * timer); `delack`; `keepalive` (also FIN_WAIT2's and an orphan's); a
 * request sock's `synack`; `xmit` for the xmit slot fired while idle.
 */
export interface TcpTimerEvent {
  kind: 'tcp-timer';
  t: number;
  conn: string;
  timer: string;
  action: 'arm' | 'fire';
  /** For 'arm': how far ahead it was armed, ms. */
  ms?: number;
}

/** Linux's congestion-avoidance states (enum tcp_ca_state), lower case as ss -i has no name for them. */
export type CaStateName = 'open' | 'disorder' | 'cwr' | 'recovery' | 'loss';

/**
 * Which undo of a cwnd reduction ran (net/ipv4/tcp_input.c): tcp_try_undo_recovery,
 * tcp_try_undo_dsack, tcp_try_undo_partial, tcp_try_undo_loss, F-RTO's
 * (tcp_process_loss), each counted by its TcpExtTCP*Undo counter.
 */
export type UndoKind = 'recovery' | 'dsack' | 'partial' | 'loss' | 'frto';

/**
 * How a retransmission came about, named after the Linux counter that counts it:
 * `rto` the head sent again when the retransmission timer fired (TCPTimeouts),
 * `slow-start` the rest of what was lost after it, in the Loss state
 * (TCPSlowStartRetrans), `fast` what Recovery sends again, marked lost by
 * RACK or by duplicate ACKs (TCPFastRetrans), `tlp` a tail loss probe that
 * resends the last segment (TCPLossProbes), `syn` and `synack` the handshake's
 * (TCPSynRetrans).
 */
export type RetransMechanism = 'rto' | 'slow-start' | 'fast' | 'tlp' | 'syn' | 'synack';

/**
 * The sender's and the receiver's state of one connection right after an
 * ACK was processed (`why: 'ack'`) or one of its timers ran (`'timer'`):
 * what tcp_info would report at that instant, as numbers. Emitted only
 * while a sink is installed; what `tcpstack plot` draws the cwnd, RTT and
 * in-flight panes from.
 */
export interface TcpStateSample {
  kind: 'tcp-cc';
  t: number;
  conn: string;
  why: 'ack' | 'timer';
  ca: CaStateName;
  /** Congestion window and slow-start threshold, in segments (ssthresh 0x7fffffff: not set yet). */
  cwnd: number;
  ssthresh: number;
  /** tcp_packets_in_flight: segments sent and not known to have left the network. */
  inflight: number;
  mss: number;
  /** SND.UNA, SND.NXT and RCV.NXT: absolute sequence numbers. */
  una: number;
  nxt: number;
  rcvNxt: number;
  /** The peer's window (scaled, bytes) and the one we last advertised (bytes). */
  sndWnd: number;
  rcvWnd: number;
  /** Smoothed RTT, its variation and the retransmission timeout, ms. */
  srtt: number;
  rttvar: number;
  rto: number;
  /** The RTT sample this ACK gave, ms (absent when it gave none). */
  rtt?: number;
  /** Bytes in the send queue (sent and unacknowledged, and unsent) and unread in the receive queue. */
  sndQ: number;
  rcvQ: number;
}

/**
 * What a host crash forgot (TcpLayer.crash), counted the way `ss` lists it:
 * the TcpApi.crash() report and the host-crash trace event carry the same.
 */
export interface ForgottenCounts {
  /** Connections from SYN_SENT to LAST_ACK, accept-queue children and FIN_WAIT2 minisocks included: the rows `ss` shows but TIME-WAIT. */
  connections: number;
  /** TIME_WAIT minisocks. */
  timeWait: number;
  /** Request socks (SYN_RECV) waiting in the listeners' SYN queues. */
  requests: number;
}

export type TraceSink = (event: TraceEvent) => void;

/**
 * One TCP segment the stack received (after the checksum and option checks,
 * before demux) or sent (SYNs, data, ACKs, probes and RSTs alike), emitted
 * only while a sink is installed (stack/tcp/trace-seg.ts builds it).
 */
export interface TcpSegmentEvent {
  kind: 'tcp-seg';
  t: number;
  dir: 'in' | 'out';
  /** The connection id, `localPort-remotePort` as Connection.id (the stack has one address). */
  conn: string;
  /** Our end and the peer's: IPv4 addresses as numbers; 0 over IPv6, whose text is in local6 and remote6. */
  local: number;
  localPort: number;
  remote: number;
  remotePort: number;
  /** Over IPv6, the two addresses as inet_ntop prints them. */
  local6?: string;
  remote6?: string;
  /** The eight control bits CWR..FIN (stack/wire/tcp.ts TCP_*). */
  flags: number;
  seq: number;
  ack: number;
  /** Payload bytes. */
  len: number;
  /** The raw 16-bit window field (unscaled). */
  win: number;
  /** The options in wire order, tcpdump's names: "mss 1460,sackOK,TS,nop,wscale 10"; '' when none. */
  options: string;
  /** Timestamp option values, when present. */
  tsVal?: number;
  tsEcr?: number;
  /** SACK blocks [left0, right0, left1, ...], when present. */
  sack?: number[];
  /** An outgoing retransmission: what made it (absent for new data and everything else). */
  rtx?: RetransMechanism;
}
