/**
 * A typed trace of what the stack did and why: the record tests assert on and
 * the CLI prints as a timeline. Emitting costs one branch when nobody listens.
 */
import type { DropReason } from './drop.ts';

export type TraceEvent =
  | { kind: 'drop'; t: number; reason: DropReason; detail?: string }
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
  | { kind: 'tcp-timer'; t: number; conn: string; timer: string; action: 'fire' }
  | { kind: 'tcp-challenge-ack'; t: number; conn: string; why: string }
  | { kind: 'tcp-error'; t: number; conn: string; errno: string }
  | ({ kind: 'host-crash'; t: number } & ForgottenCounts);

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
}
