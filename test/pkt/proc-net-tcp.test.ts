/**
 * /proc/net/tcp and tcp6 as the runner prints them for `grep` checks,
 * against the kernel's own: the lines below were read from Linux 6.18.44's
 * /proc/net/tcp and /proc/net/tcp6 in a namespace with an IPv4 listener on
 * 8080 (one connection to it from 192.168.0.1:36252, 10 bytes unread on the
 * accepted side) and an IPv6 one on 8081. The columns the stack keeps
 * (slot, addresses, ports, state, queues) must be the kernel's; the rest it
 * does not keep (timers, uid, inode...).
 */
import test from 'ava';
import { procNetTcp } from '../../cli/pkt/proc-net-tcp.ts';
import type { TcpInfo } from '../../stack/socket/types.ts';
import { stateOnlyInfo } from '../../stack/tcp/info.ts';

const KERNEL_TCP = [
  '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 299610 1 00000000e9f99d4c 100 0 0 10 0',
  '   1: 0100A8C0:1F90 0100A8C0:8D9C 01 00000000:0000000A 00:00000000 00000000     0        0 299613 1 00000000138204d3 20 4 30 10 -1',
  '   2: 0100A8C0:8D9C 0100A8C0:1F90 01 00000000:00000000 00:00000000 00000000     0        0 299612 2 0000000044032db7 20 0 0 11 -1',
];
const KERNEL_TCP6 = [
  '   0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 299611 1 00000000687f2dc3 100 0 0 10 0',
];
/** The columns up to the queues. */
const kept = (l: string): string => l.trim().split(/\s+/).slice(0, 5).join(' ');

const conn = (localPort: number, remotePort: number, recvQ: number): TcpInfo =>
  stateOnlyInfo({ state: 'ESTABLISHED', localAddress: '192.168.0.1', localPort, remoteAddress: '192.168.0.1', remotePort, recvQ });
const listeners = [
  { family: 4 as const, v6only: false, localAddress: '0.0.0.0', localPort: 8080, backlog: 5, acceptQueue: 0, synQueue: 0 },
  { family: 6 as const, v6only: false, localAddress: '::', localPort: 8081, backlog: 5, acceptQueue: 0, synQueue: 0 },
];
const connections = [conn(8080, 36252, 10), conn(36252, 8080, 0)];

test('/proc/net/tcp: the columns the stack keeps are the kernel\'s', (t) => {
  const lines = procNetTcp(listeners, connections, false);
  t.is(lines[0]!.trim(), 'sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode');
  t.is(lines[0]!.length, 149, 'padded as seq_pad pads');
  t.deepEqual(lines.slice(1).map(kept), KERNEL_TCP.map(kept));
});

test('/proc/net/tcp6: AF_INET6 sockets, each word as the kernel prints it', (t) => {
  const lines = procNetTcp(listeners, connections, true);
  t.deepEqual(lines.slice(1).map(kept), KERNEL_TCP6.map(kept));
  const mapped = procNetTcp([], [stateOnlyInfo({ state: 'SYN_RECV', localAddress: '::ffff:192.168.0.1', localPort: 8080, remoteAddress: 'fd3d:fa7b:d17d::1', remotePort: 1 })], true);
  t.is(kept(mapped[1]!), '0: 0000000000000000FFFF00000100A8C0:1F90 7BFA3DFD00007DD10000000001000000:0001 03 00000000:00000000');
});
