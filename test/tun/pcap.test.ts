import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../stack/clock.ts';
import type { BatchHandler, Link } from '../../stack/link.ts';
import { SeededRandom } from '../../stack/random.ts';
import { Stack } from '../../stack/stack.ts';
import { memoryLinkPair } from '../../tun/memory-link.ts';
import { LINKTYPE_RAW, PcapTap, PcapWriter } from '../../tun/pcap.ts';
import { echoRequest, STACK } from '../helpers/packets.ts';
import { echoRequest6, STACK6 } from '../helpers/packets6.ts';
import { segment6 } from './impair-stream.ts';

/** tcpdump reads the captures back where it is installed; elsewhere the checks that need it are skipped, not passed. */
const hasTcpdump = spawnSync('tcpdump', ['--version']).error === undefined;
const withTcpdump = hasTcpdump ? test : test.skip;

/** Reads a classic pcap file back: header fields and each record's bytes. */
function readPcap(path: string): { linktype: number; records: Array<{ seconds: number; micros: number; data: Buffer }> } {
  const buf = readFileSync(path);
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('bad magic');
  const records = [];
  for (let off = 24; off < buf.length; ) {
    const seconds = buf.readUInt32LE(off);
    const micros = buf.readUInt32LE(off + 4);
    const captured = buf.readUInt32LE(off + 8);
    records.push({ seconds, micros, data: buf.subarray(off + 16, off + 16 + captured) });
    off += 16 + captured;
  }
  return { linktype: buf.readUInt32LE(20), records };
}

test('a pcap tap records both directions with virtual timestamps, and tcpdump reads it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-pcap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'run.pcap');
  const clock = new VirtualClock(1_000);
  const [stackSide, kernelSide] = memoryLinkPair();
  const writer = new PcapWriter(path, () => 1_700_000_000_000_000 + Math.round(clock.now() * 1000));
  const link = new PcapTap(stackSide, writer);
  const stack = new Stack({ address: STACK, clock, random: new SeededRandom(1), link });
  link.onReceive((batch) => stack.inputBatch(batch));
  const replies: Uint8Array[] = [];
  kernelSide.onReceive((batch) => replies.push(...batch));

  for (let seq = 1; seq <= 3; seq++) {
    kernelSide.send([echoRequest(77, seq, 32)]);
    stackSide.deliver();
    clock.advance(250);
    kernelSide.deliver();
  }
  link.close();
  t.is(replies.length, 3);

  const pcap = readPcap(path);
  t.is(pcap.linktype, LINKTYPE_RAW);
  t.is(pcap.records.length, 6);
  t.deepEqual(
    pcap.records.map((r) => r.data[20]),
    [8, 0, 8, 0, 8, 0],
    'request, reply, in order',
  );
  t.deepEqual(pcap.records[1]!.data, Buffer.from(replies[0]!));
  t.is(pcap.records[2]!.seconds, 1_700_000_001);
  t.is(pcap.records[2]!.micros, 250_000);

  const tcpdump = spawnSync('tcpdump', ['-nn', '-r', path], { encoding: 'utf8' });
  if (tcpdump.error) {
    t.log('tcpdump not installed: read-back by tcpdump not checked here (the interop test checks it)');
    return;
  }
  t.is(tcpdump.status, 0, tcpdump.stderr);
  const lines = tcpdump.stdout.trim().split('\n');
  t.is(lines.length, 6);
  t.regex(lines[0]!, /198\.18\.0\.1 > 198\.18\.0\.2: ICMP echo request, id 77, seq 1, length 40/);
  t.regex(lines[1]!, /198\.18\.0\.2 > 198\.18\.0\.1: ICMP echo reply, id 77, seq 1, length 40/);
});

test('a pcap writer never overwrites a file that is already there (O_EXCL)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-pcap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'kept.pcap');
  writeFileSync(path, 'not ours\n');
  const error = t.throws(() => new PcapWriter(path));
  t.is((error as NodeJS.ErrnoException).code, 'EEXIST');
  t.is(readFileSync(path, 'utf8'), 'not ours\n');
});

test('a pcap tap passes a batch\'s backlogged mark on with the batch', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-pcap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let inner: BatchHandler | undefined;
  const innerLink: Link = { mtu: 1500, send: () => undefined, onReceive: (h) => (inner = h), close: () => undefined };
  const tap = new PcapTap(innerLink, new PcapWriter(join(dir, 'run.pcap'), () => 0));
  const marks: Array<boolean | undefined> = [];
  tap.onReceive((_batch, backlogged) => marks.push(backlogged));
  inner!([echoRequest(1, 1, 8)], true);
  inner!([echoRequest(1, 2, 8)], false);
  inner!([echoRequest(1, 3, 8)]);
  tap.close();
  t.deepEqual(marks, [true, false, undefined]);
});

withTcpdump('IPv6 packets are recorded whole beside IPv4 ones in the same LINKTYPE_RAW capture, and tcpdump decodes both', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-pcap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'dual.pcap');
  const clock = new VirtualClock(0);
  const [stackSide, kernelSide] = memoryLinkPair();
  const link = new PcapTap(stackSide, new PcapWriter(path, () => 1_700_000_000_000_000 + Math.round(clock.now() * 1000)));
  const stack = new Stack({ address: STACK, address6: STACK6, clock, random: new SeededRandom(1), link });
  link.onReceive((batch) => stack.inputBatch(batch));
  const listener = stack.tcp.socket(6);
  listener.bind('::', 80);
  listener.listen(4);
  const sent = [echoRequest6(77, 1, 16), segment6(5000, 'in', 60, 0x02, [80, 40000]), echoRequest(78, 2, 8)];
  const replies: Uint8Array[] = [];
  kernelSide.onReceive((batch) => replies.push(...batch));
  for (const p of sent) {
    kernelSide.send([p]);
    stackSide.deliver();
    stack.flush();
    clock.advance(10);
    kernelSide.deliver();
  }
  link.close();
  t.is(replies.length, 3, 'an echo reply, a SYN-ACK, an echo reply');

  const pcap = readPcap(path);
  t.deepEqual(
    pcap.records.map((r) => r.data),
    [sent[0], replies[0], sent[1], replies[1], sent[2], replies[2]].map((p) => Buffer.from(p!)),
    'every packet byte for byte, in order',
  );
  t.deepEqual(pcap.records.map((r) => r.data[0]! >> 4), [6, 6, 6, 6, 4, 4]);

  const tcpdump = spawnSync('tcpdump', ['-nn', '-v', '-r', path], { encoding: 'utf8' });
  t.is(tcpdump.status, 0, tcpdump.stderr);
  const text = tcpdump.stdout;
  t.regex(text, /IP6 \(hlim 64, next-header ICMPv6 \(58\) payload length: 24\) 2001:2::1 > 2001:2::2: \[icmp6 sum ok\] ICMP6, echo request, id 77, seq 1/);
  t.regex(text, /IP6 \(flowlabel 0x[0-9a-f]+, hlim 64, next-header ICMPv6 \(58\) payload length: 24\) 2001:2::2 > 2001:2::1: \[icmp6 sum ok\] ICMP6, echo reply, id 77, seq 1/);
  t.regex(text, /2001:2::1\.40000 > 2001:2::2\.80: Flags \[S\], cksum 0x[0-9a-f]+ \(correct\), seq 5000/);
  t.regex(text, /2001:2::2\.80 > 2001:2::1\.40000: Flags \[S\.\], cksum 0x[0-9a-f]+ \(correct\), seq \d+, ack 5001/);
  t.regex(text, /198\.18\.0\.2 > 198\.18\.0\.1: ICMP echo reply, id 78, seq 2, length 16/);
  t.notRegex(text, /incorrect|bad|truncated|unknown/i);
});
