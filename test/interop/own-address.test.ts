/**
 * `tcpstack connect` to the stack's own address (docs/linux-behaviour.md,
 * "Connecting to our own address"): connect runs a stack of its own, with no
 * listener, so its SYN comes back to its own input and is refused at once,
 * as the kernel refuses a connect to its own address over `lo`.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interopSkipReason, removeNetns, runCli, uniqueNetns } from '../helpers/interop.ts';

/** IPv4 TCP packets in a LINKTYPE_RAW pcap file (tun/pcap.ts): 24-byte file header, 16-byte record headers. */
function tcpPacketsIn(pcap: Buffer): number {
  let n = 0;
  for (let at = 24; at + 16 <= pcap.length; ) {
    const length = pcap.readUInt32LE(at + 8);
    const first = pcap[at + 16];
    if (first !== undefined && first >> 4 === 4 && pcap[at + 16 + 9] === 6) n++;
    at += 16 + length;
  }
  return n;
}

const skip = interopSkipReason(['ip']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`own-address interop test skipped: ${skip}`);

interop('tcpstack connect to its own --addr: ECONNREFUSED at once, nothing sent to the device', (t) => {
  const netns = uniqueNetns('own');
  t.teardown(() => removeNetns(netns));
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-own-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'device.pcap');
  const started = Date.now();
  const r = runCli(['connect', '--netns', netns, '--addr', '198.18.0.2', '--pcap', pcap, '198.18.0.2', '7'], 20_000);
  const seconds = (Date.now() - started) / 1000;
  t.is(r.signal, null, `still waiting after ${seconds.toFixed(1)} s (killed)`);
  t.is(r.code, 1, r.stderr);
  t.is(r.stderr.trim(), 'tcpstack: connect: ECONNREFUSED');
  t.is(r.stdout, '');
  t.is(tcpPacketsIn(readFileSync(pcap)), 0, 'the SYN and the RST never crossed the device');
});
