/**
 * The kernel's IPv6 clients against our stack through a real TUN device in a
 * throw-away namespace: `up` configures both families by default, and every
 * service listens on both; our active open to a kernel IPv6 server; a
 * kernel IPv4 client at a dual-stack listener of ours.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { createNetns, execInNetns } from '../../tun/netns.ts';
import { TcpServer } from '../../tun/node/server.ts';
import type { TcpSocket } from '../../tun/node/socket.ts';
import { openTunStack } from '../../tun/tun-stack.ts';
import { Interactive, echoShaScript, interopSkipReason, parseCounters, pipeThroughCli, removeNetns, startCli, uniqueNetns, type RunningStack } from '../helpers/interop.ts';

const skip = interopSkipReason(['ip', 'ping', 'python3', 'nc', 'curl', 'telnet']);
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

interop('telnet over IPv6 to echo (7): a real telnet client converses with the stack', async (t) => {
  const { netns, stack } = await stackInNetns(t);
  const echo = new Interactive(netns, ['telnet', ADDR6, '7']);
  t.teardown(() => void echo.child.kill('SIGKILL'));
  await echo.waitFor(/Connected to 2001:2::2/);
  echo.send('hello over six\r\n');
  await echo.waitFor(/hello over six/);
  await echo.end();
  const counters = parseCounters((await stack.stop()).stdout);
  t.is(counters.get('TcpPassiveOpens'), 1);
  t.true((counters.get('Ip6InReceives') ?? 0) >= 4);
});

interop('tcpstack connect to a kernel IPv6 server: stdin up, the reply down, from our IPv6 address', async (t) => {
  const netns = uniqueNetns('v6-connect');
  createNetns(netns);
  t.teardown(() => removeNetns(netns));
  // The kernel server (its address 2001:2::1 comes with the device connect makes): reads to EOF, answers with the peer's address and the SHA-256 of what it got.
  const server = new Interactive(netns, [
    'python3',
    '-c',
    `
import socket, hashlib
l = socket.socket(socket.AF_INET6); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(('::', 5556)); l.listen(1)
print('listening', flush=True)
c, peer = l.accept(); h = hashlib.sha256(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    h.update(d); n += len(d)
c.sendall(('%s %d %s\\n' % (peer[0], n, h.hexdigest())).encode()); c.close()
print('served', n, flush=True)
`,
  ]);
  t.teardown(() => void server.child.kill('SIGKILL'));
  await server.waitFor(/listening/);
  const input = Buffer.alloc(200_000, 'over IPv6 ');
  const { code, stdout, stderr } = await pipeThroughCli(t, ['connect', '-v', '--netns', netns, '2001:2::1', '5556'], input, 60_000);
  t.is(code, 0, stderr);
  t.is(stdout.trim(), `2001:2::2 ${input.length} ${createHash('sha256').update(input).digest('hex')}`);
  t.regex(stderr, /tcpstack: connected \[2001:2::2\]:\d+ -> \[2001:2::1\]:5556/);
  await server.waitFor(/served 200000/);
});

interop('a kernel IPv4 client reaches a dual-stack listener on :: of ours, seen v4-mapped as a Node server on :: sees it', async (t) => {
  const netns = uniqueNetns('v6-dual');
  const tun = openTunStack({ netns });
  t.teardown(() => tun.close());
  const peers: Array<{ address: string | undefined; family: string | undefined; local: string | undefined }> = [];
  const server = new TcpServer(tun.tcp, (socket: TcpSocket) => {
    peers.push({ address: socket.remoteAddress, family: socket.remoteFamily, local: socket.localAddress });
    socket.pipe(socket);
  });
  server.listen(7, '::');
  t.teardown(() => void server.close());
  const run = async (addr: string): Promise<string> => {
    const r = await execInNetns(netns, ['python3', '-c', echoShaScript(addr, 1)], { timeoutMs: 60_000 });
    t.is(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  t.is(await run('198.18.0.2'), `${1 << 20} ${1 << 20} True`);
  t.is(await run('2001:2::2'), `${1 << 20} ${1 << 20} True`);
  t.deepEqual(peers, [
    { address: '::ffff:198.18.0.1', family: 'IPv6', local: '::ffff:198.18.0.2' },
    { address: '2001:2::1', family: 'IPv6', local: '2001:2::2' },
  ]);
  t.true(tun.stack.counters.Ip6InReceives > 0 && tun.stack.counters.IpInReceives > 0, 'one connection in each family on the wire');
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
