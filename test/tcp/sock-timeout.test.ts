/**
 * SO_RCVTIMEO and SO_SNDTIMEO on the socket (stack/tcp/sock-timeout.ts,
 * docs/linux-behaviour.md, The receive side of the socket API): a struct
 * timeval kept in jiffies as sock_set_timeout rounds it, read back as
 * sock_get_timeout gives it, and inherited by accepted children.
 */
import test from 'ava';
import { TcpEndpoint } from '../../stack/socket/endpoint.ts';
import { SocketError, type Endpoint } from '../../stack/socket/types.ts';
import { MAX_SCHEDULE_TIMEOUT, timeoutFromTimeval, timevalBytes, timevalFromBytes, timevalFromTimeout } from '../../stack/tcp/sock-timeout.ts';
import { TcpPeer } from '../helpers/tcp-peer.ts';
import { testStack } from '../helpers/stack.ts';

const tcp = (ep: Endpoint | null): TcpEndpoint => {
  if (!(ep instanceof TcpEndpoint)) throw new Error('not a TCP endpoint');
  return ep;
};

/** A struct __kernel_old_timeval's bytes (two little-endian longs), optionally `extra` bytes longer. */
const tv = (sec: bigint, usec: bigint, extra = 0): Uint8Array => {
  const b = new Uint8Array(16 + extra).fill(0xff);
  b.set(timevalBytes({ sec, usec }));
  return b;
};

const read = (b: Uint8Array): [bigint, bigint] => {
  const t = timevalFromBytes(b);
  if (t === 'EINVAL') throw new Error('short');
  return [t.sec, t.usec];
};

test('sock_set_timeout: tv_usec rounded up to whole 4 ms jiffies; read back as whole seconds and the jiffies left in µs', (t) => {
  const ep = tcp(testStack({}, 1).stack.tcp.socket());
  for (const [sec, usec, jiffies, back] of [
    [1n, 500_000n, 375, [1n, 500_000n]],
    [2n, 12_345n, 504, [2n, 16_000n]],
    [0n, 1n, 1, [0n, 4_000n]],
    [0n, 999_999n, 250, [1n, 0n]],
    [0n, 100_000n, 25, [0n, 100_000n]],
  ] as const) {
    t.is(timeoutFromTimeval({ sec, usec }), BigInt(jiffies));
    ep.setsockopt('SO_RCVTIMEO', tv(sec, usec));
    t.deepEqual(read(ep.getsockopt('SO_RCVTIMEO')), [...back], `{${sec}, ${usec}}`);
    t.is(ep.timeoutUsecs('SO_RCVTIMEO'), jiffies * 4000);
    t.is(ep.timeoutUsecs('SO_SNDTIMEO'), undefined, 'the other timeout untouched');
  }
});

test('no timeout by default, for {0, 0} and for a tv_sec of LONG_MAX / HZ - 1 or more; one less is kept exactly', (t) => {
  const ep = tcp(testStack({}, 1).stack.tcp.socket());
  t.deepEqual(read(ep.getsockopt('SO_SNDTIMEO')), [0n, 0n]);
  t.is(ep.timeoutUsecs('SO_SNDTIMEO'), undefined);
  ep.setsockopt('SO_SNDTIMEO', tv(3n, 0n));
  ep.setsockopt('SO_SNDTIMEO', tv(0n, 0n));
  t.is(ep.timeoutUsecs('SO_SNDTIMEO'), undefined, '{0, 0} clears it');
  const limit = MAX_SCHEDULE_TIMEOUT / 250n - 1n; // 36893488147419102
  t.is(timeoutFromTimeval({ sec: limit, usec: 0n }), MAX_SCHEDULE_TIMEOUT);
  t.is(timeoutFromTimeval({ sec: 0x7fffffffffffffffn, usec: 0n }), MAX_SCHEDULE_TIMEOUT);
  ep.setsockopt('SO_SNDTIMEO', tv(limit - 1n, 999_999n));
  t.deepEqual(read(ep.getsockopt('SO_SNDTIMEO')), [limit, 0n], 'bigint jiffies: no precision lost');
  t.deepEqual(timevalFromTimeout(MAX_SCHEDULE_TIMEOUT), { sec: 0n, usec: 0n });
});

test('a negative tv_sec is a zero timeout (the call returns at once), read back as {0, 0}', (t) => {
  const ep = tcp(testStack({}, 1).stack.tcp.socket());
  ep.setsockopt('SO_RCVTIMEO', tv(-1n, 0n));
  t.is(ep.timeoutUsecs('SO_RCVTIMEO'), 0);
  t.deepEqual(read(ep.getsockopt('SO_RCVTIMEO')), [0n, 0n]);
  ep.setsockopt('SO_RCVTIMEO', tv(-5n, 999_999n));
  t.is(ep.timeoutUsecs('SO_RCVTIMEO'), 0);
});

test('fewer than 16 bytes is EINVAL, more are ignored; tv_usec below 0 or from 1e6 is EDOM; a failure keeps the old value', (t) => {
  const ep = tcp(testStack({}, 1).stack.tcp.socket());
  ep.setsockopt('SO_SNDTIMEO', tv(1n, 0n, 4));
  t.is(ep.timeoutUsecs('SO_SNDTIMEO'), 1_000_000, 'a 20-byte option: the first 16 count');
  const code = (f: () => void): string | undefined => t.throws(f, { instanceOf: SocketError })?.code;
  t.is(code(() => ep.setsockopt('SO_SNDTIMEO', tv(2n, 0n).subarray(0, 15))), 'EINVAL');
  t.is(code(() => ep.setsockopt('SO_SNDTIMEO', new Uint8Array(4))), 'EINVAL');
  t.is(code(() => ep.setsockopt('SO_SNDTIMEO', tv(2n, 1_000_000n))), 'EDOM');
  t.is(code(() => ep.setsockopt('SO_RCVTIMEO', tv(2n, -1n))), 'EDOM');
  t.is(code(() => ep.setsockopt('SO_RCVTIMEO', new TextEncoder().encode('timeval-as-text\0'))), 'EDOM', 'text makes a tv_usec far out of range');
  t.is(ep.timeoutUsecs('SO_SNDTIMEO'), 1_000_000, 'unchanged');
  t.is(ep.timeoutUsecs('SO_RCVTIMEO'), undefined, 'unchanged');
});

test('an accepted child has its listener\'s timeouts (sk_clone_lock), and setting either afterwards leaves the other alone', (t) => {
  const s = testStack({}, 1);
  const p = new TcpPeer(s, {});
  const l = tcp(s.stack.tcp.socket());
  l.bind(0, p.stackPort);
  l.setsockopt('SO_RCVTIMEO', tv(0n, 100_000n));
  l.setsockopt('SO_SNDTIMEO', tv(-1n, 0n));
  l.listen(4);
  t.is(p.send({ flags: 'S', seq: p.iss, opts: { mss: 1000 } })[0]!.flags, 'S.');
  p.quietUntil(100);
  p.send({ flags: '.', seq: p.their(1), ack: p.our(1) });
  const child = tcp(l.accept());
  t.is(child.timeoutUsecs('SO_RCVTIMEO'), 100_000);
  t.is(child.timeoutUsecs('SO_SNDTIMEO'), 0);
  child.setsockopt('SO_RCVTIMEO', tv(1n, 0n));
  t.is(l.timeoutUsecs('SO_RCVTIMEO'), 100_000, 'the listener keeps its own');
  l.setsockopt('SO_SNDTIMEO', tv(2n, 0n));
  t.is(child.timeoutUsecs('SO_SNDTIMEO'), 0, 'the child keeps its own');
});
