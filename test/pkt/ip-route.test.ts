/**
 * `ip route {add,change,replace} ... advmss N mtu [lock] N initcwnd N
 * initrwnd N` in packet scripts (cli/pkt/ip-route.ts): parsed into the
 * route's prefix and metrics, checked against the routes there are as the
 * kernel checks them (the remote's route from the start; change needs one,
 * add refuses one), applied to the stack's route table; other route
 * attributes are not supported.
 */
import test from 'ava';
import { parseIpRoute } from '../../cli/pkt/ip-route.ts';
import { runScript } from '../../cli/pkt/runner.ts';
import { interpretCommand } from '../../cli/pkt/shell.ts';
import { failure, passes } from '../helpers/pkt-result.ts';

test('ip route change/add/replace: prefix, family, gateway, device and the four metrics', (t) => {
  const r = parseIpRoute('route change 192.0.2.1 via 192.168.0.2 dev tun0 advmss 600 mtu lock 640 initcwnd 11'.split(' '));
  t.like(r, { op: 'change', family: 4, length: 32, viaFamily: 4, dev: 'tun0', metrics: { advMss: 600, mtu: 640, mtuLocked: true, initCwnd: 11, initRwnd: 0 } });
  t.like(parseIpRoute('-6 route add fd3d:fa7b:d17d::/48 dev tun0 mtu 1400 initrwnd 8'.split(' ')), {
    op: 'add',
    family: 6,
    length: 48,
    viaFamily: undefined,
    metrics: { mtu: 1400, mtuLocked: false, initRwnd: 8 },
  });
  t.like(parseIpRoute('route replace default dev tun0 advmss 70000'.split(' ')), { op: 'replace', length: 0, metrics: { advMss: 65495 } });
  const refused = (cmd: string): string => {
    const r = parseIpRoute(cmd.split(' '));
    return 'unsupported' in r ? r.unsupported : 'taken';
  };
  t.like(parseIpRoute('route change 192.0.2.1 dev tun0 rto_min 50ms'.split(' ')), { metrics: { rtoMin: 50 } });
  t.like(parseIpRoute('route change 192.0.2.1 dev tun0 rto_min lock 0.5s'.split(' ')), { metrics: { rtoMin: 500 } });
  t.like(parseIpRoute('route change 192.0.2.1 dev tun0 rto_min 20.2'.split(' ')), { metrics: { rtoMin: 21 } });
  t.regex(refused('route change 192.0.2.1 dev tun0 rto_min 5us'), /rto_min 5us/);
  t.regex(refused('route change 192.0.2.1 dev tun0 window 1000'), /the route attribute window/);
  t.regex(refused('route show'), /ip route show: only add, change and replace/);
  t.regex(refused('-6 route change 192.0.2.1 dev tun0 mtu 1400'), /ip -6/);
  t.regex(refused('route change 192.0.2.1 dev tun0 mtu lots'), /mtu lots/);
});

test('shell: route metrics are a route action; other metrics are not supported; ip route show is skipped', (t) => {
  const kinds = (cmd: string): string[] => interpretCommand(cmd).map((a) => a.kind);
  t.deepEqual(kinds('ip route change 192.0.2.1 via 192.168.0.2 dev tun0 advmss 600 mtu lock 640 initcwnd 11'), ['route']);
  t.deepEqual(kinds('ip route change 192.0.2.1 via 192.168.0.2 dev tun0 rto_min 50ms'), ['route']);
  t.deepEqual(kinds('ip route change 192.0.2.1 via 192.168.0.2 dev tun0 rtt 50ms'), ['unsupported']);
  t.deepEqual(kinds('ip route change 192.0.2.1 via 192.168.0.2 dev tun0 quickack 1'), ['unsupported']);
  t.deepEqual(kinds('ip route show'), ['ignored']);
});

const LISTEN = `
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
`;

test('runner: a route change gives the SYN-ACK the route\'s advmss and initrwnd, the child its initcwnd', (t) => {
  const script = `\`ip route change 192.0.2.1 via 192.168.0.2 dev tun0 advmss 800 initcwnd 3 initrwnd 5\`
${LISTEN}
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
+0 > S. 0:0(0) ack 1 win 4000 <mss 800,nop,nop,sackOK>
+.1 < . 1:1(0) ack 1 win 32792
+0 accept(3, ..., ...) = 4
+0 %{ assert tcpi_snd_cwnd == 3, tcpi_snd_cwnd }%
`;
  passes(t, runScript(script, 'route.pkt'));
  // Without the line: the device's MSS, the default window and cwnd.
  const plain = script.replace(/^`ip route[^`]*`/, '');
  t.regex(failure(runScript(plain, 'route.pkt')), /mss|win/);
});

test('runner: a change of no route, an add of the remote\'s, another device or a gateway of the other family fail as ip fails', (t) => {
  const fails = (cmd: string, version = 'ipv4'): string => failure(runScript(`--ip_version=${version}\n\`${cmd}\`\n${LISTEN}`, 'route.pkt'));
  t.regex(fails('ip route change 198.51.100.1 dev tun0 advmss 800'), /RTNETLINK answers: No such file or directory/);
  t.regex(fails('ip route add 192.0.2.1 dev tun0 advmss 800'), /RTNETLINK answers: File exists/);
  t.regex(fails('ip route change 192.0.2.1 dev eth0 advmss 800'), /Cannot find device "eth0"/);
  t.regex(fails('ip route change 192.0.2.1 via 192.168.0.2 dev tun0 advmss 800', 'ipv6'), /No such file or directory|invalid gateway/);
  t.regex(fails('ip route add 198.51.100.1 via 192.168.0.2 dev tun0', 'ipv6'), /Nexthop has invalid gateway/);
  // A route added where none was, and the other family's route without a gateway, are taken.
  passes(t, runScript(`\`ip route add 198.51.100.1 dev tun0 advmss 800\nip -6 route replace fd3d:fa7b:d17d::1 dev tun0 initcwnd 4\`\n${LISTEN}`, 'route.pkt'));
  // Not the last command of its block: the block goes on, as sh does.
  const r = runScript(`\`ip route change 198.51.100.1 dev tun0 advmss 800\ntrue\`\n${LISTEN}`, 'route.pkt');
  passes(t, r);
  t.true(r.warnings.some((w) => w.includes('No such file or directory')));
});

test('runner: the remote\'s route over IPv6 takes ip -6 route change', (t) => {
  const script = `--ip_version=ipv6
\`ip -6 route change fd3d:fa7b:d17d::1 via fd3d:a0b:17d6::2 dev tun0 advmss 1100\`
${LISTEN}
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
+0 > S. 0:0(0) ack 1 <mss 1100,nop,nop,sackOK>
`;
  passes(t, runScript(script, 'route.pkt'));
});
