/**
 * When a blocked call of a packet script is woken, as the kernel wakes it.
 * The runner attempts a blocked call again whenever the stack changed
 * (syscalls.ts); a sleeping writer in Linux (sk_stream_wait_memory) only
 * looks again when its socket's wait queue is woken: by
 * sk_stream_write_space, which wakes only once the socket is writable
 * (__sk_stream_is_writeable: free room at least half of what is queued, so
 * an ACK that frees a little does not do it), by arriving data
 * (sk_data_ready wakes the same queue), or by an error or the end of the
 * connection. The receive side's equivalent is in recv-calls.ts.
 */
import { POLLERR, POLLHUP, POLLOUT, type Endpoint } from '../../stack/socket/types.ts';

/**
 * For one write call: true on the first attempt, then only when a wakeup
 * would have come since the last attempt (the socket writable per tcp_poll,
 * an error or hang-up, or new bytes received).
 */
export function writerWakeups(ep: Endpoint): () => boolean {
  let attempted = false;
  let received = 0;
  return () => {
    const bytes = ep.info().bytesReceived;
    const wake = !attempted || (ep.poll() & (POLLOUT | POLLERR | POLLHUP)) !== 0 || bytes !== received;
    attempted = true;
    received = bytes;
    return wake;
  };
}
