/**
 * The stack: sans-I/O. Packets come in through `input()`/`inputBatch()`,
 * leave through the injected `PacketSink` when `flush()` runs, and time moves
 * only when the driver calls `runTimers()`. Nothing here touches a file
 * descriptor, the wall clock or Math.random, so the same object runs over a
 * TUN device, an in-memory wire, or inside a packet-script runner.
 */
import type { Clock } from './clock.ts';
import { newCounters, type Counters } from './counters.ts';
import { newDropCounters, type DropCounters, type DropReason } from './drop.ts';
import { Icmp } from './ip/icmp.ts';
import { Ipv4Input, type ProtocolInput } from './ip/input.ts';
import { IpOutput } from './ip/output.ts';
import { Reassembler } from './ip/reassembly.ts';
import { RouteCache } from './ip/route-cache.ts';
import { Udp } from './ip/udp.ts';
import { Ipv6AddressTable } from './ip/ipv6-addresses.ts';
import { Icmpv6 } from './ipv6/icmp.ts';
import { Ipv6Input } from './ipv6/input.ts';
import { Ipv6Output } from './ipv6/output.ts';
import { Ipv6Reassembler } from './ipv6/reassembly.ts';
import { Udp6 } from './ipv6/udp.ts';
import { NEXTHDR_ICMPV6, NEXTHDR_UDP } from './wire/ipv6.ts';
import type { PacketSink } from './link.ts';
import type { Random } from './random.ts';
import { defaultSysctls, type Sysctls } from './sysctl.ts';
import { Timer, TimerQueue } from './timers.ts';
import type { ForgottenCounts, TraceSink } from './trace.ts';
import { parseIpv4, type Ipv4Address } from './wire/addr.ts';
import { ipv4FromMapped, isIpv6V4Mapped, parseIpv6 } from './wire/addr6.ts';
import { PROTO_ICMP, PROTO_TCP, PROTO_UDP } from './wire/ipv4.ts';
import type { CopiedBytes, TcpContext } from './tcp/context.ts';
import { TcpSock } from './tcp/sock.ts';
import { TcpLayer } from './tcp/tcp.ts';
import { FastOpenClientState } from './tcp/fastopen-cache.ts';
import { TcpEndpoint } from './socket/endpoint.ts';
import type { Endpoint, ListenerInfo, TcpInfo } from './socket/types.ts';

export interface TcpApi {
  /** A new, unbound TCP endpoint: AF_INET (4, the default) or AF_INET6 (6, dual-stack unless setV6Only). */
  socket(family?: 4 | 6): Endpoint;
  /** The stack has an IPv6 address (StackOptions.address6). */
  readonly ipv6: boolean;
  /** Every connection, TIME_WAIT included (the `ss -ti` listing). */
  connections(): TcpInfo[];
  listeners(): ListenerInfo[];
  /** Host crash and reboot: forget every connection and listener, silently (TcpLayer.crash); returns what was forgotten. */
  crash(): ForgottenCounts;
  /**
   * `ss -K`: aborts the matching connections (tcp_abort: an active reset
   * where the peer must hear of it, ECONNABORTED for their applications)
   * and TIME_WAIT/FIN_WAIT2 minisocks (gone without a segment). The peer's
   * address is an IPv4 number or text of either family (a v4-mapped one is
   * its IPv4 address, as on the wire); text that is no address matches
   * nothing. With `listener`, the listeners on localPort instead (of that
   * localAddress, '0.0.0.0' or '::' for the wildcard, and of its family or
   * `family` when given), closed under their owners. Returns how many went.
   */
  destroy(filter: { localPort?: number; remoteAddress?: Ipv4Address | string; remotePort?: number; listener?: boolean; localAddress?: string; family?: 4 | 6 }): number;
  /** `ip tcp_metrics flush`: the per-destination metrics (of which the stack keeps Fast Open's cookies and MSS) are forgotten. */
  flushMetrics(): void;
}

export interface StackOptions {
  /** The stack's own IPv4 address. */
  address: Ipv4Address;
  /**
   * Its IPv6 address (16 bytes); without one the stack answers no IPv6
   * (IPV6DISABLED), as a device with disable_ipv6. Like the IPv4 one, every
   * other destination is reached over the link.
   */
  address6?: Uint8Array;
  clock: Clock;
  random: Random;
  link: PacketSink;
  /** Largest packet handed to the link (default 1500). */
  mtu?: number;
  /**
   * The skbs whose receive memory the stack charges (stack/tcp/rcvbuf.ts):
   * 'tun' (default), what Linux allocates for a packet from a TUN device,
   * this stack's own link; 'veth', what a local sender's segments are when
   * they arrive over a veth (page fragments, coalesced), for comparing with
   * a kernel fed that way (the differential harness).
   */
  rxSkbs?: 'tun' | 'veth';
  /**
   * The link gives each received packet to the stack for good: nobody
   * writes to it afterwards (a TUN device's batch, a fresh buffer each
   * time). TCP then queues views of the payloads it receives instead of
   * copies (TcpContext.keepsInput); a receive queue whose views keep much
   * more alive than they hold is collapsed into one copy (receive.ts), so a
   * slow reader's segments do not pin a batch each. Default false; `up`
   * and openTunStack set it (a TUN batch is a fresh buffer every time).
   */
  keepsInput?: boolean;
  /**
   * The link has offloads (Link.offload: a TUN device opened with
   * IFF_VNET_HDR): TCP hands it super-segments of up to 64 KiB with a
   * partial checksum, which the kernel cuts, and takes the kernel's
   * super-segments and trusted checksums (rxMeta). Default false: every
   * packet wire-sized, as the in-memory link, packet scripts and the
   * impairment layer need. docs/offloads.md.
   */
  offload?: boolean;
  sysctl?: Partial<Sysctls>;
  trace?: TraceSink;
}

export class Stack {
  readonly address: Ipv4Address;
  readonly clock: Clock;
  readonly random: Random;
  readonly counters: Counters = newCounters();
  /** Payload bytes TCP copied in user space, each way (TcpContext.copied). */
  readonly copied: CopiedBytes = { rx: 0, tx: 0 };
  /** Every input that was not consumed, by reason. */
  readonly drops: DropCounters = newDropCounters();
  readonly timers = new TimerQueue();
  readonly sysctl: Sysctls;
  readonly output: IpOutput;
  readonly icmp: Icmp;
  readonly reassembler: Reassembler;
  /** The destination cache: path MTUs learnt from "fragmentation needed", per destination. */
  readonly routes: RouteCache;
  /** Set or replace at any time; undefined costs nothing. */
  trace: TraceSink | undefined;
  /** Every IPv6 address the stack holds, by handle (stack/address.ts). */
  readonly addresses: Ipv6AddressTable;
  /** The handle of our IPv6 address, or undefined without IPv6. */
  readonly address6: number | undefined;
  readonly icmp6: Icmpv6 | undefined;
  readonly reassembler6: Ipv6Reassembler | undefined;
  private readonly ip6: Ipv6Input | undefined;
  private readonly output6: Ipv6Output | undefined;
  private readonly ip: Ipv4Input;
  private readonly link: PacketSink;
  /** The TCP layer and the socket API over it. */
  readonly tcp: TcpApi;
  private readonly tcpLayer: TcpLayer;
  /** Wakes the stack at the next poll for datagrams to our own address that flush() left over; runTimers() flushes them. */
  private readonly loopbackPoll = new Timer('loopback', () => {});
  private flushing = false;
  /**
   * Set by the driver: called when an application call (outside input and
   * timers) left work for the next flush. The real-time driver schedules a
   * flush on the next microtask; virtual-time tests call flush() themselves.
   */
  onFlushNeeded: (() => void) | undefined;
  /**
   * Set by the driver: receives exceptions thrown by application callbacks
   * (onEvent), after the round that ran them has finished for every other
   * socket. The real-time driver rethrows them on a microtask, as Node reports
   * an exception from an event handler; unset, flush() rethrows the first.
   */
  set onApplicationError(handler: ((error: unknown) => void) | undefined) {
    this.tcpLayer.onApplicationError = handler;
  }

  constructor(options: StackOptions) {
    this.address = options.address >>> 0;
    this.clock = options.clock;
    this.random = options.random;
    this.link = options.link;
    this.trace = options.trace;
    this.sysctl = { ...defaultSysctls(), ...options.sysctl };
    const traceSink = (): TraceSink | undefined => this.trace;
    this.output = new IpOutput(this.counters, this.random, options.mtu ?? 1500, this.address);
    if (options.link.copiesOnSend === true) this.output.reuseTransmitMemory();
    const ipOutput = this.output;
    this.addresses = new Ipv6AddressTable(this.random);
    this.routes = new RouteCache(this.sysctl, () => ipOutput.mtu, this.addresses);
    this.icmp = new Icmp(this.address, this.clock, this.counters, this.sysctl, this.output, traceSink);
    this.reassembler = new Reassembler(
      this.clock,
      this.timers,
      this.counters,
      this.sysctl,
      (first, type, code) => this.icmp.sendError(first, type, code),
      traceSink,
    );
    this.ip = new Ipv4Input(this.address, this.counters, this.icmp, this.reassembler);
    const udp = new Udp(this.counters, this.icmp);
    this.ip.register(PROTO_ICMP, (p, hl, total) => this.icmp.input(p, hl, total));
    this.ip.register(PROTO_UDP, (p, hl, total, rxMeta) => udp.input(p, hl, total, rxMeta));
    if (options.address6 !== undefined) {
      const v6 = this.setUpIpv6(options.address6, traceSink);
      this.address6 = v6.address;
      this.icmp6 = v6.icmp;
      this.reassembler6 = v6.reassembler;
      this.ip6 = v6.input;
      this.output6 = v6.output;
    }
    const output6 = this.output6;
    const output = this.output;
    const clock = this.clock;
    const tcpContext: TcpContext = {
      clock,
      counters: this.counters,
      sysctl: this.sysctl,
      timers: this.timers,
      random: this.random,
      address: this.address,
      address6: this.address6,
      addresses: this.addresses,
      flowLabel: (source, destination, sourcePort, destinationPort) => output6?.flowLabel(source, destination, (sourcePort << 16) | destinationPort) ?? 0,
      get advMss() {
        return output.mtu - 40;
      },
      get trace() {
        return traceSink();
      },
      ip: output,
      route: this.routes,
      rxSkbs: options.rxSkbs ?? 'tun',
      copied: this.copied,
      keepsInput: options.keepsInput === true,
      gso: options.offload === true,
      checksumOffload: options.link.completesChecksums === true,
      fastOpen: new FastOpenClientState(),
      now: () => clock.now(),
    };
    const layer = new TcpLayer(tcpContext);
    this.tcpLayer = layer;
    layer.onFlushNeeded = () => this.onFlushNeeded?.();
    this.ip.register(PROTO_TCP, (p, hl, total, rxMeta) => layer.input(p, hl, total, rxMeta));
    this.icmp.errorHandlers.set(PROTO_TCP, (type, code, info, quoted) => layer.icmpError(type, code, info, quoted));
    if (this.ip6 !== undefined) {
      this.ip6.register(PROTO_TCP, (p, hl, total, rxMeta) => layer.input(p, hl, total, rxMeta));
      this.icmp6!.errorHandlers.set(PROTO_TCP, (type, code, info, quoted, inner) => layer.icmpError6(type, code, info, quoted, inner));
    }
    this.tcp = {
      flushMetrics: () => tcpContext.fastOpen.flush(),
      socket: (family = 4) => new TcpEndpoint(new TcpSock(layer, family === 6)),
      ipv6: this.address6 !== undefined,
      connections: () => layer.connectionInfos(),
      listeners: () => layer.listenerInfos(),
      crash: () => layer.crash(),
      destroy: (f) => {
        if (f.listener) {
          // The wildcard of either family is 0, as a socket bound to it holds it; the text's family is the socket's.
          const local = f.localAddress === undefined ? undefined : f.localAddress === '::' ? 0 : this.addressFromText(f.localAddress);
          if (local === null) return 0;
          const family = f.family ?? (f.localAddress === undefined ? undefined : f.localAddress.includes(':') ? 6 : 4);
          return layer.destroy({ listener: true, localPort: f.localPort, local, ...(family === undefined ? {} : { ipv6: family === 6 }) });
        }
        const remote = typeof f.remoteAddress === 'string' ? this.addressFromText(f.remoteAddress) : f.remoteAddress;
        if (remote === null) return 0;
        return layer.destroy({ localPort: f.localPort, remote, remotePort: f.remotePort });
      },
    };
  }

  /** An address in text as the stack carries it (stack/address.ts; an IPv6 one interned for this round), or null for text of neither family. */
  private addressFromText(text: string): number | null {
    const v4 = parseIpv4(text);
    if (v4 !== undefined) return v4;
    const v6 = parseIpv6(text);
    if (v6 === undefined) return null;
    return isIpv6V4Mapped(v6) ? ipv4FromMapped(v6) : this.addresses.intern(v6, 0);
  }

  /** IPv6 input and output, ICMPv6, reassembly and UDP over IPv6, around our IPv6 address (held for the stack's life). */
  private setUpIpv6(
    ours: Uint8Array,
    traceSink: () => TraceSink | undefined,
  ): { address: number; icmp: Icmpv6; reassembler: Ipv6Reassembler; input: Ipv6Input; output: Ipv6Output } {
    if (ours.length !== 16) throw new RangeError('an IPv6 address is 16 bytes');
    const address = this.addresses.intern(ours, 0);
    this.addresses.hold(address);
    const output = new Ipv6Output(this.output, this.counters, this.addresses, address, this.random);
    this.output.attachIpv6(output);
    const icmp = new Icmpv6(address, this.addresses, this.clock, this.counters, this.sysctl, output, this.icmp.limiter, traceSink);
    const reassembler = new Ipv6Reassembler(this.clock, this.timers, this.counters, this.sysctl, this.addresses, traceSink);
    reassembler.icmp = icmp;
    const input = new Ipv6Input(address, this.addresses, this.counters, this.sysctl, icmp, reassembler);
    const udp = new Udp6(this.counters, icmp);
    input.register(NEXTHDR_ICMPV6, (p, hl, total) => icmp.input(p, hl, total));
    input.register(NEXTHDR_UDP, (p, hl, total, rxMeta) => udp.input(p, hl, total, rxMeta));
    // __udp6_lib_err: no UDP socket ever takes an error here.
    icmp.errorHandlers.set(NEXTHDR_UDP, () => false);
    return { address, icmp, reassembler, input, output };
  }

  /** Installs another transport protocol's input (ICMP, UDP and TCP are installed by the constructor). */
  registerProtocol(protocol: number, handler: ProtocolInput): void {
    this.ip.register(protocol, handler);
  }

  /**
   * Processes one packet. Never throws: malformed input is counted and
   * dropped with a reason; an exception from the stack itself is a bug,
   * counted as INTERNAL_ERROR and traced rather than allowed to take the
   * process down. Replies stay queued until `flush()`. `rxMeta`: what the
   * link says of the packet (RX_GSO_SIZE_MASK, RX_CSUM_TRUSTED in link.ts);
   * 0 when it says nothing.
   */
  input(packet: Uint8Array, rxMeta = 0): DropReason | undefined {
    this.packetsFromLink++;
    return this.receive(packet, false, rxMeta);
  }

  /**
   * Packets given to input() so far: a drop event's `rx` is this count when
   * its packet came, so a capture of the link (PcapngTap) can put the
   * reason beside the packet.
   */
  packetsFromLink = 0;

  /** input() for a packet from the link, or from our own output to our own address (`looped`). */
  private receive(packet: Uint8Array, looped: boolean, rxMeta = 0): DropReason | undefined {
    let verdict: DropReason | undefined;
    try {
      verdict = packet.length > 0 && packet[0]! >> 4 === 6 ? this.ipv6Input(packet, looped, rxMeta) : this.ip.input(packet, looped, rxMeta);
    } catch (error) {
      verdict = 'INTERNAL_ERROR';
      this.trace?.({ kind: 'internal-error', t: this.clock.now(), message: String(error) });
    }
    if (verdict !== undefined) {
      this.drops[verdict]++;
      this.trace?.(looped ? { kind: 'drop', t: this.clock.now(), reason: verdict } : { kind: 'drop', t: this.clock.now(), reason: verdict, rx: this.packetsFromLink });
    }
    return verdict;
  }

  /** An IPv6 packet: to IPv6 input, or counted and dropped as a device with IPv6 disabled does (ip6_rcv_core). */
  private ipv6Input(packet: Uint8Array, looped: boolean, rxMeta: number): DropReason | undefined {
    if (this.ip6 !== undefined) return this.ip6.input(packet, looped, rxMeta);
    this.counters.Ip6InReceives++;
    this.counters.Ip6InOctets += packet.length;
    this.counters.Ip6InDiscards++;
    return 'IPV6DISABLED';
  }

  /** Processes a batch as one unit of work and writes every answer in one flush. */
  inputBatch(packets: readonly Uint8Array[], rxMeta?: Uint32Array): void {
    for (let i = 0; i < packets.length; i++) this.input(packets[i]!, rxMeta === undefined ? 0 : rxMeta[i]!);
    this.flush();
  }

  /** Fires every timer that is due and flushes what they sent. */
  runTimers(): void {
    try {
      this.timers.runDue(this.clock.now());
    } catch (error) {
      this.drops.INTERNAL_ERROR++;
      this.trace?.({ kind: 'internal-error', t: this.clock.now(), message: String(error) });
    }
    this.flush();
  }

  /**
   * A queueing discipline on the device that drops every packet the stack
   * sends (`tc qdisc add dev tun0 root pfifo limit 0`), or none (`tc qdisc
   * del`): TCP sees NET_XMIT_DROP and treats it as local congestion
   * (docs/linux-behaviour.md, "Local congestion").
   */
  setDeviceQueueDropsAll(dropsAll: boolean): void {
    this.output.deviceDropsAll = dropsAll;
  }

  /** The earliest timer deadline (clock ms), or Infinity. */
  nextDeadline(): number {
    return this.timers.nextDeadline();
  }

  /**
   * Hands everything queued to the link in one call. Datagrams to our own
   * address go to our own input first, and what they cause with them, for
   * LOOPBACK_ROUNDS rounds; past that the rest waits for the next poll (a
   * timer due now), so that traffic over our own address never starves the
   * link, the timers or the application (process_backlog's quota on `lo`).
   */
  flush(): void {
    // Called again by an application's callback during this flush: the outer
    // call finishes the work (and no looped datagram is processed under the callback).
    if (this.flushing) return;
    this.flushing = true;
    try {
      this.tcpLayer.flush();
      const output = this.output;
      for (let round = 0; round < LOOPBACK_ROUNDS && output.loopback.length > 0; round++) {
        const looped = output.takeLoopback();
        for (let i = 0; i < looped.length; i++) this.receive(looped[i]!, true);
        this.tcpLayer.flush();
      }
      if (output.loopback.length > 0 && !this.loopbackPoll.armed) this.timers.arm(this.loopbackPoll, this.clock.now());
      if (output.outbox.length > 0) {
        const txMeta = output.takeTxMeta();
        this.link.send(output.take(), txMeta);
        output.sent();
      }
      // The round is over: IPv6 addresses made for it that nobody holds go.
      this.addresses.sweep();
    } finally {
      this.flushing = false;
    }
  }

}

/** Rounds of own-address delivery per flush (each: every queued datagram, then TCP output). */
const LOOPBACK_ROUNDS = 16;
