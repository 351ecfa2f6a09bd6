/**
 * TCP states as tcpstack shows them to a reader: Linux's names, spelled as
 * iproute2's ss prints them (sstate_name in ss.c's sock_state_print). `ss`,
 * the status page and the timeline's state changes all go through here, so
 * a state reads the same wherever it appears. The stack's API keeps RFC
 * 9293's names (Endpoint.state 'ESTABLISHED', TcpInfo.state, the trace's
 * tcp-state records); this is display only.
 */
import type { TcpStateName } from '../stack/socket/types.ts';

const LINUX_NAMES: Record<TcpStateName, string> = {
  ESTABLISHED: 'ESTAB',
  SYN_SENT: 'SYN-SENT',
  SYN_RECV: 'SYN-RECV',
  FIN_WAIT1: 'FIN-WAIT-1',
  FIN_WAIT2: 'FIN-WAIT-2',
  TIME_WAIT: 'TIME-WAIT',
  // TCP_CLOSE: a socket never connected or done with; ss calls it unconnected.
  CLOSED: 'UNCONN',
  CLOSE_WAIT: 'CLOSE-WAIT',
  LAST_ACK: 'LAST-ACK',
  LISTEN: 'LISTEN',
  CLOSING: 'CLOSING',
};

/** ss's name for a state ('ESTABLISHED' → 'ESTAB'); a name it does not know (a newer trace file's) as it is. */
export function linuxStateName(state: string): string {
  return Object.hasOwn(LINUX_NAMES, state) ? LINUX_NAMES[state as TcpStateName] : state;
}
