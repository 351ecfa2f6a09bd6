/** The congestion control a name selects (tcp_ca_find): the sysctl's default or a socket's TCP_CONGESTION. */
import { Cubic } from './cubic.ts';
import { NewReno } from './newreno.ts';
import type { CongestionControl, CongestionControlName, CongestionHost } from './types.ts';

export function createCongestionControl(name: CongestionControlName, host: CongestionHost): CongestionControl {
  return name === 'reno' ? new NewReno() : new Cubic(host);
}

/**
 * tcp_reinit_congestion_control (TCP_CONGESTION on a connection): the new
 * algorithm starts from its initial state, but cwnd and ssthresh, which
 * Linux keeps in tcp_sock, carry over.
 */
export function switchCongestionControl(c: CongestionHost & { cc: CongestionControl }, name: CongestionControlName): void {
  const next = createCongestionControl(name, c);
  next.cwnd = c.cc.cwnd;
  next.ssthresh = c.cc.ssthresh;
  c.cc = next;
}
