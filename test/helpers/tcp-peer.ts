/**
 * The test plays the peer (198.18.0.1) of one of our stacks (198.18.0.2) in
 * virtual time, segment by segment, in the style of smoltcp's socket tests:
 * it crafts every segment it sends (any flags, sequence numbers, window,
 * options, payload) and decodes what the stack answers into a compact form
 * that a test compares field by field:
 *
 *   { flags: 'S.', seq, ack, win, len, opts: { mss: 1460, sackOk: true, ts: [val, ecr], ws: 10 } }
 *
 * `flags` uses tcpdump's letters ('S', 'S.', '.', 'P.', 'F.', 'R', 'R.');
 * `win` is the raw 16-bit field; `opts` lists only the options present.
 * Sequence numbers the stack chose (its ISN, its timestamp clock) are learnt
 * from what it sent: `our(n)` is the stack's ISN + n, `their(n)` the peer's.
 */
import { seqAdd } from '../../stack/tcp/seq.ts';
import type { Endpoint } from '../../stack/socket/types.ts';
import { formatIpv4 } from '../../stack/wire/addr.ts';
import { IP_FLAG_DF, PROTO_TCP, ipDestination, ipFragWord, ipHeaderLength, ipId, ipProtocol, ipSource, ipTos, ipTotalLength, ipTtl } from '../../stack/wire/ipv4.ts';
import {
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  decodeTcpSegment,
  formatTcpFlags,
  tcpChecksumOk,
  type TcpOptionsToWrite,
} from '../../stack/wire/tcp.ts';
import type { Sysctls } from '../../stack/sysctl.ts';
import { KERNEL, STACK, tcpPacket } from './packets.ts';
import { testStack, type TestStack } from './stack.ts';

export const PEER_ADDR = KERNEL;
export const STACK_ADDR = STACK;
export const PEER_IP = formatIpv4(KERNEL);
export const STACK_IP = formatIpv4(STACK);

/**
 * The window field a young connection of ours advertises, for tests whose
 * point is not the window (Linux 6.18, the default tcp_rmem[1] of 131072,
 * timestamps, scale 10). tcp_init_buffer_space leaves rcv_ssthresh at 64088
 * (the 65536 bytes the buffer holds at the default ratio, less one segment),
 * which __tcp_select_window rounds up to 63 units of 1024; tcp_select_window
 * never moves the right edge back, so after passiveOpen() (SYN-ACK window
 * 65160) the field is ALIGN(65160, 1024) >> 10 = 64, after activeOpen() (SYN
 * window 64240) 63. It stays so while each ACK covers under 1024 new bytes
 * and no segment of rcv_mss (536) or more has changed the payload/truesize
 * ratio (rcvbuf.ts); windows that move are window.test.ts's and
 * rcvbuf.test.ts's subject. Confirmed with packetdrill on Linux 6.18.44.
 */
export const PASSIVE_WIN = 64;
export const ACTIVE_WIN = 63;
/** The same without window scaling: the first window, 64240 (tcp_select_initial_window: 65535 in whole 1460-byte segments), kept. */
export const UNSCALED_WIN = 64240;

/** Options as the test writes and reads them. `ts` is [TSval, TSecr]; `sack` holds [left, right] blocks. */
export interface Opts {
  mss?: number;
  sackOk?: true;
  ts?: [number, number];
  ws?: number;
  sack?: Array<[number, number]>;
  /** A Fast Open option (SYN and SYN-ACK only): the cookie in hex ('' asks for one); `exp` the experimental form. */
  fo?: { cookie: string; exp?: true };
}

/** A segment the peer sends. */
export interface Out {
  /** tcpdump letters: 'S', 'S.', '.', 'P.', 'F.', 'FP.', 'R', 'R.', 'SF', 'none'... */
  flags: string;
  seq: number;
  ack?: number;
  /** Raw window field (default: the peer's `win`; 65535 on a SYN). */
  win?: number;
  /** Options; when the peer uses timestamps and `opts.ts` is absent, NOP NOP TS is added. */
  opts?: Opts;
  /** Payload bytes, or a length (filled with a pattern). */
  data?: Uint8Array | number;
  /** Defaults: the peer's port and the stack's port. */
  sport?: number;
  dport?: number;
  /** The urgent pointer field (with 'U' in `flags`). */
  urg?: number;
}

/** What the stack sent, in comparable form. */
export interface Seen {
  flags: string;
  seq: number;
  ack: number;
  win: number;
  len: number;
  opts: Opts;
}

export interface TimedSeen extends Seen {
  /** Virtual time (ms) at which the stack sent it. */
  t: number;
}

/** One packet the stack sent, with what the compact form leaves out. */
export interface Captured {
  t: number;
  seen: Seen;
  payload: Uint8Array;
  ipId: number;
  ttl: number;
  /** The IP TOS byte: its low two bits are the ECN field (RFC 3168 §5). */
  tos: number;
  df: boolean;
  /** Option kinds in wire order, NOPs included (e.g. [2, 4, 8, 1, 3] for a Linux SYN). */
  optionKinds: number[];
  sport: number;
  dport: number;
  /** The urgent pointer field. */
  urgent: number;
}

const LETTERS: Record<string, number> = { F: TCP_FIN, S: TCP_SYN, R: TCP_RST, P: TCP_PSH, '.': TCP_ACK, U: TCP_URG, E: TCP_ECE, W: TCP_CWR };

export function parseFlags(text: string): number {
  if (text === 'none') return 0;
  let f = 0;
  for (const ch of text) {
    const bit = LETTERS[ch];
    if (bit === undefined) throw new Error(`unknown flag letter ${ch} in ${text}`);
    f |= bit;
  }
  return f;
}

/** Bytes 0..n-1 of a recognisable pattern starting at stream offset `from`. */
export function pattern(n: number, from = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = ((from + i) * 7 + ((from + i) >>> 8)) & 255;
  return b;
}

function toWrite(o: Opts | undefined): TcpOptionsToWrite | undefined {
  if (o === undefined) return undefined;
  const w: TcpOptionsToWrite = {};
  if (o.mss !== undefined) w.mss = o.mss;
  if (o.sackOk) w.sackPermitted = true;
  if (o.ts) w.ts = { val: o.ts[0] >>> 0, ecr: o.ts[1] >>> 0 };
  if (o.ws !== undefined) w.wscale = o.ws;
  if (o.sack) w.sackBlocks = o.sack.flatMap(([l, r]) => [l >>> 0, r >>> 0]);
  if (o.fo) w.fastOpen = { cookie: Uint8Array.from(o.fo.cookie.match(/../g) ?? [], (h) => parseInt(h, 16)), exp: o.fo.exp === true };
  return Object.keys(w).length === 0 ? undefined : w;
}

/** A packet from the peer to the stack (no defaults beyond ports and addresses). */
export function craft(spec: Out & { sport: number; dport: number; win: number }): Uint8Array {
  const data = typeof spec.data === 'number' ? pattern(spec.data) : (spec.data ?? new Uint8Array(0));
  return tcpPacket({
    src: PEER_ADDR,
    dst: STACK_ADDR,
    sport: spec.sport,
    dport: spec.dport,
    seq: spec.seq >>> 0,
    ack: (spec.ack ?? 0) >>> 0,
    flags: parseFlags(spec.flags),
    window: spec.win,
    options: toWrite(spec.opts),
    payload: data,
    ipId: 0x4242,
    ttl: 64,
    urgent: spec.urg,
  });
}

/** Decodes a packet the stack sent; throws if it is not a well-formed TCP segment from the stack to the peer. */
export function capture(packet: Uint8Array, t: number): Captured {
  if (ipProtocol(packet) !== PROTO_TCP) throw new Error(`not TCP: protocol ${ipProtocol(packet)}`);
  if (ipSource(packet) !== STACK_ADDR || ipDestination(packet) !== PEER_ADDR) {
    throw new Error(`unexpected addresses ${formatIpv4(ipSource(packet))} -> ${formatIpv4(ipDestination(packet))}`);
  }
  const hl = ipHeaderLength(packet);
  const tcp = packet.subarray(hl, ipTotalLength(packet));
  if (!tcpChecksumOk(tcp, STACK_ADDR, PEER_ADDR)) throw new Error('bad TCP checksum from the stack');
  const d = decodeTcpSegment(tcp);
  if (!d.optionsOk) throw new Error('malformed TCP options from the stack');
  const o = d.options;
  const opts: Opts = {};
  if (o.mss >= 0) opts.mss = o.mss;
  if (o.sackPermitted) opts.sackOk = true;
  if (o.tsPresent) opts.ts = [o.tsVal, o.tsEcr];
  if (o.wscale >= 0) opts.ws = o.wscale;
  if (o.fastOpenLength >= 0) {
    const cookie = Array.from(o.fastOpenCookie.subarray(0, o.fastOpenLength), (b) => b.toString(16).padStart(2, '0')).join('');
    opts.fo = o.fastOpenExp ? { cookie, exp: true } : { cookie };
  }
  if (o.sackCount > 0) {
    opts.sack = [];
    for (let i = 0; i < o.sackCount; i++) opts.sack.push([o.sackBlocks[2 * i]!, o.sackBlocks[2 * i + 1]!]);
  }
  if (o.fastOpenLength >= 0) {
    const cookie = Array.from(o.fastOpenCookie.subarray(0, o.fastOpenLength), (b) => b.toString(16).padStart(2, '0')).join('');
    opts.fo = o.fastOpenExp ? { cookie, exp: true } : { cookie };
  }
  const optionKinds: number[] = [];
  for (let i = 20; i < d.headerLength; ) {
    const kind = tcp[i]!;
    optionKinds.push(kind);
    if (kind === 0) break;
    i += kind === 1 ? 1 : tcp[i + 1]!;
  }
  return {
    t,
    seen: { flags: formatTcpFlags(d.flags), seq: d.seq, ack: d.ack, win: d.window, len: d.payload.length, opts },
    payload: d.payload.slice(),
    ipId: ipId(packet),
    ttl: ipTtl(packet),
    tos: ipTos(packet),
    df: (ipFragWord(packet) & IP_FLAG_DF) !== 0,
    optionKinds,
    sport: d.sourcePort,
    dport: d.destinationPort,
    urgent: d.urgent,
  };
}

export interface PeerConfig {
  /** The peer's port (default 40000) and the stack's (default 80). */
  port?: number;
  stackPort?: number;
  /** The peer's ISN (default 1000). */
  iss?: number;
  /** Window field of the peer's non-SYN segments (default 1000). */
  win?: number;
  /** The peer adds NOP NOP TS to every segment (set once timestamps are negotiated). */
  ts?: boolean;
  /** The peer's timestamp clock: TSval = tsBase + now (default 7_000_000). */
  tsBase?: number;
}

export class TcpPeer {
  port: number;
  stackPort: number;
  iss: number;
  win: number;
  ts: boolean;
  readonly tsBase: number;
  /** The stack's ISN, learnt from the first SYN it sends this peer. */
  stackIss: number | undefined;
  /** The stack's timestamp clock: TSval − now, learnt from its first TS option. */
  stackTsOffset: number | undefined;
  /** The stack's latest TSval (what an automatic TS option echoes). */
  lastStackTs = 0;
  /** Everything the stack sent this peer. */
  readonly log: Captured[] = [];

  constructor(
    readonly s: TestStack,
    c: PeerConfig = {},
  ) {
    this.port = c.port ?? 40000;
    this.stackPort = c.stackPort ?? 80;
    this.iss = c.iss ?? 1000;
    this.win = c.win ?? 1000;
    this.ts = c.ts ?? false;
    this.tsBase = c.tsBase ?? 7_000_000;
  }

  now(): number {
    return this.s.clock.now();
  }

  /** The stack's ISN + n (mod 2^32). */
  our(n: number): number {
    if (this.stackIss === undefined) throw new Error('the stack has sent no SYN yet');
    return seqAdd(this.stackIss, n);
  }

  /** The peer's ISN + n (mod 2^32). */
  their(n: number): number {
    return seqAdd(this.iss, n);
  }

  /** The peer's TSval at time t (default now). */
  tsVal(t = this.now()): number {
    return (this.tsBase + t) >>> 0;
  }

  /** The TSval the stack puts on a segment sent at time t (default now). */
  stackTs(t = this.now()): number {
    if (this.stackTsOffset === undefined) throw new Error('the stack has sent no timestamp yet');
    return (this.stackTsOffset + t) >>> 0;
  }

  /** The packet for `spec`, with this peer's defaults. */
  packet(spec: Out): Uint8Array {
    const flags = parseFlags(spec.flags);
    const syn = flags & TCP_SYN;
    const bareRst = (flags & (TCP_RST | TCP_ACK)) === TCP_RST;
    let opts = spec.opts;
    if (this.ts && !syn && !bareRst && opts?.ts === undefined) opts = { ...opts, ts: [this.tsVal(), this.lastStackTs] };
    return craft({
      ...spec,
      opts,
      sport: spec.sport ?? this.port,
      dport: spec.dport ?? this.stackPort,
      win: spec.win ?? (syn ? 65535 : this.win),
    });
  }

  /**
   * Feeds one segment without flushing: what TCP sends in answer is already
   * on the wire (tcp_rcv_established ends with the output checks), while
   * the application hears of it only at the next flush.
   */
  input(spec: Out): void {
    this.s.stack.input(this.packet(spec));
  }

  /** Feeds one segment, flushes, and returns what the stack sent. */
  send(spec: Out): Seen[] {
    this.s.stack.input(this.packet(spec));
    return this.flush();
  }

  /** Runs the stack's output (after Endpoint calls) and returns what it sent. */
  flush(): Seen[] {
    this.s.stack.flush();
    return this.take().map((c) => c.seen);
  }

  /** Decodes and logs what the wire holds (whatever its ports: see Captured.sport/dport). */
  take(): Captured[] {
    const t = this.now();
    return this.s.wire.take().map((p) => this.record(capture(p, t)));
  }

  /** Advances virtual time to `t`, one timer deadline at a time; returns what was sent, with its time. */
  runUntil(t: number): TimedSeen[] {
    const out: TimedSeen[] = [];
    const { stack, clock } = this.s;
    for (let guard = 0; guard < 1_000_000; guard++) {
      const next = stack.nextDeadline();
      if (next > t) break;
      clock.set(Math.max(next, clock.now()));
      stack.runTimers();
      for (const c of this.take()) out.push({ t: c.t, ...c.seen });
    }
    clock.set(Math.max(t, clock.now()));
    for (const c of this.take()) out.push({ t: c.t, ...c.seen });
    return out;
  }

  /** Moves the clock to `t` (firing timers on the way); throws if anything was sent meanwhile. */
  quietUntil(t: number): void {
    const sent = this.runUntil(t);
    if (sent.length > 0) throw new Error(`expected silence until ${t}, got ${JSON.stringify(sent)}`);
  }

  /** The payload of the last segment the stack sent. */
  lastPayload(): Uint8Array {
    const last = this.log[this.log.length - 1];
    if (last === undefined) throw new Error('nothing sent');
    return last.payload;
  }

  private record(c: Captured): Captured {
    this.log.push(c);
    if (c.seen.flags.includes('S') && this.stackIss === undefined) this.stackIss = c.seen.seq;
    const ts = c.seen.opts.ts;
    if (ts) {
      this.lastStackTs = ts[0];
      if (this.stackTsOffset === undefined) this.stackTsOffset = (ts[0] - c.t) >>> 0;
    }
    return c;
  }
}

// ---------------------------------------------------------------------------
// Connections set up by the usual exchanges

export interface OpenOptions {
  /** What the peer's SYN (or SYN-ACK) offers. Defaults: MSS 1460, SACK, TS, WS 7. */
  mss?: number | false;
  sack?: boolean;
  ts?: boolean;
  ws?: number | false;
  /** Time of the third ACK (passive) or of the peer's SYN-ACK (active): the handshake RTT (default 50 ms). */
  rtt?: number;
  /** Window field of the peer's later segments (default 1000). */
  win?: number;
  port?: number;
  stackPort?: number;
  iss?: number;
  sysctl?: Partial<Sysctls>;
  seed?: number;
}

export interface Opened {
  s: TestStack;
  peer: TcpPeer;
  /** The accepted (passive) or connecting (active) endpoint. */
  ep: Endpoint;
  listener?: Endpoint;
  /** What the stack sent during the handshake. */
  handshake: Seen[];
}

function peerSynOptions(o: OpenOptions, peer: TcpPeer, ecr: number): Opts {
  const opts: Opts = {};
  if (o.mss !== false) opts.mss = o.mss ?? 1460;
  if (o.sack ?? true) opts.sackOk = true;
  if (o.ts ?? true) opts.ts = [peer.tsVal(), ecr];
  if (o.ws !== false) opts.ws = o.ws ?? 7;
  return opts;
}

/**
 * Listener on the stack's port; the peer's SYN at t=0, its third ACK at
 * t=rtt; accept() returns the ESTABLISHED endpoint.
 */
export function passiveOpen(o: OpenOptions = {}): Opened {
  const s = testStack({ sysctl: o.sysctl }, o.seed ?? 1);
  const peer = new TcpPeer(s, { port: o.port, stackPort: o.stackPort, iss: o.iss, win: o.win });
  const listener = s.stack.tcp.socket();
  listener.bind(0, peer.stackPort);
  listener.listen(16);
  const handshake = peer.send({ flags: 'S', seq: peer.iss, opts: peerSynOptions(o, peer, 0) });
  if (handshake.length !== 1 || handshake[0]!.flags !== 'S.') throw new Error(`no SYN-ACK: ${JSON.stringify(handshake)}`);
  peer.ts = o.ts ?? true;
  peer.quietUntil(o.rtt ?? 50);
  handshake.push(...peer.send({ flags: '.', seq: peer.their(1), ack: peer.our(1) }));
  const ep = listener.accept();
  if (ep === null || ep.state !== 'ESTABLISHED') throw new Error('handshake did not complete');
  return { s, peer, ep, listener, handshake };
}

/** connect() at t=0; the peer's SYN-ACK at t=rtt; the stack's ACK completes the handshake. */
export function activeOpen(o: OpenOptions = {}, before?: (ep: Endpoint) => void): Opened {
  const s = testStack({ sysctl: o.sysctl }, o.seed ?? 1);
  const peer = new TcpPeer(s, { port: o.port ?? 80, iss: o.iss ?? 5000, win: o.win });
  const ep = s.stack.tcp.socket();
  before?.(ep);
  ep.connect(PEER_IP, peer.port);
  peer.stackPort = ep.localPort;
  const handshake = peer.flush();
  if (handshake.length !== 1 || handshake[0]!.flags !== 'S') throw new Error(`no SYN: ${JSON.stringify(handshake)}`);
  peer.quietUntil(o.rtt ?? 50);
  handshake.push(...peer.send({ flags: 'S.', seq: peer.iss, ack: peer.our(1), opts: peerSynOptions(o, peer, peer.lastStackTs) }));
  peer.ts = (o.ts ?? true) && handshake[0]!.opts.ts !== undefined;
  if (ep.state !== 'ESTABLISHED') throw new Error('handshake did not complete');
  return { s, peer, ep, handshake };
}

/**
 * The peer sends `count` in-order data segments of `size` bytes (PSH set,
 * bytes pattern(size, offset)) starting at its stream offset `from`, `gap` ms
 * apart (the first `gap` ms from now); returns what the stack answered to each.
 * Throws if the stack sends anything between them.
 */
export function stream(p: TcpPeer, from: number, count: number, size: number, gap: number, ack = p.our(1)): Seen[][] {
  const answers: Seen[][] = [];
  for (let i = 0; i < count; i++) {
    p.quietUntil(p.now() + gap);
    const offset = from + i * size;
    answers.push(p.send({ flags: 'P.', seq: p.their(1 + offset), ack, data: pattern(size, offset) }));
  }
  return answers;
}
