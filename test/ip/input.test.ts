import test from 'ava';
import { checksum } from '../../stack/wire/checksum.ts';
import { decodeIpv4Header } from '../../stack/wire/ipv4.ts';
import { parseIpv4 } from '../../stack/wire/addr.ts';
import { echoRequest } from '../helpers/packets.ts';
import { testStack } from '../helpers/stack.ts';

function refreshHeaderChecksum(p: Uint8Array): Uint8Array {
  const hl = (p[0]! & 15) * 4;
  p[10] = 0;
  p[11] = 0;
  const sum = checksum(p, 0, hl);
  p[10] = sum >> 8;
  p[11] = sum & 255;
  return p;
}

test('IPv4 header validation follows ip_rcv_core, counting each failure as Linux does', (t) => {
  const s = testStack();
  const c = s.stack.counters;

  t.is(s.stack.input(new Uint8Array([0x45, 0, 0])), 'PKT_TOO_SMALL');
  t.is(c.IpInHdrErrors, 1);

  const badVersionIhl = echoRequest(1, 1, 8);
  badVersionIhl[0] = 0x44; // IHL 4 < 5
  t.is(s.stack.input(refreshHeaderChecksum(badVersionIhl)), 'IP_INHDR');

  const badSum = echoRequest(1, 1, 8);
  badSum[10]! ^= 0x55;
  t.is(s.stack.input(badSum), 'IP_CSUM');
  t.is(c.IpExtInCsumErrors, 1);
  t.is(c.IpInHdrErrors, 3);

  const truncated = echoRequest(1, 1, 64);
  t.is(s.stack.input(truncated.subarray(0, 50)), 'PKT_TOO_SMALL');
  t.is(c.IpExtInTruncatedPkts, 1);

  const shortTotal = echoRequest(1, 1, 8);
  shortTotal[2] = 0;
  shortTotal[3] = 12; // total length below the header length
  t.is(s.stack.input(refreshHeaderChecksum(shortTotal)), 'IP_INHDR');
  t.is(c.IpInHdrErrors, 4);

  t.is(s.stack.input(echoRequest(1, 1, 8, { destination: parseIpv4('198.18.0.99')! })), 'IP_INADDRERRORS');
  t.is(c.IpInAddrErrors, 1);

  t.is(s.stack.input(echoRequest(1, 1, 8, { destination: 0xffffffff })), 'OTHERHOST');
  t.is(c.IpExtInBcastPkts, 1);
  t.is(s.stack.input(echoRequest(1, 1, 8, { destination: parseIpv4('224.0.0.1')! })), 'OTHERHOST');
  t.is(c.IpExtInMcastPkts, 1);
  t.is(s.stack.input(echoRequest(1, 1, 8, { source: parseIpv4('127.0.0.1')! })), 'IP_INVALID_SOURCE');

  const ipv6 = new Uint8Array(40);
  ipv6[0] = 0x60;
  t.is(s.stack.input(ipv6), 'IPV6DISABLED', 'IPv6 input, which this stack without an IPv6 address refuses');
  t.is(c.IpInReceives, 9, 'every IPv4 packet counted, the IPv6 one not');
  const version5 = new Uint8Array(40);
  version5[0] = 0x50;
  t.is(s.stack.input(version5), 'UNHANDLED_PROTO');
  t.is(c.IpInHdrErrors, 4, 'a version that is neither is no protocol of ours (a TUN write refuses it: tun_get_user)');
  s.stack.flush();
  t.deepEqual(s.wire.take(), [], 'none of these is answered');
});

test('link padding past the total length is ignored', (t) => {
  const s = testStack();
  const request = echoRequest(9, 9, 16);
  const padded = new Uint8Array(request.length + 10);
  padded.set(request);
  const [reply] = s.send(padded);
  t.is(decodeIpv4Header(reply!).totalLength, request.length);
});

test('IP options are skipped when well formed and answered with parameter problem when not', (t) => {
  const s = testStack();
  const base = echoRequest(3, 3, 8);
  // Same packet with a 4-byte options area: NOP NOP NOP EOL.
  const withOptions = new Uint8Array(base.length + 4);
  withOptions.set(base.subarray(0, 20), 0);
  withOptions.set([1, 1, 1, 0], 20);
  withOptions.set(base.subarray(20), 24);
  withOptions[0] = 0x46;
  withOptions[3] = withOptions.length & 255;
  withOptions[2] = withOptions.length >> 8;
  const replies = s.send(refreshHeaderChecksum(withOptions));
  t.is(replies.length, 1, 'echo answered');
  t.is(replies[0]![20], 0);

  const bad = withOptions.slice();
  bad.set([7, 9, 0, 0], 20); // record route claiming 9 bytes in a 4-byte area
  const [problem] = s.send(refreshHeaderChecksum(bad));
  t.is(problem![20], 12, 'parameter problem');
  t.is(problem![24], 21, 'pointer at the bad length byte');
  t.is(s.stack.counters.IpInHdrErrors, 1);
});
