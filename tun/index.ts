/**
 * The package entry (`import { ... } from 'tcpstack'`): the sans-I/O stack
 * and its BSD-shaped Endpoint, the pieces to run it in virtual time (clock,
 * seeded randomness, in-memory link), the pieces to run it in real time (TUN
 * device, real-time driver, monotonic clock, crypto randomness, and
 * openTunStack() putting them together), and the Node-shaped sockets on which
 * Node's own `http` runs. Nothing here but re-exports.
 */

// The stack (sans-I/O) and its socket API.
export { Stack, type StackOptions, type TcpApi } from '../stack/stack.ts';
export {
  SocketError,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLOUT,
  POLLRDHUP,
  type Endpoint,
  type ListenerInfo,
  type ShutdownHow,
  type SocketErrno,
  type TcpInfo,
  type TcpStateName,
} from '../stack/socket/types.ts';
export type { Link, PacketSink, BatchHandler } from '../stack/link.ts';
export { SYSCTL_DEFAULTS, setSysctl, sysctlNames, type Sysctls } from '../stack/sysctl.ts';
export type { CounterName, Counters } from '../stack/counters.ts';
export type { DropCounters, DropReason } from '../stack/drop.ts';
export type { TraceEvent, TraceSink } from '../stack/trace.ts';
export { formatIpv4, parseIpv4, type Ipv4Address } from '../stack/wire/addr.ts';

// Virtual time: a clock that moves when told, repeatable randomness, an in-memory wire.
export { VirtualClock, type Clock } from '../stack/clock.ts';
export { SeededRandom, type Random } from '../stack/random.ts';
export { MemoryLink, deliverUntilQuiet, memoryLinkPair } from './memory-link.ts';

// Real time over a TUN device.
export { CryptoRandom, MonotonicClock, RealtimeDriver, type DeadlineSource } from './driver.ts';
export { TunDevice, type TunOpenOptions, type TunStats } from './tun-device.ts';
export { openTunStack, type TunStack, type TunStackOptions } from './tun-stack.ts';

// Node-shaped sockets (net.Socket, net.Server, http.Agent) over the Endpoint.
export type { TcpProvider } from './node/provider.ts';
export type { SystemError } from './node/errors.ts';
export { TcpSocket, type TcpConnectOptions, type TcpSocketOptions } from './node/socket.ts';
export { TcpServer, type TcpListenOptions, type TcpServerOptions } from './node/server.ts';
export { TcpAgent } from './node/agent.ts';
