/**
 * connect() with AF_UNSPEC: tcp_disconnect (net/ipv4/tcp.c), RFC 9293's
 * ABORT on a socket the application keeps. The connection ends (a RST
 * where tcp_need_reset() says the peer must hear of it, or in CLOSING and
 * LAST_ACK while something is still unsent, as close() with SO_LINGER 0
 * does) and its queues are purged; the socket goes back to CLOSE, ready for
 * another connect() or listen().
 */
import type { Connection } from './connection.ts';
import { abortWithReset, tcpDone } from './endings.ts';
import { releaseAll } from './rcvbuf.ts';
import type { TcpErrno } from './types.ts';

/**
 * Ends `c` as tcp_disconnect does; returns the error it leaves on the
 * socket (sk_err): ECONNRESET when a RST was sent or a connect() was under
 * way, else whatever error the connection already held.
 */
export function disconnect(c: Connection): TcpErrno | undefined {
  const old = c.state;
  const needReset =
    old === 'ESTABLISHED' || old === 'CLOSE_WAIT' || old === 'FIN_WAIT1' || old === 'FIN_WAIT2' || old === 'SYN_RECV' ||
    ((old === 'CLOSING' || old === 'LAST_ACK') && (c.unsentBytes() > 0 || (c.finQueued && !c.finSent)));
  const held = c.pendingError;
  c.recvQueue.clear();
  c.ooo.clear();
  releaseAll(c);
  if (old === 'CLOSED') return held;
  c.setState('CLOSED');
  if (needReset) {
    abortWithReset(c, 'disconnect');
    return 'ECONNRESET';
  }
  tcpDone(c);
  return old === 'SYN_SENT' ? 'ECONNRESET' : held;
}
