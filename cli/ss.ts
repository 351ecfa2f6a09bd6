/** `ss -ti`-style text for a connection listing (the status page has the HTML version). */
import type { ListenerInfo, TcpInfo } from '../stack/socket/types.ts';

const SS_STATE: Record<string, string> = {
  ESTABLISHED: 'ESTAB',
  SYN_SENT: 'SYN-SENT',
  SYN_RECV: 'SYN-RECV',
  FIN_WAIT1: 'FIN-WAIT-1',
  FIN_WAIT2: 'FIN-WAIT-2',
  TIME_WAIT: 'TIME-WAIT',
  CLOSE_WAIT: 'CLOSE-WAIT',
  LAST_ACK: 'LAST-ACK',
  CLOSING: 'CLOSING',
  LISTEN: 'LISTEN',
  CLOSED: 'UNCONN',
};

const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(3).replace(/\.?0+$/, ''));

export function formatSs(connections: readonly TcpInfo[], listeners: readonly ListenerInfo[] = []): string {
  const rows: string[] = [`${'State'.padEnd(11)}${'Recv-Q'.padStart(7)} ${'Send-Q'.padStart(7)}  ${'Local Address:Port'.padEnd(22)} Peer Address:Port`];
  for (const l of listeners) {
    rows.push(`${'LISTEN'.padEnd(11)}${String(l.acceptQueue).padStart(7)} ${String(l.backlog).padStart(7)}  ${`${l.localAddress}:${l.localPort}`.padEnd(22)} *:*`);
  }
  for (const c of connections) {
    rows.push(
      `${(SS_STATE[c.state] ?? c.state).padEnd(11)}${String(c.recvQ).padStart(7)} ${String(c.sendQ).padStart(7)}  ${`${c.localAddress}:${c.localPort}`.padEnd(22)} ${c.remoteAddress}:${c.remotePort}`,
    );
    if (c.state === 'TIME_WAIT' || c.mss === 0) {
      if (c.timer) rows.push(`\t timer:(${c.timer.on},${ms(c.timer.expiresIn)}ms)`);
      continue;
    }
    const parts = [
      c.timestamps ? 'ts' : '',
      c.sack ? 'sack' : '',
      `wscale:${c.sndWscale},${c.rcvWscale}`,
      `rto:${ms(c.rto)}`,
      `rtt:${ms(c.rtt)}/${ms(c.rttvar)}`,
      `mss:${c.mss}`,
      `cwnd:${c.cwnd}`,
      c.ssthresh < 0x7fffffff ? `ssthresh:${c.ssthresh}` : '',
      `bytes_sent:${c.bytesSent}`,
      c.bytesRetrans ? `bytes_retrans:${c.bytesRetrans}` : '',
      `bytes_acked:${c.bytesAcked}`,
      `bytes_received:${c.bytesReceived}`,
      c.retransmits ? `retrans:${c.backoff}/${c.retransmits}` : '',
      `snd_wnd:${c.sndWnd}`,
      `rcv_wnd:${c.rcvWnd}`,
      c.timer ? `timer:(${c.timer.on},${ms(c.timer.expiresIn)}ms)` : '',
    ].filter((p) => p !== '');
    rows.push(`\t ${parts.join(' ')}`);
  }
  return rows.join('\n');
}
