/**
 * The TCP layer: checks and parses each segment once, demultiplexes it in
 * Linux's order (established 4-tuple → TIME_WAIT → listener → no socket,
 * __inet_lookup), owns the tables, ISNs and ephemeral ports, and runs the
 * per-batch work: readiness events to applications, then output of every
 * connection that has something to send, so ACKs coalesce across a batch.
 */
import type { DropReason } from '../drop.ts';
import type { IpOutput } from '../ip/output.ts';
import type { Stack } from '../stack.ts';
import type { ListenerInfo, TcpInfo } from '../socket/types.ts';
import { formatIpv4 } from '../wire/addr.ts';
import { PROTO_TCP } from '../wire/ipv4.ts';
import {
  TCP_MIN_HEADER,
  newTcpOptions,
  parseTcpOptions,
  tcpChecksumOk,
} from '../wire/tcp.ts';
import { cancelAll } from './conn-timers.ts';
import { Connection, type ConnectionHooks } from './connection.ts';
import type { TcpContext } from './context.ts';
import { Listener, type ListenerHost, type RequestSock } from './listener.ts';
import * as out from './output.ts';
import { replyReset } from './reset.ts';
import type { Segment } from './segment.ts';
import { BindTable, FourTupleMap, ListenerTable, type PortOwner } from './tables.ts';
import { TimeWaitSock } from './timewait.ts';
import { segmentEvent } from './trace-seg.ts';

/** Receives readiness events (the Endpoint implements it). */
export interface Wakeable {
  deliverEvent(): void;
}

export class TcpLayer implements ListenerHost, ConnectionHooks {
  readonly ctx: TcpContext;
  readonly connections = new FourTupleMap<Connection>();
  readonly timewaits = new FourTupleMap<TimeWaitSock>();
  readonly listenerTable = new ListenerTable<Listener>();
  readonly binds = new BindTable();
  /** Port owner of each connection (released when it and its TIME_WAIT are gone). */
  readonly connOwners = new Map<Connection, { port: number; owner: PortOwner }>();
  private readonly twOwners = new Map<TimeWaitSock, { port: number; owner: PortOwner }>();
  private readonly options = newTcpOptions();
  private readonly dirtySet = new Set<Connection>();
  private readonly wakeSet = new Set<Wakeable>();
  private secret: number[];
  private portPerturb = 0;
  private flushing = false;
  /** Called when application activity needs a flush the driver did not schedule. */
  onFlushNeeded: (() => void) | undefined;
  /** Receives exceptions thrown by applications' onEvent callbacks (unset: flush() rethrows the first). */
  onApplicationError: ((error: unknown) => void) | undefined;

  constructor(stack: Stack, output: IpOutput) {
    const s = stack;
    this.ctx = {
      clock: s.clock,
      counters: s.counters,
      sysctl: s.sysctl,
      timers: s.timers,
      random: s.random,
      address: s.address,
      get advMss() {
        return output.mtu - 40;
      },
      get trace() {
        return s.trace;
      },
      get ttl() {
        return s.sysctl.ip_default_ttl;
      },
      send: (packet: Uint8Array) => {
        const trace = s.trace;
        if (trace !== undefined) trace(segmentEvent(s.clock.now(), 'out', packet));
        output.send(packet);
      },
      now: () => s.clock.now(),
    } as TcpContext;
    this.secret = [s.random.u32(), s.random.u32(), s.random.u32(), s.random.u32()];
    s.registerProtocol(PROTO_TCP, (p, hl, total) => this.input(p, hl, total));
  }

  // ---------------------------------------------------------------------------
  // Input

  input(packet: Uint8Array, hl: number, total: number): DropReason | undefined {
    const c = this.ctx.counters;
    c.TcpInSegs++;
    if (total - hl < TCP_MIN_HEADER) {
      c.TcpInErrs++;
      return 'TCP_INVALID';
    }
    const tcp = packet.subarray(hl, total);
    const thl = (tcp[12]! >> 4) << 2;
    if (thl < TCP_MIN_HEADER || thl > tcp.length) {
      c.TcpInErrs++;
      return 'TCP_INVALID';
    }
    const src = ((packet[12]! << 24) | (packet[13]! << 16) | (packet[14]! << 8) | packet[15]!) >>> 0;
    const dst = ((packet[16]! << 24) | (packet[17]! << 16) | (packet[18]! << 8) | packet[19]!) >>> 0;
    if (!tcpChecksumOk(tcp, src, dst)) {
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
      src,
      dst,
      sport: (tcp[0]! << 8) | tcp[1]!,
      dport: (tcp[2]! << 8) | tcp[3]!,
      seq: ((tcp[4]! << 24) | (tcp[5]! << 16) | (tcp[6]! << 8) | tcp[7]!) >>> 0,
      ack: ((tcp[8]! << 24) | (tcp[9]! << 16) | (tcp[10]! << 8) | tcp[11]!) >>> 0,
      flags: tcp[13]!,
      window: (tcp[14]! << 8) | tcp[15]!,
      payload: tcp.subarray(thl),
      options: this.options,
    };

    const trace = this.ctx.trace;
    if (trace !== undefined) trace(segmentEvent(this.ctx.now(), 'in', packet));
    const conn = this.connections.get(src, seg.sport, seg.dport);
    if (conn !== undefined) return conn.input(seg);
    const tw = this.timewaits.get(src, seg.sport, seg.dport);
    let issOverride: number | undefined;
    if (tw !== undefined) {
      const verdict = tw.input(seg);
      if (verdict.kind === 'done') return verdict.drop;
      issOverride = verdict.iss;
    }
    const listener = this.listenerTable.lookup(dst, seg.dport);
    if (listener !== undefined) return listener.input(seg, issOverride);
    replyReset(this.ctx, seg, 'noSocket');
    return 'NO_SOCKET';
  }

  // ---------------------------------------------------------------------------
  // Per-batch work

  /** Delivers readiness events, then transmits for every dirty connection; repeats while they feed each other. */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    const appErrors: unknown[] = [];
    try {
      for (let round = 0; round < 64 && (this.wakeSet.size > 0 || this.dirtySet.size > 0); round++) {
        if (this.wakeSet.size > 0) {
          const woken = [...this.wakeSet];
          this.wakeSet.clear();
          for (const w of woken) {
            // One application's exception must not starve the others woken in this round.
            try {
              w.deliverEvent();
            } catch (error) {
              this.ctx.trace?.({ kind: 'internal-error', t: this.ctx.now(), message: `onEvent threw: ${String(error)}` });
              appErrors.push(error);
            }
          }
        }
        if (this.dirtySet.size > 0) {
          const dirty = [...this.dirtySet];
          this.dirtySet.clear();
          for (const c of dirty) out.transmit(c);
        }
      }
    } finally {
      this.flushing = false;
    }
    // The round is finished for everyone; now the application hears of its own
    // exceptions: through the driver's handler, or thrown to whoever flushed.
    if (appErrors.length > 0) {
      const report = this.onApplicationError;
      if (report === undefined) throw appErrors[0];
      for (const error of appErrors) report(error);
    }
  }

  wake(c: Connection): void {
    const owner = c.owner as Wakeable | undefined;
    if (owner !== undefined) this.requestWake(owner);
  }

  requestWake(w: Wakeable): void {
    this.wakeSet.add(w);
    if (!this.flushing) this.onFlushNeeded?.();
  }

  dirty(c: Connection): void {
    this.dirtySet.add(c);
    if (!this.flushing) this.onFlushNeeded?.();
  }

  closed(c: Connection): void {
    this.dirtySet.delete(c);
    if (this.connections.get(c.remote, c.remotePort, c.localPort) === c) {
      this.connections.delete(c.remote, c.remotePort, c.localPort);
    }
    const held = this.connOwners.get(c);
    if (held !== undefined) {
      this.binds.remove(held.port, held.owner);
      this.connOwners.delete(c);
    }
  }

  timeWait(c: Connection, substate: 'TIME_WAIT' | 'FIN_WAIT2', ms: number): void {
    // tcp_time_wait ends with tcp_done: the full socket's timers (keepalive included) die with it.
    cancelAll(c);
    this.dirtySet.delete(c);
    this.connections.delete(c.remote, c.remotePort, c.localPort);
    const previous = this.timewaits.get(c.remote, c.remotePort, c.localPort);
    if (previous !== undefined) this.replaceTimeWait(previous);
    // The minisock is named after the state it stands for; the connection object shows it too.
    if (substate === 'FIN_WAIT2') c.state = 'FIN_WAIT2';
    const tw = new TimeWaitSock(
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
      },
      ms,
      (ended) => this.timeWaitEnded(ended, c),
    );
    this.timewaits.set(c.remote, c.remotePort, c.localPort, tw);
    const held = this.connOwners.get(c);
    if (held !== undefined) {
      this.connOwners.delete(c);
      this.twOwners.set(tw, held);
    }
  }

  /** A minisock superseded by a newer one for the same pair: gone without counting. */
  private replaceTimeWait(tw: TimeWaitSock): void {
    this.ctx.timers.cancel(tw.timer);
    this.timewaits.delete(tw.s.remote, tw.s.remotePort, tw.s.localPort);
    const held = this.twOwners.get(tw);
    if (held !== undefined) {
      this.binds.remove(held.port, held.owner);
      this.twOwners.delete(tw);
    }
  }

  private timeWaitEnded(tw: TimeWaitSock, c: Connection): void {
    if (this.timewaits.get(tw.s.remote, tw.s.remotePort, tw.s.localPort) === tw) {
      this.timewaits.delete(tw.s.remote, tw.s.remotePort, tw.s.localPort);
    }
    const held = this.twOwners.get(tw);
    if (held !== undefined) {
      this.binds.remove(held.port, held.owner);
      this.twOwners.delete(tw);
    }
    if (c.state === 'TIME_WAIT' || c.state === 'FIN_WAIT2') {
      c.state = 'CLOSED';
      this.wake(c);
    }
  }

  /**
   * A host crash and reboot (issue 4, path 6; the wire reference's scenario 7
   * "the kernel forgets an established connection"). Every connection, request
   * sock, TIME_WAIT minisock and listener vanishes without a segment: a dead
   * host sends nothing. The ISN secret is drawn anew, as a rebooted kernel's
   * net_secret is. Afterwards any segment for a forgotten connection finds no
   * socket and gets R1 (A1). Endpoints of the old incarnation (its
   * applications died with it) see ECONNABORTED, what Linux gives a socket
   * destroyed under its owner (`ss -K`); listeners must be opened again.
   */
  crash(): void {
    // Queued children are hashed in `connections` too: a set counts each once.
    const forgotten = new Set(this.connections.values());
    for (const l of this.listenerTable.all()) for (const c of l.forget()) forgotten.add(c);
    for (const tw of this.timewaits.values()) this.ctx.timers.cancel(tw.timer);
    for (const c of forgotten) {
      c.pendingError = c.owner !== undefined ? 'ECONNABORTED' : undefined;
      c.forget();
    }
    this.connections.clear();
    this.timewaits.clear();
    this.listenerTable.clear();
    this.binds.clear();
    this.connOwners.clear();
    this.twOwners.clear();
    this.dirtySet.clear();
    for (const c of forgotten) this.wake(c);
    const r = this.ctx.random;
    this.secret = [r.u32(), r.u32(), r.u32(), r.u32()];
    this.ctx.trace?.({ kind: 'host-crash', t: this.ctx.now(), forgotten: forgotten.size });
  }

  // ---------------------------------------------------------------------------
  // ListenerHost

  /**
   * secure_tcp_seq (RFC 6528): a keyed hash of the 4-tuple plus a clock that
   * ticks every 64 ns, so ISNs of one pair grow with time and differ across pairs.
   */
  isn(remote: number, remotePort: number, localPort: number): number {
    const h = this.hash(remote, (remotePort << 16) | localPort, this.ctx.address);
    return (h + Math.floor(this.ctx.now() * 15625)) >>> 0;
  }

  createChild(listener: Listener, req: RequestSock, ack: Segment): Connection {
    const c = new Connection(this.ctx, this, this.ctx.address, listener.port, req.remote, req.remotePort);
    c.rcvWscale = req.rcvWscale;
    c.acceptFrom(
      {
        iss: req.iss,
        irs: req.irs,
        peerMss: req.peerMss,
        sndWscale: req.sndWscale,
        wscaleOk: req.wscaleOk,
        sackOk: req.sackOk,
        tsOk: req.tsOk,
        tsRecent: req.tsRecent,
        tsOffset: req.tsOffset,
        rcvWnd: req.rcvWnd,
        synAckSentAt: req.synAckSentAt,
        synAckRetrans: req.retrans,
      },
      ack,
    );
    this.connections.set(c.remote, c.remotePort, c.localPort, c);
    const owner: PortOwner = { bindAddress: listener.bindAddress, reuseAddress: listener.reuseAddress, listening: false };
    this.binds.add(listener.port, owner);
    this.connOwners.set(c, { port: listener.port, owner });
    return c;
  }

  wakeListener(listener: Listener): void {
    const owner = listener.owner as Wakeable | undefined;
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
    const offset = (this.hash(remote, remotePort, this.ctx.address) + this.portPerturb++ * 2) % range;
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
    if (owners !== undefined) for (const o of owners) if (!(o as { autobound?: boolean }).autobound) return false;
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
          localAddress: formatIpv4(s.local),
          localPort: s.localPort,
          remoteAddress: formatIpv4(s.remote),
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
      localAddress: formatIpv4(l.bindAddress),
      localPort: l.port,
      backlog: l.backlog,
      acceptQueue: l.acceptQueue.length,
      synQueue: l.synQueue.size,
    }));
  }
}

/** A listing row for something that has a state but no full connection (minisock, listener, unbound socket). */
export function stateOnlyInfo(fields: Pick<TcpInfo, 'state' | 'localAddress' | 'localPort'> & Partial<TcpInfo>): TcpInfo {
  return {
    remoteAddress: '',
    remotePort: 0,
    recvQ: 0,
    sendQ: 0,
    rtt: 0,
    rttvar: 0,
    rto: 0,
    mss: 0,
    cwnd: 0,
    ssthresh: 0,
    retransmits: 0,
    backoff: 0,
    sndWnd: 0,
    rcvWnd: 0,
    sndWscale: 0,
    rcvWscale: 0,
    timestamps: false,
    sack: false,
    timer: undefined,
    bytesSent: 0,
    bytesRetrans: 0,
    bytesAcked: 0,
    bytesReceived: 0,
    ...fields,
  };
}

export function connectionInfo(c: Connection): TcpInfo {
  const now = c.now();
  const timers: Array<[string, { armed: boolean; deadline: number }]> = [
    [c.xmitMode === 'probe' ? 'persist' : 'on', c.xmitTimer],
    ['delack', c.delackTimer],
    ['keepalive', c.keepaliveTimer],
  ];
  const pending = timers.find(([, t]) => t.armed);
  return {
    state: c.state,
    localAddress: formatIpv4(c.local),
    localPort: c.localPort,
    remoteAddress: formatIpv4(c.remote),
    remotePort: c.remotePort,
    recvQ: c.recvQueue.length,
    sendQ: c.sendQueue.length,
    rtt: c.rtt.srtt,
    rttvar: c.rtt.rttvar,
    rto: c.rtt.rto,
    mss: c.mss,
    cwnd: c.cc.cwnd,
    ssthresh: c.cc.ssthresh,
    retransmits: c.totalRetrans,
    backoff: c.backoff,
    sndWnd: c.sndWnd,
    rcvWnd: c.rcvWnd,
    sndWscale: c.sndWscale,
    rcvWscale: c.rcvWscale,
    timestamps: c.tsOk,
    sack: c.sackOk,
    timer: pending ? { on: pending[0], expiresIn: Math.max(0, pending[1].deadline - now) } : undefined,
    bytesSent: c.bytesSent,
    bytesRetrans: c.bytesRetrans,
    bytesAcked: c.bytesAcked,
    bytesReceived: c.bytesReceived,
    curRetrans: c.retransmits,
    probes: c.xmitMode === 'probe' ? c.probesOut : c.keepaliveProbes,
    unacked: c.rtx.length,
    timers: timers.filter(([, t]) => t.armed).map(([on, t]) => ({ on, expiresIn: Math.max(0, t.deadline - now) })),
    lastSend: c.lastSendTime > 0 ? now - c.lastSendTime : undefined,
    lastRecv: c.lastRcvTime > 0 ? now - c.lastRcvTime : undefined,
  };
}
