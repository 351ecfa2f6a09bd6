/**
 * tcpAuthOptions follows tcp_do_parse_auth_options (net/ipv4/tcp_input.c)
 * in a kernel built with TCP-MD5 and without TCP-AO, as this machine's
 * 6.18.44 is: the walk stops once fewer than 18 bytes are left, and what it
 * refuses makes tcp_inbound_hash drop the segment. The behaviour of the
 * whole path is confirmed on the kernel by test/scripts/md5-unexpected.pkt.
 */
import test from 'ava';
import { AUTH_INVALID, AUTH_MD5, AUTH_NONE, tcpAuthOptions } from '../../stack/wire/tcp.ts';

/** A bare header carrying `options`, padded with EOL to 32 bits. */
function header(options: number[]): Uint8Array {
  const seg = new Uint8Array(20 + ((options.length + 3) & ~3));
  seg.set(options, 20);
  seg[12] = (seg.length / 4) << 4;
  return seg;
}
const MD5 = [19, 18, ...new Array<number>(16).fill(7)];
const TS = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0];

test('no options, short options and ordinary long ones: nothing to check', (t) => {
  t.is(tcpAuthOptions(header([])), AUTH_NONE);
  t.is(tcpAuthOptions(header(TS)), AUTH_NONE);
  t.is(tcpAuthOptions(header([2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7])), AUTH_NONE);
});

test('an MD5 option of 18 bytes is found wherever it is', (t) => {
  t.is(tcpAuthOptions(header(MD5)), AUTH_MD5);
  t.is(tcpAuthOptions(header([1, 1, ...MD5])), AUTH_MD5);
  t.is(tcpAuthOptions(header([...TS, ...MD5, 1, 1])), AUTH_MD5);
});

test('refused: a second MD5 option, one of another size, a bad length while 18 bytes remain', (t) => {
  t.is(tcpAuthOptions(header([...MD5, 1, 1, ...MD5])), AUTH_INVALID);
  t.is(tcpAuthOptions(header([19, 6, 0, 1, 2, 3, 2, 4, 5, 180, ...TS, 1, 1])), AUTH_INVALID);
  t.is(tcpAuthOptions(header([2, 1, ...new Array<number>(18).fill(1)])), AUTH_INVALID, 'length below 2');
  t.is(tcpAuthOptions(header([30, 40, ...new Array<number>(18).fill(0)])), AUTH_INVALID, 'length past the end');
});

test('fewer than 18 bytes left: the walk stops, the rest is tcp_parse_options business', (t) => {
  // A bad length with 16 bytes left, after 4 good bytes.
  t.is(tcpAuthOptions(header([2, 4, 5, 180, 30, 40, ...new Array<number>(14).fill(0)])), AUTH_NONE);
  // EOL ends the walk at once.
  t.is(tcpAuthOptions(header([0, 30, 40, ...new Array<number>(17).fill(0)])), AUTH_NONE);
});
