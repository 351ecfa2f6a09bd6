/**
 * Hostile input: random and mutated packets must never make input() throw,
 * and every one must end consumed or dropped with a named reason, with the
 * Linux counters agreeing with the drop reasons.
 */
import test from 'ava';
import { DROP_REASONS, type DropReason } from '../../stack/drop.ts';
import { SeededRandom } from '../../stack/random.ts';
import { checksum } from '../../stack/wire/checksum.ts';
import { PROTO_TCP } from '../../stack/wire/ipv4.ts';
import { echoRequest, fragment, ipPacket, udpDatagram } from '../helpers/packets.ts';
import { testStack } from '../helpers/stack.ts';

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
