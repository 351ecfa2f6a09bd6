/**
 * The header writers IP uses when it copies a header (fragmentation,
 * reassembly) or answers with ICMP: fields where RFC 791 / RFC 792 put them,
 * and a checksum that verifies.
 */
import test from 'ava';
import { verifies } from '../../stack/wire/checksum.ts';
import { ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, icmpCode, icmpRestOfHeader, icmpType, writeIcmpHeader } from '../../stack/wire/icmp.ts';
import { IP_FLAG_DF, IP_FLAG_MF, decodeIpv4Header, rewriteIpv4Fragment, writeIpv4Header } from '../../stack/wire/ipv4.ts';

test('rewriteIpv4Fragment sets total length, flags and offset, keeps the rest, and the checksum verifies', (t) => {
  const b = new Uint8Array(60);
  writeIpv4Header(b, 0, { totalLength: 60, id: 0x1234, dontFragment: true, ttl: 64, protocol: 17, source: 0x0a000001, destination: 0x0a000002, tos: 0x10 });
  rewriteIpv4Fragment(b, 44, IP_FLAG_DF | IP_FLAG_MF | (185 & 0x1fff));
  const h = decodeIpv4Header(b);
  t.like(h, { totalLength: 44, id: 0x1234, dontFragment: true, moreFragments: true, fragmentOffset: 185 * 8, ttl: 64, protocol: 17, tos: 0x10 });
  t.true(verifies(b, 0, 20));
  b[8] = 63; // any other change breaks it: the checksum covers the header
  t.false(verifies(b, 0, 20));
});

test('writeIcmpHeader writes type, code and the 4-byte field, and checksums the whole message', (t) => {
  const m = new Uint8Array(36);
  m.fill(0xab, 8);
  writeIcmpHeader(m, 0, m.length, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0xdeadbeef);
  t.deepEqual([icmpType(m), icmpCode(m), icmpRestOfHeader(m)], [ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0xdeadbeef]);
  t.true(verifies(m, 0, m.length));
  // Without the 4-byte field it is left as it was (an echo reply keeps id and sequence).
  const echo = new Uint8Array([8, 0, 0x12, 0x34, 0x00, 0x07, 0x00, 0x02, 1, 2, 3]);
  writeIcmpHeader(echo, 0, echo.length, 0, 0);
  t.deepEqual([...echo.subarray(4, 8)], [0x00, 0x07, 0x00, 0x02]);
  t.true(verifies(echo, 0, echo.length));
});
