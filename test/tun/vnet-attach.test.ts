/**
 * tun/check/vnet-attach.c, the check that `up --attach` can have offloads: a
 * persistent TUN device made by `ip tuntap add ... mode tun` (no vnet_hdr)
 * takes IFF_VNET_HDR, TUNSETVNETHDRSZ and TUNSETOFFLOAD from the program that
 * attaches to it. The program is compiled with gcc into a temporary
 * directory and run inside a throw-away namespace; the kernel's own view
 * (`ip -d link show`: vnet_hdr off before, on after) confirms what it says.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns, runIp } from '../../tun/netns.ts';
import { ROOT, interopSkipReason, removeNetns, uniqueNetns } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'gcc']);
const interop = skip === undefined ? test : test.skip;
if (skip !== undefined) console.log(`vnet-attach check skipped: ${skip}`);

/** "on" or "off": the vnet_hdr flag the kernel reports for the device. */
function vnetHdr(netns: string, name: string): string | undefined {
  return /\bvnet_hdr (on|off)\b/.exec(runIp(['-n', netns, '-d', 'link', 'show', name]))?.[1];
}

interop('vnet-attach turns on vnet_hdr and offloads on a device made by ip tuntap, prints "ok" and exits 0', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-vnet-attach-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const binary = join(dir, 'vnet-attach');
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-Werror', '-o', binary, join(ROOT, 'tun', 'check', 'vnet-attach.c')], { encoding: 'utf8', timeout: 60_000 });
  t.is(cc.status, 0, `gcc: ${cc.stderr}`);

  const netns = uniqueNetns('vnetattach');
  createNetns(netns);
  t.teardown(() => removeNetns(netns));
  runIp(['-n', netns, 'tuntap', 'add', 'dev', 'pt0', 'mode', 'tun']);
  // Without this the assertion after the run could not tell the program's work from the default.
  t.is(vnetHdr(netns, 'pt0'), 'off', 'ip tuntap makes the device without vnet_hdr');

  const r = spawnSync('ip', ['netns', 'exec', netns, binary, 'pt0'], { encoding: 'utf8', timeout: 10_000 });
  t.is(r.status, 0, `vnet-attach: ${r.stderr}`);
  t.is(r.stdout, 'ok\n');
  // The flag stays on the persistent device after the program has let go of it.
  t.is(vnetHdr(netns, 'pt0'), 'on');
});
