/**
 * TUN offloads through a real device, each test in its own throw-away
 * namespace (removed in teardown, after the device is closed):
 *   (a) this kernel grants them: `device.offload` is true and the kernel
 *       reports vnet_hdr on the device (off when not asked for);
 *   (b) a kernel TCP sender (Python in the namespace) pushes 1 MiB through
 *       our stack's echo and reads it back: intact both ways (SHA-256), the
 *       kernel handed us super-segments (rxGsoPackets) and took ours
 *       (txGsoPackets), and its TcpInCsumErrors stays 0;
 *   (c) the same with `offload: false`: no super-segment either way, intact;
 *   (d), (e) both over IPv6: the addon completes IPv6 TCP checksums in C
 *       without offload, the kernel with it.
 * The kernel does not verify a super-segment's partial checksum when it
 * delivers it locally (CHECKSUM_PARTIAL counts as good), so TcpInCsumErrors
 * only covers our plain packets; each super-segment we write is checked here
 * against the pseudo-header sum (and the MTU) instead.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { createNetns, execInNetns, runIp } from '../../tun/netns.ts';
import { TcpServer } from '../../tun/node/server.ts';
import { TX_CSUM_PARTIAL, TX_GSO_SIZE_MASK } from '../../stack/link.ts';
import { TunDevice } from '../../tun/tun-device.ts';
import { openTunStack } from '../../tun/tun-stack.ts';
import { echoShaScript, interopSkipReason, removeNetns, uniqueNetns } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'python3', 'nstat']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`TUN offload tests skipped: ${skip}`);

const ADDR = '198.18.0.2';
/** openTunStack's IPv6 address (the kernel side is 2001:2::1/64). */
const ADDR6 = '2001:2::2';
const BYTES = 1024 * 1024;

/** A namespace for this test; teardowns run last-in first-out, so what is opened in it later is closed before it goes. */
function freshNetns(t: ExecutionContext): string {
  const netns = uniqueNetns('offload');
  createNetns(netns);
  t.teardown(() => removeNetns(netns));
  return netns;
}

/** The kernel's TcpInCsumErrors in the namespace (-s: nstat's history file is left alone). */
function kernelCsumErrors(netns: string): number {
  const r = spawnSync('ip', ['netns', 'exec', netns, 'nstat', '-asz', 'TcpInCsumErrors'], { encoding: 'utf8', timeout: 10_000 });
  const n = /^TcpInCsumErrors\s+(\d+)/m.exec(r.stdout)?.[1];
  if (n === undefined) throw new Error(`nstat: no TcpInCsumErrors (${r.status}): ${r.stdout}${r.stderr}`);
  return Number(n);
}

/** What is wrong with a super-segment (gsoSize > 0) or a packet with a partial checksum (0) we write (docs/offloads.md), or undefined. */
function partialPacketProblem(p: Uint8Array, gsoSize: number, mtu: number): string | undefined {
  const v6 = p[0]! >> 4 === 6;
  // IPv4: the header's length; IPv6: the fixed header, TCP right after it (the stack sends no extension header on TCP).
  const ihl = v6 ? 40 : (p[0]! & 15) * 4;
  if (v6 ? p[6] !== 6 : p[0]! >> 4 !== 4 || p[9] !== 6) return 'not IPv4 TCP or IPv6 TCP after the fixed header';
  const length = (p[2 + (v6 ? 2 : 0)]! << 8) | p[3 + (v6 ? 2 : 0)]!;
  if (length + (v6 ? 40 : 0) !== p.length) return `IP length field ${length} does not match the packet's ${p.length} bytes`;
  if (gsoSize > 0 && p.length <= mtu) return `${p.length} bytes fit the MTU: no super-segment needed`;
  if (gsoSize > 0 && ihl + (p[ihl + 12]! >> 4) * 4 + gsoSize > mtu) return `segments of ${gsoSize} bytes exceed the MTU`;
  // The field holds the folded, non-complemented pseudo-header sum over the TCP length (RFC 9293 §3.1; RFC 8200 §8.1).
  let sum = 6 + p.length - ihl;
  for (let i = v6 ? 8 : 12; i < (v6 ? 40 : 20); i += 2) sum += (p[i]! << 8) | p[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const field = (p[ihl + 16]! << 8) | p[ihl + 17]!;
  return field === sum ? undefined : `checksum field 0x${field.toString(16)}, pseudo-header sum 0x${sum.toString(16)}`;
}

/**
 * Wraps device.send (the stack sends through it) to record every bad
 * super-segment or partial checksum, and count the packets whose checksum
 * the device completes (super-segments, and TX_CSUM_PARTIAL packets: the
 * kernel with offload, the addon without). With offload, which data goes in
 * super-segments and which in single ones depends on how the kernel's
 * writes and our reads happen to batch, so only their sum is certain.
 */
function checkPartialPackets(device: TunDevice): { problems: string[]; partial: number; partial6: number } {
  const seen = { problems: [] as string[], partial: 0, partial6: 0 };
  const send = device.send.bind(device);
  device.send = (packets, txMeta) => {
    packets.forEach((p, i) => {
      const meta = txMeta?.[i] ?? 0;
      const gso = meta & TX_GSO_SIZE_MASK;
      // A super-segment's checksum is always partial (stack/link.ts), flag or not.
      const partial = gso > 0 || (meta & TX_CSUM_PARTIAL) !== 0;
      if (partial) seen.partial++;
      if (partial && p[0]! >> 4 === 6) seen.partial6++;
      const problem = partial ? partialPacketProblem(p, gso, device.mtu) : undefined;
      if (problem !== undefined) seen.problems.push(problem);
    });
    send(packets, txMeta);
  };
  return seen;
}

/**
 * 1 MiB from a kernel socket through our stack's echo service and back, over
 * IPv4 or IPv6; returns the device, how many packets it completed the
 * checksum of, and how many of those were IPv6.
 */
async function echoThrough(t: ExecutionContext, offload: boolean, family: 4 | 6 = 4): Promise<{ device: TunDevice; partial: number; partial6: number }> {
  const netns = freshNetns(t);
  const tun = openTunStack({ netns, offload });
  t.teardown(() => tun.close());
  const server = new TcpServer(tun.tcp, { allowHalfOpen: true }, (socket) => socket.pipe(socket));
  server.listen(7, family === 6 ? '::' : '0.0.0.0');
  t.teardown(() => void server.close());
  const seen = checkPartialPackets(tun.device);
  t.is(kernelCsumErrors(netns), 0);

  const r = await execInNetns(netns, ['python3', '-c', echoShaScript(family === 6 ? ADDR6 : ADDR, BYTES / (1024 * 1024))], { timeoutMs: 60_000 });
  t.is(r.status, 0, `python (${r.timedOut ? 'timed out' : r.signal ?? r.status}): ${r.stderr}`);
  t.is(r.stdout.trim(), `${BYTES} ${BYTES} True`, 'every byte sent, every byte back, same SHA-256');
  t.is(kernelCsumErrors(netns), 0, 'the kernel found no bad TCP checksum in what we wrote');
  t.is(tun.stack.counters.TcpInCsumErrors, 0);
  t.deepEqual(seen.problems, [], 'every super-segment and partial checksum we wrote');
  // The device completes them: the kernel (offload) or the addon in C (no offload), and the kernel found none bad above.
  t.true(seen.partial > 0, 'packets with a checksum left to the device');
  return { device: tun.device, partial: seen.partial, partial6: seen.partial6 };
}

interop('(a) offload is granted on this kernel: vnet_hdr on the device; not asked for, off', (t) => {
  const netns = freshNetns(t);
  const on = TunDevice.open({ name: 'gso0', mode: 'create', netns, offload: true });
  t.teardown(() => on.close());
  const off = TunDevice.open({ name: 'plain0', mode: 'create', netns, offload: false });
  t.teardown(() => off.close());
  t.true(on.offload);
  t.false(off.offload);
  const vnetHdr = (name: string): string | undefined => /\bvnet_hdr (on|off)\b/.exec(runIp(['-n', netns, '-d', 'link', 'show', name]))?.[1];
  t.is(vnetHdr('gso0'), 'on');
  t.is(vnetHdr('plain0'), 'off');
});

interop('(b) with offload: 1 MiB echoed intact, super-segments both ways, no checksum error at the kernel', async (t) => {
  const { device } = await echoThrough(t, true);
  t.true(device.offload);
  t.true(device.stats.rxGsoPackets > 0, `the kernel handed us no super-segment: ${JSON.stringify(device.stats)}`);
  t.true(device.stats.txGsoPackets > 0, `we wrote no super-segment: ${JSON.stringify(device.stats)}`);
});

interop('(c) without offload: 1 MiB echoed intact, no super-segment either way', async (t) => {
  const { device, partial } = await echoThrough(t, false);
  t.false(device.offload);
  // Every data segment's checksum was completed in C as it was written.
  t.true(partial > 700, `${partial} packets with a checksum completed by the addon`);
  t.is(device.stats.rxGsoPackets, 0);
  t.is(device.stats.txGsoPackets, 0);
});

interop('(d) over IPv6 without offload: 1 MiB echoed intact, the checksum of every data segment completed by the addon in C, none bad at the kernel', async (t) => {
  const { device, partial, partial6 } = await echoThrough(t, false, 6);
  t.false(device.offload);
  t.true(partial6 > 700, `${partial6} IPv6 packets with a checksum completed by the addon`);
  t.is(partial6, partial, 'all of them IPv6');
  t.is(device.stats.txGsoPackets, 0);
});

interop('(e) over IPv6 with offload: 1 MiB echoed intact, super-segments and partial checksums completed by the kernel', async (t) => {
  const { device, partial6 } = await echoThrough(t, true, 6);
  t.true(device.offload);
  t.true(partial6 > 0);
  t.true(device.stats.txGsoPackets > 0, `we wrote no super-segment: ${JSON.stringify(device.stats)}`);
});
