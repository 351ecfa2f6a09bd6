/**
 * The differential harness over IPv6, its pure parts, without root: the
 * capture read in IPv6, the kernel's IPv6 RST reasons from tracefs, the
 * counters of /proc/net/snmp6 and their names per family, the addresses and
 * segment sizes per family, and the nftables rules of faults over IPv6.
 */
import test from 'ava';
import { familyCounterName, compareCounters, parseProcNet } from '../../cli/scenario/counters.ts';
import { familyMss, fullSegmentBytes, isUnspecified, leaseAddresses } from '../../cli/scenario/family.ts';
import { ours } from '../../cli/scenario/kernel-run.ts';
import { normalise, type RunRecord } from '../../cli/scenario/normalise.ts';
import { readPcapBuffer } from '../../cli/scenario/pcap-read.ts';
import { findScenario, scenariosFor, SCENARIOS } from '../../cli/scenario/registry.ts';
import { segmentFaultFamily, segmentFaultTable } from '../../cli/scenario/segment-faults.ts';
import { faultTableBody } from '../../cli/scenario/steps.ts';
import { parseResetTraces } from '../../cli/scenario/tracefs.ts';
import type { SegmentSelector } from '../../cli/scenario/types.ts';
import { parseIpv6 } from '../../stack/wire/addr6.ts';

const P6 = '2001:2:0:7::1';
const S6 = '2001:2:0:7::2';

/** A TCP segment (20-byte header plus `options`, `payload` zero bytes) in an IPv6 packet. */
function ipv6Tcp(o: { src: string; dst: string; sport: number; dport: number; seq: number; ack: number; flags: number; options?: number[]; payload?: number; nextHeader?: number; ext?: number[] }): Buffer {
  const opts = o.options ?? [];
  const tcp = Buffer.alloc(20 + opts.length + (o.payload ?? 0));
  tcp.writeUInt16BE(o.sport, 0);
  tcp.writeUInt16BE(o.dport, 2);
  tcp.writeUInt32BE(o.seq, 4);
  tcp.writeUInt32BE(o.ack, 8);
  tcp[12] = ((20 + opts.length) / 4) << 4;
  tcp[13] = o.flags;
  tcp.writeUInt16BE(64800, 14);
  Buffer.from(opts).copy(tcp, 20);
  const ext = Buffer.from(o.ext ?? []);
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x6000_0000 | 0x12345, 0); // version 6, a flow label
  ip.writeUInt16BE(ext.length + tcp.length, 4);
  ip[6] = o.nextHeader ?? 6;
  ip[7] = 64;
  Buffer.from(parseIpv6(o.src)!).copy(ip, 8);
  Buffer.from(parseIpv6(o.dst)!).copy(ip, 24);
  return Buffer.concat([ip, ext, tcp]);
}

/** A classic pcap file (µs, little-endian) of `frames` with link type `linktype`. */
function pcap(linktype: number, frames: Buffer[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(linktype, 20);
  const records = frames.map((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1000 + i, 0);
    r.writeUInt32LE(500, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    return Buffer.concat([r, f]);
  });
  return Buffer.concat([head, ...records]);
}

// The options of a Linux SYN over IPv6: MSS 1440, SACK permitted, timestamps, NOP, window scale 10.
const SYN_OPTIONS = [2, 4, 0x05, 0xa0, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 10];

test('the capture reads TCP over IPv6 (raw IP, Ethernet, cooked), addresses as inet_ntop prints them, and leaves other IPv6 out', (t) => {
  const syn = ipv6Tcp({ src: P6, dst: S6, sport: 40000, dport: 5000, seq: 1000, ack: 0, flags: 0x02, options: SYN_OPTIONS });
  const data = ipv6Tcp({ src: S6, dst: P6, sport: 5000, dport: 40000, seq: 7, ack: 1001, flags: 0x18, options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2], payload: 1428 });
  // ICMPv6 (a neighbour solicitation's next header): not TCP.
  const nd = ipv6Tcp({ src: P6, dst: 'ff02::1:ff00:2', sport: 0, dport: 0, seq: 0, ack: 0, flags: 0, nextHeader: 58 });
  // A destination options header (8 bytes of PadN) before TCP: walked over.
  const withExt = ipv6Tcp({ src: P6, dst: S6, sport: 40000, dport: 5000, seq: 1001, ack: 8, flags: 0x10, ext: [6, 0, 1, 4, 0, 0, 0, 0], nextHeader: 60 });
  const frames = [syn, data, nd, withExt];
  const eth = (f: Buffer): Buffer => Buffer.concat([Buffer.alloc(12), Buffer.from([0x86, 0xdd]), f]);
  const cooked = (f: Buffer): Buffer => Buffer.concat([Buffer.alloc(14), Buffer.from([0x86, 0xdd]), f]);
  for (const [linktype, wrap] of [
    [101, (f: Buffer) => f],
    [229, (f: Buffer) => f],
    [1, eth],
    [113, cooked],
  ] as const) {
    const packets = readPcapBuffer(pcap(linktype, frames.map(wrap)));
    t.is(packets.length, 3, `link type ${linktype}`);
    const [a, b, c] = packets;
    t.like(a, { src: P6, dst: S6, sport: 40000, dport: 5000, seq: 1000, flags: 0x02, len: 0, tUs: 1000 * 1e6 + 500 });
    t.deepEqual(a!.options, ['mss', 'sackOK', 'ts', 'nop', 'wscale']);
    t.like(b, { src: S6, dst: P6, seq: 7, ack: 1001, len: 1428 });
    t.like(c, { src: P6, dst: S6, seq: 1001, ack: 8, len: 0 });
  }
  // A compressed form, as the tracepoint and our lease write them.
  t.is(readPcapBuffer(pcap(101, [ipv6Tcp({ src: '2001:2:0:0a::1', dst: '2001:0002:0:a:0:0:0:2', sport: 1, dport: 2, seq: 0, ack: 0, flags: 2 })]))[0]!.dst, '2001:2:0:a::2');
});

test("tcp_send_reset over IPv6: bracketed addresses read as the capture prints them; an IPv6 listener's reset is [::]:PORT > [::]:0", (t) => {
  const text = [
    '         python3-17321   [001] ..s1. 61475.141681: tcp_send_reset: skbaddr=00000000d96c5661 skaddr=0000000000000000 src=[2001:2:0:f0::2]:5009 dest=[2001:2:0:f0::1]:37728 state=UNKNOWN reason=NO_SOCKET',
    '         python3-17362   [000] ..s1. 61475.230563: tcp_send_reset: skbaddr=00000000006dd835 skaddr=00000000d47f5045 src=[::]:5000 dest=[::]:0 state=TCP_LISTEN reason=TCP_FLAGS',
    '          <idle>-0       [000] ..s1. 61476.000001: tcp_send_reset: skbaddr=000000001 skaddr=000000002 src=198.19.3.2:5000 dest=198.19.3.1:40000 state=TCP_ESTABLISHED reason=TCP_ABORT_ON_CLOSE',
  ].join('\n');
  const r = parseResetTraces(text, 10);
  t.deepEqual(r[0], { tUs: 61475141681 + 10, src: '2001:2:0:f0::2', sport: 5009, dst: '2001:2:0:f0::1', dport: 37728, state: 'UNKNOWN', reason: 'NO_SOCKET' });
  t.like(r[1], { src: '::', sport: 5000, dst: '::', dport: 0, reason: 'TCP_FLAGS' });
  t.like(r[2], { src: '198.19.3.2', dst: '198.19.3.1', reason: 'TCP_ABORT_ON_CLOSE' });
  const mine = ours('2001:2:0:f0::1', '2001:2:0:f0::2');
  t.deepEqual(r.map(mine), [true, true, false]);
  t.true(isUnspecified('::') && isUnspecified('0.0.0.0') && !isUnspecified('::1'));
});

test("a listener's IPv6 reset traced as [::] is matched to the captured RST by port and time", (t) => {
  const scenario = findScenario('bad-ack', 6)!;
  const rst = { tUs: 2_000_100, src: S6, dst: P6, sport: 5000, dport: 20001, seq: 5555, ack: 0, flags: 0x04, window: 0, options: [], len: 0 };
  const run: RunRecord = {
    mode: 'kernel', scenario: scenario.name, family: 6, subjectAddr: S6, peerAddr: P6,
    steps: [{ index: 1, startUs: 2_000_000, endUs: 2_000_001, result: 'ok' }],
    packets: [rst],
    resets: [{ tUs: 2_000_090, src: '::', sport: 5000, dst: '::', dport: 0, reason: 'TCP_FLAGS', origin: 'tracepoint' }],
    notes: [], wallMs: 1,
  };
  const n = normalise(run, scenario);
  t.is(n.events[0]!.reason, 'TCP_FLAGS');
  t.deepEqual(n.offWire, []);
});

test('/proc/net/snmp6 (one counter a line) read beside snmp and netstat; IPv4 names map to their IPv6 counterparts', (t) => {
  const c = parseProcNet('Tcp: RetransSegs OutRsts\nTcp: 3 1\nIp6InReceives                   \t14\nIp6OutRequests                  \t9\nIcmp6InType135                  \t2\n');
  t.deepEqual(c, { TcpRetransSegs: 3, TcpOutRsts: 1, Ip6InReceives: 14, Ip6OutRequests: 9, Icmp6InType135: 2 });
  t.throws(() => parseProcNet('Ip6InReceives 1 2\n'), { message: /neither NAME VALUE nor a header/ });
  const six = (n: string): string | undefined => familyCounterName(n, 6);
  t.is(six('IpOutRequests'), 'Ip6OutRequests');
  t.is(six('IpInDelivers'), 'Ip6InDelivers');
  t.is(six('IpExtInOctets'), 'Ip6InOctets');
  t.is(six('IpForwDatagrams'), 'Ip6OutForwDatagrams');
  t.is(six('IcmpInDestUnreachs'), 'Icmp6InDestUnreachs');
  t.is(six('IcmpOutParmProbs'), 'Icmp6OutParmProblems');
  t.is(six('IcmpOutEchoReps'), 'Icmp6OutEchoReplies');
  t.is(six('IcmpMsgOutType3'), 'Icmp6OutType1');
  t.is(six('IcmpMsgInType8'), 'Icmp6InType128');
  t.is(six('IcmpOutRateLimitGlobal'), 'IcmpOutRateLimitGlobal', 'one host-wide limit for both families');
  t.is(six('UdpNoPorts'), 'Udp6NoPorts');
  t.is(six('TcpRetransSegs'), 'TcpRetransSegs', 'one TCP MIB for both families');
  t.is(six('TcpExtTCPLossProbes'), 'TcpExtTCPLossProbes');
  t.is(six('Ip6InReceives'), 'Ip6InReceives');
  t.is(six('IpExtInCsumErrors'), undefined, 'IPv6 has no header checksum');
  t.is(six('IcmpMsgOutType13'), undefined);
  t.is(familyCounterName('IpOutRequests', 4), 'IpOutRequests');
  // Compared under the family's name; one without a counterpart is a difference, not a pass.
  const rows = compareCounters(['IpOutRequests', 'TcpRetransSegs', 'IpExtInCsumErrors'], { Ip6OutRequests: 9, TcpRetransSegs: 3 }, { Ip6OutRequests: 9, TcpRetransSegs: 2 }, 6);
  t.deepEqual(
    rows.map((r) => [r.name, r.ok, r.why]),
    [
      ['Ip6OutRequests', true, undefined],
      ['TcpRetransSegs', false, 'kernel 3, stack 2'],
      ['IpExtInCsumErrors', false, 'no IPv6 counterpart of this counter'],
    ],
  );
});

test('per family: the lease addresses, the MSS of a 1500-byte MTU and a full segment with timestamps', (t) => {
  t.deepEqual(leaseAddresses(7, 4), { peer: '198.19.7.1', subject: '198.19.7.2', prefix: 24 });
  t.deepEqual(leaseAddresses(250, 6), { peer: '2001:2:0:fa::1', subject: '2001:2:0:fa::2', prefix: 64 });
  t.throws(() => leaseAddresses(0, 6));
  t.deepEqual([familyMss(4), familyMss(6)], [1460, 1440]);
  t.deepEqual([fullSegmentBytes(4), fullSegmentBytes(6)], [1448, 1428]);
});

test('the scenarios built for IPv6 are the same list; the loss scenarios write 100 full IPv6 segments and select them by 1428 bytes', (t) => {
  t.deepEqual(
    scenariosFor(6).map((s) => s.name),
    SCENARIOS.map((s) => s.name),
  );
  for (const [family, bytes] of [
    [4, 1448],
    [6, 1428],
  ] as const) {
    const loss = findScenario('loss-tail-reno', family)!;
    const write = loss.steps.find((s) => s.op === 'write')!;
    t.is('bytes' in write ? write.bytes : 0, 100 * bytes);
    const fault = loss.steps.find((s) => s.op === 'fault' && s.fault?.segments !== undefined);
    t.is(fault?.op === 'fault' ? fault.fault?.segments?.bytes : 0, bytes);
    const injected = findScenario('injected-acks', family)!.steps.find((s) => s.op === 'fault' && s.fault?.segments !== undefined);
    t.is(injected?.op === 'fault' ? injected.fault?.segments?.bytes : 0, bytes);
  }
  // Those that do not depend on the family are the same scenario.
  t.is(findScenario('keepalive', 6), findScenario('keepalive', 4));
});

test('faults over IPv6: ip6 selectors, neighbour discovery left alone; segment faults in an ip6 table on the payload length', (t) => {
  const body = faultTableBody(6, S6, [{ dir: 'in' }, { dir: 'out', only: 'pure-ack' }]);
  const chainIn = body.slice(body.indexOf('chain in'), body.indexOf('chain out'));
  const chainOut = body.slice(body.indexOf('chain out'));
  for (const chain of [chainIn, chainOut]) t.regex(chain, /icmpv6 type \{ nd-neighbor-solicit, nd-neighbor-advert \} accept\n/);
  t.regex(chainIn, new RegExp(`accept\\n\\s+ip6 saddr ${S6} drop`));
  t.regex(chainOut, new RegExp(`ip6 daddr ${S6} tcp flags == ack drop`));
  t.notRegex(faultTableBody(4, '198.19.7.2', [{ dir: 'in' }]), /icmpv6|ip6/);
  t.regex(faultTableBody(4, '198.19.7.2', [{ dir: 'in' }]), /ip saddr 198\.19\.7\.2 drop/);

  t.is(segmentFaultFamily(6), 'ip6');
  t.is(segmentFaultFamily(4), 'ip');
  const sel: SegmentSelector = { sock: 'a', from: 20, to: 20, times: 1, action: 'dup', bytes: 1428 };
  const target = { family: 6 as const, subjectAddr: S6, peerAddr: P6, subjectPort: 5000, peerPort: 40000, isn: 1000 };
  const seg = segmentFaultTable(sel, target);
  t.regex(seg, new RegExp(`iifname != "lo" ip6 saddr ${S6} ip6 daddr ${P6} ip6 length > 60 tcp sport 5000 tcp dport 40000 tcp sequence \\{ ${1000 + 1 + 19 * 1428} \\} jump count`));
  t.regex(seg, new RegExp(`add @passed1 \\{ tcp sequence \\} dup to ${P6}`));
  const carrying = segmentFaultTable({ ...sel, action: 'drop' }, { ...target, carrying: true });
  t.regex(carrying, new RegExp(`ip6 length > ${60 + 1428} tcp sport 5000 tcp dport 40000 tcp sequence \\{ ${1000 + 1 + 18 * 1428} \\}`));
});
