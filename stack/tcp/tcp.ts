/**
 * The TCP layer: checks and parses each segment once, demultiplexes it in
 * Linux's order (established 4-tuple → TIME_WAIT → listener → no socket,
 * __inet_lookup), owns the tables, ISNs and ephemeral ports, and runs the
 * per-batch work: readiness events to applications, then output of every
 * connection that has something to send, so ACKs coalesce across a batch.
 */
import { IPV6_HANDLE_BASE, socketAddressText } from '../address.ts';
import { RX_CSUM_TRUSTED, RX_GSO_SIZE_MASK } from '../link.ts';
import type { DropReason } from '../drop.ts';
import { ipDestination, ipHeaderLength, ipSource } from '../wire/ipv4.ts';
import { IPV6_DST_OFFSET, IPV6_SRC_OFFSET } from '../wire/ipv6.ts';
import { ipv6Equal, isIpv6Multicast } from '../wire/addr6.ts';
import {
  TCP_MIN_HEADER,
  newTcpOptions,
  AUTH_INVALID,
  AUTH_NONE,
  TCPOLEN_MD5SIG,
  parseTcpOptions,
  tcpAuthOptions,
  tcpAck,
  tcpChecksumOkSum,
  tcpDestinationPort,
  tcpFlags,
  tcpHeaderLength,
  tcpSeq,
  tcpSourcePort,
  tcpWindow,
} from '../wire/tcp.ts';
import { Connection, type ConnectionHooks, type ConnectionTimer } from './connection.ts';
import type { TcpContext } from './context.ts';
import { forget, tcpAbort } from './endings.ts';
import { connectionIcmpError, connectionIcmpv6Error, icmpv6Errno, isRequestFatal } from './icmp-error.ts';
import { connectionInfo, stateOnlyInfo } from './info.ts';
import { connectionInput } from './input.ts';
import { compactReceiveQueue } from './views.ts';
import { Listener, type ListenerHost } from './listener.ts';
import * as out from './output.ts';
import { initChild, initFastOpenChild } from './openreq-child.ts';
import type { RequestSock } from './request-sock.ts';
import { replyReset } from './reset.ts';
import { countSegmentIn, type Segment } from './segment.ts';
import { BindTable, FourTupleMap, ListenerTable, type PortOwner } from './tables.ts';
import { cancelAll } from './timer-arming.ts';
import { onTimerExpired } from './timer-expiry.ts';
import { TimeWaitSock } from './timewait.ts';
import { checkSpace } from './sndbuf.ts';
import { segmentEvent } from './trace-seg.ts';
import type { ForgottenCounts } from '../trace.ts';
import type { ListenerInfo, SocketOwner, TcpInfo, TcpStateName } from './types.ts';

export class TcpLayer implements ListenerHost, ConnectionHooks {
  readonly connections = new FourTupleMap<Connection>();
  readonly timewaits = new FourTupleMap<TimeWaitSock>();
  readonly listenerTable = new ListenerTable<Listener>();
  readonly binds = new BindTable();
  /** The connection behind a minisock, kept only while an application still holds its socket. */
  private readonly twViews = new Map<TimeWaitSock, Connection>();
  private readonly options = newTcpOptions();
  /**
   * Connections whose output flush() tries, and sockets it wakes, in the
   * order they were queued: lists with a mark on each member (not Sets,
   * whose clear() and iterators allocate at every flush). A connection taken
   * out before the flush leaves a hole. flush() swaps each list with its
   * spare, so what its work queues goes to the next round.
   */
  private dirtyList: Array<Connection | undefined> = [];
  private dirtySpare: Array<Connection | undefined> = [];
  private dirtyCount = 0;
  private wakeList: SocketOwner[] = [];
  private wakeSpare: SocketOwner[] = [];
  /** Connections that queued views of received packets since the last flush (compactReceiveQueue, views.ts). */
  private readonly viewsList: Connection[] = [];
  private secret: number[];
  private portPerturb = 0;
  private flushing = false;
  /** Called when application activity needs a flush the driver did not schedule. */
  onFlushNeeded: (() => void) | undefined;
  /** Receives exceptions thrown by applications' onEvent callbacks (unset: flush() rethrows the first). */
  onApplicationError: ((error: unknown) => void) | undefined;

  constructor(readonly ctx: TcpContext) {
    const r = ctx.random;
    this.secret = [r.u32(), r.u32(), r.u32(), r.u32()];
  }

  // ---------------------------------------------------------------------------
  // Input

  input(packet: Uint8Array, hl: number, total: number, rxMeta = 0): DropReason | undefined {
    const c = this.ctx.counters;
    c.TcpInSegs++;
    if (total - hl < TCP_MIN_HEADER) {
      c.TcpInErrs++;
      return 'TCP_INVALID';
    }
    const tcp = packet.subarray(hl, total);
    const thl = tcpHeaderLength(tcp);
    if (thl < TCP_MIN_HEADER || thl > tcp.length) {
      c.TcpInErrs++;
      return 'TCP_INVALID';
    }
    // tcp_v4_rcv or tcp_v6_rcv: the addresses as numbers (an IPv6 one as its handle, stack/address.ts).
    const v6 = packet[0]! >> 4 === 6;
    // A segment to a multicast group makes no connection and draws no reset
    // (tcp_v6_conn_request and tcp_v6_send_reset want ipv6_unicast_destination).
    if (v6 && isIpv6Multicast(packet, IPV6_DST_OFFSET)) return 'OTHERHOST';
    const addresses = this.ctx.addresses;
    const src = v6 ? addresses.intern(packet, IPV6_SRC_OFFSET) : ipSource(packet);
    const dst = v6 ? addresses.intern(packet, IPV6_DST_OFFSET) : ipDestination(packet);
    // A checksum the kernel owes (CHECKSUM_PARTIAL) or has checked is not verified (skb_csum_unnecessary).
    if ((rxMeta & RX_CSUM_TRUSTED) === 0 && !tcpChecksumOkSum(tcp, addresses.wordSum(src) + addresses.wordSum(dst))) {
      // Segments failing the checksum get no RST (tcp_v4_rcv csum_error).
      c.TcpInCsumErrors++;
      c.TcpInErrs++;
      return 'TCP_CSUM';
    }
    if (!parseTcpOptions(tcp, this.options)) {
      c.TcpInErrs++;
      return 'TCP_INVALID';
    }
    const seg: Segment = {
      packet,
      tcpOffset: hl,
      ecn: v6 ? (packet[1]! >> 4) & 3 : packet[1]! & 3,
      src,
      dst,
      sport: tcpSourcePort(tcp),
      dport: tcpDestinationPort(tcp),
      seq: tcpSeq(tcp),
      ack: tcpAck(tcp),
      flags: tcpFlags(tcp),
      window: tcpWindow(tcp),
      payload: tcp.subarray(thl),
      options: this.options,
      gsoSize: rxMeta & RX_GSO_SIZE_MASK,
    };

    const trace = this.ctx.trace;
    if (trace !== undefined) trace(segmentEvent(this.ctx.now(), 'in', tcp, src, dst, addresses));
    // tcp_v4_rcv / tcp_v6_rcv check the signature options of a segment for a
    // socket (full, request or listener; not TIME_WAIT, not none) before it
    // is processed (tcp_inbound_hash).
    const auth = thl - TCP_MIN_HEADER >= TCPOLEN_MD5SIG ? tcpAuthOptions(tcp) : AUTH_NONE;
    const conn = this.connections.get(src, seg.sport, seg.dport);
    if (conn !== undefined) {
      if (auth !== AUTH_NONE) return this.authDrop(auth);
      countSegmentIn(conn, seg);
      const verdict = connectionInput(conn, seg);
      // tcp_rcv_established ends with tcp_data_snd_check and
      // tcp_ack_snd_check: what one segment lets out leaves before the
      // next segment of a batch is processed (a batch of ACKs each clocks
      // out its own data, as the kernel's softirq does, not one burst after
      // the last of them).
      if (this.undirty(conn)) out.transmit(conn);
      checkSpace(conn); // tcp_data_snd_check's tcp_check_space, after the push
      return verdict;
    }
    const tw = this.timewaits.get(src, seg.sport, seg.dport);
    let issOverride: number | undefined;
    if (tw !== undefined) {
      const verdict = tw.input(seg);
      if (verdict.kind === 'done') return verdict.drop;
      issOverride = verdict.iss;
    }
    const listener = this.listenerTable.lookup(dst, seg.dport);
    if (listener !== undefined) return auth !== AUTH_NONE ? this.authDrop(auth) : listener.input(seg, issOverride);
    replyReset(this.ctx, seg, 'noSocket');
    return 'NO_SOCKET';
  }

  /** tcp_inbound_hash's verdict on a segment with signature options: no socket here has an MD5 key. */
  private authDrop(auth: number): DropReason {
    if (auth === AUTH_INVALID) return 'TCP_AUTH_HDR';
    this.ctx.counters.TcpExtTCPMD5Unexpected++;
    return 'TCP_MD5UNEXPECTED';
  }

  /**
   * tcp_v4_err: an ICMP error quoting one of our segments (`quoted`: its IP
   * header and at least 8 bytes of TCP header, checked by the ICMP layer).
   * No socket for the quoted 4-tuple counts IcmpInErrors; a TIME_WAIT and a
   * listener are left alone; a pending request follows tcp_req_err.
   */
  icmpError(type: number, code: number, info: number, quoted: Uint8Array): void {
    if (ipSource(quoted) !== this.ctx.address) return;
    const tcp = quoted.subarray(ipHeaderLength(quoted));
    const localPort = tcpSourcePort(tcp);
    const remotePort = tcpDestinationPort(tcp);
    const remote = ipDestination(quoted);
    const conn = this.connections.get(remote, remotePort, localPort);
    if (conn !== undefined) {
      connectionIcmpError(conn, type, code, tcpSeq(tcp), info);
      return;
    }
    if (this.timewaits.get(remote, remotePort, localPort) !== undefined) return;
    const listener = this.listenerTable.lookup(this.ctx.address, localPort);
    if (listener !== undefined) {
      listener.requestIcmpError(remote, remotePort, tcpSeq(tcp), isRequestFatal(type, code));
      return;
    }
    this.ctx.counters.IcmpInErrors++;
  }

  /**
   * tcp_v6_err: an ICMPv6 error quoting one of our segments (`quoted` from
   * its IPv6 header, its TCP header at `inner`, at least 8 bytes of it).
   * Only the established table is searched (__inet6_lookup_established:
   * connections, request socks, TIME_WAIT); nothing there is
   * Icmp6InErrors, which the ICMPv6 layer counts when this returns false.
   */
  icmpError6(type: number, code: number, info: number, quoted: Uint8Array, inner: number): boolean {
    const a = this.ctx.addresses;
    const ours = this.ctx.address6;
    if (ours === undefined || !ipv6Equal(quoted, IPV6_SRC_OFFSET, a.store, a.offsetOf(ours))) return false;
    const tcp = quoted.subarray(inner);
    const localPort = tcpSourcePort(tcp);
    const remotePort = tcpDestinationPort(tcp);
    const remote = a.intern(quoted, IPV6_DST_OFFSET);
    const conn = this.connections.get(remote, remotePort, localPort);
    if (conn !== undefined) {
      connectionIcmpv6Error(conn, type, code, tcpSeq(tcp), info);
      return true;
    }
    if (this.timewaits.get(remote, remotePort, localPort) !== undefined) return true;
    const listener = this.listenerTable.lookup(ours, localPort);
    if (listener === undefined || listener.synQueue.get(remote, remotePort, localPort) === undefined) return false;
    listener.requestIcmpError(remote, remotePort, tcpSeq(tcp), icmpv6Errno(type, code).fatal);
    return true;
  }

  // ---------------------------------------------------------------------------
  // Per-batch work

  /** Delivers readiness events, then transmits for every dirty connection; repeats while they feed each other. */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    let appErrors: unknown[] | undefined;
    try {
      for (let round = 0; round < 64 && (this.wakeList.length > 0 || this.dirtyCount > 0); round++) {
        if (this.wakeList.length > 0) {
          // The round's list, every mark cleared first: a callback may wake someone again (next round).
          const woken = this.takeWakeList();
          for (let i = 0; i < woken.length; i++) {
            const w = woken[i]!;
            // One application's exception must not starve the others woken in this round.
            try {
              w.deliverEvent();
            } catch (error) {
              this.ctx.trace?.({ kind: 'internal-error', t: this.ctx.now(), message: `onEvent threw: ${String(error)}` });
              (appErrors ??= []).push(error);
            }
          }
          woken.length = 0;
        }
        if (this.dirtyCount > 0) {
          const dirty = this.takeDirtyList();
          for (let i = 0; i < dirty.length; i++) {
            const c = dirty[i];
            if (c !== undefined) out.transmit(c);
          }
          dirty.length = 0;
        }
      }
    } finally {
      // The batch is over and every reader woken by it has read what it
      // wanted: what is left in receive queues that pin much more than they
      // hold is compacted (a reader that keeps up is never copied for).
      const views = this.viewsList;
      for (let i = 0; i < views.length; i++) {
        const c = views[i]!;
        c.viewsQueued = false;
        compactReceiveQueue(c);
      }
      views.length = 0;
      this.flushing = false;
      // Left over only if something threw: not to be replayed by the next flush.
      this.wakeSpare.length = 0;
      this.dirtySpare.length = 0;
    }
    // The round is finished for everyone; now the application hears of its own
    // exceptions: through the driver's handler, or thrown to whoever flushed.
    if (appErrors !== undefined) {
      const report = this.onApplicationError;
      if (report === undefined) throw appErrors[0];
      for (const error of appErrors) report(error);
    }
  }

  wake(c: Connection): void {
    const owner = c.owner;
    if (owner !== undefined) this.requestWake(owner);
  }

  timerExpired(c: Connection, timer: ConnectionTimer): void {
    onTimerExpired(c, timer);
  }

  viewsQueued(c: Connection): void {
    if (c.viewsQueued) return;
    c.viewsQueued = true;
    this.viewsList.push(c);
  }

  requestWake(w: SocketOwner): void {
    if (!w.wakeQueued) {
      w.wakeQueued = true;
      this.wakeList.push(w);
    }
    if (!this.flushing) this.onFlushNeeded?.();
  }

  dirty(c: Connection): void {
    if (c.dirtyAt < 0) {
      c.dirtyAt = this.dirtyList.length;
      this.dirtyList.push(c);
      this.dirtyCount++;
    }
    if (!this.flushing) this.onFlushNeeded?.();
  }

  /** Takes a connection out of the dirty list (a hole where it was); whether it was in. */
  private undirty(c: Connection): boolean {
    if (c.dirtyAt < 0) return false;
    this.dirtyList[c.dirtyAt] = undefined;
    c.dirtyAt = -1;
    this.dirtyCount--;
    return true;
  }

  /** The dirty list as it is, every member unmarked; an empty one takes its place. */
  private takeDirtyList(): Array<Connection | undefined> {
    const list = this.dirtyList;
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      if (c !== undefined) c.dirtyAt = -1;
    }
    this.dirtyList = this.dirtySpare;
    this.dirtySpare = list;
    this.dirtyCount = 0;
    return list;
  }

  /** The wake list as it is, every member unmarked; an empty one takes its place. */
  private takeWakeList(): SocketOwner[] {
    const list = this.wakeList;
    for (let i = 0; i < list.length; i++) list[i]!.wakeQueued = false;
    this.wakeList = this.wakeSpare;
    this.wakeSpare = list;
    return list;
  }

  closed(c: Connection): void {
    this.undirty(c);
    if (this.connections.get(c.remote, c.remotePort, c.localPort) === c) {
      this.connections.delete(c.remote, c.remotePort, c.localPort);
    }
    if (c.portOwner !== undefined) {
      this.binds.remove(c.localPort, c.portOwner);
      c.portOwner = undefined;
    }
    if (c.orphan) this.dropAddresses(c);
  }

  /**
   * A connection out of the tables whose application has let go gives up
   * its addresses (stack/address.ts); the text of IPv6 ones stays for
   * whoever still reads them.
   */
  private dropAddresses(c: Connection): void {
    if (!c.holdsAddresses) return;
    c.holdsAddresses = false;
    const a = this.ctx.addresses;
    if (c.remote >= IPV6_HANDLE_BASE) c.addressText = { local: a.format(c.local), remote: a.format(c.remote) };
    a.release(c.local);
    a.release(c.remote);
  }

  timeWait(c: Connection, substate: 'TIME_WAIT' | 'FIN_WAIT2', ms: number): void {
    // tcp_time_wait ends with tcp_done: the full socket's timers (keepalive included) die with it.
    cancelAll(c);
    this.undirty(c);
    this.connections.delete(c.remote, c.remotePort, c.localPort);
    const previous = this.timewaits.get(c.remote, c.remotePort, c.localPort);
    if (previous !== undefined) this.replaceTimeWait(previous);
    // The minisock is named after the state it stands for; the connection object shows it too.
    c.setState(substate);
    // The minisock keeps a few words, not the connection: the callbacks below
    // capture only its trace name. An application that still holds the
    // socket sees it move on through twViews until it lets go (released()).
    const conn = c.id;
    const tw: TimeWaitSock = new TimeWaitSock(
      this.ctx,
      {
        substate,
        local: c.local,
        localPort: c.localPort,
        remote: c.remote,
        remotePort: c.remotePort,
        sndNxt: c.sndNxt,
        rcvNxt: c.rcvNxt,
        rcvWnd: c.receiveWindow(),
        rcvWscale: c.rcvWscale,
        tsOk: c.tsOk,
        tsRecent: c.tsRecent,
        tsRecentStamp: c.tsRecentStamp,
        tsOffset: c.tsOffset,
        flowLabel: c.flowLabel,
        ipv6Socket: c.ipv6Socket,
      },
      ms,
      (ended) => this.timeWaitEnded(ended, conn),
      () => this.minisockState(tw, conn, 'FIN_WAIT2', 'TIME_WAIT'),
    );
    this.timewaits.set(c.remote, c.remotePort, c.localPort, tw);
    this.ctx.addresses.hold(c.local);
    this.ctx.addresses.hold(c.remote);
    if (!c.orphan) this.twViews.set(tw, c);
    else this.dropAddresses(c);
    // The minisock holds the port on (inet_twsk_hashdance's bind bucket).
    tw.portOwner = c.portOwner;
    c.portOwner = undefined;
  }

  released(c: Connection): void {
    const tw = this.timewaits.get(c.remote, c.remotePort, c.localPort);
    if (tw !== undefined && this.twViews.get(tw) === c) this.twViews.delete(tw);
    if (this.connections.get(c.remote, c.remotePort, c.localPort) !== c) this.dropAddresses(c);
  }

  /**
   * A minisock's state change, as its connection's setState would have made
   * it: on the connection while an application holds it, else traced under
   * the connection's name (an orphan has nobody to wake or to show it to).
   */
  private minisockState(tw: TimeWaitSock, conn: string, from: TcpStateName, to: TcpStateName): void {
    const view = this.twViews.get(tw);
    if (view !== undefined) {
      if (view.state === from) view.setState(to);
      return;
    }
    this.ctx.trace?.({ kind: 'tcp-state', t: this.ctx.now(), conn, from, to });
  }

  /** A minisock superseded by a newer one for the same pair: gone without counting. */
  private replaceTimeWait(tw: TimeWaitSock): void {
    this.ctx.timers.cancel(tw.timer);
    this.timewaits.delete(tw.s.remote, tw.s.remotePort, tw.s.localPort);
    this.twViews.delete(tw);
    this.releasePort(tw);
  }

  /** A minisock is gone: its port and its addresses go with it. */
  private releasePort(tw: TimeWaitSock): void {
    if (tw.holdsAddresses) {
      tw.holdsAddresses = false;
      this.ctx.addresses.release(tw.s.local);
      this.ctx.addresses.release(tw.s.remote);
    }
    if (tw.portOwner === undefined) return;
    this.binds.remove(tw.s.localPort, tw.portOwner);
    tw.portOwner = undefined;
  }

  private timeWaitEnded(tw: TimeWaitSock, conn: string): void {
    if (this.timewaits.get(tw.s.remote, tw.s.remotePort, tw.s.localPort) === tw) {
      this.timewaits.delete(tw.s.remote, tw.s.remotePort, tw.s.localPort);
    }
    this.releasePort(tw);
    this.minisockState(tw, conn, tw.s.substate, 'CLOSED');
    this.twViews.delete(tw);
  }

  /**
   * A host crash and reboot (docs/linux-behaviour.md, "Host crash"). Every
   * connection, request sock, TIME_WAIT minisock and listener vanishes
   * without a segment: a dead host sends nothing. The ISN secret is drawn
   * anew, as a rebooted kernel's net_secret is. Afterwards any segment for a
   * forgotten connection finds no socket and gets a reply reset
   * (tcp_v4_rcv no_tcp_socket). Sockets of the old incarnation (its
   * applications died with it) see ECONNABORTED, what Linux gives a socket
   * destroyed under its owner (`ss -K`); listeners must be opened again.
   * Returns what was forgotten, the counts the host-crash event carries.
   */
  crash(): ForgottenCounts {
    // Queued children are hashed in `connections` too: a set counts each once.
    const forgotten = new Set(this.connections.values());
    const counts: ForgottenCounts = { connections: 0, timeWait: 0, requests: 0 };
    for (const l of this.listenerTable.all()) {
      counts.requests += l.synQueue.size;
      for (const c of l.forget()) forgotten.add(c);
    }
    for (const tw of this.timewaits.values()) {
      this.ctx.timers.cancel(tw.timer);
      if (tw.s.substate === 'TIME_WAIT') counts.timeWait++;
      else counts.connections++;
      tw.portOwner = undefined; // the bind table is wiped below
      this.releasePort(tw);
    }
    counts.connections += forgotten.size;
    this.connections.clear();
    for (const c of forgotten) {
      c.pendingError = c.owner !== undefined ? 'ECONNABORTED' : undefined;
      c.portOwner = undefined; // the bind table is wiped below
      forget(c);
      // Out of the tables now: an orphan's addresses go; a socket's when its application closes it.
      if (c.orphan || c.owner === undefined) this.dropAddresses(c);
    }
    this.timewaits.clear();
    this.listenerTable.clear();
    this.binds.clear();
    this.twViews.clear();
    this.takeDirtyList().length = 0;
    this.viewsList.length = 0;
    for (const c of forgotten) this.wake(c);
    const r = this.ctx.random;
    this.secret = [r.u32(), r.u32(), r.u32(), r.u32()];
    this.ctx.trace?.({ kind: 'host-crash', t: this.ctx.now(), ...counts });
    return counts;
  }

  /**
   * SOCK_DESTROY (sock_diag_destroy → tcp_abort, what `ss -K` asks for): every
   * connection whose local port, and remote address and port when given,
   * match is aborted, and so is every TIME_WAIT or FIN_WAIT2 minisock that
   * matches (tcp_abort's TCP_TIME_WAIT case: inet_twsk_deschedule_put, gone
   * without a segment). With `listener`, the listeners on the local port
   * (and address and family, when given; 0 is the wildcard) instead: tcp_abort on TCP_LISTEN closes it as
   * close() would (inet_csk_listen_stop: queued children reset), under its
   * owner, whose accept() then fails with EINVAL. Returns how many went.
   */
  destroy(filter: { localPort?: number; local?: number; remote?: number; remotePort?: number; listener?: boolean; ipv6?: boolean }): number {
    if (filter.listener) {
      const listeners = [...this.listenerTable.all()].filter(
        (l) =>
          (filter.localPort === undefined || l.port === filter.localPort) &&
          (filter.local === undefined || l.bindAddress === filter.local) &&
          (filter.ipv6 === undefined || l.ipv6 === filter.ipv6),
      );
      for (const l of listeners) l.owner?.abort();
      return listeners.length;
    }
    const matches = (localPort: number, remote: number, remotePort: number): boolean =>
      (filter.localPort === undefined || localPort === filter.localPort) &&
      (filter.remote === undefined || remote === filter.remote) &&
      (filter.remotePort === undefined || remotePort === filter.remotePort);
    const victims = [...this.connections.values()].filter((c) => matches(c.localPort, c.remote, c.remotePort));
    const minisocks = [...this.timewaits.values()].filter((tw) => matches(tw.s.localPort, tw.s.remote, tw.s.remotePort));
    for (const c of victims) tcpAbort(c);
    for (const tw of minisocks) tw.kill();
    return victims.length + minisocks.length;
  }

  // ---------------------------------------------------------------------------
  // ListenerHost

  /**
   * secure_tcp_seq (RFC 6528): a keyed hash of the 4-tuple plus a clock that
   * ticks every 64 ns, so ISNs of one pair grow with time and differ across pairs.
   */
  isn(remote: number, remotePort: number, localPort: number): number {
    const h = this.hash(this.ctx.addresses.digest(remote), (remotePort << 16) | localPort, this.ctx.address);
    return (h + Math.floor(this.ctx.now() * 15625)) >>> 0;
  }

  createChild(listener: Listener, req: RequestSock, ack: Segment): Connection {
    const c = this.hashChild(listener, req, (c) => initChild(c, req, ack, listener));
    // Counted in segs_in as Linux 6.18 counts it (measured): the SYN
    // (tcp_create_openreq_child), then the segment that made the child.
    countSegmentIn(c, ack);
    return c;
  }

  createFastOpenChild(listener: Listener, req: RequestSock, syn: Segment): Connection {
    return this.hashChild(listener, req, (c) => initFastOpenChild(c, req, syn, listener));
  }

  /** A child born in SYN_RECV, initialised by `init`, then in the connection table and the listener's bind bucket. */
  private hashChild(listener: Listener, req: RequestSock, init: (c: Connection) => void): Connection {
    const c = new Connection(this.ctx, this, req.local, listener.port, req.remote, req.remotePort, 'SYN_RECV');
    c.ipv6Socket = listener.ipv6;
    c.segsIn = 1; // tcp_create_openreq_child: the SYN
    init(c);
    this.connections.set(c.remote, c.remotePort, c.localPort, c);
    c.portOwner = listener.childPortOwner();
    this.binds.add(listener.port, c.portOwner);
    return c;
  }

  wakeListener(listener: Listener): void {
    const owner = listener.owner;
    if (owner !== undefined) this.requestWake(owner);
  }

  // ---------------------------------------------------------------------------
  // Ports

  hash(a: number, b: number, c: number): number {
    let h = this.secret[0]! ^ Math.imul(a, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ Math.imul(b ^ this.secret[1]!, 0xc2b2ae35);
    h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f) ^ Math.imul(c ^ this.secret[2]!, 0x165667b1);
    return (h ^ (h >>> 16) ^ this.secret[3]!) >>> 0;
  }

  /**
   * __inet_hash_connect (RFC 6056 algorithm 4 in spirit): start from a keyed
   * hash of the destination, try even ports first, then odd; a port is usable
   * when nothing explicitly bound holds it and the 4-tuple is free.
   */
  pickConnectPort(remote: number, remotePort: number): number | undefined {
    const [low, high] = this.ctx.sysctl.ip_local_port_range;
    const range = high - low + 1;
    if (range <= 0) return undefined;
    const offset = (this.hash(this.ctx.addresses.digest(remote), remotePort, this.ctx.address) + this.portPerturb++ * 2) % range;
    for (const parity of [0, 1]) {
      for (let i = 0; i < range; i += 2) {
        let port = low + ((offset + i) % range);
        if ((port & 1) !== parity) port = port + 1 > high ? low + parity : port + 1;
        if (this.portUsableForConnect(port, remote, remotePort)) return port;
      }
    }
    return undefined;
  }

  private portUsableForConnect(port: number, remote: number, remotePort: number): boolean {
    const owners = this.binds.owners(port);
    if (owners !== undefined) for (const o of owners) if (o.autobound !== true) return false;
    return this.connections.get(remote, remotePort, port) === undefined && this.timewaits.get(remote, remotePort, port) === undefined;
  }

  /** inet_csk_find_open_port for bind(port 0): odd ports first, a port nobody holds. */
  pickBindPort(candidate: PortOwner): number | undefined {
    const [low, high] = this.ctx.sysctl.ip_local_port_range;
    const range = high - low + 1;
    const offset = this.ctx.random.u32() % range;
    for (const parity of [1, 0]) {
      for (let i = 0; i < range; i++) {
        const port = low + ((offset + i) % range);
        if ((port & 1) !== parity) continue;
        if (!this.binds.inUse(port) && !this.binds.conflicts(port, candidate)) return port;
      }
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------
  // Introspection

  connectionInfos(): TcpInfo[] {
    const infos: TcpInfo[] = [];
    for (const c of this.connections.values()) infos.push(connectionInfo(c));
    for (const tw of this.timewaits.values()) {
      const s = tw.s;
      infos.push(
        stateOnlyInfo({
          state: s.substate,
          localAddress: socketAddressText(this.ctx.addresses, s.local, s.ipv6Socket),
          localPort: s.localPort,
          remoteAddress: socketAddressText(this.ctx.addresses, s.remote, s.ipv6Socket),
          remotePort: s.remotePort,
          rcvWnd: s.rcvWnd,
          rcvWscale: s.rcvWscale,
          timestamps: s.tsOk,
          timer: { on: s.substate === 'TIME_WAIT' ? 'timewait' : 'fin_wait2', expiresIn: Math.max(0, tw.timer.deadline - this.ctx.now()) },
        }),
      );
    }
    return infos;
  }

  listenerInfos(): ListenerInfo[] {
    return [...this.listenerTable.all()].map((l) => ({
      family: l.ipv6 ? 6 : 4,
      v6only: l.v6only,
      localAddress: socketAddressText(this.ctx.addresses, l.bindAddress, l.ipv6),
      localPort: l.port,
      backlog: l.backlog,
      acceptQueue: l.acceptQueue.length,
      synQueue: l.synQueue.size,
    }));
  }
}

