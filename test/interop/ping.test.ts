/**
 * The kernel's own ping against our stack, through a real TUN device in a
 * throw-away network namespace.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execInNetns, netnsExists } from '../../tun/netns.ts';
import { interopSkipReason, parseCounters, removeNetns, startCli, uniqueNetns, type RunningStack } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'ping', 'tcpdump']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`interop ping tests skipped: ${skip}`);

const ADDR = '198.18.0.2';

/** Starts the stack in a fresh namespace; the namespace and process go away in teardown. */
async function stackInNetns(t: { teardown: (fn: () => void | Promise<void>) => void }, extra: string[] = []): Promise<{ netns: string; stack: RunningStack; ready: string }> {
  const netns = uniqueNetns('ping');
  const stack = startCli(['up', '--netns', netns, ...extra]);
  t.teardown(async () => {
    await stack.stop('SIGTERM'); // a graceful exit removes its control socket; stop() falls back to SIGKILL
    removeNetns(netns);
  });
  const ready = await stack.ready();
  return { netns, stack, ready };
}

interop('ping -c 5 is answered, the pcap reads back with tcpdump, and exit removes namespace and device', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tcpstack-ping-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'ping.pcap');
  const { netns, stack, ready } = await stackInNetns(t, ['--pcap', pcap]);
  t.regex(ready, /^ready tun=tcp0 mode=create addr=198\.18\.0\.2 peer=198\.18\.0\.1\/24 mtu=1500 offload=on netns=\S+ pcap=/);

  const ping = await execInNetns(netns, ['ping', '-c', '5', '-i', '0.2', '-W', '2', ADDR], { timeoutMs: 20_000 });
  t.is(ping.status, 0, ping.stdout + ping.stderr);
  t.regex(ping.stdout, /5 packets transmitted, 5 received, 0% packet loss/);

  const exit = await stack.stop('SIGTERM');
  t.is(exit.code, 0, exit.stderr);
  const counters = parseCounters(exit.stdout);
  t.is(counters.get('IcmpInEchos'), 5);
  t.is(counters.get('IcmpOutEchoReps'), 5);
  t.false(netnsExists(netns), 'the namespace tcpstack created is gone');

  const read = spawnSync('tcpdump', ['-nn', '-r', pcap, 'icmp'], { encoding: 'utf8' });
  t.is(read.status, 0, read.stderr);
  const lines = read.stdout.trim().split('\n');
  t.is(lines.filter((l) => /198\.18\.0\.1 > 198\.18\.0\.2: ICMP echo request/.test(l)).length, 5);
  t.is(lines.filter((l) => /198\.18\.0\.2 > 198\.18\.0\.1: ICMP echo reply/.test(l)).length, 5);
});

interop('ping -s 4000 is answered through MTU 1500: fragments reassembled both ways', async (t) => {
  const { netns, stack } = await stackInNetns(t);
  const ping = await execInNetns(netns, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-s', '4000', ADDR], { timeoutMs: 20_000 });
  t.is(ping.status, 0, ping.stdout + ping.stderr);
  t.regex(ping.stdout, /3 packets transmitted, 3 received, 0% packet loss/);
  t.regex(ping.stdout, /4008 bytes from 198\.18\.0\.2/);
  const counters = parseCounters((await stack.stop()).stdout);
  t.is(counters.get('IpReasmOKs'), 3, 'three requests reassembled');
  t.is(counters.get('IpReasmReqds'), 9, 'from three fragments each');
  t.is(counters.get('IpFragOKs'), 3, 'three replies fragmented');
  t.is(counters.get('IpFragCreates'), 9);
});

interop('a bounded flood, ping -f -c 20000, loses nothing', async (t) => {
  const { netns, stack } = await stackInNetns(t);
  const ping = await execInNetns(netns, ['ping', '-f', '-c', '20000', '-w', '120', ADDR], { timeoutMs: 150_000 });
  t.is(ping.status, 0, ping.stderr);
  t.regex(ping.stdout, /20000 packets transmitted, 20000 received, 0% packet loss/);
  const time = /time (\d+)ms/.exec(ping.stdout);
  if (time) t.log(`flood: 20000 echoes in ${time[1]} ms = ${Math.round(20000 / (Number(time[1]) / 1000))} round trips/s (one in flight)`);
  const counters = parseCounters((await stack.stop()).stdout);
  t.is(counters.get('IcmpOutEchoReps'), 20000);
});

interop('attaching to a device that does not exist fails with one clear line and exit status 1', async (t) => {
  const netns = uniqueNetns('attach');
  const stack = startCli(['up', '--attach', '--tun', 'nosuch0', '--netns', netns]);
  t.teardown(async () => {
    await stack.stop('SIGTERM'); // a graceful exit removes its control socket; stop() falls back to SIGKILL
    removeNetns(netns);
  });
  const exit = await stack.exited;
  t.is(exit.code, 1);
  t.regex(exit.stderr.trim(), /^tcpstack: .*no persistent TUN device nosuch0.*ip tuntap add/);
  t.is(exit.stderr.trim().split('\n').length, 1);
  t.false(netnsExists(netns), 'the namespace it created for the attempt is removed');
});
