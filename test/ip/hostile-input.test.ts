/**
 * Hostile input: random and mutated packets must never make input() throw,
 * and every one must end consumed or dropped with a named reason, with the
 * Linux counters agreeing with the drop reasons. Over IPv4, then over IPv6
 * (test/helpers/hostile6.ts makes those packets).
 */
import test from 'ava';
import { DROP_REASONS, type DropReason } from '../../stack/drop.ts';
import { SeededRandom } from '../../stack/random.ts';
import { checksum } from '../../stack/wire/checksum.ts';
import { PROTO_TCP } from '../../stack/wire/ipv4.ts';
import { echoRequest, fragment, ipPacket, udpDatagram } from '../helpers/packets.ts';
import { testStack } from '../helpers/stack.ts';
import { FRAG_QUEUE_MEMORY6 } from '../../stack/ipv6/reassembly.ts';
import type { CounterName, Counters } from '../../stack/counters.ts';
import { Hostile6, LISTEN_PORT, type Peer6 } from '../helpers/hostile6.ts';
import { ipv6Packet, STACK6, withChecksum6 } from '../helpers/packets6.ts';
import type { Endpoint } from '../../stack/socket/types.ts';

const PACKETS = 100_000;

function fixHeaderChecksum(p: Uint8Array): void {
  if (p.length < 20) return;
  const hl = Math.min((p[0]! & 15) * 4, p.length);
  p[10] = 0;
  p[11] = 0;
  const sum = checksum(p, 0, hl);
  p[10] = sum >> 8;
  p[11] = sum & 255;
}

function templates(rng: SeededRandom): Uint8Array[] {
  const tcpSyn = new Uint8Array(20);
  tcpSyn[0] = 0x9c;
  tcpSyn[1] = 0x40;
  tcpSyn[3] = 80;
  tcpSyn[12] = 0x50;
  tcpSyn[13] = 0x02;
  const withOptions = echoRequest(1, 1, 16);
  const opt = new Uint8Array(withOptions.length + 8);
  opt.set(withOptions.subarray(0, 20));
  opt.set([7, 7, 4, 0, 0, 0, 0, 1], 20);
  opt.set(withOptions.subarray(20), 28);
  opt[0] = 0x47;
  opt[3] = opt.length;
  fixHeaderChecksum(opt);
  return [
    echoRequest(rng.below(65536), rng.below(65536), rng.below(200)),
    echoRequest(7, 7, 0),
    udpDatagram(1234, 53, new Uint8Array(rng.below(100))),
    ipPacket(PROTO_TCP, tcpSyn),
    ipPacket(47, new Uint8Array(24)),
    opt,
    ...fragment(echoRequest(rng.below(65536), 1, 3000, { id: rng.below(8) }), 1000),
  ];
}

function mutate(rng: SeededRandom, original: Uint8Array): Uint8Array {
  let p = original.slice();
  const kinds = 1 + rng.below(3);
  for (let k = 0; k < kinds; k++) {
    switch (rng.below(7)) {
      case 0: // bit flips
        for (let i = 0, n = 1 + rng.below(8); i < n && p.length > 0; i++) p[rng.below(p.length)]! ^= 1 << rng.below(8);
        break;
      case 1: // truncate
        p = p.subarray(0, rng.below(p.length + 1));
        break;
      case 2: // extend with junk
        {
          const q = new Uint8Array(p.length + 1 + rng.below(64));
          q.set(p);
          for (let i = p.length; i < q.length; i++) q[i] = rng.below(256);
          p = q;
        }
        break;
      case 3: // a random header field
        if (p.length >= 20) {
          const field = [0, 2, 3, 6, 7, 9, 16, 19][rng.below(8)]!;
          p[field] = rng.below(256);
        }
        break;
      case 4: // a random byte past the IP header (transport fields)
        if (p.length > 20) p[20 + rng.below(p.length - 20)] = rng.below(256);
        break;
      case 5: // a total length that lies
        if (p.length >= 4) {
          const len = rng.below(2) === 0 ? rng.below(65536) : p.length + rng.below(9) - 4;
          p[2] = (len >> 8) & 255;
          p[3] = len & 255;
        }
        break;
      default: // fragment fields
        if (p.length >= 8) {
          p[6] = rng.below(256);
          p[7] = rng.below(256);
        }
    }
  }
  // Half the time repair the header checksum so mutations reach deeper layers.
  if (rng.below(2) === 0) fixHeaderChecksum(p);
  return p;
}

function randomPacket(rng: SeededRandom): Uint8Array {
  const p = new Uint8Array(rng.below(120));
  for (let i = 0; i < p.length; i++) p[i] = rng.below(256);
  if (p.length > 0 && rng.below(2) === 0) p[0] = 0x45;
  if (rng.below(2) === 0) fixHeaderChecksum(p);
  return p;
}

test(`${PACKETS} random and mutated packets: no exception, every packet accounted for`, (t) => {
  const rng = new SeededRandom(20261121);
  const s = testStack({}, 3);
  const verdicts = new Map<DropReason | 'consumed', number>();
  let ipv4Inputs = 0;
  for (let i = 0; i < PACKETS; i++) {
    const pool = templates(rng);
    const packet = rng.below(10) === 0 ? randomPacket(rng) : mutate(rng, pool[rng.below(pool.length)]!);
    if (packet.length > 0 && packet[0]! >> 4 === 4) ipv4Inputs++;
    let verdict: DropReason | undefined;
    t.notThrows(() => {
      verdict = s.stack.input(packet);
    });
    verdicts.set(verdict ?? 'consumed', (verdicts.get(verdict ?? 'consumed') ?? 0) + 1);
    if (i % 1000 === 0) {
      s.stack.flush();
      s.wire.take();
      s.advanceTo(s.clock.now() + 500); // let reassembly timers fire along the way
    }
  }
  s.advanceTo(s.clock.now() + 60_000);

  const d = s.stack.drops;
  const c = s.stack.counters;
  t.is(d.INTERNAL_ERROR, 0, 'the stack never failed on its own');
  let dropped = 0;
  for (const r of DROP_REASONS) {
    t.is(d[r], verdicts.get(r) ?? 0, `drop counter ${r} matches the verdicts`);
    dropped += d[r];
  }
  t.is(dropped + (verdicts.get('consumed') ?? 0), PACKETS, 'every packet consumed or dropped with a reason');
  t.is(c.IpInReceives, ipv4Inputs, 'IpInReceives counts every IPv4 packet');
  t.is(c.IpInHdrErrors + c.IpExtInTruncatedPkts, d.IP_INHDR + d.IP_CSUM + d.PKT_TOO_SMALL);
  t.is(c.IpInAddrErrors, d.IP_INADDRERRORS);
  t.is(c.IpInUnknownProtos, d.IP_NOPROTO);
  t.is(c.IpReasmFails - c.IpReasmTimeout, d.IP_FRAG_OVERLAP + d.IP_FRAG_INVALID + d.FRAG_MEM_LIMIT);
  t.is(c.IcmpInCsumErrors, d.ICMP_CSUM);
  t.is(c.UdpInCsumErrors, d.UDP_CSUM);
  t.is(s.stack.reassembler.memory, 0, 'every fragment queue released after the timeouts');
  t.is(s.stack.reassembler.queueCount, 0);
  // The mix must reach every layer, or the test proves little.
  for (const r of ['IP_CSUM', 'IP_INHDR', 'PKT_TOO_SMALL', 'IP_NOPROTO', 'ICMP_CSUM', 'UDP_CSUM', 'NO_SOCKET', 'DUP_FRAG', 'IP_FRAG_OVERLAP'] as const) {
    t.true(d[r] > 0, `the mix reached ${r}`);
  }
  t.true(c.IcmpOutEchoReps > 0 && c.IpReasmOKs > 0, 'valid traffic still answered');
});

/**
 * The Ip6 counters of which ip6_rcv_core, ip6_input_finish and the
 * extension-header and reassembly handlers move exactly one for a packet
 * that they end (or, Ip6InDelivers, hand to an upper layer), with the drop
 * reasons each goes with (stack/ipv6/input.ts).
 */
const ENDINGS6: ReadonlyArray<readonly [CounterName, ReadonlySet<DropReason | undefined> | 'any']> = [
  ['Ip6InHdrErrors', new Set(['IP_INHDR', 'PKT_TOO_SMALL', 'UNHANDLED_PROTO', 'IPV6_BAD_EXTHDR', 'IP_FRAG_INVALID'])],
  ['Ip6InTruncatedPkts', new Set(['PKT_TOO_SMALL'])],
  ['Ip6InAddrErrors', new Set(['IP_INADDRERRORS'])],
  ['Ip6InUnknownProtos', new Set(['IP_NOPROTO'])],
  ['Ip6InDiscards', new Set(['IPV6_TOO_MANY_EXTHDRS'])],
  ['Ip6ReasmFails', new Set(['FRAG_MEM_LIMIT', 'IP_FRAG_INVALID', 'IP_FRAG_OVERLAP'])],
  ['Ip6InDelivers', 'any'],
];
/**
 * Ends that move none of them: a fragment queued (Ip6ReasmReqds alone), a
 * duplicate fragment, a group we have not joined (Ip6InMcastPkts only), a
 * segment routing or RPL header (dropped unprocessed, as ipv6_srh_rcv and
 * ipv6_rpl_srh_rcv with those disabled).
 */
const UNCOUNTED6: ReadonlySet<DropReason | undefined> = new Set([undefined, 'DUP_FRAG', 'OTHERHOST', 'IPV6_BAD_EXTHDR']);

/** What one packet's input moved, as a name for the tally; undefined when it fits none of the rules above. */
function ending6(before: readonly number[], c: Counters, verdict: DropReason | undefined, reassemblyRequests: number): string | undefined {
  const moved: Array<(typeof ENDINGS6)[number]> = [];
  for (let i = 0; i < ENDINGS6.length; i++) {
    const delta = c[ENDINGS6[i]![0]] - before[i]!;
    if (delta === 0) continue;
    if (delta !== 1) return undefined;
    moved.push(ENDINGS6[i]!);
  }
  if (moved.length === 0) {
    if (!UNCOUNTED6.has(verdict)) return undefined;
    if (verdict === undefined) return reassemblyRequests > 0 ? 'queued fragment' : undefined;
    return `uncounted ${verdict}`;
  }
  // tcp_v6_conn_request counts a SYN from a v4-mapped source as a header error after delivery.
  if (moved.length === 2 && moved[0]![0] === 'Ip6InHdrErrors' && moved[1]![0] === 'Ip6InDelivers' && verdict === 'IP_INHDR') return 'Ip6InDelivers';
  if (moved.length !== 1) return undefined;
  const [name, reasons] = moved[0]!;
  if (reasons !== 'any' && !reasons.has(verdict)) return undefined;
  return name;
}

/** Connections from `count` peers to a listener on [::]:80, handshakes done by hand; the peers' sequence numbers for later segments. */
function openPeers(s: ReturnType<typeof testStack>, count: number): { peers: Peer6[]; accepted: Endpoint[]; listener: Endpoint } {
  const listener = s.stack.tcp.socket(6);
  listener.bind('::', LISTEN_PORT);
  listener.listen(16);
  const peers: Peer6[] = [];
  const accepted: Endpoint[] = [];
  const segment = (peer: Peer6, flags: number, seq: number, ack: number): Uint8Array => {
    const seg = new Uint8Array(20);
    const v = new DataView(seg.buffer);
    v.setUint16(0, peer.port);
    v.setUint16(2, LISTEN_PORT);
    v.setUint32(4, seq);
    v.setUint32(8, ack);
    seg[12] = 0x50;
    seg[13] = flags;
    v.setUint16(14, 65535);
    return ipv6Packet(6, withChecksum6(6, seg, 16, { source: peer.source }), { source: peer.source });
  };
  for (let i = 0; i < count; i++) {
    const peer: Peer6 = { source: `2001:2::1${i}`, port: 40000 + i, seq: 1000 * i + 1, ack: 0 };
    const [synAck] = s.send(segment(peer, 0x02, peer.seq - 1, 0));
    peer.ack = (new DataView(synAck!.buffer, synAck!.byteOffset).getUint32(44) + 1) >>> 0;
    s.send(segment(peer, 0x10, peer.seq, peer.ack));
    accepted.push(listener.accept()!);
    peers.push(peer);
  }
  return { peers, accepted, listener };
}

test(`${PACKETS} hostile IPv6 packets: no exception, each counted by exactly one Ip6 counter or a named uncounted end`, (t) => {
  const rng = new SeededRandom(20261122);
  // A lower reassembly threshold than the default 4 MiB, so that the flood meets it.
  const thresh = 1 << 20;
  const s = testStack({ address6: STACK6, sysctl: { ip6frag_high_thresh: thresh } }, 5);
  const { peers, accepted, listener } = openPeers(s, 4);
  t.true(accepted.every((e) => e !== null && e.state === 'ESTABLISHED'), 'four connections to aim at');
  const c = s.stack.counters;
  const base = { ...c };
  const dropsBefore = { ...s.stack.drops };
  const hostile = new Hostile6(rng, peers);
  const verdicts = new Map<DropReason | 'consumed', number>();
  const endings = new Map<string, number>();
  const unexplained: string[] = [];
  const r = s.stack.reassembler6!;
  let maxQueues = 0;
  let maxMemory = 0;
  /** Address holds after a round beyond the two of each fragment queue: our own, connections, requests, route exceptions. */
  let otherHolds = 0;
  let pending: Uint8Array[] = [];
  for (let i = 0; i < PACKETS; i++) {
    // Packets 50,000 to 60,000 are misaligned fragments that open a queue each and leave it
    // empty: more queues than the threshold allows (5699 of 184 bytes).
    if (pending.length === 0) pending = (i >= 50_000 && i < 60_000 ? hostile.manyQueues(100, true) : hostile.next()).reverse();
    if (pending.length === 0) {
      i--;
      continue;
    }
    const packet = pending.pop()!;
    const before = ENDINGS6.map(([name]) => c[name]);
    const received = c.Ip6InReceives;
    const requests = c.Ip6ReasmReqds;
    const verdict = s.stack.input(packet);
    verdicts.set(verdict ?? 'consumed', (verdicts.get(verdict ?? 'consumed') ?? 0) + 1);
    const end = c.Ip6InReceives === received + 1 ? ending6(before, c, verdict, c.Ip6ReasmReqds - requests) : undefined;
    if (end === undefined) {
      if (unexplained.length < 5) unexplained.push(`packet ${i} (${Buffer.from(packet.subarray(0, 64)).toString('hex')}): ${verdict}`);
    } else endings.set(end, (endings.get(end) ?? 0) + 1);
    maxQueues = Math.max(maxQueues, r.queueCount);
    maxMemory = Math.max(maxMemory, r.memory);
    if (i % 1000 === 999) {
      s.stack.flush();
      s.wire.take();
      otherHolds = Math.max(otherHolds, s.stack.addresses.heldCount - 2 * r.queueCount);
      // Three virtual seconds: a fragment queue lives through 20,000 packets (ip6frag_time).
      s.advanceTo(s.clock.now() + 3000);
    }
  }
  t.deepEqual(unexplained, [], 'every packet ended by one Ip6 counter or a named uncounted end');

  const d = s.stack.drops;
  t.is(d.INTERNAL_ERROR, 0, 'the stack never failed on its own');
  let dropped = 0;
  for (const reason of DROP_REASONS) {
    t.is(d[reason] - dropsBefore[reason], verdicts.get(reason) ?? 0, `drop counter ${reason} matches the verdicts`);
    dropped += d[reason] - dropsBefore[reason];
  }
  t.is(dropped + (verdicts.get('consumed') ?? 0), PACKETS, 'every packet consumed or dropped with a reason');
  t.is(c.Ip6InReceives - base.Ip6InReceives, PACKETS, 'Ip6InReceives counts every packet sent');
  t.is(c.IpInReceives, 0, 'none went to IPv4');
  t.is([...endings.values()].reduce((a, b) => a + b, 0), PACKETS);
  t.is(c.Icmp6InCsumErrors, d.ICMP_CSUM);
  t.is(c.Udp6InCsumErrors, d.UDP_CSUM);
  t.is(c.TcpInCsumErrors - base.TcpInCsumErrors, d.TCP_CSUM - dropsBefore.TCP_CSUM);
  // Refused above the threshold: one fragment past it at most.
  t.true(maxMemory <= thresh + 65535 + 512 + FRAG_QUEUE_MEMORY6, `reassembly memory bounded (most ${maxMemory})`);
  t.true(maxQueues <= Math.floor(thresh / FRAG_QUEUE_MEMORY6) + 1, `fragment queues bounded by ip6frag_high_thresh (most ${maxQueues})`);
  // The mix must reach every layer and every kind of end, or the test proves little.
  for (const reason of ['IP_INHDR', 'PKT_TOO_SMALL', 'UNHANDLED_PROTO', 'IPV6_BAD_EXTHDR', 'IPV6_TOO_MANY_EXTHDRS', 'IP_NOPROTO', 'IP_INADDRERRORS', 'OTHERHOST', 'DUP_FRAG', 'IP_FRAG_OVERLAP', 'IP_FRAG_INVALID', 'FRAG_MEM_LIMIT', 'ICMP_CSUM', 'UDP_CSUM', 'TCP_CSUM', 'TCP_INVALID', 'NO_SOCKET'] as const) {
    t.true(d[reason] > 0, `the mix reached ${reason}`);
  }
  for (const [name] of ENDINGS6) t.true((endings.get(name) ?? 0) > 0, `the mix ended packets through ${name}`);
  t.true(c.Icmp6OutEchoReplies > 0 && c.Ip6ReasmOKs > 0 && c.Icmp6OutParmProblems > 0, 'valid traffic still answered, errors sent');
  t.log([...endings.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', '));

  // Our own address, four connections, the listener's requests, route exceptions: tens; a hold kept per packet would be thousands.
  t.true(otherHolds < 200, `no address hold outlives its round but what keeps one (most ${otherHolds} beyond the queues')`);
  // Everything lets go: connections closed, queues timed out, addresses only our own.
  for (const e of accepted) e.close();
  listener.close();
  s.advanceTo(s.clock.now() + 600_000);
  s.stack.flush();
  t.is(s.stack.tcp.connections().length, 0);
  t.is(r.queueCount, 0);
  t.is(r.memory, 0, 'every fragment queue released after the timeouts');
  t.is(s.stack.addresses.heldCount, 1, 'no IPv6 address held but our own');
});
