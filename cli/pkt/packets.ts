/**
 * Packets as the runner sees them: script packet lines turned into wire
 * bytes (inbound) or into the expected header fields (outbound), packets
 * from the stack decoded field by field, compared in packetdrill's order
 * (run_packet.c verify_outbound_live_headers, verify_outbound_live_tcp_options)
 * and printed in its short dump format (packet_to_string.c). IPv4 or IPv6,
 * as the script's --ip_version puts them on the wire; TCP over IPv6 has
 * its checksum over RFC 8200 §8.1's pseudo header.
 */
import type { PacketSpec, TcpOptionSpec } from './ast.ts';
import type { ScriptAddresses } from './addresses.ts';
import { readU16, readU32, writeU32 } from '../../stack/wire/bytes.ts';
import { PROTO_TCP, ipDestination, ipHeaderLength, ipProtocol, ipSource, ipTos, ipTotalLength, ipTtl, ipVersion, writeIpv4Header } from '../../stack/wire/ipv4.ts';
import {
  IPV6_DST_OFFSET,
  IPV6_HEADER,
  IPV6_SRC_OFFSET,
  ip6FlowLabel,
  ip6HopLimit,
  ip6NextHeader,
  ip6PayloadLength,
  ip6TrafficClass,
  writeIpv6Header,
} from '../../stack/wire/ipv6.ts';
import {
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_MIN_HEADER,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  TCPOLEN_EXP_FASTOPEN_BASE,
  TCPOLEN_MSS,
  TCPOLEN_TIMESTAMP,
  TCPOLEN_WSCALE,
  TCPOPT_EOL,
  TCPOPT_MSS,
  TCPOPT_EXP,
  TCPOPT_FASTOPEN,
  TCPOPT_FASTOPEN_MAGIC,
  TCPOPT_MD5SIG,
  TCPOPT_NOP,
  TCPOPT_SACK,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TCPOPT_WSCALE,
  decodeTcpOptionList,
  completeIpv6TcpChecksum,
  encodeTcpSegment,
  rawTcpOption,
  tcpAck,
  tcpDestinationPort,
  tcpFlags,
  tcpHeaderLength,
  tcpOptionListLength,
  tcpReserved,
  tcpSegmentLength,
  tcpSeq,
  tcpSourcePort,
  tcpUrgent,
  tcpWindow,
  writeTcpOptionList,
  type TcpRawOption,
  type TcpSegmentFields,
} from '../../stack/wire/tcp.ts';

/** One option as it sits in the header: kind, total length, the bytes after kind and length. */
export type RawOption = TcpRawOption;

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

/** A TCP packet over IPv4 or IPv6, decoded (from the stack) or built (from a script line). */
export interface PacketView {
  /** 4 or 6. */
  version: number;
  /** IP header length in 32-bit words (IPv6: the fixed header's 10). */
  ihl: number;
  /** IPv4's protocol, IPv6's next header. */
  protocol: number;
  /** The whole datagram: IPv4's total length, IPv6's payload length + 40. */
  totalLength: number;
  /** IPv4's TOS byte, IPv6's traffic class. */
  tos: number;
  /** IPv4's TTL, IPv6's hop limit. */
  ttl: number;
  /** IPv6's flow label (0 in IPv4; in a script packet 0 means not checked). */
  flowLabel: number;
  /** Addresses as ScriptAddresses numbers. */
  src: number;
  dst: number;
  /** undefined: not TCP. */
  tcp: TcpView | undefined;
  payload: Uint8Array;
  /** Script packets: `win` absent (outbound: not checked). */
  winNoCheck?: boolean;
  /** Script packets: `<...>` (options not checked). */
  optionsNoCheck?: boolean;
  /** Script packets: how the TOS byte is checked (packetdrill's tos_chk; absent: not at all). */
  tosCheck?: 'none' | 'ecn' | 'ect01' | 'tos';
}

/** Options in script order, as bytes (tcp_option_new layouts). */
export function encodeOptions(list: readonly TcpOptionSpec[]): Uint8Array {
  const raw = list.map(rawTcpOption);
  const out = new Uint8Array(tcpOptionListLength(raw));
  writeTcpOptionList(out, 0, raw);
  return out;
}

/**
 * Walks an options area the way packetdrill's tcp_options_iterator does:
 * EOL and NOP are one byte, every other kind has a length byte. Returns an
 * error string for a truncated or impossible option.
 */
export function parseOptions(area: Uint8Array): RawOption[] | string {
  const list = decodeTcpOptionList(area);
  return list.malformed === undefined ? list.options : list.malformed.reason;
}

/**
 * Decodes a packet the stack sent; a string describes why it is not an
 * IP packet. IPv6 addresses become numbers of `addresses`.
 */
export function decodePacket(p: Uint8Array, addresses: ScriptAddresses): PacketView | string {
  if (p.length >= 1 && p[0]! >> 4 === 6) return decodeIpv6(p, addresses);
  if (p.length < 20) return `packet of ${p.length} bytes is too short for IPv4`;
  const version = ipVersion(p);
  const hl = ipHeaderLength(p);
  const totalLength = ipTotalLength(p);
  const protocol = ipProtocol(p);
  const view: PacketView = {
    version,
    ihl: hl >> 2,
    protocol,
    totalLength,
    tos: ipTos(p),
    ttl: ipTtl(p),
    flowLabel: 0,
    src: ipSource(p),
    dst: ipDestination(p),
    tcp: undefined,
    payload: new Uint8Array(0),
  };
  if (version !== 4 || hl < 20 || totalLength > p.length || totalLength < hl) return 'malformed IPv4 header';
  if (protocol !== PROTO_TCP) return view;
  return decodeTcp(view, p.subarray(hl, totalLength));
}

/** An IPv6 packet: TCP when the fixed header's next header says so (TCP sends no extension headers). */
function decodeIpv6(p: Uint8Array, addresses: ScriptAddresses): PacketView | string {
  if (p.length < IPV6_HEADER) return `packet of ${p.length} bytes is too short for IPv6`;
  const payloadLength = ip6PayloadLength(p);
  if (IPV6_HEADER + payloadLength > p.length) return 'malformed IPv6 header';
  const view: PacketView = {
    version: 6,
    ihl: IPV6_HEADER >> 2,
    protocol: ip6NextHeader(p),
    totalLength: IPV6_HEADER + payloadLength,
    tos: ip6TrafficClass(p),
    ttl: ip6HopLimit(p),
    flowLabel: ip6FlowLabel(p),
    src: addresses.intern(p, IPV6_SRC_OFFSET),
    dst: addresses.intern(p, IPV6_DST_OFFSET),
    tcp: undefined,
    payload: new Uint8Array(0),
  };
  if (view.protocol !== PROTO_TCP) return view;
  return decodeTcp(view, p.subarray(IPV6_HEADER, IPV6_HEADER + payloadLength));
}

function decodeTcp(view: PacketView, t: Uint8Array): PacketView | string {
  if (t.length < TCP_MIN_HEADER) return 'TCP header truncated';
  const thl = tcpHeaderLength(t);
  const doff = thl >> 2;
  if (thl < TCP_MIN_HEADER || thl > t.length) return `bad TCP data offset ${doff}`;
  const options = parseOptions(t.subarray(TCP_MIN_HEADER, thl));
  if (typeof options === 'string') return options;
  const f = tcpFlags(t);
  const reserved = tcpReserved(t);
  view.tcp = {
    sport: tcpSourcePort(t),
    dport: tcpDestinationPort(t),
    seq: tcpSeq(t),
    ack: tcpAck(t),
    doff,
    fin: (f & TCP_FIN) !== 0,
    syn: (f & TCP_SYN) !== 0,
    rst: (f & TCP_RST) !== 0,
    psh: (f & TCP_PSH) !== 0,
    ackFlag: (f & TCP_ACK) !== 0,
    urg: (f & TCP_URG) !== 0,
    ece: (f & TCP_ECE) !== 0,
    cwr: (f & TCP_CWR) !== 0,
    ae: (reserved & 1) !== 0,
    res1: reserved >> 1,
    window: tcpWindow(t),
    urgPtr: tcpUrgent(t),
    options,
  };
  view.payload = t.slice(thl);
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

/** The packet a script line describes, in script space (sequence numbers as written), over IPv4 or IPv6. */
export function scriptPacket(spec: PacketSpec, version: 4 | 6 = 4, src = 0, dst = 0): PacketView {
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
  const ipHeader = version === 6 ? IPV6_HEADER : 20;
  return {
    version,
    ihl: ipHeader >> 2,
    protocol: PROTO_TCP,
    totalLength: ipHeader + TCP_MIN_HEADER + optionBytes.length + spec.len,
    tos: spec.ipInfo?.tos ?? 0,
    ttl: spec.ipInfo?.ttl ?? 0,
    // set_ip_header writes a flow label into an IPv6 header only.
    flowLabel: version === 6 ? (spec.ipInfo?.flowLabel ?? 0) : 0,
    tosCheck: spec.ipInfo?.tosCheck ?? 'none',
    src,
    dst,
    tcp,
    payload: new Uint8Array(spec.len),
    winNoCheck: spec.win === undefined,
    optionsNoCheck: spec.options === undefined,
  };
}

/** Wire bytes for a PacketView (checksums computed): what the runner injects. */
export function encodePacket(v: PacketView, addresses: ScriptAddresses, ipId = 0, ttl = 64): Uint8Array {
  const tcp = v.tcp!;
  const fields: TcpSegmentFields = {
    sourcePort: tcp.sport,
    destinationPort: tcp.dport,
    seq: tcp.seq,
    ack: tcp.ack,
    flags:
      (tcp.fin ? TCP_FIN : 0) |
      (tcp.syn ? TCP_SYN : 0) |
      (tcp.rst ? TCP_RST : 0) |
      (tcp.psh ? TCP_PSH : 0) |
      (tcp.ackFlag ? TCP_ACK : 0) |
      (tcp.urg ? TCP_URG : 0) |
      (tcp.ece ? TCP_ECE : 0) |
      (tcp.cwr ? TCP_CWR : 0),
    window: tcp.window,
    urgent: tcp.urgPtr,
    reserved: ((tcp.res1 & 7) << 1) | (tcp.ae ? 1 : 0),
    optionList: tcp.options,
    payload: v.payload,
  };
  const segmentLength = tcpSegmentLength(fields);
  if (v.version === 6) {
    const p = new Uint8Array(IPV6_HEADER + segmentLength);
    writeIpv6Header(p, 0, segmentLength, PROTO_TCP, ttl, v.tos, v.flowLabel, addresses.bytes(v.src), 0, addresses.bytes(v.dst), 0);
    encodeTcpSegment(p, IPV6_HEADER, fields, 0, 0);
    completeIpv6TcpChecksum(p);
    return p;
  }
  const p = new Uint8Array(20 + segmentLength);
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
  encodeTcpSegment(p, 20, fields, v.src, v.dst);
  return p;
}

/** The TS option's val/ecr, or undefined (the last TS option, like find_tcp_timestamp). */
export function findTimestamp(tcp: TcpView): RawOption | undefined {
  let found: RawOption | undefined;
  for (const o of tcp.options) if (o.kind === TCPOPT_TIMESTAMP && o.length === TCPOLEN_TIMESTAMP) found = o;
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

/**
 * Adds `offset` to every SACK block edge, left and right (offset_sack_blocks):
 * the edges are 4-byte words, so the walk steps and bounds by 4.
 */
export function offsetSackBlocks(tcp: TcpView, offset: number): void {
  for (const o of tcp.options) {
    if (o.kind !== TCPOPT_SACK || o.length < 10) continue;
    const data = o.data.slice();
    for (let i = 0; i + 4 <= data.length; i += 4) writeU32(data, i, (readU32(data, i) + offset) >>> 0);
    o.data = data;
  }
}

export function optionToString(o: RawOption): string {
  switch (o.kind) {
    case TCPOPT_EOL:
      return 'eol';
    case TCPOPT_NOP:
      return 'nop';
    case TCPOPT_MSS:
      return o.length === TCPOLEN_MSS ? `mss ${readU16(o.data, 0)}` : `mss(len ${o.length})`;
    case TCPOPT_WSCALE:
      return o.length === TCPOLEN_WSCALE ? `wscale ${o.data[0]}` : `wscale(len ${o.length})`;
    case TCPOPT_SACK_PERMITTED:
      return 'sackOK';
    case TCPOPT_SACK: {
      const blocks: string[] = [];
      for (let i = 0; i + 8 <= o.data.length; i += 8) blocks.push(`${readU32(o.data, i)}:${readU32(o.data, i + 4)}`);
      return `sack ${blocks.join(' ')}`;
    }
    case TCPOPT_TIMESTAMP:
      return o.length === TCPOLEN_TIMESTAMP ? `TS val ${tsVal(o)} ecr ${tsEcr(o)}` : `TS(len ${o.length})`;
    // tcp_md5_option_to_string: `md5 0011…`.
    case TCPOPT_MD5SIG:
      return withCookie('md5', o.data);
    // tcp_fast_open_option_to_string: `FO`, `FO 0011…`, `FOEXP …`.
    case TCPOPT_FASTOPEN:
      return withCookie('FO', o.data);
    case TCPOPT_EXP:
      if (o.length >= TCPOLEN_EXP_FASTOPEN_BASE && readU16(o.data, 0) === TCPOPT_FASTOPEN_MAGIC) return withCookie('FOEXP', o.data.subarray(2));
      return `kind ${o.kind} len ${o.length}`;
    default:
      return `kind ${o.kind} len ${o.length}`;
  }
}

function withCookie(name: string, cookie: Uint8Array): string {
  return cookie.length === 0 ? name : `${name} ${Array.from(cookie, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The ECN field as packetdrill writes it in packet lines. */
const ECN_NAMES = ['[noecn]', '[ect1]', '[ect0]', '[ce]'];

/** packetdrill's DUMP_SHORT form: `S. 0:0(0) ack 1 win 65535 <mss 1460,nop,wscale 7>`. */
export function formatPacket(v: PacketView): string {
  const t = v.tcp;
  if (!t) return v.version === 4 && v.protocol === 1 ? 'icmpv4' : v.version === 6 && v.protocol === 58 ? 'icmpv6' : `IP protocol ${v.protocol}`;
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
  // The ECN field where it matters: a script line that checks it, a live packet that carries ECT or CE.
  if (v.tosCheck === 'ect01') s = `[ect01] ${s}`;
  else if (v.tosCheck === 'ecn' || (v.tosCheck === undefined && (v.tos & 3) !== 0)) s = `${ECN_NAMES[v.tos & 3]} ${s}`;
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
 * verify_outbound_live_headers: the IP (verify_ipv4 or verify_ipv6) then
 * the TCP fields, in packetdrill's order; returns the first mismatch.
 * `strict` false is the looser check between two fragments of one
 * aggregated send (seq must continue, FIN/PSH/CWR and lengths may differ).
 */
export function verifyHeaders(actual: PacketView, script: PacketView, strict: boolean): string | undefined {
  const allowance = script.optionsNoCheck && actual.tcp ? tcpOptionListLength(actual.tcp.options) : 0;
  if (actual.version !== script.version) {
    return `live packet header layer 0: expected: IPV${script.version} header vs actual: IPV${actual.version} header`;
  }
  const ipError = script.version === 6 ? verifyIpv6(actual, script, strict, allowance) : verifyIpv4(actual, script, strict, allowance);
  if (ipError) return ipError;
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

function verifyIpv4(actual: PacketView, script: PacketView, strict: boolean, allowance: number): string | undefined {
  if (actual.version !== script.version) return fieldError('ipv4_version', script.version, actual.version);
  if (actual.protocol !== script.protocol) return fieldError('ipv4_protocol', script.protocol, actual.protocol);
  if (actual.ihl !== script.ihl) return fieldError('ipv4_header_length', script.ihl, actual.ihl);
  if (strict && actual.totalLength !== script.totalLength + allowance) {
    return fieldError('ipv4_total_length', script.totalLength + allowance, actual.totalLength);
  }
  return verifyTosAndTtl(actual, script);
}

function verifyIpv6(actual: PacketView, script: PacketView, strict: boolean, allowance: number): string | undefined {
  if (actual.version !== script.version) return fieldError('ipv6_version', script.version, actual.version);
  const payloadLength = (v: PacketView): number => v.totalLength - IPV6_HEADER;
  if (strict && payloadLength(actual) !== payloadLength(script) + allowance) {
    return fieldError('ipv6_payload_len', payloadLength(script) + allowance, payloadLength(actual));
  }
  if (actual.protocol !== script.protocol) return fieldError('ipv6_next_header', script.protocol, actual.protocol);
  return verifyTosAndTtl(actual, script);
}

/** verify_outbound_live_tos (IPv6: the traffic class), then verify_outbound_live_ttl_or_hl. */
function verifyTosAndTtl(actual: PacketView, script: PacketView): string | undefined {
  const ecn = actual.tos & 3;
  if (script.tosCheck === 'ect01' && ecn !== 1 && ecn !== 2) return `live packet field ip_ecn: expected: 0x1 or 0x2 vs actual: 0x${ecn.toString(16)}`;
  if (script.tosCheck === 'ecn' && ecn !== script.tos) return fieldError('ip_ecn', script.tos, ecn);
  if (script.tosCheck === 'tos' && actual.tos !== script.tos) return fieldError('tos', script.tos, actual.tos);
  // 255 is packetdrill's TTL_CHECK_NONE, what an unwritten TTL becomes: [ttl 255] checks nothing either.
  if (script.ttl !== 0 && script.ttl !== 255 && actual.ttl !== script.ttl) return fieldError('ttl', script.ttl, actual.ttl);
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
    if (ao.kind === TCPOPT_EOL || ao.kind === TCPOPT_NOP) continue;
    if (ao.kind === TCPOPT_TIMESTAMP) {
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

/**
 * verify_outbound_live_ipv6_flowlabel: a script flow label is a name, not a
 * value. The first one a socket's script uses stands for whatever label the
 * live packet carries; the same name later must see the same label, a new
 * name a different one. Without one nothing is checked. `sock.flowLabels`
 * is the socket's map (ScriptSocket.flowLabels), updated here.
 */
export function verifyFlowLabel(sock: { flowLabels: { script: number; live: number } }, scriptLabel: number, liveLabel: number): string | undefined {
  if (scriptLabel === 0) return undefined;
  if (liveLabel === 0) return 'flowlabel unmarked in the live packet';
  const map = sock.flowLabels;
  if (map.script === 0 || scriptLabel !== map.script) {
    if (map.script !== 0 && liveLabel === map.live) return 'expected a different flowlabel but got the same';
    map.script = scriptLabel;
    map.live = liveLabel;
    return undefined;
  }
  if (liveLabel !== map.live) return `inconsistent flowlabels for this packet: expected: 0x${map.live.toString(16)} vs actual: 0x${liveLabel.toString(16)}`;
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
