/**
 * The Io* rows of `up`'s counters (nstat, /counters, the exit report): what
 * the I/O costs in system calls and user-space copies, for make bench's
 * "per MiB" rows. Not Linux counters, so they carry a prefix of their own.
 * The addon copies nothing: it reads into buffers JavaScript owns.
 *
 * - IoTunReadCalls, IoTunWriteCalls: read() and write() calls on the TUN
 *   device (every attempt, the read that finds the queue empty included;
 *   libuv's epoll_wait is not counted);
 * - IoTcpCopiedRxBytes, IoTcpCopiedTxBytes: payload bytes TCP copied
 *   (stack/tcp/context.ts, CopiedBytes).
 */
import type { Stack } from '../stack/stack.ts';
import { loadTunAddon } from '../tun/native.ts';

export function ioRows(stack: Stack): Array<[string, number]> {
  const io = loadTunAddon().ioCounts();
  const rows: Array<[string, number]> = [
    ['IoTunReadCalls', io.readCalls],
    ['IoTunWriteCalls', io.writeCalls],
    ['IoTcpCopiedRxBytes', stack.copied.rx],
    ['IoTcpCopiedTxBytes', stack.copied.tx],
  ];
  return rows.filter(([, v]) => v !== 0);
}
