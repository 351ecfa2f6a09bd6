/**
 * Packets as the runner sees them: script packet lines turned into wire
 * bytes (inbound) or into the expected header fields (outbound), packets
 * from the stack decoded field by field, compared in packetdrill's order
 * (run_packet.c verify_outbound_live_headers, verify_outbound_live_tcp_options)
 * and printed in its short dump format (packet_to_string.c).
 */
import type { PacketSpec, TcpOptionSpec } from './ast.ts';
import { pseudoHeaderSum, checksum } from '../../stack/wire/checksum.ts';
import { PROTO_TCP, writeIpv4Header } from '../../stack/wire/ipv4.ts';

export const OPT_EOL = 0;
export const OPT_NOP = 1;
export const OPT_MSS = 2;
export const OPT_WSCALE = 3;
export const OPT_SACK_PERM = 4;
export const OPT_SACK = 5;
export const OPT_TIMESTAMP = 8;

/** One option as it sits in the header: kind, total length, the bytes after kind and length. */
export interface RawOption {
  kind: number;
  length: number;
  data: Uint8Array;
}

export interface TcpView {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  /** Data offset in 32-bit words. */
  doff: number;
  fin: boolean;
  syn: boolean;
  rst: boolean;
  psh: boolean;
  ackFlag: boolean;
  urg: boolean;
  ece: boolean;
  cwr: boolean;
  ae: boolean;
  res1: number;
  window: number;
  urgPtr: number;
  options: RawOption[];
}

/** An IPv4/TCP packet, decoded (from the stack) or built (from a script line). */
export interface PacketView {
  version: number;
  /** IP header length in 32-bit words. */
  ihl: number;
  protocol: number;
  totalLength: number;
  tos: number;
  ttl: number;
  src: number;
  dst: number;
  /** undefined: not TCP. */
  tcp: TcpView | undefined;
  payload: Uint8Array;
  /** Script packets: `win` absent (outbound: not checked). */
  winNoCheck?: boolean;
  /** Script packets: `<...>` (options not checked). */
  optionsNoCheck?: boolean;
}

function readU32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 24) & 255;
  b[i + 1] = (v >>> 16) & 255;
  b[i + 2] = (v >>> 8) & 255;
  b[i + 3] = v & 255;
}

/** Options in script order, as bytes (tcp_option_new layouts). */
export function encodeOptions(list: readonly TcpOptionSpec[]): Uint8Array {
  const out: number[] = [];
  const u32 = (v: number): void => void out.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  for (const o of list) {
    switch (o.kind) {
      case 'nop':
        out.push(OPT_NOP);
        break;
      case 'eol':
        out.push(OPT_EOL);
        break;
      case 'mss':
        out.push(OPT_MSS, 4, o.value >>> 8, o.value & 255);
        break;
      case 'wscale':
        out.push(OPT_WSCALE, 3, o.value);
        break;
      case 'sackOK':
        out.push(OPT_SACK_PERM, 2);
        break;
      case 'sack':
        out.push(OPT_SACK, 2 + 8 * o.blocks.length);
        for (const [l, r] of o.blocks) {
          u32(l);
          u32(r);
        }
        break;
      case 'ts':
        out.push(OPT_TIMESTAMP, 10);
        u32(o.val);
        u32(o.ecr);
        break;
    }
  }
  return Uint8Array.from(out);
}

/**
 * Walks an options area the way packetdrill's tcp_options_iterator does:
 * EOL and NOP are one byte, every other kind has a length byte. Returns an
 * error string for a truncated or impossible option.
 */
export function parseOptions(area: Uint8Array): RawOption[] | string {
  const list: RawOption[] = [];
  let i = 0;
  while (i < area.length) {
    const kind = area[i]!;
    if (kind === OPT_EOL || kind === OPT_NOP) {
      list.push({ kind, length: 1, data: new Uint8Array(0) });
      i++;
      continue;
    }
    if (i + 1 >= area.length) return `TCP option of kind ${kind} has no length byte`;
    const length = area[i + 1]!;
    if (length < 2 || i + length > area.length) return `TCP option of kind ${kind} has bad length ${length}`;
    list.push({ kind, length, data: area.slice(i + 2, i + length) });
    i += length;
  }
  return list;
}

/** Decodes a packet the stack sent; a string describes why it is not an IPv4 packet. */
export function decodePacket(p: Uint8Array): PacketView | string {
  if (p.length < 20) return `packet of ${p.length} bytes is too short for IPv4`;
  const version = p[0]! >> 4;
  const ihl = p[0]! & 15;
  const totalLength = (p[2]! << 8) | p[3]!;
  const protocol = p[9]!;
  const view: PacketView = {
    version,
    ihl,
    protocol,
    totalLength,
    tos: p[1]!,
    ttl: p[8]!,
    src: readU32(p, 12),
    dst: readU32(p, 16),
    tcp: undefined,
    payload: new Uint8Array(0),
  };
  const hl = ihl * 4;
  if (version !== 4 || hl < 20 || totalLength > p.length || totalLength < hl) return 'malformed IPv4 header';
  if (protocol !== PROTO_TCP) return view;
  const t = p.subarray(hl, totalLength);
  if (t.length < 20) return 'TCP header truncated';
  const doff = t[12]! >> 4;
  if (doff < 5 || doff * 4 > t.length) return `bad TCP data offset ${doff}`;
  const options = parseOptions(t.subarray(20, doff * 4));
  if (typeof options === 'string') return options;
  const f = t[13]!;
  view.tcp = {
    sport: (t[0]! << 8) | t[1]!,
    dport: (t[2]! << 8) | t[3]!,
    seq: readU32(t, 4),
    ack: readU32(t, 8),
    doff,
    fin: (f & 0x01) !== 0,
    syn: (f & 0x02) !== 0,
    rst: (f & 0x04) !== 0,
    psh: (f & 0x08) !== 0,
    ackFlag: (f & 0x10) !== 0,
    urg: (f & 0x20) !== 0,
    ece: (f & 0x40) !== 0,
    cwr: (f & 0x80) !== 0,
    ae: (t[12]! & 0x01) !== 0,
    res1: (t[12]! >> 1) & 7,
    window: (t[14]! << 8) | t[15]!,
    urgPtr: (t[18]! << 8) | t[19]!,
    options,
  };
  view.payload = t.slice(doff * 4);
  return view;
}

/** Sets the flag fields of a TcpView from a script's letters (packetdrill's new_tcp_packet). */
function applyFlags(tcp: TcpView, flags: string): void {
  tcp.fin = flags.includes('F');
  tcp.syn = flags.includes('S');
  tcp.rst = flags.includes('R');
  tcp.psh = flags.includes('P');
  tcp.ackFlag = flags.includes('.');
  tcp.urg = flags.includes('U');
  const ace = /[0-7]/.exec(flags);
  if (ace) {
    const n = Number(ace[0]);
    tcp.ece = (n & 1) !== 0;
    tcp.cwr = (n & 2) !== 0;
    tcp.ae = (n & 4) !== 0;
  } else {
    tcp.ece = flags.includes('E');
    tcp.cwr = flags.includes('W') || flags.includes('C');
    tcp.ae = flags.includes('A');
  }
}

/** The packet a script line describes, in script space (sequence numbers as written). */
export function scriptPacket(spec: PacketSpec, src = 0, dst = 0): PacketView {
  const optionBytes = spec.options ? encodeOptions(spec.options) : new Uint8Array(0);
  const parsed = parseOptions(optionBytes);
  const tcp: TcpView = {
    sport: spec.srcPort,
    dport: spec.dstPort,
    seq: spec.seq,
    ack: spec.ack,
    doff: 5 + optionBytes.length / 4,
    fin: false,
    syn: false,
    rst: false,
    psh: false,
    ackFlag: false,
    urg: false,
    ece: false,
    cwr: false,
    ae: false,
    res1: 0,
    window: spec.win ?? 0,
    urgPtr: spec.urg,
    options: typeof parsed === 'string' ? [] : parsed,
  };
  applyFlags(tcp, spec.flags);
  return {
    version: 4,
    ihl: 5,
    protocol: PROTO_TCP,
    totalLength: 40 + optionBytes.length + spec.len,
    tos: 0,
    ttl: 0,
    src,
    dst,
    tcp,
    payload: new Uint8Array(spec.len),
    winNoCheck: spec.win === undefined,
    optionsNoCheck: spec.options === undefined,
  };
}

/** Wire bytes for a TcpView (checksums computed): what the runner injects. */
export function encodePacket(v: PacketView, ipId = 0, ttl = 64): Uint8Array {
  const tcp = v.tcp!;
  const opts = encodeRawOptions(tcp.options);
  const tcpLen = 20 + opts.length + v.payload.length;
  const p = new Uint8Array(20 + tcpLen);
  writeIpv4Header(p, 0, {
    totalLength: p.length,
    id: ipId,
    dontFragment: false,
    ttl,
    tos: v.tos,
    protocol: PROTO_TCP,
    source: v.src,
    destination: v.dst,
  });
  const t = 20;
  p[t] = tcp.sport >>> 8;
  p[t + 1] = tcp.sport & 255;
  p[t + 2] = tcp.dport >>> 8;
  p[t + 3] = tcp.dport & 255;
  writeU32(p, t + 4, tcp.seq >>> 0);
  writeU32(p, t + 8, tcp.ack >>> 0);
  p[t + 12] = (((20 + opts.length) >>> 2) << 4) | ((tcp.res1 & 7) << 1) | (tcp.ae ? 1 : 0);
  p[t + 13] =
    (tcp.fin ? 0x01 : 0) |
    (tcp.syn ? 0x02 : 0) |
    (tcp.rst ? 0x04 : 0) |
    (tcp.psh ? 0x08 : 0) |
    (tcp.ackFlag ? 0x10 : 0) |
    (tcp.urg ? 0x20 : 0) |
    (tcp.ece ? 0x40 : 0) |
    (tcp.cwr ? 0x80 : 0);
  p[t + 14] = tcp.window >>> 8;
  p[t + 15] = tcp.window & 255;
  p[t + 18] = tcp.urgPtr >>> 8;
  p[t + 19] = tcp.urgPtr & 255;
  p.set(opts, t + 20);
  p.set(v.payload, t + 20 + opts.length);
  const sum = checksum(p, t, p.length, pseudoHeaderSum(v.src, v.dst, PROTO_TCP, tcpLen));
  p[t + 16] = sum >>> 8;
  p[t + 17] = sum & 255;
  return p;
}

export function encodeRawOptions(list: readonly RawOption[]): Uint8Array {
  let n = 0;
  for (const o of list) n += o.length;
  const out = new Uint8Array(n);
  let i = 0;
  for (const o of list) {
    out[i] = o.kind;
    if (o.length > 1) {
      out[i + 1] = o.length;
      out.set(o.data, i + 2);
    }
    i += o.length;
  }
  return out;
}

export function optionsLength(list: readonly RawOption[]): number {
  let n = 0;
  for (const o of list) n += o.length;
  return n;
}

/** The TS option's val/ecr, or undefined (the last TS option, like find_tcp_timestamp). */
export function findTimestamp(tcp: TcpView): RawOption | undefined {
  let found: RawOption | undefined;
  for (const o of tcp.options) if (o.kind === OPT_TIMESTAMP && o.length === 10) found = o;
  return found;
}

export function tsVal(o: RawOption): number {
  return readU32(o.data, 0);
}

export function tsEcr(o: RawOption): number {
  return readU32(o.data, 4);
}

export function setTsVal(o: RawOption, v: number): void {
  o.data = o.data.slice();
  writeU32(o.data, 0, v >>> 0);
}

export function setTsEcr(o: RawOption, v: number): void {
  o.data = o.data.slice();
  writeU32(o.data, 4, v >>> 0);
}

/** Adds `offset` to every SACK block edge (offset_sack_blocks). */
export function offsetSackBlocks(tcp: TcpView, offset: number): void {
  for (const o of tcp.options) {
    if (o.kind !== OPT_SACK || o.length < 10) continue;
    const data = o.data.slice();
    for (let i = 0; i + 8 <= data.length; i += 4) writeU32(data, i, (readU32(data, i) + offset) >>> 0);
    o.data = data;
  }
}

export function optionToString(o: RawOption): string {
  switch (o.kind) {
    case OPT_EOL:
      return 'eol';
    case OPT_NOP:
      return 'nop';
    case OPT_MSS:
      return o.length === 4 ? `mss ${(o.data[0]! << 8) | o.data[1]!}` : `mss(len ${o.length})`;
    case OPT_WSCALE:
      return o.length === 3 ? `wscale ${o.data[0]}` : `wscale(len ${o.length})`;
    case OPT_SACK_PERM:
      return 'sackOK';
    case OPT_SACK: {
      const blocks: string[] = [];
      for (let i = 0; i + 8 <= o.data.length; i += 8) blocks.push(`${readU32(o.data, i)}:${readU32(o.data, i + 4)}`);
      return `sack ${blocks.join(' ')}`;
    }
    case OPT_TIMESTAMP:
      return o.length === 10 ? `TS val ${tsVal(o)} ecr ${tsEcr(o)}` : `TS(len ${o.length})`;
    default:
      return `kind ${o.kind} len ${o.length}`;
  }
}

/** packetdrill's DUMP_SHORT form: `S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>`. */
export function formatPacket(v: PacketView): string {
  const t = v.tcp;
  if (!t) return v.protocol === 1 ? 'icmpv4' : `IP protocol ${v.protocol}`;
  let flags = '';
  if (t.fin) flags += 'F';
  if (t.syn) flags += 'S';
  if (t.rst) flags += 'R';
  if (t.psh) flags += 'P';
  if (t.ackFlag) flags += '.';
  if (t.urg) flags += 'U';
  if (t.ece) flags += 'E';
  if (t.cwr) flags += 'W';
  if (t.ae) flags += 'A';
  const len = v.payload.length;
  let s = `${flags} ${t.seq}:${(t.seq + len) >>> 0}(${len})`;
  if (t.ackFlag) s += ` ack ${t.ack}`;
  if (!v.winNoCheck) s += ` win ${t.window}`;
  if (t.options.length > 0) s += ` <${t.options.map(optionToString).join(',')}>`;
  return s;
}

/** check_field's message. */
function fieldError(name: string, expected: number, actual: number): string {
  return `live packet field ${name}: expected: ${expected >>> 0} (0x${(expected >>> 0).toString(16)}) vs actual: ${actual >>> 0} (0x${(actual >>> 0).toString(16)})`;
}

const b = (x: boolean): number => (x ? 1 : 0);

/**
 * verify_outbound_live_headers: the IPv4 then the TCP fields, in
 * packetdrill's order; returns the first mismatch. `strict` false is the
 * looser check between two fragments of one aggregated send (seq must
 * continue, FIN/PSH/CWR and lengths may differ).
 */
export function verifyHeaders(actual: PacketView, script: PacketView, strict: boolean): string | undefined {
  const allowance = script.optionsNoCheck && actual.tcp ? optionsLength(actual.tcp.options) : 0;
  if (actual.version !== script.version) return fieldError('ipv4_version', script.version, actual.version);
  if (actual.protocol !== script.protocol) return fieldError('ipv4_protocol', script.protocol, actual.protocol);
  if (actual.ihl !== script.ihl) return fieldError('ipv4_header_length', script.ihl, actual.ihl);
  if (strict && actual.totalLength !== script.totalLength + allowance) {
    return fieldError('ipv4_total_length', script.totalLength + allowance, actual.totalLength);
  }
  if (script.ttl !== 0 && actual.ttl !== script.ttl) return fieldError('ttl', script.ttl, actual.ttl);
  const a = actual.tcp;
  const s = script.tcp;
  if (!a || !s) return a === s ? undefined : 'live packet header layer 1: expected: TCP header vs actual: another protocol';
  const checks: Array<[string, number, number, boolean]> = [
    ['tcp_data_offset', s.doff + allowance / 4, a.doff, true],
    ['tcp_fin', b(s.fin), b(a.fin), strict],
    ['tcp_syn', b(s.syn), b(a.syn), true],
    ['tcp_rst', b(s.rst), b(a.rst), true],
    ['tcp_psh', b(s.psh), b(a.psh), strict],
    ['tcp_ack', b(s.ackFlag), b(a.ackFlag), true],
    ['tcp_urg', b(s.urg), b(a.urg), true],
    ['tcp_ece', b(s.ece), b(a.ece), true],
    ['tcp_cwr', b(s.cwr), b(a.cwr), strict],
    ['tcp_ae', b(s.ae), b(a.ae), true],
    ['tcp_reserved_bits', s.res1, a.res1, true],
    ['tcp_seq', strict ? s.seq : (s.seq + script.payload.length) >>> 0, a.seq, true],
    ['tcp_ack_seq', s.ack, a.ack, true],
    ['tcp_window', s.window, a.window, !script.winNoCheck],
    ['tcp_urg_ptr', s.urgPtr, a.urgPtr, true],
  ];
  for (const [name, expected, got, enabled] of checks) {
    if (enabled && expected >>> 0 !== got >>> 0) return fieldError(name, expected, got);
  }
  return undefined;
}

function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * verify_outbound_live_tcp_options: same kinds in the same order; equal
 * lengths and bytes except for TS, whose val is compared only with a tick
 * (`tsCheck` returns an error or undefined).
 */
export function verifyOptions(actual: PacketView, script: PacketView, tsCheck: () => string | undefined): string | undefined {
  if (script.optionsNoCheck) return undefined;
  const a = actual.tcp!.options;
  const s = script.tcp!.options;
  for (let i = 0; i < Math.max(a.length, s.length); i++) {
    const ao = a[i];
    const so = s[i];
    if (!ao || !so || ao.kind !== so.kind) return 'bad outbound TCP options';
    if (ao.kind === OPT_EOL || ao.kind === OPT_NOP) continue;
    if (ao.kind === OPT_TIMESTAMP) {
      const e = tsCheck();
      if (e) return e;
      continue;
    }
    let err: string | undefined;
    if (so.length !== ao.length) err = 'bad length';
    if (so.length > 2 && !bytesEqual(ao.data, so.data)) err = 'bad value';
    if (err) return `${err} in outbound TCP option (kind=${so.kind}): expected: ${optionToString(so)} actual: ${optionToString(ao)}`;
  }
  return undefined;
}

export function verifyPayload(actual: PacketView, script: PacketView): string | undefined {
  return bytesEqual(actual.payload, script.payload) ? undefined : 'incorrect outbound data payload';
}

/** A deep copy (the runner rewrites copies into script space). */
export function clonePacket(v: PacketView): PacketView {
  return {
    ...v,
    payload: v.payload,
    tcp: v.tcp ? { ...v.tcp, options: v.tcp.options.map((o) => ({ ...o })) } : undefined,
  };
}
