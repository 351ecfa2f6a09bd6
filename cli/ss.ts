/**
 * `ss -tio`-style text for a connection listing (the status page has the HTML
 * version): one line with the state, queues, addresses and the pending timer
 * (`timer:(on,204ms,0)` exactly as ss writes it), then a tab-indented line of
 * TCP internals in ss -i's order and names.
 */
import type { ListenerInfo, TcpInfo } from '../stack/socket/types.ts';
import { linuxStateName } from './state-names.ts';

/** The State column's width (the longest name, FIN-WAIT-1, and a space). */
const STATE_WIDTH = 11;

/** Linux's TCP_INFINITE_SSTHRESH: ss omits ssthresh while it has this value. */
const INFINITE_SSTHRESH = 0x7fffffff;

const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(3).replace(/\.?0+$/, ''));

/** ss's print_ms_timer: 204ms, 1.200ms (1.2 s), 59sec, 1min52sec, 119min. */
export function ssTime(timeout: number): string {
  const t = Math.max(0, Math.round(timeout));
  let secs = Math.floor(t / 1000);
  const minutes = Math.floor(secs / 60);
  secs %= 60;
  let msecs = t % 1000;
  let out = '';
  if (minutes) {
    msecs = 0;
    out = `${minutes}min`;
    if (minutes > 9) secs = 0;
  }
  if (secs) {
    if (secs > 9) msecs = 0;
    out += `${secs}${msecs ? '.' : 'sec'}`;
  }
  if (msecs) out += `${String(msecs).padStart(3, '0')}ms`;
  return out === '' ? '0ms' : out;
}

/**
 * The timer ss shows (inet_diag): the retransmission timer ('on') or the
 * zero-window probe ('persist') first, then keepalive (which also runs an
 * orphan's FIN_WAIT2), TIME_WAIT and FIN_WAIT2 minisocks as 'timewait'; the
 * delayed-ACK timer is never shown. The count is icsk_retransmits for 'on',
 * the probes sent for persist/keepalive, 0 for timewait.
 */
export function ssTimer(c: TcpInfo): string {
  const armed = c.timers ?? (c.timer ? [c.timer] : []);
  const pick = armed.find((t) => t.on === 'on' || t.on === 'rto' || t.on === 'persist') ?? armed.find((t) => t.on !== 'delack');
  if (pick === undefined) return '';
  let name = pick.on;
  let count = 0;
  if (name === 'rto' || name === 'on') {
    name = 'on';
    count = c.curRetrans ?? c.backoff;
  } else if (name === 'persist' || name === 'keepalive') {
    count = c.probes ?? 0;
  } else if (name === 'fin_wait2' || name === 'timewait') {
    name = 'timewait';
  }
  return `timer:(${name},${ssTime(pick.expiresIn)},${count})`;
}

/** An address and port as ss prints them: an IPv6 address (v4-mapped too) in brackets. */
export function ssEndpoint(address: string, port: number | '*'): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * A listener's two columns as ss (iproute2 6.x) prints them: an IPv4 one
 * `0.0.0.0:7  0.0.0.0:*`, a v6-only one `[::]:7  [::]:*`, and an IPv6
 * wildcard that also takes IPv4 (IPV6_V6ONLY off) `*:7  *:*`.
 */
function listenerColumns(l: ListenerInfo): [string, string] {
  if (l.family === 6 && !l.v6only && l.localAddress === '::') return [`*:${l.localPort}`, '*:*'];
  return [ssEndpoint(l.localAddress, l.localPort), ssEndpoint(l.family === 6 ? '::' : '0.0.0.0', '*')];
}

/**
 * The listing. `stateColumn` false leaves the State column out, as ss does
 * when its state filter names one state (`ss state established`).
 */
export function formatSs(connections: readonly TcpInfo[], listeners: readonly ListenerInfo[] = [], options: { stateColumn?: boolean } = {}): string {
  const rows = formatRows(connections, listeners);
  if (options.stateColumn !== false) return rows.join('\n');
  // Every row but the tab-indented details starts with the 11 columns of the state.
  return rows.map((r) => (r.startsWith('\t') ? r : r.slice(STATE_WIDTH))).join('\n');
}


function formatRows(connections: readonly TcpInfo[], listeners: readonly ListenerInfo[]): string[] {
  const rows: string[] = [`${'State'.padEnd(STATE_WIDTH)}${'Recv-Q'.padStart(7)} ${'Send-Q'.padStart(7)}  ${'Local Address:Port'.padEnd(22)} Peer Address:Port`];
  for (const l of listeners) {
    const [local, peer] = listenerColumns(l);
    rows.push(`${'LISTEN'.padEnd(STATE_WIDTH)}${String(l.acceptQueue).padStart(7)} ${String(l.backlog).padStart(7)}  ${local.padEnd(22)} ${peer}`);
  }
  for (const c of connections) {
    const timer = ssTimer(c);
    const peer = ssEndpoint(c.remoteAddress, c.remotePort);
    const head = `${linuxStateName(c.state).padEnd(STATE_WIDTH)}${String(c.recvQ).padStart(7)} ${String(c.sendQ).padStart(7)}  ${ssEndpoint(c.localAddress, c.localPort).padEnd(22)} `;
    rows.push(timer ? `${head}${peer.padEnd(22)} ${timer}` : `${head}${peer}`);
    if (c.state === 'TIME_WAIT' || c.mss === 0) continue;
    const parts = [
      c.timestamps ? 'ts' : '',
      c.sack ? 'sack' : '',
      c.ecn ? 'ecn' : '',
      c.ecnSeen ? 'ecnseen' : '',
      c.congestion ?? '',
      `wscale:${c.sndWscale},${c.rcvWscale}`,
      `rto:${ms(c.rto)}`,
      c.backoff ? `backoff:${c.backoff}` : '',
      `rtt:${ms(c.rtt)}/${ms(c.rttvar)}`,
      `mss:${c.mss}`,
      c.pmtu !== undefined ? `pmtu:${c.pmtu}` : '',
      `cwnd:${c.cwnd}`,
      c.ssthresh < INFINITE_SSTHRESH ? `ssthresh:${c.ssthresh}` : '',
      `bytes_sent:${c.bytesSent}`,
      c.bytesRetrans ? `bytes_retrans:${c.bytesRetrans}` : '',
      `bytes_acked:${c.bytesAcked}`,
      `bytes_received:${c.bytesReceived}`,
      c.lastSend ? `lastsnd:${Math.round(c.lastSend)}` : '',
      c.lastRecv ? `lastrcv:${Math.round(c.lastRecv)}` : '',
      c.unacked ? `unacked:${c.unacked}` : '',
      // ss's retrans:%u/%u is tcpi_retrans (retransmitted segments in flight) over the total.
      (c.retransOut ?? c.curRetrans ?? c.backoff) || c.retransmits ? `retrans:${c.retransOut ?? c.curRetrans ?? c.backoff}/${c.retransmits}` : '',
      c.lost ? `lost:${c.lost}` : '',
      c.sacked ? `sacked:${c.sacked}` : '',
      c.reordering !== undefined && c.reordering !== 3 ? `reordering:${c.reordering}` : '',
      c.reordSeen ? `reord_seen:${c.reordSeen}` : '',
      // tcp_show_info prints these after retrans (and reordering), each only when non-zero.
      c.rcvRtt ? `rcv_rtt:${ms(c.rcvRtt)}` : '',
      c.rcvSpace ? `rcv_space:${c.rcvSpace}` : '',
      c.rcvSsthresh ? `rcv_ssthresh:${c.rcvSsthresh}` : '',
      c.minRtt !== undefined ? `minrtt:${ms(c.minRtt)}` : '',
      `snd_wnd:${c.sndWnd}`,
      `rcv_wnd:${c.rcvWnd}`,
    ].filter((p) => p !== '');
    rows.push(`\t ${parts.join(' ')}`);
  }
  return rows;
}
