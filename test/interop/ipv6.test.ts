/**
 * The kernel's IPv6 clients against our stack through a real TUN device in a
 * throw-away namespace: `up` configures both families by default, and every
 * service listens on both.
 */
import test from 'ava';
import { execInNetns } from '../../tun/netns.ts';
import { echoShaScript, interopSkipReason, parseCounters, removeNetns, startCli, uniqueNetns, type RunningStack } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'ping', 'python3', 'nc', 'curl']);
const interop = skip === undefined ? test.serial : test.skip;
if (skip !== undefined) console.log(`interop IPv6 tests skipped: ${skip}`);

const ADDR6 = '2001:2::2';

async function stackInNetns(t: { teardown: (fn: () => void | Promise<void>) => void }, extra: string[] = []): Promise<{ netns: string; stack: RunningStack; ready: string }> {
  const netns = uniqueNetns('v6');
  const stack = startCli(['up', '--netns', netns, ...extra]);
  t.teardown(async () => {
    await stack.stop('SIGTERM');
    removeNetns(netns);
  });
  const ready = await stack.ready();
  return { netns, stack, ready };
}

interop('ping -6, plain and -s 4000 (fragments reassembled and made both ways), answered from the IPv6 address up shows', async (t) => {
  const { netns, stack, ready } = await stackInNetns(t);
  t.regex(ready, / addr6=2001:2::2 peer6=2001:2::1\/64/);
  const plain = await execInNetns(netns, ['ping', '-6', '-c', '5', '-i', '0.2', '-W', '2', ADDR6], { timeoutMs: 20_000 });
  t.is(plain.status, 0, plain.stdout + plain.stderr);
  t.regex(plain.stdout, /5 packets transmitted, 5 received, 0% packet loss/);
  const big = await execInNetns(netns, ['ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', '-s', '4000', ADDR6], { timeoutMs: 20_000 });
  t.is(big.status, 0, big.stdout + big.stderr);
  t.regex(big.stdout, /4008 bytes from 2001:2::2/);
  const counters = parseCounters((await stack.stop()).stdout);
  t.is(counters.get('Icmp6InEchos'), 8);
  t.is(counters.get('Icmp6OutEchoReplies'), 8);
  t.is(counters.get('Ip6ReasmOKs'), 3, 'three requests reassembled');
  t.is(counters.get('Ip6ReasmReqds'), 9, 'from three fragments each');
  t.is(counters.get('Ip6FragOKs'), 3, 'three replies fragmented');
  t.is(counters.get('Ip6FragCreates'), 9);
});

interop('nc -6 to discard and curl -6 to the status page over IPv6', async (t) => {
  const { netns, stack } = await stackInNetns(t);
  const nc = await execInNetns(netns, ['sh', '-c', `head -c 1048576 /dev/zero | nc -6 -N -w 10 ${ADDR6} 9`], { timeoutMs: 30_000 });
  t.is(nc.status, 0, nc.stderr);
  const page = await execInNetns(netns, ['curl', '-6', '-g', '-sS', '--max-time', '10', `http://[${ADDR6}]/`], { timeoutMs: 20_000 });
  t.is(page.status, 0, page.stderr);
  t.regex(page.stdout, /TcpPassiveOpens/);
  const counters = parseCounters((await stack.stop()).stdout);
  t.true((counters.get('Ip6InOctets') ?? 0) > 1048576);
  t.is(counters.get('TcpPassiveOpens'), 2);
});

interop('Python over IPv6: 50 MiB each way through echo (7), SHA-256 matching; IPv4 on the same port still answered', async (t) => {
  const { netns } = await stackInNetns(t);
  const run = async (addr: string, mib: number): Promise<string> => {
    const r = await execInNetns(netns, ['python3', '-c', echoShaScript(addr, mib)], { timeoutMs: 120_000 });
    t.is(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  t.is(await run(ADDR6, 50), `${50 * 1024 * 1024} ${50 * 1024 * 1024} True`);
  t.is(await run('198.18.0.2', 1), `${1024 * 1024} ${1024 * 1024} True`);
});

interop('up --addr6 none: no IPv6 (ping -6 unanswered), IPv4 as before', async (t) => {
  const { netns, stack, ready } = await stackInNetns(t, ['--addr6', 'none']);
  t.regex(ready, / addr6=none/);
  t.notRegex(ready, /peer6=/);
  const ping4 = await execInNetns(netns, ['ping', '-c', '1', '-W', '2', '198.18.0.2'], { timeoutMs: 10_000 });
  t.is(ping4.status, 0, ping4.stderr);
  const counters = parseCounters((await stack.stop()).stdout);
  t.is(counters.get('Icmp6InMsgs'), undefined);
});
