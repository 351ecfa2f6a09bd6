/**
 * Segments whose TCP options are malformed are kept, as Linux keeps them
 * (docs/linux-behaviour.md, TCP options): tcp_parse_options
 * (net/ipv4/tcp_input.c) stops at an option with no room for its length
 * byte, a length below 2 or a length past the end of the header, keeps what
 * it parsed before, and counts nothing. Known kinds with the wrong length
 * (MSS 4, WS 3, SACK_PERM 2, TS 10, SACK 2 + 8n) are skipped and ignored, a
 * window scale above 14 is taken as 14, a repeated option overwrites the
 * earlier one, MSS 0 is ignored, and MSS, WS and SACK_PERM count only on a
 * SYN. So a listener still answers a SYN with such options with the SYN-ACK
 * Linux would send (what the SYN offered up to the bad option), and an
 * established connection takes and acknowledges such a data segment.
 *
 * Every SYN case, both data segments and the SYN-ACK case were run against
 * Linux 6.18.44: raw
 * segments from scapy in one namespace to a kernel listener (or from a
 * kernel connect()) in another over veth; the SYN-ACK options, and
 * TCP_MAXSEG and TCP_INFO's SACK and window scales of the kernel's socket,
 * were the ones expected here. (The third
 * ACK opens a 65535-byte window because Linux bounds the MSS to half the
 * largest window the peer offered, tcp_bound_to_half_wnd.)
 */
import test from 'ava';
import { IPV4_MIN_HEADER, PROTO_TCP, ipHeaderLength, ipId, ipTtl, writeIpv4Header } from '../../stack/wire/ipv4.ts';
import { setTcpChecksum, tcpHeaderLength } from '../../stack/wire/tcp.ts';
import { snap } from '../helpers/reset-paths.ts';
import { testStack } from '../helpers/stack.ts';
import { PEER_ADDR, PEER_IP, STACK_ADDR, TcpPeer, passiveOpen, type Opts, type Out } from '../helpers/tcp-peer.ts';

const u16 = (v: number): number[] => [v >>> 8, v & 255];
const u32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const MSS = (v: number): number[] => [2, 4, ...u16(v)];
const SACK_PERM = [4, 2];
const WS = (shift: number): number[] => [1, 3, 3, shift];
const TS = (val: number, ecr: number): number[] => [1, 1, 8, 10, ...u32(val), ...u32(ecr)];

/**
 * The peer's packet for `spec` with exactly `options` as its options area,
 * padded to 32 bits with EOL: the bytes the test writes, valid or not.
 */
function withOptionBytes(p: TcpPeer, spec: Out, options: number[]): Uint8Array {
  const plain = p.packet({ ...spec, opts: undefined });
  const hl = ipHeaderLength(plain);
  const thl = tcpHeaderLength(plain.subarray(hl));
  if (thl !== 20) throw new Error('the peer added options of its own');
  const area = (options.length + 3) & ~3;
  const out = new Uint8Array(plain.length + area);
  out.set(plain.subarray(hl, hl + thl), IPV4_MIN_HEADER);
  out.set(options, IPV4_MIN_HEADER + thl);
  out.set(plain.subarray(hl + thl), IPV4_MIN_HEADER + thl + area);
  out[IPV4_MIN_HEADER + 12] = ((thl + area) >>> 2) << 4;
  writeIpv4Header(out, 0, {
    totalLength: out.length,
    id: ipId(plain),
    dontFragment: true,
    ttl: ipTtl(plain),
    protocol: PROTO_TCP,
    source: PEER_ADDR,
    destination: STACK_ADDR,
  });
  setTcpChecksum(out.subarray(IPV4_MIN_HEADER), PEER_ADDR, STACK_ADDR);
  return out;
}

interface SynCase {
  name: string;
  options: number[];
  /** The options of our SYN-ACK (our MSS is always there). */
  synAck: Opts;
  /** What the child took from the SYN: the MSS it sends with, the peer's window scale, SACK. */
  mss: number;
  sndWscale: number;
  sack: boolean;
}

const SYN_CASES: SynCase[] = [
  {
    name: 'length 0 first: nothing after it is read (MSS 536, no SACK, no WS)',
    options: [2, 0, ...MSS(1460), ...SACK_PERM, ...WS(7)],
    synAck: { mss: 1460 },
    mss: 536,
    sndWscale: 0,
    sack: false,
  },
  {
    name: 'length 1 after MSS and SACK_PERM: those two count, the WS after it does not',
    options: [...MSS(1200), ...SACK_PERM, 99, 1, ...WS(7)],
    synAck: { mss: 1460, sackOk: true },
    mss: 1200,
    sndWscale: 0,
    sack: true,
  },
  {
    name: 'a TS running past the end of the header: the MSS before it counts',
    options: [...MSS(1200), 1, 1, 8, 10, 0, 0, 0, 0],
    synAck: { mss: 1460 },
    mss: 1200,
    sndWscale: 0,
    sack: false,
  },
  {
    name: 'a kind without its length byte at the end: the options before it count',
    options: [...MSS(1200), ...WS(7), 1, 1, 1, 4],
    synAck: { mss: 1460, ws: 10 },
    mss: 1200,
    sndWscale: 7,
    sack: false,
  },
  {
    name: 'a SACK of the wrong length (6) is skipped; the options after it count',
    options: [...MSS(1200), 5, 6, 0, 0, 0, 0, ...SACK_PERM, ...WS(7)],
    synAck: { mss: 1460, sackOk: true, ws: 10 },
    mss: 1200,
    sndWscale: 7,
    sack: true,
  },
  {
    name: 'MSS, WS, SACK_PERM and TS of the wrong lengths are skipped and ignored; a good WS after them counts',
    options: [2, 3, 5, 3, 4, 7, 0, 4, 3, 0, 8, 8, 0, 0, 0, 0, 0, 0, ...WS(7)],
    synAck: { mss: 1460, ws: 10 },
    mss: 536,
    sndWscale: 7,
    sack: false,
  },
  {
    name: 'WS 15 is taken as 14 (no counter)',
    options: [...MSS(1200), ...WS(15)],
    synAck: { mss: 1460, ws: 10 },
    mss: 1200,
    sndWscale: 14,
    sack: false,
  },
  {
    name: 'repeated MSS and WS: the later ones count',
    options: [...MSS(1000), ...MSS(1200), ...WS(3), ...WS(5)],
    synAck: { mss: 1460, ws: 10 },
    mss: 1200,
    sndWscale: 5,
    sack: false,
  },
  {
    name: 'MSS 0 is ignored (536), and does not undo an earlier MSS',
    options: [...MSS(0), ...SACK_PERM, 1, 1],
    synAck: { mss: 1460, sackOk: true },
    mss: 536,
    sndWscale: 0,
    sack: true,
  },
  {
    name: 'MSS 0 after MSS 1200 leaves 1200',
    options: [...MSS(1200), ...MSS(0)],
    synAck: { mss: 1460 },
    mss: 1200,
    sndWscale: 0,
    sack: false,
  },
];

for (const c of SYN_CASES) {
  test(`malformed options on a SYN: ${c.name}`, (t) => {
    const s = testStack();
    const l = s.stack.tcp.socket();
    l.bind(0, 80);
    l.listen(16);
    const p = new TcpPeer(s);
    const before = snap(s);
    s.stack.input(withOptionBytes(p, { flags: 'S', seq: 1000 }, c.options));
    const answer = p.flush();
    t.deepEqual(
      answer.map((a) => [a.flags, a.ack, a.opts]),
      [['S.', 1001, c.synAck]],
    );
    t.is(s.stack.counters.TcpInErrs, before.TcpInErrs, 'not an error');
    p.quietUntil(50);
    t.deepEqual(p.send({ flags: '.', seq: 1001, ack: p.our(1), win: 65535 }), []);
    const ep = l.accept();
    t.is(ep?.state, 'ESTABLISHED');
    const info = ep!.info();
    t.deepEqual([info.mss, info.sndWscale, info.sack, info.timestamps], [c.mss, c.sndWscale, c.sack, false]);
  });
}

test('malformed options on an established data segment: the data is taken and ACKed as without them; TS before the bad option counts', (t) => {
  const { s, peer: p, ep } = passiveOpen({ ts: true });
  const before = snap(s);
  p.ts = false; // the options are the test's own bytes
  p.quietUntil(100);
  const val = p.tsVal();
  // NOP NOP TS, then an option of length 1: parsing stops there.
  const bad = withOptionBytes(p, { flags: 'P.', seq: p.their(1), ack: p.our(1), data: 100 }, [...TS(val, p.lastStackTs), 30, 1, 0, 0]);
  s.stack.input(bad);
  const answer = p.flush();
  t.deepEqual(
    answer.map((a) => [a.flags, a.seq, a.ack, a.len, a.opts]),
    [['.', p.our(1), p.their(101), 0, { ts: [p.stackTs(), val] }]],
  );
  t.is(ep.read()?.length, 100);
  t.is(s.stack.counters.TcpInErrs, before.TcpInErrs);

  // A length past the end of the header: the same.
  p.quietUntil(200);
  const val2 = p.tsVal();
  s.stack.input(withOptionBytes(p, { flags: 'P.', seq: p.their(101), ack: p.our(1), data: 50 }, [...TS(val2, p.lastStackTs), 30, 12, 0, 0]));
  const answer2 = p.flush();
  t.deepEqual(answer2.map((a) => [a.flags, a.ack, a.opts.ts?.[1]]), [['.', p.their(151), val2]]);
  t.is(ep.read()?.length, 50);
  t.is(s.stack.counters.TcpInErrs, before.TcpInErrs);
});

test('MSS, WS and SACK_PERM on a segment that is not a SYN are ignored', (t) => {
  const { s, peer: p, ep } = passiveOpen({ ts: false, ws: 7, mss: 1460 });
  const infoBefore = ep.info();
  p.quietUntil(100);
  s.stack.input(withOptionBytes(p, { flags: 'P.', seq: p.their(1), ack: p.our(1), data: 10 }, [...MSS(100), ...WS(1), ...SACK_PERM, 1, 1]));
  t.deepEqual(p.flush().map((a) => [a.flags, a.ack]), [['.', p.their(11)]]);
  const info = ep.info();
  t.deepEqual([info.mss, info.sndWscale, info.sack], [infoBefore.mss, infoBefore.sndWscale, infoBefore.sack]);
  t.is(ep.read()?.length, 10);
});

test('malformed options on a SYN-ACK: the handshake completes with what came before the bad option (tcp_rcv_synsent_state_process parses as tcp_parse_options)', (t) => {
  const s = testStack();
  const ep = s.stack.tcp.socket();
  ep.connect(PEER_IP, 80);
  const p = new TcpPeer(s, { port: 80, stackPort: ep.localPort, iss: 5000 });
  t.is(p.flush()[0]?.flags, 'S');
  p.quietUntil(50);
  // SACK_PERM, then an option of length 0: the MSS and WS after it are not read.
  s.stack.input(withOptionBytes(p, { flags: 'S.', seq: 5000, ack: p.our(1), win: 65535 }, [...SACK_PERM, 2, 0, ...MSS(1200), ...WS(7)]));
  t.deepEqual(p.flush().map((a) => [a.flags, a.ack]), [['.', 5001]]);
  t.is(ep.state, 'ESTABLISHED');
  const info = ep.info();
  t.deepEqual([info.mss, info.sndWscale, info.rcvWscale, info.sack], [536, 0, 0, true]);
});
