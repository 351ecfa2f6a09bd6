/**
 * ICMPv6 header and checksum (RFC 4443), checked against messages whose
 * checksums Linux computed, and against a textbook computation.
 *
 * Captured from Linux 6.18 on the loopback device:
 *   - an echo request written to a raw ICMPv6 socket bound to ::1 and sent
 *     to the local address fd00::2 with a zero checksum (the kernel fills in
 *     the checksum of raw ICMPv6 sockets, RFC 3542 §3.1), and the kernel's
 *     own echo reply (icmpv6_echo_reply);
 *   - the port unreachable the kernel sent (icmp6_send) for the UDP datagram
 *     to [2001:db8::1]:9 of ipv6.test.ts, in a scratch network namespace
 *     with lo's MTU at 1280: 1240 bytes, quoting the reassembled datagram up
 *     to the minimum MTU (RFC 4443 §2.4 (c)).
 */
import test from 'ava';
import {
  ICMPV6_ADDR_UNREACH,
  ICMPV6_ADM_PROHIBITED,
  ICMPV6_DEST_UNREACH,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_EXC_FRAGTIME,
  ICMPV6_EXC_HOPLIMIT,
  ICMPV6_HDR_FIELD,
  ICMPV6_HDR_INCOMP,
  ICMPV6_HEADER,
  ICMPV6_INFOMSG_MASK,
  ICMPV6_MGM_QUERY,
  ICMPV6_MGM_REDUCTION,
  ICMPV6_MGM_REPORT,
  ICMPV6_MLD2_REPORT,
  ICMPV6_NOROUTE,
  ICMPV6_NOT_NEIGHBOUR,
  ICMPV6_PARAMPROB,
  ICMPV6_PKT_TOOBIG,
  ICMPV6_PORT_UNREACH,
  ICMPV6_TIME_EXCEED,
  ICMPV6_UNK_NEXTHDR,
  ICMPV6_UNK_OPTION,
  NDISC_NEIGHBOUR_ADVERTISEMENT,
  NDISC_NEIGHBOUR_SOLICITATION,
  NDISC_REDIRECT,
  NDISC_ROUTER_ADVERTISEMENT,
  NDISC_ROUTER_SOLICITATION,
  icmp6Checksum,
  icmp6Code,
  icmp6EchoId,
  icmp6EchoSequence,
  icmp6RestOfHeader,
  icmp6Type,
  icmpv6ChecksumOk,
  isIcmpv6Error,
  writeIcmpv6Header,
} from '../../stack/wire/icmpv6.ts';
import { IPV6_DST_OFFSET, IPV6_HEADER, IPV6_SRC_OFFSET, ip6NextHeader, ip6PayloadLength } from '../../stack/wire/ipv6.ts';
import { formatIpv6, ipv6WordSum } from '../../stack/wire/addr6.ts';
import { SeededRandom } from '../../stack/random.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const LOOPBACK = '00000000000000000000000000000001';
const FD00_2 = 'fd000000000000000000000000000002';
const DOC1 = '20010db8000000000000000000000001';

const ECHO_REQUEST = hex(`6008ea99 000d 3a 40 ${LOOPBACK} ${FD00_2} 8000 2cad 1234 0001 68656c6c6f`);
const ECHO_REPLY = hex(`600ee4c2 000d 3a 40 ${FD00_2} ${LOOPBACK} 8100 2bad 1234 0001 68656c6c6f`);
const PORT_UNREACH = Uint8Array.from([
  ...hex(`600cd716 04d8 3a 40 ${DOC1} ${LOOPBACK} 0104 641f 00000000`),
  // The quoted datagram: its IPv6 header, UDP header and the first 1184 data bytes.
  ...hex(`6005ae41 0608 11 40 ${LOOPBACK} ${DOC1} 9c40 0009 0608 a85b`),
  ...Uint8Array.from({ length: 1184 }, (_, i) => i & 255),
]);

const addressSums = (p: Uint8Array): number => ipv6WordSum(p, IPV6_SRC_OFFSET) + ipv6WordSum(p, IPV6_DST_OFFSET);

test('captured Linux messages verify and their fields read back', (t) => {
  for (const p of [ECHO_REQUEST, ECHO_REPLY, PORT_UNREACH]) {
    t.is(p.length, IPV6_HEADER + ip6PayloadLength(p));
    t.is(ip6NextHeader(p), 58);
    t.true(icmpv6ChecksumOk(p, IPV6_HEADER, p.length, addressSums(p)));
  }
  const req = ECHO_REQUEST.subarray(IPV6_HEADER);
  t.is(icmp6Type(req), ICMPV6_ECHO_REQUEST);
  t.is(icmp6Code(req), 0);
  t.is(icmp6Checksum(req), 0x2cad);
  t.is(icmp6EchoId(req), 0x1234);
  t.is(icmp6EchoSequence(req), 1);
  t.is(icmp6RestOfHeader(req), 0x12340001);
  const reply = ECHO_REPLY.subarray(IPV6_HEADER);
  t.is(icmp6Type(reply), ICMPV6_ECHO_REPLY);
  t.is(icmp6Checksum(reply), 0x2bad);
  const err = PORT_UNREACH.subarray(IPV6_HEADER);
  t.is(err.length, 1240); // the minimum MTU less the IPv6 header
  t.is(icmp6Type(err), ICMPV6_DEST_UNREACH);
  t.is(icmp6Code(err), ICMPV6_PORT_UNREACH);
  t.is(icmp6Checksum(err), 0x641f);
  t.is(icmp6RestOfHeader(err), 0);
  t.is(formatIpv6(err, ICMPV6_HEADER + IPV6_DST_OFFSET), '2001:db8::1'); // the quoted destination
});

test('writeIcmpv6Header reproduces the kernel checksums', (t) => {
  for (const [p, type, code, rest] of [
    [ECHO_REQUEST, ICMPV6_ECHO_REQUEST, 0, 0x12340001],
    [ECHO_REPLY, ICMPV6_ECHO_REPLY, 0, 0x12340001],
    [PORT_UNREACH, ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0],
  ] as const) {
    const b = Uint8Array.from(p);
    b.fill(0xcc, IPV6_HEADER, IPV6_HEADER + ICMPV6_HEADER);
    writeIcmpv6Header(b, IPV6_HEADER, b.length, type, code, rest, addressSums(b));
    t.is(toHex(b.subarray(0, IPV6_HEADER + ICMPV6_HEADER)), toHex(p.subarray(0, IPV6_HEADER + ICMPV6_HEADER)));
  }
});

test('writeIcmpv6Header with no rest keeps the bytes the caller wrote (echo id and sequence)', (t) => {
  const b = Uint8Array.from(ECHO_REPLY);
  b[IPV6_HEADER + 2] = 0;
  b[IPV6_HEADER + 3] = 0;
  writeIcmpv6Header(b, IPV6_HEADER, b.length, ICMPV6_ECHO_REPLY, 0, undefined, addressSums(b));
  t.is(toHex(b), toHex(ECHO_REPLY));
  // At an offset inside a larger buffer, leaving the bytes after `end` alone.
  const big = new Uint8Array(100).fill(0xee);
  big.set(ECHO_REQUEST.subarray(IPV6_HEADER), 7);
  const end = 7 + ECHO_REQUEST.length - IPV6_HEADER;
  writeIcmpv6Header(big, 7, end, ICMPV6_ECHO_REQUEST, 0, undefined, addressSums(ECHO_REQUEST));
  t.is(toHex(big.subarray(7, end)), toHex(ECHO_REQUEST.subarray(IPV6_HEADER)));
  t.true(big.subarray(end).every((x) => x === 0xee));
  t.true(icmpv6ChecksumOk(big, 7, end, addressSums(ECHO_REQUEST)));
});

test('icmpv6ChecksumOk fails after any single bit flip, and with the wrong addresses', (t) => {
  const b = Uint8Array.from(ECHO_REQUEST);
  const sums = addressSums(b);
  for (let i = IPV6_HEADER; i < b.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      b[i]! ^= 1 << bit;
      t.false(icmpv6ChecksumOk(b, IPV6_HEADER, b.length, sums), `byte ${i} bit ${bit}`);
      b[i]! ^= 1 << bit;
    }
  }
  t.true(icmpv6ChecksumOk(b, IPV6_HEADER, b.length, sums));
  // The reply's addresses are the request's swapped: the sum is the same, and
  // that is why the kernel's reply checksum differs only by the type change.
  t.is(addressSums(ECHO_REPLY), sums);
  t.is(icmp6Checksum(ECHO_REQUEST.subarray(IPV6_HEADER)) - icmp6Checksum(ECHO_REPLY.subarray(IPV6_HEADER)), 0x0100);
  t.false(icmpv6ChecksumOk(b, IPV6_HEADER, b.length, sums + 1));
  // The length is part of the pseudo header: a message cut short fails.
  t.false(icmpv6ChecksumOk(b, IPV6_HEADER, b.length - 1, sums));
});

/** RFC 4443 §2.3 / RFC 8200 §8.1 laid out as bytes and summed with a fold at every step. */
function referenceChecksum(src: Uint8Array, dst: Uint8Array, msg: Uint8Array): number {
  const len = msg.length;
  const all = [...src, ...dst, (len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, 0, 0, 0, 58, ...msg];
  if (all.length % 2 === 1) all.push(0);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) {
    sum += all[i]! * 256 + all[i + 1]!;
    if (sum > 0xffff) sum = (sum & 0xffff) + 1;
  }
  return ~sum & 0xffff;
}

test('writeIcmpv6Header agrees with a byte-layout reference on random messages', (t) => {
  const rng = new SeededRandom(4443);
  for (let n = 0; n < 300; n++) {
    const src = new Uint8Array(16).map(() => rng.below(256));
    const dst = new Uint8Array(16).map(() => rng.below(256));
    const len = ICMPV6_HEADER + rng.below(1233);
    const offset = rng.below(8);
    const b = new Uint8Array(offset + len + 3).map(() => rng.below(256));
    const type = rng.below(256);
    const code = rng.below(256);
    const rest = rng.u32();
    writeIcmpv6Header(b, offset, offset + len, type, code, rest, ipv6WordSum(src, 0) + ipv6WordSum(dst, 0));
    const msg = b.slice(offset, offset + len);
    t.is(icmp6Type(msg), type);
    t.is(icmp6Code(msg), code);
    t.is(icmp6RestOfHeader(msg), rest);
    const written = icmp6Checksum(msg);
    msg[2] = 0;
    msg[3] = 0;
    t.is(written, referenceChecksum(src, dst, msg));
  }
});

test('isIcmpv6Error: the types below 128 (RFC 4443 §2.1)', (t) => {
  for (let type = 0; type < 256; type++) {
    t.is(isIcmpv6Error(type), type < 128, `type ${type}`);
    t.is(isIcmpv6Error(type), (type & ICMPV6_INFOMSG_MASK) === 0);
  }
  t.true(isIcmpv6Error(ICMPV6_PKT_TOOBIG));
  t.false(isIcmpv6Error(NDISC_NEIGHBOUR_SOLICITATION));
});

test('constants', (t) => {
  t.deepEqual(
    [
      ICMPV6_HEADER,
      ICMPV6_DEST_UNREACH,
      ICMPV6_PKT_TOOBIG,
      ICMPV6_TIME_EXCEED,
      ICMPV6_PARAMPROB,
      ICMPV6_ECHO_REQUEST,
      ICMPV6_ECHO_REPLY,
    ],
    [8, 1, 2, 3, 4, 128, 129],
  );
  t.deepEqual(
    [
      ICMPV6_MGM_QUERY,
      ICMPV6_MGM_REPORT,
      ICMPV6_MGM_REDUCTION,
      NDISC_ROUTER_SOLICITATION,
      NDISC_ROUTER_ADVERTISEMENT,
      NDISC_NEIGHBOUR_SOLICITATION,
      NDISC_NEIGHBOUR_ADVERTISEMENT,
      NDISC_REDIRECT,
      ICMPV6_MLD2_REPORT,
      ICMPV6_INFOMSG_MASK,
    ],
    [130, 131, 132, 133, 134, 135, 136, 137, 143, 0x80],
  );
  t.deepEqual(
    [ICMPV6_NOROUTE, ICMPV6_ADM_PROHIBITED, ICMPV6_NOT_NEIGHBOUR, ICMPV6_ADDR_UNREACH, ICMPV6_PORT_UNREACH],
    [0, 1, 2, 3, 4],
  );
  t.deepEqual([ICMPV6_EXC_HOPLIMIT, ICMPV6_EXC_FRAGTIME], [0, 1]);
  t.deepEqual([ICMPV6_HDR_FIELD, ICMPV6_UNK_NEXTHDR, ICMPV6_UNK_OPTION, ICMPV6_HDR_INCOMP], [0, 1, 2, 3]);
});
