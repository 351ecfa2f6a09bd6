/**
 * TunDevice over a real TUN device. Every test makes its own network namespace
 * and puts the device and every address inside it; nothing touches the host's
 * namespace. Needs root, /dev/net/tun, iproute2 and ping; skipped otherwise.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { TunDevice } from '../../tun/tun-device.ts';
import { loadTunAddon, type ErrnoError } from '../../tun/native.ts';
import { RX_CSUM_TRUSTED } from '../../stack/link.ts';
import { createNetns, deleteNetns, execInNetns, listNetns, runIp } from '../../tun/netns.ts';
import { configureInterface, interfaceExists, interfaceStats } from '../../tun/netdev.ts';

const KERNEL_ADDR = '198.18.0.1';
const OUR_ADDR = '198.18.0.2';

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (`ip`) is missing';
  if (spawnSync('ping', ['-V']).status !== 0) return 'ping is missing';
  return undefined;
}

const reason = skipReason();
const nsPrefix = `tcpstack-tuntest-${process.pid}-`;
let nsCounter = 0;
const openDevices = new Set<TunDevice>();

/** A fresh namespace for this test, removed (with its devices) at teardown. */
function newNetns(t: ExecutionContext): string {
  const name = `${nsPrefix}${nsCounter++}`;
  createNetns(name);
  t.teardown(() => {
    for (const dev of openDevices) if (dev.netns === name) closeDevice(dev);
    deleteNetns(name);
  });
  return name;
}

function openDevice(opts: Parameters<typeof TunDevice.open>[0]): TunDevice {
  const dev = TunDevice.open(opts);
  openDevices.add(dev);
  return dev;
}

function closeDevice(dev: TunDevice): void {
  openDevices.delete(dev);
  dev.close();
}

/** Deletes this worker's namespaces, and those of earlier runs whose process is gone (killed). */
function sweep(): void {
  for (const dev of [...openDevices]) closeDevice(dev);
  if (reason) return;
  for (const name of listNetns()) {
    const pid = /^tcpstack-tuntest-(\d+)-/.exec(name)?.[1];
    if (pid === undefined) continue;
    if (name.startsWith(nsPrefix) || !processAlive(Number(pid))) deleteNetns(name);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only, nothing is sent
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

test.before(sweep);
test.after.always('remove every namespace this file created', sweep);
// An uncaught exception ends the worker without running after.always hooks.
process.once('exit', sweep);

// ---------------------------------------------------------------- packets

function checksum(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end - 1; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if ((end - start) & 1) sum += b[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function setChecksum(b: Uint8Array, at: number, start: number, end: number): void {
  b[at] = 0;
  b[at + 1] = 0;
  const c = checksum(b, start, end);
  b[at] = c >>> 8;
  b[at + 1] = c & 0xff;
}

/** Header length if `p` is an unfragmented IPv4 ICMP packet of that type, else 0. */
function icmpOfType(p: Uint8Array, type: number): number {
  if (p.length < 28 || p[0]! >> 4 !== 4 || p[9] !== 1) return 0;
  const ihl = (p[0]! & 0x0f) * 4;
  const fragment = ((p[6]! << 8) | p[7]!) & 0x3fff; // MF flag or an offset
  if (ihl < 20 || p.length < ihl + 8 || fragment !== 0) return 0;
  return p[ihl] === type ? ihl : 0;
}

const isEchoReply = (p: Uint8Array): boolean => icmpOfType(p, 0) > 0;

/** The echo reply to an IPv4 echo request: addresses swapped, type 8 -> 0, both checksums redone. */
function echoReply(req: Uint8Array): Uint8Array | undefined {
  const ihl = icmpOfType(req, 8);
  if (ihl === 0) return undefined;
  const total = (req[2]! << 8) | req[3]!;
  if (total > req.length || total < ihl + 8) return undefined;
  const r = req.slice(0, total);
  r.set(req.subarray(16, 20), 12);
  r.set(req.subarray(12, 16), 16);
  r[8] = 64; // TTL
  r[ihl] = 0; // echo reply
  setChecksum(r, ihl + 2, ihl, total);
  setChecksum(r, 10, 0, ihl);
  return r;
}

function addr(s: string): number[] {
  return s.split('.').map(Number);
}

/** An IPv4 echo request from us to the kernel side. */
function echoRequest(id: number, seq: number): Uint8Array {
  const p = new Uint8Array(20 + 8 + 16);
  p.set([0x45, 0, 0, p.length, 0, 0, 0x40, 0, 64, 1, 0, 0, ...addr(OUR_ADDR), ...addr(KERNEL_ADDR)]);
  p.set([8, 0, 0, 0, id >>> 8, id & 0xff, seq >>> 8, seq & 0xff], 20);
  for (let i = 28; i < p.length; i++) p[i] = i;
  setChecksum(p, 22, 20, p.length);
  setChecksum(p, 10, 0, 20);
  return p;
}

/** Answers every echo request to OUR_ADDR; records batch sizes. */
function startResponder(dev: TunDevice): { batches: number[]; requests: number } {
  const seen = { batches: [] as number[], requests: 0 };
  dev.onReceive((packets) => {
    seen.batches.push(packets.length);
    const replies: Uint8Array[] = [];
    for (const p of packets) {
      const reply = echoReply(p);
      if (reply) {
        seen.requests++;
        replies.push(reply);
      }
    }
    dev.send(replies);
  });
  return seen;
}

/** Creates tun0 in the namespace, gives the kernel side 198.18.0.1/24, brings it up. */
function createConfigured(t: ExecutionContext): { ns: string; dev: TunDevice } {
  const ns = newNetns(t);
  const dev = openDevice({ name: 'tun0', mode: 'create', netns: ns });
  configureInterface({ netns: ns, name: 'tun0', peerCidr: `${KERNEL_ADDR}/24`, mtu: 1500, up: true });
  return { ns, dev };
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

// ------------------------------------------------------------------ tests

const serial = reason ? test.skip : test.serial;
if (reason) test.skip(`TUN device tests skipped: ${reason}`, () => {});

serial('(a) the kernel pings through the device and our responder answers', async (t) => {
  const { ns, dev } = createConfigured(t);
  const seen = startResponder(dev);

  const ping = await execInNetns(ns, ['ping', '-n', '-c', '3', '-W', '1', '-i', '0.2', OUR_ADDR], { timeoutMs: 20_000 });

  t.is(ping.status, 0, `ping failed:\n${ping.stdout}${ping.stderr}`);
  t.regex(ping.stdout, /3 packets transmitted, 3 received/);
  t.is(seen.requests, 3);
  t.is(dev.stats.rxPackets, sum(seen.batches));
  t.is(dev.stats.rxBatches, seen.batches.length);
  t.is(dev.stats.txPackets, 3);
  t.is(dev.stats.txDropped, 0);
  t.is(dev.name, 'tun0');
  t.is(dev.mtu, 1500);
});

serial('(b) attach joins a persistent device, which outlives close()', (t) => {
  const ns = newNetns(t);
  runIp(['-n', ns, 'tuntap', 'add', 'dev', 'ptun0', 'mode', 'tun']);

  const dev = openDevice({ name: 'ptun0', mode: 'attach', netns: ns });
  t.is(dev.name, 'ptun0');
  closeDevice(dev);
  t.true(interfaceExists('ptun0', ns), 'a persistent device must survive close()');

  // It can be attached again once released.
  closeDevice(openDevice({ name: 'ptun0', mode: 'attach', netns: ns }));
  t.true(interfaceExists('ptun0', ns));
});

serial('(b) attach to a missing device fails clearly and leaves no device', (t) => {
  const ns = newNetns(t);
  const err = t.throws<ErrnoError>(() => openDevice({ name: 'nosuch0', mode: 'attach', netns: ns }));
  t.is(err?.code, 'ENODEV');
  t.regex(err?.message ?? '', /^no persistent TUN device nosuch0 in this namespace: create one with `ip tuntap add dev nosuch0 mode tun` or use --create$/);
  t.false(interfaceExists('nosuch0', ns));
});

serial('(c) creating a name twice fails with "already exists"; attaching to a busy device fails with "busy"', (t) => {
  const ns = newNetns(t);
  openDevice({ name: 'tun0', mode: 'create', netns: ns });

  const again = t.throws<ErrnoError>(() => openDevice({ name: 'tun0', mode: 'create', netns: ns }));
  t.is(again?.code, 'EBUSY');
  t.regex(again?.message ?? '', /^a network device named tun0 already exists: use --attach/);

  const busy = t.throws<ErrnoError>(() => openDevice({ name: 'tun0', mode: 'attach', netns: ns }));
  t.is(busy?.code, 'EBUSY');
  t.regex(busy?.message ?? '', /^TUN device tun0 is busy: another process has it open/);

  const notTun = t.throws<ErrnoError>(() => openDevice({ name: 'lo', mode: 'attach', netns: ns }));
  t.is(notTun?.code, 'EINVAL');
  t.regex(notTun?.message ?? '', /not a single-queue TUN device/);
});

serial('(c) a missing namespace fails clearly', (t) => {
  const err = t.throws<ErrnoError>(() => openDevice({ name: 'tun0', mode: 'create', netns: `${nsPrefix}absent` }));
  t.is(err?.code, 'ENOENT');
  t.regex(err?.message ?? '', /^network namespace \/run\/netns\/\S+ not found/);
});

serial('(d) invalid names are rejected before any system call', (t) => {
  const addon = loadTunAddon();
  // The namespace path does not exist: reaching any syscall would fail with
  // "namespace not found" (ENOENT) instead of the name check's EINVAL.
  const nowhere = `/run/netns/${nsPrefix}never-created`;
  for (const name of ['a'.repeat(16), 'a/b', '', 'has space', 'tab\t', '.', '..', 'nul\0x']) {
    for (const attach of [false, true]) {
      const err = t.throws<ErrnoError>(() => addon.open(name, nowhere, attach), undefined, JSON.stringify(name));
      t.is(err?.code, 'EINVAL', JSON.stringify(name));
      t.regex(err?.message ?? '', /^invalid interface name .*: 1-15 characters, no '\/' or spaces$/);
    }
  }
  // 15 bytes is the limit, not 16.
  const err = t.throws<ErrnoError>(() => addon.open('a'.repeat(15), nowhere, false));
  t.is(err?.code, 'ENOENT');
});

serial('(e) a created device is gone after close(); close() is idempotent', (t) => {
  const ns = newNetns(t);
  const dev = openDevice({ name: 'tun0', mode: 'create', netns: ns });
  dev.onReceive(() => {});
  t.true(interfaceExists('tun0', ns));
  closeDevice(dev);
  t.true(dev.closed);
  t.false(interfaceExists('tun0', ns));
  t.notThrows(() => dev.close());
  dev.send([echoRequest(1, 1)]);
  t.is(dev.stats.txDropped, 1);
});

serial('(f) one writeBatch of 50 packets reaches the kernel, which answers all 50', async (t) => {
  const { ns, dev } = createConfigured(t);
  const replies: Uint8Array[] = [];
  const batches: number[] = [];
  const allReplied = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${replies.length} of 50 echo replies within 10 s`)), 10_000);
    dev.onReceive((packets) => {
      batches.push(packets.length);
      for (const p of packets) if (isEchoReply(p)) replies.push(p);
      if (replies.length >= 50) {
        clearTimeout(timer);
        resolve();
      }
    });
  });

  const before = interfaceStats('tun0', ns);
  const packets = Array.from({ length: 50 }, (_, i) => echoRequest(0x7777, i));
  dev.send(packets);
  t.is(dev.stats.txPackets, 50);
  t.is(dev.stats.txBytes, sum(packets.map((p) => p.length)));
  t.is(dev.stats.txDropped, 0);
  // The kernel counts what we wrote as received on tun0, during write().
  t.is(interfaceStats('tun0', ns).rxPackets - before.rxPackets, 50);

  await allReplied;
  t.is(replies.length, 50);
  t.deepEqual(replies.map((p) => (p[26]! << 8) | p[27]!).sort((a, b) => a - b), [...Array(50).keys()]);
  t.is(dev.stats.rxPackets, sum(batches));
});

serial('(f) a kernel burst (ping -f -l 16) arrives in fewer batches than packets', async (t) => {
  const { ns, dev } = createConfigured(t);
  const seen = startResponder(dev);

  // No -w: with a deadline ping keeps sending until 200 replies are in, so
  // the counts would include packets still in flight when it stops.
  const ping = await execInNetns(ns, ['ping', '-n', '-q', '-f', '-l', '16', '-c', '200', OUR_ADDR], {
    timeoutMs: 30_000,
  });

  t.is(ping.status, 0, `ping failed:\n${ping.stdout}${ping.stderr}`);
  t.regex(ping.stdout, /200 packets transmitted, 200 received/);
  t.is(seen.requests, 200);
  t.is(dev.stats.rxPackets, sum(seen.batches));
  t.is(dev.stats.rxBatches, seen.batches.length);
  t.true(
    seen.batches.length < dev.stats.rxPackets,
    `${dev.stats.rxPackets} packets in ${seen.batches.length} batches (largest ${Math.max(...seen.batches)})`,
  );
  t.is(dev.stats.txPackets, 200);
});

serial('send() drops packets the kernel refuses instead of throwing', (t) => {
  const ns = newNetns(t);
  const dev = openDevice({ name: 'tun0', mode: 'create', netns: ns });
  // Not an IP packet (EINVAL) in the middle of a batch: only it is dropped.
  configureInterface({ netns: ns, name: 'tun0', up: true });
  dev.send([echoRequest(1, 1), new Uint8Array([0x12, 0, 0]), echoRequest(1, 2)]);
  t.is(dev.stats.txPackets, 2);
  t.is(dev.stats.txDropped, 1);
  // Interface down (EIO): the whole batch is dropped.
  configureInterface({ netns: ns, name: 'tun0', up: false });
  dev.send([echoRequest(1, 3), echoRequest(1, 4)]);
  t.is(dev.stats.txPackets, 2);
  t.is(dev.stats.txDropped, 3);
});

/** The namespace's Icmp OutEchoReps (/proc/net/snmp), read synchronously. */
function kernelEchoReplies(ns: string): number {
  const out = spawnSync('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'], { encoding: 'utf8' }).stdout;
  const [names, values] = out.split('\n').filter((l) => l.startsWith('Icmp:'));
  const i = names?.split(/\s+/).indexOf('OutEchoReps') ?? -1;
  if (i < 0 || values === undefined) throw new Error('no Icmp OutEchoReps in /proc/net/snmp');
  return Number(values.split(/\s+/)[i]);
}

serial('what arrives while the handler runs is handed over at once, marked backlogged, before the event loop turns', async (t) => {
  const { ns, dev } = createConfigured(t);
  const calls: Array<{ replies: number; backlogged: boolean | undefined; loopTurned: boolean }> = [];
  let loopTurned = false;
  let done: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  dev.onReceive((packets, backlogged) => {
    calls.push({ replies: packets.filter(isEchoReply).length, backlogged, loopTurned });
    if (calls.length === 1) {
      // Inside the handler: a second request; wait (bounded) until the kernel
      // has sent its reply (Icmp OutEchoReps), which puts it on the device.
      loopTurned = false;
      setImmediate(() => (loopTurned = true));
      const before = kernelEchoReplies(ns);
      dev.send([echoRequest(7, 2)]);
      const until = Date.now() + 5000;
      while (kernelEchoReplies(ns) === before && Date.now() < until);
    } else done();
  });
  dev.send([echoRequest(7, 1)]);
  await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 5000))]);
  t.is(calls.length, 2, JSON.stringify(calls));
  t.like(calls[0], { replies: 1, backlogged: false });
  t.like(calls[1], { replies: 1, backlogged: true, loopTurned: false });
  t.is(dev.stats.rxBatches, 2);
});

serial('ioCounts: every read() and write() on the device; the packets are read into one pooled buffer JS owns, batch after batch, not copied', async (t) => {
  const { ns, dev } = createConfigured(t);
  const addon = loadTunAddon();
  const before = addon.ioCounts();
  const seen = { requests: 0 };
  const views: Array<{ buffer: ArrayBufferLike; start: number; end: number }> = [];
  dev.onReceive((packets) => {
    for (const p of packets) views.push({ buffer: p.buffer, start: p.byteOffset, end: p.byteOffset + p.byteLength });
    const replies = packets.map(echoReply).filter((r): r is Uint8Array => r !== undefined);
    seen.requests += replies.length;
    dev.send(replies);
  });
  const ping = await execInNetns(ns, ['ping', '-n', '-c', '3', '-W', '1', '-i', '0.2', OUR_ADDR], { timeoutMs: 20_000 });
  t.is(ping.status, 0, ping.stdout + ping.stderr);
  const after = addon.ioCounts();
  t.is(seen.requests, 3);
  // Each packet read took a read(); each wake-up's last read found the queue empty.
  t.true(after.readCalls - before.readCalls >= dev.stats.rxPackets + dev.stats.rxBatches, JSON.stringify({ before, after, stats: dev.stats }));
  t.is(after.writeCalls - before.writeCalls, dev.stats.txPackets);
  // Three requests came in three wake-ups (0.2 s apart), each a view of the
  // same pool, one after the other: read() put them where JS sees them.
  t.true(views.length >= 3 && dev.stats.rxBatches >= 3, JSON.stringify(dev.stats));
  t.true(views.every((v) => v.buffer === views[0]!.buffer && v.buffer.byteLength === (1 << 20) + 65536));
  t.true(views.every((v, i) => i === 0 || v.start >= views[i - 1]!.end), JSON.stringify(views.map((v) => [v.start, v.end])));
});

/**
 * Sent from the kernel's side of the device: a SYN by connect() to port 9,
 * and through a raw socket a SYN to port 10 whose TCP checksum is wrong
 * (the kernel fills in the IP header's, not TCP's).
 */
const SEND_TCP = `
import socket, struct
s = socket.socket(); s.settimeout(0.3); s.connect_ex(('${OUR_ADDR}', 9)); s.close()
def csum(b):
    if len(b) % 2: b += b'\\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
src, dst = socket.inet_aton('${KERNEL_ADDR}'), socket.inet_aton('${OUR_ADDR}')
tcp = struct.pack('!HHIIBBHHH', 40000, 10, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
good = csum(src + dst + struct.pack('!BBH', 0, 6, len(tcp)) + tcp)
tcp = tcp[:16] + struct.pack('!H', good ^ 0x0101) + tcp[18:]
ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
r.sendto(ip + tcp, ('${OUR_ADDR}', 0))
`;

serial('the addon checks an IPv4 TCP checksum itself and marks the packet (RX_CSUM_TRUSTED), as receive checksum offload does; a wrong one and other protocols are left to the stack', async (t) => {
  const { ns, dev } = createConfigured(t);
  const seen: Array<{ protocol: number; port: number; trusted: boolean }> = [];
  dev.onReceive((packets, _backlogged, rxMeta) => {
    packets.forEach((p, i) => {
      const ihl = (p[0]! & 15) * 4;
      seen.push({ protocol: p[9]!, port: p[9] === 6 ? (p[ihl + 2]! << 8) | p[ihl + 3]! : 0, trusted: ((rxMeta?.[i] ?? 0) & RX_CSUM_TRUSTED) !== 0 });
    });
  });
  const sent = await execInNetns(ns, ['python3', '-c', SEND_TCP], { timeoutMs: 20_000 });
  t.is(sent.status, 0, sent.stderr);
  const ping = await execInNetns(ns, ['ping', '-n', '-c', '1', '-W', '1', OUR_ADDR], { timeoutMs: 20_000 });
  t.not(ping.status, null, ping.stderr);
  const find = () => ({
    syn: seen.find((s) => s.protocol === 6 && s.port === 9),
    broken: seen.find((s) => s.protocol === 6 && s.port === 10),
    icmp: seen.find((s) => s.protocol === 1),
  });
  // All three were sent before the commands exited; their reads may still be ahead in the event loop (5 s at most).
  for (let waited = 0; waited < 5000 && Object.values(find()).includes(undefined); waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  const { syn, broken, icmp } = find();
  t.like(syn, { trusted: true }, JSON.stringify(seen));
  t.like(broken, { trusted: false }, JSON.stringify(seen));
  t.like(icmp, { trusted: false }, JSON.stringify(seen));
});

const KERNEL_ADDR6 = '2001:2::1';
const OUR_ADDR6 = '2001:2::2';

/**
 * The same over IPv6: a SYN by connect() to port 9; through a raw socket
 * (IPPROTO_RAW: we write the IPv6 header) a SYN to port 10 whose TCP
 * checksum is wrong, and one to port 11 whose checksum is right but which
 * carries a destination options header before TCP (the addon sums only TCP
 * right after the fixed header: the stack never sends another shape).
 */
const SEND_TCP6 = `
import socket, struct
s = socket.socket(socket.AF_INET6); s.settimeout(0.3); s.connect_ex(('${OUR_ADDR6}', 9)); s.close()
def csum(b):
    if len(b) % 2: b += b'\\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
src, dst = socket.inet_pton(socket.AF_INET6, '${KERNEL_ADDR6}'), socket.inet_pton(socket.AF_INET6, '${OUR_ADDR6}')
def syn(port):
    tcp = struct.pack('!HHIIBBHHH', 40000, port, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    good = csum(src + dst + struct.pack('!IxxxB', len(tcp), 6) + tcp)
    return tcp[:16] + struct.pack('!H', good) + tcp[18:], good
r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
tcp, good = syn(10)
tcp = tcp[:16] + struct.pack('!H', good ^ 0x0101) + tcp[18:]
r.sendto(struct.pack('!IHBB', 0x60000000, len(tcp), 6, 64) + src + dst + tcp, ('${OUR_ADDR6}', 0))
tcp, good = syn(11)
opts = bytes([6, 0, 1, 4, 0, 0, 0, 0])
r.sendto(struct.pack('!IHBB', 0x60000000, len(opts) + len(tcp), 60, 64) + src + dst + opts + tcp, ('${OUR_ADDR6}', 0))
`;

serial('the addon checks an IPv6 TCP checksum itself too (TCP right after the fixed header) and marks the packet; a wrong one, one behind an extension header and ICMPv6 are left to the stack', async (t) => {
  const ns = newNetns(t);
  const dev = openDevice({ name: 'tun0', mode: 'create', netns: ns });
  configureInterface({ netns: ns, name: 'tun0', peerCidr: `${KERNEL_ADDR}/24`, peer6Cidr: `${KERNEL_ADDR6}/64`, mtu: 1500, up: true });
  const seen: Array<{ next: number; port: number; trusted: boolean }> = [];
  dev.onReceive((packets, _backlogged, rxMeta) => {
    packets.forEach((p, i) => {
      if (p[0]! >> 4 !== 6) return;
      // TCP right after the fixed header, or behind one 8-byte destination options header.
      const next = p[6] === 60 ? p[40]! : p[6]!;
      const at = p[6] === 60 ? 48 : 40;
      seen.push({ next, port: next === 6 ? (p[at + 2]! << 8) | p[at + 3]! : 0, trusted: ((rxMeta?.[i] ?? 0) & RX_CSUM_TRUSTED) !== 0 });
    });
  });
  const sent = await execInNetns(ns, ['python3', '-c', SEND_TCP6], { timeoutMs: 20_000 });
  t.is(sent.status, 0, sent.stderr);
  const ping = await execInNetns(ns, ['ping', '-6', '-n', '-c', '1', '-W', '1', OUR_ADDR6], { timeoutMs: 20_000 });
  t.not(ping.status, null, ping.stderr);
  const find = () => ({
    syn: seen.find((s) => s.next === 6 && s.port === 9),
    broken: seen.find((s) => s.next === 6 && s.port === 10),
    behindOptions: seen.find((s) => s.next === 6 && s.port === 11),
    echo: seen.find((s) => s.next === 58),
  });
  // All were sent before the commands exited; their reads may still be ahead in the event loop (5 s at most).
  for (let waited = 0; waited < 5000 && Object.values(find()).includes(undefined); waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  const { syn, broken, behindOptions, echo } = find();
  t.like(syn, { trusted: true }, JSON.stringify(seen));
  t.like(broken, { trusted: false }, JSON.stringify(seen));
  t.like(behindOptions, { trusted: false }, JSON.stringify(seen));
  t.like(echo, { trusted: false }, JSON.stringify(seen));
});
