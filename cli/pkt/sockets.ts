/**
 * The runner's picture of a script socket, modelled on packetdrill's
 * struct socket (socket.h): its state in the script's story (listening,
 * SYN-ACK sent, ...), the addresses and initial sequence numbers on the
 * script's side and on the live side, and the timestamp mapping. Unlike
 * packetdrill, which drives a kernel socket through a file descriptor, the
 * live side here is an Endpoint of our stack.
 */
import type { Endpoint } from '../../stack/socket/types.ts';
import type { Stack } from '../../stack/stack.ts';
import type { IpVersion } from './ip-version.ts';

/** packetdrill's enum socket_state_t. */
export type SocketState =
  | 'INIT'
  | 'NEW'
  | 'PASSIVE_LISTENING'
  | 'PASSIVE_PACKET_RECEIVED'
  | 'PASSIVE_SYNACK_SENT'
  | 'PASSIVE_SYNACK_ACKED'
  | 'ACTIVE_CONNECTING'
  | 'ACTIVE_SYN_SENT'
  | 'ACTIVE_SYN_ACKED';

/** One side's view of a connection (struct socket_state): addresses, ports, ISNs. */
export interface Ends {
  localIp: number;
  localPort: number;
  localIsn: number;
  remoteIp: number;
  remotePort: number;
  remoteIsn: number;
}

export const noEnds = (): Ends => ({ localIp: 0, localPort: 0, localIsn: 0, remoteIp: 0, remotePort: 0, remoteIsn: 0 });

/** Socket options as the application set them (what getsockopt reports, and what accept() passes on). */
export interface AppOptions {
  reuseaddr: boolean;
  keepalive: boolean;
  keepIdle: number | undefined;
  keepIntvl: number | undefined;
  keepCnt: number | undefined;
  nodelay: boolean;
  userTimeout: number;
  synCnt: number | undefined;
  linger2: number | undefined;
  lingerOn: boolean;
  lingerSecs: number;
  /** SO_MARK (sk_mark, which accepted sockets inherit): kept and read back; no routing here looks at it. */
  mark: number;
}

export const defaultAppOptions = (): AppOptions => ({
  reuseaddr: false,
  keepalive: false,
  keepIdle: undefined,
  keepIntvl: undefined,
  keepCnt: undefined,
  nodelay: false,
  userTimeout: 0,
  synCnt: undefined,
  linger2: undefined,
  lingerOn: false,
  lingerSecs: 0,
  mark: 0,
});

export class ScriptSocket {
  state: SocketState = 'INIT';
  /** The values the script uses. */
  script: Ends = noEnds();
  /** The values on the wire. */
  live: Ends = noEnds();
  /** Script TS val → live TS val, learnt from outbound packets (for inbound TS ecr). */
  readonly tsValMap = new Map<number, number>();
  foundFirstTs = false;
  firstScriptTsVal = 0;
  firstActualTsVal = 0;
  /** The script's flow label and the live one it stands for (socket->flowlabel_map; 0: none yet). */
  readonly flowLabels = { script: 0, live: 0 };
  /** The socket's address family (socket->address_family): 4 for AF_INET, 6 for AF_INET6. */
  family: 4 | 6 = 4;
  /** The fd the script uses (-1 until socket() or accept() names it) and the one the runner handed out. */
  scriptFd = -1;
  liveFd = -1;
  closed = false;
  /** The stack's socket behind the fd (undefined for a passive connection not accepted yet). */
  endpoint: Endpoint | undefined;
  /** O_NONBLOCK. */
  nonblock = false;
  /** The BSD socket layer's sock->state (SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED). */
  sockState: 'unconnected' | 'connecting' | 'connected' = 'unconnected';
  opts: AppOptions = defaultAppOptions();
}

/** What the system-call layer needs from the runner. */
export interface SyscallHost {
  readonly stack: Stack;
  readonly localIp: number;
  readonly remoteIp: number;
  /** --ip_version: what socket(..., ...)'s domain and bind()'s and connect()'s `...` address are. */
  readonly ipVersion: IpVersion;
  /** config->live_bind_ip and live_connect_ip in the socket layer's terms: IPv4's number, or IPv6 text (v4-mapped in ipv4-mapped-ipv6). */
  readonly bindAddress: string | number;
  readonly connectAddress: string | number;
  readonly bindPort: number;
  readonly connectPort: number;
  /** Virtual time, µs. */
  now(): number;
  /** --tolerance_usecs: how far a timestamp a call returns may be from the script's (scm_timestamping_expect_eq). */
  readonly toleranceUsecs: number;
  /** The socket packets are matched against (packetdrill's socket_under_test). */
  socketUnderTest: ScriptSocket | undefined;
  /** Every socket, newest first (packetdrill's state->fds list). */
  readonly sockets: ScriptSocket[];
  newSocket(): ScriptSocket;
  /** The open socket with that script fd. */
  findByScriptFd(fd: number): ScriptSocket | undefined;
  /** The lowest free fd number from 3 up. */
  allocLiveFd(): number;
}
