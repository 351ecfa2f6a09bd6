/**
 * /proc/net/tcp and /proc/net/tcp6 as Linux prints them (tcp4_seq_show,
 * get_tcp4_sock; tcp6_seq_show, get_tcp6_sock), built from the stack's
 * listeners and connections, for the `grep ... /proc/net/tcp` checks some
 * packet scripts make of the kernel's state (packetdrill runs them with
 * system(); its exit status decides).
 *
 * The columns a script can check are the kernel's: the slot, the local and
 * remote address and port (each 32-bit word printed as %08X of the
 * network-order word read on a little-endian machine, so 192.168.0.1 is
 * 0100A8C0, and the port in hex), the state number, the queues (transmit:
 * bytes not yet acknowledged; receive: bytes not yet read, or a
 * listener's accept queue). The columns after them (timers, uid, inode,
 * refcount, pointer, rto, ato, ...) are not kept by the stack and are
 * printed as zeros of their width.
 */
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';
import type { ListenerInfo, TcpInfo, TcpStateName } from '../../stack/socket/types.ts';
import { TCP_STATE_NUMBERS } from '../../stack/tcp/tcp-info-struct.ts';

const HEADER4 = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const HEADER6 =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
/** TMPSZ - 1: IPv4 lines are padded to 149 columns (seq_setwidth, seq_pad). */
const WIDTH4 = 149;

const hex = (n: number, width: number): string => (n >>> 0).toString(16).toUpperCase().padStart(width, '0');

/** A 4-byte group as %08X of the word read little-endian. */
function word(b: Uint8Array, at: number): string {
  return hex(b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24), 8);
}

function address4(text: string): string {
  const a = parseIpv4(text) ?? 0;
  return word(Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255), 0);
}

function address6(text: string): string {
  const b = parseIpv6(text) ?? new Uint8Array(16);
  return word(b, 0) + word(b, 4) + word(b, 8) + word(b, 12);
}

interface Row {
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  state: TcpStateName;
  txQueue: number;
  rxQueue: number;
}

function line(slot: number, r: Row, v6: boolean): string {
  const address = v6 ? address6 : address4;
  const s =
    `${String(slot).padStart(4)}: ${address(r.local)}:${hex(r.localPort, 4)} ${address(r.remote)}:${hex(r.remotePort, 4)} ` +
    `${hex(TCP_STATE_NUMBERS[r.state], 2)} ${hex(r.txQueue, 8)}:${hex(r.rxQueue, 8)} 00:00000000 00000000     0        0 0 1 0000000000000000 0 0 0 0 0`;
  return v6 ? s : s.padEnd(WIDTH4);
}

/**
 * The file's lines: the header, then listeners, then connections (the
 * kernel walks the listening hash before the established one). An AF_INET6
 * socket is in tcp6 whatever its peer (a v4-mapped one shows as
 * ::ffff:a.b.c.d); a connection's family is read from its address text.
 */
export function procNetTcp(listeners: readonly ListenerInfo[], connections: readonly TcpInfo[], v6: boolean): string[] {
  const rows: Row[] = [];
  for (const l of listeners) {
    if ((l.family === 6) !== v6) continue;
    rows.push({ local: l.localAddress, localPort: l.localPort, remote: v6 ? '::' : '0.0.0.0', remotePort: 0, state: 'LISTEN', txQueue: 0, rxQueue: l.acceptQueue });
  }
  for (const c of connections) {
    if (c.localAddress.includes(':') !== v6) continue;
    rows.push({ local: c.localAddress, localPort: c.localPort, remote: c.remoteAddress, remotePort: c.remotePort, state: c.state, txQueue: c.sendQ, rxQueue: c.recvQ });
  }
  return [v6 ? HEADER6 : HEADER4.padEnd(WIDTH4), ...rows.map((r, i) => line(i, r, v6))];
}
