/**
 * Daytime (RFC 867, port 13): one line with the date and time, then close.
 * The RFC leaves the format free; this is ctime(3)'s, as inetd's daytime
 * sends it: "Fri Nov 21 06:23:00 2025".
 */
import type { TcpProvider } from '../../tun/node/provider.ts';
import { listenService, type RunningService, type StackView } from './service.ts';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** ctime(3) without its newline, in local time. */
export function ctime(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${time} ${d.getFullYear()}`;
}

export interface DaytimeOptions {
  now?: () => Date;
}

export function start(provider: TcpProvider, _stack: StackView, port = 13, options: DaytimeOptions = {}): RunningService {
  const now = options.now ?? (() => new Date());
  return listenService('daytime', provider, port, {}, (socket) => {
    socket.resume(); // anything the client sends is read and ignored
    // Like inetd: write, then close (the connection finishes as an orphan).
    socket.end(`${ctime(now())}\r\n`, () => socket.destroy());
  });
}
