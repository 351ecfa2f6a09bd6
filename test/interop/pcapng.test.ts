/**
 * `tcpstack up --pcap FILE.pcapng` on a real TUN device in a throw-away
 * namespace, read back by tshark, checked against what happened: tcpdump on
 * the same device (the kernel's view of the wire), the counters up prints
 * at exit, and what the kernel-side client saw.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { viewPacket } from '../../tun/impair/packet.ts';
import { RandomFaults } from '../../tun/impair/random-faults.ts';
import { readPcapng } from '../../tun/pcapng-read.ts';
import { createNetns, execInNetns } from '../../tun/netns.ts';
import { interopSkipReason, parseCounters, removeNetns, startCli, uniqueNetns } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'python3', 'tcpdump', 'tshark']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`interop pcapng test skipped: ${skip}`);

const ADDR = '198.18.0.2';
const SEED = 5;
const LOSS_OUT = 0.03;
const RST_NO_SOCKET = 'RST: noSocket (tcp_v4_send_reset in tcp_v4_rcv no_tcp_socket), reason NO_SOCKET';
const RST_CLOSE_UNREAD = 'RST: closeWithUnread (tcp_send_active_reset in __tcp_close (data_was_unread)), reason TCP_ABORT_ON_CLOSE';

/** The kernel's side: a closed port, 20000 bytes to partial-read (which closes after reading 4096), 256 KiB through echo. */
const CLIENT = `
import socket
A = '${ADDR}'
try:
    socket.create_connection((A, 9), timeout=10)
    print('9 open')
except ConnectionRefusedError:
    print('9 refused')
s = socket.create_connection((A, 4001), timeout=10)
try:
    s.sendall(b'x' * 20000)
    while s.recv(65536):
        pass
    print('4001 eof')
except (ConnectionResetError, BrokenPipeError):
    print('4001 reset')
s.close()
data = bytes((i * 7) & 255 for i in range(256 * 1024))
s = socket.create_connection((A, 7), timeout=30)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = b''
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
s.close()
print('7 echo', got == data)
`;

/** Classic pcap records (tcpdump -w on a TUN device: LINKTYPE_RAW), with their timestamps. */
function readKernelPcap(path: string): Array<{ micros: number; data: Buffer }> {
  const buf = readFileSync(path);
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('expected a microsecond little-endian pcap from tcpdump');
  const out = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const incl = buf.readUInt32LE(off + 8);
    if (off + 16 + incl > buf.length) break;
    out.push({ micros: buf.readUInt32LE(off) * 1e6 + buf.readUInt32LE(off + 4), data: buf.subarray(off + 16, off + 16 + incl) });
    off += 16 + incl;
  }
  return out;
}

/** Which outgoing packet the seed loses first (1 for the first): the seed fixes the n-th packet's fate in each direction. */
function firstLostOutbound(): number {
  const faults = new RandomFaults({ loss: LOSS_OUT }, SEED, 'out');
  for (let n = 1; n <= 10_000; n++) if (faults.lose()) return n;
  throw new Error('no loss in 10000 packets');
}

interop('up --pcap FILE.pcapng: tshark shows each packet\'s direction and comment, and they agree with tcpdump on the device, the exit counters and the client', async (t: ExecutionContext) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-pcapng-'));
  const netns = uniqueNetns('pcapng');
  createNetns(netns);
  t.teardown(() => {
    removeNetns(netns);
    rmSync(dir, { recursive: true, force: true });
  });
  const rules = join(dir, 'rules.json');
  writeFileSync(
    rules,
    JSON.stringify({
      rules: [
        // 1: the kernel's second data segment to partial-read never reaches the stack.
        { match: { direction: 'in', protocol: 'tcp', dstPort: 4001, length: { min: 1 }, nth: 2 }, action: 'drop' },
        // 2: behind the kernel's third data segment to echo, a bare ACK the kernel never sent (a duplicate ACK to the stack).
        { match: { direction: 'in', protocol: 'tcp', dstPort: 7, length: { min: 1 }, nth: 3 }, action: { inject: { toward: 'receiver', flags: 'A', seq: '+0', ack: '+0' } } },
      ],
    }),
  );
  const capture = join(dir, 'run.pcapng');
  const kernelPcap = join(dir, 'kernel.pcap');
  const stack = startCli(['up', '--netns', netns, '--services', 'echo,partial-read', '--pcap', capture, '--faults', rules, '--loss', `out:${LOSS_OUT * 100}%`, '--seed', String(SEED)]);
  t.teardown(async () => {
    await stack.stop('SIGKILL');
  });
  const ready = await stack.ready();
  t.regex(ready, / pcap=\S+run\.pcapng /);

  // The kernel's own view of the device, from before the first packet to after the last. A
  // snap length of 1600 (every packet is at most the MTU, 1500, with offloads off under
  // impairments) keeps the ring's slots small: at tcpdump's 262144 its 2 MiB held 8 packets.
  const tcpdump = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '--immediate-mode', '-U', '-nn', '-Z', 'root', '-s', '1600', '-B', '16384', '-i', 'tcp0', '-w', kernelPcap], { stdio: ['ignore', 'ignore', 'pipe'] });
  let tcpdumpErr = '';
  tcpdump.stderr.setEncoding('utf8').on('data', (d: string) => (tcpdumpErr += d));
  const tcpdumpEnded = new Promise((resolve) => tcpdump.once('close', resolve));
  t.teardown(() => {
    tcpdump.kill('SIGKILL');
  });
  for (let i = 0; i < 500 && !/listening on tcp0/.test(tcpdumpErr) && tcpdump.exitCode === null; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.regex(tcpdumpErr, /listening on tcp0/);
  // What the kernel sent before this (IPv6's router solicitation, MLD...) tcpdump may have missed.
  const listening = Date.now() * 1000;

  const client = await execInNetns(netns, ['python3', '-c', CLIENT], { timeoutMs: 120_000 });
  t.is(client.status, 0, client.stderr);
  t.deepEqual(client.stdout.trim().split('\n'), ['9 refused', '4001 reset', '7 echo True']);

  const stopAt = Date.now() * 1000;
  const exited = await stack.stop('SIGTERM');
  t.is(exited.code, 0, exited.stderr);
  tcpdump.kill('SIGINT');
  await tcpdumpEnded;
  t.regex(tcpdumpErr, /\b0 packets dropped by kernel/, tcpdumpErr);
  const counters = parseCounters(exited.stdout);

  const file = readPcapng(readFileSync(capture));
  t.false(file.truncated);
  t.is(file.sections[0]!.interfaces[0]!.name, 'tcp0');
  const packets = file.packets;
  const comment = (i: number): string => packets[i]!.comments.join('');

  // tshark reads the same comments and directions: frame.packet_flags_direction
  // is epb_flags' direction bits (0x00000001 inbound, 0x00000002 outbound);
  // frame.p2p_dir is what Wireshark makes of them (1 received, 0 sent).
  const tshark = spawnSync('tshark', ['-r', capture, '-T', 'fields', '-e', 'frame.comment', '-e', 'frame.packet_flags_direction', '-e', 'frame.p2p_dir'], { encoding: 'utf8', timeout: 60_000 });
  t.is(tshark.status, 0, tshark.stderr);
  const lines = tshark.stdout.split('\n').filter((l) => l !== '');
  t.is(lines.length, packets.length);
  lines.forEach((line, i) => {
    const inbound = packets[i]!.direction === 'inbound';
    t.is(line, `${comment(i)}\t${inbound ? '0x00000001' : '0x00000002'}\t${inbound ? 1 : 0}`, `tshark, frame ${i + 1}`);
  });

  // Directions from the stack's point of view: outbound is from its address, inbound to it.
  packets.forEach((p, i) => {
    const src = p.data[0]! >> 4 === 4 ? [...p.data.subarray(12, 16)].join('.') : p.data.subarray(8, 24).toString('hex');
    const ours = src === ADDR || src === '20010002000000000000000000000002';
    t.is(p.direction, ours ? 'outbound' : 'inbound', `frame ${i + 1}: direction`);
  });

  // Against tcpdump: every packet the kernel saw is in the capture, byte for
  // byte, except what it sent after up was told to stop; every one in the
  // capture since tcpdump listened reached the kernel or came from it, except
  // what is commented as not having reached the kernel (outbound, dropped by
  // an impairment) or as never having come from it (injected toward the stack).
  const kernel = readKernelPcap(kernelPcap);
  const seen = new Map<string, number>();
  for (const k of kernel) seen.set(k.data.toString('hex'), (seen.get(k.data.toString('hex')) ?? 0) + 1);
  packets.forEach((p, i) => {
    const key = p.data.toString('hex');
    const notAtKernel = (p.direction === 'outbound' && comment(i).includes('not delivered to the kernel')) || (p.direction === 'inbound' && comment(i).startsWith('injected by rule'));
    const n = seen.get(key) ?? 0;
    if (notAtKernel) t.is(n, 0, `frame ${i + 1} ("${comment(i)}") is not in the kernel's capture`);
    else if (p.micros < listening) seen.set(key, Math.max(0, n - 1));
    else {
      t.true(n > 0, `frame ${i + 1} ("${comment(i)}") is in the kernel's capture`);
      seen.set(key, n - 1);
    }
  });
  const missing = kernel.filter((k) => (seen.get(k.data.toString('hex')) ?? 0) > 0 && k.micros < stopAt);
  t.deepEqual(
    missing.map((k) => k.data.toString('hex')),
    [],
    'every packet the kernel saw before up was told to stop is in the capture',
  );
  // Records are written in time order.
  t.true(packets.every((p, i) => i === 0 || p.micros >= packets[i - 1]!.micros));

  // The closed port: the SYN, dropped by the stack, and its RST.
  const syn9 = packets.findIndex((p) => p.direction === 'inbound' && viewPacket(p.data).dstPort === 9);
  t.is(comment(syn9), 'dropped by the stack: NO_SOCKET');
  const rst9 = packets.findIndex((p, i) => i > syn9 && p.direction === 'outbound' && viewPacket(p.data).srcPort === 9);
  t.true(comment(rst9).startsWith(RST_NO_SOCKET), comment(rst9));
  // close() with unread data.
  t.is(packets.filter((p, i) => p.direction === 'outbound' && viewPacket(p.data).srcPort === 4001 && comment(i).startsWith(RST_CLOSE_UNREAD)).length, 1);
  // Rule 1 dropped the kernel's second data segment to 4001 (its first retransmission may come later).
  const data4001 = packets.map((p, i) => ({ v: viewPacket(p.data), i })).filter(({ v, i }) => packets[i]!.direction === 'inbound' && v.dstPort === 4001 && v.payloadLength > 0);
  t.is(comment(data4001[1]!.i), 'dropped by rule 1, not delivered to the stack');
  t.is(packets.filter((_, i) => comment(i).includes('dropped by rule 1')).length, 1);
  // Rule 2's ACK toward the stack, right behind the kernel's third data segment to echo.
  const injected = packets.findIndex((_, i) => comment(i) === 'injected by rule 2');
  t.like(viewPacket(packets[injected]!.data), { dstPort: 7, flags: 0x10, payloadLength: 0 });
  t.is(packets[injected]!.direction, 'inbound');
  t.is(packets.filter((_, i) => comment(i).includes('injected by rule')).length, counters.get('ImpairInjected') ?? 0);

  // Losses: as many commented as up counted, and some (the seed loses the n-th outgoing packet, and there were more).
  const lost = packets.filter((_, i) => comment(i).endsWith('dropped by impairment (loss), not delivered to the kernel'));
  t.true(packets.filter((p) => p.direction === 'outbound').length >= firstLostOutbound());
  t.true(lost.length > 0);
  t.is(lost.length, counters.get('ImpairLossDrops') ?? 0);
  t.true(lost.every((p) => p.direction === 'outbound'));
  // Retransmissions: one commented record per segment the stack counted.
  t.is(packets.filter((_, i) => /(^|; )retransmission \((rto|slow-start|fast|tlp|syn|synack)\)/.test(comment(i))).length, counters.get('TcpRetransSegs') ?? 0);
  // The stack's drops, reason by reason, as up counted them.
  const drops = new Map<string, number>();
  for (let i = 0; i < packets.length; i++) for (const m of comment(i).matchAll(/dropped by the stack: ([A-Z0-9_]+)/g)) drops.set(m[1]!, (drops.get(m[1]!) ?? 0) + 1);
  const counted = new Map([...counters].filter(([k]) => k.startsWith('drop ')).map(([k, v]) => [k.slice(5), v]));
  t.deepEqual(drops, counted);
  t.log(`${packets.length} packets, ${kernel.length} seen by tcpdump; lost ${lost.length}, retransmitted ${counters.get('TcpRetransSegs') ?? 0}, drops ${JSON.stringify([...drops])}`);
});
