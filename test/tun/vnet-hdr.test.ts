/**
 * The kernel lets a program turn on IFF_VNET_HDR and TUN offloads
 * (checksum, TSO) on a TUN device that was created without them, as `ip
 * tuntap add ... mode tun` creates it: what the addon's offloads will rely on
 * when it attaches to a persistent device (`up --attach`). Probed with a
 * small C program (test/tun/c/vnet-hdr-probe.c) in a throw-away namespace;
 * ethtool then reports the device's TSO and checksum offloads on.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNetns } from '../../tun/netns.ts';
import { ROOT, interopSkipReason, removeNetns, uniqueNetns } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'gcc', 'ethtool']);
const interop = skip === undefined ? test : test.skip;
if (skip !== undefined) console.log(`IFF_VNET_HDR probe skipped: ${skip}`);

interop('a TUN device made without vnet_hdr takes IFF_VNET_HDR, TUNSETVNETHDRSZ and TUNSETOFFLOAD from the program that attaches', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-vnet-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const probe = join(dir, 'vnet-hdr-probe');
  const cc = spawnSync('gcc', ['-O2', '-Wall', '-o', probe, join(ROOT, 'test', 'tun', 'c', 'vnet-hdr-probe.c')], { encoding: 'utf8', timeout: 60_000 });
  t.is(cc.status, 0, cc.stderr);
  const netns = uniqueNetns('vnet');
  createNetns(netns);
  t.teardown(() => removeNetns(netns));
  const made = spawnSync('ip', ['netns', 'exec', netns, 'ip', 'tuntap', 'add', 'dev', 'pt0', 'mode', 'tun'], { encoding: 'utf8', timeout: 10_000 });
  t.is(made.status, 0, made.stderr);
  const offloads = (): string => spawnSync('ip', ['netns', 'exec', netns, 'ethtool', '-k', 'pt0'], { encoding: 'utf8', timeout: 10_000 }).stdout;
  t.regex(offloads(), /^tcp-segmentation-offload: off/m, 'no TSO before');
  const r = spawnSync('ip', ['netns', 'exec', netns, probe, 'pt0'], { encoding: 'utf8', timeout: 10_000 });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^flags 0x[0-9a-f]+ vnet_hdr on\n$/);
  t.regex(offloads(), /^tcp-segmentation-offload: on/m, 'TSO on after TUNSETOFFLOAD');
  t.regex(offloads(), /^tx-checksumming: on/m);
});
